#pragma once
// A small synchronous HTTP/1.1 client for the CLI's client commands (`selo sign`,
// `selo timestamp`), which talk to a Selo server like any third-party client. One connection,
// kept alive and reused for requests to the same host; not thread-safe (one Client per thread).
//
// http:// and https:// (TLS 1.2+, the server's certificate checked against the system CA store or
// ClientOptions::ca_file, and against the URL's host name or IP address).

#include <chrono>
#include <filesystem>
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
    // PEM file of the CA certificates to trust for https (e.g. Selo's root), instead of the
    // system store.
    std::filesystem::path ca_file;
};

// Extra request header fields, sent in order (a name given twice is sent twice).
using Headers = std::vector<std::pair<std::string, std::string>>;

class Client {
  public:
    // Validates the base URL: http(s)://host[:port][/prefix], and loads the CA certificates to
    // trust (invalid_argument for an unusable ca_file).
    [[nodiscard]] static Result<Client> create(std::string_view base_url,
                                               ClientOptions options = {});

    Client(Client&&) noexcept;
    Client& operator=(Client&&) noexcept;
    ~Client();

    // Sends one request and reads the whole response. `url_or_path` is a path ("/csc/v2/info",
    // appended to the base URL's path, query allowed) or an absolute http(s):// URL. Over https
    // an untrusted certificate, or one not for the URL's host, fails with unavailable, naming why. A non-empty
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
