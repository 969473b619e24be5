#include "crypto/keys.hpp"

#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/objects.h>
#include <openssl/rsa.h>

namespace selo::crypto {

std::string_view key_type_name(KeyType t) noexcept {
    switch (t) {
        case KeyType::ec_p256: return "ec-p256";
        case KeyType::ec_p384: return "ec-p384";
        case KeyType::rsa_2048: return "rsa-2048";
        case KeyType::rsa_3072: return "rsa-3072";
        case KeyType::rsa_4096: return "rsa-4096";
    }
    return "";
}

Result<KeyType> key_type_from_name(std::string_view name) {
    for (auto t : {KeyType::ec_p256, KeyType::ec_p384, KeyType::rsa_2048, KeyType::rsa_3072,
                   KeyType::rsa_4096}) {
        if (key_type_name(t) == name) {
            return t;
        }
    }
    return fail(ErrorCode::invalid_argument,
                "unknown key type '{}' (ec-p256, ec-p384, rsa-2048, rsa-3072, rsa-4096)", name);
}

Result<EvpPkeyPtr> generate_key(KeyType type) {
    EVP_PKEY* raw = nullptr;
    switch (type) {
        case KeyType::ec_p256: raw = ::EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256"); break;
        case KeyType::ec_p384: raw = ::EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-384"); break;
        case KeyType::rsa_2048: raw = ::EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", size_t{2048}); break;
        case KeyType::rsa_3072: raw = ::EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", size_t{3072}); break;
        case KeyType::rsa_4096: raw = ::EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", size_t{4096}); break;
    }
    if (raw == nullptr) {
        return openssl_fail("key generation");
    }
    return EvpPkeyPtr(raw);
}

Result<SecretBytes> private_key_to_der(EVP_PKEY* key) {
    std::unique_ptr<PKCS8_PRIV_KEY_INFO, Free<&::PKCS8_PRIV_KEY_INFO_free>> p8(::EVP_PKEY2PKCS8(key));
    if (!p8) {
        return openssl_fail("PKCS#8 conversion");
    }
    int len = ::i2d_PKCS8_PRIV_KEY_INFO(p8.get(), nullptr);
    if (len <= 0) {
        return openssl_fail("PKCS#8 encoding");
    }
    SecretBytes out(static_cast<std::size_t>(len));
    unsigned char* p = out.data();
    if (::i2d_PKCS8_PRIV_KEY_INFO(p8.get(), &p) != len) {
        return openssl_fail("PKCS#8 encoding");
    }
    return out;
}

Result<EvpPkeyPtr> private_key_from_der(ByteView der) {
    const unsigned char* p = der.data();
    std::unique_ptr<PKCS8_PRIV_KEY_INFO, Free<&::PKCS8_PRIV_KEY_INFO_free>> p8(
        ::d2i_PKCS8_PRIV_KEY_INFO(nullptr, &p, static_cast<long>(der.size())));
    if (!p8 || p != der.data() + der.size()) {
        return openssl_fail("PKCS#8 private key does not parse", ErrorCode::malformed);
    }
    EvpPkeyPtr key(::EVP_PKCS82PKEY(p8.get()));
    if (!key) {
        return openssl_fail("PKCS#8 private key is unusable", ErrorCode::malformed);
    }
    return key;
}

Result<Bytes> public_key_to_der(EVP_PKEY* key) {
    int len = ::i2d_PUBKEY(key, nullptr);
    if (len <= 0) {
        return openssl_fail("SubjectPublicKeyInfo encoding");
    }
    Bytes out(static_cast<std::size_t>(len));
    unsigned char* p = out.data();
    ::i2d_PUBKEY(key, &p);
    return out;
}

Result<EvpPkeyPtr> public_key_from_der(ByteView der) {
    const unsigned char* p = der.data();
    EvpPkeyPtr key(::d2i_PUBKEY(nullptr, &p, static_cast<long>(der.size())));
    if (!key || p != der.data() + der.size()) {
        return openssl_fail("SubjectPublicKeyInfo does not parse", ErrorCode::malformed);
    }
    return key;
}

std::string oid_text(const ASN1_OBJECT* obj) {
    char buf[128];
    int n = ::OBJ_obj2txt(buf, sizeof buf, obj, 1);
    if (n <= 0) {
        return {};
    }
    return std::string(buf, std::min<std::size_t>(static_cast<std::size_t>(n), sizeof buf - 1));
}

Result<KeyDescription> describe_key(EVP_PKEY* key) {
    KeyDescription d;
    d.bits = ::EVP_PKEY_get_bits(key);
    switch (::EVP_PKEY_get_base_id(key)) {
        case EVP_PKEY_EC: {
            d.is_ec = true;
            d.algorithm_oid = "1.2.840.10045.2.1";
            char curve[64];
            std::size_t len = 0;
            if (::EVP_PKEY_get_utf8_string_param(key, OSSL_PKEY_PARAM_GROUP_NAME, curve,
                                                 sizeof curve, &len) != 1) {
                return openssl_fail("EC key has no named curve");
            }
            int nid = ::OBJ_sn2nid(curve);
            if (nid == NID_undef) {
                nid = ::EC_curve_nist2nid(curve);
            }
            d.curve_oid = oid_text(::OBJ_nid2obj(nid));  // a static object: never freed
            break;
        }
        case EVP_PKEY_RSA: d.algorithm_oid = "1.2.840.113549.1.1.1"; break;
        default: return fail(ErrorCode::unsupported, "unsupported key algorithm");
    }
    return d;
}

Result<Bytes> sign_digest(EVP_PKEY* key, DigestAlgorithm alg, ByteView digest) {
    if (digest.size() != digest_size(alg)) {
        return fail(ErrorCode::invalid_argument, "digest is {} bytes, {} needs {}", digest.size(),
                    digest_name(alg), digest_size(alg));
    }
    EvpPkeyCtxPtr ctx(::EVP_PKEY_CTX_new_from_pkey(nullptr, key, nullptr));
    if (!ctx || ::EVP_PKEY_sign_init(ctx.get()) != 1) {
        return openssl_fail("signature init");
    }
    if (::EVP_PKEY_get_base_id(key) == EVP_PKEY_RSA) {
        if (::EVP_PKEY_CTX_set_rsa_padding(ctx.get(), RSA_PKCS1_PADDING) != 1) {
            return openssl_fail("RSA padding");
        }
    }
    // With a signature digest set, RSA wraps the input in a DigestInfo; ECDSA only checks size.
    if (::EVP_PKEY_CTX_set_signature_md(ctx.get(), evp_md(alg)) != 1) {
        return openssl_fail("signature digest");
    }
    std::size_t len = 0;
    if (::EVP_PKEY_sign(ctx.get(), nullptr, &len, digest.data(), digest.size()) != 1) {
        return openssl_fail("signature size");
    }
    Bytes sig(len);
    if (::EVP_PKEY_sign(ctx.get(), sig.data(), &len, digest.data(), digest.size()) != 1) {
        return openssl_fail("signing");
    }
    sig.resize(len);
    return sig;
}

Result<bool> verify_digest(EVP_PKEY* key, DigestAlgorithm alg, ByteView digest,
                           ByteView signature) {
    EvpPkeyCtxPtr ctx(::EVP_PKEY_CTX_new_from_pkey(nullptr, key, nullptr));
    if (!ctx || ::EVP_PKEY_verify_init(ctx.get()) != 1) {
        return openssl_fail("verify init");
    }
    if (::EVP_PKEY_get_base_id(key) == EVP_PKEY_RSA &&
        ::EVP_PKEY_CTX_set_rsa_padding(ctx.get(), RSA_PKCS1_PADDING) != 1) {
        return openssl_fail("RSA padding");
    }
    if (::EVP_PKEY_CTX_set_signature_md(ctx.get(), evp_md(alg)) != 1) {
        return openssl_fail("signature digest");
    }
    int rc = ::EVP_PKEY_verify(ctx.get(), signature.data(), signature.size(), digest.data(),
                               digest.size());
    clear_errors();
    return rc == 1;
}

Result<std::string> signature_algorithm_oid(EVP_PKEY* key, DigestAlgorithm alg) {
    int base = ::EVP_PKEY_get_base_id(key);
    if (base == EVP_PKEY_EC) {
        switch (alg) {
            case DigestAlgorithm::sha256: return std::string("1.2.840.10045.4.3.2");
            case DigestAlgorithm::sha384: return std::string("1.2.840.10045.4.3.3");
            case DigestAlgorithm::sha512: return std::string("1.2.840.10045.4.3.4");
            case DigestAlgorithm::sha1: break;
        }
    } else if (base == EVP_PKEY_RSA) {
        switch (alg) {
            case DigestAlgorithm::sha256: return std::string("1.2.840.113549.1.1.11");
            case DigestAlgorithm::sha384: return std::string("1.2.840.113549.1.1.12");
            case DigestAlgorithm::sha512: return std::string("1.2.840.113549.1.1.13");
            case DigestAlgorithm::sha1: break;
        }
    }
    return fail(ErrorCode::unsupported, "no signature algorithm for this key with {}",
                digest_name(alg));
}

}  // namespace selo::crypto
