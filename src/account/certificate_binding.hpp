#pragma once
// Client certificates bound to accounts: an administrator binds a certificate of the
// institutions CA to an agency's account, and a TLS client presenting it (mutual TLS) then acts
// as that account, as a bearer token would. One binding per certificate, append-only.

#include <optional>
#include <string>

#include "core/clock.hpp"
#include "core/error.hpp"

namespace selo::account {

struct CertificateBinding {
    std::string issuer;      // CA name ("institutions")
    std::string serial_hex;  // magnitude, lower-case hex, as in the certificates table
    std::string account_id;  // the account a client presenting it acts as
    std::string bound_by;    // who bound it ("cli:$USER" or an administrator's account id)
    TimePoint bound_at;
};

class CertificateBindingRepository {
public:
    virtual ~CertificateBindingRepository() = default;
    // ErrorCode::conflict when the certificate is bound already.
    virtual Result<void> insert(const CertificateBinding& binding) = 0;
    virtual Result<std::optional<CertificateBinding>> find(std::string_view issuer,
                                                           std::string_view serial_hex) = 0;
};

}  // namespace selo::account
