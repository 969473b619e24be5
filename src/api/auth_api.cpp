// /api/v1/auth: signing in with password and OTP, the current principal, and the OpenAPI
// document of the whole /api/v1 surface.

#include <boost/json.hpp>

#include "api/api.hpp"
#include "http/response.hpp"

namespace selo::api {
namespace json = boost::json;

namespace {

Result<std::string> string_member(const json::object& o, std::string_view name) {
    const json::value* v = o.if_contains(name);
    if (v == nullptr || !v->is_string() || v->as_string().empty()) {
        return fail(ErrorCode::malformed, "'{}' is required and must be a non-empty string", name);
    }
    return std::string(v->as_string());
}

json::array role_names(const account::Account& a) {
    json::array out;
    for (auto r : a.roles) {
        out.emplace_back(std::string(account::role_name(r)));
    }
    return out;
}

json::object principal_json(const account::Account& a) {
    return json::object{{"account_id", a.id},
                        {"username", a.username},
                        {"name", a.person.name},
                        {"latin_name", a.person.latin_name},
                        {"roles", role_names(a)}};
}

}  // namespace

void add_auth_routes(http::Router& router, ApiContext& ctx) {
    ApiRegistry& reg = ctx.registry;
    const auto lifetime = std::chrono::seconds(ctx.config.cloudsign.access_token_lifetime_seconds);

    reg.add(router, http::Verb::post, "/api/v1/auth/login", Access::anyone(),
            {.summary = "Sign in with username, password and the authenticator app's code",
             .description = "Returns a bearer token for /api/v1 and sets an HttpOnly, SameSite=Strict "
                            "session cookie for browsers.",
             .request_schema = schema_object({{"username", schema_string()},
                                              {"password", schema_string()},
                                              {"otp", schema_string("6-digit TOTP code")}},
                                             {"username", "password", "otp"}),
             .response_schema = schema_object({{"access_token", schema_string()},
                                               {"token_type", schema_string("Bearer")},
                                               {"expires_in", schema_integer("seconds")},
                                               {"roles", schema_array(schema_string())}}),
             .errors = {400, 401}},
            [&ctx, lifetime](const ApiRequest& r) -> Result<http::Response> {
                auto body = SELO_TRY(http::parse_json_object(r.http));
                auto username = SELO_TRY(string_member(body, "username"));
                auto password = SELO_TRY(string_member(body, "password"));
                auto otp = SELO_TRY(string_member(body, "otp"));
                auto& accounts = ctx.cloudsign.accounts();
                auto account = SELO_TRY(accounts.authenticate(username, password));
                if (auto v = accounts.verify_otp(account, otp); !v) {
                    return fail(ErrorCode::unauthorized, "{}", v.error().message);
                }
                auto grant = SELO_TRY(accounts.start_session(account, true, lifetime));
                json::object out{{"access_token", grant.access_token},
                                 {"token_type", "Bearer"},
                                 {"expires_in", grant.expires_in.count()},
                                 {"roles", role_names(account)}};
                auto res = http::json_response(http::Status::ok, out);
                res.set(http::Field::cache_control, "no-store");
                // RFC 6265bis: HttpOnly keeps it from scripts, SameSite=Strict from other sites.
                res.set(http::Field::set_cookie,
                        fmt::format("selo_session={}; Path=/api/; Max-Age={}; HttpOnly; SameSite=Strict{}",
                                    grant.access_token, grant.expires_in.count(),
                                    ctx.config.server.public_url.starts_with("https://") ? "; Secure" : ""));
                return res;
            });

    reg.add(router, http::Verb::post, "/api/v1/auth/logout", Access::any_account(),
            {.summary = "End the current session", .success_status = 204},
            [&ctx](const ApiRequest& r) -> Result<http::Response> {
                if (auto token = session_token(r.http); token && !token->empty()) {
                    SELO_TRY_VOID(ctx.cloudsign.accounts().end_session(*token));
                }
                auto res = http::make_response(http::Status::no_content, "", "");
                res.set(http::Field::set_cookie, "selo_session=; Path=/api/; Max-Age=0; HttpOnly; SameSite=Strict");
                return res;
            });

    reg.add(router, http::Verb::get, "/api/v1/me", Access::any_account(),
            {.summary = "The signed-in account and its roles",
             .response_schema = schema_object({{"account_id", schema_string()},
                                               {"username", schema_string()},
                                               {"name", schema_string()},
                                               {"latin_name", schema_string()},
                                               {"roles", schema_array(schema_string())}})},
            [](const ApiRequest& r) -> Result<http::Response> {
                return http::json_response(http::Status::ok, principal_json(r.principal->account));
            });

    reg.add(router, http::Verb::get, "/api/v1/openapi.json", Access::anyone(),
            {.summary = "This API's OpenAPI 3 document",
             .response_schema = json::object{{"type", "object"}}},
            [&ctx](const ApiRequest&) -> Result<http::Response> {
                std::string base = ctx.config.server.public_url;
                while (!base.empty() && base.back() == '/') {
                    base.pop_back();
                }
                return http::json_response(http::Status::ok, ctx.registry.openapi(base));
            });
}

}  // namespace selo::api
