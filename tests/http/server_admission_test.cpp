// Socket tests for what the server lets in before a handler runs: the header-aware body limit,
// the cap on concurrent large bodies, content codings, and the shape of the server's own errors.

#include <gtest/gtest.h>

#include <atomic>
#include <cstdlib>
#include <new>
#include <future>
#include <memory>
#include <stdexcept>
#include <thread>

#include <boost/json/parse.hpp>

#include "http/response.hpp"
#include "http/router.hpp"
#include "http/test_support.hpp"

extern std::atomic<std::size_t> g_largest_allocation;

namespace selo::http {
namespace {

using namespace std::chrono_literals;
using test::get_request;
using test::post_request;
using test::RawSocket;
using test::RunningServer;

constexpr std::uint64_t kSmall = 1024;          // max_body_bytes in these tests
constexpr std::uint64_t kGranted = 256 * 1024;  // what the hook grants a good token

std::string thread_tag() {
    return std::to_string(std::hash<std::thread::id>{}(std::this_thread::get_id()));
}

// A CSC-style error body, as the api layer would register for /csc/.
Response csc_error(const Request&, Status status, std::string_view message) {
    return json_response(status, boost::json::object{{"error", "invalid_request"},
                                                     {"error_description", message}});
}

class AdmissionTest : public ::testing::Test {
  protected:
    AdmissionTest() {
        auto size = [](const Request& req, const RequestContext&, const PathParams&) {
            return text_response(Status::ok, std::to_string(req.body().size()));
        };
        router.add(Verb::post, "/upload", size);
        router.add(Verb::post, "/csc/v2/signatures/signDoc", size);
        router.add(Verb::get, "/hello", [](const Request&, const RequestContext&,
                                           const PathParams&) {
            return text_response(Status::ok, "hello");
        });
        router.add(Verb::get, "/inline-thread",
                   [](const Request&, const RequestContext&, const PathParams&) {
                       return text_response(Status::ok, thread_tag());
                   },
                   {Execution::inline_io, {}});
        router.add(Verb::get, "/csc/v2/throw",
                   [](const Request&, const RequestContext&, const PathParams&) -> Response {
                       throw std::runtime_error("boom");
                   });
        router.set_error_renderer("/csc/", csc_error);
    }

    static ServerLimits limits() {
        auto l = test::test_limits();
        l.max_body_bytes = kSmall;
        return l;
    }

    // The hook the api layer is meant to install: the large limit only for a valid token.
    static ServerLimits limits_with_token_hook(std::atomic<int>* calls = nullptr) {
        auto l = limits();
        l.body_limit_for = [calls](const RequestHeader& h) -> std::uint64_t {
            if (calls != nullptr) {
                ++*calls;
            }
            return bearer_token(h) == "good" ? kGranted : kSmall;
        };
        return l;
    }

    RunningServer& start(ServerLimits l) {
        server = std::make_unique<RunningServer>(std::move(l), router.handler(),
                                                 router.inline_handler(), router.error_renderers());
        return *server;
    }

    RawSocket connect() {
        RawSocket s;
        EXPECT_TRUE(s.connect(server->port()));
        return s;
    }

    template <typename Read>
    bool wait_for_stat(Read read, std::uint64_t value, std::chrono::milliseconds timeout = 2s) {
        auto deadline = std::chrono::steady_clock::now() + timeout;
        while (static_cast<std::uint64_t>(read(server->server().stats())) != value) {
            if (std::chrono::steady_clock::now() >= deadline) {
                return false;
            }
            std::this_thread::sleep_for(5ms);
        }
        return true;
    }
    static std::size_t in_flight(const ServerStats& s) { return s.large_bodies_in_flight; }

    // Only the header of a POST announcing `length` bytes.
    static std::string post_header(std::string_view target, std::uint64_t length,
                                   std::string_view extra = "") {
        return "POST " + std::string(target) + " HTTP/1.1\r\nHost: t\r\nContent-Length: " +
               std::to_string(length) + "\r\n" + std::string(extra) + "\r\n";
    }

    Router router;
    std::unique_ptr<RunningServer> server;
};

// ---- the body limit hook ----

TEST_F(AdmissionTest, BodyLimitHookGrantsTheLargeLimitOnlyToAValidToken) {
    std::atomic<int> calls{0};
    start(limits_with_token_hook(&calls));
    const std::string body(20000, 'd');
    for (std::string_view auth : {"", "Authorization: Bearer bogus\r\n",
                                  "Authorization: Basic Z29vZA==\r\n"}) {
        RawSocket s = connect();
        // Only the header: the refusal must come before the body is sent.
        ASSERT_TRUE(s.send(post_header("/csc/v2/signatures/signDoc", body.size(), auth)));
        auto refused = s.read_response(false, 2s);
        ASSERT_TRUE(refused) << auth;
        EXPECT_EQ(refused->status, 413) << auth;
        EXPECT_TRUE(s.wait_closed(2s));
    }
    RawSocket s = connect();
    ASSERT_TRUE(s.send(post_request("/csc/v2/signatures/signDoc", body,
                                    "Authorization: Bearer good\r\n")));
    auto ok = s.read_response();
    ASSERT_TRUE(ok);
    EXPECT_EQ(ok->status, 200);
    EXPECT_EQ(ok->body, "20000\n");
    EXPECT_EQ(calls.load(), 4);
}

TEST_F(AdmissionTest, BodyLimitHookIsOnlyAskedAboutBodiesThatMayExceedTheDefault) {
    std::atomic<int> calls{0};
    start(limits_with_token_hook(&calls));
    RawSocket s = connect();
    // No body, and a body within max_body_bytes: no hook call (no database lookup).
    ASSERT_TRUE(s.send(get_request("/hello")));
    ASSERT_TRUE(s.read_response());
    ASSERT_TRUE(s.send(post_request("/upload", std::string(kSmall, 'x'))));
    auto small = s.read_response();
    ASSERT_TRUE(small);
    EXPECT_EQ(small->status, 200);
    EXPECT_EQ(calls.load(), 0);
    // Chunked: the size is unknown, so the hook decides.
    ASSERT_TRUE(
        s.send("POST /upload HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n"
               "Authorization: Bearer good\r\n\r\n5\r\nhello\r\n0\r\n\r\n"));
    auto chunked = s.read_response();
    ASSERT_TRUE(chunked);
    EXPECT_EQ(chunked->body, "5\n");
    EXPECT_EQ(calls.load(), 1);
}

TEST_F(AdmissionTest, BodyLimitHookRunsOffTheIoThreadAndMayBlock) {
    auto l = limits();
    l.io_threads = 1;  // every connection shares the thread that called run()
    std::promise<std::string> hook_thread;
    std::promise<void> hook_entered;
    std::promise<void> release_hook;
    auto release = release_hook.get_future().share();
    l.body_limit_for = [&, release](const RequestHeader&) -> std::uint64_t {
        hook_thread.set_value(thread_tag());
        hook_entered.set_value();
        release.wait_for(5s);  // a slow database lookup
        return kGranted;
    };
    auto& rs = start(l);
    std::string io_thread = std::to_string(std::hash<std::thread::id>{}(rs.thread().get_id()));
    RawSocket upload = connect();
    std::string body(5000, 'u');
    ASSERT_TRUE(upload.send(post_request("/upload", body)));
    ASSERT_EQ(hook_entered.get_future().wait_for(5s), std::future_status::ready);
    // While the hook blocks, the only I/O thread still serves other connections.
    RawSocket other = connect();
    auto begin = std::chrono::steady_clock::now();
    ASSERT_TRUE(other.send(get_request("/inline-thread")));
    auto res = other.read_response(false, 2s);
    ASSERT_TRUE(res);
    EXPECT_EQ(res->body, io_thread + "\n");
    EXPECT_LT(std::chrono::steady_clock::now() - begin, 1s);
    release_hook.set_value();
    auto done = upload.read_response();
    ASSERT_TRUE(done);
    EXPECT_EQ(done->body, "5000\n");
    EXPECT_NE(hook_thread.get_future().get(), io_thread);
}

TEST_F(AdmissionTest, BodyLimitHookThatThrowsGives500) {
    auto l = limits();
    l.body_limit_for = [](const RequestHeader&) -> std::uint64_t {
        throw std::runtime_error("database is locked");
    };
    start(l);
    RawSocket s = connect();
    ASSERT_TRUE(s.send(post_header("/csc/v2/signatures/signDoc", 5000)));
    auto res = s.read_response();
    ASSERT_TRUE(res);
    EXPECT_EQ(res->status, 500);
    EXPECT_EQ(res->body.find("database"), std::string::npos);  // logged, not sent
    EXPECT_EQ(res->header("content-type"), kApplicationJson);  // the /csc/ renderer
    EXPECT_TRUE(s.wait_closed(2s));
}

// Beast's string_body reserves Content-Length bytes when the body read starts. A refused body
// must never get that far; an admitted one does (which shows the measurement sees it).
TEST_F(AdmissionTest, NothingIsReservedForABodyRefusedByItsHeader) {
    constexpr std::uint64_t kHuge = 256ull * 1024 * 1024;
    auto l = limits();
    std::atomic<std::size_t> largest_before_hook{0};
    l.body_limit_for = [&](const RequestHeader& h) -> std::uint64_t {
        largest_before_hook = g_largest_allocation.load();
        return bearer_token(h) == "good" ? 2 * kHuge : kSmall;
    };
    l.large_body_bytes = kSmall;
    l.max_concurrent_large_bodies = 1;
    start(l);
    auto refused = [&](std::string_view extra, int status) {
        g_largest_allocation = 0;
        RawSocket s = connect();
        ASSERT_TRUE(s.send(post_header("/upload", kHuge, extra)));
        auto res = s.read_response();
        ASSERT_TRUE(res);
        EXPECT_EQ(res->status, status);
        EXPECT_TRUE(s.wait_closed(2s));  // the session and its parser are gone
        EXPECT_LT(largest_before_hook.load(), kHuge / 4) << "reserved before the hook ran";
        EXPECT_LT(g_largest_allocation.load(), kHuge / 4) << "reserved for a refused body";
    };
    refused("", 413);  // no token: the hook's limit refuses it
    // A good token takes the only large-body slot, and its body read starts: reserved.
    g_largest_allocation = 0;
    RawSocket holder = connect();
    ASSERT_TRUE(holder.send(post_header("/upload", kHuge, "Authorization: Bearer good\r\n") +
                            "some of the body"));
    ASSERT_TRUE(wait_for_stat(in_flight, 1));
    auto deadline = std::chrono::steady_clock::now() + 2s;
    while (g_largest_allocation.load() < kHuge && std::chrono::steady_clock::now() < deadline) {
        std::this_thread::sleep_for(5ms);
    }
    EXPECT_GE(g_largest_allocation.load(), kHuge) << "the measurement does not see reservations";
    // Another good token while the slot is taken: 503, without a reservation of its own.
    refused("Authorization: Bearer good\r\n", 503);
    holder.reset();
    EXPECT_TRUE(wait_for_stat(in_flight, 0));
}

// ---- concurrent large bodies ----

ServerLimits capped(std::size_t slots) {
    auto l = test::test_limits();
    l.max_body_bytes = 64 * 1024;
    l.large_body_bytes = 1024;
    l.max_concurrent_large_bodies = slots;
    return l;
}

TEST_F(AdmissionTest, LargeBodyBeyondTheCapGets503BeforeItsBody) {
    start(capped(1));
    RawSocket holder = connect();
    ASSERT_TRUE(holder.send(post_header("/upload", 20000) + std::string(100, 'h')));
    ASSERT_TRUE(wait_for_stat(in_flight, 1));

    RawSocket refused = connect();
    ASSERT_TRUE(refused.send(post_header("/upload", 20000)));  // the header only
    auto busy = refused.read_response(false, 2s);
    ASSERT_TRUE(busy);
    EXPECT_EQ(busy->status, 503);
    EXPECT_EQ(busy->header("retry-after"), "5");
    EXPECT_EQ(busy->header("connection"), "close");
    EXPECT_TRUE(refused.wait_closed(2s));
    EXPECT_EQ(server->server().stats().large_bodies_refused, 1u);

    // Bodies within the threshold do not need a slot.
    RawSocket small = connect();
    ASSERT_TRUE(small.send(post_request("/upload", std::string(1024, 's'))));
    auto small_res = small.read_response();
    ASSERT_TRUE(small_res);
    EXPECT_EQ(small_res->status, 200);

    // The holder finishes; its slot is free again once its response is written.
    ASSERT_TRUE(holder.send(std::string(20000 - 100, 'h')));
    auto held = holder.read_response();
    ASSERT_TRUE(held);
    EXPECT_EQ(held->body, "20000\n");
    EXPECT_TRUE(wait_for_stat(in_flight, 0));
    ASSERT_TRUE(holder.send(post_request("/upload", std::string(20000, 'a'))));
    auto again = holder.read_response();
    ASSERT_TRUE(again);
    EXPECT_EQ(again->status, 200);
}

TEST_F(AdmissionTest, ExpectContinueWithTheCapReachedGets503Instead) {
    start(capped(1));
    RawSocket holder = connect();
    ASSERT_TRUE(holder.send(post_header("/upload", 20000)));
    ASSERT_TRUE(wait_for_stat(in_flight, 1));
    RawSocket s = connect();
    ASSERT_TRUE(s.send(post_header("/upload", 20000, "Expect: 100-continue\r\n")));
    auto res = s.read_response();
    ASSERT_TRUE(res);
    EXPECT_EQ(res->status, 503);  // not 100: the client keeps its body
}

TEST_F(AdmissionTest, ChunkedBodyIsRefusedWhenItGrowsPastTheThresholdWithTheCapReached) {
    start(capped(1));
    RawSocket holder = connect();
    ASSERT_TRUE(holder.send(post_header("/upload", 20000)));
    ASSERT_TRUE(wait_for_stat(in_flight, 1));
    const std::string chunk = "200\r\n" + std::string(512, 'c') + "\r\n";  // 512 bytes
    const std::string head =
        "POST /upload HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n";
    {
        // Up to the threshold (1024 bytes) a chunked body needs no slot.
        RawSocket s = connect();
        ASSERT_TRUE(s.send(head + chunk + chunk + "0\r\n\r\n"));
        auto res = s.read_response();
        ASSERT_TRUE(res);
        EXPECT_EQ(res->status, 200);
        EXPECT_EQ(res->body, "1024\n");
    }
    {
        // One chunk more is refused at that chunk's header.
        RawSocket s = connect();
        ASSERT_TRUE(s.send(head + chunk + chunk));
        std::this_thread::sleep_for(100ms);
        EXPECT_TRUE(s.buffered().empty());
        EXPECT_EQ(s.fill(100ms), -1) << "answered before the body passed the threshold";
        s.send(chunk);
        auto res = s.read_response();
        ASSERT_TRUE(res);
        EXPECT_EQ(res->status, 503);
        EXPECT_EQ(res->header("retry-after"), "5");
    }
    // With the slot free, the same body goes through and takes the slot while it is read.
    holder.reset();
    ASSERT_TRUE(wait_for_stat(in_flight, 0));
    RawSocket s = connect();
    ASSERT_TRUE(s.send(head + chunk + chunk + chunk + "0\r\n\r\n"));
    auto res = s.read_response();
    ASSERT_TRUE(res);
    EXPECT_EQ(res->status, 200);
    EXPECT_EQ(res->body, "1536\n");
    EXPECT_TRUE(wait_for_stat(in_flight, 0));
}

TEST_F(AdmissionTest, SlotsAreReleasedWhenClientsVanishAndZeroSlotsRefuseAll) {
    start(capped(2));
    for (int round = 0; round < 3; ++round) {
        RawSocket a = connect();
        RawSocket b = connect();
        ASSERT_TRUE(a.send(post_header("/upload", 20000) + "partial"));
        ASSERT_TRUE(b.send(post_header("/upload", 20000) + "partial"));
        ASSERT_TRUE(wait_for_stat(in_flight, 2)) << round;
        a.reset();
        b.close();
        ASSERT_TRUE(wait_for_stat(in_flight, 0)) << round;
    }
    server.reset();
    start(capped(0));
    RawSocket s = connect();
    ASSERT_TRUE(s.send(post_header("/upload", 2000)));
    auto res = s.read_response();
    ASSERT_TRUE(res);
    EXPECT_EQ(res->status, 503);
}

// ---- content codings ----

TEST_F(AdmissionTest, ContentCodingsOtherThanIdentityGet415) {
    std::atomic<int> calls{0};
    start(limits_with_token_hook(&calls));
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
    EXPECT_EQ(calls.load(), 0);
}

// ---- the shape of the server's own errors ----

TEST_F(AdmissionTest, ServerErrorsTakeTheShapeOfTheTargetsPrefix) {
    auto l = limits();
    l.max_header_bytes = 2048;
    l.large_body_bytes = 512;
    l.max_concurrent_large_bodies = 0;
    start(l);
    auto expect_csc = [](const std::optional<test::RawResponse>& res, int status,
                         std::string_view says) {
        ASSERT_TRUE(res);
        EXPECT_EQ(res->status, status);
        EXPECT_EQ(res->header("content-type"), kApplicationJson) << res->body;
        auto doc = boost::json::parse(res->body);
        EXPECT_EQ(doc.at("error").as_string(), "invalid_request");
        EXPECT_NE(std::string_view(doc.at("error_description").as_string()).find(says),
                  std::string_view::npos)
            << res->body;
    };
    const std::string sign = "/csc/v2/signatures/signDoc";
    {
        RawSocket s = connect();  // 413
        s.send(post_header(sign, 5000));
        expect_csc(s.read_response(), 413, "exceeds the limit");
    }
    {
        RawSocket s = connect();  // 431: the request line was read, so the target is known
        s.send(post_header(sign, 10, "X-Big: " + std::string(4000, 'b') + "\r\n"));
        expect_csc(s.read_response(), 431, "header");
    }
    {
        RawSocket s = connect();  // 415, with its header
        s.send(post_request(sign, "abc", "Content-Encoding: gzip\r\n"));
        auto res = s.read_response();
        expect_csc(res, 415, "gzip");
        EXPECT_EQ(res->header("accept-encoding"), "identity");
    }
    {
        RawSocket s = connect();  // 503 for want of a large-body slot, with Retry-After
        s.send(post_header(sign, 600));
        auto res = s.read_response();
        expect_csc(res, 503, "busy");
        EXPECT_EQ(res->header("retry-after"), "5");
    }
    {
        RawSocket s = connect();  // 400 for a bad field after the request line
        s.send("GET /csc/v2/info HTTP/1.1\r\nHost: t\r\nBad Header: x\r\n\r\n");
        expect_csc(s.read_response(), 400, "malformed");
    }
    {
        RawSocket s = connect();  // 500 from a handler, and the router's 404, alike
        s.send(get_request("/csc/v2/throw") + get_request("/csc/v2/none"));
        expect_csc(s.read_response(), 500, "internal");
        expect_csc(s.read_response(), 404, "no such");
    }
    // Elsewhere, and when not even the request line could be read: text.
    for (const std::string& request :
         {post_header("/upload", 5000), std::string("GARBAGE\r\n\r\n"),
          "GET /" + std::string(4000, 'c') + " HTTP/1.1\r\n\r\n"}) {
        RawSocket s = connect();
        s.send(request);
        auto res = s.read_response();
        ASSERT_TRUE(res) << request.substr(0, 40);
        EXPECT_GE(res->status, 400);
        EXPECT_EQ(res->header("content-type"), kTextPlain) << request.substr(0, 40);
    }
}

TEST_F(AdmissionTest, ARendererThatThrowsFallsBackToTextAndKeepsTheStatus) {
    router.set_error_renderer("/csc/", [](const Request&, Status, std::string_view) -> Response {
        throw std::runtime_error("renderer bug");
    });
    router.set_error_renderer("/upload", [](const Request&, Status, std::string_view) {
        return text_response(Status::ok, "a renderer cannot turn an error into a success");
    });
    start(limits());
    {
        RawSocket s = connect();
        s.send(post_header("/csc/v2/signatures/signDoc", 5000));
        auto res = s.read_response();
        ASSERT_TRUE(res);
        EXPECT_EQ(res->status, 413);
        EXPECT_EQ(res->header("content-type"), kTextPlain);
    }
    {
        RawSocket s = connect();
        s.send(post_header("/upload", 5000));
        auto res = s.read_response();
        ASSERT_TRUE(res);
        EXPECT_EQ(res->status, 413);
    }
    RawSocket s = connect();
    ASSERT_TRUE(s.send(get_request("/hello")));
    auto res = s.read_response();
    ASSERT_TRUE(res);
    EXPECT_EQ(res->status, 200);
}

}  // namespace
}  // namespace selo::http

// The largest single allocation since the last reset, for NothingIsReservedForABodyRefused...:
// a reservation is visible here however briefly it lives (untouched pages never show in the RSS,
// and the server frees a refused request's parser as soon as the response is written).
std::atomic<std::size_t> g_largest_allocation{0};

// The whole non-aligned family is replaced, so that every form pairs with a matching release
// (a sanitizer's own operator new[] or nothrow new would otherwise meet the free() below).
void* operator new(std::size_t size) {
    std::size_t seen = g_largest_allocation.load(std::memory_order_relaxed);
    while (size > seen &&
           !g_largest_allocation.compare_exchange_weak(seen, size, std::memory_order_relaxed)) {
    }
    if (void* p = std::malloc(size == 0 ? 1 : size)) {
        return p;
    }
    throw std::bad_alloc();
}
void* operator new[](std::size_t size) {
    return ::operator new(size);
}
void* operator new(std::size_t size, const std::nothrow_t&) noexcept {
    try {
        return ::operator new(size);
    } catch (...) {
        return nullptr;
    }
}
void* operator new[](std::size_t size, const std::nothrow_t& tag) noexcept {
    return ::operator new(size, tag);
}
// GCC inlines `new T` next to these and flags free() as mismatched with operator new; it is the
// matching release of the malloc() above.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
void operator delete(void* p) noexcept {
    std::free(p);
}
void operator delete(void* p, std::size_t) noexcept {
    std::free(p);
}
void operator delete(void* p, const std::nothrow_t&) noexcept {
    std::free(p);
}
void operator delete[](void* p) noexcept {
    std::free(p);
}
void operator delete[](void* p, std::size_t) noexcept {
    std::free(p);
}
void operator delete[](void* p, const std::nothrow_t&) noexcept {
    std::free(p);
}
#pragma GCC diagnostic pop
