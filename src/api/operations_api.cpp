#include "api/api.hpp"
#include "http/response.hpp"

namespace selo::api {
namespace {
// The service logo that CSC info names: a 64x64 PNG seal.
constexpr std::string_view kLogoPngBase64 =
    "iVBORw0KGgoAAAANSUhEUgAAAEAAAABACAIAAAAlC+aJAAABA0lEQVR42u3awRXDIAwDUM2S/U9dMJ2gYGwDtqq+nGN9QpsCxtv8AwEEqAb4PM/gKgoYh96KwfncuRLcjR5n4PAsTzcgK3riKOwCGIutjnHQgKz0kRkfMcCXPusLba/iBwzum/774zDgevqgAY70O14C4/vnAHanH1TxAK6kdxhgT38YYDSg2vCvPgQUTL9kmAAOT55paSfgfPpf1eeAIvPHPotQdviND0GAUoBq6S0GAQQQQAABBOAB6L+QALmAlgua9ktKtkV9y22V9htbDFuL7Td3GbbXGQ442h8xMRzyMRyzMhx0M7QaMDR7MLTbkDQ8MbSckTT98bRdUjW+CvBngC9lpG23gCeAcwAAAABJRU5ErkJggg==";
}  // namespace

void add_operations_routes(http::Router& router, ApiContext& ctx) {
    router.add(
        http::Verb::get, "/healthz",
        [&ctx](const http::Request&, const http::RequestContext&, const http::PathParams&) {
            auto cas = ctx.cas.list();
            if (!cas) {
                return http::text_response(http::Status::service_unavailable,
                                           "database unavailable");
            }
            return http::text_response(http::Status::ok, "ok");
        },
        {.summary = "Liveness and database reachability"});
    router.add(
        http::Verb::get, "/logo.png",
        [](const http::Request&, const http::RequestContext&, const http::PathParams&) {
            static const Bytes png = base64_decode(kLogoPngBase64).value();
            auto res = http::binary_response(http::Status::ok, png, "image/png");
            res.set(http::Field::cache_control, "public, max-age=86400");
            return res;
        },
        {.execution = http::Execution::inline_io, .summary = "Service logo (CSC info)"});
}

}  // namespace selo::api
