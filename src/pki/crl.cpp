#include "pki/crl.hpp"

#include <openssl/x509v3.h>

#include <algorithm>
#include <cstdio>
#include <ctime>

#include "core/log.hpp"
#include "pki/authority.hpp"
#include "pki/lint.hpp"
#include "pki/revocation.hpp"

namespace selo::pki {
namespace {

using namespace selo::crypto;
using X509CrlPtr = std::unique_ptr<X509_CRL, Free<&::X509_CRL_free>>;

const EVP_MD* crl_digest(EVP_PKEY* key) {
    if (::EVP_PKEY_get_base_id(key) == EVP_PKEY_EC && ::EVP_PKEY_get_bits(key) >= 384) {
        return ::EVP_sha384();
    }
    return ::EVP_sha256();
}

// DER, written directly: a CRL of 100,000 entries is assembled in a few milliseconds this way,
// where building an X509_CRL object entry by entry and encoding it through OpenSSL's templates
// took seconds. OpenSSL still parses the result for the linter, and signs it.
void der_length(Bytes& out, std::size_t n) {
    if (n < 0x80) {
        out.push_back(static_cast<std::uint8_t>(n));
        return;
    }
    std::uint8_t buf[sizeof(std::size_t)];
    int len = 0;
    for (std::size_t v = n; v != 0; v >>= 8) {
        buf[len++] = static_cast<std::uint8_t>(v & 0xff);
    }
    out.push_back(static_cast<std::uint8_t>(0x80 | len));
    while (len > 0) {
        out.push_back(buf[--len]);
    }
}

void der_tlv(Bytes& out, std::uint8_t tag, ByteView content) {
    out.push_back(tag);
    der_length(out, content.size());
    out.insert(out.end(), content.begin(), content.end());
}

// A positive INTEGER's content octets from the stored magnitude (lower-case hex).
Result<Bytes> serial_octets(std::string_view hex) {
    std::string even = hex.size() % 2 == 1 ? "0" + std::string(hex) : std::string(hex);
    auto raw = hex_decode(even);
    if (!raw || raw->empty()) {
        return fail(ErrorCode::internal, "stored serial '{}' is not hex", hex);
    }
    Bytes& b = *raw;
    std::size_t skip = 0;
    while (skip + 1 < b.size() && b[skip] == 0) {
        ++skip;
    }
    Bytes out;
    out.reserve(b.size() - skip + 1);
    if ((b[skip] & 0x80) != 0) {
        out.push_back(0);  // keep it positive (X.690 §8.3)
    }
    out.insert(out.end(), b.begin() + static_cast<std::ptrdiff_t>(skip), b.end());
    return out;
}

// RFC 5280 §5.1.2.4/§4.1.2.5: UTCTime through 2049, GeneralizedTime from 2050.
Result<void> der_time(Bytes& out, TimePoint t) {
    const std::time_t tt = std::chrono::system_clock::to_time_t(t);
    std::tm tm{};
    if (::gmtime_r(&tt, &tm) == nullptr) {
        return fail(ErrorCode::internal, "time out of range");
    }
    const int year = tm.tm_year + 1900;
    char buf[32];
    int n = 0;
    std::uint8_t tag = 0;
    if (year >= 1950 && year <= 2049) {
        tag = V_ASN1_UTCTIME;
        n = std::snprintf(buf, sizeof buf, "%02d%02d%02d%02d%02d%02dZ", year % 100, tm.tm_mon + 1,
                          tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
    } else if (year >= 0 && year <= 9999) {
        tag = V_ASN1_GENERALIZEDTIME;
        n = std::snprintf(buf, sizeof buf, "%04d%02d%02d%02d%02d%02dZ", year, tm.tm_mon + 1,
                          tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
    } else {
        return fail(ErrorCode::internal, "year {} cannot be encoded", year);
    }
    der_tlv(out, tag, ByteView(reinterpret_cast<const std::uint8_t*>(buf), static_cast<std::size_t>(n)));
    return {};
}

// The signatureAlgorithm for `key` with `md` (no parameters for ECDSA, NULL for RSA PKCS#1).
Result<Bytes> algorithm_der(EVP_PKEY* key, const EVP_MD* md) {
    const int base = ::EVP_PKEY_get_base_id(key);
    int sig_nid = NID_undef;
    if ((base != EVP_PKEY_EC && base != EVP_PKEY_RSA) ||
        ::OBJ_find_sigid_by_algs(&sig_nid, ::EVP_MD_get_type(md), base) != 1) {
        return fail(ErrorCode::internal, "CRLs are signed with EC or RSA keys only");
    }
    std::unique_ptr<X509_ALGOR, Free<&::X509_ALGOR_free>> alg(::X509_ALGOR_new());
    if (!alg || ::X509_ALGOR_set0(alg.get(), ::OBJ_nid2obj(sig_nid),
                                  base == EVP_PKEY_RSA ? V_ASN1_NULL : V_ASN1_UNDEF, nullptr) != 1) {
        return openssl_fail("encoding signature algorithm");
    }
    unsigned char* out = nullptr;
    int len = ::i2d_X509_ALGOR(alg.get(), &out);
    if (len <= 0) {
        return openssl_fail("encoding signature algorithm");
    }
    Bytes der(out, out + len);
    ::OPENSSL_free(out);
    return der;
}

struct EncodedEntry {
    Bytes serial;  // INTEGER content octets
    std::size_t index;
};

// The TBSCertList (RFC 5280 §5.1), entries in ascending serial order as X509_CRL_sort left them.
Result<Bytes> build_tbs(const Certificate& ca, const CrlContent& c, ByteView algorithm) {
    const unsigned char* name_der = nullptr;
    std::size_t name_len = 0;
    if (::X509_NAME_get0_der(::X509_get_subject_name(ca.x509()), &name_der, &name_len) != 1) {
        return openssl_fail("reading CA name");
    }
    const ASN1_OCTET_STRING* skid = ::X509_get0_subject_key_id(ca.x509());
    if (skid == nullptr) {
        return fail(ErrorCode::internal, "the CA certificate has no subjectKeyIdentifier");
    }
    std::vector<EncodedEntry> order;
    order.reserve(c.entries.size());
    for (std::size_t i = 0; i < c.entries.size(); ++i) {
        order.push_back({SELO_TRY(serial_octets(c.entries[i].serial_hex)), i});
    }
    std::sort(order.begin(), order.end(), [](const EncodedEntry& a, const EncodedEntry& b) {
        if (a.serial.size() != b.serial.size()) {
            return a.serial.size() < b.serial.size();
        }
        return a.serial < b.serial;
    });
    Bytes revoked;
    revoked.reserve(c.entries.size() * 50);
    Bytes entry;
    for (const auto& o : order) {
        const RevokedEntry& e = c.entries[o.index];
        entry.clear();
        der_tlv(entry, V_ASN1_INTEGER, o.serial);
        SELO_TRY_VOID(der_time(entry, e.revoked_at));
        // RFC 5280 §5.3.1: the reasonCode "unspecified" SHOULD be absent.
        if (e.reason != static_cast<int>(RevocationReason::unspecified)) {
            if (e.reason < 0 || e.reason > 127) {
                return fail(ErrorCode::internal, "revocation reason {} out of range", e.reason);
            }
            // Extensions ::= SEQUENCE { Extension { id-ce-cRLReasons, OCTET STRING { ENUMERATED } } }
            const std::uint8_t ext[] = {0x30, 0x0c, 0x30, 0x0a, 0x06, 0x03, 0x55, 0x1d, 0x15, 0x04,
                                        0x03, 0x0a, 0x01, static_cast<std::uint8_t>(e.reason)};
            entry.insert(entry.end(), std::begin(ext), std::end(ext));
        }
        der_tlv(revoked, V_ASN1_SEQUENCE | V_ASN1_CONSTRUCTED, entry);
    }
    // RFC 5280 §5.2.1 and §5.2.3: authorityKeyIdentifier and cRLNumber, both non-critical.
    Bytes keyid;
    der_tlv(keyid, 0x80, ByteView(::ASN1_STRING_get0_data(skid), static_cast<std::size_t>(::ASN1_STRING_length(skid))));
    Bytes aki_value;
    der_tlv(aki_value, 0x30, keyid);
    Bytes number_octets;
    for (std::uint64_t v = static_cast<std::uint64_t>(c.number); v != 0; v >>= 8) {
        number_octets.insert(number_octets.begin(), static_cast<std::uint8_t>(v & 0xff));
    }
    if (number_octets.empty() || (number_octets[0] & 0x80) != 0) {
        number_octets.insert(number_octets.begin(), 0);
    }
    if (c.number < 0) {
        return fail(ErrorCode::internal, "negative CRL number");
    }
    Bytes number_value;
    der_tlv(number_value, V_ASN1_INTEGER, number_octets);
    Bytes ext_list;
    {
        const std::uint8_t aki_oid[] = {0x06, 0x03, 0x55, 0x1d, 0x23};
        const std::uint8_t num_oid[] = {0x06, 0x03, 0x55, 0x1d, 0x14};
        Bytes ext;
        ext.insert(ext.end(), std::begin(aki_oid), std::end(aki_oid));
        der_tlv(ext, V_ASN1_OCTET_STRING, aki_value);
        der_tlv(ext_list, 0x30, ext);
        ext.clear();
        ext.insert(ext.end(), std::begin(num_oid), std::end(num_oid));
        der_tlv(ext, V_ASN1_OCTET_STRING, number_value);
        der_tlv(ext_list, 0x30, ext);
    }
    Bytes extensions;
    der_tlv(extensions, 0x30, ext_list);
    Bytes body;
    body.reserve(revoked.size() + 512);
    // RFC 5280 §5.1.2.1: version 2 (INTEGER 1), since the CRL carries extensions.
    const std::uint8_t version[] = {0x02, 0x01, 0x01};
    body.insert(body.end(), std::begin(version), std::end(version));
    body.insert(body.end(), algorithm.begin(), algorithm.end());
    body.insert(body.end(), name_der, name_der + name_len);
    SELO_TRY_VOID(der_time(body, c.this_update));
    SELO_TRY_VOID(der_time(body, c.next_update));
    // When no certificate is revoked, the list MUST be absent (RFC 5280 §5.1.2.6).
    if (!revoked.empty()) {
        der_tlv(body, 0x30, revoked);
    }
    der_tlv(body, 0xa0, extensions);
    Bytes tbs;
    tbs.reserve(body.size() + 8);
    der_tlv(tbs, 0x30, body);
    return tbs;
}

// CertificateList ::= SEQUENCE { tbsCertList, signatureAlgorithm, signatureValue BIT STRING }
Bytes certificate_list(ByteView tbs, ByteView algorithm, ByteView signature) {
    Bytes bits;
    bits.reserve(signature.size() + 1);
    bits.push_back(0);  // no unused bits
    bits.insert(bits.end(), signature.begin(), signature.end());
    Bytes body;
    body.reserve(tbs.size() + algorithm.size() + bits.size() + 8);
    body.insert(body.end(), tbs.begin(), tbs.end());
    body.insert(body.end(), algorithm.begin(), algorithm.end());
    der_tlv(body, V_ASN1_BIT_STRING, bits);
    Bytes out;
    out.reserve(body.size() + 8);
    der_tlv(out, 0x30, body);
    return out;
}

}  // namespace

Result<Bytes> build_crl(const Certificate& ca, EVP_PKEY* ca_key, const CrlContent& content) {
    const EVP_MD* md = crl_digest(ca_key);
    const Bytes algorithm = SELO_TRY(algorithm_der(ca_key, md));
    const Bytes tbs = SELO_TRY(build_tbs(ca, content, algorithm));
    // Lint, then sign once: the linter reads the CRL parsed by OpenSSL from exactly the
    // tbsCertList octets that the signature will cover (with an empty signature value).
    {
        const Bytes unsigned_crl = certificate_list(tbs, algorithm, {});
        const unsigned char* p = unsigned_crl.data();
        X509CrlPtr parsed(::d2i_X509_CRL(nullptr, &p, static_cast<long>(unsigned_crl.size())));
        if (!parsed || p != unsigned_crl.data() + unsigned_crl.size()) {
            return openssl_fail("parsing the CRL before signing");
        }
        auto findings = lint_crl(parsed.get(), &ca);
        if (!findings.empty()) {
            return fail(ErrorCode::invalid_argument, "CRL refused by lint: {}", describe(findings));
        }
    }
    EvpMdCtxPtr mctx(::EVP_MD_CTX_new());
    std::size_t sig_len = 0;
    if (!mctx || ::EVP_DigestSignInit(mctx.get(), nullptr, md, nullptr, ca_key) != 1 ||
        ::EVP_DigestSign(mctx.get(), nullptr, &sig_len, tbs.data(), tbs.size()) != 1) {
        return openssl_fail("signing CRL");
    }
    Bytes sig(sig_len);
    if (::EVP_DigestSign(mctx.get(), sig.data(), &sig_len, tbs.data(), tbs.size()) != 1) {
        return openssl_fail("signing CRL");
    }
    sig.resize(sig_len);
    return certificate_list(tbs, algorithm, sig);
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

Result<ReceivedCrl> ReceivedCrl::read(ByteView der, Certificate issuer) {
    const unsigned char* p = der.data();
    crypto::X509CrlPtr crl(::d2i_X509_CRL(nullptr, &p, static_cast<long>(der.size())));
    if (!crl || p != der.data() + der.size()) {
        crypto::clear_errors();
        return fail(ErrorCode::invalid_argument, "not a DER certificate revocation list");
    }
    if (::X509_NAME_cmp(::X509_CRL_get_issuer(crl.get()), ::X509_get_subject_name(issuer.x509())) != 0) {
        return fail(ErrorCode::invalid_argument, "the CRL is issued by {}, not by {}",
                    name_to_string(::X509_CRL_get_issuer(crl.get())), issuer.subject());
    }
    EVP_PKEY* key = ::X509_get0_pubkey(issuer.x509());
    if (key == nullptr || ::X509_CRL_verify(crl.get(), key) != 1) {
        crypto::clear_errors();
        return fail(ErrorCode::invalid_argument, "the CRL of {} is not signed with its key", issuer.subject());
    }
    return ReceivedCrl(std::move(crl), std::move(issuer));
}

TimePoint ReceivedCrl::next_update() const {
    const ASN1_TIME* t = ::X509_CRL_get0_nextUpdate(crl_.get());
    return t != nullptr ? asn1_time_to_timepoint(t) : TimePoint::max();
}

Result<CertificateStatus> ReceivedCrl::status(std::string_view serial_hex) const {
    BIGNUM* raw = nullptr;
    const std::string hex(serial_hex);
    if (hex.empty() || ::BN_hex2bn(&raw, hex.c_str()) != static_cast<int>(hex.size())) {
        ::BN_free(raw);
        return fail(ErrorCode::invalid_argument, "'{}' is not a hex serial number", serial_hex);
    }
    crypto::BignumPtr bn(raw);
    crypto::Asn1IntegerPtr serial(::BN_to_ASN1_INTEGER(bn.get(), nullptr));
    if (!serial) {
        return crypto::openssl_fail("serial number");
    }
    CertificateStatus out;
    X509_REVOKED* entry = nullptr;
    if (::X509_CRL_get0_by_serial(crl_.get(), &entry, serial.get()) != 1 || entry == nullptr) {
        return out;  // not listed (0), or listed as removeFromCRL (2): in force
    }
    out.revoked_at = asn1_time_to_timepoint(::X509_REVOKED_get0_revocationDate(entry));
    int critical = 0;
    std::unique_ptr<ASN1_ENUMERATED, crypto::Free<&::ASN1_ENUMERATED_free>> reason(
        static_cast<ASN1_ENUMERATED*>(::X509_REVOKED_get_ext_d2i(entry, NID_crl_reason, &critical, nullptr)));
    if (reason) {
        out.revocation_reason = static_cast<int>(::ASN1_ENUMERATED_get(reason.get()));
    }
    crypto::clear_errors();
    out.status = out.revocation_reason == static_cast<int>(RevocationReason::certificate_hold) ? std::string(kStatusSuspended)
                                                                                                 : std::string(kStatusRevoked);
    return out;
}

}  // namespace selo::pki
