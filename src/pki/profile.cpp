#include "pki/profile.hpp"

#include <openssl/objects.h>
#include <openssl/x509v3.h>

#include <algorithm>
#include <atomic>
#include <deque>
#include <mutex>

#include "pki/der.hpp"

namespace selo::pki {
namespace {
using std::chrono::days;

struct NamedBit {
    std::string_view name;
    std::uint32_t bit;
};
// RFC 5280 §4.2.1.3, in the order of the bit string.
constexpr NamedBit kKeyUsageBits[] = {
    {"digitalSignature", KU_DIGITAL_SIGNATURE}, {"nonRepudiation", KU_NON_REPUDIATION},
    {"keyEncipherment", KU_KEY_ENCIPHERMENT},   {"dataEncipherment", KU_DATA_ENCIPHERMENT},
    {"keyAgreement", KU_KEY_AGREEMENT},         {"keyCertSign", KU_KEY_CERT_SIGN},
    {"cRLSign", KU_CRL_SIGN},                   {"encipherOnly", KU_ENCIPHER_ONLY},
    {"decipherOnly", KU_DECIPHER_ONLY},
};

struct NamedOid {
    std::string_view name;
    std::string_view oid;
};
constexpr NamedOid kPolicies[] = {
    {"NCP", kPolicyNcp},         {"NCP+", kPolicyNcpPlus},           {"LCP", kPolicyLcp},
    {"QCP-n", kPolicyQcpN},      {"QCP-l", kPolicyQcpL},             {"QCP-n-qscd", kPolicyQcpNQscd},
    {"QCP-l-qscd", kPolicyQcpLQscd}, {"QCP-w", kPolicyQcpW},
};

// RFC 5280 §4.2.1.12 key purposes and the keyUsage bits each is consistent with.
struct Purpose {
    std::string_view name;
    std::string_view oid;
    std::uint32_t usable_with;
};
constexpr Purpose kPurposes[] = {
    {"serverAuth", "1.3.6.1.5.5.7.3.1", KU_DIGITAL_SIGNATURE | KU_KEY_ENCIPHERMENT | KU_KEY_AGREEMENT},
    {"clientAuth", "1.3.6.1.5.5.7.3.2", KU_DIGITAL_SIGNATURE | KU_KEY_AGREEMENT},
    {"codeSigning", "1.3.6.1.5.5.7.3.3", KU_DIGITAL_SIGNATURE},
    {"emailProtection", "1.3.6.1.5.5.7.3.4",
     KU_DIGITAL_SIGNATURE | KU_NON_REPUDIATION | KU_KEY_ENCIPHERMENT | KU_KEY_AGREEMENT},
    {"timeStamping", "1.3.6.1.5.5.7.3.8", KU_DIGITAL_SIGNATURE | KU_NON_REPUDIATION},
    {"OCSPSigning", "1.3.6.1.5.5.7.3.9", KU_DIGITAL_SIGNATURE | KU_NON_REPUDIATION},
};

const Purpose* find_purpose(std::string_view name_or_oid) {
    for (const auto& p : kPurposes) {
        if (p.name == name_or_oid || p.oid == name_or_oid) {
            return &p;
        }
    }
    return nullptr;
}

// ETSI EN 319 412-2 §4.2.4 (natural persons), EN 319 412-3 §4.2.1 (legal persons).
SubjectRules natural_person_rules() {
    return {.required = {"C", "GN", "SN", "serialNumber", "CN"},
            .allowed = {},
            .serial_number_forms = {"IDC", "PAS"},
            .organization_identifier_forms = {}};
}
SubjectRules legal_person_rules() {
    return {.required = {"C", "O", "organizationIdentifier", "CN"},
            .allowed = {"OU", "L"},
            .serial_number_forms = {},
            .organization_identifier_forms = {"NTR"}};
}
SubjectRules infrastructure_rules() {
    return {.required = {"CN"}, .allowed = {"C", "O", "OU", "L"}, .serial_number_forms = {},
            .organization_identifier_forms = {}};
}
SubjectRules authority_rules() {
    return {.required = {"CN"}, .allowed = {"C", "O", "OU", "organizationIdentifier"},
            .serial_number_forms = {}, .organization_identifier_forms = {"NTR"}};
}

std::vector<CertificateProfile> make_builtin(std::string_view country) {
    const std::vector<std::string> legislation{std::string(country)};
    return {
        {
            .name = std::string(kProfileRootCa),
            .subject = SubjectKind::authority,
            .subject_rules = authority_rules(),
            .ca = true,
            .key_usage = KU_KEY_CERT_SIGN | KU_CRL_SIGN,
            .validity = days(20 * 365 + 5),
            .aia_ca_issuers = false,
            .aia_ocsp = false,
            .crl_distribution_point = false,
        },
        {
            .name = std::string(kProfileIssuingCa),
            .subject = SubjectKind::authority,
            .subject_rules = authority_rules(),
            .ca = true,
            .path_length = 0,
            // digitalSignature: the CA may sign OCSP responses itself (RFC 6960 §4.2.2.2).
            .key_usage = KU_DIGITAL_SIGNATURE | KU_KEY_CERT_SIGN | KU_CRL_SIGN,
            .policies = {std::string(kAnyPolicy)},  // the issuing CA does not restrict children
            .validity = days(10 * 365 + 2),
        },
        // ETSI EN 319 412-2 §4.3.2: nonRepudiation (contentCommitment) for signatures with legal
        // effect; digitalSignature so that the same key can also sign the CMS over a PDF.
        // EN 319 411-2 QCP-n, not QCP-n-qscd: eSignCloud keeps the key sealed in software on
        // the server (docs/ca.md), not in a certified QSCD, so there is no QcSSCD.
        {
            .name = std::string(kProfileNaturalPersonSigning),
            .subject = SubjectKind::natural_person,
            .subject_rules = natural_person_rules(),
            .key_usage = KU_DIGITAL_SIGNATURE | KU_NON_REPUDIATION,
            .policies = {std::string(kPolicyNaturalPersonSigning), std::string(kPolicyQcpN)},
            .qc = {.compliance = true, .type = QcType::esign, .legislation = legislation,
                   .semantics = QcSemantics::natural},
            .validity = days(3 * 365 + 1),
        },
        // EN 319 411-1 NCP+: authentication certificates are not qualified (eIDAS qualifies
        // signatures, seals and websites); the semantics identifier still says how the
        // serialNumber is built.
        {
            .name = std::string(kProfileNaturalPersonAuthentication),
            .subject = SubjectKind::natural_person,
            .subject_rules = natural_person_rules(),
            .key_usage = KU_DIGITAL_SIGNATURE,
            .extended_key_usage = {"clientAuth", "emailProtection"},
            .policies = {std::string(kPolicyNaturalPersonAuthentication), std::string(kPolicyNcpPlus)},
            .qc = {.semantics = QcSemantics::natural},
            .validity = days(3 * 365 + 1),
        },
        // ETSI EN 319 412-3: electronic seals of legal persons, EN 319 411-2 QCP-l.
        {
            .name = std::string(kProfileLegalPersonSeal),
            .subject = SubjectKind::legal_person,
            .subject_rules = legal_person_rules(),
            .key_usage = KU_DIGITAL_SIGNATURE | KU_NON_REPUDIATION,
            .policies = {std::string(kPolicyLegalPersonSeal), std::string(kPolicyQcpL)},
            .qc = {.compliance = true, .type = QcType::eseal, .legislation = legislation,
                   .semantics = QcSemantics::legal},
            .validity = days(3 * 365 + 1),
        },
        // A government entity is a legal person: what it signs as an entity is a seal.
        {
            .name = std::string(kProfileGovernmentEntitySigning),
            .subject = SubjectKind::legal_person,
            .subject_rules = legal_person_rules(),
            .key_usage = KU_DIGITAL_SIGNATURE | KU_NON_REPUDIATION,
            .policies = {std::string(kPolicyGovernmentEntitySigning), std::string(kPolicyQcpL)},
            .qc = {.compliance = true, .type = QcType::eseal, .legislation = legislation,
                   .semantics = QcSemantics::legal},
            .validity = days(3 * 365 + 1),
        },
        // RFC 6960 §4.2.2.2: a delegated responder carries id-kp-OCSPSigning; with
        // id-pkix-ocsp-nocheck relying parties need not check its own status, which is why
        // its lifetime is short.
        {
            .name = std::string(kProfileOcspResponder),
            .subject = SubjectKind::infrastructure,
            .subject_rules = infrastructure_rules(),
            .key_usage = KU_DIGITAL_SIGNATURE,
            .extended_key_usage = {"OCSPSigning"},
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
            .subject_rules = infrastructure_rules(),
            .key_usage = KU_DIGITAL_SIGNATURE,
            .extended_key_usage = {"timeStamping"},
            .extended_key_usage_critical = true,
            .policies = {std::string(kPolicyInfrastructure)},
            .validity = days(3 * 365 + 1),
        },
        {
            .name = std::string(kProfileTlsServer),
            .subject = SubjectKind::infrastructure,
            .subject_rules = infrastructure_rules(),
            .key_usage = KU_DIGITAL_SIGNATURE,
            .extended_key_usage = {"serverAuth"},
            .policies = {std::string(kPolicyInfrastructure)},
            .validity = days(397),
            .subject_alt_names = true,
        },
    };
}

std::string join(const std::vector<std::string>& v) {
    std::string out;
    for (const auto& s : v) {
        out += (out.empty() ? "" : ", ") + s;
    }
    return out;
}

bool contains(const std::vector<std::string>& v, std::string_view s) {
    return std::find(v.begin(), v.end(), s) != v.end();
}

// Applies one [[pki.profile]] table; `bad(key, message)` builds the error.
template <typename Bad>
Result<void> apply(CertificateProfile& p, const ProfileConfig& c, std::string_view country, Bad bad) {
    auto attributes = [&](std::string_view key, const std::vector<std::string>& names) -> Result<void> {
        for (const auto& n : names) {
            int nid = ::OBJ_txt2nid(n.c_str());
            if (nid == NID_undef) {
                return bad(key, fmt::format("'{}' is not a name attribute (C, CN, O, OU, L, ST, GN, SN, "
                                            "serialNumber, organizationIdentifier, ...)", n));
            }
        }
        return {};
    };
    if (c.subject_required) {
        SELO_TRY_VOID(attributes("subject_required", *c.subject_required));
        p.subject_rules.required = *c.subject_required;
    }
    if (c.subject_allowed) {
        SELO_TRY_VOID(attributes("subject_allowed", *c.subject_allowed));
        p.subject_rules.allowed = *c.subject_allowed;
    }
    auto forms = [&](std::string_view key, const std::vector<std::string>& v) -> Result<void> {
        for (const auto& f : v) {
            if (f.size() < 3 || f.size() > 6 ||
                f.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZ-") != std::string::npos) {
                return bad(key, fmt::format("'{}' is not a form: the 3-letter type, optionally the "
                                            "2-letter country and '-' (e.g. \"IDC\", \"PASMO-\")", f));
            }
        }
        return {};
    };
    if (c.serial_number_forms) {
        SELO_TRY_VOID(forms("serial_number_forms", *c.serial_number_forms));
        p.subject_rules.serial_number_forms = *c.serial_number_forms;
    }
    if (c.organization_identifier_forms) {
        SELO_TRY_VOID(forms("organization_identifier_forms", *c.organization_identifier_forms));
        p.subject_rules.organization_identifier_forms = *c.organization_identifier_forms;
    }
    if (c.key_usage) {
        auto ku = key_usage_from_names(*c.key_usage);
        if (!ku) {
            return bad("key_usage", ku.error().message);
        }
        p.key_usage = *ku;
    }
    if (c.extended_key_usage) {
        std::vector<std::string> eku;
        for (const auto& e : *c.extended_key_usage) {
            const Purpose* known = find_purpose(e);
            if (known == nullptr && !der::is_oid(e)) {
                return bad("extended_key_usage",
                           fmt::format("'{}' is not a key purpose (serverAuth, clientAuth, codeSigning, "
                                       "emailProtection, timeStamping, OCSPSigning, or a dotted OID)", e));
            }
            std::string name(known != nullptr ? known->name : e);
            if (contains(eku, name)) {
                return bad("extended_key_usage", fmt::format("'{}' is listed twice", e));
            }
            eku.push_back(name);
        }
        p.extended_key_usage = std::move(eku);
    }
    if (c.extended_key_usage_critical) {
        p.extended_key_usage_critical = *c.extended_key_usage_critical;
    }
    if (c.policies) {
        std::vector<std::string> oids;
        for (const auto& n : *c.policies) {
            auto oid = policy_oid(n);
            if (!oid) {
                return bad("policies", oid.error().message);
            }
            if (*oid == kAnyPolicy) {
                return bad("policies", "anyPolicy is for CA certificates only");
            }
            if (contains(oids, *oid)) {
                return bad("policies", fmt::format("'{}' is listed twice", n));
            }
            oids.push_back(*oid);
        }
        p.policies = std::move(oids);
    }
    if (c.qc_compliance) {
        p.qc.compliance = *c.qc_compliance;
    }
    if (c.qc_sscd) {
        p.qc.sscd = *c.qc_sscd;
    }
    if (c.qc_type) {
        if (*c.qc_type == "esign") {
            p.qc.type = QcType::esign;
        } else if (*c.qc_type == "eseal") {
            p.qc.type = QcType::eseal;
        } else if (*c.qc_type == "web") {
            p.qc.type = QcType::web;
        } else if (c.qc_type->empty()) {
            p.qc.type = QcType::none;
        } else {
            return bad("qc_type", fmt::format("'{}' must be \"esign\", \"eseal\", \"web\" or \"\"", *c.qc_type));
        }
    }
    if (c.qc_pds) {
        p.qc.pds.clear();
        for (const auto& l : *c.qc_pds) {
            // EN 319 412-5 §4.3.4: PdsLocation url is an https URL, language ISO 639-1.
            if (!l.url.starts_with("https://") || l.url.size() <= 8 ||
                l.url.find_first_of(" \"<>\\^`{|}") != std::string::npos ||
                std::any_of(l.url.begin(), l.url.end(), [](char ch) { return static_cast<unsigned char>(ch) > 0x7e || ch < 0x21; })) {
                return bad("qc_pds", fmt::format("url '{}' must be an https:// URL (ASCII)", l.url));
            }
            if (l.language.size() != 2 || l.language.find_first_not_of("abcdefghijklmnopqrstuvwxyz") != std::string::npos) {
                return bad("qc_pds", fmt::format("language '{}' must be a lower-case ISO 639-1 code (e.g. \"en\")",
                                                 l.language));
            }
            p.qc.pds.push_back({l.url, l.language});
        }
        if (!p.qc.pds.empty() && std::none_of(p.qc.pds.begin(), p.qc.pds.end(),
                                              [](const PdsLocation& l) { return l.language == "en"; })) {
            return bad("qc_pds", "needs a PDS in English (language \"en\", EN 319 412-5 §4.3.4)");
        }
    }
    if (c.qc_retention_years) {
        if (*c.qc_retention_years == 0 || *c.qc_retention_years > 100) {
            return bad("qc_retention_years", "must be 1 to 100 (years)");
        }
        p.qc.retention_years = *c.qc_retention_years;
    }
    if (c.qc_legislation) {
        for (const auto& cc : *c.qc_legislation) {
            if (cc.size() != 2 || cc.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZ") != std::string::npos) {
                return bad("qc_legislation", fmt::format("'{}' is not an ISO 3166 country code", cc));
            }
        }
        p.qc.legislation = *c.qc_legislation;
    }
    (void)country;
    if (c.qc_semantics) {
        if (*c.qc_semantics == "natural") {
            p.qc.semantics = QcSemantics::natural;
        } else if (*c.qc_semantics == "legal") {
            p.qc.semantics = QcSemantics::legal;
        } else if (c.qc_semantics->empty()) {
            p.qc.semantics = QcSemantics::none;
        } else {
            return bad("qc_semantics", fmt::format("'{}' must be \"natural\", \"legal\" or \"\"", *c.qc_semantics));
        }
    }
    if (c.aia_ca_issuers) {
        p.aia_ca_issuers = *c.aia_ca_issuers;
    }
    if (c.aia_ocsp) {
        p.aia_ocsp = *c.aia_ocsp;
    }
    if (c.crl_distribution_point) {
        p.crl_distribution_point = *c.crl_distribution_point;
    }
    if (c.validity_days) {
        if (*c.validity_days < 1 || *c.validity_days > 10 * 366) {
            return bad("validity_days", "must be 1 to 3660");
        }
        p.validity = days(*c.validity_days);
    }
    return {};
}

// What must hold together, whatever was configured; `bad(key, message)` builds the error.
template <typename Bad>
Result<void> check_consistent(const CertificateProfile& p, Bad bad) {
    if (p.key_usage == 0) {
        return bad("key_usage", "cannot be empty");
    }
    if ((p.key_usage & (KU_KEY_CERT_SIGN | KU_CRL_SIGN)) != 0) {
        return bad("key_usage", "keyCertSign and cRLSign are for CA profiles, not end-entity ones");
    }
    for (const auto& e : p.extended_key_usage) {
        const Purpose* known = find_purpose(e);
        if (known != nullptr && (p.key_usage & known->usable_with) == 0) {
            return bad("extended_key_usage",
                       fmt::format("{} contradicts key_usage [{}]: it needs one of [{}] (RFC 5280 §4.2.1.12)",
                                   e, join(key_usage_names(p.key_usage)), join(key_usage_names(known->usable_with))));
        }
    }
    if (p.ocsp_no_check && !contains(p.extended_key_usage, "OCSPSigning")) {
        return bad("extended_key_usage", "an OCSP responder profile needs OCSPSigning (RFC 6960 §4.2.2.2)");
    }
    if (contains(p.extended_key_usage, "timeStamping") &&
        (p.extended_key_usage.size() != 1 || !p.extended_key_usage_critical)) {
        return bad("extended_key_usage",
                   "timeStamping must be the only key purpose, and critical (RFC 3161 §2.3)");
    }
    if (p.subject_alt_names && !contains(p.extended_key_usage, "serverAuth")) {
        return bad("extended_key_usage", "a TLS server profile needs serverAuth");
    }
    bool qcp = std::any_of(p.policies.begin(), p.policies.end(), [](const std::string& o) { return is_qcp_policy(o); });
    bool qscd_policy = contains(p.policies, kPolicyQcpNQscd) || contains(p.policies, kPolicyQcpLQscd);
    if (p.qc.compliance && !qcp) {
        return bad("qc_compliance", "QcCompliance needs a QCP policy (QCP-n, QCP-l, QCP-n-qscd, QCP-l-qscd or "
                                    "QCP-w) in policies (EN 319 412-5 §4.2.1)");
    }
    if (qcp && !p.qc.compliance) {
        return bad("policies", "a QCP policy makes a qualified certificate: set qc_compliance = true");
    }
    if (!p.qc.compliance && (p.qc.sscd || p.qc.type != QcType::none || !p.qc.pds.empty() ||
                             p.qc.retention_years || !p.qc.legislation.empty())) {
        return bad("qc_compliance", "qc_sscd, qc_type, qc_pds, qc_retention_years and qc_legislation are "
                                    "statements of a qualified certificate: they need qc_compliance = true "
                                    "and a QCP policy");
    }
    if (p.qc.sscd != qscd_policy) {
        return bad("qc_sscd", p.qc.sscd ? "QcSSCD needs the QCP-n-qscd or QCP-l-qscd policy"
                                        : "a QCP-n-qscd / QCP-l-qscd policy needs qc_sscd = true");
    }
    if (p.qc.compliance && p.qc.type == QcType::none) {
        return bad("qc_type", "a qualified profile needs its QcType (EN 319 412-5 §4.2.3)");
    }
    QcType expected = p.subject == SubjectKind::natural_person ? QcType::esign
                      : p.subject == SubjectKind::legal_person ? QcType::eseal
                      : p.subject_alt_names                    ? QcType::web
                                                               : QcType::none;
    if (p.qc.type != QcType::none && p.qc.type != expected) {
        return bad("qc_type", fmt::format("\"{}\" does not fit a {} profile (expected \"{}\")",
                                          qc_type_name(p.qc.type),
                                          p.subject == SubjectKind::natural_person ? "natural-person"
                                          : p.subject == SubjectKind::legal_person ? "legal-person"
                                                                                   : "infrastructure",
                                          expected == QcType::none ? "" : qc_type_name(expected)));
    }
    bool natural_policy = contains(p.policies, kPolicyQcpN) || contains(p.policies, kPolicyQcpNQscd);
    bool legal_policy = contains(p.policies, kPolicyQcpL) || contains(p.policies, kPolicyQcpLQscd);
    if ((natural_policy && p.subject != SubjectKind::natural_person) ||
        (legal_policy && p.subject != SubjectKind::legal_person) ||
        (contains(p.policies, kPolicyQcpW) && !p.subject_alt_names)) {
        return bad("policies", "the QCP policy does not fit whom the profile certifies (QCP-n for natural "
                               "persons, QCP-l for legal persons, QCP-w for websites)");
    }
    if ((p.qc.semantics == QcSemantics::natural && !contains(p.subject_rules.required, "serialNumber")) ||
        (p.qc.semantics == QcSemantics::legal && !contains(p.subject_rules.required, "organizationIdentifier"))) {
        return bad("qc_semantics", "the semantics identifier describes serialNumber (natural) or "
                                   "organizationIdentifier (legal): subject_required must list it");
    }
    for (const auto& a : p.subject_rules.required) {
        if (contains(p.subject_rules.allowed, a)) {
            return bad("subject_allowed", fmt::format("'{}' is already required", a));
        }
    }
    if (!contains(p.subject_rules.required, "CN")) {
        return bad("subject_required", "must list CN");
    }
    return {};
}

std::mutex g_catalogue_mutex;
std::deque<ProfileCatalogue>& installed() {
    static std::deque<ProfileCatalogue> all{ProfileCatalogue::builtin()};
    return all;
}
std::atomic<const ProfileCatalogue*> g_active{nullptr};

}  // namespace

std::string key_usage_text(std::uint32_t bits) {
    std::string out = "critical";
    for (const auto& b : kKeyUsageBits) {
        if ((bits & b.bit) != 0) {
            out += ",";
            out += b.name;
        }
    }
    return out;
}

Result<std::uint32_t> key_usage_from_names(const std::vector<std::string>& names) {
    std::uint32_t out = 0;
    for (const auto& n : names) {
        std::string_view name = n == "contentCommitment" ? std::string_view("nonRepudiation") : n;
        auto it = std::find_if(std::begin(kKeyUsageBits), std::end(kKeyUsageBits),
                               [&](const NamedBit& b) { return b.name == name; });
        if (it == std::end(kKeyUsageBits)) {
            return fail(ErrorCode::invalid_argument,
                        "'{}' is not a keyUsage (digitalSignature, nonRepudiation, keyEncipherment, "
                        "dataEncipherment, keyAgreement, encipherOnly, decipherOnly)",
                        n);
        }
        if ((out & it->bit) != 0) {
            return fail(ErrorCode::invalid_argument, "'{}' is listed twice", n);
        }
        out |= it->bit;
    }
    return out;
}

std::vector<std::string> key_usage_names(std::uint32_t bits) {
    std::vector<std::string> out;
    for (const auto& b : kKeyUsageBits) {
        if ((bits & b.bit) != 0) {
            out.emplace_back(b.name);
        }
    }
    return out;
}

Result<std::string> policy_oid(std::string_view name_or_oid) {
    for (const auto& p : kPolicies) {
        if (p.name == name_or_oid) {
            return std::string(p.oid);
        }
    }
    if (der::is_oid(name_or_oid)) {
        return std::string(name_or_oid);
    }
    return fail(ErrorCode::invalid_argument,
                "'{}' is not a policy (NCP, NCP+, LCP, QCP-n, QCP-l, QCP-n-qscd, QCP-l-qscd, QCP-w, or "
                "a dotted OID such as one under Selo's arc {})",
                name_or_oid, kSeloOidArc);
}

bool is_qcp_policy(std::string_view oid) noexcept {
    return oid == kPolicyQcpN || oid == kPolicyQcpL || oid == kPolicyQcpNQscd || oid == kPolicyQcpLQscd ||
           oid == kPolicyQcpW;
}

std::string_view qc_type_name(QcType t) noexcept {
    switch (t) {
        case QcType::esign: return "esign";
        case QcType::eseal: return "eseal";
        case QcType::web: return "web";
        case QcType::none: break;
    }
    return "";
}

std::string_view qc_semantics_name(QcSemantics s) noexcept {
    switch (s) {
        case QcSemantics::natural: return "natural";
        case QcSemantics::legal: return "legal";
        case QcSemantics::none: break;
    }
    return "";
}

ProfileCatalogue ProfileCatalogue::builtin(std::string_view country) {
    ProfileCatalogue c;
    c.profiles_ = make_builtin(country);
    return c;
}

Result<ProfileCatalogue> ProfileCatalogue::from_config(const PkiConfig& pki, std::string_view source) {
    ProfileCatalogue c = builtin(pki.country);
    for (const auto& o : pki.profiles) {
        auto bad = [&](std::string_view key, std::string_view message) {
            return fail(ErrorCode::invalid_argument, "{}: [[pki.profile]] '{}' {}: {}", source, o.name, key, message);
        };
        auto existing = std::find_if(c.profiles_.begin(), c.profiles_.end(),
                                     [&](const CertificateProfile& p) { return p.name == o.name; });
        CertificateProfile p;
        if (existing != c.profiles_.end()) {
            if (!o.base.empty()) {
                return bad("base", "a built-in profile is changed in place; a new profile needs a new name");
            }
            p = *existing;
        } else {
            auto base = std::find_if(c.profiles_.begin(), c.profiles_.end(),
                                     [&](const CertificateProfile& b) { return b.name == o.base; });
            if (o.base.empty()) {
                return bad("base", "a new profile needs the profile it starts from");
            }
            if (base == c.profiles_.end()) {
                std::vector<std::string> known;
                for (const auto& b : c.profiles_) {
                    known.push_back(b.name);
                }
                return bad("base", fmt::format("no profile '{}' (known: {})", o.base, join(known)));
            }
            p = *base;
            p.name = o.name;
        }
        if (p.ca) {
            return bad(existing != c.profiles_.end() ? "name" : "base",
                       "the CA profiles (root-ca, issuing-ca) are not configurable");
        }
        SELO_TRY_VOID(apply(p, o, pki.country, bad));
        SELO_TRY_VOID(check_consistent(p, bad));
        if (existing != c.profiles_.end()) {
            *existing = std::move(p);
        } else {
            c.profiles_.push_back(std::move(p));
        }
    }
    // `selo lint` tells profiles apart by their policies and key purposes.
    for (std::size_t i = 0; i < c.profiles_.size(); ++i) {
        for (std::size_t j = 0; j < i; ++j) {
            const auto& a = c.profiles_[i];
            const auto& b = c.profiles_[j];
            if (!a.ca && !b.ca && a.policies == b.policies && a.extended_key_usage == b.extended_key_usage) {
                return fail(ErrorCode::invalid_argument,
                            "{}: [[pki.profile]] '{}' policies: the same policies and extended_key_usage as "
                            "'{}', so their certificates could not be told apart; give it a policy OID of "
                            "its own (e.g. under Selo's arc {}.1)",
                            source, a.name, b.name, kSeloOidArc);
            }
        }
    }
    return c;
}

Result<const CertificateProfile*> ProfileCatalogue::find(std::string_view name) const {
    for (const auto& p : profiles_) {
        if (p.name == name) {
            return &p;
        }
    }
    std::vector<std::string> known;
    for (const auto& p : profiles_) {
        known.push_back(p.name);
    }
    return fail(ErrorCode::invalid_argument, "unknown certificate profile '{}' (known: {})", name, join(known));
}

void install_profiles(ProfileCatalogue catalogue) {
    std::lock_guard lock(g_catalogue_mutex);
    installed().push_back(std::move(catalogue));
    g_active.store(&installed().back());
}

const ProfileCatalogue& active_profiles() {
    const ProfileCatalogue* p = g_active.load();
    if (p != nullptr) {
        return *p;
    }
    std::lock_guard lock(g_catalogue_mutex);
    return installed().front();
}

Result<const CertificateProfile*> find_profile(std::string_view name) { return active_profiles().find(name); }

std::string commented_profiles(const ProfileCatalogue& catalogue) {
    auto quoted = [](const std::vector<std::string>& v) {
        std::string out;
        for (const auto& x : v) {
            out += fmt::format("{}\"{}\"", out.empty() ? "" : ", ", x);
        }
        return "[" + out + "]";
    };
    auto policy_names = [](const std::vector<std::string>& oids) {
        std::vector<std::string> out;
        for (const auto& o : oids) {
            auto it = std::find_if(std::begin(kPolicies), std::end(kPolicies),
                                   [&](const NamedOid& n) { return n.oid == o; });
            out.emplace_back(it != std::end(kPolicies) ? it->name : std::string_view(o));
        }
        return out;
    };
    std::string out =
        "\n# Certificate profiles. The built-in ones are shown below with their values, commented\n"
        "# out. Uncomment a table and keep the keys you change to alter a built-in profile; a new\n"
        "# profile takes another name and `base = \"<profile it starts from>\"`, and is issued by\n"
        "# the CAs that list it in [[pki.authority]] profiles. See docs/ca.md. Keys:\n"
        "#   subject_required / subject_allowed: name attributes (C, CN, O, OU, L, GN, SN, serialNumber,\n"
        "#     organizationIdentifier, ...); serial_number_forms / organization_identifier_forms:\n"
        "#     prefixes such as \"IDCMO-\", \"PASMO-\", \"NTRMO-\" (EN 319 412-1 §5.1).\n"
        "#   key_usage: digitalSignature, nonRepudiation, keyEncipherment, dataEncipherment, keyAgreement.\n"
        "#   extended_key_usage: serverAuth, clientAuth, codeSigning, emailProtection, timeStamping,\n"
        "#     OCSPSigning or a dotted OID; extended_key_usage_critical.\n"
        "#   policies: NCP, NCP+, LCP, QCP-n, QCP-l, QCP-n-qscd, QCP-l-qscd, QCP-w or dotted OIDs.\n"
        "#   qc_compliance, qc_sscd, qc_type (esign, eseal, web), qc_semantics (natural, legal),\n"
        "#   qc_legislation (countries), qc_retention_years, qc_pds = [{ url = \"https://...\", language = \"en\" }]\n"
        "#   (ETSI EN 319 412-5); aia_ca_issuers, aia_ocsp, crl_distribution_point; validity_days.\n";
    for (const auto& p : catalogue.all()) {
        if (p.ca) {
            continue;
        }
        std::string pds;
        for (const auto& l : p.qc.pds) {
            pds += fmt::format("{}{{ url = \"{}\", language = \"{}\" }}", pds.empty() ? "" : ", ", l.url, l.language);
        }
        out += fmt::format(
            "\n# [[pki.profile]]\n# name = \"{}\"\n# subject_required = {}\n# subject_allowed = {}\n"
            "# serial_number_forms = {}\n# organization_identifier_forms = {}\n# key_usage = {}\n"
            "# extended_key_usage = {}\n# extended_key_usage_critical = {}\n# policies = {}\n"
            "# qc_compliance = {}\n# qc_sscd = {}\n# qc_type = \"{}\"\n# qc_semantics = \"{}\"\n"
            "# qc_legislation = {}\n# qc_pds = [{}]\n{}"
            "# aia_ca_issuers = {}\n# aia_ocsp = {}\n# crl_distribution_point = {}\n# validity_days = {}\n",
            p.name, quoted(p.subject_rules.required), quoted(p.subject_rules.allowed),
            quoted(p.subject_rules.serial_number_forms), quoted(p.subject_rules.organization_identifier_forms),
            quoted(key_usage_names(p.key_usage)), quoted(p.extended_key_usage), p.extended_key_usage_critical,
            quoted(policy_names(p.policies)), p.qc.compliance, p.qc.sscd, qc_type_name(p.qc.type),
            qc_semantics_name(p.qc.semantics), quoted(p.qc.legislation), pds,
            p.qc.retention_years ? fmt::format("# qc_retention_years = {}\n", *p.qc.retention_years)
                                 : std::string("# qc_retention_years: not set (no QcRetentionPeriod); 1 to 100 years\n"),
            p.aia_ca_issuers, p.aia_ocsp, p.crl_distribution_point, p.validity.count());
    }
    return out;
}

const std::vector<CertificateProfile>& builtin_profiles() {
    static const ProfileCatalogue catalogue = ProfileCatalogue::builtin();
    return catalogue.all();
}

}  // namespace selo::pki
