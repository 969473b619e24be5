// /api/v1/epcm: the S43 Electronic Postal Certification Mark operations as JSON.
//
// Who may call what:
// - Postmark: any signed-in account (citizens, institutions, agencies, staff): the account is
//   the receipt's submitter.
// - Verify / CheckIntegrity: anyone, without an account: relying parties check receipts.
// - RetrieveResults and LogEvent: the transaction's submitter, and the operator's staff
//   (clerk, auditor, administrator; auditors read only: their LogEvent is a 403, since they can
//   see the transaction exists).

#include <boost/json.hpp>

#include "api/api.hpp"
#include "api/json_fields.hpp"
#include "http/response.hpp"
#include "tsa/der.hpp"
#include "tsa/epcm.hpp"

namespace selo::api {
namespace json = boost::json;
using account::Role;

namespace {

std::string rfc3339(TimePoint t) {
    std::string g = tsa::der::generalized_time_text(t);
    return fmt::format("{}-{}-{}T{}:{}:{}{}", g.substr(0, 4), g.substr(4, 2), g.substr(6, 2), g.substr(8, 2),
                       g.substr(10, 2), g.substr(12, 2), g.substr(14));
}

// "digest_algorithm"; std::nullopt when left out (each operation has its own default).
Result<std::optional<crypto::DigestAlgorithm>> algorithm_of(const json::object& body) {
    auto given = SELO_TRY(string_if_present(body, "digest_algorithm"));
    if (!given) {
        return std::optional<crypto::DigestAlgorithm>();
    }
    std::string name = std::move(*given);
    for (auto& c : name) {
        c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    }
    if (name == "sha-256" || name == "sha256") {
        return std::optional(crypto::DigestAlgorithm::sha256);
    }
    if (name == "sha-384" || name == "sha384") {
        return std::optional(crypto::DigestAlgorithm::sha384);
    }
    if (name == "sha-512" || name == "sha512") {
        return std::optional(crypto::DigestAlgorithm::sha512);
    }
    return fail(ErrorCode::malformed,
                "digest_algorithm must be sha-256, sha-384 or sha-512 (any case, with or without the hyphen)");
}

Result<Bytes> hex_member(const json::object& o, std::string_view name) {
    auto text = SELO_TRY(required_string(o, name));
    auto b = hex_decode(text);
    if (!b) {
        return fail(ErrorCode::malformed, "'{}' must be hex", name);
    }
    return *b;
}

Result<Bytes> base64_member(const json::object& o, std::string_view name) {
    auto text = SELO_TRY(required_string(o, name));
    auto b = base64_decode(text);
    if (!b) {
        return fail(ErrorCode::malformed, "'{}' must be base64", name);
    }
    return *b;
}

// An optional member in hex or base64 (`member` decodes it): std::nullopt when left out; any
// other type is an error, and so is an empty string, named as such (the required-member message
// would call an optional member required).
Result<std::optional<Bytes>> decoded_if_present(const json::object& o, std::string_view name,
                                                std::string_view encoding,
                                                Result<Bytes> (*member)(const json::object&, std::string_view)) {
    auto text = SELO_TRY(string_if_present(o, name));
    if (!text) {
        return std::optional<Bytes>();
    }
    if (text->empty()) {
        return fail(ErrorCode::malformed, "'{}' is empty: give it as {}, or leave it out", name, encoding);
    }
    return std::optional<Bytes>(SELO_TRY(member(o, name)));
}

json::object event_json(const tsa::EpcmEvent& e) {
    json::object o{{"id", e.id},
                   {"transaction_id", e.transaction_id},
                   {"sequence", e.sequence},
                   {"event", e.event},
                   {"submitter", e.submitter},
                   {"digest_algorithm", std::string(crypto::digest_name(e.algorithm))},
                   {"digest", hex_encode(e.digest)},
                   {"signature", json::object{{"status", e.validation.status}, {"detail", e.validation.detail}}},
                   {"time", rfc3339(e.time)},
                   {"receipt", base64_encode(e.receipt)},
                   {"token", base64_encode(e.token)}};
    if (!e.details.empty()) {
        o["details"] = e.details;
    }
    return o;
}

json::object receipt_schema() {
    return schema_object({{"id", schema_string()},
                          {"transaction_id", schema_string()},
                          {"sequence", schema_integer()},
                          {"event", schema_string()},
                          {"submitter", schema_string("account id")},
                          {"digest_algorithm", schema_string()},
                          {"digest", schema_string("hex")},
                          {"signature", schema_object({{"status", schema_string("none, valid or invalid")},
                                                       {"detail", schema_string()}})},
                          {"time", schema_string("RFC 3339, the token's genTime")},
                          {"receipt", schema_string("base64 of the receipt text that was time-stamped")},
                          {"token", schema_string("base64 DER RFC 3161 TimeStampToken over SHA-256(receipt)")}});
}

// The submitter, or staff with one of `staff`. Staff with one of `read_only` may read the
// transaction (they know it exists), so they are told they may not do this rather than that
// there is no such transaction.
Result<void> may_see(const ApiRequest& r, const tsa::EpcmEvent& first, std::initializer_list<Role> staff,
                     std::initializer_list<Role> read_only = {}) {
    const auto& a = r.principal->account;
    if (a.id == first.submitter) {
        return {};
    }
    for (Role role : staff) {
        if (a.has_role(role)) {
            return {};
        }
    }
    for (Role role : read_only) {
        if (a.has_role(role)) {
            return fail(ErrorCode::forbidden, "{}s may read transaction {} but not add events to it",
                        account::role_name(role), first.transaction_id);
        }
    }
    // Someone else's transaction is indistinguishable from none (a 403 would confirm it exists).
    return fail(ErrorCode::not_found, "no transaction {} of yours", first.transaction_id);
}

http::Response created(const json::object& o) {
    auto res = http::json_response(http::Status::created, o);
    res.set(http::Field::cache_control, "no-store");
    return res;
}

}  // namespace

void add_epcm_routes(http::Router& router, ApiContext& ctx) {
    if (ctx.postmarks == nullptr) {
        return;
    }
    ApiRegistry& reg = ctx.registry;
    tsa::PostmarkService& pm = *ctx.postmarks;

    reg.add(router, http::Verb::post, "/api/v1/epcm/postmark", Access::any_account(),
            {.summary = "S43 Postmark: a time-stamped receipt for a document digest",
             .description = "Optionally with the submitter's detached CMS signature over the document "
                            "(base64 DER), which is validated (chain to Selo's root, revocation status of "
                            "every certificate below it) and the result recorded in the receipt. 503, with no "
                            "receipt made, when that status cannot be read just now (send it again), or while "
                            "the time-stamping unit is out of service: its certificate, or its CA's, revoked or "
                            "suspended (until the unit has a new certificate or the hold is lifted; the problem's "
                            "detail says which).",
             .request_schema = schema_object({{"digest", schema_string("hex")},
                                              {"digest_algorithm", schema_string("sha-256 (default), sha-384, sha-512")},
                                              {"signature", schema_string("base64 DER CMS SignedData, detached")}},
                                             {"digest"}),
             .response_schema = receipt_schema(),
             .success_status = 201,
             .errors = {400, 422, 503}},
            [&pm](const ApiRequest& r) -> Result<http::Response> {
                auto body = SELO_TRY(http::parse_json_object(r.http));
                // A misspelt "signature" would otherwise give a receipt that silently says none.
                SELO_TRY_VOID(only_members(body, {"digest", "digest_algorithm", "signature"}));
                auto alg = SELO_TRY(algorithm_of(body)).value_or(crypto::DigestAlgorithm::sha256);
                auto digest = SELO_TRY(hex_member(body, "digest"));
                auto signature = SELO_TRY(decoded_if_present(body, "signature", "base64", base64_member));
                auto e = SELO_TRY(pm.postmark(r.principal->account.id, alg, std::move(digest), std::move(signature)));
                return created(event_json(e));
            });

    // Verify (`need_digest` false) and CheckIntegrity (true).
    auto check = [&pm](bool need_digest) {
        return [&pm, need_digest](const ApiRequest& r) -> Result<http::Response> {
            auto body = SELO_TRY(http::parse_json_object(r.http));
            // A misspelt "digest" would otherwise have Verify check the receipt alone and answer valid.
            SELO_TRY_VOID(only_members(body, {"receipt_id", "receipt", "token", "digest", "digest_algorithm"}));
            auto alg = SELO_TRY(algorithm_of(body));
            auto digest = need_digest ? std::optional<Bytes>(SELO_TRY(hex_member(body, "digest")))
                                      : SELO_TRY(decoded_if_present(body, "digest", "hex", hex_member));
            if (alg && !digest) {
                return fail(ErrorCode::malformed, "'digest_algorithm' is given without 'digest'");
            }
            auto receipt_id = SELO_TRY(string_if_present(body, "receipt_id"));
            const bool as_text = body.contains("receipt") || body.contains("token");
            if (receipt_id && as_text) {
                // Either would be checked and the other silently ignored.
                return fail(ErrorCode::malformed, "give either 'receipt_id' or 'receipt' and 'token', not both");
            }
            if (!receipt_id && !as_text) {
                return fail(ErrorCode::malformed, "give 'receipt_id', or 'receipt' and 'token'");
            }
            std::optional<tsa::DocumentDigest> document;
            if (digest) {
                document = tsa::DocumentDigest{alg, std::move(*digest)};
            }
            tsa::IntegrityResult result;
            if (receipt_id) {
                if (receipt_id->empty()) {
                    return fail(ErrorCode::malformed, "'receipt_id' must not be empty");
                }
                result = SELO_TRY(pm.check_integrity(*receipt_id, std::move(document)));
            } else {
                auto receipt = SELO_TRY(base64_member(body, "receipt"));
                auto token = SELO_TRY(base64_member(body, "token"));
                result = SELO_TRY(pm.check_receipt(receipt, token, document));
            }
            json::object out{{"valid", result.valid}, {"document_checked", result.document_checked}};
            if (!result.valid) {
                out["reason"] = result.reason;
            }
            if (result.proven_time) {
                out["proven_time"] = rfc3339(*result.proven_time);
            }
            if (result.event) {
                out["receipt_id"] = result.event->id;
                out["transaction_id"] = result.event->transaction_id;
                out["event"] = result.event->event;
            }
            return http::json_response(http::Status::ok, out);
        };
    };
    auto check_request = [](bool need_digest) {
        return schema_object(
            {{"receipt_id", schema_string("a receipt of this service; or, instead, receipt and token")},
             {"receipt", schema_string("base64 receipt text (with token, instead of receipt_id)")},
             {"token", schema_string("base64 DER token over SHA-256(receipt) (with receipt)")},
             {"digest", schema_string(need_digest ? "hex digest of the document"
                                                  : "hex digest of the document; left out, only the receipt "
                                                    "is checked (document_checked false)")},
             {"digest_algorithm",
              schema_string("sha-256, sha-384 or sha-512, with digest; default: the receipt's own")}},
            need_digest ? std::vector<std::string>{"digest"} : std::vector<std::string>{});
    };
    json::object check_response = schema_object(
        {{"valid", schema_boolean("the receipt is genuine (its token verifies) and, when a digest was given, "
                                  "the document matches it")},
         {"document_checked", schema_boolean("whether a digest was given and the document checked")},
         {"reason", schema_string("why not")},
         {"proven_time", schema_string("RFC 3339")},
         {"receipt_id", schema_string()},
         {"transaction_id", schema_string()},
         {"event", schema_string()}},
        {"valid", "document_checked"});
    reg.add(router, http::Verb::post, "/api/v1/epcm/verify", Access::anyone(),
            {.summary = "S43 Verify: is the receipt genuine (token valid), and for the digest if given",
             .description = "The receipt is given by receipt_id, or as receipt and token (not both). Without "
                            "digest, only the receipt is checked: valid says it is genuine and proves its time, "
                            "and document_checked is false. A digest whose length does not fit its algorithm, "
                            "or in another algorithm than the receipt's, is a 422. The time-stamp proves its "
                            "time only while Selo's records let its unit's certificate do so (RFC 3161 §4); "
                            "503 when those records cannot be read just now.",
             .request_schema = check_request(false), .response_schema = check_response,
             .errors = {400, 404, 422, 503}},
            check(false));
    reg.add(router, http::Verb::post, "/api/v1/epcm/check-integrity", Access::anyone(),
            {.summary = "S43 CheckIntegrity: does this document (digest) match the receipt",
             .description = "The receipt is given by receipt_id, or as receipt and token (not both). A digest "
                            "whose length does not fit its algorithm, or in another algorithm than the "
                            "receipt's, is a 422; 503 as for Verify.",
             .request_schema = check_request(true), .response_schema = check_response,
             .errors = {400, 404, 422, 503}},
            check(true));

    reg.add(router, http::Verb::get, "/api/v1/epcm/transactions/{id}", Access::any_account(),
            {.summary = "S43 RetrieveResults: the events of a postmark transaction",
             .description = "For the submitter, clerks, auditors and administrators.",
             .response_schema = schema_object({{"transaction_id", schema_string()},
                                               {"events", schema_array(receipt_schema())}}),
             .errors = {404}},
            [&pm](const ApiRequest& r) -> Result<http::Response> {
                std::string id(r.params.get("id"));
                auto events = SELO_TRY(pm.events(id));
                if (events.empty()) {
                    return fail(ErrorCode::not_found, "no postmark transaction {}", id);
                }
                SELO_TRY_VOID(may_see(r, events.front(), {Role::clerk, Role::auditor, Role::administrator}));
                json::array arr;
                for (const auto& e : events) {
                    arr.push_back(event_json(e));
                }
                return http::json_response(http::Status::ok, json::object{{"transaction_id", id}, {"events", arr}});
            });
    reg.add(router, http::Verb::post, "/api/v1/epcm/transactions/{id}/events", Access::any_account(),
            {.summary = "S43 LogEvent: record an event in a transaction, itself time-stamped",
             .description = "For the submitter, clerks and administrators; auditors, who may read the "
                            "transaction, get 403. 503 as for Postmark, when no receipt can be made just now.",
             .request_schema = schema_object({{"event", schema_string("e.g. delivered, read, returned")},
                                              {"details", schema_string()}},
                                             {"event"}),
             .response_schema = receipt_schema(),
             .success_status = 201,
             .errors = {400, 403, 404, 422, 503}},
            [&pm](const ApiRequest& r) -> Result<http::Response> {
                std::string id(r.params.get("id"));
                auto events = SELO_TRY(pm.events(id));
                if (events.empty()) {
                    return fail(ErrorCode::not_found, "no postmark transaction {}", id);
                }
                SELO_TRY_VOID(may_see(r, events.front(), {Role::clerk, Role::administrator}, {Role::auditor}));
                auto body = SELO_TRY(http::parse_json_object(r.http));
                SELO_TRY_VOID(only_members(body, {"event", "details"}));
                auto event = SELO_TRY(required_string(body, "event"));
                auto details = SELO_TRY(string_if_present(body, "details")).value_or("");
                auto e = SELO_TRY(pm.log_event(id, r.principal->account.id, event, details));
                return created(event_json(e));
            });
}

}  // namespace selo::api
