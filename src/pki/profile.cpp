#include "pki/profile.hpp"

namespace selo::pki {
namespace {

using std::chrono::days;

const CertificateProfile kRoot{
    .id = ProfileId::root_ca,
    .name = "root-ca",
    .ca = true,
    .path_length = std::nullopt,
    .key_usage = "critical,keyCertSign,cRLSign",
    .extended_key_usage = "",
    .policies = {},
    .validity = days(20 * 365 + 5),
    .aia_ca_issuers = false,
};

const CertificateProfile kIssuing{
    .id = ProfileId::issuing_ca,
    .name = "issuing-ca",
    .ca = true,
    .path_length = 0,
    // digitalSignature: the CA may sign OCSP responses itself (RFC 6960 §4.2.2.2).
    .key_usage = "critical,digitalSignature,keyCertSign,cRLSign",
    .extended_key_usage = "",
    .policies = {"2.5.29.32.0"},  // anyPolicy: the issuing CA does not restrict its children
    .validity = days(10 * 365 + 2),
    .aia_ca_issuers = true,
};

// ETSI EN 319 412-2 §4.3.2: non-repudiation (contentCommitment) for signatures with legal
// effect; digitalSignature so that the same key can also sign the CMS over a PDF.
const CertificateProfile kNaturalPersonSigning{
    .id = ProfileId::natural_person_signing,
    .name = "natural-person-signing",
    .ca = false,
    .path_length = std::nullopt,
    .key_usage = "critical,digitalSignature,nonRepudiation",
    .extended_key_usage = "",
    .policies = {std::string(kPolicyNaturalPersonSigning)},
    .validity = days(3 * 365 + 1),
    .aia_ca_issuers = true,
};

}  // namespace

const CertificateProfile& profile(ProfileId id) {
    switch (id) {
        case ProfileId::root_ca: return kRoot;
        case ProfileId::issuing_ca: return kIssuing;
        case ProfileId::natural_person_signing: return kNaturalPersonSigning;
    }
    return kNaturalPersonSigning;
}

Result<ProfileId> profile_from_name(std::string_view name) {
    for (auto id : {ProfileId::root_ca, ProfileId::issuing_ca, ProfileId::natural_person_signing}) {
        if (profile(id).name == name) {
            return id;
        }
    }
    return fail(ErrorCode::invalid_argument, "unknown certificate profile '{}'", name);
}

}  // namespace selo::pki
