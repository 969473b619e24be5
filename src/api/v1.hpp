#pragma once
// /api/v1: Selo's own JSON API. Every route declares who may call it (public, any signed-in
// account, or a list of roles) and documents itself; the registry enforces the roles (401 without
// a valid session, 403 for the wrong role), renders errors as RFC 9457 problem+json, and builds
// the OpenAPI 3 document served at GET /api/v1/openapi.json from the same declarations.

#include <boost/json/object.hpp>

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "account/account_service.hpp"
#include "http/router.hpp"

namespace selo::api {

class ClientCertificateAuthenticator;

// Who may call a route.
struct Access {
    enum class Kind { public_route, signed_in, roles };
    Kind kind = Kind::signed_in;
    std::vector<account::Role> roles;
    // Served while the account still has its one-time initial password (change it, me, logout);
    // every other route answers 403 with kPasswordChangeRequired until then.
    bool before_password_change = false;

    static Access anyone() { return {Kind::public_route, {}}; }
    static Access any_account() { return {Kind::signed_in, {}}; }
    static Access only(std::vector<account::Role> r) { return {Kind::roles, std::move(r)}; }
    [[nodiscard]] Access allowing_initial_password() && {
        before_password_change = true;
        return std::move(*this);
    }
};

// The problem type (RFC 9457 §3.1.1) of a 403 for an account that must change its password.
inline constexpr std::string_view kPasswordChangeRequired = "urn:selo:problem:password-change-required";

struct ApiRequest {
    const http::Request& http;
    const http::RequestContext& context;
    const http::PathParams& params;
    // Present for every route but public ones.
    const account::Principal* principal = nullptr;
};

using ApiHandler = std::function<Result<http::Response>(const ApiRequest&)>;

// What the OpenAPI document says about an operation.
struct ApiDoc {
    std::string summary;
    std::string description;
    boost::json::object request_schema;   // empty: no JSON body
    boost::json::object response_schema;  // the 2xx body; empty: none
    int success_status = 200;
    std::string response_media_type = "application/json";
    std::vector<int> errors;  // documented error statuses besides 401/403 for protected routes
    std::vector<std::pair<std::string, std::string>> query;  // name, description
    std::vector<std::string> required_query;                 // those of `query` the route requires
};

class ApiRegistry {
public:
    explicit ApiRegistry(account::AccountService& accounts) : accounts_(accounts) {}

    // Registers the route on `router` with role enforcement and records it for OpenAPI.
    void add(http::Router& router, http::Verb method, std::string path, Access access, ApiDoc doc,
             ApiHandler handler, http::Execution execution = http::Execution::worker);

    // The OpenAPI 3.0 document of every registered route.
    [[nodiscard]] boost::json::object openapi(std::string_view server_url) const;

    struct Operation {
        http::Verb method;
        std::string path;
        Access access;
        ApiDoc doc;
    };
    [[nodiscard]] const std::vector<Operation>& operations() const noexcept { return operations_; }

    // Mutual TLS: a request with no session token (no Authorization header, no session cookie)
    // but a TLS client certificate is authenticated by `authenticator` (agencies; see
    // client_certificate_auth.hpp). Null: client certificates are ignored.
    void accept_client_certificates(ClientCertificateAuthenticator* authenticator) noexcept {
        certificates_ = authenticator;
    }

private:
    std::expected<account::Principal, http::Response> authenticate(const http::Request& req,
                                                                   const http::RequestContext& ctx);

    account::AccountService& accounts_;
    ClientCertificateAuthenticator* certificates_ = nullptr;
    std::vector<Operation> operations_;
};

// The session token of a request: "Authorization: Bearer", else the selo_session cookie. An
// empty string: an Authorization header that is not a bearer token.
[[nodiscard]] std::optional<std::string> session_token(const http::Request& request);

// The principal of a request with a bearer token (or session cookie); the problem response to
// send otherwise. Requires a session opened with the second factor.
[[nodiscard]] std::expected<account::Principal, http::Response> authenticate_request(
    const http::Request& request, account::AccountService& accounts);

// Shorthands for JSON schema fragments in ApiDoc.
boost::json::object schema_object(std::initializer_list<std::pair<std::string, boost::json::object>> properties,
                                  std::vector<std::string> required = {});
boost::json::object schema_string(std::string description = {});
boost::json::object schema_integer(std::string description = {});
boost::json::object schema_boolean(std::string description = {});
boost::json::object schema_array(boost::json::object items);

}  // namespace selo::api
