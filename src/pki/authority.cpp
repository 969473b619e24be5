#include "pki/authority.hpp"

#include <openssl/conf.h>
#include <openssl/objects.h>

#include <algorithm>

#include "core/log.hpp"
#include "pki/lint.hpp"

namespace selo::pki {
namespace {

using namespace selo::crypto;

const EVP_MD* ca_digest(EVP_PKEY* key) {
    // Match the hash to the key's strength (NIST SP 800-57): SHA-384 for P-384, else SHA-256.
    if (::EVP_PKEY_get_base_id(key) == EVP_PKEY_EC && ::EVP_PKEY_get_bits(key) >= 384) {
        return ::EVP_sha384();
    }
    return ::EVP_sha256();
}

Result<void> add_ext(X509* cert, CONF* conf, X509V3_CTX* ctx, int nid, const std::string& value) {
    X509ExtensionPtr ext(::X509V3_EXT_nconf_nid(conf, ctx, nid, value.c_str()));
    if (!ext) {
        return openssl_fail(fmt::format("building extension {} = {}", ::OBJ_nid2sn(nid), value));
    }
    if (::X509_add_ext(cert, ext.get(), -1) != 1) {
        return openssl_fail("adding extension");
    }
    return {};
}

// A positive serial of 16 octets from the CSPRNG: the top bit is cleared (positive) and the
// next one set, so the DER encoding is always exactly 16 octets with 126 random bits.
Asn1IntegerPtr random_serial(Rng& rng) {
    Bytes b = rng.bytes(16);
    b[0] = static_cast<std::uint8_t>((b[0] & 0x7f) | 0x40);
    BignumPtr bn(::BN_bin2bn(b.data(), static_cast<int>(b.size()), nullptr));
    return Asn1IntegerPtr(::BN_to_ASN1_INTEGER(bn.get(), nullptr));
}

struct TbsInput {
    const CertificateProfile* profile;
    X509_NAME* subject;
    EVP_PKEY* public_key;
    const Certificate* issuer;  // null: self-signed
    TimePoint not_before;
    TimePoint not_after;
    std::string issuer_url;     // AIA caIssuers; empty: none
    std::vector<std::string> dns_names;
    std::vector<std::string> ip_addresses;
};

Result<X509Ptr> build_certificate(const TbsInput& in, ASN1_INTEGER* serial) {
    X509Ptr cert(::X509_new());
    if (!cert || ::X509_set_version(cert.get(), X509_VERSION_3) != 1 ||
        ::X509_set_serialNumber(cert.get(), serial) != 1 ||
        ::X509_set_subject_name(cert.get(), in.subject) != 1 ||
        ::X509_set_pubkey(cert.get(), in.public_key) != 1) {
        return openssl_fail("building certificate");
    }
    X509_NAME* issuer_name =
        in.issuer != nullptr ? ::X509_get_subject_name(in.issuer->x509()) : in.subject;
    if (::X509_set_issuer_name(cert.get(), issuer_name) != 1) {
        return openssl_fail("setting issuer");
    }
    // ASN1_TIME_set picks UTCTime through 2049 and GeneralizedTime from 2050 (RFC 5280 §4.1.2.5).
    Asn1TimePtr nb(::ASN1_TIME_set(nullptr, std::chrono::system_clock::to_time_t(in.not_before)));
    Asn1TimePtr na(::ASN1_TIME_set(nullptr, std::chrono::system_clock::to_time_t(in.not_after)));
    if (!nb || !na || ::X509_set1_notBefore(cert.get(), nb.get()) != 1 ||
        ::X509_set1_notAfter(cert.get(), na.get()) != 1) {
        return openssl_fail("setting validity");
    }
    X509V3_CTX ctx;
    ::X509V3_set_ctx(&ctx, in.issuer != nullptr ? in.issuer->x509() : cert.get(), cert.get(),
                     nullptr, nullptr, 0);
    // Extensions parsed by r2i methods (certificatePolicies) insist on a configuration
    // database even when they need no section from it: give them an empty one.
    std::unique_ptr<CONF, Free<&::NCONF_free>> conf(::NCONF_new(nullptr));
    ::X509V3_set_nconf(&ctx, conf.get());
    const CertificateProfile& p = *in.profile;
    std::string bc = p.ca ? (p.path_length ? fmt::format("critical,CA:TRUE,pathlen:{}", *p.path_length)
                                           : std::string("critical,CA:TRUE"))
                          : std::string("critical,CA:FALSE");
    SELO_TRY_VOID(add_ext(cert.get(), conf.get(), &ctx, NID_basic_constraints, bc));
    SELO_TRY_VOID(add_ext(cert.get(), conf.get(), &ctx, NID_key_usage, p.key_usage));
    if (!p.extended_key_usage.empty()) {
        SELO_TRY_VOID(add_ext(cert.get(), conf.get(), &ctx, NID_ext_key_usage,
                              (p.extended_key_usage_critical ? "critical," : "") + p.extended_key_usage));
    }
    SELO_TRY_VOID(add_ext(cert.get(), conf.get(), &ctx, NID_subject_key_identifier, "hash"));
    SELO_TRY_VOID(add_ext(cert.get(), conf.get(), &ctx, NID_authority_key_identifier, "keyid:always"));
    if (!p.policies.empty()) {
        std::string list;
        for (const auto& oid : p.policies) {
            list += (list.empty() ? "" : ",") + oid;
        }
        SELO_TRY_VOID(add_ext(cert.get(), conf.get(), &ctx, NID_certificate_policies, list));
    }
    if (p.aia_ca_issuers && !in.issuer_url.empty()) {
        SELO_TRY_VOID(add_ext(cert.get(), conf.get(), &ctx, NID_info_access, "caIssuers;URI:" + in.issuer_url));
    }
    if (p.ocsp_no_check) {
        // RFC 6960 §4.2.2.2.1: the extension's value is NULL; OpenSSL's syntax wants any word.
        SELO_TRY_VOID(add_ext(cert.get(), conf.get(), &ctx, NID_id_pkix_OCSP_noCheck, "ignored"));
    }
    if (!in.dns_names.empty() || !in.ip_addresses.empty()) {
        std::string san;
        for (const auto& d : in.dns_names) {
            san += (san.empty() ? "" : ",") + ("DNS:" + d);
        }
        for (const auto& ip : in.ip_addresses) {
            san += (san.empty() ? "" : ",") + ("IP:" + ip);
        }
        SELO_TRY_VOID(add_ext(cert.get(), conf.get(), &ctx, NID_subject_alt_name, san));
    } else if (p.subject_alt_names) {
        return fail(ErrorCode::invalid_argument, "profile {} needs at least one DNS name or IP address",
                    p.name);
    }
    return cert;
}

// The key that signs the lint copy: the same algorithm as the CA key, so the encoding the
// linter sees differs from the final one only in the signature value.
Result<EvpPkeyPtr> lint_key_like(EVP_PKEY* ca_key) {
    if (::EVP_PKEY_get_base_id(ca_key) == EVP_PKEY_EC) {
        return generate_key(::EVP_PKEY_get_bits(ca_key) >= 384 ? KeyType::ec_p384 : KeyType::ec_p256);
    }
    return generate_key(KeyType::rsa_2048);
}

Result<Certificate> lint_and_sign(X509* cert, EVP_PKEY* ca_key, const CertificateProfile& prof,
                                  const Certificate* issuer) {
    // Sign with the throwaway key first; signing again with the CA key below replaces only the
    // signature, since both keys have the same algorithm and digest.
    auto lint_key = SELO_TRY(lint_key_like(ca_key));
    if (::X509_sign(cert, lint_key.get(), ca_digest(ca_key)) <= 0) {
        return openssl_fail("signing lint copy");
    }
    auto parsed = SELO_TRY(Certificate::from_x509(cert));
    auto findings = lint_certificate(parsed, prof, issuer);
    if (!findings.empty()) {
        std::string all;
        for (const auto& f : findings) {
            all += fmt::format("{}[{}] {}", all.empty() ? "" : "; ", f.rule, f.message);
        }
        return fail(ErrorCode::invalid_argument, "certificate refused by lint: {}", all);
    }
    if (::X509_sign(cert, ca_key, ca_digest(ca_key)) <= 0) {
        return openssl_fail("signing certificate");
    }
    return Certificate::from_x509(cert);
}

TimePoint whole_seconds(TimePoint t) { return std::chrono::floor<std::chrono::seconds>(t); }

}  // namespace

std::string ca_certificate_url(std::string_view public_url, std::string_view name) {
    std::string base(public_url);
    while (!base.empty() && base.back() == '/') {
        base.pop_back();
    }
    return fmt::format("{}/ca/{}.crt", base, name);
}

Result<CertificateAuthority> CertificateAuthority::load(const CaRecord& record, CaContext context,
                                                        std::vector<std::string> profiles) {
    auto cert = SELO_TRY(Certificate::from_der(record.certificate_der));
    for (const auto& p : profiles) {
        SELO_TRY(find_profile(p));
    }
    return CertificateAuthority(record.name, record.key_id, std::move(cert), std::move(context),
                                std::move(profiles));
}

std::string CertificateAuthority::certificate_url() const {
    return ca_certificate_url(ctx_.public_url, name_);
}

Result<Certificate> CertificateAuthority::issue(const IssuanceRequest& request) {
    if (request.public_key == nullptr) {
        return fail(ErrorCode::invalid_argument, "issuance request has no public key");
    }
    const CertificateProfile& prof = *SELO_TRY(find_profile(request.profile));
    if (std::find(profiles_.begin(), profiles_.end(), prof.name) == profiles_.end()) {
        return fail(ErrorCode::forbidden, "CA '{}' does not issue {} certificates", name_, prof.name);
    }
    auto subject = SELO_TRY(request.subject.to_x509_name());
    auto ca_key = SELO_TRY(ctx_.keys.signing_key(key_id_));
    // Backdate slightly so that a relying party whose clock lags a little still accepts it.
    TimePoint now = whole_seconds(ctx_.clock.now());
    TimePoint not_before = now - std::chrono::minutes(5);
    TimePoint not_after = now + (request.validity ? *request.validity
                                                  : std::chrono::duration_cast<std::chrono::seconds>(prof.validity));
    if (not_after > certificate_.not_after()) {
        return fail(ErrorCode::conflict,
                    "CA '{}' expires before the requested validity ends; renew the CA first", name_);
    }
    TbsInput in{&prof,          subject.get(),     request.public_key,
                &certificate_,  not_before,        not_after,
                certificate_url(), request.dns_names, request.ip_addresses};
    // A repeated serial is refused by the repository (unique per issuer); draw again then.
    for (int attempt = 0; attempt < 4; ++attempt) {
        auto serial = random_serial(ctx_.rng);
        auto tbs = SELO_TRY(build_certificate(in, serial.get()));
        auto cert = SELO_TRY(lint_and_sign(tbs.get(), ca_key.get(), prof, &certificate_));
        CertificateRecord rec{name_,          cert.serial_hex(), cert.subject(),
                              prof.name,      cert.not_before(), cert.not_after(),
                              cert.der(),     ctx_.clock.now(),  "valid"};
        auto stored = ctx_.certificates.insert(rec);
        if (stored) {
            log::info("ca {}: issued {} serial {} to {}", name_, prof.name, rec.serial_hex,
                      rec.subject);
            return cert;
        }
        if (stored.error().code != ErrorCode::conflict) {
            return std::unexpected(stored.error().context("recording certificate"));
        }
    }
    return fail(ErrorCode::internal, "could not draw a unique serial number");
}

std::vector<AuthoritySpec> default_authorities(std::string_view organization) {
    std::string org(organization);
    return {
        {std::string(kRootCaName), "root", "", org + " Root CA", KeyType::ec_p384, {}},
        {std::string(kNaturalPersonsCaName), "issuing", std::string(kRootCaName),
         org + " Natural Persons CA", KeyType::ec_p384,
         {std::string(kProfileNaturalPersonSigning), std::string(kProfileNaturalPersonAuthentication)}},
        {std::string(kInstitutionsCaName), "issuing", std::string(kRootCaName),
         org + " Institutions CA", KeyType::ec_p384,
         {std::string(kProfileLegalPersonSeal), std::string(kProfileGovernmentEntitySigning)}},
        {std::string(kInfrastructureCaName), "issuing", std::string(kRootCaName),
         org + " Infrastructure CA", KeyType::ec_p384,
         {std::string(kProfileOcspResponder), std::string(kProfileTsa), std::string(kProfileTlsServer)}},
    };
}

namespace {

Result<Certificate> create_root(const HierarchySpec& spec, const AuthoritySpec& a,
                                crypto::KeyStore& keys, const std::string& key_id,
                                const Clock& clock, Rng& rng) {
    TimePoint now = whole_seconds(clock.now());
    SELO_TRY(keys.generate(key_id, a.key));
    auto key = SELO_TRY(keys.signing_key(key_id));
    DistinguishedName dn;
    dn.add(NID_countryName, spec.country)
        .add(NID_organizationName, spec.organization)
        .add(NID_commonName, a.common_name);
    auto name = SELO_TRY(dn.to_x509_name());
    const CertificateProfile& prof = *SELO_TRY(find_profile(kProfileRootCa));
    TbsInput in{&prof, name.get(), key.get(), nullptr, now - std::chrono::minutes(5),
                now + prof.validity, "", {}, {}};
    auto serial = random_serial(rng);
    auto tbs = SELO_TRY(build_certificate(in, serial.get()));
    return lint_and_sign(tbs.get(), key.get(), prof, nullptr);
}

}  // namespace

Result<void> ensure_hierarchy(const HierarchySpec& spec, crypto::KeyStore& keys, CaRepository& cas,
                              CertificateRepository& certificates, const Clock& clock, Rng& rng) {
    for (const auto& a : spec.authorities) {
        if (SELO_TRY(cas.find(a.name))) {
            continue;
        }
        const std::string key_id = fmt::format("ca/{}/1", a.name);
        if (a.role == "root") {
            // Self-signed, linted against the root profile like any other certificate.
            auto cert = SELO_TRY(create_root(spec, a, keys, key_id, clock, rng));
            const CertificateProfile& prof = *SELO_TRY(find_profile(kProfileRootCa));
            SELO_TRY_VOID(certificates.insert({a.name, cert.serial_hex(), cert.subject(), prof.name,
                                               cert.not_before(), cert.not_after(), cert.der(),
                                               clock.now(), "valid"}));
            SELO_TRY_VOID(cas.insert({a.name, "root", std::nullopt, key_id, cert.der(), clock.now()}));
            log::info("ca {}: created root {}", a.name, cert.subject());
            continue;
        }
        if (a.role != "issuing") {
            return fail(ErrorCode::invalid_argument, "CA '{}' has role '{}' (root or issuing)", a.name, a.role);
        }
        auto parent = SELO_TRY(cas.find(a.parent));
        if (!parent) {
            return fail(ErrorCode::invalid_argument,
                        "CA '{}' names parent '{}', which is not created before it", a.name, a.parent);
        }
        // Certified by its parent through the ordinary issue() path.
        auto parent_ca = SELO_TRY(CertificateAuthority::load(
            *parent, CaContext{keys, certificates, clock, rng, spec.public_url},
            {std::string(kProfileIssuingCa)}));
        auto info = SELO_TRY(keys.generate(key_id, a.key));
        auto pub = SELO_TRY(public_key_from_der(info.public_key_der));
        DistinguishedName dn;
        dn.add(NID_countryName, spec.country)
            .add(NID_organizationName, spec.organization)
            .add(NID_commonName, a.common_name);
        auto cert = SELO_TRY(parent_ca.issue({std::string(kProfileIssuingCa), dn, pub.get(), std::nullopt, {}, {}}));
        SELO_TRY_VOID(cas.insert({a.name, "issuing", a.parent, key_id, cert.der(), clock.now()}));
        log::info("ca {}: created, certified by {}", a.name, a.parent);
    }
    return {};
}

}  // namespace selo::pki
