#pragma once
// eSignCloud activation and recovery, on top of the counter's activation codes: confirming a
// pairing with the first OTP creates the key pair and the 3-year certificate (for a new
// activation or a forgotten PIN); a lost phone only re-pairs; a forgotten PIN retires the
// credential and revokes its certificate, since the key cannot be recovered by design.

#include <optional>

#include "account/enrolment.hpp"
#include "cloudsign/service.hpp"

namespace selo::cloudsign {

// Revokes certificates (the CA's revocation service). RFC 5280 §5.3.1 reason names.
class CertificateRevoker {
public:
    virtual ~CertificateRevoker() = default;
    virtual Result<void> revoke(std::string_view ca_name, std::string_view serial_hex,
                                std::string_view reason) = 0;
};

struct ActivationOutcome {
    account::ActivationPurpose purpose;
    std::optional<Credential> credential;  // created by enrolment and forgotten-PIN activations
};

class ActivationService {
public:
    ActivationService(account::EnrolmentService& enrolment, CloudSignService& cloudsign,
                      CredentialRepository& credentials, account::Transaction transaction,
                      CertificateRevoker* revoker);

    // The citizen confirms the pairing with a first OTP (and, when a credential is to be
    // created, the signing PIN they chose). The PIN policy is checked before the OTP is used.
    [[nodiscard]] Result<ActivationOutcome> confirm(const account::Account& account,
                                                    std::string_view pin, std::string_view otp);

    // Clerk: lost phone. The identity document seen must be the account's; the old
    // authenticator is void at once and a new activation message goes to SEPBox.
    [[nodiscard]] Result<std::string> lost_phone(const account::Account& clerk,
                                                 std::string_view account_id,
                                                 account::IdentityDocument seen_type,
                                                 std::string_view seen_number);
    // Clerk: forgotten PIN. Retires every enabled credential of the account and revokes its
    // certificate (superseded), then sends a new activation that creates a new key.
    [[nodiscard]] Result<std::string> forgotten_pin(const account::Account& clerk,
                                                    std::string_view account_id,
                                                    account::IdentityDocument seen_type,
                                                    std::string_view seen_number);

private:
    Result<account::Account> check_identity(const account::Account& clerk, std::string_view account_id,
                                            account::IdentityDocument seen_type,
                                            std::string_view seen_number, std::string_view what);

    account::EnrolmentService& enrolment_;
    CloudSignService& cloudsign_;
    CredentialRepository& credentials_;
    account::Transaction transaction_;
    CertificateRevoker* revoker_;
};

}  // namespace selo::cloudsign
