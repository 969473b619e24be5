#include "crypto/aead.hpp"

#include <climits>

#include "crypto/openssl.hpp"

namespace selo::crypto {
namespace {
constexpr std::uint8_t kVersion = 0x01;
constexpr std::size_t kNonce = 12;
constexpr std::size_t kTag = 16;
}  // namespace

Result<Bytes> aead_seal(ByteView key, ByteView plaintext, ByteView aad, Rng& rng) {
    if (key.size() != kAeadKeySize) {
        return fail(ErrorCode::internal, "AES-256-GCM key must be 32 bytes");
    }
    if (plaintext.size() > INT_MAX - 64 || aad.size() > INT_MAX) {
        return fail(ErrorCode::too_large, "plaintext too large to seal");
    }
    Bytes out(1 + kNonce + plaintext.size() + kTag);
    out[0] = kVersion;
    rng.fill(std::span(out.data() + 1, kNonce));
    EvpCipherCtxPtr ctx(::EVP_CIPHER_CTX_new());
    int len = 0;
    if (!ctx || ::EVP_EncryptInit_ex(ctx.get(), ::EVP_aes_256_gcm(), nullptr, nullptr, nullptr) != 1 ||
        ::EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_IVLEN, kNonce, nullptr) != 1 ||
        ::EVP_EncryptInit_ex(ctx.get(), nullptr, nullptr, key.data(), out.data() + 1) != 1) {
        return openssl_fail("AES-GCM init");
    }
    if (!aad.empty() &&
        ::EVP_EncryptUpdate(ctx.get(), nullptr, &len, aad.data(), static_cast<int>(aad.size())) != 1) {
        return openssl_fail("AES-GCM aad");
    }
    std::uint8_t* ct = out.data() + 1 + kNonce;
    if (!plaintext.empty() && ::EVP_EncryptUpdate(ctx.get(), ct, &len, plaintext.data(),
                                                  static_cast<int>(plaintext.size())) != 1) {
        return openssl_fail("AES-GCM encrypt");
    }
    int fin = 0;
    if (::EVP_EncryptFinal_ex(ctx.get(), ct + plaintext.size(), &fin) != 1 ||
        ::EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_GET_TAG, kTag, ct + plaintext.size()) != 1) {
        return openssl_fail("AES-GCM final");
    }
    return out;
}

Result<SecretBytes> aead_open(ByteView key, ByteView sealed, ByteView aad) {
    if (key.size() != kAeadKeySize) {
        return fail(ErrorCode::internal, "AES-256-GCM key must be 32 bytes");
    }
    if (sealed.size() < 1 + kNonce + kTag || sealed[0] != kVersion) {
        return fail(ErrorCode::malformed, "sealed data is truncated or of an unknown version");
    }
    std::size_t ct_len = sealed.size() - 1 - kNonce - kTag;
    if (ct_len > INT_MAX - 64 || aad.size() > INT_MAX) {
        return fail(ErrorCode::too_large, "sealed data too large");
    }
    const std::uint8_t* nonce = sealed.data() + 1;
    const std::uint8_t* ct = nonce + kNonce;
    Bytes tag(ct + ct_len, ct + ct_len + kTag);
    SecretBytes out(ct_len);
    EvpCipherCtxPtr ctx(::EVP_CIPHER_CTX_new());
    int len = 0;
    if (!ctx || ::EVP_DecryptInit_ex(ctx.get(), ::EVP_aes_256_gcm(), nullptr, nullptr, nullptr) != 1 ||
        ::EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_IVLEN, kNonce, nullptr) != 1 ||
        ::EVP_DecryptInit_ex(ctx.get(), nullptr, nullptr, key.data(), nonce) != 1) {
        return openssl_fail("AES-GCM init");
    }
    if (!aad.empty() &&
        ::EVP_DecryptUpdate(ctx.get(), nullptr, &len, aad.data(), static_cast<int>(aad.size())) != 1) {
        return openssl_fail("AES-GCM aad");
    }
    if (ct_len > 0 &&
        ::EVP_DecryptUpdate(ctx.get(), out.data(), &len, ct, static_cast<int>(ct_len)) != 1) {
        return openssl_fail("AES-GCM decrypt");
    }
    if (::EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_TAG, kTag, tag.data()) != 1) {
        return openssl_fail("AES-GCM tag");
    }
    int fin = 0;
    if (::EVP_DecryptFinal_ex(ctx.get(), out.data() + ct_len, &fin) != 1) {
        clear_errors();
        return fail(ErrorCode::unauthorized, "authentication of sealed data failed");
    }
    return out;
}

}  // namespace selo::crypto
