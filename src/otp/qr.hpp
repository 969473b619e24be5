#pragma once
// QR codes of otpauth:// key URIs, for authenticator apps to scan.

#include <string_view>

#include "core/bytes.hpp"
#include "core/error.hpp"

namespace selo::otp {

// A PNG image (8-bit greyscale, `scale` pixels per module, 4-module quiet zone, ISO/IEC 18004
// §6.3.8) of `text` as a QR code, error correction level M.
[[nodiscard]] Result<Bytes> qr_png(std::string_view text, unsigned scale = 6);

}  // namespace selo::otp
