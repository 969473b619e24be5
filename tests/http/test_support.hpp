#pragma once
// Test helpers: a server running on its own thread, and a raw TCP client that speaks HTTP by
// hand (POSIX sockets and a minimal response reader), independent of Beast.

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <cctype>
#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "http/server.hpp"

namespace selo::http::test {

using namespace std::chrono_literals;

// Short limits so timeout tests finish quickly.
inline ServerLimits test_limits() {
    ServerLimits l;
    l.header_timeout = 1s;
    l.body_timeout = 1s;
    l.idle_timeout = 1s;
    l.write_timeout = 2s;
    l.linger_timeout = 500ms;
    l.shutdown_timeout = 3s;
    l.io_threads = 2;
    l.worker_threads = 2;
    l.max_connections = 256;
    return l;
}

class RunningServer {
  public:
    RunningServer(ServerLimits limits, Handler handler, InlineHandler inline_handler = {},
                  ErrorRenderers renderers = {})
        : server_(std::move(limits), std::move(handler), std::move(inline_handler),
                  std::move(renderers)) {
        auto port = server_.listen("127.0.0.1", 0);
        if (!port) {
            ADD_FAILURE() << port.error().message;
            return;
        }
        port_ = *port;
        thread_ = std::thread([this] { server_.run(); });
    }
    ~RunningServer() { stop(); }
    RunningServer(const RunningServer&) = delete;
    RunningServer& operator=(const RunningServer&) = delete;

    void stop() {
        server_.stop();
        if (thread_.joinable()) {
            thread_.join();
        }
    }
    std::thread& thread() { return thread_; }
    Server& server() { return server_; }
    std::uint16_t port() const { return port_; }
    std::string url(std::string_view path = "") const {
        return "http://127.0.0.1:" + std::to_string(port_) + std::string(path);
    }

  private:
    Server server_;
    std::uint16_t port_ = 0;
    std::thread thread_;
};

struct RawResponse {
    int status = 0;
    std::string version;
    std::vector<std::pair<std::string, std::string>> headers;  // names lower-cased
    std::string body;

    [[nodiscard]] std::optional<std::string> header(std::string_view name) const {
        for (const auto& [k, v] : headers) {
            if (k == name) {
                return v;
            }
        }
        return std::nullopt;
    }
};

class RawSocket {
  public:
    RawSocket() = default;
    explicit RawSocket(std::uint16_t port) { connect(port); }
    ~RawSocket() { close(); }
    RawSocket(const RawSocket&) = delete;
    RawSocket& operator=(const RawSocket&) = delete;
    RawSocket(RawSocket&& o) noexcept : fd_(std::exchange(o.fd_, -1)), buf_(std::move(o.buf_)) {}

    bool connect(std::uint16_t port) {
        close();
        fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
        sockaddr_in addr{};
        addr.sin_family = AF_INET;
        addr.sin_port = htons(port);
        addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        if (::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
            close();
            return false;
        }
        int one = 1;
        ::setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        return true;
    }

    bool is_open() const { return fd_ >= 0; }

    bool send(std::string_view data) {
        while (!data.empty()) {
            ssize_t n = ::send(fd_, data.data(), data.size(), MSG_NOSIGNAL);
            if (n <= 0) {
                return false;
            }
            data.remove_prefix(static_cast<std::size_t>(n));
        }
        return true;
    }

    // Reads into the buffer; 0 on EOF, -1 on timeout or error.
    ssize_t fill(std::chrono::milliseconds timeout) {
        pollfd p{fd_, POLLIN, 0};
        if (::poll(&p, 1, static_cast<int>(timeout.count())) <= 0) {
            return -1;
        }
        char chunk[16384];
        ssize_t n = ::recv(fd_, chunk, sizeof chunk, 0);
        if (n > 0) {
            buf_.append(chunk, static_cast<std::size_t>(n));
        }
        return n < 0 ? -1 : n;
    }

    // Reads one response framed by Content-Length (the server always sends it).
    std::optional<RawResponse> read_response(bool head = false,
                                             std::chrono::milliseconds timeout = 5s) {
        auto deadline = std::chrono::steady_clock::now() + timeout;
        std::size_t end;
        while ((end = buf_.find("\r\n\r\n")) == std::string::npos) {
            if (!wait_more(deadline)) {
                return std::nullopt;
            }
        }
        RawResponse r;
        std::string_view head_text(buf_.data(), end);
        std::size_t line_end = head_text.find("\r\n");
        std::string_view status_line = head_text.substr(0, line_end);
        r.version = std::string(status_line.substr(0, status_line.find(' ')));
        r.status = std::stoi(std::string(status_line.substr(status_line.find(' ') + 1, 3)));
        std::string_view rest = line_end == std::string_view::npos ? std::string_view{}
                                                                   : head_text.substr(line_end + 2);
        while (!rest.empty()) {
            std::size_t e = rest.find("\r\n");
            std::string_view line = rest.substr(0, e);
            rest = e == std::string_view::npos ? std::string_view{} : rest.substr(e + 2);
            std::size_t colon = line.find(':');
            std::string name(line.substr(0, colon));
            for (char& c : name) {
                c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
            }
            std::string_view value = line.substr(colon + 1);
            while (!value.empty() && value.front() == ' ') {
                value.remove_prefix(1);
            }
            r.headers.emplace_back(std::move(name), std::string(value));
        }
        std::size_t length = 0;
        if (auto cl = r.header("content-length");
            cl && !head && r.status >= 200 && r.status != 204 && r.status != 304) {
            length = std::stoul(*cl);
        }
        while (buf_.size() < end + 4 + length) {
            if (!wait_more(deadline)) {
                return std::nullopt;
            }
        }
        r.body = buf_.substr(end + 4, length);
        buf_.erase(0, end + 4 + length);
        return r;
    }

    // True when the peer closes (EOF or reset) within the timeout; discards anything received.
    bool wait_closed(std::chrono::milliseconds timeout = 5s) {
        auto deadline = std::chrono::steady_clock::now() + timeout;
        for (;;) {
            auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                deadline - std::chrono::steady_clock::now());
            if (left.count() <= 0) {
                return false;
            }
            pollfd p{fd_, POLLIN, 0};
            if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) {
                return false;
            }
            char chunk[4096];
            ssize_t n = ::recv(fd_, chunk, sizeof chunk, 0);
            if (n <= 0) {
                return true;
            }
        }
    }

    // Closes with RST instead of FIN (SO_LINGER 0): a client vanishing mid-request.
    void reset() {
        linger l{1, 0};
        ::setsockopt(fd_, SOL_SOCKET, SO_LINGER, &l, sizeof l);
        close();
    }

    void close() {
        if (fd_ >= 0) {
            ::close(fd_);
            fd_ = -1;
        }
    }

    const std::string& buffered() const { return buf_; }

  private:
    bool wait_more(std::chrono::steady_clock::time_point deadline) {
        auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
            deadline - std::chrono::steady_clock::now());
        return left.count() > 0 && fill(left) > 0;
    }

    int fd_ = -1;
    std::string buf_;
};

inline std::string get_request(std::string_view target, std::string_view extra = "") {
    return "GET " + std::string(target) + " HTTP/1.1\r\nHost: test\r\n" + std::string(extra) +
           "\r\n";
}

inline std::string post_request(std::string_view target, std::string_view body,
                                std::string_view extra = "") {
    return "POST " + std::string(target) +
           " HTTP/1.1\r\nHost: test\r\nContent-Length: " + std::to_string(body.size()) + "\r\n" +
           std::string(extra) + "\r\n" + std::string(body);
}

}  // namespace selo::http::test
