// Every live /api/v1 route is in the OpenAPI document, with the roles the route enforces.

#include <gtest/gtest.h>

#include "api/api.hpp"
#include "cli/data_dir.hpp"
#include "support/test_support.hpp"

namespace selo::api {
namespace {

// Every route of a fresh data directory's runtime, with its optional services wired as serve
// wires them, and the OpenAPI document they make.
class OpenApi : public ::testing::Test {
protected:
    void SetUp() override {
        rt = cli::Runtime::create(dir / "data", {}, clock, rng).value();
        registry.emplace(rt->accounts());
        ctx.emplace(ApiContext{rt->config(), rt->cas(), rt->cloudsign(), clock, *registry});
        ctx->enrolment = &rt->enrolment();
        ctx->activation = &rt->activation();
        ctx->postmarks = &rt->postmarks();
        add_all_routes(router, *ctx);
        doc = registry->openapi("http://selo.test");
    }
    test::TempDir dir;
    SystemClock clock;
    SystemRng rng;
    std::unique_ptr<cli::Runtime> rt;
    std::optional<ApiRegistry> registry;
    std::optional<ApiContext> ctx;  // the routes keep a reference to it
    http::Router router;
    boost::json::object doc;
};

TEST_F(OpenApi, EveryLiveApiRouteIsDocumented) {
    const auto& paths = doc.at("paths").as_object();
    std::size_t api_routes = 0;
    for (const auto& route : router.routes()) {
        if (!route.pattern.starts_with("/api/")) {
            continue;
        }
        ++api_routes;
        ASSERT_TRUE(paths.contains(route.pattern)) << route.pattern << " is not documented";
        std::string method(boost::beast::http::to_string(route.method));
        std::transform(method.begin(), method.end(), method.begin(), ::tolower);
        const auto& item = paths.at(route.pattern).as_object();
        ASSERT_TRUE(item.contains(method)) << method << " " << route.pattern;
        EXPECT_TRUE(item.at(method).as_object().contains("x-roles")) << route.pattern;
    }
    EXPECT_GE(api_routes, 4u);
    // And nothing is documented that is not served.
    std::size_t documented = 0;
    for (const auto& [path, item] : paths) {
        documented += item.as_object().size();
    }
    EXPECT_EQ(documented, api_routes);
}

// The EPCM request schemas mark as required what the handlers refuse to go without, and no more.
TEST_F(OpenApi, EpcmRequestsRequireWhatTheServerEnforces) {
    auto required = [&](const std::string& path) {
        const auto& schema = doc.at("paths").at(path).at("post").at("requestBody").at("content")
                                 .at("application/json").at("schema").as_object();
        std::vector<std::string> out;
        if (const auto* r = schema.if_contains("required")) {
            for (const auto& name : r->as_array()) {
                out.emplace_back(name.as_string());
            }
        }
        return out;
    };
    using Names = std::vector<std::string>;
    EXPECT_EQ(required("/api/v1/epcm/postmark"), Names{"digest"});
    EXPECT_EQ(required("/api/v1/epcm/verify"), Names{}) << "receipt_id or receipt and token; the digest is optional";
    EXPECT_EQ(required("/api/v1/epcm/check-integrity"), Names{"digest"});
    EXPECT_EQ(required("/api/v1/epcm/transactions/{id}/events"), Names{"event"});
}

}  // namespace
}  // namespace selo::api
