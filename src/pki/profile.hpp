#pragma once
// Certificate profiles: what a certificate of each kind must contain (RFC 5280, ETSI EN 319
// 412-1/-2). A profile is data; the authority applies it and the linter checks the result.

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "core/error.hpp"

namespace selo::pki {

// Selo's own OID arc, a UUID-derived OID (ITU-T X.667, arc 2.25) so that no registration is
// needed and no one else's arc is borrowed.
inline constexpr std::string_view kSeloOidArc = "2.25.213343623855697146825054647424244362817";
// Certificate policy for natural-person signing certificates issued through eSignCloud.
inline constexpr std::string_view kPolicyNaturalPersonSigning =
    "2.25.213343623855697146825054647424244362817.1.1";

enum class ProfileId { root_ca, issuing_ca, natural_person_signing };

struct CertificateProfile {
    ProfileId id;
    std::string name;                   // e.g. "natural-person-signing"
    bool ca = false;
    std::optional<int> path_length;     // basicConstraints pathLenConstraint (CAs only)
    std::string key_usage;              // OpenSSL extension syntax, always critical
    std::string extended_key_usage;     // empty: no EKU extension
    std::vector<std::string> policies;  // certificatePolicies OIDs; empty: none
    std::chrono::days validity;
    bool aia_ca_issuers = true;         // AIA caIssuers URL of the issuer's certificate
};

[[nodiscard]] const CertificateProfile& profile(ProfileId id);
[[nodiscard]] Result<ProfileId> profile_from_name(std::string_view name);

}  // namespace selo::pki
