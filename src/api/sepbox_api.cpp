// /api/v1/sepbox: thin handlers over sepbox::SepboxService. A recipient sees only their own
// mailbox (someone else's message is a 404), a sender only the evidence of what they sent.

#include "api/sepbox_api.hpp"
#include "api/json_fields.hpp"

#include <boost/json.hpp>

#include <functional>

#include "account/institution.hpp"
#include "http/response.hpp"
#include "sepbox/service.hpp"

namespace selo::api {
namespace {

namespace json = boost::json;
using account::Role;
using sepbox::SepboxService;

Result<SepboxService*> service(ApiContext& ctx) {
    if (ctx.sepbox == nullptr) {
        return fail(ErrorCode::unavailable, "SEPBox is not configured on this server");
    }
    return ctx.sepbox;
}

// An optional JSON object body: an empty body is an empty object.
Result<json::object> optional_body(const http::Request& req) {
    if (req.body().empty()) {
        return json::object{};
    }
    return http::parse_json_object(req);
}

// Whose mailbox a reader route reads, and who acts (empty: the holder).
struct Reader {
    std::string mailbox;
    std::string acting;
    std::string href_base = "/api/v1/sepbox/messages";
};

Result<sepbox::Submission> submission_from(const json::object& body, const account::Account& sender) {
    SELO_TRY_VOID(only_members(body, {"recipients", "subject", "body_text", "body_html", "category",
                                      "sender_reference", "reply_by", "attachments"},
                               "the message"));
    sepbox::Submission s;
    s.sender_id = sender.id;
    const json::value* recipients = body.if_contains("recipients");
    if (recipients == nullptr || !recipients->is_array() || recipients->as_array().empty()) {
        return fail(ErrorCode::malformed, "'recipients' is required: a non-empty array of account ids");
    }
    for (const auto& r : recipients->as_array()) {
        if (!r.is_string() || r.as_string().empty()) {
            return fail(ErrorCode::malformed, "'recipients' must hold account ids (strings)");
        }
        s.recipients.emplace_back(r.as_string());
    }
    s.subject = SELO_TRY(required_string(body, "subject"));
    s.body_text = SELO_TRY(optional_string(body, "body_text"));
    s.body_html = SELO_TRY(optional_string(body, "body_html"));
    s.category = SELO_TRY(sepbox::category_from_name(SELO_TRY(required_string(body, "category"))));
    s.sender_reference = SELO_TRY(optional_string(body, "sender_reference"));
    if (auto reply_by = SELO_TRY(optional_string(body, "reply_by")); !reply_by.empty()) {
        s.reply_by = SELO_TRY(sepbox::parse_time(reply_by));
    }
    if (const json::value* list = body.if_contains("attachments"); list != nullptr && !list->is_null()) {
        if (!list->is_array()) {
            return fail(ErrorCode::malformed, "'attachments' must be an array");
        }
        std::size_t n = 0;
        for (const auto& item : list->as_array()) {
            ++n;
            if (!item.is_object()) {
                return fail(ErrorCode::malformed, "attachment {} must be an object", n);
            }
            const auto& a = item.as_object();
            SELO_TRY_VOID(only_members(a, {"filename", "media_type", "content"}, fmt::format("attachment {}", n)));
            sepbox::Attachment att;
            att.filename = SELO_TRY(required_string(a, "filename"));
            att.media_type = SELO_TRY(optional_string(a, "media_type"));
            auto content = SELO_TRY(required_string(a, "content"));
            auto bytes = base64_decode(content);
            if (!bytes) {
                return fail(ErrorCode::malformed, "attachment {} ({}): 'content' is not base64 (RFC 4648 §4): {}",
                            n, att.filename, bytes.error().message);
            }
            att.content = std::move(*bytes);
            s.attachments.push_back(std::move(att));
        }
    }
    return s;
}

std::string_view decision_text(sepbox::Decision d) {
    switch (d) {
        case sepbox::Decision::accepted: return "accepted";
        case sepbox::Decision::rejected: return "rejected";
        case sepbox::Decision::expired: return "expired";
        case sepbox::Decision::none: break;
    }
    return "";
}

json::object message_json(const sepbox::MessageView& m, bool full,
                          std::string_view base = "/api/v1/sepbox/messages") {
    json::object o{{"id", m.id},
                   {"subject", m.subject},
                   {"category", std::string(sepbox::category_name(m.category))},
                   {"sender", m.sender_name},
                   {"sender_id", m.sender_id},
                   {"sender_reference", m.sender_reference},
                   {"received_at", sepbox::format_time(m.received_at)},
                   {"read", m.read},
                   {"archived", m.archived}};
    if (m.reply_by) {
        o["reply_by"] = sepbox::format_time(*m.reply_by);
    }
    if (m.decision != sepbox::Decision::none) {
        o["decision"] = std::string(decision_text(m.decision));
    }
    if (full) {
        o["body_text"] = m.body_text;
        if (!m.body_html.empty()) {
            o["body_html"] = m.body_html;
        }
    }
    json::array attachments;
    for (const auto& a : m.attachments) {
        attachments.push_back(json::object{
            {"index", a.index},
            {"filename", a.filename},
            {"media_type", a.media_type},
            {"size", a.size},
            {"sha256", a.sha256_hex},
            {"href", fmt::format("{}/{}/attachments/{}", base, m.id, a.index)}});
    }
    o["attachments"] = std::move(attachments);
    return o;
}

json::object evidence_json(const sepbox::EvidenceRecord& e) {
    json::object o{{"id", e.id},
                   {"event", std::string(sepbox::event_name(e.event))},
                   {"time", sepbox::format_time(e.at)},
                   {"recipient", e.recipient_id},
                   {"document", std::string(as_chars(e.canonical))},
                   {"cms", base64_encode(e.cms)},
                   {"href", fmt::format("/api/v1/sepbox/sent/{}/evidence/{}.p7m", e.message_id, e.id)}};
    if (!e.timestamp_token.empty()) {
        o["timestamp_token"] = base64_encode(e.timestamp_token);
    }
    if (e.log_index) {
        o["log_index"] = *e.log_index;
    }
    return o;
}

Result<std::size_t> positive(std::optional<std::string_view> v, std::string_view name, std::size_t fallback) {
    if (!v) {
        return fallback;
    }
    if (v->empty() || v->find_first_not_of("0123456789") != std::string_view::npos) {
        return fail(ErrorCode::invalid_argument, "'{}' must be a whole number, 1 or more", name);
    }
    if (v->size() > 6) {
        // Far beyond any mailbox (and beyond what (page - 1) * per_page may hold safely).
        return fail(ErrorCode::invalid_argument, "'{}' must be at most 999999", name);
    }
    return static_cast<std::size_t>(std::stoul(std::string(*v)));
}

Result<bool> flag(std::optional<std::string_view> v, std::string_view name) {
    if (!v) {
        return false;
    }
    if (*v == "true" || *v == "1" || v->empty()) {
        return true;
    }
    if (*v == "false" || *v == "0") {
        return false;
    }
    return fail(ErrorCode::invalid_argument, "'{}' must be true or false", name);
}

// RFC 6266 §4.3 / RFC 8187: a UTF-8 file name, percent-encoded, plus an ASCII fallback.
std::string content_disposition(std::string_view filename) {
    std::string ascii;
    std::string encoded;
    for (char c : filename) {
        auto u = static_cast<unsigned char>(c);
        bool plain = (u >= 'a' && u <= 'z') || (u >= 'A' && u <= 'Z') || (u >= '0' && u <= '9') ||
                     std::string_view("!#$&+-.^_`|~").find(c) != std::string_view::npos;
        encoded += plain ? std::string(1, c) : fmt::format("%{:02X}", u);
        if ((u & 0xC0) == 0x80) {
            continue;  // a UTF-8 continuation octet: its character has its '_' already
        }
        ascii += (u >= 0x20 && u < 0x7F && c != '"' && c != '\\') ? c : '_';
    }
    return fmt::format("attachment; filename=\"{}\"; filename*=UTF-8''{}", ascii, encoded);
}

const json::object& message_schema() {
    static const json::object schema = [] {
        auto attachment = schema_object({{"index", schema_integer("1-based")},
                                         {"filename", schema_string()},
                                         {"media_type", schema_string()},
                                         {"size", schema_integer("bytes")},
                                         {"sha256", schema_string("hex")},
                                         {"href", schema_string("download URL")}});
        return schema_object(
            {{"id", schema_string()},
             {"subject", schema_string()},
             {"body_text", schema_string("plain text (only when reading one message)")},
             {"body_html", schema_string("sanitised HTML, when sent as HTML")},
             {"category", schema_string("notification | official-letter | bill | direct-mail")},
             {"sender", schema_string("the sender's name")},
             {"sender_id", schema_string()},
             {"sender_reference", schema_string()},
             {"received_at", schema_string("RFC 3339")},
             {"reply_by", schema_string("RFC 3339, official letters")},
             {"decision", schema_string("accepted | rejected | expired")},
             {"read", schema_boolean()},
             {"archived", schema_boolean()},
             {"attachments", schema_array(attachment)}},
            {"id", "subject", "category", "sender", "received_at", "read", "attachments"});
    }();
    return schema;
}

const json::object& evidence_schema() {
    static const json::object schema = schema_object(
        {{"id", schema_string()},
         {"event", schema_string("ETSI EN 319 522-2 event: SubmissionAcceptance, SubmissionRejection, "
                                 "ContentConsignment, ContentHandover, ConsignmentAcceptance, "
                                 "ConsignmentRejection, AcceptanceRejectionExpiry")},
         {"time", schema_string("RFC 3339")},
         {"recipient", schema_string()},
         {"document", schema_string("the canonical evidence document (JSON text)")},
         {"cms", schema_string("base64 DER CMS SignedData encapsulating the document")},
         {"timestamp_token", schema_string("base64 RFC 3161 token over SHA-256 of the CMS")},
         {"log_index", schema_integer("transparency log leaf")},
         {"href", schema_string("the CMS as application/pkcs7-mime")}});
    return schema;
}

}  // namespace

std::uint64_t sepbox_body_limit(std::uint64_t max_message_bytes) noexcept {
    return max_message_bytes / 3 * 4 + 8 + 1024 * 1024;
}

void add_sepbox_routes(http::Router& router, ApiContext& ctx) {
    ApiRegistry& reg = ctx.registry;
    const Access readers = Access::only({Role::citizen, Role::institution});
    const Access senders = Access::only({Role::agency});

    reg.add(router, http::Verb::post, "/api/v1/sepbox/messages", senders,
            {.summary = "Send a message to one or many mailboxes (registered delivery)",
             .description =
                 "Each recipient gets their own message and evidence. The submission is checked as "
                 "a whole first (limits, syntax): a bad one is refused and nothing is stored. Then "
                 "every recipient is either accepted (SubmissionAcceptance and ContentConsignment "
                 "evidence) or rejected with a reason (SubmissionRejection evidence), all stored "
                 "in one transaction before the answer. Attachments are base64 (RFC 4648 §4).",
             .request_schema = schema_object(
                 {{"recipients", schema_array(schema_string("account id"))},
                  {"subject", schema_string()},
                  {"body_text", schema_string("plain text")},
                  {"body_html", schema_string("HTML; sanitised before display")},
                  {"category", schema_string("notification | official-letter | bill | direct-mail")},
                  {"sender_reference", schema_string()},
                  {"reply_by", schema_string("RFC 3339; official letters")},
                  {"attachments", schema_array(schema_object({{"filename", schema_string()},
                                                              {"media_type", schema_string()},
                                                              {"content", schema_string("base64")}},
                                                             {"filename", "content"}))}},
                 {"recipients", "subject", "category"}),
             .response_schema = schema_object(
                 {{"accepted", schema_integer()},
                  {"rejected", schema_integer()},
                  {"results", schema_array(schema_object({{"recipient", schema_string()},
                                                          {"status", schema_string("accepted | rejected")},
                                                          {"message_id", schema_string()},
                                                          {"reason", schema_string()},
                                                          {"evidence", schema_array(schema_string())}}))}}),
             .errors = {400, 413, 422}},
            [&ctx](const ApiRequest& r) -> Result<http::Response> {
                auto* svc = SELO_TRY(service(ctx));
                auto body = SELO_TRY(http::parse_json_object(r.http));
                auto submission = SELO_TRY(submission_from(body, r.principal->account));
                auto results = SELO_TRY(svc->submit(submission));
                json::array list;
                std::int64_t accepted = 0;
                for (const auto& res : results) {
                    json::array evidence;
                    for (const auto& id : res.evidence_ids) {
                        evidence.emplace_back(id);
                    }
                    json::object o{{"recipient", res.recipient_id},
                                   {"status", res.accepted ? "accepted" : "rejected"},
                                   {"message_id", res.message_id},
                                   {"evidence", std::move(evidence)}};
                    if (!res.accepted) {
                        o["reason"] = res.reason;
                    }
                    accepted += res.accepted ? 1 : 0;
                    list.push_back(std::move(o));
                }
                json::object out{{"accepted", accepted},
                                 {"rejected", static_cast<std::int64_t>(results.size()) - accepted},
                                 {"results", std::move(list)}};
                auto res = http::json_response(http::Status::ok, out);
                res.set(http::Field::cache_control, "no-store");
                return res;
            });

    // The same reader routes for one's own mailbox and, for members, an institution's: the
    // mailbox is the institution's, the member acting is named in evidence and audit. A
    // non-member gets 404, exactly like an unknown institution.
    struct Mailbox {
        std::string prefix;
        Access access;
        std::string summary_prefix;
        std::function<Result<Reader>(const ApiRequest&)> resolve;
    };
    const std::vector<Mailbox> boxes = {
        {"/api/v1/sepbox/messages", readers, "",
         [](const ApiRequest& r) -> Result<Reader> { return Reader{r.principal->account.id, {}}; }},
        {"/api/v1/institutions/{institution}/sepbox/messages", Access::only({Role::citizen}),
         "Institution mailbox (members): ",
         [&ctx](const ApiRequest& r) -> Result<Reader> {
             if (ctx.institutions == nullptr) {
                 return fail(ErrorCode::unavailable, "institutions are not served here");
             }
             std::string institution(r.params.get("institution"));
             SELO_TRY_VOID(ctx.institutions->check_member(r.principal->account, institution));
             return Reader{institution, r.principal->account.id,
                           fmt::format("/api/v1/institutions/{}/sepbox/messages", institution)};
         }},
    };
    for (const auto& box : boxes) {
        reg.add(router, http::Verb::get, box.prefix, box.access,
                {.summary = box.summary_prefix + "Your mailbox, newest first",
                 .response_schema = schema_object({{"messages", schema_array(message_schema())},
                                                   {"page", schema_integer()},
                                                   {"per_page", schema_integer()},
                                                   {"total", schema_integer()}}),
                 .errors = {422},
                 .query = {{"page", "1-based page number"},
                           {"per_page", "messages per page, 1 to 100 (20)"},
                           {"category", "notification | official-letter | bill | direct-mail"},
                           {"unread", "true: unread messages only"},
                           {"archived", "true: the archive instead of the inbox"},
                           {"q", "text to find in the subject or the sender's name"}}},
                [&ctx, box](const ApiRequest& r) -> Result<http::Response> {
                    auto* svc = SELO_TRY(service(ctx));
                    const auto who = SELO_TRY(box.resolve(r));
                    auto query = SELO_TRY(http::parse_query(r.http.target()));
                    sepbox::ListQuery q;
                    q.page = SELO_TRY(positive(query.get("page"), "page", 1));
                    q.per_page = SELO_TRY(positive(query.get("per_page"), "per_page", 20));
                    if (auto c = query.get("category")) {
                        q.filter.category = SELO_TRY(sepbox::category_from_name(*c));
                    }
                    q.filter.unread_only = SELO_TRY(flag(query.get("unread"), "unread"));
                    q.filter.archived = SELO_TRY(flag(query.get("archived"), "archived"));
                    q.search = std::string(query.get("q").value_or(""));
                    auto page = SELO_TRY(svc->list(who.mailbox, q));
                    json::array messages;
                    for (const auto& m : page.messages) {
                        messages.push_back(message_json(m, false, who.href_base));
                    }
                    json::object out{{"messages", std::move(messages)},
                                     {"page", q.page},
                                     {"per_page", q.per_page},
                                     {"total", page.total}};
                    auto res = http::json_response(http::Status::ok, out);
                    res.set(http::Field::cache_control, "private, no-store");
                    return res;
                });

        reg.add(router, http::Verb::get, box.prefix + "/{id}", box.access,
                {.summary = box.summary_prefix + "Read one message (the first reading records ContentHandover)",
                 .response_schema = message_schema(),
                 .errors = {404}},
                [&ctx, box](const ApiRequest& r) -> Result<http::Response> {
                    auto* svc = SELO_TRY(service(ctx));
                    const auto who = SELO_TRY(box.resolve(r));
                    auto m = SELO_TRY(svc->open(who.mailbox, r.params.get("id"), who.acting));
                    auto res = http::json_response(http::Status::ok, message_json(m, true, who.href_base));
                    res.set(http::Field::cache_control, "private, no-store");
                    return res;
                });

        reg.add(router, http::Verb::get, box.prefix + "/{id}/attachments/{index}", box.access,
                {.summary = box.summary_prefix + "Download an attachment",
                 .response_schema = json::object{{"type", "string"}, {"format", "binary"}},
                 .response_media_type = "application/octet-stream",
                 .errors = {404}},
                [&ctx, box](const ApiRequest& r) -> Result<http::Response> {
                    auto* svc = SELO_TRY(service(ctx));
                    const auto who = SELO_TRY(box.resolve(r));
                    std::string_view index = r.params.get("index");
                    if (index.empty() || index.size() > 4 ||
                        index.find_first_not_of("0123456789") != std::string_view::npos) {
                        return fail(ErrorCode::not_found, "no attachment '{}'", index.substr(0, 16));
                    }
                    auto d = SELO_TRY(svc->attachment(who.mailbox, r.params.get("id"),
                                                      std::stoi(std::string(index)), who.acting));
                    auto res = http::binary_response(http::Status::ok, d.content, d.media_type);
                    res.set(http::Field::content_disposition, content_disposition(d.filename));
                    res.set("X-Content-Type-Options", "nosniff");
                    res.set("Content-Security-Policy", "sandbox; default-src 'none'");
                    res.set(http::Field::cache_control, "private, no-store");
                    return res;
                });

        reg.add(router, http::Verb::post, box.prefix + "/{id}/read", box.access,
                {.summary = box.summary_prefix + "Mark a message read, or unread with {\"read\": false}",
                 .request_schema = schema_object({{"read", schema_boolean("default true")}}),
                 .response_schema = message_schema(),
                 .errors = {400, 404}},
                [&ctx, box](const ApiRequest& r) -> Result<http::Response> {
                    auto* svc = SELO_TRY(service(ctx));
                    const auto who = SELO_TRY(box.resolve(r));
                    auto body = SELO_TRY(optional_body(r.http));
                    SELO_TRY_VOID(only_members(body, {"read"}, "the request"));
                    auto m = SELO_TRY(svc->mark_read(who.mailbox, r.params.get("id"),
                                                     SELO_TRY(optional_bool(body, "read", true)), who.acting));
                    return http::json_response(http::Status::ok, message_json(m, false, who.href_base));
                });

        reg.add(router, http::Verb::post, box.prefix + "/{id}/archive", box.access,
                {.summary = box.summary_prefix + "Move a message to the archive, or back with {\"archived\": false}",
                 .request_schema = schema_object({{"archived", schema_boolean("default true")}}),
                 .response_schema = message_schema(),
                 .errors = {400, 404}},
                [&ctx, box](const ApiRequest& r) -> Result<http::Response> {
                    auto* svc = SELO_TRY(service(ctx));
                    const auto who = SELO_TRY(box.resolve(r));
                    auto body = SELO_TRY(optional_body(r.http));
                    SELO_TRY_VOID(only_members(body, {"archived"}, "the request"));
                    auto m = SELO_TRY(svc->archive(who.mailbox, r.params.get("id"),
                                                   SELO_TRY(optional_bool(body, "archived", true)), who.acting));
                    return http::json_response(http::Status::ok, message_json(m, false, who.href_base));
                });

        for (bool accept : {true, false}) {
            reg.add(router, http::Verb::post,
                    box.prefix + (accept ? "/{id}/accept" : "/{id}/reject"), box.access,
                    {.summary = box.summary_prefix + (accept ? "Accept an official letter (ConsignmentAcceptance)"
                                       : "Reject an official letter (ConsignmentRejection)"),
                     .request_schema = schema_object({{"reason", schema_string("optional")}}),
                     .response_schema = evidence_schema(),
                     .errors = {400, 404, 409, 422}},
                    [&ctx, box, accept](const ApiRequest& r) -> Result<http::Response> {
                        auto* svc = SELO_TRY(service(ctx));
                        const auto who = SELO_TRY(box.resolve(r));
                        auto body = SELO_TRY(optional_body(r.http));
                        SELO_TRY_VOID(only_members(body, {"reason"}, "the request"));
                        auto ev = SELO_TRY(svc->decide(who.mailbox, r.params.get("id"), accept,
                                                       SELO_TRY(optional_string(body, "reason")), who.acting));
                        return http::json_response(http::Status::ok, evidence_json(ev));
                    });
        }

    }

    reg.add(router, http::Verb::get, "/api/v1/sepbox/sent/{id}/evidence", senders,
            {.summary = "The delivery evidence of a message you sent, oldest first",
             .description = "Each evidence is a canonical JSON document signed as CMS SignedData by "
                            "the SEPBox seal (verify with `openssl cms -verify` against Selo's root).",
             .response_schema = schema_object({{"message_id", schema_string()},
                                               {"evidence", schema_array(evidence_schema())}}),
             .errors = {404}},
            [&ctx](const ApiRequest& r) -> Result<http::Response> {
                auto* svc = SELO_TRY(service(ctx));
                auto list = SELO_TRY(svc->evidence(r.principal->account.id, r.params.get("id")));
                json::array evidence;
                for (const auto& e : list) {
                    evidence.push_back(evidence_json(e));
                }
                return http::json_response(http::Status::ok,
                                           json::object{{"message_id", r.params.get("id")},
                                                        {"evidence", std::move(evidence)}});
            });

    reg.add(router, http::Verb::get, "/api/v1/sepbox/sent/{id}/evidence/{evidence}.p7m", senders,
            {.summary = "One evidence as DER CMS SignedData (application/pkcs7-mime)",
             .response_schema = json::object{{"type", "string"}, {"format", "binary"}},
             .response_media_type = "application/pkcs7-mime",
             .errors = {404}},
            [&ctx](const ApiRequest& r) -> Result<http::Response> {
                auto* svc = SELO_TRY(service(ctx));
                auto list = SELO_TRY(svc->evidence(r.principal->account.id, r.params.get("id")));
                for (const auto& e : list) {
                    if (e.id == r.params.get("evidence")) {
                        // RFC 8551 §3.2: SignedData is application/pkcs7-mime; smime-type=signed-data.
                        return http::binary_response(http::Status::ok, e.cms,
                                                     "application/pkcs7-mime; smime-type=signed-data");
                    }
                }
                return fail(ErrorCode::not_found, "no such evidence for message {}", r.params.get("id"));
            });
}

}  // namespace selo::api
