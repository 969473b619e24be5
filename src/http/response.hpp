#pragma once
// Building responses (text, JSON, binary, RFC 9457 problem details) and reading JSON request
// bodies. Handlers return these; the server adds the framing headers.

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include "core/bytes.hpp"
#include "core/clock.hpp"
#include "core/error.hpp"
#include "http/message.hpp"

namespace selo::http {

inline constexpr std::string_view kTextPlain = "text/plain; charset=utf-8";
inline constexpr std::string_view kApplicationJson = "application/json";
inline constexpr std::string_view kProblemJson = "application/problem+json";  // RFC 9457 §3

// A response with the given body and Content-Type (omitted when content_type is empty).
[[nodiscard]] Response make_response(Status status, std::string body,
                                     std::string_view content_type);

// A text/plain UTF-8 response; a trailing newline is added when missing (nicer under curl).
[[nodiscard]] Response text_response(Status status, std::string_view text);

// A JSON document, serialised compactly, as application/json.
[[nodiscard]] Response json_response(Status status, const boost::json::value& value);

// Opaque bytes (DER certificates, CRLs, OCSP and time-stamp responses) with their media type.
[[nodiscard]] Response binary_response(Status status, std::string body,
                                       std::string_view content_type);
[[nodiscard]] Response binary_response(Status status, ByteView body, std::string_view content_type);

// An RFC 9457 problem details object. `type` defaults to "about:blank" (§4.2.1), in which case
// `title` defaults to the status's reason phrase.
struct Problem {
    Status status = Status::internal_server_error;
    std::string type;      // a URI reference identifying the problem type; empty = about:blank
    std::string title;     // short, human-readable summary of the problem type
    std::string detail;    // explanation specific to this occurrence
    std::string instance;  // URI reference identifying this occurrence
    boost::json::object extensions;  // extension members (§3.2), e.g. {"errors": [...]}
};

// An application/problem+json response (RFC 9457 §3).
[[nodiscard]] Response problem_response(const Problem& problem);
[[nodiscard]] Response problem_response(Status status, std::string_view detail);
// Maps an internal Error to its status (status_for) and a problem document. Messages of
// `internal` errors are replaced by a generic sentence: internal details never leave the server
// (callers log them).
[[nodiscard]] Response problem_response(const Error& error);

// The default HTTP status for a transport-neutral error code. Protocol front ends (CSC, OCSP)
// may choose differently where their specification says so.
//   malformed 400, invalid_argument 422, unauthorized 401, forbidden 403, not_found 404,
//   conflict 409, expired 400, unsupported 501, too_large 413, unavailable 503, internal 500.
[[nodiscard]] Status status_for(ErrorCode code) noexcept;

// True for application/json and application/<anything>+json (RFC 6839 §3.1), parameters allowed,
// case-insensitive.
[[nodiscard]] bool is_json_media_type(std::string_view content_type) noexcept;

// Reads a JSON object request body. Refuses a Content-Type other than JSON (a charset parameter is
// accepted when it is UTF-8, RFC 8259 §8.1), an empty body, invalid UTF-8, a non-object top level,
// and syntax errors, which are reported with line, column and byte offset. All failures are
// ErrorCode::malformed.
[[nodiscard]] Result<boost::json::object> parse_json_object(const Request& request);
// The same for a body that has already been taken out of its message (no media-type check).
[[nodiscard]] Result<boost::json::object> parse_json_object(std::string_view body);

// Chooses how errors look from the request path: the renderer registered for the longest
// matching path prefix, else the fallback (text/plain unless set). Prefixes compare
// byte-for-byte with the raw path (the target up to '?', absolute-form reduced to its path, as
// the router matches), so "/csc/" covers "/csc/v2/info" but not "/cscx" or "/CSC/". A target
// that is not a path (or an empty one: the request line was unreadable) gets the fallback.
// Shared by Router (404/405/400) and Server (limits, malformed requests, 500).
class ErrorRenderers {
  public:
    ErrorRenderers();

    // Registers `renderer` for paths starting with `path_prefix`, replacing an earlier one for
    // the same prefix; an empty renderer removes the prefix. The prefix must start with '/'
    // (std::invalid_argument otherwise: renderer tables are built at start-up).
    void set(std::string_view path_prefix, ErrorRenderer renderer);
    // For paths no prefix matches; an empty renderer restores text/plain.
    void set_fallback(ErrorRenderer renderer);

    // The renderer for a request target.
    [[nodiscard]] const ErrorRenderer& for_target(std::string_view target) const;
    // for_target(request.target())(request, status, message).
    [[nodiscard]] Response render(const Request& request, Status status,
                                  std::string_view message) const;

  private:
    std::vector<std::pair<std::string, ErrorRenderer>> by_prefix_;  // longest prefix first
    ErrorRenderer fallback_;
};

// An IMF-fixdate (RFC 9110 §5.6.7), e.g. "Sun, 06 Nov 1994 08:49:37 GMT".
[[nodiscard]] std::string format_http_date(TimePoint t);

}  // namespace selo::http
