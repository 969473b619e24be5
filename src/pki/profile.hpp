#pragma once
// Certificate profiles: what a certificate of each kind must contain (RFC 5280, ETSI EN 319
// 412-1/-2/-3/-5). A profile is data, looked up by name in a ProfileCatalogue: the built-in
// profiles are the default, and the data directory's configuration ([[pki.profile]]) changes
// them or adds new ones. The authority applies a profile; the linter checks the result against it.

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/config.hpp"
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

// ETSI EN 319 411-1 §5.3 and EN 319 411-2 §5.3 certificate policies.
inline constexpr std::string_view kPolicyNcp = "0.4.0.2042.1.1";
inline constexpr std::string_view kPolicyNcpPlus = "0.4.0.2042.1.2";
inline constexpr std::string_view kPolicyLcp = "0.4.0.2042.1.3";
inline constexpr std::string_view kPolicyQcpN = "0.4.0.194112.1.0";
inline constexpr std::string_view kPolicyQcpL = "0.4.0.194112.1.1";
inline constexpr std::string_view kPolicyQcpNQscd = "0.4.0.194112.1.2";
inline constexpr std::string_view kPolicyQcpLQscd = "0.4.0.194112.1.3";
inline constexpr std::string_view kPolicyQcpW = "0.4.0.194112.1.4";
inline constexpr std::string_view kAnyPolicy = "2.5.29.32.0";

// Whose name a certificate of the profile carries; the subject rules depend on it.
enum class SubjectKind { authority, natural_person, legal_person, infrastructure };

// ETSI EN 319 412-5 §4.2.3 QcType.
enum class QcType { none, esign, eseal, web };
// ETSI EN 319 412-1 §5.1: the semantics identifier naming how the subject's identifier is
// built (id-etsi-qcs-semanticsId-Natural for serialNumber IDC/PAS…, -Legal for
// organizationIdentifier NTR…), carried in RFC 3739's id-qcs-pkixQCSyntax-v2 statement.
enum class QcSemantics { none, natural, legal };

struct PdsLocation {
    std::string url;       // https://…
    std::string language;  // ISO 639-1, lower case
};

// The qcStatements extension of a profile (ETSI EN 319 412-5 §4); nothing set: no extension.
struct QcStatements {
    bool compliance = false;                      // QcCompliance (§4.2.1)
    bool sscd = false;                            // QcSSCD: the private key is in a QSCD (§4.2.2)
    QcType type = QcType::none;                   // QcType (§4.2.3)
    std::vector<PdsLocation> pds;                 // QcPDS (§4.3.4)
    std::optional<std::uint32_t> retention_years;  // QcRetentionPeriod (§4.3.3)
    std::vector<std::string> legislation;         // QcCClegislation: countries (§4.2.4)
    QcSemantics semantics = QcSemantics::none;
    [[nodiscard]] bool any() const noexcept {
        return compliance || sscd || type != QcType::none || !pds.empty() || retention_years ||
               !legislation.empty() || semantics != QcSemantics::none;
    }
};

// Which subject attributes a certificate of the profile carries, by OpenSSL short name ("C",
// "CN", "O", "OU", "GN", "SN", "serialNumber", "organizationIdentifier", ...).
struct SubjectRules {
    std::vector<std::string> required;
    std::vector<std::string> allowed;  // besides the required ones
    // serialNumber / organizationIdentifier must start with one of these (empty: any); the
    // value always has the EN 319 412-1 §5.1.3/§5.1.4 shape: type (3) + country (2) + "-" + id.
    std::vector<std::string> serial_number_forms;
    std::vector<std::string> organization_identifier_forms;
};

struct CertificateProfile {
    std::string name;                   // e.g. "natural-person-signing"
    SubjectKind subject = SubjectKind::natural_person;
    SubjectRules subject_rules;
    bool ca = false;
    std::optional<int> path_length;     // basicConstraints pathLenConstraint (CAs only)
    std::uint32_t key_usage = 0;        // OpenSSL KU_* bits; always critical (EN 319 412-2 §4.3.2)
    std::vector<std::string> extended_key_usage;  // OpenSSL names or dotted OIDs; empty: none
    bool extended_key_usage_critical = false;
    std::vector<std::string> policies;  // certificatePolicies OIDs; empty: none
    QcStatements qc;
    std::chrono::days validity{365};
    bool aia_ca_issuers = true;         // AIA caIssuers URL of the issuer's certificate
    bool aia_ocsp = true;               // AIA ocsp: Selo's responder (RFC 5280 §4.2.2.1)
    bool crl_distribution_point = true;  // the issuer's CRL (RFC 5280 §4.2.1.13)
    bool ocsp_no_check = false;         // id-pkix-ocsp-nocheck (RFC 6960 §4.2.2.2.1)
    bool subject_alt_names = false;     // DNS/IP subjectAltName required (TLS server)
};

// The keyUsage extension value in OpenSSL's syntax ("critical,digitalSignature,...").
[[nodiscard]] std::string key_usage_text(std::uint32_t bits);
// KU_* bits from RFC 5280 names ("digitalSignature", "nonRepudiation"/"contentCommitment", ...).
[[nodiscard]] Result<std::uint32_t> key_usage_from_names(const std::vector<std::string>& names);
[[nodiscard]] std::vector<std::string> key_usage_names(std::uint32_t bits);
// A policy's dotted OID from its ETSI name (NCP, NCP+, LCP, QCP-n, QCP-l, QCP-n-qscd,
// QCP-l-qscd, QCP-w) or a dotted OID.
[[nodiscard]] Result<std::string> policy_oid(std::string_view name_or_oid);
// True for the EN 319 411-2 QCP policies.
[[nodiscard]] bool is_qcp_policy(std::string_view oid) noexcept;
[[nodiscard]] std::string_view qc_type_name(QcType t) noexcept;
[[nodiscard]] std::string_view qc_semantics_name(QcSemantics s) noexcept;

// The profiles a data directory knows, by name.
class ProfileCatalogue {
public:
    // The built-in profiles; the qualified ones name `country` in QcCClegislation.
    static ProfileCatalogue builtin(std::string_view country = "MO");
    // The built-in profiles with [[pki.profile]] applied (an entry with a built-in profile's
    // name changes only what it sets; a new name starts from `base`), every value and every
    // combination checked; errors name `source`, the table and the key.
    static Result<ProfileCatalogue> from_config(const PkiConfig& pki, std::string_view source);

    // invalid_argument naming the known profiles when there is none called `name`.
    [[nodiscard]] Result<const CertificateProfile*> find(std::string_view name) const;
    [[nodiscard]] const std::vector<CertificateProfile>& all() const noexcept { return profiles_; }

private:
    std::vector<CertificateProfile> profiles_;
};

// The catalogue find_profile() uses: the built-in one until install_profiles() replaces it
// (the CLI does so once it has read the data directory's configuration). Profiles found
// before stay valid.
void install_profiles(ProfileCatalogue catalogue);
[[nodiscard]] const ProfileCatalogue& active_profiles();
[[nodiscard]] Result<const CertificateProfile*> find_profile(std::string_view name);
// The catalogue's end-entity profiles as commented-out [[pki.profile]] tables, every key with
// its value (what `selo init` appends to selo.toml, so an operator sees what can be set).
[[nodiscard]] std::string commented_profiles(const ProfileCatalogue& catalogue);
// The built-in profiles (ProfileCatalogue::builtin()).
[[nodiscard]] const std::vector<CertificateProfile>& builtin_profiles();

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
