#include "otp/otp.hpp"

#include <array>

#include "crypto/mac.hpp"

namespace selo::otp {
namespace {

constexpr char kBase32[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

// RFC 3986 §2.3 unreserved characters pass; everything else (UTF-8 bytes included) is
// percent-encoded, so a Chinese account label survives the URI.
std::string percent_encode(std::string_view s) {
    std::string out;
    for (unsigned char c : s) {
        if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
            c == '-' || c == '.' || c == '_' || c == '~') {
            out.push_back(static_cast<char>(c));
        } else {
            out += fmt::format("%{:02X}", c);
        }
    }
    return out;
}

std::uint64_t pow10(unsigned n) {
    std::uint64_t v = 1;
    while (n-- > 0) {
        v *= 10;
    }
    return v;
}

std::string_view algorithm_name(crypto::DigestAlgorithm a) {
    switch (a) {
        case crypto::DigestAlgorithm::sha1: return "SHA1";
        case crypto::DigestAlgorithm::sha256: return "SHA256";
        case crypto::DigestAlgorithm::sha384: return "SHA384";
        case crypto::DigestAlgorithm::sha512: return "SHA512";
    }
    return "SHA1";
}

}  // namespace

std::string base32_encode(ByteView data) {
    std::string out;
    std::uint32_t acc = 0;
    int bits = 0;
    for (auto b : data) {
        acc = (acc << 8) | b;
        bits += 8;
        while (bits >= 5) {
            bits -= 5;
            out.push_back(kBase32[(acc >> bits) & 31]);
        }
    }
    if (bits > 0) {
        out.push_back(kBase32[(acc << (5 - bits)) & 31]);
    }
    return out;
}

Result<Bytes> base32_decode(std::string_view text) {
    Bytes out;
    std::uint32_t acc = 0;
    int bits = 0;
    bool padding = false;
    for (char c : text) {
        if (c == ' ' || c == '-') {
            continue;
        }
        if (c == '=') {
            padding = true;
            continue;
        }
        if (padding) {
            return fail(ErrorCode::malformed, "base32 data after padding");
        }
        int v = -1;
        if (c >= 'A' && c <= 'Z') {
            v = c - 'A';
        } else if (c >= 'a' && c <= 'z') {
            v = c - 'a';
        } else if (c >= '2' && c <= '7') {
            v = c - '2' + 26;
        }
        if (v < 0) {
            return fail(ErrorCode::malformed, "invalid base32 character '{}'", c);
        }
        acc = (acc << 5) | static_cast<std::uint32_t>(v);
        bits += 5;
        if (bits >= 8) {
            bits -= 8;
            out.push_back(static_cast<std::uint8_t>((acc >> bits) & 0xff));
        }
    }
    return out;
}

std::string hotp(ByteView secret, std::uint64_t counter, const OtpParameters& p) {
    std::array<std::uint8_t, 8> msg{};
    for (int i = 7; i >= 0; --i) {
        msg[static_cast<std::size_t>(i)] = static_cast<std::uint8_t>(counter & 0xff);
        counter >>= 8;
    }
    Bytes mac = crypto::hmac(p.algorithm, secret, msg);
    // RFC 4226 §5.3 dynamic truncation.
    unsigned offset = mac.back() & 0x0f;
    std::uint32_t bin = (static_cast<std::uint32_t>(mac[offset] & 0x7f) << 24) |
                        (static_cast<std::uint32_t>(mac[offset + 1]) << 16) |
                        (static_cast<std::uint32_t>(mac[offset + 2]) << 8) |
                        static_cast<std::uint32_t>(mac[offset + 3]);
    std::uint64_t value = bin % pow10(p.digits);
    return fmt::format("{:0{}}", value, p.digits);
}

std::uint64_t totp_step(TimePoint now, const OtpParameters& p) {
    auto s = unix_seconds(now);
    if (s < 0) {
        return 0;
    }
    return static_cast<std::uint64_t>(s) / p.period_seconds;
}

std::string totp(ByteView secret, TimePoint now, const OtpParameters& p) {
    return hotp(secret, totp_step(now, p), p);
}

Result<std::uint64_t> verify_totp(ByteView secret, std::string_view code, TimePoint now,
                                  std::optional<std::uint64_t> last_used_step, unsigned window,
                                  const OtpParameters& p) {
    if (code.size() != p.digits ||
        code.find_first_not_of("0123456789") != std::string_view::npos) {
        return fail(ErrorCode::malformed, "the one-time password must be {} digits", p.digits);
    }
    std::uint64_t current = totp_step(now, p);
    std::uint64_t first = current >= window ? current - window : 0;
    std::optional<std::uint64_t> matched;
    for (std::uint64_t step = first; step <= current + window; ++step) {
        std::string candidate = hotp(secret, step, p);
        if (constant_time_equal(as_bytes(candidate), as_bytes(code)) && !matched) {
            matched = step;
        }
    }
    if (!matched) {
        return fail(ErrorCode::unauthorized, "the one-time password is wrong or has expired");
    }
    if (last_used_step && *matched <= *last_used_step) {
        return fail(ErrorCode::unauthorized, "the one-time password has already been used");
    }
    return *matched;
}

std::string otpauth_uri(std::string_view issuer, std::string_view account, ByteView secret,
                        const OtpParameters& p) {
    std::string label = percent_encode(issuer) + ":" + percent_encode(account);
    return fmt::format("otpauth://totp/{}?secret={}&issuer={}&algorithm={}&digits={}&period={}",
                       label, base32_encode(secret), percent_encode(issuer),
                       algorithm_name(p.algorithm), p.digits, p.period_seconds);
}

}  // namespace selo::otp
