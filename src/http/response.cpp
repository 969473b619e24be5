#include "http/response.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <ctime>
#include <optional>
#include <stdexcept>

#include <string>
#include <unordered_set>
#include <vector>

#include <boost/json/basic_parser_impl.hpp>
#include <boost/json/error.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value_stack.hpp>

#include "http/router.hpp"

namespace selo::http {
namespace {

std::string_view trim(std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) {
        s.remove_prefix(1);
    }
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) {
        s.remove_suffix(1);
    }
    return s;
}

bool iequals(std::string_view a, std::string_view b) {
    return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
               return std::tolower(static_cast<unsigned char>(x)) ==
                      std::tolower(static_cast<unsigned char>(y));
           });
}

bool iends_with(std::string_view s, std::string_view suffix) {
    return s.size() >= suffix.size() && iequals(s.substr(s.size() - suffix.size()), suffix);
}

std::string_view json_kind(const boost::json::value& v) {
    switch (v.kind()) {
        case boost::json::kind::null:
            return "null";
        case boost::json::kind::bool_:
            return "a boolean";
        case boost::json::kind::int64:
        case boost::json::kind::uint64:
        case boost::json::kind::double_:
            return "a number";
        case boost::json::kind::string:
            return "a string";
        case boost::json::kind::array:
            return "an array";
        case boost::json::kind::object:
            return "an object";
    }
    return "an unknown value";
}

// "line 3, column 7 (byte 42)", 1-based, counting bytes rather than characters.
std::string describe_position(std::string_view text, std::size_t offset) {
    offset = std::min(offset, text.size());
    std::size_t line = 1;
    std::size_t line_start = 0;
    for (std::size_t i = 0; i < offset; ++i) {
        if (text[i] == '\n') {
            ++line;
            line_start = i + 1;
        }
    }
    return fmt::format("line {}, column {} (byte {})", line, offset - line_start + 1, offset);
}

// Refuses deeply nested documents before they can exhaust the stack of a later visitor.
constexpr std::size_t kMaxJsonDepth = 64;
// Longest part of an offending key quoted back in an error message.
constexpr std::size_t kMaxQuotedKey = 64;

// A basic_parser handler that builds the document exactly as boost::json::parser does (through a
// value_stack, so strings are copied once out of the input, as with the stock parser) and refuses
// duplicate member names. Boost.JSON's object keeps the last of duplicate keys silently; two
// validators that disagree on which one counts are a request smuggling hazard, so Selo takes
// I-JSON's rule (RFC 7493 §2.3: names MUST be unique) over RFC 8259 §4's SHOULD.
// Names compare after unescaping, code unit by code unit (RFC 8259 §8.3): "a" and "\u0061"
// are the same name.
class UniqueKeyHandler {
  public:
    static constexpr std::size_t max_object_size = boost::json::object::max_size();
    static constexpr std::size_t max_array_size = boost::json::array::max_size();
    static constexpr std::size_t max_key_size = boost::json::string::max_size();
    static constexpr std::size_t max_string_size = boost::json::string::max_size();

    UniqueKeyHandler(unsigned char* temp, std::size_t temp_size) : st({}, temp, temp_size) {
        st.reset();
    }

    bool on_document_begin(boost::system::error_code&) { return true; }
    bool on_document_end(boost::system::error_code&) { return true; }
    bool on_object_begin(boost::system::error_code&) {
        // One name set per open object; at most kMaxJsonDepth deep. An empty set does not
        // allocate until its first name.
        names.emplace_back();
        return true;
    }
    bool on_object_end(std::size_t n, boost::system::error_code&) {
        names.pop_back();
        st.push_object(n);
        return true;
    }
    bool on_array_begin(boost::system::error_code&) { return true; }
    bool on_array_end(std::size_t n, boost::system::error_code&) {
        st.push_array(n);
        return true;
    }
    bool on_key_part(std::string_view s, std::size_t, boost::system::error_code&) {
        // A name split by escapes or by the parser's buffer arrives in parts.
        partial_key.append(s);
        st.push_chars(s);
        return true;
    }
    bool on_key(std::string_view s, std::size_t, boost::system::error_code& ec) {
        std::string_view key = s;
        if (!partial_key.empty()) {
            partial_key.append(s);
            key = partial_key;
        }
        if (!names.back().emplace(key).second) {
            duplicate = std::string(key);
            // Any error stops the parser here; parse_json_object reports `duplicate` instead.
            ec = boost::json::error::syntax;
            return false;
        }
        partial_key.clear();
        st.push_key(s);
        return true;
    }
    bool on_string_part(std::string_view s, std::size_t, boost::system::error_code&) {
        st.push_chars(s);
        return true;
    }
    bool on_string(std::string_view s, std::size_t, boost::system::error_code&) {
        st.push_string(s);
        return true;
    }
    bool on_number_part(std::string_view, boost::system::error_code&) { return true; }
    bool on_int64(std::int64_t i, std::string_view, boost::system::error_code&) {
        st.push_int64(i);
        return true;
    }
    bool on_uint64(std::uint64_t u, std::string_view, boost::system::error_code&) {
        st.push_uint64(u);
        return true;
    }
    bool on_double(double d, std::string_view, boost::system::error_code&) {
        st.push_double(d);
        return true;
    }
    bool on_bool(bool b, boost::system::error_code&) {
        st.push_bool(b);
        return true;
    }
    bool on_null(boost::system::error_code&) {
        st.push_null();
        return true;
    }
    bool on_comment_part(std::string_view, boost::system::error_code&) { return true; }
    bool on_comment(std::string_view, boost::system::error_code&) { return true; }

    boost::json::value_stack st;
    std::vector<std::unordered_set<std::string>> names;
    std::string partial_key;
    std::optional<std::string> duplicate;
};

// Where the member name whose closing quote is at `close` starts: the nearest quote before it
// that is not escaped (preceded by an even number of backslashes). Inside a JSON string every
// quote is escaped, so that is the opening one. Returns `close` when it is not a quote.
std::size_t opening_quote(std::string_view text, std::size_t close) {
    if (close >= text.size() || text[close] != '"') {
        return close;
    }
    for (std::size_t i = close; i-- > 0;) {
        if (text[i] != '"') {
            continue;
        }
        std::size_t backslashes = 0;
        while (backslashes < i && text[i - 1 - backslashes] == '\\') {
            ++backslashes;
        }
        if (backslashes % 2 == 0) {
            return i;
        }
    }
    return close;
}

// A member name for an error message: JSON-quoted (control characters escaped), cut at a UTF-8
// character boundary when long.
std::string quote_key(std::string_view key) {
    if (key.size() > kMaxQuotedKey) {
        std::size_t cut = kMaxQuotedKey;
        while (cut > 0 && (static_cast<unsigned char>(key[cut]) & 0xC0) == 0x80) {
            --cut;
        }
        return boost::json::serialize(boost::json::string_view(key.substr(0, cut))) + "...";
    }
    return boost::json::serialize(boost::json::string_view(key));
}

}  // namespace

Response make_response(Status status, std::string body, std::string_view content_type) {
    Response res{status, 11};
    if (!content_type.empty()) {
        res.set(Field::content_type, content_type);
    }
    res.body() = std::move(body);
    return res;
}

Response text_response(Status status, std::string_view text) {
    std::string body(text);
    if (body.empty() || body.back() != '\n') {
        body.push_back('\n');
    }
    return make_response(status, std::move(body), kTextPlain);
}

Response json_response(Status status, const boost::json::value& value) {
    return make_response(status, boost::json::serialize(value), kApplicationJson);
}

Response binary_response(Status status, std::string body, std::string_view content_type) {
    return make_response(status, std::move(body), content_type);
}

Response binary_response(Status status, ByteView body, std::string_view content_type) {
    return make_response(status, std::string(as_chars(body)), content_type);
}

Response problem_response(const Problem& problem) {
    // RFC 9457 §3.2: extension members first, so the standard members cannot be overridden.
    boost::json::object doc = problem.extensions;
    doc["type"] = problem.type.empty() ? "about:blank" : problem.type;
    if (!problem.title.empty()) {
        doc["title"] = problem.title;
    } else if (problem.type.empty()) {
        // RFC 9457 §4.2.1: with about:blank, the title SHOULD be the status's reason phrase.
        doc["title"] = std::string(boost::beast::http::obsolete_reason(problem.status));
    }
    doc["status"] = static_cast<unsigned>(problem.status);
    if (!problem.detail.empty()) {
        doc["detail"] = problem.detail;
    }
    if (!problem.instance.empty()) {
        doc["instance"] = problem.instance;
    }
    return make_response(problem.status, boost::json::serialize(doc), kProblemJson);
}

Response problem_response(Status status, std::string_view detail) {
    Problem p;
    p.status = status;
    p.detail = std::string(detail);
    return problem_response(p);
}

Response problem_response(const Error& error) {
    Problem p;
    p.status = status_for(error.code);
    p.detail = error.code == ErrorCode::internal
                   ? "The server could not complete the request; the incident has been logged."
                   : error.message;
    p.extensions["code"] = std::string(to_string(error.code));
    return problem_response(p);
}

Status status_for(ErrorCode code) noexcept {
    switch (code) {
        case ErrorCode::malformed:
            return Status::bad_request;
        case ErrorCode::invalid_argument:
            return Status::unprocessable_entity;
        case ErrorCode::unauthorized:
            return Status::unauthorized;
        case ErrorCode::forbidden:
            return Status::forbidden;
        case ErrorCode::not_found:
            return Status::not_found;
        case ErrorCode::conflict:
            return Status::conflict;
        case ErrorCode::expired:
            return Status::bad_request;
        case ErrorCode::unsupported:
            return Status::not_implemented;
        case ErrorCode::too_large:
            return Status::payload_too_large;
        case ErrorCode::unavailable:
            return Status::service_unavailable;
        case ErrorCode::internal:
            return Status::internal_server_error;
    }
    return Status::internal_server_error;
}

bool is_json_media_type(std::string_view content_type) noexcept {
    std::string_view type = trim(content_type.substr(0, content_type.find(';')));
    return iequals(type, "application/json") || (type.size() > 5 && iends_with(type, "+json") &&
                                                 iequals(type.substr(0, 12), "application/"));
}

Result<boost::json::object> parse_json_object(const Request& request) {
    auto it = request.find(Field::content_type);
    if (it == request.end()) {
        return fail(ErrorCode::malformed, "request has no Content-Type; expected application/json");
    }
    std::string_view content_type = it->value();
    if (!is_json_media_type(content_type)) {
        return fail(ErrorCode::malformed, "Content-Type is \"{}\"; expected application/json",
                    content_type);
    }
    // Parameters: only a UTF-8 charset is meaningful for JSON (RFC 8259 §8.1, §11).
    std::string_view params =
        content_type.substr(std::min(content_type.find(';'), content_type.size()));
    while (!params.empty()) {
        params.remove_prefix(1);  // the ';'
        std::string_view param = trim(params.substr(0, params.find(';')));
        params = params.substr(std::min(params.find(';'), params.size()));
        auto eq = param.find('=');
        if (eq == std::string_view::npos) {
            continue;
        }
        std::string_view name = trim(param.substr(0, eq));
        std::string_view value = trim(param.substr(eq + 1));
        if (value.size() >= 2 && value.front() == '"' && value.back() == '"') {
            value = value.substr(1, value.size() - 2);
        }
        if (iequals(name, "charset") && !iequals(value, "utf-8") && !iequals(value, "utf8")) {
            return fail(ErrorCode::malformed, "JSON must be UTF-8 (RFC 8259 §8.1), got charset {}",
                        value);
        }
    }
    return parse_json_object(std::string_view(request.body()));
}

Result<boost::json::object> parse_json_object(std::string_view body) {
    if (trim(body).empty()) {
        return fail(ErrorCode::malformed, "request body is empty; expected a JSON object");
    }
    boost::json::parse_options options;
    options.max_depth = kMaxJsonDepth;
    // The same scratch buffer boost::json::parse uses, for numbers and short strings.
    unsigned char temp[BOOST_JSON_STACK_BUFFER_SIZE];
    boost::json::basic_parser<UniqueKeyHandler> parser(options, temp, sizeof temp);
    boost::system::error_code ec;
    // The whole body in one call (more = false): the input is complete, so the parser never
    // needs to copy it to resume later.
    std::size_t consumed = parser.write_some(false, body.data(), body.size(), ec);
    const auto& duplicate = parser.handler().duplicate;
    if (duplicate) {
        return fail(ErrorCode::malformed,
                    "malformed JSON at {}: duplicate member name {} (names must be unique, "
                    "RFC 7493 §2.3)",
                    describe_position(body, opening_quote(body, consumed)),
                    quote_key(*duplicate));
    }
    if (!ec && consumed < body.size()) {
        ec = boost::json::error::extra_data;
    }
    if (ec) {
        return fail(ErrorCode::malformed, "malformed JSON at {}: {}",
                    describe_position(body, consumed), ec.message());
    }
    boost::json::value value = parser.handler().st.release();
    if (!value.is_object()) {
        return fail(ErrorCode::malformed, "expected a JSON object at the top level, got {}",
                    json_kind(value));
    }
    return std::move(value.as_object());
}

// ---- ErrorRenderers ----

namespace {

Response text_error(const Request&, Status status, std::string_view message) {
    return text_response(status, message);
}

}  // namespace

ErrorRenderers::ErrorRenderers() : fallback_(text_error) {}

void ErrorRenderers::set(std::string_view path_prefix, ErrorRenderer renderer) {
    if (path_prefix.empty() || path_prefix.front() != '/') {
        throw std::invalid_argument(
            fmt::format("error renderer prefix \"{}\": must start with '/'", path_prefix));
    }
    std::erase_if(by_prefix_, [&](const auto& entry) { return entry.first == path_prefix; });
    if (!renderer) {
        return;
    }
    by_prefix_.emplace_back(std::string(path_prefix), std::move(renderer));
    // Longest first, so the first match is the most specific.
    std::stable_sort(by_prefix_.begin(), by_prefix_.end(), [](const auto& a, const auto& b) {
        return a.first.size() > b.first.size();
    });
}

void ErrorRenderers::set_fallback(ErrorRenderer renderer) {
    fallback_ = renderer ? std::move(renderer) : ErrorRenderer(text_error);
}

const ErrorRenderer& ErrorRenderers::for_target(std::string_view target) const {
    // The path as the router matches it; a target that is not a path has no prefix.
    if (auto path = target_path(target)) {
        for (const auto& [prefix, renderer] : by_prefix_) {
            if (path->starts_with(prefix)) {
                return renderer;
            }
        }
    }
    return fallback_;
}

Response ErrorRenderers::render(const Request& request, Status status,
                                std::string_view message) const {
    return for_target(request.target())(request, status, message);
}

// ---- dates ----

std::string format_http_date(TimePoint t) {
    static constexpr std::array<const char*, 7> kDays{"Sun", "Mon", "Tue", "Wed",
                                                      "Thu", "Fri", "Sat"};
    static constexpr std::array<const char*, 12> kMonths{"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                                         "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    std::time_t secs = static_cast<std::time_t>(unix_seconds(t));
    std::tm tm{};
    ::gmtime_r(&secs, &tm);
    // Names from fixed tables, not strftime: the format must not depend on the locale.
    return fmt::format("{}, {:02} {} {:04} {:02}:{:02}:{:02} GMT", kDays[tm.tm_wday % 7],
                       tm.tm_mday, kMonths[tm.tm_mon % 12], tm.tm_year + 1900, tm.tm_hour,
                       tm.tm_min, tm.tm_sec);
}

}  // namespace selo::http
