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
    explicit AsyncServer(const Router& router, ServerLimits limits = test::test_limits(),
                         bool inline_async = true)
        : server_(std::move(limits), router.async_handler(), router.inline_handler(),
                  router.error_renderers()) {
        if (inline_async) {
            server_.set_inline_async_handler(router.inline_async_handler());
        }
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
        // Holds the worker that runs it until unblock().
        router.add(Verb::get, "/block", [this](const Request&, const RequestContext&, const PathParams&) {
            std::unique_lock lock(block_mutex);
            blocked = true;
            block_cv.notify_all();
            block_cv.wait(lock, [&] { return !blocking; });
            return text_response(Status::ok, "unblocked\n");
        });
        // Started on the I/O thread (inline_io) when the server has the router's
        // inline_async_handler().
        const RouteOptions io{.execution = Execution::inline_io};
        router.add_async(Verb::post, "/io/park",
                         [this](const Request& req, const RequestContext&, const PathParams&,
                                Respond respond) { parked.park(req.body(), std::move(respond)); },
                         io);
        router.add_async(Verb::get, "/io/now",
                         [](const Request&, const RequestContext&, const PathParams&,
                            Respond respond) { respond(text_response(Status::ok, "io now\n")); },
                         io);
        router.add_async(Verb::get, "/io/throws",
                         [](const Request&, const RequestContext&, const PathParams&, Respond) {
                             throw std::runtime_error("boom on the I/O thread");
                         },
                         io);
        router.add_async(Verb::get, "/io/item/{id}",
                         [](const Request&, const RequestContext&, const PathParams& p,
                            Respond respond) {
                             respond(text_response(Status::ok, std::string(p.get("id"))));
                         },
                         io);
    }

    void wait_blocked() {
        std::unique_lock lock(block_mutex);
        ASSERT_TRUE(block_cv.wait_for(lock, 5s, [&] { return blocked; }));
    }
    void unblock() {
        std::lock_guard lock(block_mutex);
        blocking = false;
        block_cv.notify_all();
    }

    Router router;
    Parked parked;
    std::mutex block_mutex;
    std::condition_variable block_cv;
    bool blocked = false;
    bool blocking = true;
};

TEST_F(ServerAsync, InlineAsyncRoutesAreAnsweredWhileEveryWorkerIsBusy) {
    ServerLimits limits = test::test_limits();
    limits.worker_threads = 1;
    AsyncServer srv(router, limits);
    RawSocket blocker(srv.port());
    ASSERT_TRUE(blocker.send(get_request("/block")));
    wait_blocked();  // the only worker is taken
    RawSocket s(srv.port());
    ASSERT_TRUE(s.send(get_request("/io/now")));
    auto now = s.read_response();
    ASSERT_TRUE(now);
    EXPECT_EQ(now->body, "io now\n");
    ASSERT_TRUE(s.send(get_request("/io/item/a%2Fb")));  // path parameters decoded as on a worker
    auto item = s.read_response();
    ASSERT_TRUE(item);
    EXPECT_EQ(item->body, "a/b\n");
    // Answered later from another thread, still without a worker.
    ASSERT_TRUE(s.send(post_request("/io/park", "later")));
    ASSERT_TRUE(parked.wait_for(1));
    parked.release_one();
    auto later = s.read_response();
    ASSERT_TRUE(later);
    EXPECT_EQ(later->body, "later\n");
    // A worker route meanwhile waits for the worker.
    RawSocket w(srv.port());
    ASSERT_TRUE(w.send(get_request("/sync")));
    EXPECT_FALSE(w.read_response(false, 200ms));
    unblock();
    auto sync = w.read_response();
    ASSERT_TRUE(sync);
    EXPECT_EQ(sync->body, "sync\n");
    auto b = blocker.read_response();
    ASSERT_TRUE(b);
    EXPECT_EQ(b->body, "unblocked\n");
}

TEST_F(ServerAsync, InlineAsyncKeepsOrderAndSurvivesAThrowingHandler) {
    AsyncServer srv(router);
    RawSocket s(srv.port());
    ASSERT_TRUE(s.send(post_request("/io/park", "one") + get_request("/io/now") + get_request("/io/throws") +
                       get_request("/now")));
    ASSERT_TRUE(parked.wait_for(1));
    std::this_thread::sleep_for(50ms);
    parked.release_one();
    auto r1 = s.read_response();
    auto r2 = s.read_response();
    auto r3 = s.read_response();
    auto r4 = s.read_response();
    ASSERT_TRUE(r1 && r2 && r3 && r4);
    EXPECT_EQ(r1->body, "one\n");
    EXPECT_EQ(r2->body, "io now\n");
    EXPECT_EQ(r3->status, 500);
    EXPECT_EQ(r4->body, "now\n");
}

TEST_F(ServerAsync, InlineIoAsyncRoutesRunOnAWorkerWithoutTheInlineAsyncHandler) {
    ServerLimits limits = test::test_limits();
    limits.worker_threads = 1;
    AsyncServer srv(router, limits, false);
    RawSocket blocker(srv.port());
    ASSERT_TRUE(blocker.send(get_request("/block")));
    wait_blocked();
    RawSocket s(srv.port());
    ASSERT_TRUE(s.send(get_request("/io/now")));
    EXPECT_FALSE(s.read_response(false, 200ms));  // it needs the worker
    unblock();
    auto res = s.read_response();
    ASSERT_TRUE(res);
    EXPECT_EQ(res->body, "io now\n");
}

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
