#pragma once
// Mutual-TLS agency sign-in, wired from a data directory: the institutions CA's certificates,
// bound to agency accounts with `selo account bind-certificate`.

#include <memory>

#include "api/client_certificate_auth.hpp"
#include "cli/data_dir.hpp"
#include "store/sql_certificate_binding.hpp"

namespace selo::cli {

struct ClientCertificates {
    ClientCertificates(Runtime& rt, pki::CertificateAuthority& issuer,
                       pki::CertificateAuthority& root);
    store::SqlCertificateBindingRepository bindings;
    api::ClientCertificateAuthenticator authenticator;
};

// not_found when the hierarchy has no institutions CA (or no root).
[[nodiscard]] Result<std::unique_ptr<ClientCertificates>> open_client_certificates(Runtime& rt);

}  // namespace selo::cli
