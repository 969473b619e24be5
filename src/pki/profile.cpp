#include "pki/profile.hpp"

namespace selo::pki {
namespace {
using std::chrono::days;
}

const std::vector<CertificateProfile>& builtin_profiles() {
    static const std::vector<CertificateProfile> profiles = {
        {
            .name = std::string(kProfileRootCa),
            .subject = SubjectKind::authority,
            .ca = true,
            .key_usage = "critical,keyCertSign,cRLSign",
            .validity = days(20 * 365 + 5),
            .aia_ca_issuers = false,
            .aia_ocsp = false,
            .crl_distribution_point = false,
        },
        {
            .name = std::string(kProfileIssuingCa),
            .subject = SubjectKind::authority,
            .ca = true,
            .path_length = 0,
            // digitalSignature: the CA may sign OCSP responses itself (RFC 6960 §4.2.2.2).
            .key_usage = "critical,digitalSignature,keyCertSign,cRLSign",
            .policies = {"2.5.29.32.0"},  // anyPolicy: the issuing CA does not restrict children
            .validity = days(10 * 365 + 2),
        },
        // ETSI EN 319 412-2 §4.3.2: nonRepudiation (contentCommitment) for signatures with legal
        // effect; digitalSignature so that the same key can also sign the CMS over a PDF.
        {
            .name = std::string(kProfileNaturalPersonSigning),
            .subject = SubjectKind::natural_person,
            .key_usage = "critical,digitalSignature,nonRepudiation",
            .policies = {std::string(kPolicyNaturalPersonSigning)},
            .validity = days(3 * 365 + 1),
        },
        {
            .name = std::string(kProfileNaturalPersonAuthentication),
            .subject = SubjectKind::natural_person,
            .key_usage = "critical,digitalSignature",
            .extended_key_usage = "clientAuth,emailProtection",
            .policies = {std::string(kPolicyNaturalPersonAuthentication)},
            .validity = days(3 * 365 + 1),
        },
        // ETSI EN 319 412-3: electronic seals of legal persons.
        {
            .name = std::string(kProfileLegalPersonSeal),
            .subject = SubjectKind::legal_person,
            .key_usage = "critical,digitalSignature,nonRepudiation",
            .policies = {std::string(kPolicyLegalPersonSeal)},
            .validity = days(3 * 365 + 1),
        },
        {
            .name = std::string(kProfileGovernmentEntitySigning),
            .subject = SubjectKind::legal_person,
            .key_usage = "critical,digitalSignature,nonRepudiation",
            .policies = {std::string(kPolicyGovernmentEntitySigning)},
            .validity = days(3 * 365 + 1),
        },
        // RFC 6960 §4.2.2.2: a delegated responder carries id-kp-OCSPSigning; with
        // id-pkix-ocsp-nocheck relying parties need not check its own status, which is why
        // its lifetime is short.
        {
            .name = std::string(kProfileOcspResponder),
            .subject = SubjectKind::infrastructure,
            .key_usage = "critical,digitalSignature",
            .extended_key_usage = "OCSPSigning",
            .policies = {std::string(kPolicyInfrastructure)},
            .validity = days(90),
            // id-pkix-ocsp-nocheck: nothing to look up for the responder itself.
            .aia_ocsp = false,
            .crl_distribution_point = false,
            .ocsp_no_check = true,
        },
        // RFC 3161 §2.3: exactly one extendedKeyUsage, id-kp-timeStamping, critical.
        {
            .name = std::string(kProfileTsa),
            .subject = SubjectKind::infrastructure,
            .key_usage = "critical,digitalSignature",
            .extended_key_usage = "timeStamping",
            .extended_key_usage_critical = true,
            .policies = {std::string(kPolicyInfrastructure)},
            .validity = days(3 * 365 + 1),
        },
        {
            .name = std::string(kProfileTlsServer),
            .subject = SubjectKind::infrastructure,
            .key_usage = "critical,digitalSignature",
            .extended_key_usage = "serverAuth",
            .policies = {std::string(kPolicyInfrastructure)},
            .validity = days(397),
            .subject_alt_names = true,
        },
    };
    return profiles;
}

Result<const CertificateProfile*> find_profile(std::string_view name) {
    for (const auto& p : builtin_profiles()) {
        if (p.name == name) {
            return &p;
        }
    }
    std::string known;
    for (const auto& p : builtin_profiles()) {
        known += (known.empty() ? "" : ", ") + p.name;
    }
    return fail(ErrorCode::invalid_argument, "unknown certificate profile '{}' (known: {})", name, known);
}

}  // namespace selo::pki
