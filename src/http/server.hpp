#pragma once
// The one HTTP/1.1 listener for every Selo service (Boost.Beast underneath, kept out of this
// header). The server only does I/O and enforces limits; what to answer is the Handler's job.
//
// Concurrency: `io_threads` threads do all socket I/O, each running an io_context of its own;
// connections are dealt to them in turn and stay on theirs, so a connection's handlers never run
// concurrently (no strand) and run on the thread that polled them. Requests go to a separate
// pool of `worker_threads` so that slow handlers (Argon2, signing) never stall I/O; responses
// are written back on the connection's I/O thread. Routes marked inline (InlineHandler) are
// answered on the I/O thread without the hop.
//
// Per connection, requests are handled one at a time, in order: pipelined requests wait in the
// read buffer, so responses always leave in request order (RFC 9112 §9.3.2).

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "core/bytes.hpp"
#include "core/config.hpp"
#include "core/error.hpp"
#include "http/message.hpp"
#include "http/response.hpp"

namespace selo::http {

// Thread counts beyond these are configuration mistakes, not tuning: server_limits refuses them
// and Server clamps them (Asio's thread_pool cannot report a failure to start a thread part-way).
inline constexpr unsigned kMaxIoThreads = 256;
inline constexpr unsigned kMaxWorkerThreads = 1024;

struct ServerLimits {
    // Request line plus header fields; beyond it the request gets 431 (RFC 6585 §5).
    std::uint32_t max_header_bytes = 16 * 1024;
    // Request body limit unless body_limit_for says otherwise; beyond it 413 (RFC 9110 §15.5.14),
    // from Content-Length before any body is read, or as soon as a chunked body grows past it.
    std::uint64_t max_body_bytes = 1024 * 1024;
    // The body limit of a request whose body may exceed max_body_bytes (Content-Length above it,
    // or chunked), from its whole header: e.g. CSC signatures/signDoc gets the document limit
    // only when its "Authorization: Bearer" token is valid, so that an anonymous client cannot
    // make the server buffer hundreds of megabytes just to be told its token is bogus.
    // - Called once per such request, after the header is read and before any of the body is
    //   read or buffered (nor 100 Continue sent). Requests within max_body_bytes, and requests
    //   without a body, never reach it.
    // - Runs on a worker thread, so it may block briefly (a database lookup of the token); the
    //   header timeout keeps running meanwhile, and the connection waits for it.
    // - An exception from it answers the request with 500.
    // Empty: max_body_bytes for every request.
    std::function<std::uint64_t(const RequestHeader& header)> body_limit_for;
    // The same, also given the connection's facts (RequestContext: e.g. the TLS client
    // certificate, for clients that authenticate with one rather than a header). When set it is
    // called instead of body_limit_for, under the same rules.
    std::function<std::uint64_t(const RequestHeader& header, const RequestContext& context)>
        body_limit_for_client;
    // Bodies larger than this are "large": each needs one of max_concurrent_large_bodies slots,
    // taken when Content-Length announces such a body, or when a chunked body grows past this
    // size (checked at each chunk header, before the chunk is read), and held until the
    // response has been written. Without a free slot the request gets 503 with Retry-After
    // (RFC 9110 §15.6.4, §10.2.3) before the body is buffered. This bounds the memory large
    // bodies hold at once, whoever is allowed to send them.
    std::uint64_t large_body_bytes = 8 * 1024 * 1024;
    // 0: no large body is accepted at all.
    std::size_t max_concurrent_large_bodies = 2;

    // From the first byte of a request (or from accept) until its header is complete. The whole
    // header must arrive within it, so a client trickling a byte at a time is cut off (408).
    std::chrono::milliseconds header_timeout{std::chrono::seconds(10)};
    // For the whole body, once the header is in.
    std::chrono::milliseconds body_timeout{std::chrono::seconds(120)};
    // Between requests on a kept-alive connection.
    std::chrono::milliseconds idle_timeout{std::chrono::seconds(30)};
    // For writing one response; a client that stops reading is dropped.
    std::chrono::milliseconds write_timeout{std::chrono::seconds(30)};
    // After the last response on a connection, how long to keep draining unread input before
    // closing, so the peer sees the response rather than a reset (RFC 9112 §9.6).
    std::chrono::milliseconds linger_timeout{std::chrono::seconds(2)};
    // stop(): how long in-flight requests may take before their connections are cut.
    std::chrono::milliseconds shutdown_timeout{std::chrono::seconds(30)};

    // Requests on one connection before the server asks the client to reconnect.
    unsigned max_requests_per_connection = 10000;
    // Open connections. Beyond it, a new connection gets a canned 503 and is closed. Also
    // clamped below the process's file-descriptor limit (RLIMIT_NOFILE).
    std::size_t max_connections = 10000;
    // 0: one per core. At most kMaxIoThreads and kMaxWorkerThreads (larger values are clamped,
    // with a warning).
    unsigned io_threads = 0;
    unsigned worker_threads = 0;
    // The Server header (RFC 9110 §10.2.4): the product name, no version.
    std::string server_name = "Selo";
};

// Limits from the configuration file, checked so that a mistake there is an error at start-up
// rather than a crash or a server that refuses everything. ErrorCode::invalid_argument, naming
// the setting, for:
//   [server] io_threads > kMaxIoThreads (256), worker_threads > kMaxWorkerThreads (1024);
//   [http] header/body/idle_timeout_seconds outside 1..86400;
//   [http] max_header_bytes outside 1 KiB..1 MiB, max_body_bytes 0,
//          max_document_body_bytes below max_body_bytes, max_keepalive_requests 0 (1 turns
//          keep-alive off).
// body_limit_for is left empty: routes that need a larger limit (signDoc:
// max_document_body_bytes) are known to the api layer, which sets it.
[[nodiscard]] Result<ServerLimits> server_limits(const HttpLimits& http,
                                                 const ServerConfig& server);

// "127.0.0.1:8080", "[::1]:8080", "0.0.0.0:0" (the form of ServerConfig::listen), split for
// Server::listen.
struct HostPort {
    std::string host;
    std::uint16_t port = 0;
};
[[nodiscard]] Result<HostPort> split_host_port(std::string_view address);

// Counters, for /metrics and tests.
struct ServerStats {
    std::uint64_t connections_accepted = 0;  // including refused ones
    std::uint64_t connections_refused = 0;   // over max_connections
    std::uint64_t requests = 0;              // requests answered (including 4xx from limits)
    std::size_t open_connections = 0;
    std::size_t large_bodies_in_flight = 0;     // slots of max_concurrent_large_bodies in use
    std::uint64_t large_bodies_refused = 0;     // 503s for want of a slot
};

// How a listener serves its connections.
struct ListenOptions {
    // Copied into RequestContext::listener of its requests, so handlers can tell listeners apart.
    std::string name;
    // Plain HTTP even when use_tls() is in effect (e.g. a listener for OCSP and CRLs).
    bool plain_http = false;
};

class Server {
  public:
    // `handler` answers requests on worker threads; `inline_handler`, when given, is tried first
    // on the I/O thread (see InlineHandler). `error_renderers` shape the server's own error
    // responses (400, 413, 415, 431, 501, 503, 500...) by the request's path once its request
    // line has been read; pass Router::error_renderers() so that they match the router's. The
    // 503 for connections over max_connections is sent before anything is read: always text.
    Server(ServerLimits limits, Handler handler, InlineHandler inline_handler = {},
           ErrorRenderers error_renderers = {});
    // The same with a handler that may answer later (see AsyncHandler): the worker returns as
    // soon as the handler does, and the response is written when `respond` is called.
    Server(ServerLimits limits, AsyncHandler handler, InlineHandler inline_handler = {},
           ErrorRenderers error_renderers = {});
    ~Server();
    Server(const Server&) = delete;
    Server& operator=(const Server&) = delete;

    // Binds and starts accepting on host:port (host is an IP address or "localhost"; port 0
    // picks an ephemeral port). May be called several times. Returns the bound port.
    [[nodiscard]] Result<std::uint16_t> listen(std::string_view host, std::uint16_t port,
                                               ListenOptions options = {});

    // Runs the server on the calling thread plus io_threads-1 more; blocks until stop() has
    // taken effect: listeners closed, in-flight requests answered (or cut after
    // shutdown_timeout), worker pool drained. Call once.
    void run();

    // Requests a graceful stop. Safe from any thread, before or during run(), repeatedly, and
    // from a signal handler (it only stores an atomic flag and write(2)s to an eventfd, both
    // async-signal-safe) as well as from an asio::signal_set callback.
    void stop() noexcept;

    // Tried on the I/O thread after the InlineHandler, before the worker pool (see
    // InlineAsyncHandler). Call before run().
    void set_inline_async_handler(InlineAsyncHandler handler);

    // Serves HTTPS from now on (connections already open keep what they have): the
    // certificate chain (PEM, leaf first, then the CAs the client needs) and its private key
    // (PEM, PKCS#8 or traditional). TLS 1.2 and 1.3 only, forward-secret AEAD cipher suites, no
    // renegotiation, compression or session tickets. May be called again, from any thread, to
    // replace the certificate (renewal). invalid_argument, with OpenSSL's reason, for a
    // certificate or key that cannot be used.
    // With `client_ca_pem` (PEM certificates): the server asks for an optional client
    // certificate, naming these CAs in its CertificateRequest (RFC 8446 §4.3.2
    // certificate_authorities, RFC 5246 §7.4.4). Any certificate whose key the client proves is
    // accepted into RequestContext::client_certificate; its chain, validity and status are the
    // application's to check per request, so that a revocation counts at once and a refusal
    // is an HTTP answer rather than a failed handshake.
    [[nodiscard]] Result<void> use_tls(std::string_view certificate_chain_pem,
                                       ByteView private_key_pem,
                                       std::string_view client_ca_pem = {});
    [[nodiscard]] bool tls() const noexcept;

    [[nodiscard]] ServerStats stats() const noexcept;
    [[nodiscard]] const ServerLimits& limits() const noexcept;

    struct Impl;

  private:
    std::unique_ptr<Impl> impl_;
};

}  // namespace selo::http
