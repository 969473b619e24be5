// POST /tsa: RFC 3161 §3.4 time-stamping over HTTP.

#include <boost/beast/http/field.hpp>

#include "api/api.hpp"
#include "core/log.hpp"
#include "http/response.hpp"
#include "tsa/authority.hpp"

namespace selo::api {
namespace {

// The media type without parameters, lower-cased.
std::string media_type(std::string_view content_type) {
    std::string out(content_type.substr(0, content_type.find(';')));
    while (!out.empty() && (out.back() == ' ' || out.back() == '\t')) {
        out.pop_back();
    }
    for (auto& c : out) {
        c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    }
    return out;
}

}  // namespace

void add_tsa_routes(http::Router& router, ApiContext& ctx) {
    if (ctx.tsa == nullptr) {
        return;
    }
    router.add(
        http::Verb::post, "/tsa",
        [&ctx](const http::Request& req, const http::RequestContext&, const http::PathParams&) {
            // RFC 3161 §3.4: the query is sent as application/timestamp-query.
            if (media_type(req[http::Field::content_type]) != "application/timestamp-query") {
                return http::text_response(http::Status::unsupported_media_type,
                                           "send a DER TimeStampReq as application/timestamp-query");
            }
            const std::string& body = req.body();
            auto reply = ctx.tsa->respond(
                ByteView(reinterpret_cast<const std::uint8_t*>(body.data()), body.size()));
            if (!reply.granted && reply.failure == tsa::FailureInfo::system_failure) {
                log::error("time-stamping: {}", reply.status_text);
            }
            // Refusals are TimeStampResp too (status rejection), answered with 200 like grants:
            // the PKIStatus, not the HTTP status, carries the outcome (RFC 3161 §3.4).
            auto res = http::binary_response(http::Status::ok, reply.der, "application/timestamp-reply");
            res.set(http::Field::cache_control, "no-store");
            return res;
        },
        {.summary = "RFC 3161 time-stamping (application/timestamp-query in, timestamp-reply out)"});
}

}  // namespace selo::api
