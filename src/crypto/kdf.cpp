#include "crypto/kdf.hpp"

#include <argon2.h>
#include <openssl/core_names.h>
#include <openssl/kdf.h>

#include <array>

#include "crypto/openssl.hpp"

namespace selo::crypto {

Result<SecretBytes> hkdf_sha256(ByteView ikm, ByteView salt, ByteView info, std::size_t length) {
    EvpKdfPtr kdf(::EVP_KDF_fetch(nullptr, "HKDF", nullptr));
    if (!kdf) {
        return openssl_fail("HKDF unavailable");
    }
    EvpKdfCtxPtr ctx(::EVP_KDF_CTX_new(kdf.get()));
    if (!ctx) {
        return openssl_fail("HKDF context");
    }
    char digest[] = "SHA256";
    std::array<OSSL_PARAM, 5> params{};
    std::size_t n = 0;
    params[n++] = ::OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, digest, 0);
    params[n++] = ::OSSL_PARAM_construct_octet_string(
        OSSL_KDF_PARAM_KEY, const_cast<std::uint8_t*>(ikm.data()), ikm.size());
    if (!salt.empty()) {
        params[n++] = ::OSSL_PARAM_construct_octet_string(
            OSSL_KDF_PARAM_SALT, const_cast<std::uint8_t*>(salt.data()), salt.size());
    }
    params[n++] = ::OSSL_PARAM_construct_octet_string(
        OSSL_KDF_PARAM_INFO, const_cast<std::uint8_t*>(info.data()), info.size());
    params[n] = ::OSSL_PARAM_construct_end();
    SecretBytes out(length);
    if (::EVP_KDF_derive(ctx.get(), out.data(), out.size(), params.data()) != 1) {
        return openssl_fail("HKDF derive");
    }
    return out;
}

Result<SecretBytes> argon2id_raw(std::string_view secret, ByteView salt, const Argon2Params& p,
                                 std::size_t length) {
    SecretBytes out(length);
    int rc = ::argon2id_hash_raw(p.iterations, p.memory_kib, p.parallelism, secret.data(),
                                 secret.size(), salt.data(), salt.size(), out.data(), out.size());
    if (rc != ARGON2_OK) {
        return fail(ErrorCode::internal, "Argon2id: {}", ::argon2_error_message(rc));
    }
    return out;
}

Result<std::string> argon2id_hash_password(std::string_view password, const Argon2Params& p,
                                           Rng& rng) {
    Bytes salt = rng.bytes(16);
    constexpr std::size_t kHashLen = 32;
    std::size_t enc_len = ::argon2_encodedlen(p.iterations, p.memory_kib, p.parallelism,
                                              static_cast<std::uint32_t>(salt.size()), kHashLen,
                                              Argon2_id);
    std::string encoded(enc_len, '\0');
    int rc = ::argon2id_hash_encoded(p.iterations, p.memory_kib, p.parallelism, password.data(),
                                     password.size(), salt.data(), salt.size(), kHashLen,
                                     encoded.data(), encoded.size());
    if (rc != ARGON2_OK) {
        return fail(ErrorCode::internal, "Argon2id: {}", ::argon2_error_message(rc));
    }
    encoded.resize(std::char_traits<char>::length(encoded.c_str()));
    return encoded;
}

Result<bool> argon2id_verify_password(std::string_view password, std::string_view encoded) {
    std::string enc(encoded);
    int rc = ::argon2id_verify(enc.c_str(), password.data(), password.size());
    if (rc == ARGON2_OK) {
        return true;
    }
    if (rc == ARGON2_VERIFY_MISMATCH) {
        return false;
    }
    return fail(ErrorCode::internal, "Argon2id verifier: {}", ::argon2_error_message(rc));
}

}  // namespace selo::crypto
