#pragma once
// HMAC (RFC 2104) over the digests in digest.hpp.

#include "core/bytes.hpp"
#include "crypto/digest.hpp"

namespace selo::crypto {

[[nodiscard]] Bytes hmac(DigestAlgorithm alg, ByteView key, ByteView data);

}  // namespace selo::crypto
