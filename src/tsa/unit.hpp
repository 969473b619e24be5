#pragma once
// A time-stamping unit's identity: its key in the key store and its certificate from the
// infrastructure CA (profile "tsa"), created once and found again on every start.

#include <optional>
#include <string>
#include <vector>

#include "core/bytes.hpp"
#include "core/clock.hpp"
#include "core/error.hpp"
#include "crypto/key_store.hpp"
#include "pki/authority.hpp"
#include "pki/certificate.hpp"

namespace selo::tsa {

// What is stored of a unit.
struct UnitRecord {
    std::string name;  // "tsa" (the public TSA), "log" (the transparency log's tree heads)
    std::string key_id;
    Bytes certificate_der;
    TimePoint created_at;
};

// Persistence of units. Implemented in store/.
class UnitRepository {
public:
    virtual ~UnitRepository() = default;
    virtual Result<std::optional<UnitRecord>> find(std::string_view name) = 0;
    virtual Result<void> insert(const UnitRecord& record) = 0;
    // Replaces the unit's key and certificate (renewal); not_found for an unknown unit.
    virtual Result<void> replace(const UnitRecord& record) = 0;
    // Every certificate (DER) the unit has had, oldest first: those it may have signed with.
    virtual Result<std::vector<Bytes>> certificates(std::string_view name) = 0;
};

struct UnitSpec {
    std::string name;
    std::string country;       // subject C
    std::string organization;  // subject O
    std::string common_name;   // subject CN
    crypto::KeyType key = crypto::KeyType::ec_p256;
};

// A unit's certificate and signing key.
struct Unit {
    pki::Certificate certificate;
    crypto::EvpPkeyPtr key;
};

// The unit named in `spec`: loaded when it exists, otherwise a new key is generated in `keys`
// and certified by `issuer` with the "tsa" profile, and the unit recorded. Call it inside a
// database transaction, so that concurrent starts create one unit, not two.
[[nodiscard]] Result<Unit> ensure_unit(const UnitSpec& spec, UnitRepository& units,
                                       crypto::KeyStore& keys, pki::CertificateAuthority& issuer,
                                       const Clock& clock);

// A unit's certificate is renewed when less than this is left of it (the "tsa" profile gives
// three years), so that tokens are never signed under a certificate about to expire.
inline constexpr std::chrono::seconds kRenewUnitBefore{std::chrono::hours(24 * 90)};

// Renewal of the unit named in `spec`, whose certificate in use is `current`: nullopt while
// `current` has more than `renew_before` left; otherwise the unit's stored certificate and key
// when another process has renewed it already, else a new key generated in `keys`, certified by
// `issuer` with the "tsa" profile and recorded in place of the old one. Call it inside a database
// transaction.
[[nodiscard]] Result<std::optional<Unit>> renew_unit(const UnitSpec& spec, const pki::Certificate& current,
                                                     std::chrono::seconds renew_before, UnitRepository& units,
                                                     crypto::KeyStore& keys, pki::CertificateAuthority& issuer,
                                                     const Clock& clock);

// Whether a unit's certificate may sign: an error when its status cannot be read.
using UnitCertificateUsable = std::function<Result<bool>(const pki::Certificate&)>;

// A replacement for the unit named in `spec`, whose certificate `current` may no longer sign
// (revoked or suspended): the unit's stored certificate and key when another process has
// replaced it already and `usable` accepts it, else a new key generated in `keys`, certified by
// `issuer` with the "tsa" profile and recorded in place of the old one. Call it inside a database
// transaction.
[[nodiscard]] Result<Unit> replace_unit(const UnitSpec& spec, const pki::Certificate& current,
                                        const UnitCertificateUsable& usable, UnitRepository& units,
                                        crypto::KeyStore& keys, pki::CertificateAuthority& issuer,
                                        const Clock& clock);

}  // namespace selo::tsa
