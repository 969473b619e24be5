#include "pki/crl.hpp"

#include <openssl/x509v3.h>

#include "core/log.hpp"
#include "pki/authority.hpp"
#include "pki/lint.hpp"
#include "pki/revocation.hpp"

namespace selo::pki {
namespace {

using namespace selo::crypto;
using X509CrlPtr = std::unique_ptr<X509_CRL, Free<&::X509_CRL_free>>;
using X509RevokedPtr = std::unique_ptr<X509_REVOKED, Free<&::X509_REVOKED_free>>;
using AuthorityKeyIdPtr = std::unique_ptr<AUTHORITY_KEYID, Free<&::AUTHORITY_KEYID_free>>;
using Asn1EnumeratedPtr = std::unique_ptr<ASN1_ENUMERATED, Free<&::ASN1_ENUMERATED_free>>;

const EVP_MD* crl_digest(EVP_PKEY* key) {
    if (::EVP_PKEY_get_base_id(key) == EVP_PKEY_EC && ::EVP_PKEY_get_bits(key) >= 384) {
        return ::EVP_sha384();
    }
    return ::EVP_sha256();
}

Result<Asn1IntegerPtr> serial_from_hex(const std::string& hex) {
    BIGNUM* raw = nullptr;
    if (hex.empty() || ::BN_hex2bn(&raw, hex.c_str()) != static_cast<int>(hex.size())) {
        ::BN_free(raw);
        return fail(ErrorCode::internal, "stored serial '{}' is not hex", hex);
    }
    BignumPtr bn(raw);
    Asn1IntegerPtr out(::BN_to_ASN1_INTEGER(bn.get(), nullptr));
    if (!out) {
        return openssl_fail("encoding serial");
    }
    return out;
}

Result<X509CrlPtr> build_tbs(const Certificate& ca, const CrlContent& c) {
    X509CrlPtr crl(::X509_CRL_new());
    Asn1TimePtr last(::ASN1_TIME_set(nullptr, std::chrono::system_clock::to_time_t(c.this_update)));
    Asn1TimePtr next(::ASN1_TIME_set(nullptr, std::chrono::system_clock::to_time_t(c.next_update)));
    // RFC 5280 §5.1.2.1: version 2, since the CRL carries extensions.
    if (!crl || !last || !next || ::X509_CRL_set_version(crl.get(), X509_CRL_VERSION_2) != 1 ||
        ::X509_CRL_set_issuer_name(crl.get(), ::X509_get_subject_name(ca.x509())) != 1 ||
        ::X509_CRL_set1_lastUpdate(crl.get(), last.get()) != 1 ||
        ::X509_CRL_set1_nextUpdate(crl.get(), next.get()) != 1) {
        return openssl_fail("building CRL");
    }
    for (const auto& e : c.entries) {
        X509RevokedPtr rev(::X509_REVOKED_new());
        auto serial = SELO_TRY(serial_from_hex(e.serial_hex));
        Asn1TimePtr when(::ASN1_TIME_set(nullptr, std::chrono::system_clock::to_time_t(e.revoked_at)));
        if (!rev || !when || ::X509_REVOKED_set_serialNumber(rev.get(), serial.get()) != 1 ||
            ::X509_REVOKED_set_revocationDate(rev.get(), when.get()) != 1) {
            return openssl_fail("building CRL entry");
        }
        // RFC 5280 §5.3.1: the reasonCode "unspecified" SHOULD be absent.
        if (e.reason != static_cast<int>(RevocationReason::unspecified)) {
            Asn1EnumeratedPtr reason(::ASN1_ENUMERATED_new());
            if (!reason || ::ASN1_ENUMERATED_set(reason.get(), e.reason) != 1 ||
                ::X509_REVOKED_add1_ext_i2d(rev.get(), NID_crl_reason, reason.get(), 0, 0) != 1) {
                return openssl_fail("adding CRL entry reason");
            }
        }
        if (::X509_CRL_add0_revoked(crl.get(), rev.get()) != 1) {
            return openssl_fail("adding CRL entry");
        }
        rev.release();
    }
    // RFC 5280 §5.2.1 and §5.2.3: authorityKeyIdentifier and cRLNumber, both non-critical.
    AuthorityKeyIdPtr akid(::AUTHORITY_KEYID_new());
    const ASN1_OCTET_STRING* skid = ::X509_get0_subject_key_id(ca.x509());
    if (!akid || skid == nullptr) {
        return fail(ErrorCode::internal, "the CA certificate has no subjectKeyIdentifier");
    }
    akid->keyid = ::ASN1_OCTET_STRING_dup(skid);
    Asn1IntegerPtr number(::ASN1_INTEGER_new());
    if (akid->keyid == nullptr || !number || ::ASN1_INTEGER_set_int64(number.get(), c.number) != 1 ||
        ::X509_CRL_add1_ext_i2d(crl.get(), NID_authority_key_identifier, akid.get(), 0, 0) != 1 ||
        ::X509_CRL_add1_ext_i2d(crl.get(), NID_crl_number, number.get(), 0, 0) != 1) {
        return openssl_fail("adding CRL extensions");
    }
    if (::X509_CRL_sort(crl.get()) != 1) {
        return openssl_fail("sorting CRL");
    }
    return crl;
}

Result<Bytes> crl_der(X509_CRL* crl) {
    unsigned char* out = nullptr;
    int len = ::i2d_X509_CRL(crl, &out);
    if (len <= 0) {
        return openssl_fail("encoding CRL");
    }
    Bytes der(out, out + len);
    ::OPENSSL_free(out);
    return der;
}

}  // namespace

Result<Bytes> build_crl(const Certificate& ca, EVP_PKEY* ca_key, const CrlContent& content) {
    auto crl = SELO_TRY(build_tbs(ca, content));
    // Lint, then sign once: the linter reads the CRL exactly as it will be signed.
    auto findings = lint_crl(crl.get(), &ca);
    if (!findings.empty()) {
        return fail(ErrorCode::invalid_argument, "CRL refused by lint: {}", describe(findings));
    }
    if (::X509_CRL_sign(crl.get(), ca_key, crl_digest(ca_key)) <= 0) {
        return openssl_fail("signing CRL");
    }
    return crl_der(crl.get());
}

CrlPublisher::CrlPublisher(CertificateRepository& certificates, CrlRepository& crls,
                           crypto::KeyStore& keys, const Clock& clock, std::chrono::seconds validity)
    : certificates_(certificates), crls_(crls), keys_(keys), clock_(clock), validity_(validity) {}

void CrlPublisher::add(const CertificateAuthority& ca) {
    std::lock_guard lock(mutex_);
    cas_.insert_or_assign(ca.name(), Entry{ca.certificate(), ca.key_id(), std::nullopt});
}

bool CrlPublisher::fresh(const CrlRecord& crl, std::int64_t version) const {
    // A new CRL at half-time: relying parties that fetch one near nextUpdate still get one
    // that is valid for a while.
    return crl.status_version == version && clock_.now() < crl.this_update + validity_ / 2 &&
           clock_.now() >= crl.this_update - std::chrono::minutes(5);
}

Result<CrlRecord> CrlPublisher::current(std::string_view name) {
    std::lock_guard lock(mutex_);
    auto it = cas_.find(name);
    if (it == cas_.end()) {
        return fail(ErrorCode::not_found, "no CA named '{}'", name);
    }
    Entry& ca = it->second;
    const std::int64_t version = SELO_TRY(certificates_.status_version(name));
    if (ca.cached && fresh(*ca.cached, version)) {
        return *ca.cached;
    }
    auto latest = SELO_TRY(crls_.latest(name));
    if (latest && fresh(*latest, version)) {
        ca.cached = latest;
        return *latest;
    }
    for (int attempt = 0; attempt < 3; ++attempt) {
        CrlContent content;
        content.number = latest ? latest->number + 1 : 1;
        content.this_update = std::chrono::floor<std::chrono::seconds>(clock_.now());
        content.next_update = content.this_update + validity_;
        content.entries = SELO_TRY(certificates_.revoked(name));
        auto key = SELO_TRY(keys_.signing_key(ca.key_id));
        auto der = SELO_TRY(build_crl(ca.certificate, key.get(), content));
        CrlRecord rec{std::string(name), content.number, content.this_update, content.next_update,
                      version, std::move(der)};
        auto stored = crls_.insert(rec);
        if (stored) {
            log::info("ca {}: CRL {} with {} entries", name, rec.number, content.entries.size());
            ca.cached = rec;
            return rec;
        }
        if (stored.error().code != ErrorCode::conflict) {
            return std::unexpected(stored.error().context("publishing CRL"));
        }
        // Another process published this number first: take its CRL if it is current.
        latest = SELO_TRY(crls_.latest(name));
        if (latest && fresh(*latest, version)) {
            ca.cached = latest;
            return *latest;
        }
    }
    return fail(ErrorCode::unavailable, "could not publish a CRL for '{}'", name);
}

Result<void> CrlPublisher::refresh_all() {
    std::vector<std::string> names;
    {
        std::lock_guard lock(mutex_);
        for (const auto& [n, e] : cas_) {
            names.push_back(n);
        }
    }
    for (const auto& n : names) {
        SELO_TRY(current(n));
    }
    return {};
}

}  // namespace selo::pki
