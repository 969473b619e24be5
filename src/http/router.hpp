#pragma once
// Method + path-pattern routing, with a route table that can be listed (for the OpenAPI check).
//
// Patterns are absolute paths whose segments are literals or hold one named parameter, possibly
// with a literal prefix and suffix inside the segment: "/ca/{name}.crt",
// "/csc/v2/credentials/info". A final "{rest*}" segment is a greedy tail: it takes everything
// after the preceding '/', slashes included, exactly as received (OCSP GET puts url-encoded
// base64 in the path, RFC 6960 Appendix A.1, and clients send "/", "+" and "//" raw).
//
// Matching rules, chosen deliberately:
// - Matching is on the raw path (the target up to '?'), split at raw '/'. An encoded "%2F"
//   therefore never splits a segment. Literals compare byte-for-byte; there is no case folding,
//   no dot-segment removal and no trailing-slash equivalence ("/a/" is not "/a").
// - Parameter values are available raw and percent-decoded. Decoding turns "%XX" into the byte
//   and leaves '+' alone ('+' means space only in form-encoded queries). A malformed escape or
//   an encoded NUL in a matched parameter is a 400.
// - When several routes match, the most specific wins: segments compare left to right, literal
//   > parameter with prefix/suffix > bare parameter > greedy tail. Two routes of the same shape
//   (same method, same literals) are refused when added; any remaining tie goes to the route
//   registered first.
// - No route for the path: 404. Routes for the path, but not this method: 405 with Allow
//   (RFC 9110 §15.5.6). HEAD is served by the GET route when there is no HEAD route (the server
//   drops the body, RFC 9110 §9.3.2).

#include <array>
#include <cstddef>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/error.hpp"
#include "http/message.hpp"
#include "http/response.hpp"

namespace selo::http {

// Where a route's handler runs.
enum class Execution {
    worker,     // on the worker pool: may block (database, key derivation, signing)
    inline_io,  // directly on the I/O thread, no thread hop: only for cheap non-blocking handlers
};

// The parameters captured from a request path. Views stay valid while the request lives.
class PathParams {
  public:
    static constexpr std::size_t kMaxParams = 8;

    // Percent-decoded value of a parameter; empty when the pattern has no such parameter.
    [[nodiscard]] std::string_view get(std::string_view name) const noexcept;
    // The value exactly as it appeared in the request target.
    [[nodiscard]] std::string_view raw(std::string_view name) const noexcept;
    [[nodiscard]] bool contains(std::string_view name) const noexcept;
    [[nodiscard]] std::size_t size() const noexcept { return count_; }

  private:
    friend class Router;
    struct Param {
        std::string_view name;
        std::string_view raw;
        std::string decoded;  // used only when raw contains escapes
        bool has_decoded = false;
    };
    [[nodiscard]] const Param* find(std::string_view name) const noexcept;
    std::array<Param, kMaxParams> items_{};
    std::size_t count_ = 0;
};

using RouteHandler =
    std::function<Response(const Request&, const RequestContext&, const PathParams&)>;

// A route that answers through `respond`, now or later from any thread (see AsyncHandler in
// message.hpp: the request and params are valid until it has returned and responded).
using AsyncRouteHandler =
    std::function<void(const Request&, const RequestContext&, const PathParams&, Respond)>;

// A cheap first attempt at a worker route, made on the I/O thread: a response is sent at once,
// nullopt hands the request to the route's handler on the worker pool. It must not block (an
// in-memory lookup, e.g. a precomputed answer).
using FastPathHandler =
    std::function<std::optional<Response>(const Request&, const RequestContext&, const PathParams&)>;

struct RouteOptions {
    Execution execution = Execution::worker;
    std::string summary;  // one line for humans and the OpenAPI cross-check
    FastPathHandler fast_path;  // optional; see FastPathHandler
};

// One entry of the route table.
struct RouteInfo {
    Verb method = Verb::get;
    std::string pattern;
    Execution execution = Execution::worker;
    std::string summary;
};

class Router {
  public:
    Router();

    // Adds a route. A malformed pattern or a route that duplicates an existing one is a
    // programming error and throws std::invalid_argument (route tables are built at start-up).
    Router& add(Verb method, std::string_view pattern, RouteHandler handler,
                RouteOptions options = {});

    // Adds a route answered asynchronously: the handler starts work and returns. On the worker
    // pool by default; with Execution::inline_io it is started on the I/O thread when the server
    // has inline_async_handler() (else on a worker): only for handlers that never block.
    Router& add_async(Verb method, std::string_view pattern, AsyncRouteHandler handler,
                      RouteOptions options = {});

    // Answers a request: the route's response, or 400/404/405. Exceptions from route handlers
    // propagate (the server turns them into 500). An asynchronous route is waited for here
    // (blocking the caller); the server uses handle_async instead.
    [[nodiscard]] Response handle(const Request& request, const RequestContext& context) const;
    // The same, giving the response to `respond`: at once for synchronous routes and the
    // router's own errors, when the route responds for asynchronous ones.
    void handle_async(const Request& request, const RequestContext& context, Respond respond) const;

    // The inline half: answers routes marked inline_io, the router's own errors and what a
    // route's fast path answers, and returns nullopt for the rest (the server then calls
    // handle() on a worker thread).
    [[nodiscard]] std::optional<Response> handle_inline(const Request& request,
                                                        const RequestContext& context) const;

    // The I/O thread's second try (see InlineAsyncHandler): starts asynchronous routes marked
    // inline_io and returns true; false for every other request.
    [[nodiscard]] bool start_inline_async(const Request& request, const RequestContext& context,
                                          const std::function<Respond()>& take) const;

    // Adapters for Server. They refer to this router, which must outlive the server and not move.
    [[nodiscard]] Handler handler() const;
    [[nodiscard]] AsyncHandler async_handler() const;
    [[nodiscard]] InlineHandler inline_handler() const;
    [[nodiscard]] InlineAsyncHandler inline_async_handler() const;

    // The route table, in registration order (HEAD for GET routes is implied, not listed).
    [[nodiscard]] std::vector<RouteInfo> routes() const;

    // How the router's own errors (400, 404, 405) look. The one-argument form sets the fallback
    // (text/plain by default); the two-argument form registers a renderer for paths starting
    // with `path_prefix`, e.g. "/csc/" for CSC's JSON errors and "/api/" for problem+json (see
    // ErrorRenderers for the matching rules).
    void set_error_renderer(ErrorRenderer renderer);
    void set_error_renderer(std::string_view path_prefix, ErrorRenderer renderer);
    // The same table, for Server, so that its own errors (413, 431, 503...) match the router's.
    [[nodiscard]] const ErrorRenderers& error_renderers() const noexcept { return renderers_; }

  private:
    struct Segment {
        enum class Kind { literal, param, greedy };
        Kind kind = Kind::literal;
        std::string literal;  // whole segment for literals; prefix for params
        std::string suffix;
        std::string name;
    };
    struct Route {
        Verb method;
        std::string pattern;
        std::vector<Segment> segments;
        std::vector<unsigned char> rank;  // specificity, compared lexicographically
        RouteHandler handler;  // empty for asynchronous routes
        RouteOptions options;
        AsyncRouteHandler async_handler;
    };
    enum class Outcome { matched, not_found, method_not_allowed, bad_target };
    struct Match {
        Outcome outcome = Outcome::not_found;
        const Route* route = nullptr;
        std::string message;        // for bad_target
        std::uint64_t allowed = 0;  // bit per Verb, for 405
    };

    [[nodiscard]] Match find(const Request& request) const;
    // The matched route and its decoded params, or the router's error response.
    [[nodiscard]] std::optional<Response> resolve(const Request& request, const Match& m,
                                                  PathParams& params) const;
    [[nodiscard]] static bool match_segments(const Route& route, std::string_view path,
                                             PathParams* out);
    [[nodiscard]] Response error_response(const Request& request, const Match& match) const;
    // Fills in decoded values; false (with a message) on a malformed escape.
    [[nodiscard]] static bool decode_params(PathParams& params, std::string& message);

    // The first segment of a path ("ocsp" of "/ocsp/MEow..."; empty for "/").
    [[nodiscard]] static std::string_view first_segment(std::string_view path) noexcept;

    std::vector<Route> routes_;
    // Indexes into routes_, ascending, so that find() looks only at routes that can match: by
    // the literal first segment of their pattern ("" for "/"), and those whose first segment is
    // a parameter, which are candidates for every path. A sorted vector: a few dozen keys,
    // looked up per request, never changed while serving.
    std::vector<std::pair<std::string, std::vector<std::size_t>>> by_first_segment_;
    std::vector<std::size_t> any_first_segment_;
    ErrorRenderers renderers_;
};

// The path of a request target in origin-form ("/a/b?q") or absolute-form
// ("http://host/a/b?q", RFC 9112 §3.2.2), without the query. Refuses other forms.
[[nodiscard]] Result<std::string_view> target_path(std::string_view target);

// Percent-decodes a path component (RFC 3986 §2.1): "%XX" becomes the byte, '+' stays '+'.
// Refuses malformed escapes and encoded NUL bytes.
[[nodiscard]] Result<std::string> percent_decode(std::string_view text);

// The token of "Authorization: Bearer <token>" (RFC 6750 §2.1; the scheme is case-insensitive,
// RFC 9110 §11.1), or nullopt when there is no such header, more than one Authorization field,
// another scheme, or a token outside the b64token syntax. Takes the header alone, so that
// ServerLimits::body_limit_for can use it before the body is read; a Request converts. The view
// points into the header's field storage.
[[nodiscard]] std::optional<std::string_view> bearer_token(const RequestHeader& header);

// Decoded query parameters, in order, duplicates kept.
class QueryParams {
  public:
    using Entry = std::pair<std::string, std::string>;

    // The first value of a key, if present ("?a" gives an empty value).
    [[nodiscard]] std::optional<std::string_view> get(std::string_view key) const;
    // Every value of a key, in order.
    [[nodiscard]] std::vector<std::string_view> get_all(std::string_view key) const;
    [[nodiscard]] bool contains(std::string_view key) const;
    [[nodiscard]] const std::vector<Entry>& entries() const noexcept { return entries_; }

  private:
    friend Result<QueryParams> parse_query(std::string_view target);
    std::vector<Entry> entries_;
};

// Parses the query of a request target with Boost.URL, form-style: percent-decoded, '+' as
// space (the application/x-www-form-urlencoded convention that query strings use).
[[nodiscard]] Result<QueryParams> parse_query(std::string_view target);

}  // namespace selo::http
