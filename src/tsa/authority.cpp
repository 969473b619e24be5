#include "tsa/authority.hpp"

#include <openssl/objects.h>
#include <openssl/rsa.h>
#include <openssl/ts.h>

#include <algorithm>
#include <atomic>

#include "crypto/keys.hpp"
#include "tsa/der.hpp"

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

// A grant: TimeStampResp with status granted (0) and the token.
TimeStampReply granted(ByteView token) {
    const std::uint8_t status[] = {der::kSequence, 3, der::kInteger, 1, 0};
    TimeStampReply r;
    r.der = der::sequence({status, token});
    r.granted = true;
    return r;
}

std::atomic<std::uint64_t> next_signer_id{1};

}  // namespace

// The signature over a digest with the unit's key. Each thread keeps an initialised context for
// the signer it last used, as `openssl speed` does: creating and initialising one per token
// (a provider fetch under a lock every thread shares) cost more than a quarter of the signature.
// The context holds its own reference to the key; a renewed signer has another id.
Result<Bytes> TimeStampAuthority::sign_with(const Signer& signer, ByteView digest) {
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
    Bytes sig(len);
    if (::EVP_PKEY_sign(ctx.get(), sig.data(), &len, digest.data(), digest.size()) != 1) {
        owner = 0;  // initialised afresh next time
        return crypto::openssl_fail("signing");
    }
    sig.resize(len);
    return sig;
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
    signer->signing_cert_attr = der::sequence({signing_cert_oid, der::tlv(der::kSet, {signing_cert})});
    return std::shared_ptr<const Signer>(std::move(signer));
}

Result<TimeStampAuthority> TimeStampAuthority::create(pki::Certificate certificate,
                                                      crypto::EvpPkeyPtr key, TsaOptions options,
                                                      const Clock& clock, Rng& rng, TrustLog* log) {
    auto signer = SELO_TRY(make_signer(std::move(certificate), std::move(key), options.chain));
    TimeStampAuthority tsa;
    tsa.signer_ = std::make_unique<SignerSlot>();
    tsa.signer_->current.store(std::move(signer));
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
    tsa.message_digest_oid_ = SELO_TRY(der::oid(kOidMessageDigest));
    Bytes content_type_oid = SELO_TRY(der::oid(kOidContentType));
    tsa.content_type_attr_ = der::sequence({content_type_oid, der::tlv(der::kSet, {tsa.tst_info_oid_})});
    return tsa;
}

Result<void> TimeStampAuthority::use(pki::Certificate certificate, crypto::EvpPkeyPtr key) {
    auto signer = SELO_TRY(make_signer(std::move(certificate), std::move(key), options_.chain));
    // Tokens being signed keep the signer they loaded; the next ones get this one.
    signer_->current.store(std::move(signer));
    return {};
}

pki::Certificate TimeStampAuthority::certificate() const {
    return signer_->current.load()->certificate;
}

Result<Bytes> TimeStampAuthority::issue(ByteView imprint_der, ByteView policy_der,
                                        ByteView nonce_der, bool with_certificates) {
    Issued issued = SELO_TRY(sign(imprint_der, policy_der, nonce_der, with_certificates));
    if (log_ != nullptr) {
        // Durable before anyone sees the token.
        SELO_TRY(log_->append(options_.log_type, issued.tst_info));
    }
    return std::move(issued.token);
}

Result<TimeStampAuthority::Issued> TimeStampAuthority::sign(ByteView imprint_der,
                                                            ByteView policy_der,
                                                            ByteView nonce_der,
                                                            bool with_certificates) {
    // A positive 16-octet serial with 126 random bits: unique without coordination between
    // threads or nodes (RFC 3161 §2.4.2 allows up to 160 bits).
    std::uint8_t serial_bytes[16];
    rng_->fill(serial_bytes);
    serial_bytes[0] = static_cast<std::uint8_t>((serial_bytes[0] & 0x7f) | 0x40);
    const Bytes version = der::small_integer(1);
    const Bytes serial = der::unsigned_integer(serial_bytes);
    // genTime is UTC (RFC 3161 §2.4.2); ordering is false, the DEFAULT, hence absent.
    const Bytes gen_time = der::generalized_time(clock_->now());
    Bytes tst_info = der::sequence({version, policy_der, imprint_der, serial, gen_time, accuracy_, nonce_der});

    const std::shared_ptr<const Signer> signer = signer_->current.load();
    const DigestAlgorithm signer_digest = signer->digest;
    Bytes content_digest = crypto::digest(signer_digest, tst_info);
    Bytes message_digest_attr = der::sequence(
        {message_digest_oid_, der::tlv(der::kSet, {der::tlv(der::kOctetString, {content_digest})})});
    // DER SET OF: elements in ascending order of their encodings (X.690 §11.6).
    std::array<const Bytes*, 3> attrs{&content_type_attr_, &message_digest_attr, &signer->signing_cert_attr};
    std::sort(attrs.begin(), attrs.end(), [](const Bytes* a, const Bytes* b) {
        return std::lexicographical_compare(a->begin(), a->end(), b->begin(), b->end());
    });
    // RFC 5652 §5.4: the signature covers the attributes encoded as a SET OF.
    Bytes signed_attrs = der::tlv(der::kSet, {*attrs[0], *attrs[1], *attrs[2]});
    Bytes to_sign = crypto::digest(signer_digest, signed_attrs);
    Bytes signature = SELO_TRY(sign_with(*signer, to_sign));
    signed_attrs[0] = 0xa0;  // [0] IMPLICIT in SignerInfo

    const Bytes v1 = der::small_integer(1);
    const Bytes v3 = der::small_integer(3);
    Bytes signer_info = der::sequence({v1, signer->signer_identifier, signer->digest_algorithm, signed_attrs,
                                       signer->signature_algorithm, der::tlv(der::kOctetString, {signature})});
    Bytes encap = der::sequence(
        {tst_info_oid_, der::tlv(0xa0, {der::tlv(der::kOctetString, {tst_info})})});
    ByteView certs = with_certificates ? ByteView(signer->certificates) : ByteView();
    // RFC 5652 §5.1: version 3 because the content type is not id-data.
    Bytes signed_data = der::sequence({v3, der::tlv(der::kSet, {signer->digest_algorithm}), encap, certs,
                                       der::tlv(der::kSet, {signer_info})});
    Bytes token = der::sequence({signed_data_oid_, der::tlv(0xa0, {signed_data})});
    return Issued{std::move(token), std::move(tst_info)};
}

TimeStampReply TimeStampAuthority::respond(ByteView request_der) {
    return answer(request_der, nullptr);
}

void TimeStampAuthority::respond_async(ByteView request_der,
                                       std::function<void(TimeStampReply)> done) {
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
    // The token leaves only once its TSTInfo is committed to the log.
    log_->append_async(options_.log_type, issued.tst_info,
                       [token = std::move(issued.token), done = std::move(done)](
                           Result<LogReceipt> logged) mutable {
                           if (!logged) {
                               done(rejection(FailureInfo::system_failure,
                                              "the time-stamping unit cannot issue a token now"));
                               return;
                           }
                           done(granted(token));
                       });
}

TimeStampReply TimeStampAuthority::answer(ByteView request_der, Issued* unlogged) {
    if (request_der.empty()) {
        return rejection(FailureInfo::bad_data_format, "empty request: expected a DER TimeStampReq");
    }
    const unsigned char* p = request_der.data();
    TsReqPtr req(::d2i_TS_REQ(nullptr, &p, static_cast<long>(request_der.size())));
    if (!req) {
        crypto::clear_errors();
        return rejection(FailureInfo::bad_data_format, "the request is not a DER TimeStampReq");
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
    if (unlogged != nullptr) {
        auto issued = sign(*imprint_der, *policy, nonce, cert_req);
        if (!issued) {
            return rejection(FailureInfo::system_failure, "the time-stamping unit cannot issue a token now");
        }
        *unlogged = std::move(*issued);
        TimeStampReply r;  // the caller builds the reply once the token is logged
        r.granted = true;
        return r;
    }
    auto token = issue(*imprint_der, *policy, nonce, cert_req);
    if (!token) {
        return rejection(FailureInfo::system_failure, "the time-stamping unit cannot issue a token now");
    }
    return granted(*token);
}

Result<Bytes> TimeStampAuthority::time_stamp(const TimeStampRequest& request) {
    return time_stamp(request, {});
}

Result<Bytes> TimeStampAuthority::time_stamp(const TimeStampRequest& request, ByteView nonce) {
    Bytes nonce_der;
    Bytes imprint = SELO_TRY(imprint_of(request, nonce, nonce_der));
    return issue(imprint, policies_.front().second, nonce_der, request.include_certificate);
}

void TimeStampAuthority::time_stamp_async(const TimeStampRequest& request, ByteView nonce,
                                          std::function<void(Result<Bytes>)> done) {
    Bytes nonce_der;
    auto imprint = imprint_of(request, nonce, nonce_der);
    if (!imprint) {
        done(std::unexpected(imprint.error()));
        return;
    }
    auto issued = sign(*imprint, policies_.front().second, nonce_der, request.include_certificate);
    if (!issued) {
        done(std::unexpected(issued.error()));
        return;
    }
    if (log_ == nullptr) {
        done(std::move(issued->token));
        return;
    }
    // As respond_async: the token leaves only once its TSTInfo is committed to the log.
    log_->append_async(options_.log_type, issued->tst_info,
                       [token = std::move(issued->token), done = std::move(done)](
                           Result<LogReceipt> logged) mutable {
                           if (!logged) {
                               done(std::unexpected(logged.error().context("logging the token")));
                               return;
                           }
                           done(std::move(token));
                       });
}

Result<Bytes> TimeStampAuthority::imprint_of(const TimeStampRequest& request, ByteView nonce,
                                             Bytes& nonce_der) const {
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
    Bytes alg_oid = SELO_TRY(der::oid(request.hash_algorithm_oid));
    nonce_der = nonce.empty() ? Bytes() : der::unsigned_integer(nonce);
    return der::sequence({der::sequence({alg_oid}), der::tlv(der::kOctetString, {request.digest})});
}

}  // namespace selo::tsa
