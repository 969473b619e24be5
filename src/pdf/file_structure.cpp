#include "pdf/file_structure.hpp"

#include <algorithm>
#include <string_view>

namespace selo::pdf::detail {

namespace {

// ISO 32000-1 §7.2.2, Table 1.
bool is_pdf_whitespace(char c) {
    return c == ' ' || c == '\n' || c == '\r' || c == '\t' || c == '\f' || c == '\0';
}
bool is_digit(char c) {
    return c >= '0' && c <= '9';
}

// Parses up to 19 digits at `s[i]`, advancing `i`.
std::optional<std::uint64_t> parse_number(std::string_view s, std::size_t& i) {
    std::uint64_t v = 0;
    std::size_t digits = 0;
    while (i < s.size() && is_digit(s[i])) {
        if (++digits > 19) {
            return std::nullopt;
        }
        v = v * 10 + static_cast<std::uint64_t>(s[i] - '0');
        ++i;
    }
    if (digits == 0) {
        return std::nullopt;
    }
    return v;
}

void skip_whitespace(std::string_view s, std::size_t& i) {
    while (i < s.size() && is_pdf_whitespace(s[i])) {
        ++i;
    }
}

// What a cross-reference section starting at `s` looks like: the keyword "xref", or "n g obj"
// for a cross-reference stream. Leading whitespace is tolerated, as qpdf does.
XrefForm classify_section(std::string_view s) {
    std::size_t i = 0;
    skip_whitespace(s, i);
    if (s.substr(i, 4) == "xref") {
        return XrefForm::table;
    }
    if (!parse_number(s, i)) {
        return XrefForm::unknown;
    }
    const std::size_t before_gen = i;
    skip_whitespace(s, i);
    if (i == before_gen || !parse_number(s, i)) {
        return XrefForm::unknown;
    }
    const std::size_t before_obj = i;
    skip_whitespace(s, i);
    if (i == before_obj || s.substr(i, 3) != "obj") {
        return XrefForm::unknown;
    }
    return XrefForm::stream;
}

}  // namespace

ReadAt memory_reader(ByteView data) {
    return [data](std::uint64_t offset, std::size_t n) -> Result<Bytes> {
        if (offset >= data.size()) {
            return Bytes{};
        }
        const auto len = static_cast<std::size_t>(std::min<std::uint64_t>(n, data.size() - offset));
        const auto* p = data.data() + offset;
        return Bytes(p, p + len);
    };
}

Result<FileStructure> inspect_structure(std::uint64_t size, const ReadAt& read) {
    FileStructure fs;
    fs.size = size;
    if (size == 0) {
        return fail(ErrorCode::malformed, "the document is empty");
    }

    // ISO 32000-1 §7.5.2 wants the header at offset 0; readers (qpdf, poppler) look for it in
    // the first 1024 bytes and take offsets relative to it.
    const auto head = SELO_TRY(read(0, 1024));
    const auto head_text = as_chars(head);
    if (const auto pos = head_text.find("%PDF-"); pos != std::string_view::npos) {
        fs.header_offset = pos;
    }

    const std::size_t tail_len = static_cast<std::size_t>(std::min<std::uint64_t>(size, 1024));
    fs.tail = SELO_TRY(read(size - tail_len, tail_len));
    if (fs.tail.size() != tail_len) {
        return fail(ErrorCode::internal, "short read at the end of the document");
    }
    const char last = static_cast<char>(fs.tail.back());
    fs.ends_with_eol = last == '\n' || last == '\r';

    // §7.5.5: startxref is near the end; qpdf searches the last 1054 bytes for the last
    // "startxref" followed by a number, and so do we, so that both of us see the same section.
    const std::size_t window = static_cast<std::size_t>(std::min<std::uint64_t>(size, 1054));
    const auto end_bytes = SELO_TRY(read(size - window, window));
    const auto end_text = as_chars(end_bytes);
    std::size_t search_end = end_text.size();
    while (search_end > 0) {
        const auto pos = end_text.rfind("startxref", search_end - 1);
        if (pos == std::string_view::npos) {
            break;
        }
        std::size_t i = pos + 9;
        skip_whitespace(end_text, i);
        if (auto v = parse_number(end_text, i)) {
            fs.startxref = v;
            break;
        }
        search_end = pos;
    }

    if (fs.startxref) {
        const std::uint64_t at = fs.header_offset + *fs.startxref;
        if (at < size) {
            const auto section = SELO_TRY(read(at, 64));
            fs.last_xref = classify_section(as_chars(section));
        }
    }
    return fs;
}

}  // namespace selo::pdf::detail
