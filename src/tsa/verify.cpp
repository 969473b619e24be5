#include "tsa/verify.hpp"

#include <openssl/pkcs7.h>
#include <openssl/ts.h>

#include "crypto/keys.hpp"
#include "crypto/openssl.hpp"

namespace selo::tsa {
namespace {

using Pkcs7Ptr = std::unique_ptr<PKCS7, crypto::Free<&::PKCS7_free>>;
using TstInfoPtr = std::unique_ptr<TS_TST_INFO, crypto::Free<&::TS_TST_INFO_free>>;
using TsRespPtr = std::unique_ptr<TS_RESP, crypto::Free<&::TS_RESP_free>>;
using TsVerifyCtxPtr = std::unique_ptr<TS_VERIFY_CTX, crypto::Free<&::TS_VERIFY_CTX_free>>;

Result<Pkcs7Ptr> parse_pkcs7(ByteView der) {
    const unsigned char* p = der.data();
    Pkcs7Ptr token(::d2i_PKCS7(nullptr, &p, static_cast<long>(der.size())));
    if (!token || p != der.data() + der.size()) {
        crypto::clear_errors();
        return fail(ErrorCode::invalid_argument, "not a DER time-stamp token");
    }
    return token;
}

Result<TokenInfo> describe(PKCS7* token) {
    TstInfoPtr info(::PKCS7_to_TS_TST_INFO(token));
    if (!info) {
        crypto::clear_errors();
        return fail(ErrorCode::invalid_argument, "the token does not hold a TSTInfo");
    }
    TokenInfo out;
    const ASN1_GENERALIZEDTIME* t = ::TS_TST_INFO_get_time(info.get());
    out.gen_time_text.assign(reinterpret_cast<const char*>(::ASN1_STRING_get0_data(t)),
                             static_cast<std::size_t>(::ASN1_STRING_length(t)));
    std::tm tm{};
    if (::ASN1_TIME_to_tm(t, &tm) != 1) {
        crypto::clear_errors();
        return fail(ErrorCode::invalid_argument, "the token's genTime is malformed");
    }
    auto secs = ::timegm(&tm);
    TimePoint gen = from_unix_seconds(secs);
    if (auto dot = out.gen_time_text.find('.'); dot != std::string::npos) {
        std::string frac = out.gen_time_text.substr(dot + 1);
        frac = frac.substr(0, frac.find_first_not_of("0123456789"));
        frac.resize(3, '0');
        gen += std::chrono::milliseconds(std::stoi(frac));
    }
    out.gen_time = gen;
    crypto::BignumPtr bn(::ASN1_INTEGER_to_BN(::TS_TST_INFO_get_serial(info.get()), nullptr));
    if (bn) {
        char* hex = ::BN_bn2hex(bn.get());
        out.serial_hex = hex;
        ::OPENSSL_free(hex);
        for (auto& c : out.serial_hex) {
            c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        }
    }
    out.policy = crypto::oid_text(::TS_TST_INFO_get_policy_id(info.get()));
    TS_MSG_IMPRINT* imprint = ::TS_TST_INFO_get_msg_imprint(info.get());
    const ASN1_OBJECT* alg = nullptr;
    ::X509_ALGOR_get0(&alg, nullptr, nullptr, ::TS_MSG_IMPRINT_get_algo(imprint));
    out.hash_algorithm_oid = crypto::oid_text(alg);
    const ASN1_OCTET_STRING* d = ::TS_MSG_IMPRINT_get_msg(imprint);
    out.digest.assign(::ASN1_STRING_get0_data(d), ::ASN1_STRING_get0_data(d) + ::ASN1_STRING_length(d));
    int len = ::i2d_TS_TST_INFO(info.get(), nullptr);
    if (len > 0) {
        out.tst_info_der.resize(static_cast<std::size_t>(len));
        unsigned char* p = out.tst_info_der.data();
        ::i2d_TS_TST_INFO(info.get(), &p);
    }
    if (PKCS7_type_is_signed(token)) {
        STACK_OF(X509)* certs = token->d.sign->cert;
        if (certs != nullptr && sk_X509_num(certs) > 0) {
            out.signer = pki::name_to_string(::X509_get_subject_name(sk_X509_value(certs, 0)));
        }
    }
    return out;
}

}  // namespace

Result<TokenInfo> read_token(ByteView token_der) {
    auto token = SELO_TRY(parse_pkcs7(token_der));
    return describe(token.get());
}

Result<Bytes> token_of_response(ByteView response_der) {
    const unsigned char* p = response_der.data();
    TsRespPtr resp(::d2i_TS_RESP(nullptr, &p, static_cast<long>(response_der.size())));
    if (!resp || p != response_der.data() + response_der.size()) {
        crypto::clear_errors();
        return fail(ErrorCode::malformed, "the answer is not a DER TimeStampResp");
    }
    TS_STATUS_INFO* status = ::TS_RESP_get_status_info(resp.get());
    long code = ::ASN1_INTEGER_get(::TS_STATUS_INFO_get0_status(status));
    PKCS7* token = ::TS_RESP_get_token(resp.get());
    if ((code != 0 && code != 1) || token == nullptr) {
        std::string text;
        if (const STACK_OF(ASN1_UTF8STRING)* texts = ::TS_STATUS_INFO_get0_text(status)) {
            for (int i = 0; i < sk_ASN1_UTF8STRING_num(texts); ++i) {
                const ASN1_UTF8STRING* s = sk_ASN1_UTF8STRING_value(texts, i);
                text.append(reinterpret_cast<const char*>(::ASN1_STRING_get0_data(s)),
                            static_cast<std::size_t>(::ASN1_STRING_length(s)));
            }
        }
        return fail(ErrorCode::invalid_argument, "the TSA refused the request (status {}): {}", code,
                    text.empty() ? "no reason given" : text);
    }
    int len = ::i2d_PKCS7(token, nullptr);
    if (len <= 0) {
        return crypto::openssl_fail("encoding the token");
    }
    Bytes out(static_cast<std::size_t>(len));
    unsigned char* q = out.data();
    ::i2d_PKCS7(token, &q);
    return out;
}

Result<TokenInfo> verify_token(ByteView token_der, crypto::DigestAlgorithm algorithm,
                               ByteView digest, const TrustAnchors& anchors) {
    auto token = SELO_TRY(parse_pkcs7(token_der));
    auto info = SELO_TRY(describe(token.get()));
    auto alg = crypto::digest_from_oid(info.hash_algorithm_oid);
    if (!alg || *alg != algorithm) {
        return fail(ErrorCode::invalid_argument, "the token's hash algorithm is {}, expected {}",
                    info.hash_algorithm_oid, crypto::digest_oid(algorithm));
    }
    TsVerifyCtxPtr ctx(::TS_VERIFY_CTX_new());
    crypto::X509StorePtr store(::X509_STORE_new());
    if (!ctx || !store) {
        return crypto::openssl_fail("verifier context");
    }
    for (const auto& r : anchors.roots) {
        if (::X509_STORE_add_cert(store.get(), r.x509()) != 1) {
            return crypto::openssl_fail("trust store");
        }
    }
    crypto::X509StackPtr untrusted(sk_X509_new_null());
    for (const auto& c : anchors.intermediates) {
        X509* dup = ::X509_dup(c.x509());
        if (dup == nullptr || sk_X509_push(untrusted.get(), dup) == 0) {
            ::X509_free(dup);
            return crypto::openssl_fail("untrusted certificates");
        }
    }
    // The context owns what it is given from here on.
    ::TS_VERIFY_CTX_set_store(ctx.get(), store.release());
    ::TS_VERIFY_CTX_set_certs(ctx.get(), untrusted.release());
    auto* imprint = static_cast<unsigned char*>(::OPENSSL_malloc(digest.size()));
    if (imprint == nullptr) {
        return crypto::openssl_fail("allocating");
    }
    std::copy(digest.begin(), digest.end(), imprint);
    ::TS_VERIFY_CTX_set_imprint(ctx.get(), imprint, static_cast<long>(digest.size()));
    ::TS_VERIFY_CTX_set_flags(ctx.get(), TS_VFY_VERSION | TS_VFY_SIGNATURE | TS_VFY_IMPRINT);
    if (::TS_RESP_verify_token(ctx.get(), token.get()) != 1) {
        return std::unexpected(crypto::openssl_error(ErrorCode::invalid_argument, "the time-stamp token does not verify"));
    }
    return info;
}

}  // namespace selo::tsa
