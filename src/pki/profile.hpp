#pragma once
// Certificate profiles: what a certificate of each kind must contain (RFC 5280, ETSI EN 319
// 412-1/-2/-3). A profile is data, looked up by name; the authority applies it and the linter
// checks the result against it.

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "core/error.hpp"

namespace selo::pki {

// Selo's own OID arc, a UUID-derived OID (ITU-T X.667, arc 2.25) so that no registration is
// needed and no one else's arc is borrowed. Policies live under <arc>.1.
inline constexpr std::string_view kSeloOidArc = "2.25.213343623855697146825054647424244362817";
inline constexpr std::string_view kPolicyNaturalPersonSigning =
    "2.25.213343623855697146825054647424244362817.1.1";
inline constexpr std::string_view kPolicyNaturalPersonAuthentication =
    "2.25.213343623855697146825054647424244362817.1.2";
inline constexpr std::string_view kPolicyLegalPersonSeal =
    "2.25.213343623855697146825054647424244362817.1.3";
inline constexpr std::string_view kPolicyGovernmentEntitySigning =
    "2.25.213343623855697146825054647424244362817.1.4";
inline constexpr std::string_view kPolicyInfrastructure =
    "2.25.213343623855697146825054647424244362817.1.9";

// Whose name a certificate of the profile carries; the subject rules depend on it.
enum class SubjectKind { authority, natural_person, legal_person, infrastructure };

struct CertificateProfile {
    std::string name;                   // e.g. "natural-person-signing"
    SubjectKind subject = SubjectKind::natural_person;
    bool ca = false;
    std::optional<int> path_length;     // basicConstraints pathLenConstraint (CAs only)
    std::string key_usage;              // OpenSSL extension syntax, always critical
    std::string extended_key_usage;     // empty: no EKU extension
    bool extended_key_usage_critical = false;
    std::vector<std::string> policies;  // certificatePolicies OIDs; empty: none
    std::chrono::days validity{365};
    bool aia_ca_issuers = true;         // AIA caIssuers URL of the issuer's certificate
    bool aia_ocsp = true;               // AIA ocsp: Selo's responder (RFC 5280 §4.2.2.1)
    bool crl_distribution_point = true;  // the issuer's CRL (RFC 5280 §4.2.1.13)
    bool ocsp_no_check = false;         // id-pkix-ocsp-nocheck (RFC 6960 §4.2.2.2.1)
    bool subject_alt_names = false;     // DNS/IP subjectAltName required (TLS server)
};

// The profiles Selo knows, by name.
[[nodiscard]] const std::vector<CertificateProfile>& builtin_profiles();
[[nodiscard]] Result<const CertificateProfile*> find_profile(std::string_view name);

inline constexpr std::string_view kProfileRootCa = "root-ca";
inline constexpr std::string_view kProfileIssuingCa = "issuing-ca";
inline constexpr std::string_view kProfileNaturalPersonSigning = "natural-person-signing";
inline constexpr std::string_view kProfileNaturalPersonAuthentication = "natural-person-authentication";
inline constexpr std::string_view kProfileLegalPersonSeal = "legal-person-seal";
inline constexpr std::string_view kProfileGovernmentEntitySigning = "government-entity-signing";
inline constexpr std::string_view kProfileOcspResponder = "ocsp-responder";
inline constexpr std::string_view kProfileTsa = "tsa";
inline constexpr std::string_view kProfileTlsServer = "tls-server";

}  // namespace selo::pki
