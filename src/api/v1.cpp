#include "api/v1.hpp"

#include <boost/json.hpp>

#include <algorithm>

#include "api/client_certificate_auth.hpp"
#include "core/log.hpp"
#include "http/response.hpp"

namespace selo::api {
namespace json = boost::json;

namespace {

std::string_view method_name(http::Verb v) {
    switch (v) {
        case http::Verb::get: return "get";
        case http::Verb::post: return "post";
        case http::Verb::put: return "put";
        case http::Verb::delete_: return "delete";
        case http::Verb::patch: return "patch";
        default: return "get";
    }
}

http::Response problem(http::Status status, std::string detail) {
    http::Problem p;
    p.status = status;
    p.detail = std::move(detail);
    auto res = http::problem_response(p);
    if (status == http::Status::unauthorized) {
        res.set(http::Field::www_authenticate, "Bearer realm=\"Selo\"");
    }
    return res;
}

std::string roles_text(const std::vector<account::Role>& roles) {
    std::string out;
    for (auto r : roles) {
        out += (out.empty() ? "" : ", ") + std::string(account::role_name(r));
    }
    return out;
}

}  // namespace

// Bearer token from the Authorization header, else the "selo_session" cookie (browsers).
std::optional<std::string> session_token(const http::Request& req) {
    if (req.find(http::Field::authorization) != req.end()) {
        auto token = http::bearer_token(req);
        return token ? std::string(*token) : std::string();  // empty: not a bearer token
    }
    if (auto it = req.find(http::Field::cookie); it != req.end()) {
        std::string_view v = it->value();
        constexpr std::string_view kName = "selo_session=";
        for (std::size_t pos = 0; pos < v.size();) {
            while (pos < v.size() && (v[pos] == ' ' || v[pos] == ';')) {
                ++pos;
            }
            std::size_t end = v.find(';', pos);
            std::string_view item = v.substr(pos, end == std::string_view::npos ? v.npos : end - pos);
            if (item.starts_with(kName)) {
                return std::string(item.substr(kName.size()));
            }
            if (end == std::string_view::npos) {
                break;
            }
            pos = end + 1;
        }
    }
    return std::nullopt;
}

std::expected<account::Principal, http::Response> authenticate_request(
    const http::Request& request, account::AccountService& accounts) {
    auto token = session_token(request);
    if (!token) {
        return std::unexpected(problem(http::Status::unauthorized,
                                       "sign in first (POST /api/v1/auth/login) and send "
                                       "Authorization: Bearer <access_token>"));
    }
    if (token->empty()) {
        return std::unexpected(problem(http::Status::unauthorized,
                                       "the Authorization header must be 'Bearer <access_token>'"));
    }
    auto principal = accounts.resolve_session(*token);
    if (!principal) {
        if (principal.error().code == ErrorCode::unauthorized ||
            principal.error().code == ErrorCode::expired) {
            return std::unexpected(problem(http::Status::unauthorized, principal.error().message));
        }
        return std::unexpected(http::problem_response(principal.error()));
    }
    // A session opened with the password alone is enough only for an account with no
    // authenticator paired yet (a citizen enrolled at the counter, before activation).
    if (!principal->second_factor && principal->account.has_authenticator()) {
        return std::unexpected(problem(
            http::Status::unauthorized,
            "this session was opened with a password alone; /api/v1 needs password and OTP"));
    }
    return std::move(*principal);
}

std::expected<account::Principal, http::Response> ApiRegistry::authenticate(
    const http::Request& req, const http::RequestContext& ctx) {
    if (certificates_ == nullptr || ctx.client_certificate.empty() || session_token(req)) {
        return authenticate_request(req, accounts_);  // a token, when sent, decides
    }
    auto principal = certificates_->authenticate(ctx.client_certificate, ctx);
    if (!principal) {
        if (principal.error().code == ErrorCode::unauthorized) {
            return std::unexpected(problem(http::Status::unauthorized, principal.error().message));
        }
        log::error("request {}: client certificate: {}", ctx.request_id, principal.error().message);
        return std::unexpected(http::problem_response(principal.error()));
    }
    return std::move(*principal);
}

void ApiRegistry::add(http::Router& router, http::Verb method, std::string path, Access access,
                      ApiDoc doc, ApiHandler handler, http::Execution execution) {
    operations_.push_back({method, path, access, doc});
    router.add(
        method, path,
        [this, access, handler = std::move(handler)](const http::Request& req,
                                                    const http::RequestContext& ctx,
                                                    const http::PathParams& params) {
            std::optional<account::Principal> principal;
            if (access.kind != Access::Kind::public_route) {
                auto p = authenticate(req, ctx);
                if (!p) {
                    return std::move(p.error());
                }
                principal = std::move(*p);
                if (principal->account.must_change_password && !access.before_password_change) {
                    http::Problem pr;
                    pr.status = http::Status::forbidden;
                    pr.type = std::string(kPasswordChangeRequired);
                    pr.title = "Password change required";
                    pr.detail = "the initial password is one-time: change it first with POST "
                                "/api/v1/auth/password";
                    return http::problem_response(pr);
                }
                if (access.kind == Access::Kind::roles &&
                    std::none_of(access.roles.begin(), access.roles.end(),
                                 [&](account::Role r) { return principal->account.has_role(r); })) {
                    return problem(http::Status::forbidden,
                                   fmt::format("this needs one of the roles: {}", roles_text(access.roles)));
                }
            }
            ApiRequest api{req, ctx, params, principal ? &*principal : nullptr};
            auto res = handler(api);
            if (!res) {
                if (res.error().code == ErrorCode::internal) {
                    log::error("request {} {}: {}", ctx.request_id, req.target(), res.error().message);
                }
                return http::problem_response(res.error());
            }
            return std::move(*res);
        },
        {.execution = execution, .summary = doc.summary});
}

json::object ApiRegistry::openapi(std::string_view server_url) const {
    json::object paths;
    for (const auto& op : operations_) {
        json::object o;
        o["summary"] = op.doc.summary;
        if (!op.doc.description.empty()) {
            o["description"] = op.doc.description;
        }
        json::array tags;
        std::string_view p = op.path;
        p.remove_prefix(std::min<std::size_t>(p.size(), std::string_view("/api/v1/").size()));
        tags.emplace_back(std::string(p.substr(0, p.find('/'))));
        o["tags"] = std::move(tags);
        json::array parameters;
        // Path parameters, from the {name} segments.
        for (std::size_t i = op.path.find('{'); i != std::string::npos; i = op.path.find('{', i + 1)) {
            std::size_t end = op.path.find('}', i);
            std::string name = op.path.substr(i + 1, end - i - 1);
            if (!name.empty() && name.back() == '*') {
                name.pop_back();
            }
            parameters.push_back(json::object{{"name", name}, {"in", "path"}, {"required", true},
                                              {"schema", json::object{{"type", "string"}}}});
        }
        for (const auto& [name, description] : op.doc.query) {
            const bool required = std::find(op.doc.required_query.begin(), op.doc.required_query.end(), name) !=
                                  op.doc.required_query.end();
            parameters.push_back(json::object{{"name", name}, {"in", "query"}, {"required", required},
                                              {"description", description},
                                              {"schema", json::object{{"type", "string"}}}});
        }
        if (!parameters.empty()) {
            o["parameters"] = std::move(parameters);
        }
        if (!op.doc.request_schema.empty()) {
            o["requestBody"] = json::object{
                {"required", true},
                {"content", json::object{{"application/json", json::object{{"schema", op.doc.request_schema}}}}}};
        }
        json::object responses;
        json::object ok{{"description", "success"}};
        if (!op.doc.response_schema.empty()) {
            ok["content"] = json::object{{op.doc.response_media_type,
                                          json::object{{"schema", op.doc.response_schema}}}};
        }
        responses[std::to_string(op.doc.success_status)] = std::move(ok);
        std::vector<int> errors = op.doc.errors;
        if (op.access.kind != Access::Kind::public_route) {
            errors.push_back(401);
        }
        if (op.access.kind == Access::Kind::roles) {
            errors.push_back(403);
        }
        std::sort(errors.begin(), errors.end());
        errors.erase(std::unique(errors.begin(), errors.end()), errors.end());
        for (int e : errors) {
            json::object schema{{"$ref", "#/components/schemas/Problem"}};
            json::object media;
            media["schema"] = std::move(schema);
            json::object content;
            content["application/problem+json"] = std::move(media);
            json::object response;
            response["description"] =
                std::string(boost::beast::http::obsolete_reason(static_cast<http::Status>(e)));
            response["content"] = std::move(content);
            responses[std::to_string(e)] = std::move(response);
        }
        o["responses"] = std::move(responses);
        if (op.access.kind == Access::Kind::public_route) {
            o["security"] = json::array{};
            o["x-roles"] = json::array{"public"};
        } else {
            o["security"] = json::array{json::object{{"bearer", json::array{}}}};
            json::array roles;
            if (op.access.kind == Access::Kind::signed_in) {
                roles.emplace_back("any");
            }
            for (auto r : op.access.roles) {
                roles.emplace_back(std::string(account::role_name(r)));
            }
            o["x-roles"] = std::move(roles);
            if (op.access.before_password_change) {
                o["x-before-password-change"] = true;
            }
        }
        json::object* item = nullptr;
        if (auto* existing = paths.if_contains(op.path)) {
            item = &existing->as_object();
        } else {
            item = &paths.emplace(op.path, json::object{}).first->value().as_object();
        }
        (*item)[method_name(op.method)] = std::move(o);
    }
    json::object problem_schema = schema_object({{"type", schema_string("URI of the problem type")},
                                                 {"title", schema_string()},
                                                 {"status", schema_integer()},
                                                 {"detail", schema_string()},
                                                 {"instance", schema_string()}});
    return json::object{
        {"openapi", "3.0.3"},
        {"info", json::object{{"title", "Selo API"},
                              {"version", "1"},
                              {"description", "Selo's own JSON API. Standard protocols (CSC, OCSP, "
                                              "TSA, CRLs) are served at their own paths."}}},
        {"servers", json::array{json::object{{"url", std::string(server_url) + "/api/v1"}}}},
        {"paths", std::move(paths)},
        {"components",
         json::object{{"securitySchemes",
                       json::object{{"bearer",
                                     json::object{
                                         {"type", "http"},
                                         {"scheme", "bearer"},
                                         {"description",
                                          "A session token from POST /auth/login or /auth/token. "
                                          "Agencies may instead present, over mutual TLS, a client "
                                          "certificate from Selo's institutions CA that an "
                                          "administrator bound to their account (`selo account "
                                          "bind-certificate`): a request without a token is then "
                                          "that account's. (OpenAPI 3.1 would name this a "
                                          "mutualTLS security scheme; this document is 3.0.)"}}}}},
                      {"schemas", json::object{{"Problem", std::move(problem_schema)}}}}}};
}

json::object schema_object(std::initializer_list<std::pair<std::string, json::object>> properties,
                           std::vector<std::string> required) {
    json::object props;
    for (const auto& [name, schema] : properties) {
        props[name] = schema;
    }
    json::object out{{"type", "object"}, {"properties", std::move(props)}};
    if (!required.empty()) {
        json::array req;
        for (auto& r : required) {
            req.emplace_back(r);
        }
        out["required"] = std::move(req);
    }
    return out;
}

json::object schema_string(std::string description) {
    json::object o{{"type", "string"}};
    if (!description.empty()) {
        o["description"] = description;
    }
    return o;
}

json::object schema_integer(std::string description) {
    json::object o{{"type", "integer"}};
    if (!description.empty()) {
        o["description"] = description;
    }
    return o;
}

json::object schema_boolean(std::string description) {
    json::object o{{"type", "boolean"}};
    if (!description.empty()) {
        o["description"] = description;
    }
    return o;
}

json::object schema_array(json::object items) { return json::object{{"type", "array"}, {"items", std::move(items)}}; }

}  // namespace selo::api
