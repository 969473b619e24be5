#pragma once
// A time-stamping unit's identity: its key in the key store and its certificate from the
// infrastructure CA (profile "tsa"), created once and found again on every start.

#include <optional>
#include <string>

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

}  // namespace selo::tsa
