#include "pki/lint.hpp"

#include <openssl/objects.h>
#include <openssl/x509v3.h>

#include <algorithm>
#include <functional>

#include "core/country.hpp"
#include "crypto/keys.hpp"
#include "pki/name.hpp"
#include "pki/qc_statements.hpp"

namespace selo::pki {
namespace {

using crypto::openssl_error;

Bytes name_der(const X509_NAME* name) {
    const unsigned char* p = nullptr;
    std::size_t len = 0;
    if (::X509_NAME_get0_der(const_cast<X509_NAME*>(name), &p, &len) != 1) {
        return {};
    }
    return Bytes(p, p + len);
}

bool has_extension(X509* x, int nid, bool* critical) {
    int idx = ::X509_get_ext_by_NID(x, nid, -1);
    if (idx < 0) {
        return false;
    }
    if (critical != nullptr) {
        *critical = ::X509_EXTENSION_get_critical(::X509_get_ext(x, idx)) != 0;
    }
    return true;
}

// RFC 5280 §4.1.2.5: UTCTime through 2049, GeneralizedTime from 2050.
bool time_encoding_ok(const ASN1_TIME* t) {
    std::tm tm{};
    if (::ASN1_TIME_to_tm(t, &tm) != 1) {
        return false;
    }
    int year = tm.tm_year + 1900;
    int type = ::ASN1_STRING_type(t);
    return year < 2050 ? type == V_ASN1_UTCTIME : type == V_ASN1_GENERALIZEDTIME;
}

std::vector<std::string> policy_oids(X509* x) {
    auto* policies = static_cast<CERTIFICATEPOLICIES*>(
        ::X509_get_ext_d2i(x, NID_certificate_policies, nullptr, nullptr));
    std::vector<std::string> oids;
    for (int i = 0; policies != nullptr && i < sk_POLICYINFO_num(policies); ++i) {
        oids.push_back(crypto::oid_text(sk_POLICYINFO_value(policies, i)->policyid));
    }
    ::CERTIFICATEPOLICIES_free(policies);
    std::sort(oids.begin(), oids.end());
    return oids;
}

std::vector<std::string> eku_oids(X509* x) {
    auto* eku = static_cast<EXTENDED_KEY_USAGE*>(::X509_get_ext_d2i(x, NID_ext_key_usage, nullptr, nullptr));
    std::vector<std::string> oids;
    for (int i = 0; eku != nullptr && i < sk_ASN1_OBJECT_num(eku); ++i) {
        oids.push_back(crypto::oid_text(sk_ASN1_OBJECT_value(eku, i)));
    }
    ::EXTENDED_KEY_USAGE_free(eku);
    std::sort(oids.begin(), oids.end());
    return oids;
}

std::vector<std::string> profile_eku_oids(const CertificateProfile& p) {
    std::vector<std::string> oids;
    for (const auto& e : p.extended_key_usage) {
        ASN1_OBJECT* obj = ::OBJ_txt2obj(e.c_str(), 0);
        if (obj != nullptr) {
            oids.push_back(crypto::oid_text(obj));
            ::ASN1_OBJECT_free(obj);
        }
    }
    std::sort(oids.begin(), oids.end());
    return oids;
}

std::vector<std::string> sorted(std::vector<std::string> v) {
    std::sort(v.begin(), v.end());
    return v;
}

// EN 319 412-1 §5.1.3/§5.1.4: 3-letter type, country, '-', then the identifier.
bool etsi_identifier_shape(std::string_view v) {
    if (v.size() < 7 || v[5] != '-' ||
        !std::all_of(v.begin(), v.begin() + 3, [](char c) { return c >= 'A' && c <= 'Z'; })) {
        return false;
    }
    return is_identifier_country(v.substr(0, 3), v.substr(3, 2));
}

void lint_subject_rules(X509* x, const SubjectRules& rules,
                        const std::function<void(std::string, std::string)>& finding) {
    const X509_NAME* subject = ::X509_get_subject_name(x);
    auto nid_of = [](const std::string& name) { return ::OBJ_txt2nid(name.c_str()); };
    for (const auto& a : rules.required) {
        if (::X509_NAME_get_index_by_NID(const_cast<X509_NAME*>(subject), nid_of(a), -1) < 0) {
            finding("subject.required_missing", fmt::format("the profile requires {} in the subject", a));
        }
    }
    for (int i = 0; i < ::X509_NAME_entry_count(subject); ++i) {
        const X509_NAME_ENTRY* e = ::X509_NAME_get_entry(subject, i);
        int nid = ::OBJ_obj2nid(::X509_NAME_ENTRY_get_object(e));
        auto listed = [&](const std::vector<std::string>& v) {
            return std::any_of(v.begin(), v.end(), [&](const std::string& a) { return nid_of(a) == nid; });
        };
        if (!listed(rules.required) && !listed(rules.allowed)) {
            finding("subject.not_allowed",
                    fmt::format("{} is not allowed in this profile's subject",
                                crypto::oid_text(::X509_NAME_ENTRY_get_object(e))));
        }
        const ASN1_STRING* v = ::X509_NAME_ENTRY_get_data(e);
        std::string_view text(reinterpret_cast<const char*>(::ASN1_STRING_get0_data(v)),
                              static_cast<std::size_t>(::ASN1_STRING_length(v)));
        auto check_form = [&](const std::vector<std::string>& forms, const char* rule, const char* what) {
            bool form_ok = forms.empty() || std::any_of(forms.begin(), forms.end(), [&](const std::string& f) {
                               return text.starts_with(f);
                           });
            if (!etsi_identifier_shape(text) || !form_ok) {
                std::string list;
                for (const auto& f : forms) {
                    list += (list.empty() ? "" : ", ") + f;
                }
                finding(rule, fmt::format("{} '{}' is not type+country+'-'+identifier{}{} (EN 319 412-1 §5.1)",
                                          what, text, forms.empty() ? "" : " starting with one of ", list));
            }
        };
        if (nid == NID_serialNumber && (!rules.serial_number_forms.empty() || listed(rules.required))) {
            check_form(rules.serial_number_forms, "subject.serial_number_form", "serialNumber");
        }
        if (nid == NID_organizationIdentifier) {
            check_form(rules.organization_identifier_forms, "subject.organization_identifier_form",
                       "organizationIdentifier");
        }
    }
}

void lint_qc_statements(X509* x, const CertificateProfile& prof,
                        const std::function<void(std::string, std::string)>& finding) {
    int idx = ::X509_get_ext_by_NID(x, NID_qcStatements, -1);
    if (idx < 0) {
        if (prof.qc.any()) {
            finding("qc.missing", "the profile's qcStatements extension is missing (ETSI EN 319 412-5)");
        }
        return;
    }
    const ASN1_OCTET_STRING* data = ::X509_EXTENSION_get_data(::X509_get_ext(x, idx));
    ByteView der(::ASN1_STRING_get0_data(data), static_cast<std::size_t>(::ASN1_STRING_length(data)));
    auto qc = decode_qc_statements(der);
    if (!qc) {
        finding("qc.malformed", fmt::format("qcStatements does not follow EN 319 412-5: {}", qc.error().message));
        return;
    }
    auto ids = qc->statement_ids;
    std::sort(ids.begin(), ids.end());
    if (std::adjacent_find(ids.begin(), ids.end()) != ids.end()) {
        finding("qc.duplicate", fmt::format("statement {} appears twice", *std::adjacent_find(ids.begin(), ids.end())));
    }
    auto policies = policy_oids(x);
    bool qcp = std::any_of(policies.begin(), policies.end(), [](const std::string& o) { return is_qcp_policy(o); });
    bool qscd_policy = std::any_of(policies.begin(), policies.end(), [](const std::string& o) {
        return o == kPolicyQcpNQscd || o == kPolicyQcpLQscd;
    });
    if (qc->has(kOidQcsCompliance) && !qcp) {
        finding("qc.compliance_without_qcp", "QcCompliance without a QCP policy in certificatePolicies");
    }
    if (qc->has(kOidQcsSscd) && !qscd_policy) {
        finding("qc.sscd_without_qscd_policy", "QcSSCD without the QCP-n-qscd or QCP-l-qscd policy");
    }
    for (const auto& l : qc->pds) {
        if (!l.url.starts_with("https://")) {
            finding("qc.pds_not_https", fmt::format("PDS location '{}' is not https (EN 319 412-5 §4.3.4)", l.url));
        }
    }
    // QcType: exactly the one the profile names, and one that fits whom it certifies.
    std::string_view expected = prof.qc.type == QcType::esign   ? kOidQctEsign
                                : prof.qc.type == QcType::eseal ? kOidQctEseal
                                : prof.qc.type == QcType::web   ? kOidQctWeb
                                                                : std::string_view{};
    if (qc->has(kOidQcsType) &&
        (qc->types.size() != 1 || qc->types.front() != expected)) {
        std::string got;
        for (const auto& t : qc->types) {
            got += (got.empty() ? "" : ", ") + t;
        }
        finding("qc.type_mismatch", fmt::format("QcType [{}] is not the profile's ({})", got,
                                                expected.empty() ? "none" : expected));
    }
    std::string_view semantics = prof.qc.semantics == QcSemantics::natural ? kOidSemanticsNatural
                                 : prof.qc.semantics == QcSemantics::legal ? kOidSemanticsLegal
                                                                           : std::string_view{};
    if (qc->semantics && *qc->semantics != semantics) {
        finding("qc.semantics_mismatch", fmt::format("semantics identifier {} is not the profile's ({})",
                                                     *qc->semantics, semantics.empty() ? "none" : semantics));
    }
    struct Expect {
        std::string_view id;
        bool wanted;
        const char* name;
    };
    const Expect expect[] = {
        {kOidQcsCompliance, prof.qc.compliance, "QcCompliance"},
        {kOidQcsSscd, prof.qc.sscd, "QcSSCD"},
        {kOidQcsType, prof.qc.type != QcType::none, "QcType"},
        {kOidQcsPds, !prof.qc.pds.empty(), "QcPDS"},
        {kOidQcsRetentionPeriod, prof.qc.retention_years.has_value(), "QcRetentionPeriod"},
        {kOidQcsCcLegislation, !prof.qc.legislation.empty(), "QcCClegislation"},
        {kOidPkixQcSyntaxV2, prof.qc.semantics != QcSemantics::none, "the semantics identifier"},
    };
    for (const auto& e : expect) {
        if (e.wanted && !qc->has(e.id)) {
            finding("qc.statement_missing", fmt::format("the profile's {} statement is missing", e.name));
        } else if (!e.wanted && qc->has(e.id)) {
            finding("qc.statement_unexpected", fmt::format("{} is not in the profile", e.name));
        }
    }
}

}  // namespace

std::vector<LintFinding> lint_certificate(const Certificate& cert, const CertificateProfile& prof,
                                          const Certificate* issuer) {
    std::vector<LintFinding> out;
    auto finding = [&](std::string rule, std::string message) {
        out.push_back({std::move(rule), std::move(message)});
    };
    X509* x = cert.x509();

    if (::X509_get_version(x) != X509_VERSION_3) {
        finding("version.not_v3", "certificate is not version 3");
    }

    // RFC 5280 §4.1.2.2: positive, at most 20 octets; CA/B practice: at least 64 random bits.
    const ASN1_INTEGER* serial = ::X509_get0_serialNumber(x);
    if (::ASN1_STRING_type(serial) == V_ASN1_NEG_INTEGER) {
        finding("serial.negative", "serial number is negative");
    }
    int serial_len = ::ASN1_STRING_length(serial);
    if (serial_len > 20) {
        finding("serial.too_long", "serial number is longer than 20 octets");
    }
    if (serial_len < 9) {
        finding("serial.too_short", "serial number has fewer than 64 bits of entropy");
    }

    const X509_NAME* subject = ::X509_get_subject_name(x);
    const X509_NAME* issuer_name = ::X509_get_issuer_name(x);
    Bytes expected_issuer =
        issuer != nullptr ? name_der(::X509_get_subject_name(issuer->x509())) : name_der(subject);
    if (name_der(issuer_name) != expected_issuer) {
        finding("issuer.dn_mismatch", "issuer DN is not byte-identical to the CA's subject DN");
    }
    if (::X509_NAME_entry_count(subject) == 0) {
        finding("subject.empty", "subject DN is empty");
    }
    for (int i = 0; i < ::X509_NAME_entry_count(subject); ++i) {
        const X509_NAME_ENTRY* e = ::X509_NAME_get_entry(subject, i);
        int nid = ::OBJ_obj2nid(::X509_NAME_ENTRY_get_object(e));
        const ASN1_STRING* v = ::X509_NAME_ENTRY_get_data(e);
        int type = ::ASN1_STRING_type(v);
        const char* sn = ::OBJ_nid2sn(nid);
        if (nid == NID_countryName || nid == NID_serialNumber) {
            if (type != V_ASN1_PRINTABLESTRING) {
                finding("subject.string_type", fmt::format("{} must be a PrintableString", sn));
            }
            if (nid == NID_countryName) {
                std::string_view code(reinterpret_cast<const char*>(::ASN1_STRING_get0_data(v)),
                                      static_cast<std::size_t>(::ASN1_STRING_length(v)));
                if (!is_iso3166_alpha2(code)) {
                    finding("subject.country_code",
                            fmt::format("countryName '{}' is not an ISO 3166-1 alpha-2 code (RFC 5280 "
                                        "Appendix A, EN 319 412-2 §4.2.4)",
                                        code));
                }
            }
        } else if (type != V_ASN1_UTF8STRING) {
            finding("subject.string_type", fmt::format("{} must be a UTF8String", sn));
        }
        std::string_view text(reinterpret_cast<const char*>(::ASN1_STRING_get0_data(v)),
                              static_cast<std::size_t>(::ASN1_STRING_length(v)));
        if (text.empty()) {
            finding("subject.empty_value", fmt::format("{} is empty", sn));
        } else if (!is_clean_utf8(text)) {
            finding("subject.bad_utf8", fmt::format("{} is not clean UTF-8", sn));
        }
    }

    const ASN1_TIME* nb = ::X509_get0_notBefore(x);
    const ASN1_TIME* na = ::X509_get0_notAfter(x);
    if (!time_encoding_ok(nb) || !time_encoding_ok(na)) {
        finding("validity.encoding", "validity must be UTCTime through 2049, GeneralizedTime after");
    }
    if (::ASN1_TIME_compare(nb, na) >= 0) {
        finding("validity.inverted", "notBefore is not before notAfter");
    }
    if (issuer != nullptr && ::ASN1_TIME_compare(na, ::X509_get0_notAfter(issuer->x509())) > 0) {
        finding("validity.beyond_issuer", "certificate outlives its issuer");
    }

    bool critical = false;
    if (!has_extension(x, NID_key_usage, &critical)) {
        finding("ext.key_usage.missing", "keyUsage extension is missing");
    } else if (!critical) {
        finding("ext.key_usage.not_critical", "keyUsage must be critical");
    }
    std::uint32_t ku = ::X509_get_key_usage(x);
    BASIC_CONSTRAINTS* bc = static_cast<BASIC_CONSTRAINTS*>(
        ::X509_get_ext_d2i(x, NID_basic_constraints, nullptr, nullptr));
    bool is_ca = bc != nullptr && bc->ca != 0;
    if (bc != nullptr) {
        ::BASIC_CONSTRAINTS_free(bc);
    }
    if (prof.ca) {
        if (!has_extension(x, NID_basic_constraints, &critical) || !critical || !is_ca) {
            finding("ext.basic_constraints.ca", "a CA certificate needs critical basicConstraints cA=TRUE");
        }
        if ((ku & KU_KEY_CERT_SIGN) == 0) {
            finding("ext.key_usage.ca", "a CA certificate needs keyCertSign");
        }
    } else {
        if (is_ca) {
            finding("ext.basic_constraints.ee", "an end-entity certificate must not be a CA");
        }
        if ((ku & (KU_KEY_CERT_SIGN | KU_CRL_SIGN)) != 0) {
            finding("ext.key_usage.ee", "an end-entity certificate must not sign certificates or CRLs");
        }
    }
    if ((prof.key_usage & KU_NON_REPUDIATION) != 0 && (ku & KU_NON_REPUDIATION) == 0) {
        finding("ext.key_usage.non_repudiation",
                "a signing certificate with legal effect needs nonRepudiation");
    } else if (has_extension(x, NID_key_usage, nullptr) && (ku & 0xffff) != prof.key_usage) {
        finding("ext.key_usage.profile",
                fmt::format("keyUsage is not the profile's ({})", key_usage_text(prof.key_usage).substr(9)));
    }

    if (!has_extension(x, NID_subject_key_identifier, nullptr)) {
        finding("ext.ski.missing", "subjectKeyIdentifier is missing (RFC 5280 §4.2.1.2)");
    }
    if (issuer != nullptr) {
        const ASN1_OCTET_STRING* akid = ::X509_get0_authority_key_id(x);
        const ASN1_OCTET_STRING* skid = ::X509_get0_subject_key_id(issuer->x509());
        if (akid == nullptr) {
            finding("ext.aki.missing", "authorityKeyIdentifier is missing (RFC 5280 §4.2.1.1)");
        } else if (skid == nullptr || ::ASN1_OCTET_STRING_cmp(akid, skid) != 0) {
            finding("ext.aki.mismatch", "authorityKeyIdentifier does not match the issuer's key");
        }
    }
    if (!prof.policies.empty() && !has_extension(x, NID_certificate_policies, nullptr)) {
        finding("ext.policies.missing", "certificatePolicies is missing");
    }
    if (!prof.extended_key_usage.empty()) {
        if (!has_extension(x, NID_ext_key_usage, &critical)) {
            finding("ext.eku.missing", "extendedKeyUsage is missing");
        } else if (prof.extended_key_usage_critical && !critical) {
            finding("ext.eku.not_critical", "extendedKeyUsage must be critical (RFC 3161 §2.3)");
        } else if (eku_oids(x) != profile_eku_oids(prof)) {
            std::string want;
            for (const auto& e : prof.extended_key_usage) {
                want += (want.empty() ? "" : ", ") + e;
            }
            finding("ext.eku.profile", fmt::format("extendedKeyUsage is not the profile's ({})", want));
        }
    } else if (has_extension(x, NID_ext_key_usage, nullptr) && !prof.ca) {
        finding("ext.eku.profile", "the profile has no extendedKeyUsage");
    }
    if (!prof.policies.empty() && has_extension(x, NID_certificate_policies, nullptr) &&
        policy_oids(x) != sorted(prof.policies)) {
        std::string want;
        for (const auto& o : prof.policies) {
            want += (want.empty() ? "" : ", ") + o;
        }
        finding("ext.policies.profile", fmt::format("certificatePolicies are not the profile's ({})", want));
    }
    lint_subject_rules(x, prof.subject_rules, finding);
    if (!prof.ca) {
        lint_qc_statements(x, prof, finding);
    }
    if (prof.ocsp_no_check && !has_extension(x, NID_id_pkix_OCSP_noCheck, nullptr)) {
        finding("ext.ocsp_nocheck.missing", "a delegated OCSP responder needs id-pkix-ocsp-nocheck");
    }
    if (prof.subject_alt_names && !has_extension(x, NID_subject_alt_name, nullptr)) {
        finding("ext.san.missing", "subjectAltName is missing");
    }
    if (prof.aia_ca_issuers && !has_extension(x, NID_info_access, nullptr)) {
        finding("ext.aia.missing", "authorityInfoAccess caIssuers is missing");
    }
    if (issuer != nullptr) {
        bool ocsp = false;
        auto* aia = static_cast<AUTHORITY_INFO_ACCESS*>(
            ::X509_get_ext_d2i(x, NID_info_access, nullptr, nullptr));
        for (int i = 0; aia != nullptr && i < sk_ACCESS_DESCRIPTION_num(aia); ++i) {
            const ACCESS_DESCRIPTION* ad = sk_ACCESS_DESCRIPTION_value(aia, i);
            ocsp = ocsp || ::OBJ_obj2nid(ad->method) == NID_ad_OCSP;
        }
        ::AUTHORITY_INFO_ACCESS_free(aia);
        if (prof.aia_ocsp && !ocsp) {
            finding("ext.aia_ocsp.missing", "authorityInfoAccess names no OCSP responder");
        }
        if (prof.ocsp_no_check && ocsp) {
            finding("ext.aia_ocsp.on_responder",
                    "a responder with ocsp-nocheck must not name an OCSP responder for itself");
        }
        if (prof.crl_distribution_point && !has_extension(x, NID_crl_distribution_points, nullptr)) {
            finding("ext.crldp.missing", "cRLDistributionPoints is missing (RFC 5280 §4.2.1.13)");
        }
    }
    // No extension may appear twice (RFC 5280 §4.2).
    for (int i = 0; i < ::X509_get_ext_count(x); ++i) {
        const ASN1_OBJECT* obj = ::X509_EXTENSION_get_object(::X509_get_ext(x, i));
        if (::X509_get_ext_by_OBJ(x, obj, i) >= 0) {
            finding("ext.duplicate", fmt::format("extension {} appears twice", crypto::oid_text(obj)));
        }
    }
    crypto::clear_errors();
    return out;
}

const CertificateProfile* recognise_profile(const Certificate& cert) {
    X509* x = cert.x509();
    const ProfileCatalogue& catalogue = active_profiles();
    auto by_name = [&](std::string_view name) -> const CertificateProfile* {
        auto p = catalogue.find(name);
        return p ? *p : nullptr;
    };
    BASIC_CONSTRAINTS* bc = static_cast<BASIC_CONSTRAINTS*>(
        ::X509_get_ext_d2i(x, NID_basic_constraints, nullptr, nullptr));
    bool is_ca = bc != nullptr && bc->ca != 0;
    ::BASIC_CONSTRAINTS_free(bc);
    if (is_ca) {
        bool self_issued = name_der(::X509_get_issuer_name(x)) == name_der(::X509_get_subject_name(x));
        return by_name(self_issued ? kProfileRootCa : kProfileIssuingCa);
    }
    // The profile whose policies and key purposes are exactly the certificate's (the catalogue
    // refuses two profiles that share both) ...
    auto oids = policy_oids(x);
    auto ekus = eku_oids(x);
    crypto::clear_errors();
    for (const auto& p : catalogue.all()) {
        if (!p.ca && !p.policies.empty() && sorted(p.policies) == oids && profile_eku_oids(p) == ekus) {
            return &p;
        }
    }
    // ... else the one whose own policy (under Selo's arc) it carries, so that a certificate
    // that breaks the profile is still linted against it.
    auto has = [&](std::string_view oid) { return std::find(oids.begin(), oids.end(), oid) != oids.end(); };
    for (const auto& p : catalogue.all()) {
        if (p.ca) {
            continue;
        }
        bool own = std::any_of(p.policies.begin(), p.policies.end(), [&](const std::string& o) {
            return o.starts_with(kSeloOidArc) && o != kPolicyInfrastructure && has(o);
        });
        if (own) {
            return &p;
        }
    }
    if (has(kPolicyInfrastructure)) {
        std::uint32_t xku = ::X509_get_extended_key_usage(x);
        if ((xku & XKU_OCSP_SIGN) != 0) {
            return by_name(kProfileOcspResponder);
        }
        if ((xku & XKU_TIMESTAMP) != 0) {
            return by_name(kProfileTsa);
        }
        if ((xku & XKU_SSL_SERVER) != 0) {
            return by_name(kProfileTlsServer);
        }
    }
    return nullptr;
}

std::string describe(const std::vector<LintFinding>& findings) {
    std::string all;
    for (const auto& f : findings) {
        all += fmt::format("{}[{}] {}", all.empty() ? "" : "; ", f.rule, f.message);
    }
    return all;
}

std::vector<LintFinding> lint_crl(const X509_CRL* crl_in, const Certificate* issuer) {
    std::vector<LintFinding> out;
    auto finding = [&](std::string rule, std::string message) {
        out.push_back({std::move(rule), std::move(message)});
    };
    auto* crl = const_cast<X509_CRL*>(crl_in);
    if (::X509_CRL_get_version(crl) != X509_CRL_VERSION_2) {
        finding("crl.version", "a CRL with extensions must be version 2 (RFC 5280 §5.1.2.1)");
    }
    if (issuer != nullptr) {
        if (name_der(::X509_CRL_get_issuer(crl)) != name_der(::X509_get_subject_name(issuer->x509()))) {
            finding("crl.issuer_mismatch", "CRL issuer is not byte-identical to the CA's subject DN");
        }
        if ((::X509_get_key_usage(issuer->x509()) & KU_CRL_SIGN) == 0) {
            finding("crl.issuer_no_crl_sign", "the issuer's keyUsage lacks cRLSign");
        }
    }
    const ASN1_TIME* last = ::X509_CRL_get0_lastUpdate(crl);
    const ASN1_TIME* next = ::X509_CRL_get0_nextUpdate(crl);
    if (last == nullptr || !time_encoding_ok(last)) {
        finding("crl.this_update.encoding", "thisUpdate must be UTCTime through 2049, GeneralizedTime after");
    }
    if (next == nullptr) {
        finding("crl.next_update.missing", "nextUpdate is missing (RFC 5280 §5.1.2.5 MUST)");
    } else {
        if (!time_encoding_ok(next)) {
            finding("crl.next_update.encoding",
                    "nextUpdate must be UTCTime through 2049, GeneralizedTime after");
        }
        if (last != nullptr && ::ASN1_TIME_compare(last, next) >= 0) {
            finding("crl.next_update.inverted", "nextUpdate is not after thisUpdate");
        }
    }
    int crit = 0;
    auto* number = static_cast<ASN1_INTEGER*>(::X509_CRL_get_ext_d2i(crl, NID_crl_number, &crit, nullptr));
    if (number == nullptr) {
        finding("crl.number.missing", "cRLNumber is missing (RFC 5280 §5.2.3 MUST)");
    } else {
        if (::ASN1_STRING_type(number) == V_ASN1_NEG_INTEGER || ::ASN1_STRING_length(number) > 20) {
            finding("crl.number.range", "cRLNumber must be non-negative and at most 20 octets");
        }
        if (crit != 0) {
            finding("crl.number.critical", "cRLNumber must be non-critical");
        }
        ::ASN1_INTEGER_free(number);
    }
    auto* akid = static_cast<AUTHORITY_KEYID*>(
        ::X509_CRL_get_ext_d2i(crl, NID_authority_key_identifier, &crit, nullptr));
    if (akid == nullptr || akid->keyid == nullptr) {
        finding("crl.aki.missing", "authorityKeyIdentifier is missing (RFC 5280 §5.2.1 MUST)");
    } else if (issuer != nullptr) {
        const ASN1_OCTET_STRING* skid = ::X509_get0_subject_key_id(issuer->x509());
        if (skid == nullptr || ::ASN1_OCTET_STRING_cmp(akid->keyid, skid) != 0) {
            finding("crl.aki.mismatch", "authorityKeyIdentifier does not match the issuer's key");
        }
    }
    ::AUTHORITY_KEYID_free(akid);
    STACK_OF(X509_REVOKED)* revoked = ::X509_CRL_get_REVOKED(crl);
    int bad_serial = 0;
    int bad_reason = 0;
    int bad_time = 0;
    for (int i = 0; i < sk_X509_REVOKED_num(revoked); ++i) {
        X509_REVOKED* r = sk_X509_REVOKED_value(revoked, i);
        const ASN1_INTEGER* serial = ::X509_REVOKED_get0_serialNumber(r);
        if (::ASN1_STRING_type(serial) == V_ASN1_NEG_INTEGER || ::ASN1_STRING_length(serial) > 20) {
            ++bad_serial;
        }
        const ASN1_TIME* when = ::X509_REVOKED_get0_revocationDate(r);
        if (!time_encoding_ok(when) || (last != nullptr && ::ASN1_TIME_compare(when, last) > 0)) {
            ++bad_time;
        }
        auto* reason = static_cast<ASN1_ENUMERATED*>(
            ::X509_REVOKED_get_ext_d2i(r, NID_crl_reason, &crit, nullptr));
        if (reason != nullptr) {
            long v = ::ASN1_ENUMERATED_get(reason);
            // RFC 5280 §5.3.1: 7 is unused, unspecified SHOULD be absent, removeFromCRL only
            // in delta CRLs.
            if (v < 1 || v > 10 || v == 7 || v == 8 || crit != 0) {
                ++bad_reason;
            }
            ::ASN1_ENUMERATED_free(reason);
        }
    }
    if (bad_serial > 0) {
        finding("crl.entry.serial", fmt::format("{} entries have a negative or over-long serial", bad_serial));
    }
    if (bad_time > 0) {
        finding("crl.entry.time", fmt::format("{} entries have a badly encoded or future revocationDate", bad_time));
    }
    if (bad_reason > 0) {
        finding("crl.entry.reason", fmt::format("{} entries have a reasonCode a full CRL must not carry", bad_reason));
    }
    crypto::clear_errors();
    return out;
}

std::vector<LintFinding> lint_ocsp_response(OCSP_BASICRESP* bs, const Certificate& signer,
                                            const Certificate& ca, TimePoint now) {
    std::vector<LintFinding> out;
    auto finding = [&](std::string rule, std::string message) {
        out.push_back({std::move(rule), std::move(message)});
    };
    const std::time_t now_t = std::chrono::system_clock::to_time_t(now);
    int count = ::OCSP_resp_count(bs);
    if (count <= 0) {
        finding("ocsp.no_responses", "a BasicOCSPResponse needs at least one SingleResponse");
    }
    for (int i = 0; i < count; ++i) {
        OCSP_SINGLERESP* single = ::OCSP_resp_get0(bs, i);
        int reason = 0;
        ASN1_GENERALIZEDTIME* revtime = nullptr;
        ASN1_GENERALIZEDTIME* thisupd = nullptr;
        ASN1_GENERALIZEDTIME* nextupd = nullptr;
        int status = ::OCSP_single_get0_status(single, &reason, &revtime, &thisupd, &nextupd);
        if (thisupd == nullptr || ::X509_cmp_time(thisupd, const_cast<std::time_t*>(&now_t)) > 0) {
            finding("ocsp.this_update", "thisUpdate is missing or in the future");
        }
        // RFC 5019 §2.2.4: nextUpdate is required, so that responses can be cached.
        if (nextupd == nullptr) {
            finding("ocsp.next_update.missing", "nextUpdate is missing (RFC 5019 §2.2.4)");
        } else if (thisupd != nullptr && ::ASN1_TIME_compare(thisupd, nextupd) >= 0) {
            finding("ocsp.next_update.inverted", "nextUpdate is not after thisUpdate");
        }
        if (status == V_OCSP_CERTSTATUS_REVOKED && revtime == nullptr) {
            finding("ocsp.revoked.time", "a revoked answer needs its revocationTime");
        }
    }
    // RFC 6960 §4.2.2.2: the CA itself, or a responder certificate the CA issued with
    // id-kp-OCSPSigning. ocsp-nocheck, since relying parties cannot check it otherwise.
    X509* s = signer.x509();
    bool is_ca = ::X509_cmp(s, ca.x509()) == 0;
    if (!is_ca) {
        if (name_der(::X509_get_issuer_name(s)) != name_der(::X509_get_subject_name(ca.x509())) ||
            ::X509_check_issued(ca.x509(), s) != X509_V_OK) {
            finding("ocsp.signer.not_issued_by_ca", "the responder certificate is not issued by the CA");
        }
        if ((::X509_get_extended_key_usage(s) & XKU_OCSP_SIGN) == 0 ||
            !has_extension(s, NID_ext_key_usage, nullptr)) {
            finding("ocsp.signer.eku", "the responder certificate lacks id-kp-OCSPSigning");
        }
        if (!has_extension(s, NID_id_pkix_OCSP_noCheck, nullptr)) {
            finding("ocsp.signer.nocheck", "the responder certificate lacks id-pkix-ocsp-nocheck");
        }
    }
    if ((::X509_get_key_usage(s) & KU_DIGITAL_SIGNATURE) == 0) {
        finding("ocsp.signer.key_usage", "the signer's keyUsage lacks digitalSignature");
    }
    if (::X509_cmp_time(::X509_get0_notBefore(s), const_cast<std::time_t*>(&now_t)) > 0 ||
        ::X509_cmp_time(::X509_get0_notAfter(s), const_cast<std::time_t*>(&now_t)) < 0) {
        finding("ocsp.signer.validity", "the signer's certificate is not valid now");
    }
    crypto::clear_errors();
    return out;
}

}  // namespace selo::pki
