#include "pdf/syntax.hpp"

#include <chrono>
#include <cstdint>
#include <vector>

namespace selo::pdf {

namespace {

// Decodes UTF-8 into code points, refusing overlong forms, surrogates and values past U+10FFFF
// (RFC 3629 §3), so the UTF-16 we write is always well-formed.
Result<std::vector<char32_t>> decode_utf8(std::string_view s) {
    std::vector<char32_t> out;
    out.reserve(s.size());
    std::size_t i = 0;
    while (i < s.size()) {
        const auto b0 = static_cast<std::uint8_t>(s[i]);
        std::size_t len = 0;
        char32_t cp = 0;
        if (b0 < 0x80) {
            len = 1;
            cp = b0;
        } else if ((b0 & 0xE0) == 0xC0) {
            len = 2;
            cp = b0 & 0x1F;
        } else if ((b0 & 0xF0) == 0xE0) {
            len = 3;
            cp = b0 & 0x0F;
        } else if ((b0 & 0xF8) == 0xF0) {
            len = 4;
            cp = b0 & 0x07;
        } else {
            return fail(ErrorCode::invalid_argument, "invalid UTF-8 at byte {}", i);
        }
        if (i + len > s.size()) {
            return fail(ErrorCode::invalid_argument, "truncated UTF-8 sequence at byte {}", i);
        }
        for (std::size_t k = 1; k < len; ++k) {
            const auto b = static_cast<std::uint8_t>(s[i + k]);
            if ((b & 0xC0) != 0x80) {
                return fail(ErrorCode::invalid_argument, "invalid UTF-8 at byte {}", i + k);
            }
            cp = (cp << 6) | (b & 0x3F);
        }
        static constexpr char32_t min_for_len[] = {0, 0, 0x80, 0x800, 0x10000};
        if (cp < min_for_len[len] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) {
            return fail(ErrorCode::invalid_argument, "invalid UTF-8 code point at byte {}", i);
        }
        out.push_back(cp);
        i += len;
    }
    return out;
}

constexpr char hex_digits[] = "0123456789ABCDEF";

void append_hex16(std::string& out, std::uint16_t v) {
    out += hex_digits[(v >> 12) & 0xF];
    out += hex_digits[(v >> 8) & 0xF];
    out += hex_digits[(v >> 4) & 0xF];
    out += hex_digits[v & 0xF];
}

}  // namespace

std::string literal_string(std::string_view bytes) {
    std::string out;
    out.reserve(bytes.size() + 2);
    out += '(';
    for (char c : bytes) {
        const auto b = static_cast<std::uint8_t>(c);
        if (c == '\\' || c == '(' || c == ')') {
            // §7.3.4.2: balanced parentheses need no escape, but escaping all of them is always
            // correct and spares us checking the balance.
            out += '\\';
            out += c;
        } else if (b < 0x20 || b >= 0x7F) {
            // Octal escapes: a raw CR (or CRLF) inside a literal string is read as LF (§7.3.4.2),
            // and raw control bytes are fragile in transport.
            out += '\\';
            out += static_cast<char>('0' + ((b >> 6) & 7));
            out += static_cast<char>('0' + ((b >> 3) & 7));
            out += static_cast<char>('0' + (b & 7));
        } else {
            out += c;
        }
    }
    out += ')';
    return out;
}

Result<std::string> text_string(std::string_view utf8) {
    auto cps = SELO_TRY(decode_utf8(utf8));
    // PDFDocEncoding (Annex D) agrees with ASCII on the printable characters, tab, LF and CR,
    // but not on other control codes (0x18..0x1F are accents there): those go to UTF-16BE.
    bool pdfdoc_ascii = true;
    for (char32_t cp : cps) {
        if (!((cp >= 0x20 && cp <= 0x7E) || cp == '\t' || cp == '\n' || cp == '\r')) {
            pdfdoc_ascii = false;
            break;
        }
    }
    if (pdfdoc_ascii) {
        return literal_string(utf8);
    }
    // §7.9.2.2: UTF-16BE text strings start with the byte order marker 254 255. Non-ASCII text
    // always goes this way, even where PDFDocEncoding could hold it (João): one rule, and every
    // reader handles UTF-16BE.
    std::string out = "<FEFF";
    for (char32_t cp : cps) {
        if (cp >= 0x10000) {
            const char32_t v = cp - 0x10000;
            append_hex16(out, static_cast<std::uint16_t>(0xD800 + (v >> 10)));
            append_hex16(out, static_cast<std::uint16_t>(0xDC00 + (v & 0x3FF)));
        } else {
            append_hex16(out, static_cast<std::uint16_t>(cp));
        }
    }
    out += '>';
    return out;
}

Result<std::string> pdf_date(TimePoint t) {
    const auto secs = std::chrono::floor<std::chrono::seconds>(t);
    const auto days = std::chrono::floor<std::chrono::days>(secs);
    const std::chrono::year_month_day ymd{days};
    const std::chrono::hh_mm_ss hms{secs - days};
    const int year = static_cast<int>(ymd.year());
    if (year < 0 || year > 9999) {
        return fail(ErrorCode::invalid_argument, "year {} cannot be written as a PDF date", year);
    }
    return fmt::format("D:{:04}{:02}{:02}{:02}{:02}{:02}Z", year,
                       static_cast<unsigned>(ymd.month()), static_cast<unsigned>(ymd.day()),
                       hms.hours().count(), hms.minutes().count(), hms.seconds().count());
}

Result<void> check_field_name(std::string_view name) {
    if (name.empty()) {
        return fail(ErrorCode::invalid_argument, "signature field name is empty");
    }
    SELO_TRY_VOID(decode_utf8(name));
    if (name.find('.') != std::string_view::npos) {
        return fail(ErrorCode::invalid_argument,
                    "signature field name '{}' contains a period, which separates the parts of "
                    "a qualified field name (ISO 32000-1 §12.7.3.2)",
                    name);
    }
    return {};
}

}  // namespace selo::pdf
