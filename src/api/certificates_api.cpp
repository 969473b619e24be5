// /api/v1/certificates: the repository of issued certificates (status and DER by serial) and
// the CA officer's life-cycle operations. Thin: decode, authorise (the registry), call the CA.
#include <boost/json.hpp>

#include <ctime>

#include "api/api.hpp"
#include "api/json_fields.hpp"
#include "http/response.hpp"
#include "pki/revocation.hpp"

namespace selo::api {
namespace json = boost::json;
namespace {

std::string iso(TimePoint t) {
    std::time_t s = std::chrono::system_clock::to_time_t(t);
    std::tm tm{};
    ::gmtime_r(&s, &tm);
    char buf[32];
    std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
    return buf;
}

Result<TimePoint> parse_iso(std::string_view text) {
    std::tm tm{};
    std::string s(text);
    const char* end = ::strptime(s.c_str(), "%Y-%m-%dT%H:%M:%SZ", &tm);
    if (end == nullptr || *end != '\0' || s.size() != 20) {
        return fail(ErrorCode::malformed, "time must be YYYY-MM-DDTHH:MM:SSZ (UTC)");
    }
    const auto secs = static_cast<std::int64_t>(::timegm(&tm));
    if (!fits_time_point(secs)) {
        return fail(ErrorCode::invalid_argument, "time {} is out of range", text);
    }
    return from_unix_seconds(secs);
}

json::object to_json(const pki::CertificateRecord& r, bool with_der) {
    json::object o{{"issuer", r.issuer},     {"serial", r.serial_hex},
                   {"subject", r.subject},   {"profile", r.profile},
                   {"status", r.status},     {"not_before", iso(r.not_before)},
                   {"not_after", iso(r.not_after)}};
    if (r.revoked_at && r.status != pki::kStatusValid) {
        o["revoked_at"] = iso(*r.revoked_at);
    }
    if (r.revocation_reason && r.status != pki::kStatusValid) {
        o["reason"] = std::string(
            pki::revocation_reason_name(static_cast<pki::RevocationReason>(*r.revocation_reason)));
    }
    if (with_der) {
        o["der"] = base64_encode(r.der);
    }
    return o;
}

// Serials are lower-case hex in the repository; accept upper case from clients.
Result<std::string> serial_param(std::string_view raw) {
    std::string s;
    for (char c : raw) {
        if (c >= 'A' && c <= 'F') {
            c = static_cast<char>(c - 'A' + 'a');
        }
        s += c;
    }
    if (s.empty() || s.size() > 40 || s.find_first_not_of("0123456789abcdef") != std::string::npos) {
        return fail(ErrorCode::malformed, "'{}' is not a serial number (hex, at most 20 octets)", raw);
    }
    return s;
}

json::object certificate_schema() {
    return schema_object({{"issuer", schema_string("CA name")},
                          {"serial", schema_string("lower-case hex")},
                          {"subject", schema_string("RFC 4514")},
                          {"profile", schema_string()},
                          {"status", schema_string("valid, suspended or revoked")},
                          {"not_before", schema_string()},
                          {"not_after", schema_string()},
                          {"revoked_at", schema_string()},
                          {"reason", schema_string("RFC 5280 CRLReason name")},
                          {"der", schema_string("base64 DER (single certificate only)")}},
                         {"issuer", "serial", "status"});
}

}  // namespace

void add_certificate_routes(http::Router& router, ApiContext& ctx) {
    if (ctx.authorities == nullptr || ctx.certificates == nullptr) {
        return;
    }
    ApiRegistry& reg = ctx.registry;
    const auto officers = Access::only({account::Role::ca_officer, account::Role::auditor});

    reg.add(router, http::Verb::get, "/api/v1/certificates", officers,
            {.summary = "List issued certificates, newest first",
             .response_schema = schema_object({{"certificates", schema_array(certificate_schema())}}),
             .errors = {400},
             .query = {{"ca", "only this CA"}, {"status", "valid, suspended or revoked"},
                       {"limit", "at most this many (default 100, at most 1000)"}}},
            [&ctx](const ApiRequest& r) -> Result<http::Response> {
                auto q = SELO_TRY(http::parse_query(r.http.target()));
                pki::CertificateFilter f{std::string(q.get("ca").value_or("")),
                                         std::string(q.get("status").value_or("")), "", 100};
                if (auto l = q.get("limit")) {
                    if (l->empty() || l->size() > 4 || l->find_first_not_of("0123456789") != std::string_view::npos) {
                        return fail(ErrorCode::malformed, "limit must be 1 to 1000");
                    }
                    f.limit = std::stoul(std::string(*l));
                    if (f.limit == 0 || f.limit > 1000) {
                        return fail(ErrorCode::malformed, "limit must be 1 to 1000");
                    }
                }
                auto rows = SELO_TRY(ctx.certificates->list(f));
                json::array out;
                for (const auto& row : rows) {
                    out.push_back(to_json(row, false));
                }
                return http::json_response(http::Status::ok, json::object{{"certificates", out}});
            });

    // The repository: anyone holding a certificate may look up its status and DER (serials
    // are 126 random bits, so they cannot be enumerated).
    reg.add(router, http::Verb::get, "/api/v1/certificates/{serial}", Access::anyone(),
            {.summary = "A certificate's status and DER, by serial",
             .response_schema = certificate_schema(),
             .errors = {400, 404, 409},
             .query = {{"ca", "the issuing CA, when a serial exists under several"}}},
            [&ctx](const ApiRequest& r) -> Result<http::Response> {
                auto serial = SELO_TRY(serial_param(r.params.get("serial")));
                auto q = SELO_TRY(http::parse_query(r.http.target()));
                auto rows = SELO_TRY(ctx.certificates->list({std::string(q.get("ca").value_or("")), "", serial, 2}));
                if (rows.empty()) {
                    return fail(ErrorCode::not_found, "no certificate with serial {}", serial);
                }
                if (rows.size() > 1) {
                    return fail(ErrorCode::conflict, "serial {} exists under several CAs; add ?ca=", serial);
                }
                return http::json_response(http::Status::ok, to_json(rows.front(), true));
            });

    auto change = [&ctx, &router, &reg](std::string action, std::string summary, bool revoke) {
        json::object schema = revoke ? schema_object({{"reason", schema_string("RFC 5280 CRLReason name, e.g. keyCompromise")},
                                                      {"time", schema_string("when it takes effect, YYYY-MM-DDTHH:MM:SSZ (default now)")},
                                                      {"comment", schema_string("why, for the audit trail")},
                                                      {"ca", schema_string("the issuing CA (default: found by serial)")}},
                                                     {"reason"})
                                     : schema_object({{"comment", schema_string("why, for the audit trail")},
                                                      {"ca", schema_string("the issuing CA")}});
        reg.add(router, http::Verb::post, "/api/v1/certificates/{serial}/" + action,
                Access::only({account::Role::ca_officer}),
                {.summary = std::move(summary),
                 .request_schema = schema,
                 .response_schema = certificate_schema(),
                 .errors = {400, 404, 409, 422}},
                [&ctx, action, revoke](const ApiRequest& r) -> Result<http::Response> {
                    auto serial = SELO_TRY(serial_param(r.params.get("serial")));
                    json::object body;
                    if (!r.http.body().empty()) {
                        body = SELO_TRY(http::parse_json_object(r.http));
                    }
                    auto ca_name = SELO_TRY(optional_string(body, "ca"));
                    auto comment = SELO_TRY(optional_string(body, "comment"));
                    if (ca_name.empty()) {
                        auto rows = SELO_TRY(ctx.certificates->list({"", "", serial, 2}));
                        if (rows.empty()) {
                            return fail(ErrorCode::not_found, "no certificate with serial {}", serial);
                        }
                        if (rows.size() > 1) {
                            return fail(ErrorCode::conflict, "serial {} exists under several CAs; name \"ca\"", serial);
                        }
                        ca_name = rows.front().issuer;
                    }
                    auto it = ctx.authorities->find(ca_name);
                    if (it == ctx.authorities->end()) {
                        return fail(ErrorCode::not_found, "no CA named '{}'", ca_name);
                    }
                    pki::Actor actor{r.principal->account.id, comment};
                    pki::CertificateRecord done;
                    if (revoke) {
                        auto reason_text = SELO_TRY(optional_string(body, "reason"));
                        if (reason_text.empty()) {
                            return fail(ErrorCode::malformed, "'reason' is required");
                        }
                        auto reason = SELO_TRY(pki::revocation_reason_from_name(reason_text));
                        std::optional<TimePoint> when;
                        auto time_text = SELO_TRY(optional_string(body, "time"));
                        if (!time_text.empty()) {
                            when = SELO_TRY(parse_iso(time_text));
                        }
                        done = SELO_TRY(it->second.revoke(serial, reason, when, actor));
                    } else if (action == "suspend") {
                        done = SELO_TRY(it->second.suspend(serial, actor));
                    } else {
                        done = SELO_TRY(it->second.resume(serial, actor));
                    }
                    return http::json_response(http::Status::ok, to_json(done, false));
                });
    };
    change("revoke", "Revoke a certificate (RFC 5280 reason and time); final", true);
    change("suspend", "Suspend a certificate (certificateHold)", false);
    change("resume", "Lift a suspension", false);
}

}  // namespace selo::api
