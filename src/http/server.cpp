#include "http/server.hpp"

#include <sys/eventfd.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <charconv>
#include <cerrno>
#include <ctime>
#include <list>
#include <mutex>
#include <optional>
#include <system_error>
#include <thread>
#include <vector>

#include <boost/asio/dispatch.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ip/v6_only.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/bind_handler.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/string.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>

#include "core/log.hpp"
#include "http/response.hpp"

namespace selo::http {
namespace {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
namespace ssl = boost::asio::ssl;
using tcp = net::ip::tcp;
using error_code = boost::system::error_code;
// Every connection lives on one io_context run by one thread (see Server::Impl::io): its
// handlers never run concurrently, so it needs no strand, and its executor is the context's own,
// concrete type rather than a type-erased any_io_executor.
using IoExecutor = net::io_context::executor_type;
using Socket = net::basic_stream_socket<tcp, IoExecutor>;
using TcpStream = beast::basic_stream<tcp, IoExecutor, beast::unlimited_rate_policy>;
using TlsStream = beast::ssl_stream<TcpStream>;

// RFC 9110 §10.1.1: the interim response that lets a client send the body it announced.
constexpr std::string_view kContinue = "HTTP/1.1 100 Continue\r\n\r\n";
// Bytes read per read_some between requests and while lingering.
constexpr std::size_t kReadChunk = 16 * 1024;
// Unread input discarded while lingering before giving up and closing anyway.
constexpr std::size_t kMaxLingerBytes = 1024 * 1024;
// Pause before accepting again after accept(2) failed (EMFILE and friends), so the loop does not
// spin while the process is out of descriptors.
constexpr auto kAcceptRetryDelay = std::chrono::milliseconds(100);
// How often stop() checks whether the last connection has gone.
constexpr auto kDrainPollInterval = std::chrono::milliseconds(10);
// Descriptors kept free for everything that is not a client connection (database, key files,
// logs, outgoing connections).
constexpr rlim_t kReservedDescriptors = 64;

// The Date header changes once a second; formatting it per response would be wasted work on the
// hot path (RFC 9110 §6.6.1: origin servers with a clock MUST send Date).
const std::string& current_http_date() {
    thread_local std::time_t cached_second = -1;
    thread_local std::string cached;
    std::time_t now = std::time(nullptr);
    if (now != cached_second) {
        cached = format_http_date(std::chrono::system_clock::from_time_t(now));
        cached_second = now;
    }
    return cached;
}

std::string_view trim(std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) {
        s.remove_prefix(1);
    }
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) {
        s.remove_suffix(1);
    }
    return s;
}

bool is_http_parse_error(const error_code& ec) {
    return ec.category() == bhttp::make_error_code(bhttp::error::bad_method).category();
}

// RFC 9110 §10.2.3: seconds a client refused for want of a large-body slot should wait.
constexpr std::string_view kLargeBodyRetryAfter = "5";

unsigned thread_count(unsigned requested, unsigned cap, std::string_view what) {
    unsigned n = requested != 0 ? requested : std::max(1u, std::thread::hardware_concurrency());
    if (n > cap) {
        if (requested != 0) {
            log::warn("http: {} {} exceeds the maximum of {}; using {}", what, requested, cap,
                      cap);
        }
        return cap;
    }
    return n;
}

// The first content coding in Content-Encoding other than identity, if any. RFC 9110 §8.4: a
// comma-separated list, possibly over several field lines, case-insensitive; "identity" (no
// coding) and empty list elements (§5.6.1) are harmless.
std::optional<std::string> unsupported_content_coding(const RequestHeader& h) {
    auto range = h.equal_range(Field::content_encoding);
    for (auto it = range.first; it != range.second; ++it) {
        std::string_view list = it->value();
        while (!list.empty()) {
            std::size_t comma = list.find(',');
            std::string_view coding = trim(list.substr(0, comma));
            list = comma == std::string_view::npos ? std::string_view{} : list.substr(comma + 1);
            if (!coding.empty() && !beast::iequals(coding, "identity")) {
                return std::string(coding.substr(0, 64));
            }
        }
    }
    return std::nullopt;
}

std::size_t clamp_connections(std::size_t requested) {
    ::rlimit limit{};
    if (::getrlimit(RLIMIT_NOFILE, &limit) != 0 || limit.rlim_cur == RLIM_INFINITY) {
        return requested;
    }
    rlim_t usable = limit.rlim_cur > 2 * kReservedDescriptors
                        ? limit.rlim_cur - kReservedDescriptors
                        : limit.rlim_cur / 2;
    if (requested > usable) {
        log::warn(
            "http: max_connections {} exceeds the descriptor limit (RLIMIT_NOFILE {}); "
            "using {}",
            requested, static_cast<unsigned long long>(limit.rlim_cur),
            static_cast<unsigned long long>(usable));
        return static_cast<std::size_t>(usable);
    }
    return requested;
}

// What Server::Impl knows of a connection, whichever stream it runs on.
class Session : public std::enable_shared_from_this<Session> {
  public:
    virtual ~Session() = default;
    virtual net::any_io_executor executor() = 0;
    virtual void start() = 0;
    // stop(): connections waiting for a request close now; the others finish their current
    // request and then close.
    virtual void on_server_stop() = 0;
    virtual void force_close() = 0;

    // Position in Server::Impl::sessions, written under sessions_mutex before start().
    std::list<std::weak_ptr<Session>>::iterator registry_entry;
    bool registered = false;
};

}  // namespace

struct Server::Impl {
    Impl(ServerLimits l, AsyncHandler h, InlineHandler ih, ErrorRenderers er);
    ~Impl();

    void begin_stop();
    void poll_drain();
    struct Listener;
    void accept(Listener& listener);
    void on_accept(Listener& listener, const error_code& ec, Socket socket);
    void refuse(Socket socket);
    // The io_context a new connection goes to: the next running one, in turn.
    net::io_context& next_io() noexcept;
    void run_io(net::io_context& ctx);
    std::vector<std::shared_ptr<Session>> snapshot_sessions();
    // Runs the handler; an exception escaping it answers 500 through `respond` (logged).
    void call_handler(const Request& req, const RequestContext& ctx, const Respond& respond) noexcept;
    std::optional<Response> call_inline(const Request& req, const RequestContext& ctx) noexcept;
    // body_limit_for on a worker thread; nullopt when it threw (logged).
    std::optional<std::uint64_t> call_body_limit(const RequestHeader& header,
                                                 const RequestContext& ctx) noexcept;
    // An error response from the renderer for the request's path, with `status` whatever the
    // renderer did; text/plain if the renderer threw (logged).
    Response render_error(const Request& req, Status status, std::string_view message) noexcept;
    bool try_acquire_large_body() noexcept;
    void release_large_body() noexcept;

    ServerLimits limits;
    AsyncHandler handler;
    InlineHandler inline_handler;
    InlineAsyncHandler inline_async_handler;  // set before run(), read on I/O threads
    ErrorRenderers renderers;
    unsigned io_threads;
    unsigned worker_threads;
    std::size_t max_connections;
    std::string overloaded_response;

    std::atomic<bool> stop_requested{false};
    std::atomic<bool> stopping{false};
    std::atomic<std::uint64_t> next_request_id{0};
    std::atomic<std::uint64_t> accepted{0};
    std::atomic<std::uint64_t> refused{0};
    std::atomic<std::uint64_t> requests{0};
    std::atomic<std::size_t> open_connections{0};
    std::atomic<std::size_t> large_bodies{0};
    std::atomic<std::uint64_t> large_bodies_refused{0};
    bool ran = false;

    // Live sessions, so stop() can reach them. Sessions remove themselves when destroyed.
    std::mutex sessions_mutex;
    std::list<std::weak_ptr<Session>> sessions;

    // One io_context per I/O thread, each run by that thread alone (concurrency hint 1): a
    // connection stays on the context it was accepted onto, so its completions run on the thread
    // that polled them, with no strand and no hand-over between threads. io[0] also runs the
    // listeners and the stop machinery. Declared after everything sessions touch in their
    // destructors, and before every I/O object bound to them: destroyed after those, before the
    // state above.
    std::vector<std::unique_ptr<net::io_context>> io;
    // Keep every io_context's run() going while it has no connection; released once the
    // server has stopped and its last connection has gone.
    std::vector<net::executor_work_guard<IoExecutor>> io_keepalive;
    // How many of `io` have a thread (fewer than io_threads if starting one failed); new
    // connections go to these only.
    std::atomic<unsigned> io_running{0};
    std::atomic<unsigned> io_turn{0};
    // Destroyed before `io`, so that queued jobs (holding sessions) go while their sockets' I/O
    // context still exists.
    net::thread_pool workers;

    struct Listener {
        explicit Listener(net::io_context& ctx)
            : acceptor(net::make_strand(ctx)), retry(acceptor.get_executor()) {}
        tcp::acceptor acceptor;
        net::steady_timer retry;
        ListenOptions options;
    };
    std::mutex listeners_mutex;
    std::vector<std::unique_ptr<Listener>> listeners;

    // The TLS context new connections get (null: plain HTTP); replaced by use_tls.
    std::mutex tls_mutex;
    std::shared_ptr<ssl::context> tls;

    net::strand<net::io_context::executor_type> control;
    int stop_fd = -1;
    net::posix::stream_descriptor stop_watch;
    std::uint64_t stop_buffer = 0;
    net::steady_timer drain_timer;
    std::chrono::steady_clock::time_point stop_deadline;
    bool forced = false;
};

namespace {

// One connection: reads requests one at a time, enforces limits and timeouts, hands requests to
// the inline handlers or the worker pool, writes responses in order. All members are used only
// on the connection's I/O thread, except req_/ctx_, which a worker (or a handler started
// inline) reads while the connection waits.
//
// Stream is TcpStream (http) or TlsStream (https): the TLS
// handshake comes first, under the header timeout, and the rest is the same.
template <class Stream>
class StreamSession final : public Session {
  public:
    static constexpr bool kTls = !std::is_same_v<Stream, TcpStream>;

    StreamSession(Server::Impl& server, Socket&& socket, std::shared_ptr<ssl::context> tls,
                  const std::string& listener)
        : server_(server), tls_(std::move(tls)), stream_(make_stream(std::move(socket), tls_.get())) {
        server_.open_connections.fetch_add(1);
        ctx_.listener = listener;
        error_code ec;
        tcp::endpoint peer = lowest().socket().remote_endpoint(ec);
        if (!ec) {
            ctx_.remote_address = peer.address().to_string();
            ctx_.remote_port = peer.port();
        }
    }

    ~StreamSession() override {
        release_large_body();
        if (registered) {
            std::lock_guard lock(server_.sessions_mutex);
            server_.sessions.erase(registry_entry);
        }
        server_.open_connections.fetch_sub(1);
    }

    StreamSession(const StreamSession&) = delete;
    StreamSession& operator=(const StreamSession&) = delete;

    net::any_io_executor executor() override { return stream_.get_executor(); }

    void start() override {
        if constexpr (kTls) {
            net::dispatch(stream_.get_executor(),
                          beast::bind_front_handler(&StreamSession::handshake, self()));
        } else {
            net::dispatch(stream_.get_executor(),
                          beast::bind_front_handler(&StreamSession::read_next, self()));
        }
    }

    // stop(): connections waiting for a request close now; the others finish their current
    // request and then close.
    void on_server_stop() override {
        stopping_ = true;
        if (state_ == State::idle || state_ == State::header) {
            close();
        }
    }

    void force_close() override { close(); }

  private:
    static Stream make_stream(Socket&& socket, ssl::context* tls) {
        if constexpr (kTls) {
            return Stream(std::move(socket), *tls);
        } else {
            (void)tls;
            return Stream(std::move(socket));
        }
    }

    TcpStream& lowest() { return beast::get_lowest_layer(stream_); }
    std::shared_ptr<StreamSession> self() {
        return std::static_pointer_cast<StreamSession>(shared_from_this());
    }

    // TLS: the whole handshake within the header timeout, like a request header. The first
    // bytes are read first: a TLS client starts with a handshake record (content type 22); a
    // plain-HTTP request ("GET /...") gets a plain answer saying so instead of a silent close.
    void handshake() {
        state_ = State::header;
        lowest().expires_after(limits().header_timeout);
        lowest().async_read_some(buffer_.prepare(kReadChunk),
                                 beast::bind_front_handler(&StreamSession::on_first_bytes, self()));
    }

    void on_first_bytes(error_code ec, std::size_t n) {
        if (state_ == State::closed) {
            return;
        }
        buffer_.commit(n);
        if (ec || buffer_.size() == 0) {
            close();
            return;
        }
        const auto first = static_cast<unsigned char>(*static_cast<const char*>(buffer_.data().data()));
        if constexpr (kTls) {
            if (first == 22) {
                stream_.async_handshake(ssl::stream_base::server, buffer_.data(),
                                        beast::bind_front_handler(&StreamSession::on_buffered_handshake, self()));
                return;
            }
        }
        if (first >= 'A' && first <= 'Z') {
            // RFC 9110 §15.5.1; the connection closes after it, as nothing else it sends is
            // TLS either.
            static const std::string kPlainHttp = [] {
                const std::string body = "this port speaks HTTPS: use an https:// URL\n";
                return "HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain; charset=utf-8\r\n"
                       "Connection: close\r\nContent-Length: " +
                       std::to_string(body.size()) + "\r\n\r\n" + body;
            }();
            state_ = State::writing;
            lowest().expires_after(limits().write_timeout);
            net::async_write(lowest(), net::buffer(kPlainHttp),
                             [self = self()](error_code, std::size_t) { self->close(); });
            return;
        }
        close();
    }

    void on_buffered_handshake(error_code ec, std::size_t used) {
        if (!ec && used != buffer_.size()) {
            // Records after the ClientHello that the engine did not take (there is no early
            // data here): they cannot be fed to it later, so the connection cannot go on.
            ec = net::error::invalid_argument;
        }
        buffer_.consume(buffer_.size());
        on_handshake(ec);
    }

    void on_handshake(error_code ec) {
        if (state_ == State::closed) {
            return;
        }
        if (ec) {
            // A client that does not trust us, speaks plain HTTP, or offers nothing acceptable.
            log::debug("http: TLS handshake with {}:{} failed: {}", ctx_.remote_address,
                       ctx_.remote_port, ec.message());
            close();
            return;
        }
        if constexpr (kTls) {
            // The client's certificate, when it sent one (its key proven by CertificateVerify;
            // the chain is the application's to judge). Sessions are never resumed, so every
            // connection has its own full handshake.
            if (X509* peer = ::SSL_get0_peer_certificate(stream_.native_handle())) {
                int n = ::i2d_X509(peer, nullptr);
                if (n > 0) {
                    ctx_.client_certificate.resize(static_cast<std::size_t>(n));
                    auto* out = reinterpret_cast<unsigned char*>(ctx_.client_certificate.data());
                    ::i2d_X509(peer, &out);
                }
            }
        }
        read_next();
    }

    // admission: the header is in and body_limit_for runs on a worker; nothing is read meanwhile.
    enum class State { idle, header, admission, body, handling, writing, lingering, closed };

    const ServerLimits& limits() const { return server_.limits; }

    void read_next() {
        if (stopping_ || server_.stopping.load()) {
            close();
            return;
        }
        head_ = false;
        dispatched_ = false;
        expect_continue_ = false;
        large_body_refused_ = false;
        chunked_bytes_ = 0;
        parser_.emplace();
        parser_->header_limit(limits().max_header_bytes);
        // The body limit depends on the target, known only once the header is in: no limit
        // while reading the header (Beast would otherwise check Content-Length against its
        // default), the real one is set in on_header.
        parser_->body_limit(boost::none);
        if (served_ > 0 && buffer_.size() == 0) {
            // Between requests: the idle timeout applies until the next request's first byte.
            state_ = State::idle;
            lowest().expires_after(limits().idle_timeout);
            stream_.async_read_some(
                buffer_.prepare(kReadChunk),
                beast::bind_front_handler(&StreamSession::on_idle_read, self()));
            return;
        }
        read_header();
    }

    void on_idle_read(error_code ec, std::size_t n) {
        if (state_ == State::closed) {
            return;
        }
        buffer_.commit(n);
        if (ec) {
            close();  // idle timeout, or the client went away: nothing to answer
            return;
        }
        read_header();
    }

    void read_header() {
        state_ = State::header;
        // One deadline for the whole header (not per read), so trickling bytes buys nothing.
        lowest().expires_after(limits().header_timeout);
        bhttp::async_read_header(
            stream_, buffer_, *parser_,
            beast::bind_front_handler(&StreamSession::on_header, self()));
    }

    void on_header(error_code ec, std::size_t) {
        if (state_ == State::closed) {
            return;
        }
        if (ec) {
            if (ec == bhttp::error::header_limit) {
                reject(Status::request_header_fields_too_large,
                       fmt::format("request header exceeds {} bytes", limits().max_header_bytes));
            } else if (ec == bhttp::error::end_of_stream || ec == bhttp::error::partial_message ||
                       !is_http_parse_error(ec)) {
                // Timeout (tcp_stream has already closed the socket), reset, or EOF.
                close();
            } else if (ec == bhttp::error::bad_version) {
                // Beast refuses every version but 1.0 and 1.1 here, malformed or merely other
                // (an HTTP/2 preface), so 505 cannot be told apart from 400: 400 it is.
                reject(Status::bad_request,
                       "malformed request: bad HTTP version (this server speaks HTTP/1.1 and "
                       "HTTP/1.0)");
            } else {
                reject(Status::bad_request, fmt::format("malformed request: {}", ec.message()));
            }
            return;
        }
        const auto& h = parser_->get();
        head_ = h.method() == Verb::head;
        if (h.method() == Verb::unknown) {
            // RFC 9110 §9.1: an unrecognised method SHOULD get 501.
            reject(Status::not_implemented, fmt::format("method {} is not implemented",
                                                        std::string_view(h.method_string())));
            return;
        }
        // RFC 9112 §3.2: 400 for an HTTP/1.1 request without Host, or with more than one.
        std::size_t hosts = h.count(Field::host);
        if ((h.version() == 11 && hosts == 0) || hosts > 1) {
            reject(Status::bad_request, "malformed request: exactly one Host header is required");
            return;
        }
        if (h.count(Field::transfer_encoding) > 0) {
            if (h.version() == 10) {
                // RFC 9112 §6.1: Transfer-Encoding in HTTP/1.0 means the framing is faulty.
                reject(Status::bad_request, "malformed request: Transfer-Encoding in HTTP/1.0");
                return;
            }
            if (!parser_->chunked()) {
                // RFC 9112 §6.3 (4): chunked not final, the length cannot be determined.
                reject(Status::bad_request,
                       "malformed request: Transfer-Encoding must end with chunked");
                return;
            }
            if (h.count(Field::transfer_encoding) > 1 ||
                !beast::iequals(trim(h[Field::transfer_encoding]), "chunked")) {
                // RFC 9112 §6.1: a transfer coding the server does not understand gets 501.
                reject(Status::not_implemented, "only the chunked transfer coding is supported");
                return;
            }
        }
        if (auto it = h.find(Field::expect); it != h.end()) {
            if (h.count(Field::expect) > 1 || !beast::iequals(trim(it->value()), "100-continue")) {
                // RFC 9110 §10.1.1: 417 for any expectation other than 100-continue.
                reject(Status::expectation_failed, "only \"Expect: 100-continue\" is supported");
                return;
            }
            // RFC 9110 §10.1.1: ignore 100-continue in an HTTP/1.0 request.
            expect_continue_ = h.version() == 11;
        }
        if (parser_->is_done()) {
            dispatch();  // no body: nothing to limit or decode
            return;
        }
        if (auto coding = unsupported_content_coding(h)) {
            // RFC 9110 §8.4: the content is encoded, and this server decodes no content coding;
            // handing it on as if it were the content would let it slip past every check.
            // §15.5.16: 415, with Accept-Encoding saying what would be accepted (§12.5.3).
            Response res = render_error(
                Status::unsupported_media_type,
                fmt::format("Content-Encoding \"{}\" is not supported; send the content "
                            "without a content coding",
                            *coding));
            res.set(Field::accept_encoding, "identity");
            reject(std::move(res));
            return;
        }
        auto length = parser_->content_length();
        if ((limits().body_limit_for || limits().body_limit_for_client) &&
            (!length || *length > limits().max_body_bytes)) {
            ask_body_limit();
            return;
        }
        admit_body(limits().max_body_bytes);
    }

    // body_limit_for may block, so it runs on the worker pool; the connection waits, reading nothing,
    // and the body is neither read nor buffered until admit_body.
    void ask_body_limit() {
        state_ = State::admission;
        auto work = net::make_work_guard(stream_.get_executor());
        net::post(server_.workers, [self = self(), work = std::move(work)]() mutable {
            // The header is not touched on the I/O thread while in State::admission.
            std::optional<std::uint64_t> limit =
                self->server_.call_body_limit(self->parser_->get(), self->ctx_);
            auto ex = self->stream_.get_executor();
            net::post(ex, [self = std::move(self), limit]() mutable {
                if (self->state_ == State::closed) {
                    return;  // header timeout or forced stop while the hook ran
                }
                if (!limit) {
                    self->reject(Status::internal_server_error, "internal server error");
                    return;
                }
                self->admit_body(*limit);
            });
        });
    }

    // The body limit is known: refuse or admit the body, before any of it is read. Beast's
    // string_body reserves Content-Length bytes when the body read starts (the parser's first
    // put() after the header), so nothing is reserved for a body refused here.
    void admit_body(std::uint64_t limit) {
        body_limit_ = limit;
        auto length = parser_->content_length();
        if (length && *length > body_limit_) {
            // Refused before reading a byte of it; a client that sent 100-continue never sends it.
            reject(Status::payload_too_large,
                   fmt::format("request body of {} bytes exceeds the limit of {} bytes for this "
                               "resource",
                               *length, body_limit_));
            return;
        }
        if (length && *length > limits().large_body_bytes && !acquire_large_body()) {
            reject_busy();
            return;
        }
        if (!length && body_limit_ > limits().large_body_bytes) {
            // Chunked: the size is known chunk by chunk; the gate takes a slot when it must.
            parser_->on_chunk_header(chunk_gate_);
        }
        parser_->body_limit(body_limit_);
        state_ = State::body;
        if (expect_continue_) {
            lowest().expires_after(limits().write_timeout);
            net::async_write(
                stream_, net::buffer(kContinue.data(), kContinue.size()),
                beast::bind_front_handler(&StreamSession::on_continue_sent, self()));
            return;
        }
        read_body();
    }

    // Called by the parser at each chunk header, before the chunk's data is read.
    void on_chunk_header(std::uint64_t size, error_code& ec) {
        chunked_bytes_ += size;  // at most body_limit_: Beast checks each size against it first
        if (chunked_bytes_ > limits().large_body_bytes && !acquire_large_body()) {
            large_body_refused_ = true;
            ec = bhttp::error::body_limit;  // stops the read; on_body answers 503
        }
    }

    bool acquire_large_body() {
        if (!holds_large_body_) {
            holds_large_body_ = server_.try_acquire_large_body();
        }
        return holds_large_body_;
    }

    void release_large_body() {
        if (holds_large_body_) {
            holds_large_body_ = false;
            server_.release_large_body();
        }
    }

    void reject_busy() {
        server_.large_bodies_refused.fetch_add(1);
        Response res = render_error(Status::service_unavailable,
                                    "server busy: too many large request bodies in progress, "
                                    "retry later");
        res.set(Field::retry_after, kLargeBodyRetryAfter);
        reject(std::move(res));
    }

    void on_continue_sent(error_code ec, std::size_t) {
        if (state_ == State::closed) {
            return;
        }
        if (ec) {
            close();
            return;
        }
        read_body();
    }

    void read_body() {
        state_ = State::body;
        lowest().expires_after(limits().body_timeout);
        bhttp::async_read(stream_, buffer_, *parser_,
                          beast::bind_front_handler(&StreamSession::on_body, self()));
    }

    void on_body(error_code ec, std::size_t) {
        if (state_ == State::closed) {
            return;
        }
        if (large_body_refused_) {
            reject_busy();
            return;
        }
        if (ec) {
            if (ec == bhttp::error::body_limit) {
                reject(Status::payload_too_large,
                       fmt::format("request body exceeds the limit of {} bytes for this resource",
                                   body_limit_));
            } else if (is_http_parse_error(ec) && ec != bhttp::error::partial_message &&
                       ec != bhttp::error::end_of_stream) {
                reject(Status::bad_request,
                       fmt::format("malformed request body: {}", ec.message()));
            } else {
                close();  // body timeout, reset or EOF mid-body
            }
            return;
        }
        dispatch();
    }

    void dispatch() {
        req_ = parser_->release();
        parser_.reset();
        req_version_ = req_.version();
        head_ = req_.method() == Verb::head;
        keep_alive_ = req_.keep_alive() && served_ + 1 < limits().max_requests_per_connection;
        ctx_.request_id = server_.next_request_id.fetch_add(1) + 1;
        state_ = State::handling;
        dispatched_ = true;
        if (server_.inline_handler) {
            // No I/O is pending while it runs, so no timer can fire: finish() sets the write
            // timeout next.
            if (auto res = server_.call_inline(req_, ctx_)) {
                finish(std::move(*res));
                return;
            }
        }
        if (server_.inline_async_handler && dispatch_inline_async()) {
            return;
        }
        lowest().expires_never();
        // The reply keeps run() from returning while a worker or a completion holds this
        // request; the request stays untouched on this thread until it is delivered.
        auto reply = std::make_shared<PendingReply>(self());
        net::post(server_.workers, [reply = std::move(reply)]() mutable {
            StreamSession& s = *reply->session;
            s.server_.call_handler(s.req_, s.ctx_, [reply](Response&& res) {
                reply->answer(std::move(res));
            });
            reply->arrive();  // the handler has returned: req_ and ctx_ are free again
        });
    }

    // Offers the request to the InlineAsyncHandler, here on the I/O thread; true when it took
    // it. The answer then comes as a worker's would (PendingReply), posted back to this thread:
    // even an answer given during the call is written only after dispatch() has returned.
    bool dispatch_inline_async() {
        std::shared_ptr<PendingReply> reply;
        const std::function<Respond()> take = [&]() -> Respond {
            reply = std::make_shared<PendingReply>(self());
            return [r = reply](Response&& res) { r->answer(std::move(res)); };
        };
        bool taken = false;
        try {
            taken = server_.inline_async_handler(req_, ctx_, take);
        } catch (const std::exception& e) {
            log::error("http #{}: handler for {} {} threw: {}", ctx_.request_id,
                       std::string_view(req_.method_string()), std::string_view(req_.target()), e.what());
            taken = true;
        } catch (...) {
            log::error("http #{}: handler for {} {} threw a non-standard exception", ctx_.request_id,
                       std::string_view(req_.method_string()), std::string_view(req_.target()));
            taken = true;
        }
        if (!reply) {
            if (taken) {
                // It threw before taking the request, or claimed it without taking it.
                finish(render_error(Status::internal_server_error, "internal server error"));
                return true;
            }
            return false;
        }
        // Unanswered (it threw, say) with every Respond copy gone, the reply answers 500 itself.
        lowest().expires_never();
        reply->arrive();  // the handler has returned: req_ and ctx_ are free again
        return true;
    }

    // The answer to the dispatched request, shared by the worker that runs the handler and by
    // every copy of its Respond. The response goes to the I/O thread once both the handler has
    // returned and the first answer has come (two arrivals), so a handler may still read the
    // request after responding. Destroyed unanswered (every Respond dropped): 500.
    struct PendingReply {
        explicit PendingReply(std::shared_ptr<StreamSession> s)
            : session(std::move(s)), work(net::make_work_guard(session->stream_.get_executor())) {}
        PendingReply(const PendingReply&) = delete;
        PendingReply& operator=(const PendingReply&) = delete;
        ~PendingReply() {
            if (answered.load()) {
                return;
            }
            try {
                log::error("http #{}: handler for {} {} never responded; sending 500",
                           session->ctx_.request_id, std::string_view(session->req_.method_string()),
                           std::string_view(session->req_.target()));
                net::post(session->stream_.get_executor(), [self = session] {
                    self->finish(self->render_error(Status::internal_server_error,
                                                    "internal server error"));
                });
            } catch (...) {
                // Out of memory posting: the connection is left to its peer or to stop().
            }
        }
        void answer(Response&& r) {
            if (answered.exchange(true)) {
                return;  // a second answer: ignored
            }
            res = std::move(r);
            arrive();
        }
        void arrive() {
            if (arrivals.fetch_sub(1, std::memory_order_acq_rel) != 1) {
                return;
            }
            net::post(session->stream_.get_executor(),
                      [self = session, res = std::move(res)]() mutable { self->finish(std::move(res)); });
        }

        std::shared_ptr<StreamSession> session;
        net::executor_work_guard<IoExecutor> work;
        std::atomic<bool> answered{false};
        std::atomic<int> arrivals{2};
        Response res;
    };

    // The server's own error for the current request, in the shape its path calls for. Before
    // dispatch the request is the parser's: its header once the request line has been read
    // (body unread or partial), else empty (no target: the fallback renderer).
    Response render_error(Status status, std::string_view message) {
        static const Request kNoRequest;
        const Request& req = dispatched_ ? req_ : parser_ ? parser_->get() : kNoRequest;
        return server_.render_error(req, status, message);
    }

    // A response decided by the session itself (limits, malformed input); the connection closes
    // after it, since the rest of the input cannot be trusted to be framed correctly.
    void reject(Status status, std::string_view message) {
        reject(render_error(status, message));
    }

    void reject(Response&& res) {
        if (log::level() <= log::Level::debug) {
            log::debug("http {}:{}: {} {}", ctx_.remote_address, ctx_.remote_port,
                       res.result_int(), std::string_view(res.body()));
        }
        keep_alive_ = false;
        dispatched_ = false;
        req_version_ = 11;
        lowest().expires_never();
        finish(std::move(res));
    }

    void finish(Response&& res) {
        if (state_ == State::closed) {
            return;
        }
        res_ = std::move(res);
        unsigned code = res_.result_int();
        if (code < 200) {
            // Interim responses are the server's business (100 Continue); a handler cannot send
            // one.
            log::error("http #{}: handler returned status {}; sending 500 instead", ctx_.request_id,
                       code);
            res_ = render_error(Status::internal_server_error, "internal server error");
            code = 500;
        }
        if (stopping_ || server_.stopping.load()) {
            keep_alive_ = false;
        }
        res_.version(11);
        if (!res_.keep_alive()) {
            keep_alive_ = false;  // the handler asked for Connection: close
        }
        res_.keep_alive(keep_alive_);
        if (keep_alive_ && req_version_ == 10) {
            // An HTTP/1.0 client keeps the connection only if told so explicitly.
            res_.set(Field::connection, "keep-alive");
        }
        // Content-Length (RFC 9112 §6.3) is the server's: the body's size, except where the
        // status or the method says there is no content.
        Length length = Length::body;
        if (code == 204 || code == 304) {
            // RFC 9110 §15.3.5, §15.4.5: no content, and no Content-Length to describe any.
            res_.body().clear();
            length = Length::none;
        } else if (head_ && res_.body().empty() && res_.count(Field::content_length) != 0) {
            // RFC 9110 §9.3.2: same header fields as GET, no content. A handler that answered
            // HEAD itself may have set Content-Length with an empty body; keep it then.
            length = Length::handler;
        }
        serialize_header(code, length);
        if (head_) {
            res_.body().clear();  // RFC 9110 §9.3.2: the GET's header fields, no content
        }
        if (dispatched_ && log::level() <= log::Level::debug) {
            log::debug("http #{} {}:{} {} {} -> {}", ctx_.request_id, ctx_.remote_address,
                       ctx_.remote_port, std::string_view(req_.method_string()),
                       std::string_view(req_.target()), code);
        }
        state_ = State::writing;
        lowest().expires_after(limits().write_timeout);
        if constexpr (kTls) {
            // One contiguous buffer: with header and body as two buffers through Beast's
            // ssl_stream, the body of a response larger than a TLS record did not arrive
            // (TlsTest.LargeResponsesArriveWholeOverTls; where in the flat_stream/ssl::stream
            // write path it goes wrong was not pinned down). Encrypting the body costs far more
            // than this copy.
            out_.append(res_.body());
            net::async_write(stream_, net::buffer(out_),
                             beast::bind_front_handler(&StreamSession::on_write, self()));
        } else {
            // Header and body in one gather write: one sendmsg for the whole response.
            std::array<net::const_buffer, 2> buffers{
                net::buffer(out_), net::buffer(res_.body().data(), res_.body().size())};
            net::async_write(stream_, buffers,
                             beast::bind_front_handler(&StreamSession::on_write, self()));
        }
    }

    // The status line and header section of res_ into out_ (RFC 9112 §4, §5), with the fields
    // the server owns: Server and Date (RFC 9110 §10.2.4, §6.6.1: an origin server with a clock
    // MUST send Date) and Content-Length as `length` says (the body's size; the handler's own,
    // for HEAD; none), replacing whatever the handler set for them;
    // Transfer-Encoding is dropped, since every response is framed by its length. Written here
    // rather than by Beast's serializer, whose buffer-sequence machinery cost more CPU per small
    // response than the rest of the request; out_ keeps its capacity from one response to the
    // next, so a kept-alive connection formats without allocating.
    enum class Length { body, handler, none };
    void serialize_header(unsigned code, Length length) {
        out_.clear();
        out_.append("HTTP/1.1 ");
        char digits[3] = {static_cast<char>('0' + code / 100 % 10),
                          static_cast<char>('0' + code / 10 % 10), static_cast<char>('0' + code % 10)};
        out_.append(digits, 3);
        out_.push_back(' ');
        std::string_view reason = res_.reason();
        out_.append(reason.data(), reason.size());
        out_.append("\r\n");
        for (const auto& f : res_) {
            Field name = f.name();
            if (name == Field::server || name == Field::date || name == Field::transfer_encoding ||
                (name == Field::content_length && length != Length::handler)) {
                continue;
            }
            std::string_view n = f.name_string();
            std::string_view v = f.value();
            out_.append(n.data(), n.size());
            out_.append(": ");
            out_.append(v.data(), v.size());
            out_.append("\r\n");
        }
        out_.append("Server: ");
        out_.append(limits().server_name);
        out_.append("\r\nDate: ");
        out_.append(current_http_date());
        out_.append("\r\n");
        if (length == Length::body) {
            char number[24];
            auto [end, ec] = std::to_chars(number, number + sizeof number, res_.body().size());
            (void)ec;  // 24 digits hold any size_t
            out_.append("Content-Length: ");
            out_.append(number, static_cast<std::size_t>(end - number));
            out_.append("\r\n");
        }
        out_.append("\r\n");
    }

    void on_write(error_code ec, std::size_t) {
        if (state_ == State::closed) {
            return;
        }
        server_.requests.fetch_add(1);
        ++served_;
        if (ec) {
            close();
            return;
        }
        // The request is done: its memory goes, and with it any large-body slot.
        res_ = {};
        req_ = {};
        if (out_.capacity() > kReadChunk) {
            std::string().swap(out_);  // an unusually large header section: not kept
        }
        parser_.reset();
        release_large_body();
        if (!keep_alive_) {
            linger();
            return;
        }
        read_next();
    }

    // RFC 9112 §9.6: close the sending side first and drain what the client still sends, so that
    // its TCP stack does not turn our close into a reset that destroys the response in flight.
    void linger() {
        state_ = State::lingering;
        if constexpr (kTls) {
            // TLS: close_notify (RFC 8446 §6.1), then wait for the client's within the linger
            // time; whatever else it still sends is discarded with the connection.
            lowest().expires_after(limits().linger_timeout);
            stream_.async_shutdown([self = self()](error_code) { self->close(); });
            return;
        }
        error_code ec;
        lowest().socket().shutdown(tcp::socket::shutdown_send, ec);
        if (ec) {
            close();
            return;
        }
        lowest().expires_after(limits().linger_timeout);
        buffer_.consume(buffer_.size());
        drained_ = 0;
        drain();
    }

    void drain() {
        stream_.async_read_some(buffer_.prepare(kReadChunk),
                                [self = self()](error_code ec, std::size_t n) {
                                    if (self->state_ == State::closed) {
                                        return;
                                    }
                                    self->drained_ += n;
                                    if (ec || self->drained_ > kMaxLingerBytes) {
                                        self->close();
                                        return;
                                    }
                                    self->drain();
                                });
    }

    void close() {
        if (state_ == State::closed) {
            return;
        }
        state_ = State::closed;
        error_code ec;
        lowest().socket().shutdown(tcp::socket::shutdown_both, ec);
        lowest().close();  // cancels pending operations; their handlers see State::closed
    }

    // The parser's chunk-header callback (Beast keeps a reference to it, so it lives here).
    struct ChunkGate {
        StreamSession* session;
        void operator()(std::uint64_t size, std::string_view, error_code& ec) const {
            session->on_chunk_header(size, ec);
        }
    };

    Server::Impl& server_;
    std::shared_ptr<ssl::context> tls_;  // the context this connection was accepted with
    Stream stream_;
    beast::flat_buffer buffer_;
    ChunkGate chunk_gate_{this};
    std::optional<bhttp::request_parser<bhttp::string_body>> parser_;
    Request req_;
    Response res_;
    std::string out_;  // res_'s serialised status line and header section, while writing it
    RequestContext ctx_;
    State state_ = State::header;
    unsigned served_ = 0;
    unsigned req_version_ = 11;
    std::uint64_t body_limit_ = 0;
    std::uint64_t chunked_bytes_ = 0;
    std::size_t drained_ = 0;
    bool keep_alive_ = true;
    bool head_ = false;
    bool dispatched_ = false;
    bool stopping_ = false;
    bool expect_continue_ = false;
    bool holds_large_body_ = false;
    bool large_body_refused_ = false;
};

}  // namespace

// ---- Server::Impl ----

namespace {

std::vector<std::unique_ptr<net::io_context>> make_io_contexts(unsigned n) {
    std::vector<std::unique_ptr<net::io_context>> out;
    out.reserve(n);
    for (unsigned i = 0; i < n; ++i) {
        // Hint 1: one thread runs it, so Asio skips waking other threads for its work.
        out.push_back(std::make_unique<net::io_context>(1));
    }
    return out;
}

}  // namespace

Server::Impl::Impl(ServerLimits l, AsyncHandler h, InlineHandler ih, ErrorRenderers er)
    : limits(std::move(l)),
      handler(std::move(h)),
      inline_handler(std::move(ih)),
      renderers(std::move(er)),
      io_threads(thread_count(limits.io_threads, kMaxIoThreads, "io_threads")),
      worker_threads(thread_count(limits.worker_threads, kMaxWorkerThreads, "worker_threads")),
      max_connections(clamp_connections(limits.max_connections)),
      io(make_io_contexts(io_threads)),
      workers(worker_threads),
      control(net::make_strand(*io.front())),
      stop_fd(::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)),
      stop_watch(control),
      drain_timer(control) {
    if (stop_fd < 0) {
        throw std::system_error(errno, std::generic_category(), "eventfd for Server::stop");
    }
    stop_watch.assign(stop_fd);
    for (auto& ctx : io) {
        io_keepalive.push_back(net::make_work_guard(ctx->get_executor()));
    }
    io_running.store(static_cast<unsigned>(io.size()));
    constexpr std::string_view body = "server busy: too many connections, retry later\n";
    overloaded_response = fmt::format(
        "HTTP/1.1 503 Service Unavailable\r\nServer: {}\r\nContent-Type: {}\r\n"
        "Content-Length: {}\r\nRetry-After: 1\r\nConnection: close\r\n\r\n{}",
        limits.server_name, kTextPlain, body.size(), body);
    // stop() writes to the eventfd; this read turns that into begin_stop() on an I/O thread.
    // Pending, it also keeps run() from returning before stop().
    stop_watch.async_read_some(net::buffer(&stop_buffer, sizeof stop_buffer),
                               [this](error_code ec, std::size_t) {
                                   if (ec == net::error::operation_aborted) {
                                       return;
                                   }
                                   begin_stop();
                               });
}

Server::Impl::~Impl() {
    workers.stop();
    workers.join();
}

std::vector<std::shared_ptr<Session>> Server::Impl::snapshot_sessions() {
    std::vector<std::shared_ptr<Session>> out;
    std::lock_guard lock(sessions_mutex);
    out.reserve(sessions.size());
    for (auto& weak : sessions) {
        if (auto s = weak.lock()) {
            out.push_back(std::move(s));
        }
    }
    return out;
}

void Server::Impl::begin_stop() {
    std::vector<std::shared_ptr<Session>> live;
    {
        // Under the same mutex as registration: no session can slip in unnoticed.
        std::lock_guard lock(sessions_mutex);
        stopping.store(true);
    }
    live = snapshot_sessions();
    {
        std::lock_guard lock(listeners_mutex);
        for (auto& l : listeners) {
            net::post(l->acceptor.get_executor(), [listener = l.get()] {
                error_code ec;
                listener->acceptor.close(ec);
                listener->retry.cancel();
            });
        }
    }
    log::info("http: stopping; {} connection(s) open", live.size());
    for (auto& s : live) {
        net::post(s->executor(), [s] { s->on_server_stop(); });
    }
    live.clear();  // outside any lock: the last reference may run a destructor that takes one
    stop_deadline = std::chrono::steady_clock::now() + limits.shutdown_timeout;
    poll_drain();
}

void Server::Impl::poll_drain() {
    if (open_connections.load() == 0) {
        // Nothing keeps the io_contexts busy any more: once what is queued has run, run()
        // returns.
        for (auto& guard : io_keepalive) {
            guard.reset();
        }
        return;
    }
    if (!forced && std::chrono::steady_clock::now() >= stop_deadline) {
        forced = true;
        auto live = snapshot_sessions();
        log::warn("http: shutdown timeout; closing {} connection(s)", live.size());
        for (auto& s : live) {
            net::post(s->executor(), [s] { s->force_close(); });
        }
    }
    drain_timer.expires_after(kDrainPollInterval);
    drain_timer.async_wait([this](error_code ec) {
        if (!ec) {
            poll_drain();
        }
    });
}

void Server::Impl::accept(Listener& listener) {
    listener.acceptor.async_accept(next_io(),
                                   [this, &listener](error_code ec, Socket socket) {
                                       on_accept(listener, ec, std::move(socket));
                                   });
}

net::io_context& Server::Impl::next_io() noexcept {
    unsigned running = std::max(1u, io_running.load());
    return *io[io_turn.fetch_add(1, std::memory_order_relaxed) % running];
}

void Server::Impl::on_accept(Listener& listener, const error_code& ec, Socket socket) {
    if (ec == net::error::operation_aborted || !listener.acceptor.is_open()) {
        return;
    }
    if (ec) {
        // EMFILE, ENFILE, ENOBUFS, ECONNABORTED...: the listener survives; try again shortly.
        log::warn("http: accept failed: {}; retrying", ec.message());
        listener.retry.expires_after(kAcceptRetryDelay);
        listener.retry.async_wait([this, &listener](error_code wait_ec) {
            if (!wait_ec && listener.acceptor.is_open() && !stopping.load()) {
                accept(listener);
            }
        });
        return;
    }
    accepted.fetch_add(1);
    if (open_connections.load() >= max_connections) {
        refused.fetch_add(1);
        refuse(std::move(socket));
        accept(listener);
        return;
    }
    error_code ignored;
    socket.set_option(tcp::no_delay(true), ignored);
    std::shared_ptr<ssl::context> tls_context;
    {
        std::lock_guard lock(tls_mutex);
        tls_context = tls;
    }
    std::shared_ptr<Session> session;
    if (tls_context && !listener.options.plain_http) {
        session = std::make_shared<StreamSession<TlsStream>>(
            *this, std::move(socket), std::move(tls_context), listener.options.name);
    } else {
        session = std::make_shared<StreamSession<TcpStream>>(*this, std::move(socket), nullptr,
                                                                     listener.options.name);
    }
    {
        std::lock_guard lock(sessions_mutex);
        if (stopping.load()) {
            return;  // the session closes its socket as it goes
        }
        session->registry_entry = sessions.insert(sessions.end(), session);
        session->registered = true;
    }
    session->start();
    accept(listener);
}

void Server::Impl::refuse(Socket socket) {
    // Over the connection cap: a canned 503 (no request read, no parser, no timers), then close.
    auto sock = std::make_shared<Socket>(std::move(socket));
    net::async_write(*sock, net::buffer(overloaded_response), [sock](error_code, std::size_t) {
        error_code ec;
        sock->shutdown(tcp::socket::shutdown_both, ec);
        sock->close(ec);
    });
}

void Server::Impl::run_io(net::io_context& ctx) {
    for (;;) {
        try {
            ctx.run();
            return;
        } catch (const std::exception& e) {
            // A completion handler threw: a bug, but one connection's bug must not stop the
            // listener for everyone.
            log::error("http: unexpected exception on an I/O thread: {}", e.what());
        } catch (...) {
            log::error("http: unexpected non-standard exception on an I/O thread");
        }
    }
}

void Server::Impl::call_handler(const Request& req, const RequestContext& ctx,
                                const Respond& respond) noexcept {
    try {
        handler(req, ctx, respond);
        return;
    } catch (const std::exception& e) {
        log::error("http #{}: handler for {} {} threw: {}", ctx.request_id,
                   std::string_view(req.method_string()), std::string_view(req.target()), e.what());
    } catch (...) {
        log::error("http #{}: handler for {} {} threw a non-standard exception", ctx.request_id,
                   std::string_view(req.method_string()), std::string_view(req.target()));
    }
    try {
        respond(render_error(req, Status::internal_server_error, "internal server error"));
    } catch (...) {
        log::error("http #{}: could not answer 500", ctx.request_id);
    }
}

std::optional<Response> Server::Impl::call_inline(const Request& req,
                                                  const RequestContext& ctx) noexcept {
    try {
        return inline_handler(req, ctx);
    } catch (const std::exception& e) {
        log::error("http #{}: inline handler for {} {} threw: {}", ctx.request_id,
                   std::string_view(req.method_string()), std::string_view(req.target()), e.what());
    } catch (...) {
        log::error("http #{}: inline handler for {} {} threw a non-standard exception",
                   ctx.request_id, std::string_view(req.method_string()),
                   std::string_view(req.target()));
    }
    return render_error(req, Status::internal_server_error, "internal server error");
}

std::optional<std::uint64_t> Server::Impl::call_body_limit(const RequestHeader& header,
                                                           const RequestContext& ctx) noexcept {
    try {
        return limits.body_limit_for_client ? limits.body_limit_for_client(header, ctx)
                                            : limits.body_limit_for(header);
    } catch (const std::exception& e) {
        log::error("http {}:{}: body_limit_for {} {} threw: {}", ctx.remote_address,
                   ctx.remote_port, std::string_view(header.method_string()),
                   std::string_view(header.target()), e.what());
    } catch (...) {
        log::error("http {}:{}: body_limit_for {} {} threw a non-standard exception",
                   ctx.remote_address, ctx.remote_port, std::string_view(header.method_string()),
                   std::string_view(header.target()));
    }
    return std::nullopt;
}

Response Server::Impl::render_error(const Request& req, Status status,
                                    std::string_view message) noexcept {
    try {
        Response res = renderers.render(req, status, message);
        // The status is the server's decision (it drives Retry-After, Allow, closing...).
        res.result(status);
        return res;
    } catch (const std::exception& e) {
        log::error("http: error renderer for {} threw: {}", std::string_view(req.target()),
                   e.what());
    } catch (...) {
        log::error("http: error renderer for {} threw a non-standard exception",
                   std::string_view(req.target()));
    }
    return text_response(status, message);
}

bool Server::Impl::try_acquire_large_body() noexcept {
    std::size_t in_use = large_bodies.load();
    do {
        if (in_use >= limits.max_concurrent_large_bodies) {
            return false;
        }
    } while (!large_bodies.compare_exchange_weak(in_use, in_use + 1));
    return true;
}

void Server::Impl::release_large_body() noexcept {
    large_bodies.fetch_sub(1);
}

// ---- Server ----

Result<HostPort> split_host_port(std::string_view address) {
    std::string_view host;
    std::string_view port;
    if (!address.empty() && address.front() == '[') {
        std::size_t close = address.find(']');
        if (close == std::string_view::npos || close + 1 >= address.size() ||
            address[close + 1] != ':') {
            return fail(ErrorCode::invalid_argument, "listen address \"{}\": expected [IPv6]:port",
                        address);
        }
        host = address.substr(1, close - 1);
        port = address.substr(close + 2);
    } else {
        std::size_t colon = address.rfind(':');
        if (colon == std::string_view::npos || address.find(':') != colon) {
            return fail(ErrorCode::invalid_argument,
                        "listen address \"{}\": expected host:port (IPv6 as [addr]:port)", address);
        }
        host = address.substr(0, colon);
        port = address.substr(colon + 1);
    }
    unsigned value = 0;
    if (port.empty() || port.size() > 5 ||
        !std::all_of(port.begin(), port.end(), [](char c) { return c >= '0' && c <= '9'; })) {
        return fail(ErrorCode::invalid_argument, "listen address \"{}\": bad port", address);
    }
    for (char c : port) {
        value = value * 10 + static_cast<unsigned>(c - '0');
    }
    if (host.empty() || value > 65535) {
        return fail(ErrorCode::invalid_argument, "listen address \"{}\": bad host or port",
                    address);
    }
    return HostPort{std::string(host), static_cast<std::uint16_t>(value)};
}

Result<ServerLimits> server_limits(const HttpLimits& http, const ServerConfig& server) {
    // Refused rather than clamped: the operator wrote the value and should learn it is wrong.
    // Thread counts above the caps would have the kernel refuse threads part-way through start-up
    // (which Asio's thread_pool turns into a hang or an abort); a zero timeout cuts every
    // connection at once; a zero body limit refuses every request with content.
    constexpr unsigned kMaxTimeoutSeconds = 24 * 60 * 60;
    constexpr std::uint32_t kMinHeaderBytes = 1024;
    constexpr std::uint32_t kMaxHeaderBytes = 1024 * 1024;
    auto bad = [](std::string_view setting, auto value, std::string_view why) {
        return fail(ErrorCode::invalid_argument, "configuration: {} = {}: {}", setting, value, why);
    };
    if (server.io_threads > kMaxIoThreads) {
        return bad("[server] io_threads", server.io_threads,
                   fmt::format("at most {} (0: one per core)", kMaxIoThreads));
    }
    if (server.worker_threads > kMaxWorkerThreads) {
        return bad("[server] worker_threads", server.worker_threads,
                   fmt::format("at most {} (0: one per core)", kMaxWorkerThreads));
    }
    for (auto [setting, seconds] :
         {std::pair{"[http] header_timeout_seconds", http.header_timeout_seconds},
          std::pair{"[http] body_timeout_seconds", http.body_timeout_seconds},
          std::pair{"[http] idle_timeout_seconds", http.idle_timeout_seconds}}) {
        if (seconds == 0 || seconds > kMaxTimeoutSeconds) {
            return bad(setting, seconds, fmt::format("must be 1 to {}", kMaxTimeoutSeconds));
        }
    }
    if (http.max_header_bytes < kMinHeaderBytes || http.max_header_bytes > kMaxHeaderBytes) {
        return bad("[http] max_header_bytes", http.max_header_bytes,
                   fmt::format("must be {} to {}", kMinHeaderBytes, kMaxHeaderBytes));
    }
    if (http.max_body_bytes == 0) {
        return bad("[http] max_body_bytes", http.max_body_bytes, "must be at least 1");
    }
    if (http.max_document_body_bytes < http.max_body_bytes) {
        return bad("[http] max_document_body_bytes", http.max_document_body_bytes,
                   fmt::format("must be at least max_body_bytes ({})", http.max_body_bytes));
    }
    if (http.max_keepalive_requests == 0) {
        return bad("[http] max_keepalive_requests", http.max_keepalive_requests,
                   "must be at least 1 (1 turns keep-alive off)");
    }
    ServerLimits l;
    l.max_header_bytes = http.max_header_bytes;
    l.max_body_bytes = http.max_body_bytes;
    l.header_timeout = std::chrono::seconds(http.header_timeout_seconds);
    l.body_timeout = std::chrono::seconds(http.body_timeout_seconds);
    l.idle_timeout = std::chrono::seconds(http.idle_timeout_seconds);
    l.max_requests_per_connection = http.max_keepalive_requests;
    l.large_body_bytes = http.large_body_bytes;
    l.max_concurrent_large_bodies = http.max_concurrent_large_bodies;
    l.io_threads = server.io_threads;
    l.worker_threads = server.worker_threads;
    return l;
}

Server::Server(ServerLimits limits, Handler handler, InlineHandler inline_handler,
               ErrorRenderers error_renderers)
    : Server(std::move(limits),
             AsyncHandler([handler = std::move(handler)](const Request& req,
                                                         const RequestContext& ctx,
                                                         const Respond& respond) {
                 respond(handler(req, ctx));
             }),
             std::move(inline_handler), std::move(error_renderers)) {}

Server::Server(ServerLimits limits, AsyncHandler handler, InlineHandler inline_handler,
               ErrorRenderers error_renderers)
    : impl_(std::make_unique<Impl>(std::move(limits), std::move(handler),
                                   std::move(inline_handler), std::move(error_renderers))) {}

Server::~Server() = default;

Result<std::uint16_t> Server::listen(std::string_view host, std::uint16_t port,
                                     ListenOptions options) {
    error_code ec;
    std::string host_text(host);
    net::ip::address address =
        net::ip::make_address(host_text == "localhost" ? "127.0.0.1" : host_text, ec);
    if (ec) {
        return fail(ErrorCode::invalid_argument,
                    "listen address \"{}\" is not an IP address (or \"localhost\")", host);
    }
    tcp::endpoint endpoint(address, port);
    std::lock_guard lock(impl_->listeners_mutex);
    if (impl_->stop_requested.load()) {
        return fail(ErrorCode::unavailable, "cannot listen on {}:{}: the server is stopping", host,
                    port);
    }
    auto listener = std::make_unique<Impl::Listener>(*impl_->io.front());
    listener->options = std::move(options);
    auto& acceptor = listener->acceptor;
    auto failed = [&](std::string_view step) {
        return fail(ErrorCode::unavailable, "cannot listen on {}:{}: {}: {}", host, port, step,
                    ec.message());
    };
    acceptor.open(endpoint.protocol(), ec);
    if (ec) {
        return failed("socket");
    }
    acceptor.set_option(net::socket_base::reuse_address(true), ec);
    if (ec) {
        return failed("SO_REUSEADDR");
    }
    if (address.is_v6()) {
        acceptor.set_option(net::ip::v6_only(true), ec);
        if (ec) {
            return failed("IPV6_V6ONLY");
        }
    }
    acceptor.bind(endpoint, ec);
    if (ec) {
        return failed("bind");
    }
    acceptor.listen(net::socket_base::max_listen_connections, ec);
    if (ec) {
        return failed("listen");
    }
    std::uint16_t bound = acceptor.local_endpoint(ec).port();
    if (ec) {
        return failed("getsockname");
    }
    Impl::Listener& ref = *listener;
    impl_->listeners.push_back(std::move(listener));
    net::post(ref.acceptor.get_executor(), [impl = impl_.get(), &ref] { impl->accept(ref); });
    log::info("http: listening on {}:{}{}", host, bound,
              ref.options.name.empty() ? std::string() : " (" + ref.options.name + ")");
    return bound;
}

void Server::run() {
    if (impl_->ran) {
        log::error("http: Server::run() called twice");
        return;
    }
    impl_->ran = true;
    std::vector<std::thread> threads;
    threads.reserve(impl_->io.size() - 1);
    for (unsigned i = 1; i < impl_->io.size(); ++i) {
        try {
            threads.emplace_back(
                [impl = impl_.get(), ctx = impl_->io[i].get()] { impl->run_io(*ctx); });
        } catch (const std::system_error& e) {
            // Out of threads (RLIMIT_NPROC, memory): serve with fewer rather than terminate.
            // Connections go only to the contexts that have a thread (the accept loop starts
            // on io[0], below, after this is settled).
            log::error("http: could not start I/O thread {} of {}: {}; running with {}", i + 1,
                       impl_->io.size(), e.what(), i);
            impl_->io_running.store(i);
            break;
        }
    }
    impl_->run_io(*impl_->io.front());
    for (auto& t : threads) {
        t.join();
    }
    // Every job holds a work guard on the io_context, so none is left; join() just reaps threads.
    impl_->workers.join();
    log::info("http: stopped");
}

void Server::stop() noexcept {
    // Only async-signal-safe operations here: a lock-free atomic and write(2).
    static_assert(std::atomic<bool>::is_always_lock_free);
    if (!impl_->stop_requested.exchange(true)) {
        std::uint64_t one = 1;
        [[maybe_unused]] ssize_t n = ::write(impl_->stop_fd, &one, sizeof one);
    }
}

void Server::set_inline_async_handler(InlineAsyncHandler handler) {
    impl_->inline_async_handler = std::move(handler);
}

Result<void> Server::use_tls(std::string_view certificate_chain_pem, ByteView private_key_pem,
                             std::string_view client_ca_pem) {
    auto ctx = std::make_shared<ssl::context>(ssl::context::tls_server);
    SSL_CTX* c = ctx->native_handle();
    auto openssl_error = [](std::string_view what) {
        std::string detail;
        while (unsigned long e = ::ERR_get_error()) {
            char buf[256];
            ::ERR_error_string_n(e, buf, sizeof buf);
            detail += detail.empty() ? "" : "; ";
            detail += buf;
        }
        return fail(ErrorCode::invalid_argument, "TLS: {}: {}", what,
                    detail.empty() ? "unknown error" : detail);
    };
    // Modern settings (Mozilla's "intermediate" profile): TLS 1.2 and 1.3 only, AEAD ciphers
    // with forward secrecy, no compression, no renegotiation (RFC 7457 §2.2), and no session
    // tickets (nothing to resume across a restart or between nodes; and no ticket key to keep).
    if (::SSL_CTX_set_min_proto_version(c, TLS1_2_VERSION) != 1 ||
        ::SSL_CTX_set_cipher_list(c, "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"
                                     "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"
                                     "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305") != 1) {
        return openssl_error("configuring protocol versions and ciphers");
    }
    // (OpenSSL 3 refuses client-initiated renegotiation unless SSL_OP_ALLOW_CLIENT_RENEGOTIATION;
    // SSL_OP_NO_RENEGOTIATION refuses it in every direction.)
    ::SSL_CTX_set_options(c, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_TICKET);
    ::SSL_CTX_set_num_tickets(c, 0);
    ::SSL_CTX_set_session_cache_mode(c, SSL_SESS_CACHE_OFF);
    // The leaf first, then the CA certificates the client needs to build the chain.
    std::unique_ptr<BIO, decltype(&::BIO_free)> chain(
        ::BIO_new_mem_buf(certificate_chain_pem.data(), static_cast<int>(certificate_chain_pem.size())),
        &::BIO_free);
    std::unique_ptr<X509, decltype(&::X509_free)> leaf(
        ::PEM_read_bio_X509(chain.get(), nullptr, nullptr, nullptr), &::X509_free);
    if (!leaf || ::SSL_CTX_use_certificate(c, leaf.get()) != 1) {
        return openssl_error("the certificate (PEM, leaf first)");
    }
    while (X509* extra = ::PEM_read_bio_X509(chain.get(), nullptr, nullptr, nullptr)) {
        if (::SSL_CTX_add_extra_chain_cert(c, extra) != 1) {  // takes ownership on success
            ::X509_free(extra);
            return openssl_error("a chain certificate");
        }
    }
    ::ERR_clear_error();  // the PEM reader's end-of-input
    std::unique_ptr<BIO, decltype(&::BIO_free)> key_bio(
        ::BIO_new_mem_buf(private_key_pem.data(), static_cast<int>(private_key_pem.size())),
        &::BIO_free);
    std::unique_ptr<EVP_PKEY, decltype(&::EVP_PKEY_free)> key(
        ::PEM_read_bio_PrivateKey(key_bio.get(), nullptr, nullptr, nullptr), &::EVP_PKEY_free);
    if (!key || ::SSL_CTX_use_PrivateKey(c, key.get()) != 1) {
        return openssl_error("the private key (PEM)");
    }
    if (::SSL_CTX_check_private_key(c) != 1) {
        return openssl_error("the private key does not match the certificate");
    }
    if (!client_ca_pem.empty()) {
        std::unique_ptr<BIO, decltype(&::BIO_free)> cas(
            ::BIO_new_mem_buf(client_ca_pem.data(), static_cast<int>(client_ca_pem.size())),
            &::BIO_free);
        int named = 0;
        while (X509* ca = ::PEM_read_bio_X509(cas.get(), nullptr, nullptr, nullptr)) {
            int added = ::SSL_CTX_add_client_CA(c, ca);  // copies the name
            ::X509_free(ca);
            if (added != 1) {
                return openssl_error("a client CA certificate");
            }
            ++named;
        }
        ::ERR_clear_error();
        if (named == 0) {
            return openssl_error("the client CA certificates (PEM)");
        }
        // Optional (no SSL_VERIFY_FAIL_IF_NO_PEER_CERT), and every chain accepted here: the
        // handler decides, per request, with the certificate's current status.
        ::SSL_CTX_set_verify(c, SSL_VERIFY_PEER, [](int, X509_STORE_CTX*) { return 1; });
        static const unsigned char kSessionContext[] = "selo";
        ::SSL_CTX_set_session_id_context(c, kSessionContext, sizeof kSessionContext - 1);
    }
    std::lock_guard lock(impl_->tls_mutex);
    impl_->tls = std::move(ctx);
    return {};
}

bool Server::tls() const noexcept {
    std::lock_guard lock(impl_->tls_mutex);
    return impl_->tls != nullptr;
}

ServerStats Server::stats() const noexcept {
    return ServerStats{impl_->accepted.load(),         impl_->refused.load(),
                       impl_->requests.load(),         impl_->open_connections.load(),
                       impl_->large_bodies.load(),     impl_->large_bodies_refused.load()};
}

const ServerLimits& Server::limits() const noexcept {
    return impl_->limits;
}

}  // namespace selo::http
