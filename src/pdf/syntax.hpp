#pragma once
// Serialisation of the few PDF objects the signer writes itself (ISO 32000-1 §7.3, §7.9): text
// strings, dates, names of form fields. Everything else is serialised by qpdf's unparse().

#include <string>
#include <string_view>

#include "core/clock.hpp"
#include "core/error.hpp"

namespace selo::pdf {

// A PDF text string (ISO 32000-1 §7.9.2.2) for UTF-8 `text`, written as a complete string
// object: printable ASCII as an escaped literal string "(...)", anything else as UTF-16BE with
// the byte order mark FE FF in a hexadecimal string "<FEFF...>" (so no byte of it needs
// escaping). Refuses malformed UTF-8.
[[nodiscard]] Result<std::string> text_string(std::string_view utf8);

// A literal string object "(...)" holding `bytes` verbatim: backslash, parentheses and bytes that
// readers would normalise (CR, per §7.3.4.2) or that are not printable are escaped.
[[nodiscard]] std::string literal_string(std::string_view bytes);

// The PDF date string for `t` in UTC, "D:YYYYMMDDHHmmSSZ" (ISO 32000-1 §7.9.4), without the
// parentheses. Refuses years outside 0000..9999.
[[nodiscard]] Result<std::string> pdf_date(TimePoint t);

// Checks a form field's partial name (/T): non-empty, valid UTF-8, and no period, which
// separates partial names in a fully qualified name (ISO 32000-1 §12.7.3.2).
[[nodiscard]] Result<void> check_field_name(std::string_view name);

}  // namespace selo::pdf
