#pragma once
// Message digests: one-shot and streaming, by algorithm name or OID.

#include <cstddef>
#include <optional>
#include <string_view>

#include "core/bytes.hpp"
#include "core/error.hpp"
#include "crypto/openssl.hpp"

namespace selo::crypto {

enum class DigestAlgorithm { sha1, sha256, sha384, sha512 };

[[nodiscard]] const EVP_MD* evp_md(DigestAlgorithm alg) noexcept;
[[nodiscard]] std::size_t digest_size(DigestAlgorithm alg) noexcept;
// Dotted OID, e.g. "2.16.840.1.101.3.4.2.1" for SHA-256.
[[nodiscard]] std::string_view digest_oid(DigestAlgorithm alg) noexcept;
[[nodiscard]] std::optional<DigestAlgorithm> digest_from_oid(std::string_view oid) noexcept;
[[nodiscard]] std::string_view digest_name(DigestAlgorithm alg) noexcept;

// Incremental hashing, for inputs too large to hold in memory.
class Hasher {
public:
    explicit Hasher(DigestAlgorithm alg);
    void update(ByteView data);
    void update(std::string_view data) { update(as_bytes(data)); }
    // Finishes the digest; the hasher must not be used afterwards.
    [[nodiscard]] Bytes finish();
    [[nodiscard]] DigestAlgorithm algorithm() const noexcept { return alg_; }

private:
    DigestAlgorithm alg_;
    EvpMdCtxPtr ctx_;
};

[[nodiscard]] Bytes digest(DigestAlgorithm alg, ByteView data);
[[nodiscard]] inline Bytes sha256(ByteView data) { return digest(DigestAlgorithm::sha256, data); }
[[nodiscard]] inline Bytes sha256(std::string_view data) { return sha256(as_bytes(data)); }

}  // namespace selo::crypto
