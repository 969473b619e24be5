#pragma once
// A minimal DER writer (ITU-T X.690 §10) for the structures the TSA builds itself: TSTInfo, the
// CMS SignedData around it and TimeStampResp. Building them directly, from parts precomputed at
// start-up, keeps the per-request work to one digest, one signature and a few copies, with no
// shared mutable state (OpenSSL's TS_RESP_CTX is neither thread-safe nor cheap to clone).

#include <cstdint>
#include <initializer_list>
#include <string_view>

#include "core/bytes.hpp"
#include "core/clock.hpp"
#include "core/error.hpp"

namespace selo::tsa::der {

inline constexpr std::uint8_t kInteger = 0x02;
inline constexpr std::uint8_t kBitString = 0x03;
inline constexpr std::uint8_t kOctetString = 0x04;
inline constexpr std::uint8_t kNull = 0x05;
inline constexpr std::uint8_t kOid = 0x06;
inline constexpr std::uint8_t kUtf8String = 0x0c;
inline constexpr std::uint8_t kGeneralizedTime = 0x18;
inline constexpr std::uint8_t kSequence = 0x30;
inline constexpr std::uint8_t kSet = 0x31;

// Appends the definite-length encoding of `n` (short form below 128, else long form).
void append_length(Bytes& out, std::size_t n);
// Appends tag, length and content.
void append_tlv(Bytes& out, std::uint8_t tag, ByteView content);
// tag || length || concatenation of parts.
[[nodiscard]] Bytes tlv(std::uint8_t tag, std::initializer_list<ByteView> parts);
[[nodiscard]] inline Bytes sequence(std::initializer_list<ByteView> parts) { return tlv(kSequence, parts); }

// INTEGER from a non-negative big-endian magnitude (leading zeros dropped, a 0x00 added when the
// top bit is set, so the value stays positive).
[[nodiscard]] Bytes unsigned_integer(ByteView magnitude);
[[nodiscard]] Bytes small_integer(std::uint64_t value);
// OBJECT IDENTIFIER from dotted text; invalid_argument for text that is not an OID.
[[nodiscard]] Result<Bytes> oid(std::string_view dotted);
// GeneralizedTime in UTC with millisecond precision, trailing zeros of the fraction (and the
// fraction itself when zero) removed, as RFC 3161 §2.4.2 and X.690 §11.7 require.
[[nodiscard]] Bytes generalized_time(TimePoint t);
// The textual form generalized_time() encodes, e.g. "20250101120000.25Z".
[[nodiscard]] std::string generalized_time_text(TimePoint t);
// The same text written to `out` (no allocation, no time-zone lock); returns its length.
inline constexpr std::size_t kMaxGeneralizedTimeChars = 19;  // YYYYMMDDHHMMSS.fffZ
std::size_t generalized_time_chars(TimePoint t, char (&out)[kMaxGeneralizedTimeChars]);
// BIT STRING of a named bit list (X.690 §11.2.2: trailing zero bits removed) with `bit` set.
[[nodiscard]] Bytes named_bit(unsigned bit);

// Reads one TLV at the start of `in`: tag, content and the whole encoding's size. Only what the
// TSA needs to take its own encodings apart (definite lengths, one-byte tags).
struct Tlv {
    std::uint8_t tag = 0;
    ByteView content;
    std::size_t size = 0;
};
[[nodiscard]] Result<Tlv> read_tlv(ByteView in);

}  // namespace selo::tsa::der
