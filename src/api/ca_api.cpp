#include <boost/json.hpp>

#include "api/api.hpp"
#include "api/sepbox_api.hpp"
#include "core/log.hpp"
#include "http/response.hpp"

namespace selo::api {

void add_ca_routes(http::Router& router, ApiContext& ctx) {
    router.add(
        http::Verb::get, "/ca/{name}.crt",
        [&ctx](const http::Request&, const http::RequestContext&, const http::PathParams& p) {
            std::string_view name = p.get("name");
            // CA names are lower-case letters, digits and '-': anything else cannot exist, and
            // is not echoed back.
            if (name.empty() || name.size() > 64 ||
                name.find_first_not_of("abcdefghijklmnopqrstuvwxyz0123456789-") != std::string_view::npos) {
                return http::text_response(http::Status::not_found, "no such CA");
            }
            auto ca = ctx.cas.find(name);
            if (!ca) {
                log::error("reading CA {}: {}", p.get("name"), ca.error().message);
                return http::text_response(http::Status::internal_server_error,
                                           "the CA repository is unavailable");
            }
            if (!*ca) {
                return http::text_response(http::Status::not_found,
                                           fmt::format("no CA named '{}'", name));
            }
            // RFC 2585 §4.1: a single DER certificate is application/pkix-cert.
            auto res = http::binary_response(http::Status::ok, (*ca)->certificate_der,
                                             "application/pkix-cert");
            res.set(http::Field::cache_control, "public, max-age=3600");
            return res;
        },
        {.summary = "CA certificate (DER), the target of AIA caIssuers"});
}

void install_error_renderers(http::Router& router) {
    router.set_error_renderer("/csc/", [](const http::Request&, http::Status status, std::string_view message) {
        boost::json::object body;
        body["error"] = status == http::Status::service_unavailable ? "temporarily_unavailable"
                        : status >= http::Status::internal_server_error ? "server_error"
                                                                        : "invalid_request";
        body["error_description"] = message;
        auto res = http::json_response(status, body);
        res.set(http::Field::cache_control, "no-store");
        return res;
    });
    router.set_error_renderer("/api/", [](const http::Request&, http::Status status, std::string_view message) {
        return http::problem_response(status, message);
    });
}

void add_all_routes(http::Router& router, ApiContext& ctx) {
    add_ca_routes(router, ctx);
    add_status_routes(router, ctx);
    add_certificate_routes(router, ctx);
    add_csc_routes(router, ctx);
    add_operations_routes(router, ctx);
    add_auth_routes(router, ctx);
    add_counter_routes(router, ctx);
    add_sepbox_routes(router, ctx);
    add_institution_routes(router, ctx);
    add_tsa_routes(router, ctx);
    add_log_routes(router, ctx);
    add_epcm_routes(router, ctx);
}

}  // namespace selo::api
