#include "http/router.hpp"

#include <algorithm>
#include <atomic>
#include <future>
#include <memory>
#include <stdexcept>

#include <boost/url/params_view.hpp>
#include <boost/url/parse_query.hpp>

#include "http/response.hpp"

namespace selo::http {
namespace {

std::uint64_t verb_bit(Verb v) {
    return std::uint64_t{1} << static_cast<unsigned>(v);
}

bool is_name_char(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
}

int hex_value(char c) {
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    if (c >= 'a' && c <= 'f') {
        return c - 'a' + 10;
    }
    if (c >= 'A' && c <= 'F') {
        return c - 'A' + 10;
    }
    return -1;
}

[[noreturn]] void bad_pattern(std::string_view pattern, std::string_view why) {
    throw std::invalid_argument(fmt::format("route pattern \"{}\": {}", pattern, why));
}

}  // namespace

// ---- PathParams ----

const PathParams::Param* PathParams::find(std::string_view name) const noexcept {
    for (std::size_t i = 0; i < count_; ++i) {
        if (items_[i].name == name) {
            return &items_[i];
        }
    }
    return nullptr;
}

std::string_view PathParams::get(std::string_view name) const noexcept {
    const Param* p = find(name);
    if (p == nullptr) {
        return {};
    }
    return p->has_decoded ? std::string_view(p->decoded) : p->raw;
}

std::string_view PathParams::raw(std::string_view name) const noexcept {
    const Param* p = find(name);
    return p == nullptr ? std::string_view{} : p->raw;
}

bool PathParams::contains(std::string_view name) const noexcept {
    return find(name) != nullptr;
}

// ---- Router ----

Router::Router() = default;

Router& Router::add_async(Verb method, std::string_view pattern, AsyncRouteHandler handler,
                          RouteOptions options) {
    if (!handler) {
        bad_pattern(pattern, "empty handler");
    }
    // A placeholder handler passes add()'s checks; it is dropped once the route is in.
    add(method, pattern, [](const Request&, const RequestContext&, const PathParams&) {
        return Response{};
    }, std::move(options));
    routes_.back().handler = nullptr;
    routes_.back().async_handler = std::move(handler);
    return *this;
}

Router& Router::add(Verb method, std::string_view pattern, RouteHandler handler,
                    RouteOptions options) {
    if (method == Verb::unknown) {
        bad_pattern(pattern, "unknown method");
    }
    if (!handler) {
        bad_pattern(pattern, "empty handler");
    }
    if (pattern.empty() || pattern.front() != '/') {
        bad_pattern(pattern, "must start with '/'");
    }
    Route route{method, std::string(pattern), {}, {}, std::move(handler), std::move(options)};
    std::size_t param_count = 0;
    if (pattern != "/") {
        std::string_view rest = pattern.substr(1);
        while (true) {
            std::size_t slash = rest.find('/');
            std::string_view piece = rest.substr(0, slash);
            bool last = slash == std::string_view::npos;
            if (piece.empty()) {
                bad_pattern(pattern, "empty segment (\"//\" or trailing '/')");
            }
            Segment seg;
            std::size_t open = piece.find('{');
            if (open == std::string_view::npos) {
                if (piece.find_first_of("}?#%") != std::string_view::npos) {
                    bad_pattern(pattern, "literal segments must not contain '}', '?', '#' or '%'");
                }
                seg.kind = Segment::Kind::literal;
                seg.literal = std::string(piece);
            } else {
                std::size_t close = piece.find('}', open);
                if (close == std::string_view::npos) {
                    bad_pattern(pattern, "unterminated '{'");
                }
                std::string_view name = piece.substr(open + 1, close - open - 1);
                std::string_view prefix = piece.substr(0, open);
                std::string_view suffix = piece.substr(close + 1);
                if (prefix.find_first_of("{}?#%") != std::string_view::npos ||
                    suffix.find_first_of("{}?#%") != std::string_view::npos) {
                    bad_pattern(pattern, "one parameter per segment, literals without '{}?#%'");
                }
                if (!name.empty() && name.back() == '*') {
                    name.remove_suffix(1);
                    if (!last || !prefix.empty() || !suffix.empty()) {
                        bad_pattern(pattern, "a greedy {name*} must be the whole last segment");
                    }
                    seg.kind = Segment::Kind::greedy;
                } else {
                    seg.kind = Segment::Kind::param;
                }
                if (name.empty() || !std::all_of(name.begin(), name.end(), is_name_char)) {
                    bad_pattern(pattern, "parameter names are [A-Za-z0-9_]+");
                }
                for (const Segment& other : route.segments) {
                    if (other.kind != Segment::Kind::literal && other.name == name) {
                        bad_pattern(pattern, "duplicate parameter name");
                    }
                }
                if (++param_count > PathParams::kMaxParams) {
                    bad_pattern(pattern, "too many parameters");
                }
                seg.literal = std::string(prefix);
                seg.suffix = std::string(suffix);
                seg.name = std::string(name);
            }
            route.rank.push_back(seg.kind == Segment::Kind::literal ? 3
                                 : seg.kind == Segment::Kind::greedy
                                     ? 0
                                     : (seg.literal.empty() && seg.suffix.empty() ? 1 : 2));
            route.segments.push_back(std::move(seg));
            if (last) {
                break;
            }
            rest = rest.substr(slash + 1);
        }
    }
    // Two routes with the same method and the same shape (parameter names aside) would always
    // tie: that is a mistake in the route table.
    for (const Route& other : routes_) {
        if (other.method != method || other.segments.size() != route.segments.size()) {
            continue;
        }
        bool same = std::equal(other.segments.begin(), other.segments.end(), route.segments.begin(),
                               [](const Segment& a, const Segment& b) {
                                   return a.kind == b.kind && a.literal == b.literal &&
                                          a.suffix == b.suffix;
                               });
        if (same) {
            bad_pattern(pattern, fmt::format("duplicates route {} {}",
                                             std::string_view(to_string(method)), other.pattern));
        }
    }
    std::size_t index = routes_.size();
    if (route.segments.empty() || route.segments.front().kind == Segment::Kind::literal) {
        std::string key = route.segments.empty() ? std::string() : route.segments.front().literal;
        auto it = std::lower_bound(by_first_segment_.begin(), by_first_segment_.end(), key,
                                   [](const auto& entry, const std::string& k) { return entry.first < k; });
        if (it == by_first_segment_.end() || it->first != key) {
            it = by_first_segment_.insert(it, {std::move(key), {}});
        }
        it->second.push_back(index);
    } else {
        any_first_segment_.push_back(index);
    }
    routes_.push_back(std::move(route));
    return *this;
}

std::string_view Router::first_segment(std::string_view path) noexcept {
    std::string_view rest = path.substr(1);  // path[0] is '/'
    return rest.substr(0, rest.find('/'));
}

bool Router::match_segments(const Route& route, std::string_view path, PathParams* out) {
    if (route.segments.empty()) {
        return path == "/";
    }
    std::size_t pos = 1;  // path[0] is '/'
    for (std::size_t i = 0; i < route.segments.size(); ++i) {
        const Segment& seg = route.segments[i];
        if (seg.kind == Segment::Kind::greedy) {
            if (out != nullptr) {
                out->items_[out->count_++] =
                    PathParams::Param{seg.name, path.substr(pos), {}, false};
            }
            return true;
        }
        if (pos > path.size()) {
            return false;
        }
        std::size_t end = path.find('/', pos);
        std::string_view piece =
            path.substr(pos, end == std::string_view::npos ? std::string_view::npos : end - pos);
        if (seg.kind == Segment::Kind::literal) {
            if (piece != seg.literal) {
                return false;
            }
        } else {
            // A parameter matches at least one byte between its prefix and suffix.
            if (piece.size() <= seg.literal.size() + seg.suffix.size() ||
                !piece.starts_with(seg.literal) || !piece.ends_with(seg.suffix)) {
                return false;
            }
            if (out != nullptr) {
                std::string_view value = piece.substr(
                    seg.literal.size(), piece.size() - seg.literal.size() - seg.suffix.size());
                out->items_[out->count_++] = PathParams::Param{seg.name, value, {}, false};
            }
        }
        bool last = i + 1 == route.segments.size();
        if (last) {
            return end == std::string_view::npos;
        }
        if (end == std::string_view::npos) {
            return false;
        }
        pos = end + 1;
    }
    return false;
}

Router::Match Router::find(const Request& request) const {
    Match m;
    auto path = target_path(request.target());
    if (!path) {
        m.outcome = Outcome::bad_target;
        m.message = path.error().message;
        return m;
    }
    const Verb method = request.method();
    const Route* best = nullptr;
    const Route* best_get = nullptr;
    auto better = [](const Route& a, const Route* b) {
        return b == nullptr || std::lexicographical_compare(b->rank.begin(), b->rank.end(),
                                                            a.rank.begin(), a.rank.end());
    };
    // The candidates in registration order (the order ties are broken in): the routes whose
    // first literal segment is the path's, merged with those that start with a parameter.
    // No other route can match.
    static const std::vector<std::size_t> kNone;
    const std::string_view first = first_segment(*path);
    auto bucket = std::lower_bound(by_first_segment_.begin(), by_first_segment_.end(), first,
                                   [](const auto& entry, std::string_view k) { return entry.first < k; });
    const std::vector<std::size_t>& literal =
        bucket != by_first_segment_.end() && bucket->first == first ? bucket->second : kNone;
    auto a = literal.begin();
    auto b = any_first_segment_.begin();
    while (a != literal.end() || b != any_first_segment_.end()) {
        std::size_t index;
        if (b == any_first_segment_.end() || (a != literal.end() && *a < *b)) {
            index = *a++;
        } else {
            index = *b++;
        }
        const Route& r = routes_[index];
        if (!match_segments(r, *path, nullptr)) {
            continue;
        }
        m.allowed |= verb_bit(r.method);
        if (r.method == method) {
            if (better(r, best)) {
                best = &r;
            }
        } else if (method == Verb::head && r.method == Verb::get) {
            if (better(r, best_get)) {
                best_get = &r;
            }
        }
    }
    if (best == nullptr) {
        best = best_get;
    }
    if (best != nullptr) {
        m.outcome = Outcome::matched;
        m.route = best;
    } else if (m.allowed != 0) {
        m.outcome = Outcome::method_not_allowed;
    }
    return m;
}

Response Router::error_response(const Request& request, const Match& match) const {
    switch (match.outcome) {
        case Outcome::bad_target:
            return renderers_.render(request, Status::bad_request, match.message);
        case Outcome::method_not_allowed: {
            std::uint64_t allowed = match.allowed;
            if ((allowed & verb_bit(Verb::get)) != 0) {
                allowed |= verb_bit(Verb::head);
            }
            std::string allow;
            for (unsigned v = 0; v < 64; ++v) {
                if ((allowed & (std::uint64_t{1} << v)) != 0) {
                    if (!allow.empty()) {
                        allow += ", ";
                    }
                    allow += to_string(static_cast<Verb>(v));
                }
            }
            Response res =
                renderers_.render(request, Status::method_not_allowed,
                              fmt::format("method {} is not allowed here; allowed: {}",
                                          std::string_view(request.method_string()), allow));
            // RFC 9110 §15.5.6: a 405 MUST carry Allow.
            res.set(Field::allow, allow);
            return res;
        }
        case Outcome::not_found:
        case Outcome::matched:
            break;
    }
    return renderers_.render(request, Status::not_found, "no such resource");
}

std::optional<Response> Router::resolve(const Request& request, const Match& match,
                                        PathParams& params) const {
    if (match.outcome != Outcome::matched) {
        return error_response(request, match);
    }
    std::string_view path = *target_path(request.target());
    (void)match_segments(*match.route, path, &params);
    std::string message;
    if (!decode_params(params, message)) {
        Match bad = match;
        bad.outcome = Outcome::bad_target;
        bad.message = std::move(message);
        return error_response(request, bad);
    }
    return std::nullopt;
}

Response Router::handle(const Request& request, const RequestContext& context) const {
    Match m = find(request);
    PathParams params;
    if (auto error = resolve(request, m, params)) {
        return std::move(*error);
    }
    if (m.route->handler) {
        return m.route->handler(request, context, params);
    }
    // An asynchronous route called synchronously (tests, in-process callers): wait for it.
    auto promise = std::make_shared<std::promise<Response>>();
    auto answered = std::make_shared<std::atomic<bool>>(false);
    std::future<Response> future = promise->get_future();
    m.route->async_handler(request, context, params, [promise, answered](Response&& res) {
        if (!answered->exchange(true)) {
            promise->set_value(std::move(res));
        }
    });
    return future.get();  // broken_promise (an exception, hence 500) if it never responds
}

void Router::handle_async(const Request& request, const RequestContext& context,
                          Respond respond) const {
    Match m = find(request);
    PathParams params;
    if (auto error = resolve(request, m, params)) {
        respond(std::move(*error));
        return;
    }
    if (m.route->handler) {
        respond(m.route->handler(request, context, params));
        return;
    }
    m.route->async_handler(request, context, params, std::move(respond));
}

std::optional<Response> Router::handle_inline(const Request& request,
                                              const RequestContext& context) const {
    Match m = find(request);
    if (m.outcome != Outcome::matched) {
        return error_response(request, m);
    }
    if (m.route->options.fast_path && m.route->options.execution != Execution::inline_io) {
        PathParams params;
        if (auto error = resolve(request, m, params)) {
            return error;
        }
        return m.route->options.fast_path(request, context, params);
    }
    if (m.route->options.execution != Execution::inline_io || !m.route->handler) {
        return std::nullopt;  // a worker's, or an asynchronous route (start_inline_async)
    }
    // Matched again inside handle(): cheap compared with what a worker hop saves.
    return handle(request, context);
}

bool Router::start_inline_async(const Request& request, const RequestContext& context,
                                const std::function<Respond()>& take) const {
    Match m = find(request);
    if (m.outcome != Outcome::matched || m.route->handler ||
        m.route->options.execution != Execution::inline_io) {
        return false;
    }
    PathParams params;
    if (auto error = resolve(request, m, params)) {
        take()(std::move(*error));
        return true;
    }
    m.route->async_handler(request, context, params, take());
    return true;
}

AsyncHandler Router::async_handler() const {
    return [this](const Request& req, const RequestContext& ctx, Respond respond) {
        handle_async(req, ctx, std::move(respond));
    };
}

Handler Router::handler() const {
    return [this](const Request& req, const RequestContext& ctx) { return handle(req, ctx); };
}

InlineHandler Router::inline_handler() const {
    return
        [this](const Request& req, const RequestContext& ctx) { return handle_inline(req, ctx); };
}

InlineAsyncHandler Router::inline_async_handler() const {
    return [this](const Request& req, const RequestContext& ctx, const std::function<Respond()>& take) {
        return start_inline_async(req, ctx, take);
    };
}

std::vector<RouteInfo> Router::routes() const {
    std::vector<RouteInfo> out;
    out.reserve(routes_.size());
    for (const Route& r : routes_) {
        out.push_back(RouteInfo{r.method, r.pattern, r.options.execution, r.options.summary});
    }
    return out;
}

void Router::set_error_renderer(ErrorRenderer renderer) {
    renderers_.set_fallback(std::move(renderer));
}

void Router::set_error_renderer(std::string_view path_prefix, ErrorRenderer renderer) {
    renderers_.set(path_prefix, std::move(renderer));
}

bool Router::decode_params(PathParams& params, std::string& message) {
    for (std::size_t i = 0; i < params.count_; ++i) {
        PathParams::Param* p = &params.items_[i];
        if (p->raw.find('%') == std::string_view::npos) {
            continue;
        }
        auto decoded = percent_decode(p->raw);
        if (!decoded) {
            message = fmt::format("path parameter {}: {}", p->name, decoded.error().message);
            return false;
        }
        p->decoded = std::move(*decoded);
        p->has_decoded = true;
    }
    return true;
}

// ---- free functions ----

Result<std::string_view> target_path(std::string_view target) {
    if (!target.empty() && target.front() == '/') {
        return target.substr(0, target.find('?'));
    }
    // RFC 9112 §3.2.2: a server MUST accept the absolute-form. Only the path matters here; the
    // authority has been checked against nothing because Selo answers for every host it serves.
    std::size_t scheme_end = target.find("://");
    if (scheme_end != std::string_view::npos) {
        std::string_view scheme = target.substr(0, scheme_end);
        bool http_scheme = scheme.size() >= 4 && scheme.size() <= 5 &&
                           std::equal(scheme.begin(), scheme.begin() + 4, "http",
                                      [](char a, char b) { return (a | 0x20) == b; }) &&
                           (scheme.size() == 4 || (scheme[4] | 0x20) == 's');
        if (http_scheme) {
            std::string_view rest = target.substr(scheme_end + 3);
            std::size_t path_start = rest.find_first_of("/?");
            if (path_start == std::string_view::npos || rest[path_start] == '?') {
                return std::string_view("/");
            }
            rest = rest.substr(path_start);
            return rest.substr(0, rest.find('?'));
        }
    }
    return fail(ErrorCode::malformed, "request target must be an absolute path, got \"{}\"",
                target.substr(0, 64));
}

Result<std::string> percent_decode(std::string_view text) {
    std::string out;
    out.reserve(text.size());
    for (std::size_t i = 0; i < text.size(); ++i) {
        char c = text[i];
        if (c != '%') {
            out.push_back(c);
            continue;
        }
        int hi = i + 2 < text.size() ? hex_value(text[i + 1]) : -1;
        int lo = i + 2 < text.size() ? hex_value(text[i + 2]) : -1;
        if (hi < 0 || lo < 0) {
            return fail(ErrorCode::malformed, "malformed percent-encoding at offset {}", i);
        }
        char byte = static_cast<char>((hi << 4) | lo);
        if (byte == '\0') {
            return fail(ErrorCode::malformed, "encoded NUL byte at offset {}", i);
        }
        out.push_back(byte);
        i += 2;
    }
    return out;
}

std::optional<std::string_view> bearer_token(const RequestHeader& header) {
    if (header.count(Field::authorization) != 1) {
        return std::nullopt;
    }
    std::string_view value = header[Field::authorization];
    constexpr std::string_view kScheme = "bearer";
    std::size_t space = value.find(' ');
    if (space != kScheme.size() ||
        !std::equal(kScheme.begin(), kScheme.end(), value.begin(),
                    [](char a, char b) { return a == (b | 0x20); })) {
        return std::nullopt;
    }
    // credentials = "Bearer" 1*SP b64token
    std::string_view token = value.substr(space);
    token.remove_prefix(std::min(token.find_first_not_of(' '), token.size()));
    while (!token.empty() && (token.back() == ' ' || token.back() == '\t')) {
        token.remove_suffix(1);
    }
    // b64token = 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"="
    std::size_t body = token.find_last_not_of('=') + 1;  // 0 when all '=' or empty
    auto is_b64token_char = [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
               c == '-' || c == '.' || c == '_' || c == '~' || c == '+' || c == '/';
    };
    if (token.empty() || body == 0 ||
        !std::all_of(token.begin(), token.begin() + static_cast<std::ptrdiff_t>(body),
                     is_b64token_char)) {
        return std::nullopt;
    }
    return token;
}

std::optional<std::string_view> QueryParams::get(std::string_view key) const {
    for (const Entry& e : entries_) {
        if (e.first == key) {
            return std::string_view(e.second);
        }
    }
    return std::nullopt;
}

std::vector<std::string_view> QueryParams::get_all(std::string_view key) const {
    std::vector<std::string_view> out;
    for (const Entry& e : entries_) {
        if (e.first == key) {
            out.emplace_back(e.second);
        }
    }
    return out;
}

bool QueryParams::contains(std::string_view key) const {
    return get(key).has_value();
}

Result<QueryParams> parse_query(std::string_view target) {
    QueryParams out;
    std::size_t q = target.find('?');
    if (q == std::string_view::npos) {
        return out;
    }
    // A NUL-terminated copy, not a view into the request: Boost.URL 1.81's parse_query rebuilds
    // its argument from data() with strlen (boostorg/url#757), reading past the end of a view
    // and parsing whatever follows it.
    const std::string query(target.substr(q + 1));
    auto encoded = boost::urls::parse_query(query);
    if (!encoded) {
        return fail(ErrorCode::malformed, "malformed query string: {}", encoded.error().message());
    }
    // Form-style decoding: '+' is a space in query strings (HTML URL-encoded form data). Built
    // from the string, already validated above, so this constructor does not throw. (Boost 1.81
    // declares but does not export the params_encoded_view overload.)
    boost::urls::params_view params(query, boost::urls::encoding_opts(true, false, false));
    for (auto param : params) {
        out.entries_.emplace_back(std::move(param.key), std::move(param.value));
    }
    return out;
}

}  // namespace selo::http
