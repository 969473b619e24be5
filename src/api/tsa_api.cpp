// POST /tsa: RFC 3161 §3.4 time-stamping over HTTP.

#include <boost/beast/http/field.hpp>

#include "api/api.hpp"
#include "core/log.hpp"
#include "http/response.hpp"
#include "pki/certificate.hpp"
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
    if (ctx.tsa_unit_certificates) {
        // The certificates to pin a token's or an EPCM receipt's signer to (openssl ts -verify
        // -CAfile time-stamping-units.pem -partial_chain): a time-stamping certificate Selo's CA
        // issued to anyone else is not among them.
        router.add(
            http::Verb::get, "/ca/time-stamping-units.pem",
            [&ctx](const http::Request&, const http::RequestContext&, const http::PathParams&) {
                auto ders = ctx.tsa_unit_certificates();
                if (!ders) {
                    log::error("reading the time-stamping unit's certificates: {}", ders.error().message);
                    return http::text_response(http::Status::internal_server_error,
                                               "the certificate repository is unavailable");
                }
                std::string pem;
                for (const auto& der : *ders) {
                    auto cert = pki::Certificate::from_der(der);
                    if (!cert) {
                        log::error("a stored time-stamping unit certificate: {}", cert.error().message);
                        return http::text_response(http::Status::internal_server_error,
                                                   "the certificate repository is unavailable");
                    }
                    pem += cert->pem();
                }
                auto res = http::text_response(http::Status::ok, pem);
                res.set(http::Field::content_type, "application/x-pem-file");
                res.set(http::Field::cache_control, "public, max-age=300");
                return res;
            },
            {.summary = "Every certificate the TSA's unit has signed with (PEM), oldest first"});
    }
    // Asynchronous: the token is signed at once, and the reply is sent when the log's group
    // commit holding its entry is durable, so no thread waits through an fsync. With keys in
    // memory (the software key store) signing never waits either, so it runs on the I/O thread
    // that read the request: no hop to a worker and back, the largest cost after the signature
    // itself. A key in a PKCS#11 token may wait on the device, so it signs on a worker. On the
    // I/O thread a full log queue (the disk is behind) is answered 503 rather than waited for,
    // so that the thread's other connections (OCSP, say) keep being served.
    const bool on_io_thread = ctx.config.keys.backend == "software";
    router.add_async(
        http::Verb::post, "/tsa",
        [&ctx, on_io_thread](const http::Request& req, const http::RequestContext&, const http::PathParams&,
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
                    if (reply.busy) {
                        auto res = http::text_response(http::Status::service_unavailable, reply.status_text);
                        res.set(http::Field::retry_after, "1");
                        respond(std::move(res));
                        return;
                    }
                    if (!reply.granted && reply.failure == tsa::FailureInfo::system_failure &&
                        !reply.out_of_service) {
                        log::error("time-stamping: {}", reply.status_text);
                    }
                    // Refusals are TimeStampResp too (status rejection), answered with 200 like
                    // grants: the PKIStatus, not the HTTP status, carries the outcome (RFC 3161
                    // §3.4).
                    auto res = http::binary_response(http::Status::ok, reply.der,
                                                     "application/timestamp-reply");
                    res.set(http::Field::cache_control, "no-store");
                    respond(std::move(res));
                },
                on_io_thread ? tsa::QueueFull::busy : tsa::QueueFull::wait);
        },
        {.execution = on_io_thread ? http::Execution::inline_io : http::Execution::worker,
         .summary = "RFC 3161 time-stamping (application/timestamp-query in, timestamp-reply out)"});
}

}  // namespace selo::api
