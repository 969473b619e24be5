#pragma once
// Authenticated encryption for secrets at rest: AES-256-GCM with a random 96-bit nonce.
// Sealed format: version byte 0x01 || nonce (12) || ciphertext || tag (16).

#include "core/bytes.hpp"
#include "core/error.hpp"
#include "core/rng.hpp"

namespace selo::crypto {

inline constexpr std::size_t kAeadKeySize = 32;

// Encrypts `plaintext` under `key` (32 bytes), binding `aad` (e.g. the record's id) to it.
[[nodiscard]] Result<Bytes> aead_seal(ByteView key, ByteView plaintext, ByteView aad, Rng& rng);
// Decrypts and authenticates; a wrong key, changed AAD or changed byte gives ErrorCode::unauthorized.
[[nodiscard]] Result<SecretBytes> aead_open(ByteView key, ByteView sealed, ByteView aad);

}  // namespace selo::crypto
