#include "http/client.hpp"

#include <sys/socket.h>

#include <cerrno>
#include <optional>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/write.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>
#include <boost/url/parse.hpp>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509_vfy.h>

namespace selo::http {
namespace {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
namespace ssl = boost::asio::ssl;
using tcp = net::ip::tcp;
using error_code = boost::system::error_code;
using TlsStream = beast::ssl_stream<beast::tcp_stream>;

struct Origin {
    bool https = false;
    std::string host;  // without brackets for IPv6
    std::uint16_t port = 80;
    std::string path;  // encoded path (and query) of the URL
    [[nodiscard]] std::string authority() const {
        bool v6 = host.find(':') != std::string::npos;
        std::string h = v6 ? "[" + host + "]" : host;
        return port == (https ? 443 : 80) ? h : fmt::format("{}:{}", h, port);
    }
    [[nodiscard]] std::string url() const {
        return fmt::format("{}://{}", https ? "https" : "http", authority());
    }
};

Result<Origin> parse_http_url(std::string_view url) {
    auto parsed = boost::urls::parse_uri(url);
    if (!parsed) {
        // Boost.URL's reasons ("need more", "mismatch") say little to a person.
        return fail(ErrorCode::invalid_argument,
                    "\"{}\" is not a URL: give it as http://HOST[:PORT] or https://HOST[:PORT], e.g. "
                    "http://127.0.0.1:8080",
                    url);
    }
    const auto& u = *parsed;
    if (u.scheme_id() != boost::urls::scheme::http && u.scheme_id() != boost::urls::scheme::https) {
        return fail(ErrorCode::invalid_argument, "{}: only http:// and https:// URLs are supported",
                    url);
    }
    if (u.has_userinfo()) {
        // It would otherwise be dropped without a word (and never sent: credentials go in the
        // requests, e.g. selo sign --user).
        return fail(ErrorCode::invalid_argument,
                    "{}: a user name or password in the URL is not used; give http(s)://HOST[:PORT]", url);
    }
    if (u.has_fragment()) {
        // A fragment is never sent (RFC 9110 §4.2.4); paths would be appended after it.
        return fail(ErrorCode::invalid_argument,
                    "{}: a fragment (#...) has no place in a server's URL; give http(s)://HOST[:PORT]", url);
    }
    Origin o;
    o.https = u.scheme_id() == boost::urls::scheme::https;
    o.port = o.https ? 443 : 80;
    o.host = u.host_address();
    if (o.host.empty()) {
        return fail(ErrorCode::invalid_argument, "{}: no host", url);
    }
    if (u.has_port() && !u.port().empty()) {
        // The URI grammar allows any number of digits (RFC 3986 §3.2.3); a TCP port has 16 bits,
        // and port 0 cannot be dialled.
        std::string_view digits = u.port();
        unsigned long value = 0;
        for (char c : digits) {
            value = value * 10 + static_cast<unsigned long>(c - '0');
            if (value > 65535) {
                break;
            }
        }
        if (value == 0 || value > 65535 || digits.size() > 5) {
            return fail(ErrorCode::invalid_argument, "{}: bad port \"{}\"", url, digits);
        }
        o.port = static_cast<std::uint16_t>(value);
    }
    o.path = std::string(u.encoded_path());
    if (u.has_query()) {
        o.path += '?';
        o.path += std::string_view(u.encoded_query());
    }
    return o;
}

bool iprefix(std::string_view s, std::string_view prefix) {
    if (s.size() < prefix.size()) {
        return false;
    }
    for (std::size_t i = 0; i < prefix.size(); ++i) {
        if ((s[i] | 0x20) != prefix[i]) {
            return false;
        }
    }
    return true;
}

bool is_idempotent(Verb v) {
    // RFC 9110 §9.2.2.
    switch (v) {
        case Verb::get:
        case Verb::head:
        case Verb::options:
        case Verb::trace:
        case Verb::put:
        case Verb::delete_:
            return true;
        default:
            return false;
    }
}

bool is_http_parse_error(const error_code& ec) {
    return ec.category() == bhttp::make_error_code(bhttp::error::bad_method).category();
}

bool is_connection_lost(const error_code& ec) {
    return ec == bhttp::error::end_of_stream || ec == net::error::eof ||
           ec == net::error::connection_reset || ec == net::error::broken_pipe ||
           ec == net::error::connection_aborted;
}

std::string format_ms(std::chrono::milliseconds d) {
    if (d.count() % 1000 == 0) {
        return fmt::format("{} s", d.count() / 1000);
    }
    return fmt::format("{} ms", d.count());
}

std::string openssl_errors() {
    std::string out;
    while (unsigned long e = ::ERR_get_error()) {
        char buf[256];
        ::ERR_error_string_n(e, buf, sizeof buf);
        out += out.empty() ? "" : "; ";
        out += buf;
    }
    return out.empty() ? "unknown error" : out;
}

}  // namespace

struct Client::Impl {
    ClientOptions options;
    std::string base_url;
    Origin base;
    net::io_context ioc{1};
    // Every connection is a TLS stream object; over http only its TCP layer is used.
    ssl::context tls_context{ssl::context::tls_client};
    std::optional<TlsStream> stream;
    bool tls = false;  // the open connection speaks TLS
    Origin connected_to;
    beast::flat_buffer buffer;
    std::uint64_t opened = 0;

    // Runs one asynchronous operation to completion on the private io_context: the synchronous
    // facade over Beast's async operations, which are the ones that honour timeouts.
    template <class Start>
    error_code run(Start&& start) {
        error_code result = net::error::operation_aborted;
        start([&result](error_code ec, auto&&...) { result = ec; });
        ioc.restart();
        ioc.run();
        return result;
    }

    // One operation on the open connection's own stream: TLS or plain TCP.
    template <class F>
    error_code io(F&& f) {
        if (tls) {
            return f(*stream);
        }
        return f(stream->next_layer());
    }

    beast::tcp_stream& tcp_layer() { return stream->next_layer(); }

    void drop() noexcept {
        if (stream) {
            error_code ec;
            tcp_layer().socket().shutdown(tcp::socket::shutdown_both, ec);
            tcp_layer().close();
            stream.reset();
        }
        buffer.clear();
    }

    // TLS 1.2+, the peer's certificate verified against the system store or options.ca_file.
    Result<void> configure_tls() {
        SSL_CTX* c = tls_context.native_handle();
        if (::SSL_CTX_set_min_proto_version(c, TLS1_2_VERSION) != 1) {
            return fail(ErrorCode::internal, "TLS: {}", openssl_errors());
        }
        ::SSL_CTX_set_options(c, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION);
        ::SSL_CTX_set_verify(c, SSL_VERIFY_PEER, nullptr);
        if (!options.ca_file.empty()) {
            // Only these anchors (like curl --cacert): e.g. Selo's own root.
            if (::SSL_CTX_load_verify_locations(c, options.ca_file.c_str(), nullptr) != 1) {
                return fail(ErrorCode::invalid_argument, "cannot use {} as CA certificates (PEM): {}",
                            options.ca_file.string(), openssl_errors());
            }
        } else if (::SSL_CTX_set_default_verify_paths(c) != 1) {
            return fail(ErrorCode::unavailable, "TLS: cannot load the system CA store: {}",
                        openssl_errors());
        }
        return {};
    }

    // Handshake on the connected TCP stream: SNI and the name to check are the URL's host
    // (RFC 6125: a DNS name against dNSName, an IP address against iPAddress entries).
    Result<void> handshake(const Origin& origin) {
        SSL* ssl_handle = stream->native_handle();
        error_code addr_ec;
        net::ip::make_address(origin.host, addr_ec);
        X509_VERIFY_PARAM* param = ::SSL_get0_param(ssl_handle);
        if (!addr_ec) {
            if (::X509_VERIFY_PARAM_set1_ip_asc(param, origin.host.c_str()) != 1) {
                return fail(ErrorCode::internal, "TLS: {}", openssl_errors());
            }
        } else {
            ::X509_VERIFY_PARAM_set_hostflags(param, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
            if (::SSL_set1_host(ssl_handle, origin.host.c_str()) != 1 ||
                // SSL_set_tlsext_host_name, without the macro's C cast.
                ::SSL_ctrl(ssl_handle, SSL_CTRL_SET_TLSEXT_HOSTNAME, TLSEXT_NAMETYPE_host_name,
                           const_cast<char*>(origin.host.c_str())) != 1) {
                return fail(ErrorCode::internal, "TLS: {}", openssl_errors());
            }
        }
        tcp_layer().expires_after(options.connect_timeout);
        error_code ec = run([&](auto handler) {
            stream->async_handshake(ssl::stream_base::client, std::move(handler));
        });
        if (!ec) {
            return {};
        }
        long verify = ::SSL_get_verify_result(ssl_handle);
        std::string why = ec == beast::error::timeout
                              ? "timed out after " + format_ms(options.connect_timeout)
                              : ec.message();
        if (verify != X509_V_OK) {
            why = fmt::format("the server's certificate is not trusted: {}{}",
                              ::X509_verify_cert_error_string(verify),
                              verify == X509_V_ERR_HOSTNAME_MISMATCH || verify == X509_V_ERR_IP_ADDRESS_MISMATCH
                                  ? fmt::format(" (it is not for {})", origin.host)
                                  : options.ca_file.empty() ? " (--ca-file names the CA to trust)" : "");
        }
        drop();
        return fail(ErrorCode::unavailable, "TLS with {} failed: {}", origin.url(), why);
    }

    // A kept-alive connection the server has closed (idle timeout) reads as EOF; one with
    // unsolicited bytes waiting (say, a 408 before closing) cannot be trusted either.
    bool stale() {
        if (buffer.size() > 0) {
            return true;
        }
        char c;
        ssize_t n = ::recv(tcp_layer().socket().native_handle(), &c, 1, MSG_PEEK | MSG_DONTWAIT);
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            return false;
        }
        return true;
    }

    Result<void> connect(const Origin& origin) {
        const std::string where = origin.url();
        std::vector<tcp::endpoint> endpoints;
        error_code ec;
        auto address = net::ip::make_address(origin.host, ec);
        if (!ec) {
            endpoints.emplace_back(address, origin.port);
        } else {
            tcp::resolver resolver(ioc);
            net::steady_timer timer(ioc);
            timer.expires_after(options.connect_timeout);
            bool timed_out = false;
            timer.async_wait([&](error_code wait_ec) {
                if (!wait_ec) {
                    timed_out = true;
                    resolver.cancel();
                }
            });
            error_code resolve_ec;
            resolver.async_resolve(origin.host, std::to_string(origin.port),
                                   [&](error_code e, const tcp::resolver::results_type& results) {
                                       timer.cancel();
                                       resolve_ec = e;
                                       for (const auto& entry : results) {
                                           endpoints.push_back(entry.endpoint());
                                       }
                                   });
            ioc.restart();
            ioc.run();
            if (timed_out) {
                return fail(ErrorCode::unavailable, "cannot resolve {}: timed out after {}",
                            origin.host, format_ms(options.connect_timeout));
            }
            if (resolve_ec || endpoints.empty()) {
                return fail(ErrorCode::unavailable, "cannot resolve {}: {}", origin.host,
                            resolve_ec ? resolve_ec.message() : "no addresses");
            }
        }
        stream.emplace(ioc, tls_context);
        tls = false;
        tcp_layer().expires_after(options.connect_timeout);
        ec = run([&](auto handler) { tcp_layer().async_connect(endpoints, std::move(handler)); });
        if (ec) {
            drop();
            if (ec == beast::error::timeout) {
                return fail(ErrorCode::unavailable, "cannot connect to {}: timed out after {}",
                            where, format_ms(options.connect_timeout));
            }
            return fail(ErrorCode::unavailable, "cannot connect to {}: {}", where, ec.message());
        }
        error_code ignored;
        tcp_layer().socket().set_option(tcp::no_delay(true), ignored);
        if (origin.https) {
            SELO_TRY_VOID(handshake(origin));
            tls = true;
        }
        connected_to = origin;
        buffer.clear();
        ++opened;
        return {};
    }
};

Client::Client(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Client::Client(Client&&) noexcept = default;
Client& Client::operator=(Client&&) noexcept = default;
Client::~Client() = default;

Result<Client> Client::create(std::string_view base_url, ClientOptions options) {
    auto impl = std::make_unique<Impl>();
    impl->base = SELO_TRY(parse_http_url(base_url));
    if (impl->base.path.find('?') != std::string::npos) {
        return fail(ErrorCode::invalid_argument, "{}: a base URL cannot have a query", base_url);
    }
    // "http://host/prefix/" + "/x" must be "/prefix/x".
    while (!impl->base.path.empty() && impl->base.path.back() == '/') {
        impl->base.path.pop_back();
    }
    impl->base_url = std::string(base_url);
    impl->options = std::move(options);
    SELO_TRY_VOID(impl->configure_tls());
    return Client(std::move(impl));
}

Result<Response> Client::request(Verb method, std::string_view url_or_path, std::string_view body,
                                 std::string_view content_type, const Headers& headers) {
    Impl& im = *impl_;
    Origin origin;
    std::string target;
    if (!url_or_path.empty() && url_or_path.front() == '/') {
        origin = im.base;
        target = im.base.path + std::string(url_or_path);
    } else if (iprefix(url_or_path, "http://") || iprefix(url_or_path, "https://")) {
        origin = SELO_TRY(parse_http_url(url_or_path));
        target = origin.path.empty() ? "/" : origin.path;
        if (target.front() == '?') {
            target.insert(0, "/");
        }
    } else {
        return fail(ErrorCode::invalid_argument,
                    "\"{}\" is neither a path starting with '/' nor an http(s):// URL", url_or_path);
    }
    const std::string where = origin.url();

    Request req{method, target, 11};
    req.set(Field::host, origin.authority());
    req.set(Field::user_agent, im.options.user_agent);
    for (const auto& [name, value] : headers) {
        req.insert(name, value);
    }
    if (!content_type.empty()) {
        req.set(Field::content_type, content_type);
    }
    req.body() = std::string(body);
    req.prepare_payload();
    const bool idempotent = is_idempotent(method);

    for (int attempt = 0;; ++attempt) {
        if (im.stream && (im.connected_to.https != origin.https ||
                          im.connected_to.host != origin.host ||
                          im.connected_to.port != origin.port || im.stale())) {
            im.drop();
        }
        const bool reused = im.stream.has_value();
        if (!reused) {
            SELO_TRY_VOID(im.connect(origin));
        }
        // Only a request that can be repeated harmlessly is retried, and only when a reused
        // connection failed before any response byte (RFC 9112 §9.3.1).
        const bool may_retry = reused && idempotent && attempt == 0;

        im.tcp_layer().expires_after(im.options.io_timeout);
        error_code ec = im.io([&](auto& stream) {
            return im.run([&](auto handler) { bhttp::async_write(stream, req, std::move(handler)); });
        });
        if (ec) {
            im.drop();
            if (may_retry && ec != beast::error::timeout) {
                continue;
            }
            if (ec == beast::error::timeout) {
                return fail(ErrorCode::unavailable, "{}: sending the request timed out after {}",
                            where, format_ms(im.options.io_timeout));
            }
            return fail(ErrorCode::unavailable, "{}: sending the request failed: {}", where,
                        ec.message());
        }

        std::optional<bhttp::response_parser<bhttp::string_body>> parser;
        for (;;) {
            parser.emplace();
            parser->body_limit(im.options.max_response_body_bytes);
            parser->header_limit(im.options.max_response_header_bytes);
            if (method == Verb::head) {
                parser->skip(true);  // RFC 9110 §9.3.2: a HEAD response has no content
            }
            im.tcp_layer().expires_after(im.options.io_timeout);
            ec = im.io([&](auto& stream) {
                return im.run([&](auto handler) {
                    bhttp::async_read(stream, im.buffer, *parser, std::move(handler));
                });
            });
            // Skip interim responses (RFC 9110 §15.2); 101 would be a protocol switch we never
            // asked for, and is treated as the final answer.
            unsigned status = ec ? 0 : parser->get().result_int();
            if (ec || status < 100 || status >= 200 || status == 101) {
                break;
            }
        }
        if (ec) {
            const bool nothing = !parser->got_some();
            im.drop();
            if (may_retry && nothing && is_connection_lost(ec)) {
                continue;
            }
            if (ec == beast::error::timeout) {
                return fail(ErrorCode::unavailable, "{}: no response within {}", where,
                            format_ms(im.options.io_timeout));
            }
            if (ec == bhttp::error::body_limit) {
                return fail(ErrorCode::too_large, "{}: response body exceeds {} bytes", where,
                            im.options.max_response_body_bytes);
            }
            if (ec == bhttp::error::header_limit) {
                return fail(ErrorCode::too_large, "{}: response header exceeds {} bytes", where,
                            im.options.max_response_header_bytes);
            }
            if (nothing && is_connection_lost(ec)) {
                return fail(
                    ErrorCode::unavailable,
                    "{}: the server closed the connection without responding{}", where,
                    reused && !idempotent ? " (not retried: the method is not idempotent)" : "");
            }
            if (ec == bhttp::error::partial_message || is_connection_lost(ec)) {
                return fail(ErrorCode::unavailable, "{}: connection lost mid-response: {}", where,
                            ec.message());
            }
            if (is_http_parse_error(ec)) {
                return fail(ErrorCode::malformed, "{}: malformed HTTP response: {}", where,
                            ec.message());
            }
            return fail(ErrorCode::unavailable, "{}: reading the response failed: {}", where,
                        ec.message());
        }
        const bool must_close = parser->need_eof() || !parser->get().keep_alive();
        Response res = parser->release();
        if (must_close) {
            im.drop();
        }
        return res;
    }
}

void Client::close() noexcept {
    impl_->drop();
}

const std::string& Client::base_url() const noexcept {
    return impl_->base_url;
}

std::uint64_t Client::connections_opened() const noexcept {
    return impl_->opened;
}

}  // namespace selo::http
