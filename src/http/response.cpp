#include "http/response.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <ctime>

#include <boost/json/serialize.hpp>
#include <boost/json/stream_parser.hpp>

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
    boost::json::stream_parser parser({}, options);
    boost::system::error_code ec;
    std::size_t consumed = parser.write(body.data(), body.size(), ec);
    if (ec) {
        return fail(ErrorCode::malformed, "malformed JSON at {}: {}",
                    describe_position(body, consumed), ec.message());
    }
    parser.finish(ec);
    if (ec) {
        return fail(ErrorCode::malformed, "malformed JSON at {}: {}",
                    describe_position(body, body.size()), ec.message());
    }
    boost::json::value value = parser.release();
    if (!value.is_object()) {
        return fail(ErrorCode::malformed, "expected a JSON object at the top level, got {}",
                    json_kind(value));
    }
    return std::move(value.as_object());
}

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
