#pragma once
// Key derivation: HKDF (RFC 5869) for keys from keys, Argon2id (RFC 9106) for keys from PINs
// and for password verifiers.

#include <cstdint>
#include <string>
#include <string_view>

#include "core/bytes.hpp"
#include "core/error.hpp"
#include "core/rng.hpp"

namespace selo::crypto {

// HKDF-SHA256 extract-and-expand.
[[nodiscard]] Result<SecretBytes> hkdf_sha256(ByteView ikm, ByteView salt, ByteView info,
                                              std::size_t length);

struct Argon2Params {
    std::uint32_t memory_kib = 64 * 1024;
    std::uint32_t iterations = 3;
    std::uint32_t parallelism = 1;
};

// Raw Argon2id output (e.g. 32 bytes of key material from a PIN and a per-credential salt).
[[nodiscard]] Result<SecretBytes> argon2id_raw(std::string_view secret, ByteView salt,
                                               const Argon2Params& params, std::size_t length);

// A PHC-format Argon2id verifier string ("$argon2id$v=19$m=...") with a fresh random salt.
[[nodiscard]] Result<std::string> argon2id_hash_password(std::string_view password,
                                                         const Argon2Params& params, Rng& rng);
// True when `password` matches the verifier; false on mismatch; an Error when the verifier is
// not a valid Argon2id string.
[[nodiscard]] Result<bool> argon2id_verify_password(std::string_view password,
                                                    std::string_view encoded);

}  // namespace selo::crypto
