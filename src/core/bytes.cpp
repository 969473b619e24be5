#include "core/bytes.hpp"

#include <cstring>
#include <string.h>  // explicit_bzero

namespace selo {
namespace {

constexpr char kHexLower[] = "0123456789abcdef";
constexpr char kHexUpper[] = "0123456789ABCDEF";
constexpr char kB64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
constexpr char kB64Url[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

int hex_value(char c) {
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    if (c >= 'a' && c <= 'f') {
        return c - 'a' + 10;
    }
    if (c >= 'A' && c <= 'F') {
        return c - 'A' + 10;
    }
    return -1;
}

std::string hex_with(ByteView data, const char* digits) {
    std::string out;
    out.reserve(data.size() * 2);
    for (auto b : data) {
        out.push_back(digits[b >> 4]);
        out.push_back(digits[b & 0x0f]);
    }
    return out;
}

std::string b64_encode(ByteView data, const char* alphabet, bool pad) {
    std::string out;
    out.reserve((data.size() + 2) / 3 * 4);
    std::size_t i = 0;
    for (; i + 3 <= data.size(); i += 3) {
        std::uint32_t v = (std::uint32_t{data[i]} << 16) | (std::uint32_t{data[i + 1]} << 8) | data[i + 2];
        out.push_back(alphabet[(v >> 18) & 63]);
        out.push_back(alphabet[(v >> 12) & 63]);
        out.push_back(alphabet[(v >> 6) & 63]);
        out.push_back(alphabet[v & 63]);
    }
    std::size_t rest = data.size() - i;
    if (rest == 1) {
        std::uint32_t v = std::uint32_t{data[i]} << 16;
        out.push_back(alphabet[(v >> 18) & 63]);
        out.push_back(alphabet[(v >> 12) & 63]);
        if (pad) {
            out.append("==");
        }
    } else if (rest == 2) {
        std::uint32_t v = (std::uint32_t{data[i]} << 16) | (std::uint32_t{data[i + 1]} << 8);
        out.push_back(alphabet[(v >> 18) & 63]);
        out.push_back(alphabet[(v >> 12) & 63]);
        out.push_back(alphabet[(v >> 6) & 63]);
        if (pad) {
            out.push_back('=');
        }
    }
    return out;
}

Result<Bytes> b64_decode(std::string_view text, bool url) {
    auto value = [url](char c) -> int {
        if (c >= 'A' && c <= 'Z') {
            return c - 'A';
        }
        if (c >= 'a' && c <= 'z') {
            return c - 'a' + 26;
        }
        if (c >= '0' && c <= '9') {
            return c - '0' + 52;
        }
        if (c == (url ? '-' : '+')) {
            return 62;
        }
        if (c == (url ? '_' : '/')) {
            return 63;
        }
        return -1;
    };
    std::size_t len = text.size();
    std::size_t pad = 0;
    if (!url) {
        if (len % 4 != 0) {
            return fail(ErrorCode::malformed, "base64 length {} is not a multiple of 4", len);
        }
        while (pad < 2 && len > pad && text[len - 1 - pad] == '=') {
            ++pad;
        }
    } else if (len % 4 == 1) {
        return fail(ErrorCode::malformed, "base64url length {} is impossible", len);
    }
    std::size_t body = len - pad;
    Bytes out;
    out.reserve(body * 3 / 4);
    std::uint32_t acc = 0;
    int bits = 0;
    for (std::size_t i = 0; i < body; ++i) {
        int v = value(text[i]);
        if (v < 0) {
            return fail(ErrorCode::malformed, "invalid base64 character at offset {}", i);
        }
        acc = (acc << 6) | static_cast<std::uint32_t>(v);
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out.push_back(static_cast<std::uint8_t>((acc >> bits) & 0xff));
        }
    }
    if (bits > 0 && (acc & ((1u << bits) - 1)) != 0) {
        return fail(ErrorCode::malformed, "base64 has non-zero padding bits");
    }
    return out;
}

}  // namespace

std::string hex_encode(ByteView data) { return hex_with(data, kHexLower); }
std::string hex_encode_upper(ByteView data) { return hex_with(data, kHexUpper); }

Result<Bytes> hex_decode(std::string_view text) {
    if (text.size() % 2 != 0) {
        return fail(ErrorCode::malformed, "hex string has odd length {}", text.size());
    }
    Bytes out(text.size() / 2);
    for (std::size_t i = 0; i < out.size(); ++i) {
        int hi = hex_value(text[2 * i]);
        int lo = hex_value(text[2 * i + 1]);
        if (hi < 0 || lo < 0) {
            return fail(ErrorCode::malformed, "invalid hex character near offset {}", 2 * i);
        }
        out[i] = static_cast<std::uint8_t>((hi << 4) | lo);
    }
    return out;
}

std::string base64_encode(ByteView data) { return b64_encode(data, kB64, true); }
Result<Bytes> base64_decode(std::string_view text) { return b64_decode(text, false); }
std::string base64url_encode(ByteView data) { return b64_encode(data, kB64Url, false); }
Result<Bytes> base64url_decode(std::string_view text) { return b64_decode(text, true); }

bool constant_time_equal(ByteView a, ByteView b) noexcept {
    if (a.size() != b.size()) {
        return false;
    }
    volatile std::uint8_t diff = 0;
    for (std::size_t i = 0; i < a.size(); ++i) {
        diff = diff | static_cast<std::uint8_t>(a[i] ^ b[i]);
    }
    return diff == 0;
}

void secure_wipe(void* p, std::size_t n) noexcept { ::explicit_bzero(p, n); }

}  // namespace selo
