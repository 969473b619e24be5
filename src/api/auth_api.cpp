// /api/v1/auth: signing in with password and OTP, the current principal, and the OpenAPI
// document of the whole /api/v1 surface.

#include <boost/json.hpp>

#include <cctype>
#include <map>

#include "api/api.hpp"
#include "api/json_fields.hpp"
#include "http/response.hpp"

namespace selo::api {
namespace json = boost::json;

namespace {

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
                        {"roles", role_names(a)},
                        {"password_change_required", a.must_change_password},
                        {"authenticator_paired", a.has_authenticator()}};
}

// RFC 6749 §5.2 error response.
http::Response oauth_error(http::Status status, std::string_view error, std::string_view description) {
    auto res = http::json_response(status, json::object{{"error", error}, {"error_description", description}});
    res.set(http::Field::cache_control, "no-store");
    if (status == http::Status::unauthorized) {
        res.set(http::Field::www_authenticate, "Basic realm=\"Selo\"");
    }
    return res;
}

// application/x-www-form-urlencoded body -> name/value pairs (RFC 6749 appendix B).
Result<std::map<std::string, std::string>> parse_form(std::string_view body) {
    std::map<std::string, std::string> out;
    auto decode = [](std::string_view s) -> Result<std::string> {
        std::string o;
        for (std::size_t i = 0; i < s.size(); ++i) {
            if (s[i] == '+') {
                o.push_back(' ');
            } else if (s[i] == '%') {
                if (i + 2 >= s.size() || !std::isxdigit(static_cast<unsigned char>(s[i + 1])) ||
                    !std::isxdigit(static_cast<unsigned char>(s[i + 2]))) {
                    return fail(ErrorCode::malformed, "bad percent-encoding in the form body");
                }
                o.push_back(static_cast<char>(std::stoi(std::string(s.substr(i + 1, 2)), nullptr, 16)));
                i += 2;
            } else {
                o.push_back(s[i]);
            }
        }
        return o;
    };
    for (std::size_t pos = 0; pos <= body.size();) {
        std::size_t amp = body.find('&', pos);
        std::string_view item = body.substr(pos, amp == std::string_view::npos ? body.npos : amp - pos);
        if (!item.empty()) {
            std::size_t eq = item.find('=');
            auto name = SELO_TRY(decode(item.substr(0, eq)));
            auto value = SELO_TRY(decode(eq == std::string_view::npos ? "" : item.substr(eq + 1)));
            if (!out.emplace(name, value).second) {
                return fail(ErrorCode::malformed, "parameter '{}' is repeated", name);
            }
        }
        if (amp == std::string_view::npos) {
            break;
        }
        pos = amp + 1;
    }
    return out;
}

http::Response client_credentials_grant(const ApiRequest& r, ApiContext& ctx, std::chrono::seconds lifetime) {
    std::map<std::string, std::string> params;
    std::string content_type;
    if (auto it = r.http.find(http::Field::content_type); it != r.http.end()) {
        content_type = std::string(it->value());
    }
    if (http::is_json_media_type(content_type)) {
        auto body = http::parse_json_object(r.http);
        if (!body) {
            return oauth_error(http::Status::bad_request, "invalid_request", body.error().message);
        }
        for (const auto& [k, v] : *body) {
            if (!v.is_string()) {
                return oauth_error(http::Status::bad_request, "invalid_request",
                                   fmt::format("'{}' must be a string", std::string(k)));
            }
            params[std::string(k)] = std::string(v.as_string());
        }
    } else if (content_type.starts_with("application/x-www-form-urlencoded")) {
        auto form = parse_form(r.http.body());
        if (!form) {
            return oauth_error(http::Status::bad_request, "invalid_request", form.error().message);
        }
        params = std::move(*form);
    } else {
        return oauth_error(http::Status::bad_request, "invalid_request",
                           "send application/x-www-form-urlencoded (RFC 6749 §4.4.2) or JSON");
    }
    if (params["grant_type"] != "client_credentials") {
        return oauth_error(http::Status::bad_request, params["grant_type"].empty() ? "invalid_request" : "unsupported_grant_type",
                           "grant_type must be client_credentials");
    }
    std::string id = params["client_id"], secret = params["client_secret"];
    if (auto it = r.http.find(http::Field::authorization); it != r.http.end()) {
        std::string_view v = it->value();
        if (!v.starts_with("Basic ")) {
            return oauth_error(http::Status::unauthorized, "invalid_client", "use HTTP Basic for client authentication");
        }
        auto decoded = base64_decode(v.substr(6));
        std::string pair = decoded ? std::string(decoded->begin(), decoded->end()) : std::string();
        auto colon = pair.find(':');
        if (!decoded || colon == std::string::npos || !id.empty()) {
            return oauth_error(http::Status::unauthorized, "invalid_client", "malformed client authentication");
        }
        id = pair.substr(0, colon);
        secret = pair.substr(colon + 1);
    }
    if (id.empty() || secret.empty()) {
        return oauth_error(http::Status::unauthorized, "invalid_client", "client_id and client_secret are required");
    }
    auto& accounts = ctx.cloudsign.accounts();
    auto account = accounts.authenticate_client(id, secret);
    if (!account) {
        if (account.error().code == ErrorCode::forbidden) {
            auto res = oauth_error(http::Status::too_many_requests, "invalid_client", account.error().message);
            if (auto wait = accounts.retry_after("client:" + id)) {
                res.set(http::Field::retry_after, std::to_string(wait->count()));
            }
            return res;
        }
        if (account.error().code == ErrorCode::unauthorized) {
            return oauth_error(http::Status::unauthorized, "invalid_client", account.error().message);
        }
        return http::problem_response(account.error());
    }
    // The client secret is the machine's whole credential: its session counts as fully signed in.
    auto grant = accounts.start_session(*account, true, lifetime, id);
    if (!grant) {
        return http::problem_response(grant.error());
    }
    auto res = http::json_response(http::Status::ok,
                                   json::object{{"access_token", grant->access_token},
                                                {"token_type", "Bearer"},
                                                {"expires_in", grant->expires_in.count()}});
    res.set(http::Field::cache_control, "no-store");
    return res;
}

}  // namespace

void add_auth_routes(http::Router& router, ApiContext& ctx) {
    ApiRegistry& reg = ctx.registry;
    const auto lifetime = std::chrono::seconds(ctx.config.cloudsign.access_token_lifetime_seconds);

    reg.add(router, http::Verb::post, "/api/v1/auth/login", Access::anyone(),
            {.summary = "Sign in with username, password and the authenticator app's code",
             .description = "Returns a bearer token for /api/v1 and sets an HttpOnly, SameSite=Strict "
                            "session cookie for browsers. An account enrolled at the counter has no "
                            "authenticator app until eSignCloud is activated: it signs in with the "
                            "password alone (omit otp). After 5 wrong passwords or codes in a row the "
                            "account is locked with exponential back-off: 429 with Retry-After. "
                            "password_change_required: the one-time initial password must be "
                            "changed (POST /api/v1/auth/password) before anything else.",
             .request_schema = schema_object({{"username", schema_string()},
                                              {"password", schema_string()},
                                              {"otp", schema_string("6-digit TOTP code")}},
                                             {"username", "password"}),
             .response_schema = schema_object({{"access_token", schema_string()},
                                               {"token_type", schema_string("Bearer")},
                                               {"expires_in", schema_integer("seconds")},
                                               {"roles", schema_array(schema_string())},
                                               {"password_change_required", schema_boolean()},
                                               {"authenticator_paired", schema_boolean()}}),
             .errors = {400, 401, 429}},
            [&ctx, lifetime](const ApiRequest& r) -> Result<http::Response> {
                auto body = SELO_TRY(http::parse_json_object(r.http));
                auto username = SELO_TRY(required_string(body, "username"));
                auto password = SELO_TRY(required_string(body, "password"));
                const json::value* otp_value = body.if_contains("otp");
                if (otp_value != nullptr && !otp_value->is_string()) {
                    return fail(ErrorCode::malformed, "'otp' must be a string");
                }
                auto& accounts = ctx.cloudsign.accounts();
                auto locked = [&]() -> std::optional<http::Response> {
                    auto wait = accounts.sign_in_retry_after(username);
                    if (!wait) {
                        return std::nullopt;
                    }
                    http::Problem p;
                    p.status = http::Status::too_many_requests;
                    p.title = "Sign-in locked";
                    p.detail = fmt::format(
                        "too many failed sign-in attempts in a row: try again in {} seconds",
                        wait->count());
                    auto res = http::problem_response(p);
                    res.set(http::Field::retry_after, std::to_string(wait->count()));
                    return res;
                };
                if (auto res = locked()) {
                    return std::move(*res);
                }
                auto account = accounts.authenticate(username, password);
                if (!account) {
                    if (auto res = locked()) {
                        return std::move(*res);
                    }
                    return std::unexpected(account.error());
                }
                if (account->has_authenticator()) {
                    if (otp_value == nullptr || otp_value->as_string().empty()) {
                        return fail(ErrorCode::malformed,
                                    "'otp' is required: the code your authenticator app shows");
                    }
                    if (auto v = accounts.verify_otp(*account, std::string(otp_value->as_string())); !v) {
                        if (auto res = locked()) {
                            return std::move(*res);
                        }
                        return fail(ErrorCode::unauthorized, "{}", v.error().message);
                    }
                }
                auto grant = SELO_TRY(accounts.start_session(*account, account->has_authenticator(), lifetime));
                json::object out{{"access_token", grant.access_token},
                                 {"token_type", "Bearer"},
                                 {"expires_in", grant.expires_in.count()},
                                 {"roles", role_names(*account)},
                                 {"password_change_required", account->must_change_password},
                                 {"authenticator_paired", account->has_authenticator()}};
                auto res = http::json_response(http::Status::ok, out);
                res.set(http::Field::cache_control, "no-store");
                // RFC 6265bis: HttpOnly keeps it from scripts, SameSite=Strict from other sites.
                res.set(http::Field::set_cookie,
                        fmt::format("selo_session={}; Path=/api/; Max-Age={}; HttpOnly; SameSite=Strict{}",
                                    grant.access_token, grant.expires_in.count(),
                                    ctx.config.server.public_url.starts_with("https://") ? "; Secure" : ""));
                return res;
            });

    reg.add(router, http::Verb::post, "/api/v1/auth/password", Access::any_account().allowing_initial_password(),
            {.summary = "Change the signed-in account's password",
             .description = "Needs the current password. The new one must have at least 12 "
                            "characters, must not be a common or breached password, and must not "
                            "contain the username or the identity document number. Replaces the "
                            "one-time initial password.",
             .request_schema = schema_object({{"current_password", schema_string()},
                                              {"new_password", schema_string()}},
                                             {"current_password", "new_password"}),
             .success_status = 204,
             .errors = {400, 401, 403, 422}},
            [&ctx](const ApiRequest& r) -> Result<http::Response> {
                auto body = SELO_TRY(http::parse_json_object(r.http));
                auto current = SELO_TRY(required_string(body, "current_password"));
                auto replacement = SELO_TRY(required_string(body, "new_password"));
                auto changed = ctx.cloudsign.accounts().change_password(r.principal->account, current,
                                                                        replacement);
                if (!changed) {
                    // A wrong current password is not a sign-in failure of this session: 403.
                    if (changed.error().code == ErrorCode::unauthorized) {
                        return fail(ErrorCode::forbidden, "{}", changed.error().message);
                    }
                    return std::unexpected(changed.error());
                }
                return http::make_response(http::Status::no_content, "", "");
            });

    reg.add(router, http::Verb::post, "/api/v1/auth/token", Access::anyone(),
            {.summary = "OAuth 2.0 client credentials grant for API clients (agencies, payments)",
             .description = "RFC 6749 §4.4: grant_type=client_credentials, with the client id and "
                            "secret in HTTP Basic (§2.3.1) or in the body (form-encoded or JSON). "
                            "Errors use RFC 6749 §5.2's {error, error_description}.",
             .request_schema = schema_object({{"grant_type", schema_string("client_credentials")},
                                              {"client_id", schema_string()},
                                              {"client_secret", schema_string()}},
                                             {"grant_type"}),
             .response_schema = schema_object({{"access_token", schema_string()},
                                               {"token_type", schema_string("Bearer")},
                                               {"expires_in", schema_integer("seconds")}}),
             .errors = {400, 401}},
            [&ctx, lifetime](const ApiRequest& r) -> Result<http::Response> {
                return client_credentials_grant(r, ctx, lifetime);
            });

    reg.add(router, http::Verb::post, "/api/v1/api-clients", Access::only({account::Role::administrator}),
            {.summary = "Issue an API client (id and secret) for an account",
             .description = "The secret is shown once; only its Argon2id verifier is kept. The "
                            "client acts as the account, with its roles. Only for service "
                            "accounts (agency, clerk for payment systems, ...): a citizen's or "
                            "an institution's account is refused (422), since a secret alone "
                            "would then open its mailbox and its eSignCloud activation.",
             .request_schema = schema_object({{"account_id", schema_string()}}, {"account_id"}),
             .response_schema = schema_object({{"client_id", schema_string()},
                                               {"client_secret", schema_string()},
                                               {"account_id", schema_string()}}),
             .success_status = 201,
             .errors = {400, 404, 422}},
            [&ctx](const ApiRequest& r) -> Result<http::Response> {
                auto body = SELO_TRY(http::parse_json_object(r.http));
                auto account_id = SELO_TRY(required_string(body, "account_id"));
                auto issued = SELO_TRY(ctx.cloudsign.accounts().issue_api_client(r.principal->account, account_id));
                auto res = http::json_response(http::Status::created,
                                               json::object{{"client_id", issued.client.client_id},
                                                            {"client_secret", issued.client_secret},
                                                            {"account_id", issued.client.account_id}});
                res.set(http::Field::cache_control, "no-store");
                return res;
            });

    reg.add(router, http::Verb::delete_, "/api/v1/api-clients/{client}", Access::only({account::Role::administrator}),
            {.summary = "Revoke an API client", .success_status = 204, .errors = {404}},
            [&ctx](const ApiRequest& r) -> Result<http::Response> {
                SELO_TRY_VOID(ctx.cloudsign.accounts().revoke_api_client(r.principal->account,
                                                                         r.params.get("client")));
                return http::make_response(http::Status::no_content, "", "");
            });

    reg.add(router, http::Verb::post, "/api/v1/auth/logout", Access::any_account().allowing_initial_password(),
            {.summary = "End the current session", .success_status = 204},
            [&ctx](const ApiRequest& r) -> Result<http::Response> {
                if (auto token = session_token(r.http); token && !token->empty()) {
                    SELO_TRY_VOID(ctx.cloudsign.accounts().end_session(*token));
                }
                auto res = http::make_response(http::Status::no_content, "", "");
                res.set(http::Field::set_cookie, "selo_session=; Path=/api/; Max-Age=0; HttpOnly; SameSite=Strict");
                return res;
            });

    reg.add(router, http::Verb::get, "/api/v1/me", Access::any_account().allowing_initial_password(),
            {.summary = "The signed-in account and its roles",
             .response_schema = schema_object({{"account_id", schema_string()},
                                               {"username", schema_string()},
                                               {"name", schema_string()},
                                               {"latin_name", schema_string()},
                                               {"roles", schema_array(schema_string())},
                                               {"password_change_required", schema_boolean()},
                                               {"authenticator_paired", schema_boolean()}})},
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
