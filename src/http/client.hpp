#pragma once
// A small synchronous HTTP/1.1 client for the CLI's client commands (`selo sign`,
// `selo timestamp`), which talk to a Selo server like any third-party client. One connection,
// kept alive and reused for requests to the same host; not thread-safe (one Client per thread).
//
// Only http:// for now. The transport is a Beast stream behind the exchange logic, so TLS slots in
// as another stream type (beast::ssl_stream<beast::tcp_stream>) without changing this interface.

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/error.hpp"
#include "http/message.hpp"

namespace selo::http {

struct ClientOptions {
    // Name resolution plus TCP connect.
    std::chrono::milliseconds connect_timeout{std::chrono::seconds(10)};
    // Writing the request, and separately reading the whole response.
    std::chrono::milliseconds io_timeout{std::chrono::seconds(120)};
    std::uint64_t max_response_body_bytes = 512ull * 1024 * 1024;
    std::uint32_t max_response_header_bytes = 64 * 1024;
    std::string user_agent = "selo";
};

// Extra request header fields, sent in order (a name given twice is sent twice).
using Headers = std::vector<std::pair<std::string, std::string>>;

class Client {
  public:
    // Validates the base URL: http://host[:port][/prefix]. https is refused (unsupported) until
    // TLS lands.
    [[nodiscard]] static Result<Client> create(std::string_view base_url,
                                               ClientOptions options = {});

    Client(Client&&) noexcept;
    Client& operator=(Client&&) noexcept;
    ~Client();

    // Sends one request and reads the whole response. `url_or_path` is a path ("/csc/v2/info",
    // appended to the base URL's path, query allowed) or an absolute http:// URL. A non-empty
    // content_type sets Content-Type. Errors: unavailable (cannot connect, connection lost,
    // timeout), malformed (the peer did not answer HTTP), too_large (response over the limits),
    // invalid_argument / unsupported (bad URL). HTTP error statuses are responses, not Errors.
    //
    // A request on a reused connection that the server had closed meanwhile is retried once on a
    // new connection when the method is idempotent (RFC 9110 §9.2.2, RFC 9112 §9.3.1); a POST is
    // never sent twice.
    [[nodiscard]] Result<Response> request(Verb method, std::string_view url_or_path,
                                           std::string_view body = {},
                                           std::string_view content_type = {},
                                           const Headers& headers = {});

    [[nodiscard]] Result<Response> get(std::string_view url_or_path, const Headers& headers = {}) {
        return request(Verb::get, url_or_path, {}, {}, headers);
    }
    [[nodiscard]] Result<Response> post(std::string_view url_or_path, std::string_view body,
                                        std::string_view content_type,
                                        const Headers& headers = {}) {
        return request(Verb::post, url_or_path, body, content_type, headers);
    }

    // Closes the kept-alive connection, if any.
    void close() noexcept;

    [[nodiscard]] const std::string& base_url() const noexcept;
    // TCP connections opened so far (tests check keep-alive reuse with it).
    [[nodiscard]] std::uint64_t connections_opened() const noexcept;

    struct Impl;

  private:
    explicit Client(std::unique_ptr<Impl> impl);
    std::unique_ptr<Impl> impl_;
};

}  // namespace selo::http
