#pragma once
// Asymmetric keys: generation, (de)serialisation, and signing of precomputed digests.

#include <string>

#include "core/bytes.hpp"
#include "core/error.hpp"
#include "crypto/digest.hpp"
#include "crypto/openssl.hpp"

namespace selo::crypto {

enum class KeyType { ec_p256, ec_p384, rsa_2048, rsa_3072, rsa_4096 };

[[nodiscard]] std::string_view key_type_name(KeyType t) noexcept;
[[nodiscard]] Result<KeyType> key_type_from_name(std::string_view name);

[[nodiscard]] Result<EvpPkeyPtr> generate_key(KeyType type);

// PKCS#8 PrivateKeyInfo DER (unencrypted: callers seal it before it touches disk).
[[nodiscard]] Result<SecretBytes> private_key_to_der(EVP_PKEY* key);
[[nodiscard]] Result<EvpPkeyPtr> private_key_from_der(ByteView der);
// SubjectPublicKeyInfo DER.
[[nodiscard]] Result<Bytes> public_key_to_der(EVP_PKEY* key);
[[nodiscard]] Result<EvpPkeyPtr> public_key_from_der(ByteView der);

struct KeyDescription {
    std::string algorithm_oid;  // e.g. "1.2.840.10045.2.1" (id-ecPublicKey)
    int bits = 0;               // key size in bits (EC: field size)
    std::string curve_oid;      // named curve for EC keys, empty otherwise
    bool is_ec = false;
};
[[nodiscard]] Result<KeyDescription> describe_key(EVP_PKEY* key);

// Signs a precomputed digest: ECDSA gives a DER Ecdsa-Sig-Value; RSA gives PKCS#1 v1.5 over a
// DigestInfo for `alg`. `digest` must be exactly the size of `alg`'s output.
[[nodiscard]] Result<Bytes> sign_digest(EVP_PKEY* key, DigestAlgorithm alg, ByteView digest);
// Verifies a signature over a precomputed digest (the inverse of sign_digest).
[[nodiscard]] Result<bool> verify_digest(EVP_PKEY* key, DigestAlgorithm alg, ByteView digest,
                                         ByteView signature);

// Dotted OID of the signature algorithm sign_digest uses, e.g. ecdsa-with-SHA256.
[[nodiscard]] Result<std::string> signature_algorithm_oid(EVP_PKEY* key, DigestAlgorithm alg);

// Dotted text of an ASN.1 object identifier.
[[nodiscard]] std::string oid_text(const ASN1_OBJECT* obj);

}  // namespace selo::crypto
