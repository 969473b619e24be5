#pragma once
// A small DER writer and reader (X.690 §10) for the certificate extensions OpenSSL has no
// builder for: qcStatements (ETSI EN 319 412-5, RFC 3739 §3.2.6).

#include <cstdint>
#include <string>
#include <string_view>

#include "core/bytes.hpp"
#include "core/error.hpp"

namespace selo::pki::der {

// Universal tags.
inline constexpr std::uint8_t kBoolean = 0x01;
inline constexpr std::uint8_t kInteger = 0x02;
inline constexpr std::uint8_t kNull = 0x05;
inline constexpr std::uint8_t kOid = 0x06;
inline constexpr std::uint8_t kUtf8String = 0x0c;
inline constexpr std::uint8_t kPrintableString = 0x13;
inline constexpr std::uint8_t kIa5String = 0x16;
inline constexpr std::uint8_t kSequence = 0x30;

// tag || length || content.
[[nodiscard]] Bytes tlv(std::uint8_t tag, ByteView content);
void append(Bytes& out, ByteView encoded);
[[nodiscard]] inline Bytes sequence(ByteView content) { return tlv(kSequence, content); }
// A non-negative INTEGER.
[[nodiscard]] Bytes integer(std::uint32_t value);
// A dotted OID ("0.4.0.1862.1.1"); ErrorCode::invalid_argument when it is not one.
[[nodiscard]] Result<Bytes> oid(std::string_view dotted);
// True when `dotted` is a well-formed OID in dotted form.
[[nodiscard]] bool is_oid(std::string_view dotted);
[[nodiscard]] Bytes printable_string(std::string_view s);
[[nodiscard]] Bytes ia5_string(std::string_view s);

// One parsed TLV, views into the input.
struct Tlv {
    std::uint8_t tag = 0;
    ByteView content;
};
// Reads one DER TLV from the front of `in` (single-byte tags, definite minimal lengths) and
// advances `in` past it. ErrorCode::malformed on truncation or a non-DER length.
[[nodiscard]] Result<Tlv> read(ByteView& in);
// The dotted form of an OBJECT IDENTIFIER's content octets; malformed when they are not one.
[[nodiscard]] Result<std::string> oid_text(ByteView content);

}  // namespace selo::pki::der
