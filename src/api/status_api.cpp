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

// The RFC 5019 §6.2 header values of one reply, formatted once per I/O or worker thread and
// reused while that thread hands out the same answer (max-age changes with the second only).
struct CachingHeaders {
    const Bytes* der = nullptr;  // the reply they belong to (with its times: an address reused)
    TimePoint produced_at;
    TimePoint next_update;
    std::string last_modified;
    std::string expires;
    std::int64_t at_second = -1;
    std::string cache_control;
};

http::Response ocsp_response(const pki::OcspReply& reply, const Clock& clock, bool get) {
    auto res = http::binary_response(http::Status::ok, ByteView(*reply.der), kOcspResponseType);
    if (get && reply.cacheable) {
        thread_local CachingHeaders h;
        if (h.der != reply.der.get() || h.produced_at != reply.produced_at || h.next_update != reply.next_update) {
            h.der = reply.der.get();
            h.produced_at = reply.produced_at;
            h.next_update = reply.next_update;
            h.last_modified = http::format_http_date(reply.produced_at);
            h.expires = http::format_http_date(reply.next_update);
            h.at_second = -1;
        }
        const auto now = clock.now();
        const std::int64_t second = unix_seconds(now);
        if (h.at_second != second) {
            // RFC 5019 §6.2: caches may keep the answer until shortly before nextUpdate; the
            // responder re-signs at half-time, so a cache that asks again then gets the new one.
            auto left = std::chrono::duration_cast<std::chrono::seconds>(reply.next_update - now);
            auto max_age = std::max<std::int64_t>(0, std::min<std::int64_t>(left.count(), left.count() / 2 + 1));
            h.cache_control = fmt::format("max-age={}, public, no-transform, must-revalidate", max_age);
            h.at_second = second;
        }
        res.set(http::Field::last_modified, h.last_modified);
        res.set(http::Field::expires, h.expires);
        res.set(http::Field::cache_control, h.cache_control);
        res.set(http::Field::etag, reply.etag);
    } else {
        res.set(http::Field::cache_control, "no-cache, no-store");
    }
    return res;
}

// RFC 6960 Appendix A.1: the URL-encoded base64 of the DER request. Clients send '/', '+' and
// even "//" raw; the greedy tail keeps them. Empty when undecodable.
Bytes ocsp_get_request(std::string_view raw) {
    // (A plain loop: string_view::find_first_of calls memchr once per character.)
    if (std::none_of(raw.begin(), raw.end(), [](char c) { return c == '%' || c == '\r' || c == '\n'; })) {
        // The usual request: plain base64 (clients escape little or nothing), decoded in place.
        auto b = base64_decode(raw);
        return b ? std::move(*b) : Bytes{};
    }
    auto decoded = http::percent_decode(raw);
    if (!decoded) {
        return {};
    }
    std::string text = std::move(*decoded);
    std::erase_if(text, [](char c) { return c == '\r' || c == '\n'; });
    auto b = base64_decode(text);
    return b ? std::move(*b) : Bytes{};
}

}  // namespace

void add_status_routes(http::Router& router, ApiContext& ctx) {
    if (ctx.ocsp != nullptr) {
        router.add(
            http::Verb::post, "/ocsp",
            [&ctx](const http::Request& req, const http::RequestContext&, const http::PathParams&) {
                return ocsp_response(ctx.ocsp->respond(as_bytes(req.body())), ctx.clock, false);
            },
            {.summary = "OCSP request (RFC 6960 Appendix A.1, POST)",
             // A request answered before is answered again on the I/O thread, unless the CA's
             // statuses changed since; the rest (nonces, first requests) is signed on a worker.
             .fast_path = [&ctx](const http::Request& req, const http::RequestContext&,
                                 const http::PathParams&) -> std::optional<http::Response> {
                 if (auto reply = ctx.ocsp->precomputed(as_bytes(req.body()))) {
                     return ocsp_response(*reply, ctx.clock, false);
                 }
                 return std::nullopt;
             }});
        router.add(
            http::Verb::get, "/ocsp/{rest*}",
            [&ctx](const http::Request&, const http::RequestContext&, const http::PathParams& p) {
                // Undecodable input is answered in OCSP's own terms: malformedRequest.
                return ocsp_response(ctx.ocsp->respond(ocsp_get_request(p.raw("rest"))), ctx.clock, true);
            },
            {.summary = "OCSP request (RFC 6960 Appendix A.1, GET with base64 in the path)",
             .fast_path = [&ctx](const http::Request&, const http::RequestContext&,
                                 const http::PathParams& p) -> std::optional<http::Response> {
                 if (auto reply = ctx.ocsp->precomputed(ocsp_get_request(p.raw("rest")))) {
                     return ocsp_response(*reply, ctx.clock, true);
                 }
                 return std::nullopt;
             }});
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
