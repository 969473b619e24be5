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
    // Asynchronous: the worker signs, and the reply is sent when the log's group commit holding
    // the token's entry is durable, so no worker waits through an fsync.
    router.add_async(
        http::Verb::post, "/tsa",
        [&ctx](const http::Request& req, const http::RequestContext&, const http::PathParams&,
               http::Respond respond) {
            // RFC 3161 §3.4: the query is sent as application/timestamp-query.
            if (media_type(req[http::Field::content_type]) != "application/timestamp-query") {
                respond(http::text_response(http::Status::unsupported_media_type,
                                            "send a DER TimeStampReq as application/timestamp-query"));
                return;
            }
            const std::string& body = req.body();
            ctx.tsa->respond_async(
                ByteView(reinterpret_cast<const std::uint8_t*>(body.data()), body.size()),
                [respond = std::move(respond)](tsa::TimeStampReply reply) {
                    if (!reply.granted && reply.failure == tsa::FailureInfo::system_failure) {
                        log::error("time-stamping: {}", reply.status_text);
                    }
                    // Refusals are TimeStampResp too (status rejection), answered with 200 like
                    // grants: the PKIStatus, not the HTTP status, carries the outcome (RFC 3161
                    // §3.4).
                    auto res = http::binary_response(http::Status::ok, reply.der,
                                                     "application/timestamp-reply");
                    res.set(http::Field::cache_control, "no-store");
                    respond(std::move(res));
                });
        },
        {.summary = "RFC 3161 time-stamping (application/timestamp-query in, timestamp-reply out)"});
}

}  // namespace selo::api
