// Cloud Signature Consortium API v2 (remote signing). Field names, error shape
// ({"error", "error_description"}) and error texts follow the specification; see
// docs/csc-api.md for what Selo supports and how its choices read against the spec.

#include <boost/json.hpp>

#include <algorithm>
#include <cctype>

#include "api/api.hpp"
#include "core/log.hpp"
#include "crypto/digest.hpp"
#include "http/response.hpp"

namespace selo::api {
namespace {

namespace json = boost::json;
using http::Request;
using http::Response;
using http::Status;

constexpr std::string_view kSpecVersion = "2.0.0.2";

// ---- error shape -----------------------------------------------------------------------------

// Tokens and SADs must not be kept by caches (RFC 6749 §5.1): no CSC answer is cacheable.
Response csc_json(Status status, const json::value& body) {
    auto res = http::json_response(status, body);
    res.set(http::Field::cache_control, "no-store");
    return res;
}

Response csc_error(Status status, std::string_view error, std::string_view description,
                   std::string_view scheme = "Bearer") {
    json::object body;
    body["error"] = error;
    body["error_description"] = description;
    auto res = csc_json(status, body);
    if (status == Status::unauthorized) {
        res.set(http::Field::www_authenticate,
                fmt::format("{} realm=\"Selo eSignCloud\"{}", scheme,
                            scheme == "Bearer" ? fmt::format(", error=\"{}\"", error) : ""));
    }
    return res;
}

Response invalid_request(std::string_view description) {
    return csc_error(Status::bad_request, "invalid_request", description);
}

// Maps a domain error to the CSC shape. Messages of internal errors never leave the server.
Response from_error(const Error& e, std::string_view operation) {
    switch (e.code) {
        case ErrorCode::malformed:
        case ErrorCode::invalid_argument:
        case ErrorCode::not_found:
        case ErrorCode::forbidden:
        case ErrorCode::expired:
        case ErrorCode::conflict:
            return invalid_request(e.message);
        case ErrorCode::unsupported: return invalid_request(e.message);
        case ErrorCode::too_large: return csc_error(Status::payload_too_large, "invalid_request", e.message);
        case ErrorCode::unauthorized: return csc_error(Status::bad_request, "access_denied", e.message);
        case ErrorCode::unavailable:
            log::warn("csc {}: {}", operation, e.message);
            return csc_error(Status::service_unavailable, "temporarily_unavailable",
                             "The service is temporarily unavailable, try again");
        case ErrorCode::internal: break;
    }
    log::error("csc {}: {}", operation, e.message);
    return csc_error(Status::internal_server_error, "server_error",
                     "The server encountered an unexpected condition");
}

// ---- request decoding ------------------------------------------------------------------------

Result<json::object> body_of(const Request& req) {
    // CSC calls with no parameters (info) may be sent with an empty body.
    if (req.body().empty()) {
        return json::object{};
    }
    auto obj = http::parse_json_object(req);
    if (!obj) {
        return fail(ErrorCode::malformed, "Malformed JSON request body: {}", obj.error().message);
    }
    return obj;
}

Result<std::string> required_string(const json::object& o, std::string_view name) {
    const json::value* v = o.if_contains(name);
    if (v == nullptr || !v->is_string() || v->as_string().empty()) {
        return fail(ErrorCode::malformed, "Missing (or invalid type) string parameter {}", name);
    }
    return std::string(v->as_string());
}

Result<std::optional<std::string>> optional_string(const json::object& o, std::string_view name) {
    const json::value* v = o.if_contains(name);
    if (v == nullptr || v->is_null()) {
        return std::optional<std::string>{};
    }
    if (!v->is_string()) {
        return fail(ErrorCode::malformed, "Invalid type for string parameter {}", name);
    }
    return std::optional<std::string>(std::string(v->as_string()));
}

Result<bool> optional_bool(const json::object& o, std::string_view name, bool fallback) {
    const json::value* v = o.if_contains(name);
    if (v == nullptr || v->is_null()) {
        return fallback;
    }
    if (!v->is_bool()) {
        return fail(ErrorCode::malformed, "Invalid type for boolean parameter {}", name);
    }
    return v->as_bool();
}

Result<std::int64_t> required_integer(const json::object& o, std::string_view name) {
    const json::value* v = o.if_contains(name);
    if (v != nullptr) {
        if (v->is_int64()) {
            return v->as_int64();
        }
        if (v->is_uint64() && v->as_uint64() <= 1'000'000) {
            return static_cast<std::int64_t>(v->as_uint64());
        }
        if (v->is_double() && v->as_double() == static_cast<double>(static_cast<std::int64_t>(v->as_double()))) {
            return static_cast<std::int64_t>(v->as_double());
        }
    }
    return fail(ErrorCode::malformed, "Missing (or invalid type) integer parameter {}", name);
}

Result<std::vector<Bytes>> required_hashes(const json::object& o, std::string_view name) {
    const json::value* v = o.if_contains(name);
    if (v == nullptr || !v->is_array()) {
        return fail(ErrorCode::malformed, "Missing (or invalid type) array parameter {}", name);
    }
    std::vector<Bytes> out;
    for (const auto& h : v->as_array()) {
        if (!h.is_string()) {
            return fail(ErrorCode::malformed, "Invalid Base64 hash string parameter");
        }
        auto d = base64_decode(h.as_string());
        if (!d) {
            return fail(ErrorCode::malformed, "Invalid Base64 hash string parameter");
        }
        out.push_back(std::move(*d));
    }
    if (out.empty()) {
        return fail(ErrorCode::invalid_argument, "Empty hash array");
    }
    return out;
}

Result<crypto::DigestAlgorithm> hash_algorithm(std::string_view oid) {
    auto alg = crypto::digest_from_oid(oid);
    // SHA-1 is refused for signatures with legal effect (ETSI TS 119 312).
    if (!alg || *alg == crypto::DigestAlgorithm::sha1) {
        return fail(ErrorCode::invalid_argument, "Invalid parameter hashAlgorithmOID");
    }
    return *alg;
}

// The digest a signAlgo implies (ecdsa-with-SHA*, sha*WithRSAEncryption), if any.
std::optional<crypto::DigestAlgorithm> implied_digest(std::string_view sign_algo) {
    using crypto::DigestAlgorithm;
    if (sign_algo == "1.2.840.10045.4.3.2" || sign_algo == "1.2.840.113549.1.1.11") {
        return DigestAlgorithm::sha256;
    }
    if (sign_algo == "1.2.840.10045.4.3.3" || sign_algo == "1.2.840.113549.1.1.12") {
        return DigestAlgorithm::sha384;
    }
    if (sign_algo == "1.2.840.10045.4.3.4" || sign_algo == "1.2.840.113549.1.1.13") {
        return DigestAlgorithm::sha512;
    }
    return std::nullopt;
}

// Signature algorithms a key supports, as CSC key/algo lists them.
std::vector<std::string> algorithms_for(const crypto::KeyDescription& key) {
    if (key.is_ec) {
        return {"1.2.840.10045.4.3.2", "1.2.840.10045.4.3.3", "1.2.840.10045.4.3.4",
                "1.2.840.10045.2.1"};
    }
    return {"1.2.840.113549.1.1.11", "1.2.840.113549.1.1.12", "1.2.840.113549.1.1.13",
            "1.2.840.113549.1.1.1"};
}

// Checks signAlgo against the key and resolves the digest (from signAlgo or hashAlgorithmOID).
Result<crypto::DigestAlgorithm> resolve_sign_algorithm(const json::object& o,
                                                       const crypto::KeyDescription& key,
                                                       const std::optional<std::string>& hash_oid) {
    auto sign_algo = SELO_TRY(required_string(o, "signAlgo"));
    auto algos = algorithms_for(key);
    if (std::find(algos.begin(), algos.end(), sign_algo) == algos.end()) {
        return fail(ErrorCode::invalid_argument, "Invalid parameter signAlgo");
    }
    auto implied = implied_digest(sign_algo);
    if (hash_oid) {
        auto alg = SELO_TRY(hash_algorithm(*hash_oid));
        if (implied && *implied != alg) {
            return fail(ErrorCode::invalid_argument,
                        "String parameter hashAlgorithmOID contradicts with signAlgo parameter");
        }
        return alg;
    }
    if (!implied) {
        return fail(ErrorCode::malformed, "Missing (or invalid type) string parameter hashAlgorithmOID");
    }
    return *implied;
}

// ---- rendering -------------------------------------------------------------------------------

std::string generalized_time(TimePoint t) {
    std::time_t tt = std::chrono::system_clock::to_time_t(t);
    std::tm tm{};
    ::gmtime_r(&tt, &tm);
    char buf[32];
    std::strftime(buf, sizeof buf, "%Y%m%d%H%M%SZ", &tm);
    return buf;
}

std::string upper(std::string s) {
    std::transform(s.begin(), s.end(), s.begin(),
                   [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
    return s;
}

struct InfoOptions {
    std::string certificates = "single";
    bool cert_info = false;
    bool auth_info = false;
};

Result<InfoOptions> info_options(const json::object& o) {
    InfoOptions opt;
    if (auto c = SELO_TRY(optional_string(o, "certificates"))) {
        if (*c != "none" && *c != "single" && *c != "chain") {
            return fail(ErrorCode::invalid_argument, "Invalid parameter certificates");
        }
        opt.certificates = *c;
    }
    opt.cert_info = SELO_TRY(optional_bool(o, "certInfo", false));
    opt.auth_info = SELO_TRY(optional_bool(o, "authInfo", false));
    return opt;
}

json::object credential_info(const cloudsign::CredentialView& v, const InfoOptions& opt,
                             unsigned multisign) {
    json::object out;
    out["description"] = "eSignCloud signing credential (PAdES signatures with legal effect)";
    json::object key;
    key["status"] = v.credential.status == cloudsign::CredentialStatus::enabled ? "enabled" : "disabled";
    json::array algo;
    for (const auto& a : algorithms_for(v.key)) {
        algo.emplace_back(a);
    }
    key["algo"] = std::move(algo);
    key["len"] = v.key.bits;
    if (v.key.is_ec) {
        key["curve"] = v.key.curve_oid;
    }
    out["key"] = std::move(key);
    json::object cert;
    cert["status"] = v.certificate_status;
    if (opt.certificates != "none") {
        json::array certs;
        certs.emplace_back(base64_encode(v.certificate.der()));
        if (opt.certificates == "chain") {
            for (const auto& c : v.chain) {
                certs.emplace_back(base64_encode(c.der()));
            }
        }
        cert["certificates"] = std::move(certs);
    }
    if (opt.cert_info) {
        cert["issuerDN"] = v.certificate.issuer();
        cert["subjectDN"] = v.certificate.subject();
        cert["serialNumber"] = upper(v.certificate.serial_hex());
        cert["validFrom"] = generalized_time(v.certificate.not_before());
        cert["validTo"] = generalized_time(v.certificate.not_after());
    }
    out["cert"] = std::move(cert);
    json::object auth;
    auth["mode"] = "explicit";
    if (opt.auth_info) {
        auth["expression"] = "PIN AND OTP";
        json::array objects;
        objects.push_back(json::object{{"type", "Password"},
                                       {"id", "PIN"},
                                       {"format", "N"},
                                       {"label", "PIN"},
                                       {"description", "The signing PIN chosen at activation"}});
        objects.push_back(json::object{{"type", "Password"},
                                       {"id", "OTP"},
                                       {"format", "N"},
                                       {"generator", "totp"},
                                       {"label", "OTP"},
                                       {"description", "The 6-digit code shown by the authenticator app"}});
        auth["objects"] = std::move(objects);
    }
    out["auth"] = std::move(auth);
    out["SCAL"] = "2";
    out["multisign"] = multisign;
    out["lang"] = "en-US";
    return out;
}

// ---- authentication --------------------------------------------------------------------------

// The account behind "Authorization: Bearer <token>", or the CSC error to send.
std::expected<std::string, Response> bearer_account(const Request& req, ApiContext& ctx) {
    auto it = req.find(http::Field::authorization);
    if (it == req.end()) {
        return std::unexpected(csc_error(Status::unauthorized, "invalid_token",
                                         "Missing access token: call auth/login first and send "
                                         "Authorization: Bearer <access_token>"));
    }
    auto token = http::bearer_token(req);
    if (!token) {
        return std::unexpected(invalid_request("Malformed authorization header"));
    }
    auto account = ctx.cloudsign.authenticate(*token);
    if (!account) {
        if (account.error().code == ErrorCode::expired) {
            return std::unexpected(csc_error(Status::unauthorized, "expired_token", account.error().message));
        }
        if (account.error().code == ErrorCode::unauthorized) {
            return std::unexpected(csc_error(Status::unauthorized, "invalid_token", account.error().message));
        }
        return std::unexpected(from_error(account.error(), "authentication"));
    }
    return *account;
}

// ---- methods ---------------------------------------------------------------------------------

Response info(const Request& req, ApiContext& ctx) {
    auto body = body_of(req);
    if (!body) {
        return from_error(body.error(), "info");
    }
    std::string base = ctx.config.server.public_url;
    while (!base.empty() && base.back() == '/') {
        base.pop_back();
    }
    json::object out;
    out["specs"] = kSpecVersion;
    out["name"] = "Selo eSignCloud";
    out["logo"] = base + "/logo.png";
    out["region"] = ctx.config.pki.country;
    out["lang"] = "en-US";
    out["description"] = "Remote signing with legal effect: password, signing PIN and authenticator app";
    out["authType"] = json::array{"basic"};
    out["methods"] = json::array{"auth/login", "credentials/list", "credentials/info",
                                 "credentials/authorize", "signatures/signHash",
                                 "signatures/signDoc", "signatures/timestamp"};
    out["signAlgorithms"] = json::object{
        {"algos", json::array{"1.2.840.10045.4.3.2", "1.2.840.10045.4.3.3", "1.2.840.10045.4.3.4",
                              "1.2.840.10045.2.1"}}};
    out["signature_formats"] =
        json::object{{"formats", json::array{"P"}},
                     {"envelope_properties", json::array{json::array{"Revision"}}}};
    out["conformance_levels"] = json::array{"Ades-B-B"};
    return csc_json(Status::ok, out);
}

Response login(const Request& req, ApiContext& ctx) {
    auto body = body_of(req);
    if (!body) {
        return from_error(body.error(), "auth/login");
    }
    if (body->contains("refresh_token")) {
        return invalid_request("Invalid refresh_token: Selo does not issue refresh tokens");
    }
    auto it = req.find(http::Field::authorization);
    if (it == req.end()) {
        return csc_error(Status::unauthorized, "invalid_request",
                         "Missing authentication parameter: send Authorization: Basic", "Basic");
    }
    std::string_view v = it->value();
    constexpr std::string_view kBasic = "Basic ";
    if (v.size() <= kBasic.size() ||
        !std::equal(kBasic.begin(), kBasic.end(), v.begin(),
                    [](char a, char b) { return std::tolower(a) == std::tolower(b); })) {
        return csc_error(Status::unauthorized, "invalid_request", "Malformed authorization header",
                         "Basic");
    }
    auto decoded = base64_decode(v.substr(kBasic.size()));
    std::string_view pair = decoded ? as_chars(*decoded) : std::string_view{};
    auto colon = pair.find(':');
    if (!decoded || colon == std::string_view::npos || colon == 0) {
        return invalid_request("Malformed username-password");
    }
    auto grant = ctx.cloudsign.login(pair.substr(0, colon), pair.substr(colon + 1));
    if (!grant) {
        if (grant.error().code == ErrorCode::unauthorized) {
            return csc_error(Status::bad_request, "authentication_error",
                             "An error occurred during authentication process: " +
                                 grant.error().message);
        }
        return from_error(grant.error(), "auth/login");
    }
    json::object out;
    out["access_token"] = grant->access_token;
    out["token_type"] = "Bearer";
    out["expires_in"] = grant->expires_in.count();
    return csc_json(Status::ok, out);
}

Response credentials_list(const Request& req, ApiContext& ctx) {
    auto account = bearer_account(req, ctx);
    if (!account) {
        return account.error();
    }
    auto body = body_of(req);
    if (!body) {
        return from_error(body.error(), "credentials/list");
    }
    if (auto user = optional_string(*body, "userID"); !user || user->has_value()) {
        return invalid_request("userID parameter MUST be null");
    }
    auto with_info = optional_bool(*body, "credentialInfo", false);
    auto opts = info_options(*body);
    auto only_valid = optional_bool(*body, "onlyValid", false);
    if (!with_info || !opts || !only_valid) {
        return from_error(!with_info ? with_info.error() : !opts ? opts.error() : only_valid.error(),
                          "credentials/list");
    }
    auto creds = ctx.cloudsign.list(*account);
    if (!creds) {
        return from_error(creds.error(), "credentials/list");
    }
    json::array ids;
    json::array infos;
    for (const auto& v : *creds) {
        if (*only_valid && (v.certificate_status != "valid" ||
                            v.credential.status != cloudsign::CredentialStatus::enabled)) {
            continue;
        }
        ids.emplace_back(v.credential.id);
        if (*with_info) {
            auto o = credential_info(v, *opts, ctx.cloudsign.options().max_signatures_per_sad);
            o["credentialID"] = v.credential.id;
            infos.push_back(std::move(o));
        }
    }
    json::object out;
    out["credentialIDs"] = std::move(ids);
    if (*with_info) {
        out["credentialInfos"] = std::move(infos);
    }
    if (*only_valid) {
        out["onlyValid"] = true;
    }
    return csc_json(Status::ok, out);
}

Response credentials_info(const Request& req, ApiContext& ctx) {
    auto account = bearer_account(req, ctx);
    if (!account) {
        return account.error();
    }
    auto body = body_of(req);
    if (!body) {
        return from_error(body.error(), "credentials/info");
    }
    auto id = required_string(*body, "credentialID");
    if (!id) {
        return from_error(id.error(), "credentials/info");
    }
    auto opts = info_options(*body);
    if (!opts) {
        return from_error(opts.error(), "credentials/info");
    }
    auto v = ctx.cloudsign.info(*account, *id);
    if (!v) {
        return from_error(v.error(), "credentials/info");
    }
    return csc_json(
        Status::ok, credential_info(*v, *opts, ctx.cloudsign.options().max_signatures_per_sad));
}

Response credentials_authorize(const Request& req, ApiContext& ctx) {
    auto account = bearer_account(req, ctx);
    if (!account) {
        return account.error();
    }
    auto run = [&]() -> Result<cloudsign::Activation> {
        auto body = SELO_TRY(body_of(req));
        cloudsign::AuthorizeRequest r;
        r.account_id = *account;
        r.credential_id = SELO_TRY(required_string(body, "credentialID"));
        auto n = SELO_TRY(required_integer(body, "numSignatures"));
        if (n < 1) {
            return fail(ErrorCode::invalid_argument, "Invalid value for parameter numSignatures");
        }
        if (n > static_cast<std::int64_t>(ctx.cloudsign.options().max_signatures_per_sad)) {
            return fail(ErrorCode::invalid_argument, "Numbers of signatures is too high (at most {})",
                        ctx.cloudsign.options().max_signatures_per_sad);
        }
        r.num_signatures = static_cast<unsigned>(n);
        r.hashes = SELO_TRY(required_hashes(body, "hashes"));
        auto oid = SELO_TRY(required_string(body, "hashAlgorithmOID"));
        r.hash_algorithm = SELO_TRY(hash_algorithm(oid));
        const json::value* auth = body.if_contains("authData");
        if (auth == nullptr || !auth->is_array()) {
            return fail(ErrorCode::malformed, "Missing (or invalid type) array parameter authData");
        }
        bool have_pin = false, have_otp = false;
        for (const auto& item : auth->as_array()) {
            if (!item.is_object()) {
                return fail(ErrorCode::malformed, "Invalid parameter authData: objects with id and value");
            }
            auto aid = SELO_TRY(required_string(item.as_object(), "id"));
            auto value = SELO_TRY(required_string(item.as_object(), "value"));
            if (aid == "PIN" && !have_pin) {
                r.pin = value;
                have_pin = true;
            } else if (aid == "OTP" && !have_otp) {
                r.otp = value;
                have_otp = true;
            } else {
                return fail(ErrorCode::invalid_argument,
                            "Invalid parameter authData: unknown or repeated id '{}'", aid);
            }
        }
        if (!have_pin || !have_otp) {
            return fail(ErrorCode::invalid_argument,
                        "Invalid parameter authData: both PIN and OTP are required");
        }
        return ctx.cloudsign.authorize(r);
    };
    auto activation = run();
    if (!activation) {
        const Error& e = activation.error();
        if (e.code == ErrorCode::unauthorized) {
            // The service words these as the CSC texts "The OTP is invalid" / "The PIN is invalid".
            bool otp = e.message.starts_with("The OTP");
            return csc_error(Status::bad_request, otp ? "invalid_otp" : "invalid_pin", e.message);
        }
        return from_error(e, "credentials/authorize");
    }
    json::object out;
    out["SAD"] = activation->sad;
    out["expiresIn"] = activation->expires_in.count();
    return csc_json(Status::ok, out);
}

Response sign_hash(const Request& req, ApiContext& ctx) {
    auto account = bearer_account(req, ctx);
    if (!account) {
        return account.error();
    }
    auto run = [&]() -> Result<std::vector<Bytes>> {
        auto body = SELO_TRY(body_of(req));
        cloudsign::SignHashRequest r;
        r.account_id = *account;
        r.credential_id = SELO_TRY(required_string(body, "credentialID"));
        r.sad = SELO_TRY(required_string(body, "SAD"));
        r.hashes = SELO_TRY(required_hashes(body, "hashes"));
        if (auto mode = SELO_TRY(optional_string(body, "operationMode")); mode && *mode != "S") {
            return fail(ErrorCode::invalid_argument,
                        "Invalid parameter operationMode: only synchronous (S) is supported");
        }
        auto view = SELO_TRY(ctx.cloudsign.info(*account, r.credential_id));
        auto hash_oid = SELO_TRY(optional_string(body, "hashAlgorithmOID"));
        r.hash_algorithm = SELO_TRY(resolve_sign_algorithm(body, view.key, hash_oid));
        return ctx.cloudsign.sign_hashes(r);
    };
    auto signatures = run();
    if (!signatures) {
        return from_error(signatures.error(), "signatures/signHash");
    }
    json::array sigs;
    for (const auto& s : *signatures) {
        sigs.emplace_back(base64_encode(s));
    }
    return csc_json(Status::ok, json::object{{"signatures", std::move(sigs)}});
}

Response sign_doc(const Request& req, ApiContext& ctx) {
    auto account = bearer_account(req, ctx);
    if (!account) {
        return account.error();
    }
    auto run = [&]() -> Result<std::vector<Bytes>> {
        auto body = SELO_TRY(body_of(req));
        cloudsign::SignDocRequest r;
        r.account_id = *account;
        r.credential_id = SELO_TRY(required_string(body, "credentialID"));
        r.sad = SELO_TRY(required_string(body, "SAD"));
        if (auto mode = SELO_TRY(optional_string(body, "operationMode")); mode && *mode != "S") {
            return fail(ErrorCode::invalid_argument,
                        "Invalid parameter operationMode: only synchronous (S) is supported");
        }
        const json::value* digests = body.if_contains("documentDigests");
        const json::value* docs = body.if_contains("documents");
        if (digests != nullptr && docs != nullptr) {
            return fail(ErrorCode::invalid_argument, "Both documentDigests and documents parameters passed");
        }
        if (digests != nullptr) {
            return fail(ErrorCode::unsupported,
                        "Invalid object parameter documentDigests: Selo signs whole documents "
                        "with signDoc; use signatures/signHash for digests");
        }
        if (docs == nullptr || !docs->is_array()) {
            return fail(ErrorCode::malformed, "Invalid array parameter documents");
        }
        if (docs->as_array().empty()) {
            return fail(ErrorCode::invalid_argument, "Empty documentDigests and documents objects");
        }
        auto view = SELO_TRY(ctx.cloudsign.info(*account, r.credential_id));
        std::optional<crypto::DigestAlgorithm> sig_digest;
        for (const auto& d : docs->as_array()) {
            if (!d.is_object()) {
                return fail(ErrorCode::malformed, "Invalid array parameter documents");
            }
            const json::object& doc = d.as_object();
            auto content = SELO_TRY(required_string(doc, "document"));
            auto bytes = base64_decode(content);
            if (!bytes) {
                return fail(ErrorCode::malformed, "Invalid Base64 documents string parameter");
            }
            auto format = SELO_TRY(required_string(doc, "signature_format"));
            if (format != "P") {
                return fail(ErrorCode::invalid_argument,
                            "Invalid parameter signature_format: only P (PAdES) is supported");
            }
            if (auto level = SELO_TRY(optional_string(doc, "conformance_level"))) {
                std::string l = upper(*level);
                if (l != "ADES-B-B") {
                    return fail(ErrorCode::invalid_argument,
                                "Invalid parameter conformance_level: only Ades-B-B is supported");
                }
            }
            if (auto env = SELO_TRY(optional_string(doc, "signed_envelope_property"));
                env && *env != "Revision") {
                return fail(ErrorCode::invalid_argument,
                            "Invalid parameter signed_envelope_property: only Revision (an "
                            "approval signature) is supported");
            }
            if (doc.contains("signed_props")) {
                return fail(ErrorCode::invalid_argument,
                            "Invalid parameter signed_props: no extra attributes are supported");
            }
            auto alg = SELO_TRY(resolve_sign_algorithm(doc, view.key, SELO_TRY(optional_string(doc, "hashAlgorithmOID"))));
            if (sig_digest && *sig_digest != alg) {
                return fail(ErrorCode::invalid_argument,
                            "Invalid parameter signAlgo: all documents of one call use one algorithm");
            }
            sig_digest = alg;
            r.documents.push_back(std::move(*bytes));
        }
        r.signature_digest = *sig_digest;
        return ctx.cloudsign.sign_documents(r);
    };
    auto signed_docs = run();
    if (!signed_docs) {
        return from_error(signed_docs.error(), "signatures/signDoc");
    }
    json::array out;
    for (const auto& d : *signed_docs) {
        out.emplace_back(base64_encode(d));
    }
    return csc_json(Status::ok, json::object{{"DocumentWithSignature", std::move(out)}});
}

// CSC v2 §11.11 signatures/timestamp: an RFC 3161 token for a hash, from the same TSA as
// POST /tsa and the same way: signed on the worker, answered once the token's log entry is
// durable, without a worker waiting through the commit. Public like /tsa: a time-stamp proves
// only that the hash existed.
void signatures_timestamp(const Request& req, ApiContext& ctx, http::Respond respond) {
    struct Parsed {
        TimeStampRequest request;
        Bytes nonce;
    };
    auto parsed = [&]() -> Result<Parsed> {
        if (ctx.tsa == nullptr) {
            return fail(ErrorCode::unsupported, "time-stamping is not configured");
        }
        auto body = SELO_TRY(body_of(req));
        auto hash_text = SELO_TRY(required_string(body, "hash"));
        auto hash = base64_decode(hash_text);
        if (!hash) {
            return fail(ErrorCode::malformed, "Invalid Base64 hash string parameter");
        }
        auto algo = SELO_TRY(required_string(body, "hashAlgo"));
        Bytes nonce;
        if (auto n = SELO_TRY(optional_string(body, "nonce"))) {
            auto decoded = hex_decode(*n);
            if (!decoded || decoded->empty()) {
                return fail(ErrorCode::malformed, "Invalid parameter nonce: a hex string is expected");
            }
            nonce = std::move(*decoded);
        }
        return Parsed{{algo, std::move(*hash), true}, std::move(nonce)};
    }();
    if (!parsed) {
        respond(from_error(parsed.error(), "signatures/timestamp"));
        return;
    }
    ctx.tsa->time_stamp_async(parsed->request, parsed->nonce,
                              [respond = std::move(respond)](Result<Bytes> token) {
                                  if (!token) {
                                      respond(from_error(token.error(), "signatures/timestamp"));
                                      return;
                                  }
                                  respond(csc_json(Status::ok,
                                                   json::object{{"timestamp", base64_encode(*token)}}));
                              });
}

}  // namespace

void add_csc_routes(http::Router& router, ApiContext& ctx) {
    auto route = [&](std::string_view path, Response (*fn)(const Request&, ApiContext&),
                     std::string summary) {
        router.add(
            http::Verb::post, path,
            [fn, &ctx](const Request& req, const http::RequestContext&, const http::PathParams&) {
                return fn(req, ctx);
            },
            {.summary = std::move(summary)});
    };
    route("/csc/v2/info", info, "CSC info: the service and the methods it implements");
    route("/csc/v2/auth/login", login, "CSC auth/login: HTTP Basic to a bearer access token");
    route("/csc/v2/credentials/list", credentials_list, "CSC credentials/list");
    route("/csc/v2/credentials/info", credentials_info, "CSC credentials/info");
    route("/csc/v2/credentials/authorize", credentials_authorize,
          "CSC credentials/authorize: PIN and OTP to a SAD bound to the hashes");
    route("/csc/v2/signatures/signHash", sign_hash, "CSC signatures/signHash");
    route("/csc/v2/signatures/signDoc", sign_doc, "CSC signatures/signDoc: PAdES B-B");
    router.add_async(
        http::Verb::post, "/csc/v2/signatures/timestamp",
        [&ctx](const Request& req, const http::RequestContext&, const http::PathParams&,
               http::Respond respond) { signatures_timestamp(req, ctx, std::move(respond)); },
        {.summary = "CSC signatures/timestamp: an RFC 3161 token for a hash"});
}

}  // namespace selo::api
