#include "sepbox/sanitise.hpp"

#include <algorithm>
#include <array>
#include <cstdint>
#include <optional>
#include <vector>

namespace selo::sepbox {
namespace {

constexpr std::size_t kMaxDepth = 64;

// Elements kept (without attributes, except a link's href).
constexpr std::array<std::string_view, 36> kAllowed = {
    "a",  "b",     "blockquote", "br",    "caption", "code",  "dd",    "div", "dl",
    "dt", "em",    "h1",         "h2",    "h3",      "h4",    "h5",    "h6",  "hr",
    "i",  "li",    "ol",         "p",     "pre",     "s",     "small", "span", "strong",
    "sub", "sup",  "table",      "tbody", "td",      "tfoot", "th",    "thead", "tr"};
// Also kept; listed apart because std::array's size is fixed above.
constexpr std::array<std::string_view, 2> kAllowedMore = {"u", "ul"};
// Elements whose whole content goes too: code, styles, embedded documents and raw-text elements.
constexpr std::array<std::string_view, 16> kDropWithContent = {
    "script", "style",    "iframe", "object",   "embed",  "noscript", "template", "textarea",
    "select", "svg",      "math",   "title",    "head",   "xmp",      "noembed",  "noframes"};
constexpr std::array<std::string_view, 2> kVoid = {"br", "hr"};
constexpr std::array<std::string_view, 14> kBlock = {"p",  "div", "br", "li", "h1", "h2",   "h3",
                                                     "h4", "h5",  "h6", "tr", "pre", "blockquote", "hr"};

template <std::size_t N>
bool in(const std::array<std::string_view, N>& list, std::string_view name) {
    return std::find(list.begin(), list.end(), name) != list.end();
}

bool allowed(std::string_view name) { return in(kAllowed, name) || in(kAllowedMore, name); }

bool is_alpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
bool is_alnum(char c) { return is_alpha(c) || (c >= '0' && c <= '9'); }
bool is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f'; }
char lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

std::string lowered(std::string_view s) {
    std::string out(s);
    std::transform(out.begin(), out.end(), out.begin(), lower);
    return out;
}

void append_utf8(std::string& out, std::uint32_t cp) {
    if (cp == 0 || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) {
        cp = 0xFFFD;
    }
    if (cp < 0x80) {
        out += static_cast<char>(cp);
    } else if (cp < 0x800) {
        out += static_cast<char>(0xC0 | (cp >> 6));
        out += static_cast<char>(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
        out += static_cast<char>(0xE0 | (cp >> 12));
        out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
        out += static_cast<char>(0x80 | (cp & 0x3F));
    } else {
        out += static_cast<char>(0xF0 | (cp >> 18));
        out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
        out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
        out += static_cast<char>(0x80 | (cp & 0x3F));
    }
}

// The length of a character reference at s[0] == '&' ("&amp;", "&#39;", "&#x27;"), 0 if none.
std::size_t entity_length(std::string_view s) {
    std::size_t i = 1;
    if (i < s.size() && s[i] == '#') {
        ++i;
        bool hex = i < s.size() && (s[i] == 'x' || s[i] == 'X');
        if (hex) {
            ++i;
        }
        std::size_t start = i;
        while (i < s.size() && i - start < 8 &&
               ((s[i] >= '0' && s[i] <= '9') ||
                (hex && ((s[i] >= 'a' && s[i] <= 'f') || (s[i] >= 'A' && s[i] <= 'F'))))) {
            ++i;
        }
        return (i > start && i < s.size() && s[i] == ';') ? i + 1 : 0;
    }
    std::size_t start = i;
    while (i < s.size() && i - start < 32 && is_alnum(s[i])) {
        ++i;
    }
    return (i > start && is_alpha(s[start]) && i < s.size() && s[i] == ';') ? i + 1 : 0;
}

// Decodes one character reference (as measured by entity_length); nullopt for a named one
// outside the few that mail uses.
std::optional<std::string> decode_entity(std::string_view ref) {
    std::string_view body = ref.substr(1, ref.size() - 2);
    std::string out;
    if (!body.empty() && body[0] == '#') {
        bool hex = body.size() > 1 && (body[1] == 'x' || body[1] == 'X');
        std::uint32_t cp = 0;
        for (char c : body.substr(hex ? 2 : 1)) {
            std::uint32_t d = (c >= '0' && c <= '9') ? static_cast<std::uint32_t>(c - '0')
                              : (c >= 'a' && c <= 'f') ? static_cast<std::uint32_t>(c - 'a' + 10)
                                                       : static_cast<std::uint32_t>(c - 'A' + 10);
            cp = cp * (hex ? 16 : 10) + d;
            if (cp > 0x10FFFF) {
                cp = 0x110000;
            }
        }
        append_utf8(out, cp);
        return out;
    }
    static const std::array<std::pair<std::string_view, std::string_view>, 13> named = {{
        {"amp", "&"}, {"lt", "<"}, {"gt", ">"}, {"quot", "\""}, {"apos", "'"},
        {"nbsp", "\u00a0"}, {"colon", ":"}, {"sol", "/"}, {"tab", "\t"}, {"newline", "\n"},
        {"copy", "\u00a9"}, {"reg", "\u00ae"}, {"euro", "\u20ac"},
    }};
    for (const auto& [name, value] : named) {
        if (body == name) {
            return std::string(value);
        }
    }
    return std::nullopt;
}

// Escapes text for an HTML text node or a double-quoted attribute value.
void escape_into(std::string& out, std::string_view s) {
    for (char c : s) {
        switch (c) {
            case '&': out += "&amp;"; break;
            case '<': out += "&lt;"; break;
            case '>': out += "&gt;"; break;
            case '"': out += "&quot;"; break;
            case '\'': out += "&#39;"; break;
            default:
                // Control characters other than tab, LF and CR have no business in mail.
                if (static_cast<unsigned char>(c) < 0x20 && c != '\t' && c != '\n' && c != '\r') {
                    break;
                }
                out += c;
        }
    }
}

// A link target that cannot run code: http, https or mailto after decoding references and
// removing the whitespace and control characters browsers ignore inside URLs.
std::optional<std::string> safe_href(std::string_view raw) {
    std::string decoded;
    for (std::size_t i = 0; i < raw.size();) {
        if (raw[i] == '&') {
            std::size_t n = entity_length(raw.substr(i));
            if (n == 0) {
                decoded += '&';
                ++i;
                continue;
            }
            auto d = decode_entity(raw.substr(i, n));
            if (!d) {
                return std::nullopt;
            }
            decoded += *d;
            i += n;
            continue;
        }
        decoded += raw[i++];
    }
    std::string url;
    for (char c : decoded) {
        if (static_cast<unsigned char>(c) > 0x20 && c != 0x7F) {
            url += c;
        }
    }
    std::string l = lowered(url);
    if (!l.starts_with("https://") && !l.starts_with("http://") && !l.starts_with("mailto:")) {
        return std::nullopt;
    }
    return url;
}

struct Tag {
    std::string name;  // lower case
    bool closing = false;
    bool self_closing = false;
    std::optional<std::string> href;  // raw value of an href attribute
    std::size_t end = 0;              // index just past '>' (or the input's end)
};

// Parses a tag starting at s[pos] == '<' followed by a letter, or '/' and a letter.
Tag parse_tag(std::string_view s, std::size_t pos) {
    Tag t;
    std::size_t i = pos + 1;
    if (s[i] == '/') {
        t.closing = true;
        ++i;
    }
    while (i < s.size() && is_alnum(s[i])) {
        t.name += lower(s[i++]);
    }
    while (i < s.size() && s[i] != '>') {
        if (is_space(s[i]) || s[i] == '/') {
            if (s[i] == '/' && i + 1 < s.size() && s[i + 1] == '>') {
                t.self_closing = true;
            }
            ++i;
            continue;
        }
        std::size_t name_start = i;
        while (i < s.size() && !is_space(s[i]) && s[i] != '/' && s[i] != '>' && s[i] != '=') {
            ++i;
        }
        // An attribute name may start with '=' (HTML §13.2.5.32): take it as part of the name.
        if (i == name_start) {
            ++i;
        }
        std::string attr = lowered(s.substr(name_start, i - name_start));
        while (i < s.size() && is_space(s[i])) {
            ++i;
        }
        std::string value;
        bool has_value = false;
        if (i < s.size() && s[i] == '=') {
            ++i;
            while (i < s.size() && is_space(s[i])) {
                ++i;
            }
            has_value = true;
            if (i < s.size() && (s[i] == '"' || s[i] == '\'')) {
                char q = s[i++];
                std::size_t close = s.find(q, i);
                if (close == std::string_view::npos) {
                    t.end = s.size();
                    return t;  // unterminated: the rest of the input is this tag
                }
                value = std::string(s.substr(i, close - i));
                i = close + 1;
            } else {
                std::size_t start = i;
                while (i < s.size() && !is_space(s[i]) && s[i] != '>') {
                    ++i;
                }
                value = std::string(s.substr(start, i - start));
            }
        }
        if (attr == "href" && has_value && !t.href) {
            t.href = value;
        }
    }
    t.end = i < s.size() ? i + 1 : s.size();
    return t;
}

// Index just past the end tag "</name ...>" (case-insensitive), or the input's end.
std::size_t skip_element_content(std::string_view s, std::size_t from, std::string_view name) {
    for (std::size_t i = s.find("</", from); i != std::string_view::npos; i = s.find("</", i + 2)) {
        std::size_t j = i + 2;
        std::size_t k = 0;
        while (k < name.size() && j + k < s.size() && lower(s[j + k]) == name[k]) {
            ++k;
        }
        if (k == name.size() && (j + k >= s.size() || !is_alnum(s[j + k]))) {
            std::size_t gt = s.find('>', j + k);
            return gt == std::string_view::npos ? s.size() : gt + 1;
        }
    }
    return s.size();
}

// Index just past a comment, doctype, CDATA section or processing instruction at s[pos] == '<'.
std::size_t skip_markup_declaration(std::string_view s, std::size_t pos) {
    std::string_view rest = s.substr(pos);
    std::string_view terminator = ">";
    if (rest.starts_with("<!--")) {
        terminator = "-->";
    } else if (rest.starts_with("<![CDATA[")) {
        terminator = "]]>";
    }
    std::size_t end = s.find(terminator, pos + 2);
    return end == std::string_view::npos ? s.size() : end + terminator.size();
}

enum class Mode { html, text };

std::string run(std::string_view s, Mode mode) {
    std::string out;
    out.reserve(s.size());
    std::vector<std::string> open;
    for (std::size_t i = 0; i < s.size();) {
        char c = s[i];
        if (c == '<' && i + 1 < s.size()) {
            char n = s[i + 1];
            if (n == '!' || n == '?') {
                i = skip_markup_declaration(s, i);
                continue;
            }
            if (is_alpha(n) || (n == '/' && i + 2 < s.size() && is_alpha(s[i + 2]))) {
                Tag t = parse_tag(s, i);
                i = t.end;
                if (!t.closing && in(kDropWithContent, t.name)) {
                    if (!t.self_closing) {
                        i = skip_element_content(s, i, t.name);
                    }
                    continue;
                }
                if (mode == Mode::text) {
                    if (in(kBlock, t.name) && (t.closing || in(kVoid, t.name)) && !out.empty() &&
                        out.back() != '\n') {
                        out += '\n';
                    }
                    continue;
                }
                if (!allowed(t.name)) {
                    continue;  // unknown or unsafe element: its tags go, its text stays
                }
                if (t.closing) {
                    auto it = std::find(open.rbegin(), open.rend(), t.name);
                    if (it == open.rend()) {
                        continue;
                    }
                    std::size_t keep = static_cast<std::size_t>(open.rend() - it) - 1;
                    while (open.size() > keep) {
                        out += "</" + open.back() + ">";
                        open.pop_back();
                    }
                    continue;
                }
                if (in(kVoid, t.name)) {
                    out += "<" + t.name + ">";
                    continue;
                }
                if (open.size() >= kMaxDepth) {
                    continue;
                }
                out += "<" + t.name;
                if (t.name == "a") {
                    if (t.href) {
                        if (auto url = safe_href(*t.href)) {
                            out += " href=\"";
                            escape_into(out, *url);
                            out += "\" rel=\"noopener noreferrer nofollow\"";
                        }
                    }
                }
                out += ">";
                if (!t.self_closing) {
                    open.push_back(t.name);
                } else {
                    out += "</" + t.name + ">";
                }
                continue;
            }
        }
        if (c == '&') {
            std::size_t len = entity_length(s.substr(i));
            if (len > 0) {
                if (mode == Mode::html) {
                    out += s.substr(i, len);  // a character reference is text in a text node
                } else if (auto d = decode_entity(s.substr(i, len))) {
                    out += *d;
                } else {
                    out += s.substr(i, len);
                }
                i += len;
                continue;
            }
        }
        if (mode == Mode::html) {
            escape_into(out, s.substr(i, 1));
        } else if (static_cast<unsigned char>(c) >= 0x20 || c == '\t' || c == '\n' || c == '\r') {
            out += c;
        }
        ++i;
    }
    while (!open.empty()) {
        out += "</" + open.back() + ">";
        open.pop_back();
    }
    if (mode == Mode::text) {
        while (!out.empty() && (out.back() == '\n' || out.back() == ' ')) {
            out.pop_back();
        }
    }
    return out;
}

}  // namespace

std::string sanitise_html(std::string_view html) { return run(html, Mode::html); }

std::string html_to_text(std::string_view html) { return run(html, Mode::text); }

}  // namespace selo::sepbox
