// Socket tests: a real server on 127.0.0.1, port 0, driven by a hand-written client and by curl.

#include <signal.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstdio>
#include <functional>
#include <future>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <thread>

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

std::string thread_tag() {
    return std::to_string(std::hash<std::thread::id>{}(std::this_thread::get_id()));
}

// The application every test talks to.
class ServerTest : public ::testing::Test {
  protected:
    ServerTest() {
        router.add(Verb::get, "/hello",
                   [](const Request&, const RequestContext&, const PathParams&) {
                       return text_response(Status::ok, "hello");
                   });
        router.add(Verb::get, "/port",
                   [](const Request&, const RequestContext& ctx, const PathParams&) {
                       return text_response(Status::ok, std::to_string(ctx.remote_port));
                   });
        router.add(Verb::get, "/slow",
                   [](const Request& req, const RequestContext&, const PathParams&) {
                       auto q = parse_query(req.target());
                       int ms = q && q->get("ms") ? std::stoi(std::string(*q->get("ms"))) : 100;
                       std::this_thread::sleep_for(std::chrono::milliseconds(ms));
                       return text_response(Status::ok, "slow");
                   });
        auto echo = [](const Request& req, const RequestContext&, const PathParams&) {
            return make_response(Status::ok, req.body(), "application/octet-stream");
        };
        router.add(Verb::post, "/echo", echo);
        router.add(Verb::post, "/upload",
                   [](const Request& req, const RequestContext&, const PathParams&) {
                       return text_response(Status::ok, std::to_string(req.body().size()));
                   });
        router.add(Verb::get, "/throw",
                   [](const Request&, const RequestContext&, const PathParams&) -> Response {
                       throw std::runtime_error("secret detail that must not leak");
                   });
        router.add(Verb::get, "/barrier",
                   [this](const Request&, const RequestContext&, const PathParams&) {
                       std::unique_lock lock(barrier_mutex);
                       ++barrier_arrived;
                       barrier_cv.notify_all();
                       bool both =
                           barrier_cv.wait_for(lock, 5s, [this] { return barrier_arrived >= 2; });
                       return text_response(Status::ok, both ? "parallel" : "serial");
                   });
        router.add(Verb::get, "/block",
                   [this](const Request&, const RequestContext&, const PathParams&) {
                       block_entered.set_value();
                       std::this_thread::sleep_for(500ms);
                       return text_response(Status::ok, "done");
                   });
        router.add(Verb::get, "/thread",
                   [](const Request&, const RequestContext&, const PathParams&) {
                       return text_response(Status::ok, thread_tag());
                   });
        router.add(Verb::get, "/inline-thread",
                   [](const Request&, const RequestContext&, const PathParams&) {
                       return text_response(Status::ok, thread_tag());
                   },
                   {Execution::inline_io, "answers on the I/O thread"});
    }

    RunningServer& start(ServerLimits limits = test::test_limits()) {
        server = std::make_unique<RunningServer>(std::move(limits), router.handler(),
                                                 router.inline_handler(), router.error_renderers());
        return *server;
    }

    RawSocket connect() {
        RawSocket s;
        EXPECT_TRUE(s.connect(server->port()));
        return s;
    }

    Router router;
    std::unique_ptr<RunningServer> server;
    std::mutex barrier_mutex;
    std::condition_variable barrier_cv;
    int barrier_arrived = 0;
    std::promise<void> block_entered;
};

TEST_F(ServerTest, KeepAliveServesSeveralRequestsOnOneConnection) {
    start();
    RawSocket s = connect();
    std::string first_port;
    for (int i = 0; i < 3; ++i) {
        ASSERT_TRUE(s.send(get_request("/port")));
        auto res = s.read_response();
        ASSERT_TRUE(res) << "request " << i;
        EXPECT_EQ(res->status, 200);
        EXPECT_EQ(res->version, "HTTP/1.1");
        EXPECT_FALSE(res->header("connection").has_value());
        EXPECT_EQ(res->header("content-length"), std::to_string(res->body.size()));
        EXPECT_EQ(res->header("server"), "Selo");
        EXPECT_TRUE(res->header("date").has_value());
        if (i == 0) {
            first_port = res->body;
        }
        EXPECT_EQ(res->body, first_port);  // same TCP connection every time
    }
    EXPECT_EQ(server->server().stats().connections_accepted, 1u);
}

TEST_F(ServerTest, PipelinedResponsesComeInRequestOrder) {
    start();
    RawSocket s = connect();
    // Three requests in one write; the first is the slowest.
    ASSERT_TRUE(s.send(get_request("/slow?ms=200") + post_request("/echo", "second") +
                       get_request("/hello")));
    auto r1 = s.read_response();
    auto r2 = s.read_response();
    auto r3 = s.read_response();
    ASSERT_TRUE(r1 && r2 && r3);
    EXPECT_EQ(r1->body, "slow\n");
    EXPECT_EQ(r2->body, "second");
    EXPECT_EQ(r3->body, "hello\n");
}

TEST_F(ServerTest, ConnectionCloseIsHonoured) {
    start();
    RawSocket s = connect();
    ASSERT_TRUE(s.send(get_request("/hello", "Connection: close\r\n")));
    auto res = s.read_response();
    ASSERT_TRUE(res);
    EXPECT_EQ(res->status, 200);
    EXPECT_EQ(res->header("connection"), "close");
    EXPECT_TRUE(s.wait_closed(2s));
}

TEST_F(ServerTest, Http10WithoutKeepAliveCloses) {
    start();
    RawSocket s = connect();
    ASSERT_TRUE(s.send("GET /hello HTTP/1.0\r\n\r\n"));
    auto res = s.read_response();
    ASSERT_TRUE(res);
    EXPECT_EQ(res->status, 200);
    EXPECT_EQ(res->body, "hello\n");
    EXPECT_TRUE(s.wait_closed(2s));
}

TEST_F(ServerTest, Http10WithKeepAliveStaysOpen) {
    start();
    RawSocket s = connect();
    ASSERT_TRUE(s.send("GET /hello HTTP/1.0\r\nConnection: keep-alive\r\n\r\n"));
    auto res = s.read_response();
    ASSERT_TRUE(res);
    EXPECT_EQ(res->header("connection"), "keep-alive");
    ASSERT_TRUE(s.send("GET /hello HTTP/1.0\r\n\r\n"));
    auto second = s.read_response();
    ASSERT_TRUE(second);
    EXPECT_EQ(second->status, 200);
    EXPECT_TRUE(s.wait_closed(2s));
}

TEST_F(ServerTest, MaxRequestsPerConnectionClosesAfterTheLast) {
    auto limits = test::test_limits();
    limits.max_requests_per_connection = 2;
    start(limits);
    RawSocket s = connect();
    ASSERT_TRUE(s.send(get_request("/hello")));
    auto first = s.read_response();
    ASSERT_TRUE(first);
    EXPECT_FALSE(first->header("connection").has_value());
    ASSERT_TRUE(s.send(get_request("/hello")));
    auto second = s.read_response();
    ASSERT_TRUE(second);
    EXPECT_EQ(second->header("connection"), "close");
    EXPECT_TRUE(s.wait_closed(2s));
}

TEST_F(ServerTest, BodyOverLimitByContentLengthGets413BeforeTheBody) {
    auto limits = test::test_limits();
    limits.max_body_bytes = 1024;
    start(limits);
    RawSocket s = connect();
    // Only the header: the server must answer without waiting for 100000 bytes.
    ASSERT_TRUE(s.send("POST /echo HTTP/1.1\r\nHost: test\r\nContent-Length: 100000\r\n\r\n"));
    auto res = s.read_response(false, 2s);
    ASSERT_TRUE(res);
    EXPECT_EQ(res->status, 413);
    EXPECT_NE(res->body.find("1024"), std::string::npos) << res->body;
    EXPECT_EQ(res->header("connection"), "close");
    EXPECT_TRUE(s.wait_closed(2s));
}

TEST_F(ServerTest, ChunkedBodyGrowingPastLimitGets413) {
    auto limits = test::test_limits();
    limits.max_body_bytes = 1024;
    start(limits);
    RawSocket s = connect();
    ASSERT_TRUE(s.send("POST /echo HTTP/1.1\r\nHost: test\r\nTransfer-Encoding: chunked\r\n\r\n"));
    std::string chunk = "200\r\n" + std::string(512, 'x') + "\r\n";
    for (int i = 0; i < 3; ++i) {
        s.send(chunk);  // the server may close before the last one
    }
    auto res = s.read_response();
    ASSERT_TRUE(res);
    EXPECT_EQ(res->status, 413);
    EXPECT_TRUE(s.wait_closed(2s));
}

TEST_F(ServerTest, ChunkedBodyWithinLimitIsDecoded) {
    start();
    RawSocket s = connect();
    ASSERT_TRUE(
        s.send("POST /echo HTTP/1.1\r\nHost: test\r\nTransfer-Encoding: chunked\r\n\r\n"
               "5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n"));
    auto res = s.read_response();
    ASSERT_TRUE(res);
    EXPECT_EQ(res->status, 200);
    EXPECT_EQ(res->body, "hello world");
}

TEST_F(ServerTest, PerRouteBodyLimitAllowsALargerUpload) {
    auto limits = test::test_limits();
    limits.max_body_bytes = 1024;
    limits.body_limit_for = [](const RequestHeader& h) -> std::uint64_t {
        return h.method() == Verb::post && h.target().starts_with("/upload") ? 64 * 1024 : 1024;
    };
    start(limits);
    std::string big(20000, 'b');
    RawSocket s = connect();
    ASSERT_TRUE(s.send(post_request("/upload", big)));
    auto ok = s.read_response();
    ASSERT_TRUE(ok);
    EXPECT_EQ(ok->status, 200);
    EXPECT_EQ(ok->body, "20000\n");
    RawSocket t = connect();
    ASSERT_TRUE(t.send(post_request("/echo", big)));
    auto refused = t.read_response();
    ASSERT_TRUE(refused);
    EXPECT_EQ(refused->status, 413);
}

TEST_F(ServerTest, OversizedHeaderGets431) {
    auto limits = test::test_limits();
    limits.max_header_bytes = 4096;
    start(limits);
    RawSocket s = connect();
    s.send(get_request("/hello", "X-Big: " + std::string(8000, 'a') + "\r\n"));
    auto res = s.read_response();
    ASSERT_TRUE(res);
    EXPECT_EQ(res->status, 431);
    EXPECT_TRUE(s.wait_closed(2s));
}

TEST_F(ServerTest, MalformedRequestLineGets400AndCloses) {
    start();
    RawSocket s = connect();
    ASSERT_TRUE(s.send("GARBAGE\r\n\r\n"));
    auto res = s.read_response();
    ASSERT_TRUE(res);
    EXPECT_EQ(res->status, 400);
    EXPECT_NE(res->body.find("malformed request"), std::string::npos) << res->body;
    EXPECT_EQ(res->header("content-type"), "text/plain; charset=utf-8");
    EXPECT_TRUE(s.wait_closed(2s));
}

TEST_F(ServerTest, BinaryGarbageIsRefusedAndServerKeepsServing) {
    start();
    {
        RawSocket s = connect();
        // The start of a TLS ClientHello: what a client talking https to us sends.
        s.send(std::string("\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03\x00\xff\r\n\r\n", 17));
        auto res = s.read_response();
        if (res) {
            EXPECT_EQ(res->status, 400);
        }
        EXPECT_TRUE(s.wait_closed(2s));
    }
    RawSocket t = connect();
    ASSERT_TRUE(t.send(get_request("/hello")));
    auto res = t.read_response();
    ASSERT_TRUE(res);
    EXPECT_EQ(res->status, 200);
}

TEST_F(ServerTest, FramingAndProtocolViolationsAreRefused) {
    start();
    struct Case {
        std::string request;
        int status;
    };
    const std::vector<Case> cases = {
        // RFC 9112 §3.2: HTTP/1.1 without Host.
        {"GET /hello HTTP/1.1\r\n\r\n", 400},
        {"GET /hello HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400},
        // Request smuggling shapes: both framings, or a coding that is not chunked.
        {"POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n"
         "0\r\n\r\n",
         400},
        {"POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: gzip\r\n\r\n", 400},
        {"POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n",
         501},
        {"POST /echo HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400},
        {"POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 1, 2\r\n\r\nab", 400},
        {"POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: -1\r\n\r\n", 400},
        {"BREW /hello HTTP/1.1\r\nHost: t\r\n\r\n", 501},
        {"GET /hello HTTP/2.0\r\nHost: t\r\n\r\n", 400},
        {"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", 400},  // the HTTP/2 connection preface
        {"GET /hello HTTP/1.1\r\nHost: t\r\nExpect: 200-ok\r\n\r\n", 417},
        {"GET /hello HTTP/1.1\r\nHost: t\r\nBad Header: x\r\n\r\n", 400},
        {std::string("GET /hello HTTP/1.1\r\nHost: t\r\nX-Nul: a\0b\r\n\r\n", 44), 400},
        {"GET /hello\r\nHost: t\r\n\r\n", 400},  // HTTP/0.9-style request line
    };
    for (const auto& c : cases) {
        RawSocket s = connect();
        s.send(c.request);
        auto res = s.read_response();
        ASSERT_TRUE(res) << c.request;
        EXPECT_EQ(res->status, c.status) << c.request << " -> " << res->body;
        EXPECT_TRUE(s.wait_closed(2s)) << c.request;
    }
}

TEST_F(ServerTest, Expect100ContinueGetsInterimResponse) {
    start();
    RawSocket s = connect();
    ASSERT_TRUE(
        s.send("POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\n"
               "Expect: 100-continue\r\n\r\n"));
    auto interim = s.read_response();
    ASSERT_TRUE(interim);
    EXPECT_EQ(interim->status, 100);
    ASSERT_TRUE(s.send("hello"));
    auto res = s.read_response();
    ASSERT_TRUE(res);
    EXPECT_EQ(res->status, 200);
    EXPECT_EQ(res->body, "hello");
}

TEST_F(ServerTest, Expect100ContinueOverTheLimitGets413WithoutContinue) {
    auto limits = test::test_limits();
    limits.max_body_bytes = 1024;
    start(limits);
    RawSocket s = connect();
    ASSERT_TRUE(
        s.send("POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 5000\r\n"
               "Expect: 100-continue\r\n\r\n"));
    auto res = s.read_response();
    ASSERT_TRUE(res);
    EXPECT_EQ(res->status, 413);
}

TEST_F(ServerTest, HeadForGetRouteHasHeadersButNoBody) {
    start();
    RawSocket s = connect();
    ASSERT_TRUE(s.send("HEAD /hello HTTP/1.1\r\nHost: t\r\n\r\n"));
    auto head = s.read_response(/*head=*/true);
    ASSERT_TRUE(head);
    EXPECT_EQ(head->status, 200);
    EXPECT_EQ(head->header("content-length"), "6");  // what GET would send
    // If the body had been sent anyway, this would read it as the next response.
    ASSERT_TRUE(s.send(get_request("/hello")));
    auto get = s.read_response();
    ASSERT_TRUE(get);
    EXPECT_EQ(get->status, 200);
    EXPECT_EQ(get->body, "hello\n");
}

// The server writes the framing and identity fields itself, whatever a handler put there: one
// Server, one Date, one Content-Length that is the body's size, no Transfer-Encoding (RFC 9112
// §6.3); none of them on a 204, the handler's Content-Length on a HEAD it answered itself.
TEST_F(ServerTest, ServerOwnsTheFramingFieldsOfEveryResponse) {
    router.add(Verb::get, "/lying",
               [](const Request&, const RequestContext&, const PathParams&) {
                   Response res = text_response(Status::ok, "four");
                   res.set(Field::server, "Impostor/1.0");
                   res.set(Field::date, "Thu, 01 Jan 1970 00:00:00 GMT");
                   res.set(Field::content_length, "999");
                   res.set(Field::transfer_encoding, "chunked");
                   res.insert("X-Custom", "kept");
                   return res;
               });
    router.add(Verb::get, "/nothing",
               [](const Request&, const RequestContext&, const PathParams&) {
                   Response res = text_response(Status::no_content, "dropped");
                   res.set(Field::content_length, "7");
                   return res;
               });
    router.add(Verb::head, "/sized",
               [](const Request&, const RequestContext&, const PathParams&) {
                   Response res{Status::ok, 11};
                   res.set(Field::content_length, "1234");
                   return res;
               });
    start();
    RawSocket s = connect();
    ASSERT_TRUE(s.send(get_request("/lying") + get_request("/nothing") +
                       "HEAD /sized HTTP/1.1\r\nHost: t\r\n\r\n" + get_request("/hello")));
    auto count = [](const test::RawResponse& r, std::string_view name) {
        return std::count_if(r.headers.begin(), r.headers.end(),
                             [&](const auto& h) { return h.first == name; });
    };
    auto lying = s.read_response();
    ASSERT_TRUE(lying);
    EXPECT_EQ(lying->status, 200);
    EXPECT_EQ(lying->body, "four\n");
    EXPECT_EQ(count(*lying, "server"), 1);
    EXPECT_EQ(lying->header("server"), "Selo");
    EXPECT_EQ(count(*lying, "date"), 1);
    EXPECT_NE(lying->header("date"), "Thu, 01 Jan 1970 00:00:00 GMT");
    EXPECT_EQ(count(*lying, "content-length"), 1);
    EXPECT_EQ(lying->header("content-length"), "5");
    EXPECT_FALSE(lying->header("transfer-encoding"));
    EXPECT_EQ(lying->header("x-custom"), "kept");
    auto nothing = s.read_response();
    ASSERT_TRUE(nothing);
    EXPECT_EQ(nothing->status, 204);
    EXPECT_FALSE(nothing->header("content-length"));
    auto sized = s.read_response(/*head=*/true);
    ASSERT_TRUE(sized);
    EXPECT_EQ(sized->status, 200);
    EXPECT_EQ(sized->header("content-length"), "1234");
    // Had any of them carried a body, this would not parse as the fourth response.
    auto hello = s.read_response();
    ASSERT_TRUE(hello);
    EXPECT_EQ(hello->status, 200);
    EXPECT_EQ(hello->body, "hello\n");
}

// Header and body go out in one gather write; large bodies arrive whole after the header.
TEST_F(ServerTest, LargeResponsesArriveWhole) {
    router.add(Verb::get, "/big/{size}", [](const Request&, const RequestContext&, const PathParams& p) {
        std::string body(std::stoul(std::string(p.get("size"))), 'x');
        for (std::size_t i = 0; i < body.size(); i += 997) {
            body[i] = static_cast<char>('a' + i % 26);
        }
        return make_response(Status::ok, std::move(body), kTextPlain);
    });
    start();
    RawSocket s = connect();
    for (std::size_t n : {0u, 16'384u, 40'000u, 3'000'000u}) {
        ASSERT_TRUE(s.send(get_request("/big/" + std::to_string(n))));
        auto res = s.read_response();
        ASSERT_TRUE(res) << n;
        ASSERT_EQ(res->body.size(), n);
        EXPECT_EQ(res->header("content-length"), std::to_string(n));
        for (std::size_t i = 0; i < n; i += 997) {
            ASSERT_EQ(res->body[i], static_cast<char>('a' + i % 26)) << n << " at " << i;
        }
    }
}

TEST_F(ServerTest, UnknownPathAnd405OverTheWire) {
    start();
    RawSocket s = connect();
    ASSERT_TRUE(s.send(get_request("/nope") + post_request("/hello", "x")));
    auto missing = s.read_response();
    auto wrong = s.read_response();
    ASSERT_TRUE(missing && wrong);
    EXPECT_EQ(missing->status, 404);
    EXPECT_EQ(wrong->status, 405);
    EXPECT_EQ(wrong->header("allow"), "GET, HEAD");
}

TEST_F(ServerTest, SlowlorisHeaderIsCutOffAtTheHeaderTimeout) {
    start();  // header_timeout 1 s
    RawSocket s = connect();
    auto begin = std::chrono::steady_clock::now();
    std::string request = "GET /hello HTTP/1.1\r\nHost: t\r\nX-Slow: " + std::string(100, 'z');
    bool closed = false;
    for (char c : request) {
        if (!s.send(std::string_view(&c, 1)) || s.wait_closed(100ms)) {
            closed = true;
            break;
        }
    }
    auto elapsed = std::chrono::steady_clock::now() - begin;
    EXPECT_TRUE(closed) << "a byte every 100 ms kept the connection open";
    EXPECT_GE(elapsed, 800ms);
    EXPECT_LE(elapsed, 3s);
}

TEST_F(ServerTest, SilentConnectionIsClosedAtTheHeaderTimeout) {
    start();
    RawSocket s = connect();
    auto begin = std::chrono::steady_clock::now();
    EXPECT_TRUE(s.wait_closed(3s));
    EXPECT_GE(std::chrono::steady_clock::now() - begin, 800ms);
}

TEST_F(ServerTest, IdleKeepAliveConnectionIsClosedAtTheIdleTimeout) {
    start();  // idle_timeout 1 s
    RawSocket s = connect();
    ASSERT_TRUE(s.send(get_request("/hello")));
    ASSERT_TRUE(s.read_response());
    auto begin = std::chrono::steady_clock::now();
    EXPECT_TRUE(s.wait_closed(3s));
    EXPECT_GE(std::chrono::steady_clock::now() - begin, 800ms);
}

TEST_F(ServerTest, SlowBodyIsCutOffAtTheBodyTimeout) {
    start();  // body_timeout 1 s
    RawSocket s = connect();
    ASSERT_TRUE(s.send("POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 100\r\n\r\n0123456789"));
    auto begin = std::chrono::steady_clock::now();
    EXPECT_TRUE(s.wait_closed(3s));
    EXPECT_GE(std::chrono::steady_clock::now() - begin, 800ms);
}

TEST_F(ServerTest, HandlerExceptionGives500AndServerKeepsServing) {
    start();
    RawSocket s = connect();
    ASSERT_TRUE(s.send(get_request("/throw")));
    auto res = s.read_response();
    ASSERT_TRUE(res);
    EXPECT_EQ(res->status, 500);
    EXPECT_EQ(res->body.find("secret"), std::string::npos);  // the detail is logged, not sent
    // The request was fully read, so the same connection carries on.
    ASSERT_TRUE(s.send(get_request("/hello")));
    auto next = s.read_response();
    ASSERT_TRUE(next);
    EXPECT_EQ(next->status, 200);
}

TEST_F(ServerTest, HandlersRunInParallelOnTheWorkerPool) {
    start();  // 2 workers
    auto fetch = [this] {
        RawSocket s(server->port());
        s.send(get_request("/barrier"));
        auto res = s.read_response(false, 10s);
        return res ? res->body : std::string("no response");
    };
    auto a = std::async(std::launch::async, fetch);
    auto b = std::async(std::launch::async, fetch);
    EXPECT_EQ(a.get(), "parallel\n");
    EXPECT_EQ(b.get(), "parallel\n");
}

TEST_F(ServerTest, InlineRoutesRunOnTheIoThreadAndOthersOnWorkers) {
    auto limits = test::test_limits();
    limits.io_threads = 1;  // the only I/O thread is the one that called run()
    auto& rs = start(limits);
    std::string io_thread = std::to_string(std::hash<std::thread::id>{}(rs.thread().get_id()));
    RawSocket s = connect();
    ASSERT_TRUE(s.send(get_request("/inline-thread") + get_request("/thread")));
    auto inline_res = s.read_response();
    auto worker_res = s.read_response();
    ASSERT_TRUE(inline_res && worker_res);
    EXPECT_EQ(inline_res->body, io_thread + "\n");
    EXPECT_NE(worker_res->body, io_thread + "\n");
}

TEST_F(ServerTest, GracefulStopFinishesTheInFlightRequest) {
    auto& rs = start();
    RawSocket idle = connect();
    ASSERT_TRUE(idle.send(get_request("/hello")));
    ASSERT_TRUE(idle.read_response());  // now idle on keep-alive
    RawSocket busy = connect();
    ASSERT_TRUE(busy.send(get_request("/block")));
    ASSERT_EQ(block_entered.get_future().wait_for(5s), std::future_status::ready);
    auto begin = std::chrono::steady_clock::now();
    rs.server().stop();
    auto res = busy.read_response();
    ASSERT_TRUE(res);
    EXPECT_EQ(res->status, 200);
    EXPECT_EQ(res->body, "done\n");
    EXPECT_EQ(res->header("connection"), "close");
    EXPECT_TRUE(idle.wait_closed(2s));
    rs.thread().join();  // run() returns once the last connection is gone
    EXPECT_LT(std::chrono::steady_clock::now() - begin, 3s);
    RawSocket after;
    EXPECT_FALSE(after.connect(rs.port()));
}

Server* g_signalled_server = nullptr;
extern "C" void stop_on_signal(int) {
    g_signalled_server->stop();
}

TEST_F(ServerTest, StopIsSafeFromASignalHandler) {
    auto& rs = start();
    g_signalled_server = &rs.server();
    struct sigaction action {};
    struct sigaction previous {};
    action.sa_handler = stop_on_signal;
    ::sigemptyset(&action.sa_mask);
    ASSERT_EQ(::sigaction(SIGUSR1, &action, &previous), 0);
    ::raise(SIGUSR1);
    auto joined = std::async(std::launch::async, [&] { rs.thread().join(); });
    EXPECT_EQ(joined.wait_for(3s), std::future_status::ready);
    ::sigaction(SIGUSR1, &previous, nullptr);
    g_signalled_server = nullptr;
}

TEST(Server, StopBeforeRunMakesRunReturn) {
    Server s(test::test_limits(),
             [](const Request&, const RequestContext&) { return text_response(Status::ok, "x"); });
    ASSERT_TRUE(s.listen("127.0.0.1", 0));
    s.stop();
    s.stop();  // idempotent
    auto done = std::async(std::launch::async, [&] { s.run(); });
    EXPECT_EQ(done.wait_for(3s), std::future_status::ready);
    EXPECT_FALSE(s.listen("127.0.0.1", 0));
}

TEST(Server, ListenReportsBadAddressesAndBusyPorts) {
    Server s(test::test_limits(), Handler{});
    auto port = s.listen("127.0.0.1", 0);
    ASSERT_TRUE(port);
    auto busy = s.listen("127.0.0.1", *port);
    ASSERT_FALSE(busy);
    EXPECT_EQ(busy.error().code, ErrorCode::unavailable);
    EXPECT_NE(busy.error().message.find("bind"), std::string::npos) << busy.error().message;
    auto bad = s.listen("not an address", 0);
    ASSERT_FALSE(bad);
    EXPECT_EQ(bad.error().code, ErrorCode::invalid_argument);
}

TEST(Server, SplitsConfiguredListenAddresses) {
    auto v4 = split_host_port("127.0.0.1:8080");
    ASSERT_TRUE(v4);
    EXPECT_EQ(v4->host, "127.0.0.1");
    EXPECT_EQ(v4->port, 8080);
    auto v6 = split_host_port("[::1]:0");
    ASSERT_TRUE(v6);
    EXPECT_EQ(v6->host, "::1");
    EXPECT_EQ(v6->port, 0);
    for (std::string_view bad :
         {"127.0.0.1", "::1:80", "[::1]80", ":80", "h:", "h:65536", "h:8o"}) {
        EXPECT_FALSE(split_host_port(bad)) << bad;
    }
}

TEST(ServerLimitsFromConfig, DefaultsPassAndAreMapped) {
    HttpLimits http;
    http.max_body_bytes = 2048;
    http.header_timeout_seconds = 7;
    ServerConfig server;
    server.worker_threads = 16;
    auto l = server_limits(http, server);
    ASSERT_TRUE(l) << l.error().message;
    EXPECT_EQ(l->max_body_bytes, 2048u);
    EXPECT_EQ(l->header_timeout, std::chrono::seconds(7));
    EXPECT_EQ(l->worker_threads, 16u);
    EXPECT_FALSE(l->body_limit_for);
    ServerConfig at_caps;
    at_caps.io_threads = kMaxIoThreads;
    at_caps.worker_threads = kMaxWorkerThreads;
    EXPECT_TRUE(server_limits(http, at_caps));
}

TEST(ServerLimitsFromConfig, NonsenseIsAnErrorNamingTheSetting) {
    struct Case {
        std::string_view setting;
        std::function<void(HttpLimits&, ServerConfig&)> set;
    };
    const std::vector<Case> cases = {
        {"worker_threads", [](HttpLimits&, ServerConfig& s) { s.worker_threads = 100000; }},
        {"worker_threads", [](HttpLimits&, ServerConfig& s) { s.worker_threads = 1025; }},
        {"io_threads", [](HttpLimits&, ServerConfig& s) { s.io_threads = 257; }},
        {"header_timeout_seconds", [](HttpLimits& h, ServerConfig&) { h.header_timeout_seconds = 0; }},
        {"body_timeout_seconds", [](HttpLimits& h, ServerConfig&) { h.body_timeout_seconds = 0; }},
        {"idle_timeout_seconds", [](HttpLimits& h, ServerConfig&) { h.idle_timeout_seconds = 0; }},
        {"idle_timeout_seconds",
         [](HttpLimits& h, ServerConfig&) { h.idle_timeout_seconds = 4000000000u; }},
        {"max_header_bytes", [](HttpLimits& h, ServerConfig&) { h.max_header_bytes = 0; }},
        {"max_header_bytes", [](HttpLimits& h, ServerConfig&) { h.max_header_bytes = 1u << 30; }},
        {"max_body_bytes", [](HttpLimits& h, ServerConfig&) { h.max_body_bytes = 0; }},
        {"max_document_body_bytes",
         [](HttpLimits& h, ServerConfig&) { h.max_document_body_bytes = 1000; }},
        {"max_keepalive_requests", [](HttpLimits& h, ServerConfig&) { h.max_keepalive_requests = 0; }},
    };
    for (const auto& c : cases) {
        HttpLimits http;
        ServerConfig server;
        c.set(http, server);
        auto l = server_limits(http, server);
        ASSERT_FALSE(l) << c.setting;
        EXPECT_EQ(l.error().code, ErrorCode::invalid_argument);
        EXPECT_NE(l.error().message.find(c.setting), std::string::npos) << l.error().message;
    }
}

// What used to abort the process: a Server built directly with absurd thread counts.
TEST(Server, AbsurdThreadCountsAreClampedNotFatal) {
    auto l = test::test_limits();
    l.io_threads = 100000;
    l.worker_threads = 100000;
    RunningServer rs(l, [](const Request&, const RequestContext&) {
        return text_response(Status::ok, "still here");
    });
    RawSocket s(rs.port());
    ASSERT_TRUE(s.send(get_request("/")));
    auto res = s.read_response();
    ASSERT_TRUE(res);
    EXPECT_EQ(res->body, "still here\n");
}

TEST_F(ServerTest, GarbageAfterHeadGetsA400WithABody) {
    start();
    RawSocket s = connect();
    ASSERT_TRUE(s.send("HEAD /hello HTTP/1.1\r\nHost: t\r\n\r\n"));
    ASSERT_TRUE(s.read_response(/*head=*/true));
    ASSERT_TRUE(s.send("GARBAGE\r\n\r\n"));
    auto res = s.read_response();
    ASSERT_TRUE(res);
    EXPECT_EQ(res->status, 400);
    EXPECT_FALSE(res->body.empty());
}

TEST_F(ServerTest, ListensOnIpv6Loopback) {
    Server s(test::test_limits(), router.handler(), router.inline_handler());
    auto port = s.listen("::1", 0);
    if (!port) {
        GTEST_SKIP() << "no IPv6 loopback here: " << port.error().message;
    }
    std::thread t([&] { s.run(); });
    // RawSocket is IPv4-only; curl speaks IPv6.
    std::string command = "curl -sS -g http://[::1]:" + std::to_string(*port) + "/hello 2>&1";
    FILE* pipe = ::popen(command.c_str(), "r");
    std::string output;
    char buf[256];
    while (std::size_t n = std::fread(buf, 1, sizeof buf, pipe)) {
        output.append(buf, n);
    }
    ::pclose(pipe);
    s.stop();
    t.join();
    EXPECT_EQ(output, "hello\n");
}

TEST_F(ServerTest, ResetMidBodyDoesNotHurtTheServer) {
    start();
    for (int i = 0; i < 20; ++i) {
        RawSocket s = connect();
        s.send("POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 1000\r\n\r\n0123456789");
        s.reset();
    }
    RawSocket t = connect();
    ASSERT_TRUE(t.send(get_request("/hello")));
    auto res = t.read_response();
    ASSERT_TRUE(res);
    EXPECT_EQ(res->status, 200);
}

TEST_F(ServerTest, ConnectionsBeyondTheCapGet503) {
    auto limits = test::test_limits();
    limits.max_connections = 4;
    limits.header_timeout = 5s;
    auto& rs = start(limits);
    std::vector<RawSocket> held;
    for (int i = 0; i < 4; ++i) {
        held.push_back(connect());
    }
    auto deadline = std::chrono::steady_clock::now() + 2s;
    while (rs.server().stats().open_connections < 4 &&
           std::chrono::steady_clock::now() < deadline) {
        std::this_thread::sleep_for(5ms);
    }
    ASSERT_EQ(rs.server().stats().open_connections, 4u);
    RawSocket extra = connect();
    auto refused = extra.read_response();
    ASSERT_TRUE(refused);
    EXPECT_EQ(refused->status, 503);
    EXPECT_EQ(refused->header("retry-after"), "1");
    EXPECT_TRUE(extra.wait_closed(2s));
    EXPECT_EQ(rs.server().stats().connections_refused, 1u);
    // Below the cap again, connections are served.
    held.pop_back();
    deadline = std::chrono::steady_clock::now() + 2s;
    while (rs.server().stats().open_connections > 3 &&
           std::chrono::steady_clock::now() < deadline) {
        std::this_thread::sleep_for(5ms);
    }
    RawSocket again = connect();
    ASSERT_TRUE(again.send(get_request("/hello")));
    auto res = again.read_response();
    ASSERT_TRUE(res);
    EXPECT_EQ(res->status, 200);
}

TEST_F(ServerTest, ThousandConnectionsAtOnceAreServedOrRefusedCleanly) {
    auto limits = test::test_limits();
    limits.max_connections = 300;
    limits.header_timeout = 5s;
    auto& rs = start(limits);
    constexpr int kConnections = 1000;
    std::vector<RawSocket> sockets(kConnections);
    for (auto& s : sockets) {
        ASSERT_TRUE(s.connect(rs.port()));
        s.send(get_request("/hello"));
    }
    int ok = 0;
    int busy = 0;
    for (auto& s : sockets) {
        auto res = s.read_response(false, 5s);
        if (res && res->status == 200) {
            ++ok;
        } else if (res && res->status == 503) {
            ++busy;
        }
    }
    EXPECT_EQ(ok + busy, kConnections);
    EXPECT_GE(ok, 1);
    EXPECT_LE(ok, 300);
    sockets.clear();
    RawSocket t = connect();
    ASSERT_TRUE(t.send(get_request("/hello")));
    auto res = t.read_response();
    ASSERT_TRUE(res);
    EXPECT_EQ(res->status, 200);
}

TEST_F(ServerTest, CurlReusesTheKeepAliveConnection) {
    auto& rs = start();
    std::string command = "curl -sS --http1.1 -v " + rs.url("/hello") + " " + rs.url("/port") +
                          " " + rs.url("/port") + " 2>&1";
    FILE* pipe = ::popen(command.c_str(), "r");
    ASSERT_NE(pipe, nullptr);
    std::string output;
    char buf[4096];
    while (std::size_t n = std::fread(buf, 1, sizeof buf, pipe)) {
        output.append(buf, n);
    }
    int status = ::pclose(pipe);
    ASSERT_EQ(status, 0) << output;
    EXPECT_NE(output.find("Re-using existing connection"), std::string::npos) << output;
    EXPECT_NE(output.find("hello"), std::string::npos) << output;
    EXPECT_NE(output.find("< Server: Selo"), std::string::npos) << output;
    EXPECT_EQ(rs.server().stats().connections_accepted, 1u) << output;
}

TEST_F(ServerTest, CurlUploadWithExpectContinueAndChunking) {
    auto& rs = start();
    // curl sends "Expect: 100-continue" for this body size and chunks when told to.
    std::string command =
        "head -c 2000000 /dev/zero | tr '\\0' 'a' | curl -sS --http1.1 "
        "-H 'Transfer-Encoding: chunked' -H 'Expect: 100-continue' "
        "--data-binary @- -o /dev/null -w '%{http_code}' " +
        rs.url("/upload") + " 2>&1";
    FILE* pipe = ::popen(command.c_str(), "r");
    ASSERT_NE(pipe, nullptr);
    std::string output;
    char buf[256];
    while (std::size_t n = std::fread(buf, 1, sizeof buf, pipe)) {
        output.append(buf, n);
    }
    ::pclose(pipe);
    // Over the default 1 MiB limit: refused while chunks are still coming.
    EXPECT_EQ(output, "413") << output;
}

}  // namespace
}  // namespace selo::http
