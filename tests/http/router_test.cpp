// Handler-level tests: routing without sockets.

#include <gtest/gtest.h>

#include <stdexcept>

#include <boost/json/parse.hpp>

#include "http/response.hpp"
#include "http/router.hpp"

namespace selo::http {
namespace {

Request make(Verb method, std::string_view target) {
    Request req{method, target, 11};
    req.set(Field::host, "test");
    return req;
}

// A handler that echoes the matched route tag and its parameters.
RouteHandler echo(std::string tag) {
    return [tag](const Request&, const RequestContext&, const PathParams& p) {
        std::string body = tag;
        for (std::string_view name : {"name", "rest", "id", "ca", "x", "y"}) {
            if (p.contains(name)) {
                body += fmt::format(" {}=[{}] raw=[{}]", name, p.get(name), p.raw(name));
            }
        }
        return make_response(Status::ok, body, kTextPlain);
    };
}

class RouterTest : public ::testing::Test {
  protected:
    void SetUp() override {
        router.add(Verb::get, "/ca/{name}.crt", echo("ca-cert"));
        router.add(Verb::get, "/crl/{ca}.crl", echo("crl"));
        router.add(Verb::post, "/ocsp", echo("ocsp-post"), {Execution::inline_io, "OCSP POST"});
        router.add(Verb::get, "/ocsp/{rest*}", echo("ocsp-get"), {Execution::inline_io, {}});
        router.add(Verb::post, "/csc/v2/credentials/info", echo("csc-info"));
        router.add(Verb::post, "/csc/v2/credentials/list", echo("csc-list"));
        router.add(Verb::get, "/api/v1/items/{id}", echo("item-get"));
        router.add(Verb::delete_, "/api/v1/items/{id}", echo("item-delete"));
        router.add(Verb::get, "/", echo("root"));
    }
    Response call(Verb method, std::string_view target) {
        return router.handle(make(method, target), ctx);
    }
    Router router;
    RequestContext ctx;
};

TEST_F(RouterTest, MatchesLiteralRoute) {
    auto res = call(Verb::post, "/csc/v2/credentials/info");
    EXPECT_EQ(res.result(), Status::ok);
    EXPECT_EQ(res.body(), "csc-info");
    EXPECT_EQ(call(Verb::get, "/").body(), "root");
}

TEST_F(RouterTest, NamedSegmentWithSuffixIsDecoded) {
    auto res = call(Verb::get, "/ca/Selo%20Root%20CA.crt");
    EXPECT_EQ(res.result(), Status::ok);
    EXPECT_EQ(res.body(), "ca-cert name=[Selo Root CA] raw=[Selo%20Root%20CA]");
    // An encoded slash stays inside the segment; a raw one would not match.
    EXPECT_EQ(call(Verb::get, "/ca/a%2Fb.crt").body(), "ca-cert name=[a/b] raw=[a%2Fb]");
    EXPECT_EQ(call(Verb::get, "/ca/a/b.crt").result(), Status::not_found);
    // The parameter must not be empty.
    EXPECT_EQ(call(Verb::get, "/ca/.crt").result(), Status::not_found);
}

TEST_F(RouterTest, GreedyTailKeepsSlashesAndDoubleSlashesRaw) {
    // RFC 6960 Appendix A.1: base64 with '/' and '+' in the path, sometimes unencoded.
    auto res = call(Verb::get, "/ocsp/MFEw/Tz+BTk//wQU=");
    EXPECT_EQ(res.result(), Status::ok);
    EXPECT_EQ(res.body(), "ocsp-get rest=[MFEw/Tz+BTk//wQU=] raw=[MFEw/Tz+BTk//wQU=]");
    // A client whose responder URL ends in '/' produces "//": the tail keeps the extra slash.
    EXPECT_EQ(call(Verb::get, "/ocsp//MFEw").body(), "ocsp-get rest=[/MFEw] raw=[/MFEw]");
}

TEST_F(RouterTest, GreedyTailDecodesPercentButKeepsPlus) {
    auto res = call(Verb::get, "/ocsp/MFEw%2FTz%2BBTk%3D+x");
    // '+' is a literal plus in a path (only form-encoded queries turn it into a space).
    EXPECT_EQ(res.body(), "ocsp-get rest=[MFEw/Tz+BTk=+x] raw=[MFEw%2FTz%2BBTk%3D+x]");
}

TEST_F(RouterTest, GreedyTailMayBeEmptyButNeedsItsSlash) {
    EXPECT_EQ(call(Verb::get, "/ocsp/").body(), "ocsp-get rest=[] raw=[]");
    // "/ocsp" is the POST route's path: GET there is 405, not the greedy route.
    auto res = call(Verb::get, "/ocsp");
    EXPECT_EQ(res.result(), Status::method_not_allowed);
    EXPECT_EQ(res[Field::allow], "POST");
}

TEST_F(RouterTest, QueryStringIsNotPartOfThePath) {
    EXPECT_EQ(call(Verb::get, "/crl/root.crl?x=1").body(), "crl ca=[root] raw=[root]");
}

TEST_F(RouterTest, AbsoluteFormTargetIsRouted) {
    // RFC 9112 §3.2.2.
    EXPECT_EQ(call(Verb::get, "http://ca.example:8080/crl/root.crl").body(),
              "crl ca=[root] raw=[root]");
    EXPECT_EQ(call(Verb::get, "http://ca.example").body(), "root");
}

TEST_F(RouterTest, UnknownPathIs404) {
    auto res = call(Verb::get, "/nope");
    EXPECT_EQ(res.result(), Status::not_found);
    EXPECT_EQ(res[Field::content_type], kTextPlain);
    // No trailing-slash equivalence, no case folding.
    EXPECT_EQ(call(Verb::post, "/csc/v2/credentials/info/").result(), Status::not_found);
    EXPECT_EQ(call(Verb::post, "/CSC/v2/credentials/info").result(), Status::not_found);
}

TEST_F(RouterTest, WrongMethodIs405WithAllow) {
    auto res = call(Verb::put, "/api/v1/items/7");
    EXPECT_EQ(res.result(), Status::method_not_allowed);
    // GET implies HEAD; listed in a stable order.
    EXPECT_EQ(res[Field::allow], "DELETE, GET, HEAD");
    EXPECT_NE(res.body().find("PUT"), std::string::npos);
    EXPECT_EQ(call(Verb::get, "/csc/v2/credentials/info")[Field::allow], "POST");
}

TEST_F(RouterTest, HeadFallsBackToGet) {
    auto res = call(Verb::head, "/api/v1/items/7");
    EXPECT_EQ(res.result(), Status::ok);
    EXPECT_EQ(res.body(), "item-get id=[7] raw=[7]");  // the server strips the body on the wire
    EXPECT_EQ(call(Verb::head, "/ocsp").result(), Status::method_not_allowed);
}

TEST_F(RouterTest, MalformedPercentEncodingIs400) {
    EXPECT_EQ(call(Verb::get, "/ca/bad%zz.crt").result(), Status::bad_request);
    EXPECT_EQ(call(Verb::get, "/ca/trunc%2.crt").result(), Status::bad_request);
    EXPECT_EQ(call(Verb::get, "/ocsp/abc%").result(), Status::bad_request);
    EXPECT_EQ(call(Verb::get, "/ca/nul%00.crt").result(), Status::bad_request);
}

TEST_F(RouterTest, NonPathTargetIs400) {
    EXPECT_EQ(call(Verb::get, "*").result(), Status::bad_request);
    EXPECT_EQ(call(Verb::get, "ftp://x/y").result(), Status::bad_request);
}

TEST(Router, MostSpecificRouteWinsRegardlessOfOrder) {
    Router r;
    r.add(Verb::get, "/files/{rest*}", echo("greedy"));
    r.add(Verb::get, "/files/{x}", echo("param"));
    r.add(Verb::get, "/files/{x}.txt", echo("affixed"));
    r.add(Verb::get, "/files/readme.txt", echo("literal"));
    RequestContext ctx;
    EXPECT_EQ(r.handle(make(Verb::get, "/files/readme.txt"), ctx).body(), "literal");
    EXPECT_EQ(r.handle(make(Verb::get, "/files/a.txt"), ctx).body(), "affixed x=[a] raw=[a]");
    EXPECT_EQ(r.handle(make(Verb::get, "/files/a.bin"), ctx).body(), "param x=[a.bin] raw=[a.bin]");
    EXPECT_EQ(r.handle(make(Verb::get, "/files/a/b"), ctx).body(), "greedy rest=[a/b] raw=[a/b]");
}

// Routes whose first segment is a parameter compete with the literal ones for every path (the
// router looks routes up by their first segment), for matching, for ties and for 405's Allow.
TEST(Router, RoutesStartingWithAParameterCompeteWithLiteralOnes) {
    Router r;
    r.add(Verb::get, "/{x}/info", echo("param-first"));
    r.add(Verb::post, "/lit/{y}", echo("literal-first"));
    r.add(Verb::get, "/a{x}", echo("prefixed"));  // registered first: wins the tie below
    r.add(Verb::get, "/{x}b", echo("suffixed"));
    r.add(Verb::put, "/{rest*}", echo("anything"));
    r.add(Verb::get, "/other/info", echo("other"));
    RequestContext ctx;
    EXPECT_EQ(r.handle(make(Verb::get, "/lit/info"), ctx).body(), "param-first x=[lit] raw=[lit]");
    EXPECT_EQ(r.handle(make(Verb::post, "/lit/info"), ctx).body(),
              "literal-first y=[info] raw=[info]");
    EXPECT_EQ(r.handle(make(Verb::get, "/other/info"), ctx).body(), "other");
    EXPECT_EQ(r.handle(make(Verb::get, "/ab"), ctx).body(), "prefixed x=[b] raw=[b]");
    EXPECT_EQ(r.handle(make(Verb::put, "/lit/info"), ctx).body(),
              "anything rest=[lit/info] raw=[lit/info]");
    auto wrong = r.handle(make(Verb::delete_, "/lit/info"), ctx);
    EXPECT_EQ(wrong.result(), Status::method_not_allowed);
    EXPECT_EQ(wrong[Field::allow], "GET, HEAD, POST, PUT");
    auto elsewhere = r.handle(make(Verb::get, "/nothing/here"), ctx);
    EXPECT_EQ(elsewhere.result(), Status::method_not_allowed);  // only the greedy PUT matches
    EXPECT_EQ(elsewhere[Field::allow], "PUT");
}

TEST(Router, RefusesMalformedPatternsAndDuplicates) {
    Router r;
    auto h = echo("x");
    EXPECT_THROW(r.add(Verb::get, "relative", h), std::invalid_argument);
    EXPECT_THROW(r.add(Verb::get, "/a//b", h), std::invalid_argument);
    EXPECT_THROW(r.add(Verb::get, "/a/{rest*}/b", h), std::invalid_argument);
    EXPECT_THROW(r.add(Verb::get, "/a/x{rest*}", h), std::invalid_argument);
    EXPECT_THROW(r.add(Verb::get, "/a/{x}{y}", h), std::invalid_argument);
    EXPECT_THROW(r.add(Verb::get, "/a/{x}/{x}", h), std::invalid_argument);
    EXPECT_THROW(r.add(Verb::get, "/a/{}", h), std::invalid_argument);
    EXPECT_THROW(r.add(Verb::get, "/a/{x", h), std::invalid_argument);
    EXPECT_THROW(r.add(Verb::get, "/a?b", h), std::invalid_argument);
    EXPECT_THROW(r.add(Verb::unknown, "/a", h), std::invalid_argument);
    r.add(Verb::get, "/items/{id}", h);
    EXPECT_THROW(r.add(Verb::get, "/items/{other}", h), std::invalid_argument);
    EXPECT_NO_THROW(r.add(Verb::post, "/items/{id}", h));
}

TEST_F(RouterTest, RouteTableListsEveryRouteWithExecution) {
    auto routes = router.routes();
    ASSERT_EQ(routes.size(), 9u);
    EXPECT_EQ(routes[0].method, Verb::get);
    EXPECT_EQ(routes[0].pattern, "/ca/{name}.crt");
    EXPECT_EQ(routes[0].execution, Execution::worker);
    EXPECT_EQ(routes[2].pattern, "/ocsp");
    EXPECT_EQ(routes[2].execution, Execution::inline_io);
    EXPECT_EQ(routes[2].summary, "OCSP POST");
}

TEST_F(RouterTest, InlineHalfAnswersInlineRoutesAndErrorsOnly) {
    auto inline_res = router.handle_inline(make(Verb::post, "/ocsp"), ctx);
    ASSERT_TRUE(inline_res.has_value());
    EXPECT_EQ(inline_res->body(), "ocsp-post");
    // Worker routes are left for the worker pool.
    EXPECT_FALSE(router.handle_inline(make(Verb::post, "/csc/v2/credentials/info"), ctx));
    // The router's own errors are cheap: answered inline.
    auto missing = router.handle_inline(make(Verb::get, "/missing"), ctx);
    ASSERT_TRUE(missing.has_value());
    EXPECT_EQ(missing->result(), Status::not_found);
}

TEST_F(RouterTest, FastPathAnswersInlineOrLeavesTheRequestToTheWorkerHandler) {
    Router r;
    bool precomputed = false;
    r.add(
        Verb::get, "/status/{rest*}",
        [](const Request&, const RequestContext&, const PathParams& p) {
            return text_response(Status::ok, "worker " + std::string(p.raw("rest")));
        },
        {.summary = "status",
         .fast_path = [&precomputed](const Request&, const RequestContext&,
                                     const PathParams& p) -> std::optional<Response> {
             if (!precomputed) {
                 return std::nullopt;
             }
             return text_response(Status::ok, "inline " + std::string(p.raw("rest")));
         }});
    EXPECT_FALSE(r.handle_inline(make(Verb::get, "/status/a//b"), ctx)) << "nothing precomputed: to the worker";
    EXPECT_EQ(r.handle(make(Verb::get, "/status/a//b"), ctx).body(), "worker a//b\n");
    precomputed = true;
    auto res = r.handle_inline(make(Verb::get, "/status/a//b"), ctx);
    ASSERT_TRUE(res.has_value());
    EXPECT_EQ(res->body(), "inline a//b\n");
    // The worker handler stays the route's answer when called directly; bad escapes never
    // reach either.
    EXPECT_EQ(r.handle(make(Verb::get, "/status/x"), ctx).body(), "worker x\n");
    auto bad = r.handle_inline(make(Verb::get, "/status/%zz"), ctx);
    ASSERT_TRUE(bad.has_value());
    EXPECT_EQ(bad->result(), Status::bad_request);
    EXPECT_EQ(r.routes().front().execution, Execution::worker);
}

TEST_F(RouterTest, ErrorRendererCanProduceProblemJson) {
    router.set_error_renderer([](const Request&, Status status, std::string_view message) {
        return problem_response(status, message);
    });
    auto res = call(Verb::put, "/api/v1/items/1");
    EXPECT_EQ(res.result(), Status::method_not_allowed);
    EXPECT_EQ(res[Field::content_type], kProblemJson);
    EXPECT_EQ(res[Field::allow], "DELETE, GET, HEAD");
}

// A CSC-style error body: {"error": ..., "error_description": ...}.
Response csc_style_error(const Request&, Status status, std::string_view message) {
    return json_response(status, boost::json::object{{"error", "invalid_request"},
                                                     {"error_description", message}});
}

TEST_F(RouterTest, ErrorRenderersAreChosenByPathPrefix) {
    router.set_error_renderer("/csc/", csc_style_error);
    router.set_error_renderer("/api/", [](const Request&, Status status, std::string_view m) {
        return problem_response(status, m);
    });
    // 404 and 405 under /csc/: the CSC shape.
    auto csc_missing = call(Verb::post, "/csc/v2/nope");
    EXPECT_EQ(csc_missing.result(), Status::not_found);
    EXPECT_EQ(csc_missing[Field::content_type], kApplicationJson);
    auto body = boost::json::parse(csc_missing.body());
    EXPECT_EQ(body.at("error").as_string(), "invalid_request");
    EXPECT_EQ(body.at("error_description").as_string(), "no such resource");
    auto csc_wrong = call(Verb::get, "/csc/v2/credentials/info");
    EXPECT_EQ(csc_wrong.result(), Status::method_not_allowed);
    EXPECT_EQ(csc_wrong[Field::content_type], kApplicationJson);
    EXPECT_EQ(csc_wrong[Field::allow], "POST");  // still added after rendering
    // Under /api/: problem+json; absolute-form targets match by their path (RFC 9112 §3.2.2).
    EXPECT_EQ(call(Verb::get, "/api/v1/none")[Field::content_type], kProblemJson);
    EXPECT_EQ(call(Verb::get, "http://selo.test/api/v1/none")[Field::content_type], kProblemJson);
    // Everything else, and near misses of the prefixes: text.
    for (std::string_view target : {"/missing", "/csc", "/cscx/", "/CSC/v2/x", "/apiv1"}) {
        auto res = call(Verb::get, target);
        EXPECT_EQ(res.result(), Status::not_found) << target;
        EXPECT_EQ(res[Field::content_type], kTextPlain) << target;
    }
}

TEST_F(RouterTest, LongestErrorRendererPrefixWinsAndFallbackApplies) {
    router.set_error_renderer("/api/", csc_style_error);
    router.set_error_renderer("/api/v1/", [](const Request&, Status status, std::string_view m) {
        return problem_response(status, m);
    });
    router.set_error_renderer([](const Request&, Status status, std::string_view) {
        return make_response(status, "fallback", "text/x-fallback");
    });
    EXPECT_EQ(call(Verb::get, "/api/v1/none")[Field::content_type], kProblemJson);
    EXPECT_EQ(call(Verb::get, "/api/v2/none")[Field::content_type], kApplicationJson);
    EXPECT_EQ(call(Verb::get, "/other")[Field::content_type], "text/x-fallback");
    // A target that is not a path (400) has no prefix: the fallback.
    auto bad = call(Verb::get, "*");
    EXPECT_EQ(bad.result(), Status::bad_request);
    EXPECT_EQ(bad[Field::content_type], "text/x-fallback");
    // Replacing and removing.
    router.set_error_renderer("/api/v1/", {});
    EXPECT_EQ(call(Verb::get, "/api/v1/none")[Field::content_type], kApplicationJson);
    router.set_error_renderer({});
    EXPECT_EQ(call(Verb::get, "/other")[Field::content_type], kTextPlain);
    EXPECT_THROW(router.set_error_renderer("api/", csc_style_error), std::invalid_argument);
    EXPECT_THROW(router.set_error_renderer("", csc_style_error), std::invalid_argument);
}

TEST(QueryParams, ParsesFormStyleQueryWithBoostUrl) {
    auto q = parse_query("/x?a=1&b=hello+world&c=%26%3D&a=2&flag&e=");
    ASSERT_TRUE(q.has_value()) << q.error().message;
    EXPECT_EQ(q->get("a"), "1");
    EXPECT_EQ(q->get_all("a"), (std::vector<std::string_view>{"1", "2"}));
    EXPECT_EQ(q->get("b"), "hello world");
    EXPECT_EQ(q->get("c"), "&=");
    EXPECT_TRUE(q->contains("flag"));
    EXPECT_EQ(q->get("flag"), "");
    EXPECT_EQ(q->get("e"), "");
    EXPECT_FALSE(q->get("missing"));
    EXPECT_TRUE(parse_query("/no-query")->entries().empty());
}

TEST(QueryParams, StopsAtTheEndOfTheTargetView) {
    // Bytes after the view must not leak into the parameters (boostorg/url#757).
    std::string buffer = "/x?a=1&b=2SECRET=3";
    auto q = parse_query(std::string_view(buffer).substr(0, 10));
    ASSERT_TRUE(q.has_value());
    EXPECT_EQ(q->get("b"), "2");
    EXPECT_FALSE(q->contains("b=2SECRET"));
    EXPECT_EQ(q->entries().size(), 2u);
}

TEST(QueryParams, RefusesMalformedEscapes) {
    auto q = parse_query("/x?a=%zz");
    ASSERT_FALSE(q.has_value());
    EXPECT_EQ(q.error().code, ErrorCode::malformed);
}

TEST(BearerToken, ReadsRfc6750Credentials) {
    // A copy: the token is a view into the header, which dies with the lambda.
    auto with = [](std::vector<std::string_view> values) -> std::optional<std::string> {
        RequestHeader h;
        for (auto v : values) {
            h.insert(Field::authorization, v);
        }
        auto token = bearer_token(h);
        return token ? std::optional<std::string>(*token) : std::nullopt;
    };
    EXPECT_EQ(with({"Bearer abc.DEF-123_~+/=="}), "abc.DEF-123_~+/==");
    EXPECT_EQ(with({"bearer tok"}), "tok");
    EXPECT_EQ(with({"BEARER   tok"}), "tok");  // 1*SP
    EXPECT_FALSE(with({}));
    EXPECT_FALSE(with({"Basic dXNlcjpwdw=="}));
    EXPECT_FALSE(with({"Bearer"}));
    EXPECT_FALSE(with({"Bearer "}));
    EXPECT_FALSE(with({"Bearertok"}));
    EXPECT_FALSE(with({"Bearer a b"}));
    EXPECT_FALSE(with({"Bearer a\"b"}));
    EXPECT_FALSE(with({"Bearer ==="}));
    EXPECT_FALSE(with({"Bearer a=b"}));
    EXPECT_FALSE(with({"Bearer a", "Bearer b"}));  // which one? neither
    // A full Request is a header too.
    Request req{Verb::post, "/x", 11};
    req.set(Field::authorization, "Bearer from-request");
    EXPECT_EQ(bearer_token(req), "from-request");
}

TEST(PercentDecode, DecodesEscapesAndKeepsPlus) {
    EXPECT_EQ(*percent_decode("a%2Fb%2bc+d"), "a/b+c+d");
    EXPECT_FALSE(percent_decode("%4").has_value());
    EXPECT_FALSE(percent_decode("%g0").has_value());
    EXPECT_FALSE(percent_decode("%00").has_value());
}

}  // namespace
}  // namespace selo::http
