#pragma once
// The data directory's master key: 32 random bytes in a file readable by its owner only.
// Every purpose gets its own subkey (HKDF with a purpose label), never the raw key.

#include <filesystem>
#include <string_view>

#include "core/bytes.hpp"
#include "core/error.hpp"
#include "core/rng.hpp"

namespace selo::crypto {

class MasterKey {
public:
    static constexpr std::size_t kSize = 32;

    // Creates the key file (mode 0600, O_EXCL: never overwrites) with fresh random bytes.
    static Result<MasterKey> create(const std::filesystem::path& file, Rng& rng);
    // Loads the key file; refuses a file that group or others can read or write.
    static Result<MasterKey> load(const std::filesystem::path& file);
    // For tests: a key from given bytes.
    static MasterKey from_bytes(ByteView bytes);

    // A 32-byte subkey for one purpose, e.g. "selo/keystore/v1".
    [[nodiscard]] Result<SecretBytes> derive(std::string_view purpose) const;
    // Raw key material, for combining with other secrets in an HKDF (e.g. with a PIN key).
    [[nodiscard]] ByteView material() const noexcept { return key_.view(); }

private:
    explicit MasterKey(SecretBytes key) : key_(std::move(key)) {}
    SecretBytes key_;
};

}  // namespace selo::crypto
