#include "pki/lint.hpp"

#include <openssl/objects.h>

#include "crypto/keys.hpp"
#include "pki/name.hpp"

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
    if ((prof.name == kProfileNaturalPersonSigning || prof.name == kProfileLegalPersonSeal ||
         prof.name == kProfileGovernmentEntitySigning) &&
        (ku & KU_NON_REPUDIATION) == 0) {
        finding("ext.key_usage.non_repudiation",
                "a signing certificate with legal effect needs nonRepudiation");
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
        }
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

}  // namespace selo::pki
