#include "cli/client_certificates.hpp"

namespace selo::cli {

ClientCertificates::ClientCertificates(Runtime& rt, pki::CertificateAuthority& issuer,
                                       pki::CertificateAuthority& root)
    : bindings(rt.database()),
      authenticator(issuer.name(), issuer.certificate(), root.name(), root.certificate(), rt.certificates(),
                    bindings, rt.accounts(), rt.clock()) {}

Result<std::unique_ptr<ClientCertificates>> open_client_certificates(Runtime& rt) {
    auto* issuer = SELO_TRY(rt.authority(pki::kInstitutionsCaName));
    auto* root = SELO_TRY(rt.authority(pki::kRootCaName));
    return std::make_unique<ClientCertificates>(rt, *issuer, *root);
}

}  // namespace selo::cli
