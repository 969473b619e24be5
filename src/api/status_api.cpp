// Certificate status for relying parties: OCSP (RFC 6960 Appendix A over HTTP, with the RFC
// 5019 caching profile) and CRLs (RFC 5280 §5, served as application/pkix-crl, RFC 2585 §4.2).
#include <algorithm>

#include "api/api.hpp"
#include "core/log.hpp"
#include "http/response.hpp"
#include "http/router.hpp"

namespace selo::api {
namespace {

constexpr std::string_view kOcspResponseType = "application/ocsp-response";

http::Response ocsp_response(const pki::OcspReply& reply, const Clock& clock, bool get) {
    auto res = http::binary_response(http::Status::ok, ByteView(*reply.der), kOcspResponseType);
    if (get && reply.cacheable) {
        // RFC 5019 §6.2: caches may keep the answer until shortly before nextUpdate; the
        // responder re-signs at half-time, so a cache that asks again then gets the new one.
        auto left = std::chrono::duration_cast<std::chrono::seconds>(reply.next_update - clock.now());
        auto max_age = std::max<std::int64_t>(0, std::min<std::int64_t>(left.count(), left.count() / 2 + 1));
        res.set(http::Field::last_modified, http::format_http_date(reply.produced_at));
        res.set(http::Field::expires, http::format_http_date(reply.next_update));
        res.set(http::Field::cache_control,
                fmt::format("max-age={}, public, no-transform, must-revalidate", max_age));
        res.set(http::Field::etag, reply.etag);
    } else {
        res.set(http::Field::cache_control, "no-cache, no-store");
    }
    return res;
}

}  // namespace

void add_status_routes(http::Router& router, ApiContext& ctx) {
    if (ctx.ocsp != nullptr) {
        router.add(
            http::Verb::post, "/ocsp",
            [&ctx](const http::Request& req, const http::RequestContext&, const http::PathParams&) {
                return ocsp_response(ctx.ocsp->respond(as_bytes(req.body())), ctx.clock, false);
            },
            {.summary = "OCSP request (RFC 6960 Appendix A.1, POST)"});
        router.add(
            http::Verb::get, "/ocsp/{rest*}",
            [&ctx](const http::Request&, const http::RequestContext&, const http::PathParams& p) {
                // RFC 6960 Appendix A.1: the URL-encoded base64 of the DER request. Clients send
                // '/', '+' and even "//" raw; the greedy tail keeps them.
                auto decoded = http::percent_decode(p.raw("rest"));
                Bytes der;
                if (decoded) {
                    std::string text = *decoded;
                    std::erase_if(text, [](char c) { return c == '\r' || c == '\n'; });
                    if (auto b = base64_decode(text)) {
                        der = std::move(*b);
                    }
                }
                // Undecodable input is answered in OCSP's own terms: malformedRequest.
                return ocsp_response(ctx.ocsp->respond(der), ctx.clock, true);
            },
            {.summary = "OCSP request (RFC 6960 Appendix A.1, GET with base64 in the path)"});
    }
    if (ctx.crls != nullptr) {
        router.add(
            http::Verb::get, "/crl/{name}.crl",
            [&ctx](const http::Request&, const http::RequestContext&, const http::PathParams& p) {
                std::string_view name = p.get("name");
                if (name.empty() || name.size() > 64 ||
                    name.find_first_not_of("abcdefghijklmnopqrstuvwxyz0123456789-") != std::string_view::npos) {
                    return http::text_response(http::Status::not_found, "no such CA");
                }
                auto crl = ctx.crls->current(name);
                if (!crl) {
                    if (crl.error().code == ErrorCode::not_found) {
                        return http::text_response(http::Status::not_found,
                                                   fmt::format("no CA named '{}'", name));
                    }
                    log::error("CRL of {}: {}", name, crl.error().message);
                    return http::text_response(http::Status::service_unavailable,
                                               "the CRL cannot be produced right now");
                }
                auto res = http::binary_response(http::Status::ok, ByteView(crl->der), "application/pkix-crl");
                res.set(http::Field::last_modified, http::format_http_date(crl->this_update));
                res.set(http::Field::expires, http::format_http_date(crl->next_update));
                // Short: a revocation makes a new CRL at once, and caches should notice soon.
                res.set(http::Field::cache_control, "public, max-age=60, no-transform");
                return res;
            },
            {.summary = "Full CRL of a CA (DER), the target of cRLDistributionPoints"});
    }
}

}  // namespace selo::api
