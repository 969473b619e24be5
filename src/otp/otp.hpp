#pragma once
// One-time passwords: HOTP (RFC 4226), TOTP (RFC 6238), and the otpauth:// key URI that
// authenticator apps scan (Google Authenticator "Key Uri Format", the de-facto standard).

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "core/bytes.hpp"
#include "core/clock.hpp"
#include "core/error.hpp"
#include "crypto/digest.hpp"

namespace selo::otp {

// RFC 4648 §6 base32 (upper case, no padding when encoding; padding optional when decoding,
// lower case and spaces accepted because people type these from screens).
[[nodiscard]] std::string base32_encode(ByteView data);
[[nodiscard]] Result<Bytes> base32_decode(std::string_view text);

struct OtpParameters {
    crypto::DigestAlgorithm algorithm = crypto::DigestAlgorithm::sha1;  // what every app supports
    unsigned digits = 6;
    unsigned period_seconds = 30;
};

// RFC 4226 §5.3: HOTP value for `counter`, zero-padded to `digits`.
[[nodiscard]] std::string hotp(ByteView secret, std::uint64_t counter, const OtpParameters& p = {});
// RFC 6238 §4: the time step counter T = floor((now - T0) / X), T0 = 0.
[[nodiscard]] std::uint64_t totp_step(TimePoint now, const OtpParameters& p = {});
[[nodiscard]] std::string totp(ByteView secret, TimePoint now, const OtpParameters& p = {});

// Checks `code` against the steps now-window .. now+window (RFC 6238 §5.2) and returns the
// matching step. Steps <= `last_used_step` are refused so a code is accepted only once (§5.2:
// "the verifier MUST NOT accept the second attempt of the OTP after the successful validation").
// Comparison is constant-time per candidate.
[[nodiscard]] Result<std::uint64_t> verify_totp(ByteView secret, std::string_view code,
                                                TimePoint now,
                                                std::optional<std::uint64_t> last_used_step,
                                                unsigned window = 1, const OtpParameters& p = {});

// otpauth://totp/ISSUER:ACCOUNT?secret=...&issuer=ISSUER&algorithm=SHA1&digits=6&period=30
[[nodiscard]] std::string otpauth_uri(std::string_view issuer, std::string_view account,
                                      ByteView secret, const OtpParameters& p = {});

}  // namespace selo::otp
