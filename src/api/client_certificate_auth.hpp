#pragma once
// Mutual-TLS sign-in for agencies: a TLS client certificate from Selo's institutions CA, bound
// to an agency account by an administrator, authenticates /api/v1 requests as that account.

#include <expected>
#include <string_view>

#include "account/account_service.hpp"
#include "account/certificate_binding.hpp"
#include "core/clock.hpp"
#include "http/message.hpp"
#include "pki/certificate.hpp"
#include "pki/repository.hpp"

namespace selo::api {

// Why a client certificate is refused, or the account it stands for. Checked per request, so a
// revocation or suspension counts from the next request on, and every decision is audited
// ("auth.certificate" / "auth.certificate.failure", subject "<issuer>:<serial>").
class ClientCertificateAuthenticator {
public:
    // `issuer` is the only CA whose certificates are accepted (the institutions CA), `root`
    // the trust anchor it chains to; `issuer_name` and `root_name` their names in the
    // certificates table (the issuer's own certificate is recorded under the root's name).
    ClientCertificateAuthenticator(std::string issuer_name, pki::Certificate issuer,
                                   std::string root_name, pki::Certificate root,
                                   pki::CertificateRepository& certificates,
                                   account::CertificateBindingRepository& bindings,
                                   account::AccountService& accounts, const Clock& clock);

    // The principal for a client certificate (DER): chains to the issuer and root at the
    // clock's time (X.509 path validation, TLS client purpose), is recorded by Selo as valid
    // (not revoked, not suspended) as is the issuer's own certificate, and is bound to an
    // account holding the agency role.
    // ErrorCode::unauthorized naming the reason otherwise.
    [[nodiscard]] Result<account::Principal> authenticate(std::string_view der,
                                                          const http::RequestContext& context);

    // The CA names a TLS server should ask client certificates from (PEM of the issuer).
    [[nodiscard]] std::string acceptable_issuers_pem() const { return issuer_.pem(); }
    [[nodiscard]] const std::string& issuer_name() const noexcept { return issuer_name_; }

    // True when authenticate() would accept the certificate; nothing is audited (for request
    // admission, e.g. the body limit of a SEPBox submission, before the request is handled).
    [[nodiscard]] bool accepts(std::string_view der);

    // Checks the certificate itself (chain, validity, status), not its binding; for
    // `selo account bind-certificate`.
    // Returns the serial (lower-case hex) of a certificate of the issuer Selo holds as valid.
    [[nodiscard]] Result<std::string> check_certificate(std::string_view der) const;

private:
    // The account a certificate that passes check_certificate() is bound to, if an agency.
    Result<account::Account> bound_agency(const std::string& serial);

    std::string issuer_name_;
    pki::Certificate issuer_;
    std::string root_name_;
    pki::Certificate root_;
    pki::CertificateRepository& certificates_;
    account::CertificateBindingRepository& bindings_;
    account::AccountService& accounts_;
    const Clock& clock_;
};

}  // namespace selo::api
