// Socket tests for what the server lets in before a handler runs: content codings.

#include <gtest/gtest.h>

#include <memory>

#include "http/response.hpp"
#include "http/router.hpp"
#include "http/test_support.hpp"

namespace selo::http {
namespace {

using namespace std::chrono_literals;
using test::get_request;
using test::post_request;
using test::RawSocket;
using test::RunningServer;

constexpr std::uint64_t kSmall = 1024;  // max_body_bytes in these tests

class AdmissionTest : public ::testing::Test {
  protected:
    AdmissionTest() {
        auto size = [](const Request& req, const RequestContext&, const PathParams&) {
            return text_response(Status::ok, std::to_string(req.body().size()));
        };
        router.add(Verb::post, "/upload", size);
        router.add(Verb::get, "/hello", [](const Request&, const RequestContext&,
                                           const PathParams&) {
            return text_response(Status::ok, "hello");
        });
    }

    static ServerLimits limits() {
        auto l = test::test_limits();
        l.max_body_bytes = kSmall;
        return l;
    }

    RunningServer& start(ServerLimits l) {
        server = std::make_unique<RunningServer>(std::move(l), router.handler(),
                                                 router.inline_handler());
        return *server;
    }

    RawSocket connect() {
        RawSocket s;
        EXPECT_TRUE(s.connect(server->port()));
        return s;
    }

    // Only the header of a POST announcing `length` bytes.
    static std::string post_header(std::string_view target, std::uint64_t length,
                                   std::string_view extra = "") {
        return "POST " + std::string(target) + " HTTP/1.1\r\nHost: t\r\nContent-Length: " +
               std::to_string(length) + "\r\n" + std::string(extra) + "\r\n";
    }

    Router router;
    std::unique_ptr<RunningServer> server;
};

// ---- content codings ----

TEST_F(AdmissionTest, ContentCodingsOtherThanIdentityGet415) {
    start(limits());
    struct Case {
        std::string request;
        int status;
    };
    const std::string gz("\x1f\x8b\x08\x00", 4);
    const std::vector<Case> cases = {
        {post_request("/upload", gz, "Content-Encoding: gzip\r\n"), 415},
        {post_request("/upload", gz, "Content-Encoding: GZIP\r\n"), 415},
        {post_request("/upload", gz, "Content-Encoding: identity, br\r\n"), 415},
        {post_request("/upload", gz, "Content-Encoding: identity\r\nContent-Encoding: x\r\n"),
         415},
        {"POST /upload HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n"
         "Content-Encoding: deflate\r\n\r\n4\r\nabcd\r\n0\r\n\r\n",
         415},
        // Refused before the body limit, and before 100 Continue.
        {post_header("/upload", 500000, "Content-Encoding: gzip\r\nExpect: 100-continue\r\n"),
         415},
        {post_request("/upload", "abcd", "Content-Encoding: identity\r\n"), 200},
        {post_request("/upload", "abcd", "Content-Encoding: \r\n"), 200},
        // Without content there is nothing to decode.
        {get_request("/hello", "Content-Encoding: gzip\r\n"), 200},
    };
    for (const auto& c : cases) {
        RawSocket s = connect();
        s.send(c.request);
        auto res = s.read_response();
        ASSERT_TRUE(res) << c.request;
        EXPECT_EQ(res->status, c.status) << c.request << " -> " << res->body;
        if (c.status == 415) {
            // RFC 9110 §15.5.16, §12.5.3: say which content codings would do.
            EXPECT_EQ(res->header("accept-encoding"), "identity") << c.request;
            EXPECT_TRUE(s.wait_closed(2s)) << c.request;
        }
    }
}

}  // namespace
}  // namespace selo::http
