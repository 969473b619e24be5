#include "tsa/authority.hpp"

#include <openssl/objects.h>
#include <openssl/rsa.h>
#include <openssl/ts.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cstring>

#include "crypto/keys.hpp"
#include "tsa/der.hpp"
#include "tsa/request.hpp"

namespace selo::tsa {
namespace {

using crypto::DigestAlgorithm;

constexpr std::string_view kOidSignedData = "1.2.840.113549.1.7.2";
constexpr std::string_view kOidTstInfo = "1.2.840.113549.1.9.16.1.4";
constexpr std::string_view kOidContentType = "1.2.840.113549.1.9.3";
constexpr std::string_view kOidMessageDigest = "1.2.840.113549.1.9.4";
constexpr std::string_view kOidSigningCertificateV2 = "1.2.840.113549.1.9.16.2.47";

// Longest nonce echoed (RFC 3161 sets no bound; 64 octets is far beyond any client's).
constexpr std::size_t kMaxNonceOctets = 64;

using TsReqPtr = std::unique_ptr<TS_REQ, crypto::Free<&::TS_REQ_free>>;

template <typename T, typename F>
Result<Bytes> encode(const T* obj, F i2d, std::string_view what) {
    int len = i2d(const_cast<T*>(obj), nullptr);
    if (len <= 0) {
        return crypto::openssl_fail(what);
    }
    Bytes out(static_cast<std::size_t>(len));
    unsigned char* p = out.data();
    i2d(const_cast<T*>(obj), &p);
    return out;
}

DigestAlgorithm digest_for(EVP_PKEY* key) {
    // Match the digest to the key (NIST SP 800-57): SHA-384 for P-384 and up, else SHA-256.
    if (::EVP_PKEY_get_base_id(key) == EVP_PKEY_EC && ::EVP_PKEY_get_bits(key) >= 384) {
        return DigestAlgorithm::sha384;
    }
    return DigestAlgorithm::sha256;
}

std::optional<DigestAlgorithm> imprint_algorithm(int nid) {
    switch (nid) {
        case NID_sha256: return DigestAlgorithm::sha256;
        case NID_sha384: return DigestAlgorithm::sha384;
        case NID_sha512: return DigestAlgorithm::sha512;
        default: return std::nullopt;
    }
}

// A refusal: TimeStampResp with status rejection (2), a reason and the failure bit.
TimeStampReply rejection(FailureInfo info, std::string text) {
    Bytes status = der::small_integer(2);
    Bytes free_text = der::sequence({der::tlv(der::kUtf8String, {as_bytes(text)})});
    Bytes bits = der::named_bit(static_cast<unsigned>(info));
    TimeStampReply r;
    r.der = der::sequence({der::sequence({status, free_text, bits})});
    r.failure = info;
    r.status_text = std::move(text);
    return r;
}

std::atomic<std::uint64_t> next_signer_id{1};

}  // namespace

// The signature over a digest with the unit's key. Each thread keeps an initialised context for
// the signer it last used, as `openssl speed` does: creating and initialising one per token
// (a provider fetch under a lock every thread shares) cost more than a quarter of the signature.
// The context holds its own reference to the key; a renewed signer has another id.
Result<std::size_t> TimeStampAuthority::sign_with(const Signer& signer, ByteView digest,
                                                  std::uint8_t* out) {
    thread_local std::uint64_t owner = 0;
    thread_local crypto::EvpPkeyCtxPtr ctx;
    if (owner != signer.id) {
        owner = 0;
        ctx.reset(::EVP_PKEY_CTX_new_from_pkey(nullptr, signer.key.get(), nullptr));
        if (!ctx || ::EVP_PKEY_sign_init(ctx.get()) != 1) {
            return crypto::openssl_fail("signature init");
        }
        if (::EVP_PKEY_get_base_id(signer.key.get()) == EVP_PKEY_RSA &&
            ::EVP_PKEY_CTX_set_rsa_padding(ctx.get(), RSA_PKCS1_PADDING) != 1) {
            return crypto::openssl_fail("RSA padding");
        }
        // With a signature digest set, RSA wraps the input in a DigestInfo; ECDSA checks size.
        if (::EVP_PKEY_CTX_set_signature_md(ctx.get(), crypto::evp_md(signer.digest)) != 1) {
            return crypto::openssl_fail("signature digest");
        }
        owner = signer.id;
    }
    std::size_t len = signer.signature_size;
    if (::EVP_PKEY_sign(ctx.get(), out, &len, digest.data(), digest.size()) != 1) {
        owner = 0;  // initialised afresh next time
        return crypto::openssl_fail("signing");
    }
    return len;
}

std::string_view failure_name(FailureInfo f) noexcept {
    switch (f) {
        case FailureInfo::bad_alg: return "badAlg";
        case FailureInfo::bad_request: return "badRequest";
        case FailureInfo::bad_data_format: return "badDataFormat";
        case FailureInfo::time_not_available: return "timeNotAvailable";
        case FailureInfo::unaccepted_policy: return "unacceptedPolicy";
        case FailureInfo::unaccepted_extension: return "unacceptedExtension";
        case FailureInfo::add_info_not_available: return "addInfoNotAvailable";
        case FailureInfo::system_failure: return "systemFailure";
    }
    return "unknown";
}

Result<std::shared_ptr<const TimeStampAuthority::Signer>> TimeStampAuthority::make_signer(
    pki::Certificate certificate, crypto::EvpPkeyPtr key, const std::vector<pki::Certificate>& chain) {
    if (!key) {
        return fail(ErrorCode::invalid_argument, "the TSA needs a signing key");
    }
    if (::X509_check_private_key(certificate.x509(), key.get()) != 1) {
        crypto::clear_errors();
        return fail(ErrorCode::invalid_argument, "the TSA key does not match its certificate");
    }
    // RFC 3161 §2.3: the certificate must be for time-stamping (one, critical, EKU).
    if ((::X509_get_extension_flags(certificate.x509()) & EXFLAG_XKUSAGE) == 0 ||
        ::X509_get_extended_key_usage(certificate.x509()) != XKU_TIMESTAMP) {
        return fail(ErrorCode::invalid_argument,
                    "the TSA certificate must carry extendedKeyUsage id-kp-timeStamping alone");
    }
    auto signer = std::make_shared<Signer>(Signer{.id = next_signer_id.fetch_add(1), .certificate = std::move(certificate)});
    signer->key = std::move(key);
    signer->digest = digest_for(signer->key.get());
    // EVP_PKEY_get_size: the largest signature the key makes (a DER ECDSA-Sig-Value varies).
    signer->signature_size = static_cast<std::size_t>(std::max(::EVP_PKEY_get_size(signer->key.get()), 0));
    if (signer->signature_size == 0) {
        return fail(ErrorCode::invalid_argument, "the TSA key has no signature size");
    }
    X509* cert = signer->certificate.x509();

    Bytes certs;
    certs.insert(certs.end(), signer->certificate.der().begin(), signer->certificate.der().end());
    for (const auto& c : chain) {
        certs.insert(certs.end(), c.der().begin(), c.der().end());
    }
    signer->certificates = der::tlv(0xa0, {certs});

    Bytes issuer = SELO_TRY(encode(::X509_get_issuer_name(cert), ::i2d_X509_NAME, "encoding the issuer"));
    Bytes serial = SELO_TRY(encode(::X509_get0_serialNumber(cert), ::i2d_ASN1_INTEGER, "encoding the serial"));
    signer->signer_identifier = der::sequence({issuer, serial});

    Bytes digest_oid = SELO_TRY(der::oid(crypto::digest_oid(signer->digest)));
    // RFC 5754 §2: SHA-2 AlgorithmIdentifiers carry no parameters.
    signer->digest_algorithm = der::sequence({digest_oid});
    auto sig_oid = SELO_TRY(crypto::signature_algorithm_oid(signer->key.get(), signer->digest));
    Bytes sig_oid_der = SELO_TRY(der::oid(sig_oid));
    if (::EVP_PKEY_get_base_id(signer->key.get()) == EVP_PKEY_RSA) {
        const std::uint8_t null[] = {der::kNull, 0};
        signer->signature_algorithm = der::sequence({sig_oid_der, null});
    } else {
        signer->signature_algorithm = der::sequence({sig_oid_der});
    }

    // RFC 5035 §5.4: ESSCertIDv2 { certHash (SHA-256, the default algorithm, so omitted),
    // issuerSerial { issuer GeneralNames { directoryName [4] }, serialNumber } }.
    Bytes cert_hash = crypto::sha256(signer->certificate.der());
    Bytes general_names = der::sequence({der::tlv(0xa4, {issuer})});
    Bytes issuer_serial = der::sequence({general_names, serial});
    Bytes ess_cert_id = der::sequence({der::tlv(der::kOctetString, {cert_hash}), issuer_serial});
    Bytes signing_cert = der::sequence({der::sequence({ess_cert_id})});
    Bytes signing_cert_oid = SELO_TRY(der::oid(kOidSigningCertificateV2));
    const Bytes signing_cert_attr = der::sequence({signing_cert_oid, der::tlv(der::kSet, {signing_cert})});

    // RFC 5652 §11.1, §11.2: contentType id-ct-TSTInfo and the messageDigest of the TSTInfo.
    const Bytes content_type_attr = der::sequence(
        {SELO_TRY(der::oid(kOidContentType)), der::tlv(der::kSet, {SELO_TRY(der::oid(kOidTstInfo))})});
    const Bytes message_digest_oid = SELO_TRY(der::oid(kOidMessageDigest));
    const std::size_t digest_size = crypto::digest_size(signer->digest);
    auto digest_attr = [&](std::uint8_t fill) {
        const Bytes value(digest_size, fill);
        return der::sequence({message_digest_oid, der::tlv(der::kSet, {der::tlv(der::kOctetString, {value})})});
    };
    // DER SET OF: elements in ascending order of their encodings (X.690 §11.6). The attributes
    // differ before the digest value (in length or OID), so the order is the same for every
    // token; checked here with the smallest and the largest digest.
    auto sorted = [&](const Bytes& md) {
        std::array<const Bytes*, 3> attrs{&content_type_attr, &md, &signing_cert_attr};
        std::sort(attrs.begin(), attrs.end(), [](const Bytes* a, const Bytes* b) {
            return std::lexicographical_compare(a->begin(), a->end(), b->begin(), b->end());
        });
        return attrs;
    };
    const Bytes low = digest_attr(0x00);
    const Bytes high = digest_attr(0xff);
    const auto order_low = sorted(low);
    const auto order_high = sorted(high);
    for (std::size_t i = 0; i < order_low.size(); ++i) {
        if ((order_low[i] == &low) != (order_high[i] == &high)) {
            return fail(ErrorCode::internal, "the signed attributes' order depends on the digest");
        }
    }
    signer->signed_attrs = der::tlv(der::kSet, {*order_low[0], *order_low[1], *order_low[2]});
    // The digest value ends the messageDigest attribute.
    std::size_t offset =
        signer->signed_attrs.size() - (low.size() + content_type_attr.size() + signing_cert_attr.size());
    for (const Bytes* a : order_low) {
        if (a == &low) {
            offset += low.size() - digest_size;
            break;
        }
        offset += a->size();
    }
    signer->message_digest_offset = offset;
    return std::shared_ptr<const Signer>(std::move(signer));
}

Result<TimeStampAuthority> TimeStampAuthority::create(pki::Certificate certificate,
                                                      crypto::EvpPkeyPtr key, TsaOptions options,
                                                      const Clock& clock, Rng& rng, TrustLog* log) {
    TimeStampAuthority tsa;
    tsa.options_ = std::move(options);
    tsa.clock_ = &clock;
    tsa.rng_ = &rng;
    tsa.log_ = log;

    tsa.policies_.emplace_back(tsa.options_.default_policy, SELO_TRY(der::oid(tsa.options_.default_policy)));
    for (const auto& p : tsa.options_.accepted_policies) {
        if (p != tsa.options_.default_policy) {
            tsa.policies_.emplace_back(p, SELO_TRY(der::oid(p)));
        }
    }
    for (const auto& p : tsa.options_.internal_policies) {
        if (std::any_of(tsa.policies_.begin(), tsa.policies_.end(), [&](const auto& o) { return o.first == p; })) {
            return fail(ErrorCode::invalid_argument,
                        "policy {} is for in-process callers only and cannot be offered to requests too", p);
        }
        tsa.internal_policies_.emplace_back(p, SELO_TRY(der::oid(p)));
    }
    auto ms = tsa.options_.accuracy.count();
    if (ms < 0) {
        return fail(ErrorCode::invalid_argument, "the TSA's accuracy cannot be negative");
    }
    if (ms > 0) {
        Bytes content;
        if (ms >= 1000) {
            Bytes secs = der::small_integer(static_cast<std::uint64_t>(ms / 1000));
            content.insert(content.end(), secs.begin(), secs.end());
        }
        if (ms % 1000 != 0) {
            // RFC 3161 §2.4.2 (IMPLICIT TAGS): millis [0] INTEGER (1..999).
            Bytes millis = der::small_integer(static_cast<std::uint64_t>(ms % 1000));
            millis[0] = 0x80;
            content.insert(content.end(), millis.begin(), millis.end());
        }
        tsa.accuracy_ = der::tlv(der::kSequence, {content});
    }

    tsa.tst_info_oid_ = SELO_TRY(der::oid(kOidTstInfo));
    tsa.signed_data_oid_ = SELO_TRY(der::oid(kOidSignedData));
    for (const auto& p : tsa.policies_) {
        tsa.policy_ders_.emplace_back(p.second);
    }
    tsa.signer_ = std::make_unique<SignerSlot>();
    tsa.serve(SELO_TRY(make_signer(std::move(certificate), std::move(key), tsa.options_.chain)), std::nullopt);
    return tsa;
}

void TimeStampAuthority::serve(std::shared_ptr<const Signer> signer, std::optional<std::string> withdrawn) {
    signer_->current.store(std::make_shared<const Serving>(Serving{std::move(signer), std::move(withdrawn)}));
}

Result<void> TimeStampAuthority::use(pki::Certificate certificate, crypto::EvpPkeyPtr key) {
    auto signer = SELO_TRY(make_signer(std::move(certificate), std::move(key), options_.chain));
    // Tokens being signed keep the signer they loaded; the next ones get this one.
    std::lock_guard lock(signer_->writer);
    serve(std::move(signer), std::nullopt);
    return {};
}

void TimeStampAuthority::withdraw(std::string why) {
    std::lock_guard lock(signer_->writer);
    serve(signer_->current.load()->signer, std::move(why));
}

void TimeStampAuthority::reinstate() {
    std::lock_guard lock(signer_->writer);
    serve(signer_->current.load()->signer, std::nullopt);
}

std::optional<std::string> TimeStampAuthority::withdrawn() const {
    return signer_->current.load()->withdrawn;
}

pki::Certificate TimeStampAuthority::certificate() const {
    return *current_certificate();
}

std::shared_ptr<const pki::Certificate> TimeStampAuthority::current_certificate() const {
    auto serving = signer_->current.load();
    const pki::Certificate* cert = &serving->signer->certificate;
    return {std::move(serving), cert};
}

Result<Bytes> TimeStampAuthority::issue(ByteView imprint_der, ByteView policy_der,
                                        ByteView nonce_der, bool with_certificates) {
    Issued issued = SELO_TRY(sign(imprint_der, policy_der, nonce_der, with_certificates, false));
    if (log_ != nullptr) {
        // Durable before anyone sees the token.
        SELO_TRY(log_->append(options_.log_type, issued.tst_info()));
    }
    return std::move(issued.der);
}

namespace {

// Octets of a DER header (tag and definite length, X.690 §8.1.3) for `n` octets of content.
constexpr std::size_t header_size(std::size_t n) noexcept {
    return n < 0x80 ? 2 : n <= 0xff ? 3 : n <= 0xffff ? 4 : n <= 0xffffff ? 5 : 6;
}
constexpr std::size_t tlv_size(std::size_t n) noexcept { return header_size(n) + n; }

// Writes DER front to back into a buffer sized in advance.
class Out {
public:
    explicit Out(std::uint8_t* p) : p_(p) {}
    void header(std::uint8_t tag, std::size_t n) {
        *p_++ = tag;
        if (n < 0x80) {
            *p_++ = static_cast<std::uint8_t>(n);
            return;
        }
        const std::size_t octets = header_size(n) - 2;
        *p_++ = static_cast<std::uint8_t>(0x80 | octets);
        for (std::size_t i = octets; i > 0; --i) {
            *p_++ = static_cast<std::uint8_t>((n >> (8 * (i - 1))) & 0xff);
        }
    }
    void bytes(ByteView b) {
        if (!b.empty()) {
            std::memcpy(p_, b.data(), b.size());
            p_ += b.size();
        }
    }
    void tlv(std::uint8_t tag, ByteView content) {
        header(tag, content.size());
        bytes(content);
    }
    [[nodiscard]] std::uint8_t* at() const noexcept { return p_; }

private:
    std::uint8_t* p_;
};

// A digest into `out`, with a context each thread keeps (EVP_MD_CTX_new per call is a heap
// allocation; the context is reset by EVP_DigestInit_ex).
Result<void> digest_into(DigestAlgorithm alg, std::initializer_list<ByteView> parts, std::uint8_t* out) {
    thread_local crypto::EvpMdCtxPtr ctx(::EVP_MD_CTX_new());
    unsigned len = 0;
    if (!ctx || ::EVP_DigestInit_ex(ctx.get(), crypto::evp_md(alg), nullptr) != 1) {
        return crypto::openssl_fail("digest init");
    }
    for (ByteView p : parts) {
        if (::EVP_DigestUpdate(ctx.get(), p.data(), p.size()) != 1) {
            return crypto::openssl_fail("digest");
        }
    }
    if (::EVP_DigestFinal_ex(ctx.get(), out, &len) != 1) {
        return crypto::openssl_fail("digest");
    }
    return {};
}

constexpr std::uint8_t kVersion1[] = {der::kInteger, 1, 1};
constexpr std::uint8_t kVersion3[] = {der::kInteger, 1, 3};
constexpr std::uint8_t kStatusGranted[] = {der::kSequence, 3, der::kInteger, 1, 0};

}  // namespace

Result<TimeStampAuthority::Issued> TimeStampAuthority::sign(ByteView imprint_der,
                                                            ByteView policy_der,
                                                            ByteView nonce_der,
                                                            bool with_certificates,
                                                            bool as_response) {
    // A positive 16-octet serial with 126 random bits: unique without coordination between
    // threads or nodes (RFC 3161 §2.4.2 allows up to 160 bits). Bit 7 clear (positive) and bit
    // 6 set, so the INTEGER is always these 16 octets (X.690 §8.3.2).
    std::uint8_t serial[2 + 16] = {der::kInteger, 16};
    // The random octets come from the injected Rng in blocks, each octet used once: a
    // getrandom(2) call per token cost more than the token's DER. Serials are public (every
    // token shows its own), so holding unused ones in memory exposes nothing.
    struct SerialPool {
        const Rng* rng = nullptr;
        std::array<std::uint8_t, 512> bytes{};
        std::size_t used = 512;
    };
    thread_local SerialPool pool;
    if (pool.rng != rng_ || pool.used + 16 > pool.bytes.size()) {
        rng_->fill(pool.bytes);
        pool.rng = rng_;
        pool.used = 0;
    }
    std::memcpy(serial + 2, pool.bytes.data() + pool.used, 16);
    pool.used += 16;
    serial[2] = static_cast<std::uint8_t>((serial[2] & 0x7f) | 0x40);
    // genTime is UTC (RFC 3161 §2.4.2); ordering is false, the DEFAULT, hence absent.
    char time_text[der::kMaxGeneralizedTimeChars];
    const std::size_t time_len = der::generalized_time_chars(clock_->now(), time_text);
    const ByteView gen_time(reinterpret_cast<const std::uint8_t*>(time_text), time_len);

    const std::shared_ptr<const Serving> serving = signer_->current.load();
    if (serving->withdrawn) {
        return fail(ErrorCode::unavailable, "the time-stamping unit is out of service: {}", *serving->withdrawn);
    }
    const Signer* const signer = serving->signer.get();
    const std::size_t digest_size = crypto::digest_size(signer->digest);

    // TSTInfo (RFC 3161 §2.4.2): version, policy, messageImprint, serialNumber, genTime,
    // accuracy, nonce.
    const std::size_t tst_content = sizeof kVersion1 + policy_der.size() + imprint_der.size() + sizeof serial +
                                    tlv_size(time_len) + accuracy_.size() + nonce_der.size();
    const std::size_t tst_size = tlv_size(tst_content);

    // The signature first: the lengths around it depend on its size (a DER ECDSA-Sig-Value
    // varies by a few octets). It covers the signed attributes as a SET OF (RFC 5652 §5.4),
    // whose messageDigest is the TSTInfo's digest.
    thread_local Bytes scratch;
    scratch.resize(tst_size + signer->signature_size);
    std::uint8_t* const tst = scratch.data();
    {
        Out w(tst);
        w.header(der::kSequence, tst_content);
        w.bytes(kVersion1);
        w.bytes(policy_der);
        w.bytes(imprint_der);
        w.bytes(serial);
        w.tlv(der::kGeneralizedTime, gen_time);
        w.bytes(accuracy_);
        w.bytes(nonce_der);
    }
    std::uint8_t content_digest[EVP_MAX_MD_SIZE];
    SELO_TRY_VOID(digest_into(signer->digest, {ByteView(tst, tst_size)}, content_digest));
    const ByteView attrs(signer->signed_attrs);
    const std::size_t md_at = signer->message_digest_offset;
    std::uint8_t to_sign[EVP_MAX_MD_SIZE];
    SELO_TRY_VOID(digest_into(signer->digest,
                              {attrs.first(md_at), ByteView(content_digest, digest_size),
                               attrs.subspan(md_at + digest_size)},
                              to_sign));
    std::uint8_t* const sig = tst + tst_size;
    const std::size_t sig_len = SELO_TRY(sign_with(*signer, ByteView(to_sign, digest_size), sig));

    // SignerInfo (RFC 5652 §5.3): version 1 (IssuerAndSerialNumber), sid, digestAlgorithm,
    // [0] IMPLICIT signedAttrs, signatureAlgorithm, signature.
    const std::size_t signer_info_content = sizeof kVersion1 + signer->signer_identifier.size() +
                                            signer->digest_algorithm.size() + attrs.size() +
                                            signer->signature_algorithm.size() + tlv_size(sig_len);
    const std::size_t octets_content = tst_size;
    const std::size_t explicit_content = tlv_size(octets_content);
    const std::size_t encap_content = tst_info_oid_.size() + tlv_size(explicit_content);
    const ByteView certs = with_certificates ? ByteView(signer->certificates) : ByteView();
    const std::size_t digest_algs_content = signer->digest_algorithm.size();
    // SignedData (RFC 5652 §5.1): version 3 because the content type is not id-data.
    const std::size_t signed_data_content = sizeof kVersion3 + tlv_size(digest_algs_content) +
                                            tlv_size(encap_content) + certs.size() +
                                            tlv_size(tlv_size(signer_info_content));
    const std::size_t content_info_content = signed_data_oid_.size() + tlv_size(tlv_size(signed_data_content));
    const std::size_t token_size = tlv_size(content_info_content);
    const std::size_t resp_content = sizeof kStatusGranted + token_size;

    Issued issued;
    issued.der.resize(as_response ? tlv_size(resp_content) : token_size);
    Out w(issued.der.data());
    if (as_response) {
        // TimeStampResp (RFC 3161 §2.4.2): status granted, then the token.
        w.header(der::kSequence, resp_content);
        w.bytes(kStatusGranted);
    }
    issued.token_offset = static_cast<std::size_t>(w.at() - issued.der.data());
    w.header(der::kSequence, content_info_content);
    w.bytes(signed_data_oid_);
    w.header(0xa0, tlv_size(signed_data_content));
    w.header(der::kSequence, signed_data_content);
    w.bytes(kVersion3);
    w.tlv(der::kSet, signer->digest_algorithm);
    w.header(der::kSequence, encap_content);
    w.bytes(tst_info_oid_);
    w.header(0xa0, explicit_content);
    w.header(der::kOctetString, octets_content);
    issued.tst_info_offset = static_cast<std::size_t>(w.at() - issued.der.data());
    issued.tst_info_size = tst_size;
    w.bytes(ByteView(tst, tst_size));
    w.bytes(certs);
    w.header(der::kSet, tlv_size(signer_info_content));
    w.header(der::kSequence, signer_info_content);
    w.bytes(kVersion1);
    w.bytes(signer->signer_identifier);
    w.bytes(signer->digest_algorithm);
    std::uint8_t* const attrs_at = w.at();
    w.bytes(attrs.first(md_at));
    w.bytes(ByteView(content_digest, digest_size));
    w.bytes(attrs.subspan(md_at + digest_size));
    *attrs_at = 0xa0;  // [0] IMPLICIT in SignerInfo
    w.bytes(signer->signature_algorithm);
    w.tlv(der::kOctetString, ByteView(sig, sig_len));
    if (w.at() != issued.der.data() + issued.der.size()) {
        return fail(ErrorCode::internal, "the token's encoding is {} octets, not the {} computed",
                    w.at() - issued.der.data(), issued.der.size());
    }
    return issued;
}

TimeStampReply TimeStampAuthority::respond(ByteView request_der) {
    return answer(request_der, nullptr);
}

void TimeStampAuthority::respond_async(ByteView request_der,
                                       std::function<void(TimeStampReply)> done, QueueFull when_full) {
    if (log_ == nullptr) {
        done(answer(request_der, nullptr));
        return;
    }
    Issued issued;
    TimeStampReply reply = answer(request_der, &issued);
    if (!reply.granted) {
        done(std::move(reply));
        return;
    }
    // The reply (built here, on the caller's thread) leaves only once its TSTInfo is committed
    // to the log.
    // (A token refused for want of room is never seen: its serial simply goes unused.)
    const ByteView tst_info = issued.tst_info();
    auto deliver = [der = std::move(issued.der), done](Result<LogReceipt> logged) mutable {
        if (!logged) {
            done(rejection(FailureInfo::system_failure, "the time-stamping unit cannot issue a token now"));
            return;
        }
        TimeStampReply r;
        r.der = std::move(der);
        r.granted = true;
        done(std::move(r));
    };
    if (when_full == QueueFull::wait) {
        log_->append_async(options_.log_type, tst_info, std::move(deliver));
    } else if (!log_->try_append_async(options_.log_type, tst_info, std::move(deliver))) {
        TimeStampReply r;
        r.busy = true;
        r.status_text = "the transparency log is behind: no token was issued, retry shortly";
        done(std::move(r));
    }
}

TimeStampReply TimeStampAuthority::grant(ByteView imprint_der, ByteView policy_der, ByteView nonce_der,
                                         bool cert_req, Issued* unlogged) {
    auto issued = sign(imprint_der, policy_der, nonce_der, cert_req, true);
    if (!issued) {
        if (issued.error().code == ErrorCode::unavailable && withdrawn()) {
            TimeStampReply r = rejection(FailureInfo::system_failure, "the time-stamping unit is out of service");
            r.out_of_service = true;
            return r;
        }
        return rejection(FailureInfo::system_failure, "the time-stamping unit cannot issue a token now");
    }
    TimeStampReply r;
    r.granted = true;
    if (unlogged != nullptr) {
        *unlogged = std::move(*issued);  // the caller answers once the token is logged
        return r;
    }
    if (log_ != nullptr) {
        // Durable before anyone sees the token.
        if (auto logged = log_->append(options_.log_type, issued->tst_info()); !logged) {
            return rejection(FailureInfo::system_failure, "the time-stamping unit cannot issue a token now");
        }
    }
    r.der = std::move(issued->der);
    return r;
}

TimeStampReply TimeStampAuthority::answer(ByteView request_der, Issued* unlogged) {
    // The requests clients send are read directly; anything else (including every malformed
    // or refused request) goes through OpenSSL's decoder as before, so its answer is unchanged.
    if (auto req = read_canonical_request(request_der, policy_ders_, kMaxNonceOctets)) {
        return grant(req->imprint, req->policy.empty() ? ByteView(policies_.front().second) : req->policy,
                     req->nonce, req->cert_req, unlogged);
    }
    return answer_decoded(request_der, unlogged);
}

TimeStampReply TimeStampAuthority::answer_decoded(ByteView request_der, Issued* unlogged) {
    if (request_der.empty()) {
        return rejection(FailureInfo::bad_data_format, "empty request: expected a DER TimeStampReq");
    }
    const unsigned char* p = request_der.data();
    TsReqPtr req(::d2i_TS_REQ(nullptr, &p, static_cast<long>(request_der.size())));
    if (!req) {
        crypto::clear_errors();
        return rejection(FailureInfo::bad_data_format, "the request is not a TimeStampReq (RFC 3161 §2.4.1, sent in DER)");
    }
    if (p != request_der.data() + request_der.size()) {
        return rejection(FailureInfo::bad_data_format, "trailing bytes after the TimeStampReq");
    }
    if (::TS_REQ_get_version(req.get()) != 1) {
        return rejection(FailureInfo::bad_data_format, "only version 1 requests are supported");
    }
    TS_MSG_IMPRINT* imprint = ::TS_REQ_get_msg_imprint(req.get());
    const ASN1_OBJECT* alg_oid = nullptr;
    int param_type = V_ASN1_UNDEF;
    const void* param = nullptr;
    ::X509_ALGOR_get0(&alg_oid, &param_type, &param, ::TS_MSG_IMPRINT_get_algo(imprint));
    int nid = ::OBJ_obj2nid(alg_oid);
    auto alg = imprint_algorithm(nid);
    if (!alg) {
        const char* name = nid != NID_undef ? ::OBJ_nid2sn(nid) : nullptr;
        return rejection(FailureInfo::bad_alg,
                         fmt::format("hash algorithm {} is not accepted (SHA-256, SHA-384, SHA-512)",
                                     name != nullptr ? name : crypto::oid_text(alg_oid)));
    }
    if (param_type != V_ASN1_UNDEF && param_type != V_ASN1_NULL) {
        return rejection(FailureInfo::bad_alg, "the hash algorithm has unexpected parameters");
    }
    const ASN1_OCTET_STRING* digest = ::TS_MSG_IMPRINT_get_msg(imprint);
    if (static_cast<std::size_t>(::ASN1_STRING_length(digest)) != crypto::digest_size(*alg)) {
        return rejection(FailureInfo::bad_data_format,
                         fmt::format("a {} digest is {} bytes, the request has {}",
                                     crypto::digest_name(*alg), crypto::digest_size(*alg),
                                     ::ASN1_STRING_length(digest)));
    }
    if (const STACK_OF(X509_EXTENSION)* exts = ::TS_REQ_get_exts(req.get());
        exts != nullptr && sk_X509_EXTENSION_num(exts) > 0) {
        return rejection(FailureInfo::unaccepted_extension, "request extensions are not supported");
    }
    const Bytes* policy = &policies_.front().second;
    if (const ASN1_OBJECT* wanted = ::TS_REQ_get_policy_id(req.get())) {
        std::string text = crypto::oid_text(wanted);
        auto it = std::find_if(policies_.begin(), policies_.end(),
                               [&](const auto& pol) { return pol.first == text; });
        if (it == policies_.end()) {
            return rejection(FailureInfo::unaccepted_policy,
                             fmt::format("policy {} is not offered (this TSA issues under {})", text,
                                         policies_.front().first));
        }
        policy = &it->second;
    }
    Bytes nonce;
    if (const ASN1_INTEGER* n = ::TS_REQ_get_nonce(req.get())) {
        if (static_cast<std::size_t>(::ASN1_STRING_length(n)) > kMaxNonceOctets) {
            return rejection(FailureInfo::bad_data_format,
                             fmt::format("the nonce is longer than {} octets", kMaxNonceOctets));
        }
        auto encoded = encode(n, ::i2d_ASN1_INTEGER, "encoding the nonce");
        if (!encoded) {
            return rejection(FailureInfo::bad_data_format, "the nonce cannot be encoded");
        }
        nonce = std::move(*encoded);
    }
    auto imprint_der = encode(imprint, ::i2d_TS_MSG_IMPRINT, "encoding the imprint");
    if (!imprint_der) {
        return rejection(FailureInfo::bad_data_format, "the message imprint cannot be encoded");
    }
    const bool cert_req = ::TS_REQ_get_cert_req(req.get()) != 0;
    return grant(*imprint_der, *policy, nonce, cert_req, unlogged);
}

Result<Bytes> TimeStampAuthority::time_stamp(const TimeStampRequest& request) {
    return time_stamp(request, {});
}

Result<Bytes> TimeStampAuthority::time_stamp(const TimeStampRequest& request, ByteView nonce) {
    const InProcess in = SELO_TRY(read_in_process(request, nonce));
    return issue(in.imprint, in.policy, in.nonce, request.include_certificate);
}

void TimeStampAuthority::time_stamp_async(const TimeStampRequest& request, ByteView nonce,
                                          std::function<void(Result<Bytes>)> done) {
    auto in = read_in_process(request, nonce);
    if (!in) {
        done(std::unexpected(in.error()));
        return;
    }
    auto issued = sign(in->imprint, in->policy, in->nonce, request.include_certificate, false);
    if (!issued) {
        done(std::unexpected(issued.error()));
        return;
    }
    if (log_ == nullptr) {
        done(std::move(issued->der));
        return;
    }
    // As respond_async: the token leaves only once its TSTInfo is committed to the log.
    const ByteView tst_info = issued->tst_info();
    log_->append_async(options_.log_type, tst_info,
                       [token = std::move(issued->der), done = std::move(done)](
                           Result<LogReceipt> logged) mutable {
                           if (!logged) {
                               done(std::unexpected(logged.error().context("logging the token")));
                               return;
                           }
                           done(std::move(token));
                       });
}

Result<TimeStampAuthority::InProcess> TimeStampAuthority::read_in_process(const TimeStampRequest& request,
                                                                           ByteView nonce) const {
    if (nonce.size() > kMaxNonceOctets) {
        return fail(ErrorCode::invalid_argument, "the nonce is longer than {} octets", kMaxNonceOctets);
    }
    auto alg = crypto::digest_from_oid(request.hash_algorithm_oid);
    if (!alg || *alg == DigestAlgorithm::sha1) {
        return fail(ErrorCode::invalid_argument,
                    "hash algorithm {} is not accepted (SHA-256, SHA-384, SHA-512)",
                    request.hash_algorithm_oid);
    }
    if (request.digest.size() != crypto::digest_size(*alg)) {
        return fail(ErrorCode::invalid_argument, "a {} digest is {} bytes, not {}",
                    crypto::digest_name(*alg), crypto::digest_size(*alg), request.digest.size());
    }
    InProcess out;
    out.policy = policies_.front().second;
    if (!request.policy.empty()) {
        auto named = [&](const auto& p) { return p.first == request.policy; };
        auto it = std::find_if(policies_.begin(), policies_.end(), named);
        if (it == policies_.end()) {
            it = std::find_if(internal_policies_.begin(), internal_policies_.end(), named);
            if (it == internal_policies_.end()) {
                return fail(ErrorCode::invalid_argument, "policy {} is not offered by this time-stamping unit",
                            request.policy);
            }
        }
        out.policy = it->second;
    }
    Bytes alg_oid = SELO_TRY(der::oid(request.hash_algorithm_oid));
    out.nonce = nonce.empty() ? Bytes() : der::unsigned_integer(nonce);
    out.imprint = der::sequence({der::sequence({alg_oid}), der::tlv(der::kOctetString, {request.digest})});
    return out;
}

}  // namespace selo::tsa
