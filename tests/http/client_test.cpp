// The client against our server, and against peers that misbehave.

#include <gtest/gtest.h>

#include <thread>

#include "http/client.hpp"
#include "http/response.hpp"
#include "http/router.hpp"
#include "http/test_support.hpp"

namespace selo::http {
namespace {

using namespace std::chrono_literals;
using test::RunningServer;

class ClientTest : public ::testing::Test {
  protected:
    ClientTest() {
        router.add(Verb::get, "/port",
                   [](const Request&, const RequestContext& ctx, const PathParams&) {
                       return text_response(Status::ok, std::to_string(ctx.remote_port));
                   });
        router.add(Verb::post, "/echo",
                   [](const Request& req, const RequestContext&, const PathParams&) {
                       std::string ct(req[Field::content_type]);
                       std::string tag(req["X-Tag"]);
                       return text_response(Status::ok, ct + "|" + tag + "|" + req.body());
                   });
        router.add(Verb::get, "/prefix/hello",
                   [](const Request& req, const RequestContext&, const PathParams&) {
                       return text_response(Status::ok, std::string(req.target()));
                   });
        router.add(Verb::get, "/big", [](const Request&, const RequestContext&, const PathParams&) {
            return text_response(Status::ok, std::string(1000, 'x'));
        });
        router.add(Verb::get, "/sleep",
                   [](const Request&, const RequestContext&, const PathParams&) {
                       std::this_thread::sleep_for(1500ms);
                       return text_response(Status::ok, "late");
                   });
    }
    RunningServer& start(ServerLimits limits = test::test_limits()) {
        server = std::make_unique<RunningServer>(std::move(limits), router.handler(),
                                                 router.inline_handler());
        return *server;
    }
    Client client(ClientOptions options = {}) {
        auto c = Client::create(server->url(), std::move(options));
        EXPECT_TRUE(c.has_value()) << c.error().message;
        return std::move(*c);
    }

    Router router;
    std::unique_ptr<RunningServer> server;
};

// A port nobody listens on: bound once, then released.
std::uint16_t unused_port() {
    int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
    socklen_t len = sizeof addr;
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
    ::close(fd);
    return ntohs(addr.sin_port);
}

// A peer that answers anything with `reply` and closes.
class FakePeer {
  public:
    explicit FakePeer(std::string reply) : reply_(std::move(reply)) {
        fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
        sockaddr_in addr{};
        addr.sin_family = AF_INET;
        addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        ::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
        ::listen(fd_, 4);
        socklen_t len = sizeof addr;
        ::getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len);
        port_ = ntohs(addr.sin_port);
        thread_ = std::thread([this] {
            int c = ::accept(fd_, nullptr, nullptr);
            if (c < 0) {
                return;
            }
            char buf[4096];
            (void)::recv(c, buf, sizeof buf, 0);
            (void)::send(c, reply_.data(), reply_.size(), MSG_NOSIGNAL);
            ::shutdown(c, SHUT_RDWR);
            ::close(c);
        });
    }
    ~FakePeer() {
        ::shutdown(fd_, SHUT_RDWR);
        ::close(fd_);
        thread_.join();
    }
    std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }

  private:
    std::string reply_;
    int fd_ = -1;
    std::uint16_t port_ = 0;
    std::thread thread_;
};

TEST(ClientUrl, BadBaseUrlsAreRefusedWithAMessageThatSaysWhatToGive) {
    auto bare = Client::create("notaurl");
    ASSERT_FALSE(bare);
    EXPECT_NE(bare.error().message.find("http://HOST"), std::string::npos) << bare.error().message;
    EXPECT_EQ(bare.error().message.find("need more"), std::string::npos) << bare.error().message;
    auto ftp = Client::create("ftp://127.0.0.1/");
    ASSERT_FALSE(ftp);
    EXPECT_NE(ftp.error().message.find("only http:// and https://"), std::string::npos) << ftp.error().message;
    auto port = Client::create("http://127.0.0.1:70000");
    ASSERT_FALSE(port);
    auto user = Client::create("http://chan@127.0.0.1:8080");
    ASSERT_FALSE(user);
    EXPECT_NE(user.error().message.find("not used"), std::string::npos) << user.error().message;
}

TEST_F(ClientTest, ReusesOneConnectionForSeveralRequests) {
    start();
    Client c = client();
    std::string port;
    for (int i = 0; i < 3; ++i) {
        auto res = c.get("/port");
        ASSERT_TRUE(res) << res.error().message;
        EXPECT_EQ(res->result(), Status::ok);
        if (i == 0) {
            port = res->body();
        }
        EXPECT_EQ(res->body(), port);
    }
    EXPECT_EQ(c.connections_opened(), 1u);
}

TEST_F(ClientTest, ReconnectsAfterTheServerClosedAnIdleConnection) {
    auto limits = test::test_limits();
    limits.idle_timeout = 200ms;
    start(limits);
    Client c = client();
    auto first = c.get("/port");
    ASSERT_TRUE(first) << first.error().message;
    std::this_thread::sleep_for(500ms);  // the server closes the connection meanwhile
    auto second = c.post("/echo", "after idle", "text/plain");
    ASSERT_TRUE(second) << second.error().message;
    EXPECT_EQ(second->body(), "text/plain||after idle\n");
    EXPECT_EQ(c.connections_opened(), 2u);
}

TEST_F(ClientTest, SendsBodyContentTypeAndHeaders) {
    start();
    Client c = client();
    auto res =
        c.request(Verb::post, "/echo", R"({"a":1})", "application/json", {{"X-Tag", "陳大文"}});
    ASSERT_TRUE(res) << res.error().message;
    EXPECT_EQ(res->body(), "application/json|陳大文|{\"a\":1}\n");
}

TEST_F(ClientTest, HttpErrorStatusesAreResponsesNotErrors) {
    start();
    Client c = client();
    auto res = c.get("/missing");
    ASSERT_TRUE(res) << res.error().message;
    EXPECT_EQ(res->result(), Status::not_found);
    // And the connection is still usable.
    EXPECT_TRUE(c.get("/port"));
    EXPECT_EQ(c.connections_opened(), 1u);
}

TEST_F(ClientTest, HeadHasNoBodyAndKeepsTheConnection) {
    start();
    Client c = client();
    auto head = c.request(Verb::head, "/big");
    ASSERT_TRUE(head) << head.error().message;
    EXPECT_EQ(head->result(), Status::ok);
    EXPECT_EQ((*head)[Field::content_length], "1001");
    EXPECT_TRUE(head->body().empty());
    auto get = c.get("/big");
    ASSERT_TRUE(get);
    EXPECT_EQ(get->body().size(), 1001u);
    EXPECT_EQ(c.connections_opened(), 1u);
}

TEST_F(ClientTest, BaseUrlPathIsAPrefixAndAbsoluteUrlsWork) {
    start();
    auto prefixed = Client::create(server->url("/prefix/"));
    ASSERT_TRUE(prefixed);
    auto res = prefixed->get("/hello?x=1");
    ASSERT_TRUE(res) << res.error().message;
    EXPECT_EQ(res->body(), "/prefix/hello?x=1\n");

    auto elsewhere = Client::create("http://127.0.0.1:" + std::to_string(unused_port()));
    ASSERT_TRUE(elsewhere);
    auto absolute = elsewhere->get(server->url("/port"));
    ASSERT_TRUE(absolute) << absolute.error().message;
    EXPECT_EQ(absolute->result(), Status::ok);
}

TEST(Client, UnreachableServerIsUnavailable) {
    auto c = Client::create("http://127.0.0.1:" + std::to_string(unused_port()));
    ASSERT_TRUE(c);
    auto res = c->get("/x");
    ASSERT_FALSE(res);
    EXPECT_EQ(res.error().code, ErrorCode::unavailable);
    EXPECT_NE(res.error().message.find("cannot connect"), std::string::npos) << res.error().message;
}

TEST(Client, GarbageFromThePeerIsMalformed) {
    FakePeer peer("SSH-2.0-OpenSSH_9.2\r\n\r\n");
    auto c = Client::create(peer.url());
    ASSERT_TRUE(c);
    auto res = c->get("/x");
    ASSERT_FALSE(res);
    EXPECT_EQ(res.error().code, ErrorCode::malformed) << res.error().message;
    EXPECT_NE(res.error().message.find("malformed HTTP response"), std::string::npos);
}

TEST(Client, PeerClosingWithoutAnswerIsUnavailable) {
    FakePeer peer("");
    auto c = Client::create(peer.url());
    ASSERT_TRUE(c);
    auto res = c->post("/x", "body", "text/plain");
    ASSERT_FALSE(res);
    EXPECT_EQ(res.error().code, ErrorCode::unavailable);
    EXPECT_NE(res.error().message.find("without responding"), std::string::npos)
        << res.error().message;
}

TEST(Client, TruncatedResponseIsUnavailable) {
    FakePeer peer("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nonly a bit");
    auto c = Client::create(peer.url());
    ASSERT_TRUE(c);
    auto res = c->get("/x");
    ASSERT_FALSE(res);
    EXPECT_EQ(res.error().code, ErrorCode::unavailable);
    EXPECT_NE(res.error().message.find("mid-response"), std::string::npos) << res.error().message;
}

TEST_F(ClientTest, SlowServerTimesOut) {
    start();
    ClientOptions options;
    options.io_timeout = 300ms;
    Client c = client(options);
    auto begin = std::chrono::steady_clock::now();
    auto res = c.get("/sleep");
    ASSERT_FALSE(res);
    EXPECT_EQ(res.error().code, ErrorCode::unavailable);
    EXPECT_NE(res.error().message.find("no response within 300 ms"), std::string::npos)
        << res.error().message;
    EXPECT_LT(std::chrono::steady_clock::now() - begin, 1200ms);
}

TEST_F(ClientTest, ResponseBodyLimitIsEnforced) {
    start();
    ClientOptions options;
    options.max_response_body_bytes = 100;
    Client c = client(options);
    auto res = c.get("/big");
    ASSERT_FALSE(res);
    EXPECT_EQ(res.error().code, ErrorCode::too_large);
}

TEST(Client, RefusesUnsupportedAndMalformedUrls) {
    EXPECT_EQ(Client::create("ftp://x/").error().code, ErrorCode::invalid_argument);
    EXPECT_EQ(Client::create("not a url").error().code, ErrorCode::invalid_argument);
    EXPECT_EQ(Client::create("http://x:99999/").error().code, ErrorCode::invalid_argument);
    auto c = Client::create("http://127.0.0.1:1");
    ASSERT_TRUE(c);
    EXPECT_EQ(c->get("relative/path").error().code, ErrorCode::invalid_argument);
}

}  // namespace
}  // namespace selo::http
