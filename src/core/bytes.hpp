#pragma once
// Byte strings and their text encodings (hex, base64 per RFC 4648).

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.hpp"

namespace selo {

using Bytes = std::vector<std::uint8_t>;
using ByteView = std::span<const std::uint8_t>;

[[nodiscard]] inline ByteView as_bytes(std::string_view s) {
    return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()};
}
[[nodiscard]] inline std::string_view as_chars(ByteView b) {
    return {reinterpret_cast<const char*>(b.data()), b.size()};
}
[[nodiscard]] inline Bytes to_bytes(std::string_view s) {
    auto v = as_bytes(s);
    return Bytes(v.begin(), v.end());
}

// Lower-case hex.
[[nodiscard]] std::string hex_encode(ByteView data);
[[nodiscard]] std::string hex_encode_upper(ByteView data);
// Accepts upper or lower case; refuses odd length and non-hex characters.
[[nodiscard]] Result<Bytes> hex_decode(std::string_view text);

// RFC 4648 §4 base64 with padding.
[[nodiscard]] std::string base64_encode(ByteView data);
// Strict RFC 4648 §4 decoding: padding required, no whitespace, no stray characters, and the
// unused bits of the last character must be zero (so every input has one encoding).
[[nodiscard]] Result<Bytes> base64_decode(std::string_view text);
// RFC 4648 §5 base64url without padding, for tokens in URLs and headers.
[[nodiscard]] std::string base64url_encode(ByteView data);
[[nodiscard]] Result<Bytes> base64url_decode(std::string_view text);

// Constant-time equality (length is not secret).
[[nodiscard]] bool constant_time_equal(ByteView a, ByteView b) noexcept;

// Overwrites memory in a way the compiler cannot elide.
void secure_wipe(void* p, std::size_t n) noexcept;

// A byte buffer for secrets: wiped when destroyed or reassigned; not copyable by accident.
class SecretBytes {
public:
    SecretBytes() = default;
    explicit SecretBytes(std::size_t n) : data_(n) {}
    explicit SecretBytes(ByteView v) : data_(v.begin(), v.end()) {}
    SecretBytes(const SecretBytes&) = delete;
    SecretBytes& operator=(const SecretBytes&) = delete;
    SecretBytes(SecretBytes&& o) noexcept : data_(std::move(o.data_)) {}
    SecretBytes& operator=(SecretBytes&& o) noexcept {
        if (this != &o) {
            wipe();
            data_ = std::move(o.data_);
        }
        return *this;
    }
    ~SecretBytes() { wipe(); }

    [[nodiscard]] SecretBytes clone() const { return SecretBytes(view()); }
    [[nodiscard]] std::uint8_t* data() noexcept { return data_.data(); }
    [[nodiscard]] const std::uint8_t* data() const noexcept { return data_.data(); }
    [[nodiscard]] std::size_t size() const noexcept { return data_.size(); }
    [[nodiscard]] bool empty() const noexcept { return data_.empty(); }
    [[nodiscard]] ByteView view() const noexcept { return {data_.data(), data_.size()}; }
    [[nodiscard]] std::span<std::uint8_t> span() noexcept { return {data_.data(), data_.size()}; }
    void resize(std::size_t n) {
        if (n < data_.size()) {
            secure_wipe(data_.data() + n, data_.size() - n);
        }
        data_.resize(n);
    }

private:
    void wipe() noexcept {
        if (!data_.empty()) {
            secure_wipe(data_.data(), data_.size());
        }
    }
    std::vector<std::uint8_t> data_;
};

}  // namespace selo
