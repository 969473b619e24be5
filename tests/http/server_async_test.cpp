// Asynchronous handlers: the response is given later, from another thread, without holding a
// worker; ordering on keep-alive connections, connections closed before completion, errors.

#include <gtest/gtest.h>

#include <atomic>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <thread>

#include "http/response.hpp"
#include "http/router.hpp"
#include "test_support.hpp"

namespace selo::http {
namespace {

using namespace std::chrono_literals;
using test::RawSocket;
using test::get_request;
using test::post_request;

// Completions parked by handlers and released by the test, from its own thread.
class Parked {
  public:
    void park(std::string body, Respond respond) {
        std::lock_guard lock(mutex_);
        items_.push_back({std::move(body), std::move(respond)});
        cv_.notify_all();
    }
    bool wait_for(std::size_t n, std::chrono::milliseconds timeout = 5s) {
        std::unique_lock lock(mutex_);
        return cv_.wait_for(lock, timeout, [&] { return items_.size() >= n; });
    }
    // Answers the oldest parked request with its body.
    void release_one() {
        std::pair<std::string, Respond> item;
        {
            std::lock_guard lock(mutex_);
            item = std::move(items_.front());
            items_.pop_front();
        }
        item.second(text_response(Status::ok, item.first));
    }
    void drop_all() {
        std::lock_guard lock(mutex_);
        items_.clear();
    }

  private:
    std::mutex mutex_;
    std::condition_variable cv_;
    std::deque<std::pair<std::string, Respond>> items_;
};

class AsyncServer {
  public:
    explicit AsyncServer(const Router& router, ServerLimits limits = test::test_limits())
        : server_(std::move(limits), router.async_handler(), router.inline_handler(),
                  router.error_renderers()) {
        port_ = server_.listen("127.0.0.1", 0).value();
        thread_ = std::thread([this] { server_.run(); });
    }
    ~AsyncServer() {
        server_.stop();
        thread_.join();
    }
    std::uint16_t port() const { return port_; }
    Server& server() { return server_; }

  private:
    Server server_;
    std::uint16_t port_ = 0;
    std::thread thread_;
};

class ServerAsync : public ::testing::Test {
  protected:
    void SetUp() override {
        router.add_async(Verb::post, "/park",
                         [this](const Request& req, const RequestContext&, const PathParams&,
                                Respond respond) { parked.park(req.body(), std::move(respond)); });
        router.add_async(Verb::get, "/now",
                         [](const Request&, const RequestContext&, const PathParams&,
                            Respond respond) { respond(text_response(Status::ok, "now\n")); });
        router.add_async(Verb::get, "/twice",
                         [](const Request&, const RequestContext&, const PathParams&,
                            Respond respond) {
                             respond(text_response(Status::ok, "first\n"));
                             respond(text_response(Status::ok, "second\n"));
                         });
        router.add_async(Verb::get, "/throws",
                         [](const Request&, const RequestContext&, const PathParams&, Respond) {
                             throw std::runtime_error("boom");
                         });
        router.add_async(Verb::get, "/responds-then-throws",
                         [](const Request&, const RequestContext&, const PathParams&,
                            Respond respond) {
                             respond(text_response(Status::accepted, "kept\n"));
                             throw std::runtime_error("late boom");
                         });
        router.add_async(Verb::get, "/forgets",
                         [](const Request&, const RequestContext&, const PathParams&, Respond) {});
        router.add_async(Verb::get, "/from-thread",
                         [](const Request& req, const RequestContext&, const PathParams&,
                            Respond respond) {
                             std::string target(req.target());  // copied: req is not ours later
                             std::thread([respond = std::move(respond), target] {
                                 std::this_thread::sleep_for(20ms);
                                 respond(text_response(Status::ok, target));
                             }).detach();
                         });
        router.add(Verb::get, "/sync",
                   [](const Request&, const RequestContext&, const PathParams&) {
                       return text_response(Status::ok, "sync\n");
                   });
    }

    Router router;
    Parked parked;
};

TEST_F(ServerAsync, RespondsFromAnotherThreadOnKeepAlive) {
    AsyncServer srv(router);
    RawSocket s(srv.port());
    for (int i = 0; i < 3; ++i) {
        ASSERT_TRUE(s.send(get_request("/from-thread")));
        auto res = s.read_response();
        ASSERT_TRUE(res) << i;
        EXPECT_EQ(res->status, 200);
        EXPECT_EQ(res->body, "/from-thread\n");
    }
    ASSERT_TRUE(s.send(get_request("/sync")));
    auto res = s.read_response();
    ASSERT_TRUE(res);
    EXPECT_EQ(res->body, "sync\n");
    EXPECT_EQ(srv.server().stats().connections_accepted, 1u);
}

TEST_F(ServerAsync, PipelinedResponsesKeepRequestOrder) {
    AsyncServer srv(router);
    RawSocket s(srv.port());
    ASSERT_TRUE(s.send(post_request("/park", "one") + get_request("/now") +
                       post_request("/park", "three")));
    ASSERT_TRUE(parked.wait_for(1));
    // The second request is not even read while the first waits for its completion.
    std::this_thread::sleep_for(100ms);
    EXPECT_FALSE(parked.wait_for(2, 0ms));
    parked.release_one();
    auto r1 = s.read_response();
    auto r2 = s.read_response();
    ASSERT_TRUE(parked.wait_for(1));
    parked.release_one();
    auto r3 = s.read_response();
    ASSERT_TRUE(r1 && r2 && r3);
    EXPECT_EQ(r1->body, "one\n");
    EXPECT_EQ(r2->body, "now\n");
    EXPECT_EQ(r3->body, "three\n");
}

TEST_F(ServerAsync, ParkedRequestsDoNotHoldWorkers) {
    ServerLimits limits = test::test_limits();
    limits.worker_threads = 1;
    AsyncServer srv(router, limits);
    std::vector<RawSocket> sockets;
    for (int i = 0; i < 8; ++i) {
        sockets.emplace_back(srv.port());
        ASSERT_TRUE(sockets.back().send(post_request("/park", std::to_string(i))));
    }
    ASSERT_TRUE(parked.wait_for(8));  // eight in flight on one worker thread
    RawSocket other(srv.port());
    ASSERT_TRUE(other.send(get_request("/sync")));
    auto quick = other.read_response();
    ASSERT_TRUE(quick);
    EXPECT_EQ(quick->body, "sync\n");
    // Parked in the order the I/O threads handed them over, which need not be the sockets'
    // order: all are released, then each connection must have its own answer.
    for (int i = 0; i < 8; ++i) {
        parked.release_one();
    }
    for (int i = 0; i < 8; ++i) {
        auto res = sockets[static_cast<std::size_t>(i)].read_response();
        ASSERT_TRUE(res) << i;
        EXPECT_EQ(res->body, std::to_string(i) + "\n");
    }
}

TEST_F(ServerAsync, ConnectionClosedBeforeCompletion) {
    AsyncServer srv(router);
    {
        RawSocket s(srv.port());
        ASSERT_TRUE(s.send(post_request("/park", "gone")));
        ASSERT_TRUE(parked.wait_for(1));
    }  // the client goes away while the request is parked
    std::this_thread::sleep_for(100ms);
    parked.release_one();  // answered into a dead connection: nothing breaks
    RawSocket s(srv.port());
    ASSERT_TRUE(s.send(get_request("/now")));
    auto res = s.read_response();
    ASSERT_TRUE(res);
    EXPECT_EQ(res->body, "now\n");
}

TEST_F(ServerAsync, ThrowingHandlerGets500AndConnectionLives) {
    AsyncServer srv(router);
    RawSocket s(srv.port());
    ASSERT_TRUE(s.send(get_request("/throws")));
    auto res = s.read_response();
    ASSERT_TRUE(res);
    EXPECT_EQ(res->status, 500);
    ASSERT_TRUE(s.send(get_request("/responds-then-throws")));
    res = s.read_response();
    ASSERT_TRUE(res);
    EXPECT_EQ(res->status, 202);  // the answer given before the exception stands
    EXPECT_EQ(res->body, "kept\n");
    ASSERT_TRUE(s.send(get_request("/now")));
    res = s.read_response();
    ASSERT_TRUE(res);
    EXPECT_EQ(res->status, 200);
}

TEST_F(ServerAsync, FirstResponseWinsAndForgottenCompletionGets500) {
    AsyncServer srv(router);
    RawSocket s(srv.port());
    ASSERT_TRUE(s.send(get_request("/twice") + get_request("/forgets") + get_request("/now")));
    auto r1 = s.read_response();
    auto r2 = s.read_response();
    auto r3 = s.read_response();
    ASSERT_TRUE(r1 && r2 && r3);
    EXPECT_EQ(r1->body, "first\n");
    EXPECT_EQ(r2->status, 500);
    EXPECT_EQ(r3->body, "now\n");
}

TEST_F(ServerAsync, DroppedParkedCompletionGets500) {
    AsyncServer srv(router);
    RawSocket s(srv.port());
    ASSERT_TRUE(s.send(post_request("/park", "x")));
    ASSERT_TRUE(parked.wait_for(1));
    parked.drop_all();
    auto res = s.read_response();
    ASSERT_TRUE(res);
    EXPECT_EQ(res->status, 500);
}

TEST_F(ServerAsync, StopWaitsForParkedRequests) {
    auto srv = std::make_unique<AsyncServer>(router);
    RawSocket s(srv->port());
    ASSERT_TRUE(s.send(post_request("/park", "last")));
    ASSERT_TRUE(parked.wait_for(1));
    srv->server().stop();
    std::thread releaser([&] {
        std::this_thread::sleep_for(100ms);
        parked.release_one();
    });
    auto res = s.read_response();
    releaser.join();
    ASSERT_TRUE(res);
    EXPECT_EQ(res->body, "last\n");
    srv.reset();
}

TEST_F(ServerAsync, RouterErrorsAndSyncRoutesThroughAsyncHandler) {
    AsyncServer srv(router);
    RawSocket s(srv.port());
    ASSERT_TRUE(s.send(get_request("/missing")));
    auto res = s.read_response();
    ASSERT_TRUE(res);
    EXPECT_EQ(res->status, 404);
    ASSERT_TRUE(s.send(get_request("/park")));
    res = s.read_response();
    ASSERT_TRUE(res);
    EXPECT_EQ(res->status, 405);
}

TEST(RouterAsync, HandleWaitsForAnAsyncRoute) {
    Router router;
    router.add_async(Verb::get, "/later",
                     [](const Request&, const RequestContext&, const PathParams&, Respond respond) {
                         std::thread([respond = std::move(respond)] {
                             respond(text_response(Status::ok, "later\n"));
                         }).detach();
                     });
    Request req{Verb::get, "/later", 11};
    Response res = router.handle(req, {});
    EXPECT_EQ(res.body(), "later\n");
    auto routes = router.routes();
    ASSERT_EQ(routes.size(), 1u);
    EXPECT_EQ(routes[0].pattern, "/later");
    EXPECT_THROW(router.add_async(Verb::get, "/later",
                                  [](const Request&, const RequestContext&, const PathParams&,
                                     Respond) {}),
                 std::invalid_argument);
}

}  // namespace
}  // namespace selo::http
