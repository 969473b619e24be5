// /api/v1/log: the transparency log (translog/log.hpp). Reading is public, as a transparency
// log must be; asking for a freshly signed tree head is for staff who audit or run the service.

#include <boost/json.hpp>

#include <ctime>

#include "api/api.hpp"
#include "core/log.hpp"
#include "http/response.hpp"
#include "translog/log.hpp"

namespace selo::api {
namespace json = boost::json;

namespace {

constexpr std::uint64_t kMaxEntriesPerPage = 1000;

std::string hex(const translog::Hash& h) { return hex_encode(translog::view(h)); }

json::object tree_head_json(const translog::TreeHead& h) {
    return json::object{{"tree_size", h.tree_size},
                        {"root_hash", hex(h.root_hash)},
                        {"timestamp", format_utc_millis(h.timestamp)},
                        {"token", base64_encode(h.token)}};
}

json::array path_json(const std::vector<translog::Hash>& path) {
    json::array out;
    for (const auto& h : path) {
        out.emplace_back(hex(h));
    }
    return out;
}

Result<std::uint64_t> number_param(const http::QueryParams& q, std::string_view name,
                                   std::optional<std::uint64_t> fallback = std::nullopt) {
    auto v = q.get(name);
    if (!v) {
        if (fallback) {
            return *fallback;
        }
        return fail(ErrorCode::malformed, "the query parameter '{}' is required", name);
    }
    if (v->empty() || v->size() > 19 || v->find_first_not_of("0123456789") != std::string_view::npos) {
        return fail(ErrorCode::malformed, "'{}' must be a non-negative integer", name);
    }
    return static_cast<std::uint64_t>(std::stoull(std::string(*v)));
}

json::object tree_head_schema() {
    return schema_object({{"tree_size", schema_integer()},
                          {"root_hash", schema_string("hex SHA-256 (RFC 9162 MTH)")},
                          {"timestamp", schema_string("RFC 3339, the token's genTime")},
                          {"token", schema_string("base64 DER RFC 3161 TimeStampToken over SHA-256 of "
                                                  "\"selo-tree-head-v1\" 0x00 || size (uint64 BE) || root")}});
}

http::Response no_store(http::Response res) {
    res.set(http::Field::cache_control, "no-store");
    return res;
}

}  // namespace

void add_log_routes(http::Router& router, ApiContext& ctx) {
    if (ctx.log == nullptr) {
        return;
    }
    ApiRegistry& reg = ctx.registry;
    translog::TransparencyLog& log = *ctx.log;

    reg.add(router, http::Verb::get, "/api/v1/log/tree-head", Access::anyone(),
            {.summary = "The newest signed tree head", .response_schema = tree_head_schema(), .errors = {404}},
            [&log](const ApiRequest&) -> Result<http::Response> {
                auto head = SELO_TRY(log.latest_tree_head());
                return no_store(http::json_response(http::Status::ok, tree_head_json(head)));
            });
    reg.add(router, http::Verb::post, "/api/v1/log/tree-head",
            Access::only({account::Role::auditor, account::Role::administrator, account::Role::ca_officer}),
            {.summary = "Sign a tree head for the log as it is now (503 while the log's time-stamping unit is "
                        "out of service)",
             .response_schema = tree_head_schema(),
             .success_status = 201,
             .errors = {503}},
            [&log](const ApiRequest&) -> Result<http::Response> {
                auto head = SELO_TRY(log.sign_tree_head());
                return no_store(http::json_response(http::Status::created, tree_head_json(head)));
            });
    reg.add(router, http::Verb::get, "/api/v1/log/tree-heads", Access::anyone(),
            {.summary = "Every signed tree head, oldest first",
             .response_schema = schema_object({{"tree_heads", schema_array(tree_head_schema())}})},
            [&log](const ApiRequest&) -> Result<http::Response> {
                json::array heads;
                for (const auto& h : SELO_TRY(log.tree_heads())) {
                    heads.push_back(tree_head_json(h));
                }
                return no_store(http::json_response(http::Status::ok, json::object{{"tree_heads", heads}}));
            });
    reg.add(router, http::Verb::get, "/api/v1/log/entries", Access::anyone(),
            {.summary = "Entries by index range [start, end), at most 1000 per call",
             .response_schema = schema_object(
                 {{"tree_size", schema_integer("entries in the log now")},
                  {"entries", schema_array(schema_object(
                                  {{"index", schema_integer()},
                                   {"type", schema_string("certificate, timestamp, postmark, epcm-event, ...")},
                                   {"logged_at", schema_string("RFC 3339, milliseconds")},
                                   {"logged_at_ms", schema_integer("milliseconds since 1970, as hashed")},
                                   {"data", schema_string("base64")},
                                   {"leaf_hash", schema_string("hex SHA-256(0x00 || leaf)")}}))}}),
             .errors = {400},
             .query = {{"start", "first index (default 0)"}, {"end", "one past the last index (default: start + 1000)"}}},
            [&log](const ApiRequest& r) -> Result<http::Response> {
                auto q = SELO_TRY(http::parse_query(r.http.target()));
                auto start = SELO_TRY(number_param(q, "start", 0));
                auto end = SELO_TRY(number_param(q, "end", start + kMaxEntriesPerPage));
                if (end < start) {
                    return fail(ErrorCode::malformed, "end ({}) is before start ({})", end, start);
                }
                std::uint64_t size = 0;
                std::vector<translog::LogEntry> entries;
                auto read = [&]() -> Result<void> {
                    size = SELO_TRY(log.current()).first;
                    // A range at or past the end of the log is empty, not an error: a monitor
                    // polling for new entries asks for start = the size it has seen.
                    if (start < size) {
                        entries = SELO_TRY(log.entries(start, std::min(end, size), kMaxEntriesPerPage));
                    }
                    return {};
                }();
                if (!read && read.error().code == ErrorCode::internal) {
                    // A damaged stored entry: auditors are told which one (it is the log's own
                    // public numbering), the reason stays in the server's log.
                    auto bad = log.first_unreadable(start);
                    if (bad && *bad) {
                        selo::log::error("request {} {}: {}", r.context.request_id, r.http.target(),
                                   read.error().message);
                        http::Problem p;
                        p.status = http::Status::internal_server_error;
                        p.detail = fmt::format("Log entry {} cannot be read: its stored record is damaged. "
                                               "The incident has been logged.", **bad);
                        p.extensions["code"] = "internal";
                        p.extensions["unreadable_entry"] = **bad;
                        return http::problem_response(p);
                    }
                }
                SELO_TRY_VOID(read);
                json::array out;
                for (const auto& e : entries) {
                    out.push_back(json::object{
                        {"index", e.index},
                        {"type", e.type},
                        {"logged_at", format_utc_millis(e.logged_at)},
                        {"logged_at_ms", std::chrono::duration_cast<std::chrono::milliseconds>(
                                             e.logged_at.time_since_epoch()).count()},
                        {"data", base64_encode(e.data)},
                        {"leaf_hash", hex(e.leaf_hash)}});
                }
                return no_store(http::json_response(http::Status::ok,
                                                    json::object{{"tree_size", size}, {"entries", out}}));
            });
    reg.add(router, http::Verb::get, "/api/v1/log/proof/inclusion", Access::anyone(),
            {.summary = "Audit path of a leaf (RFC 9162 §2.1.3)",
             .response_schema = schema_object({{"leaf_index", schema_integer()},
                                               {"tree_size", schema_integer()},
                                               {"inclusion_path", schema_array(schema_string("hex"))}}),
             .errors = {400, 404, 422},
             .query = {{"leaf_hash", "hex SHA-256 leaf hash"}, {"tree_size", "size of the tree (default: now)"}},
             .required_query = {"leaf_hash"}},
            [&log](const ApiRequest& r) -> Result<http::Response> {
                auto q = SELO_TRY(http::parse_query(r.http.target()));
                auto text = q.get("leaf_hash");
                if (!text) {
                    return fail(ErrorCode::malformed, "the query parameter 'leaf_hash' is required");
                }
                auto bytes = hex_decode(*text);
                auto leaf = bytes ? translog::hash_from_bytes(*bytes) : std::nullopt;
                if (!leaf) {
                    return fail(ErrorCode::malformed, "'leaf_hash' must be 64 hex digits");
                }
                auto [size, root] = SELO_TRY(log.current());
                (void)root;
                auto tree_size = SELO_TRY(number_param(q, "tree_size", size));
                auto proof = SELO_TRY(log.inclusion_proof(*leaf, tree_size));
                return no_store(http::json_response(
                    http::Status::ok, json::object{{"leaf_index", proof.leaf_index},
                                                   {"tree_size", proof.tree_size},
                                                   {"inclusion_path", path_json(proof.path)}}));
            });
    reg.add(router, http::Verb::get, "/api/v1/log/proof/consistency", Access::anyone(),
            {.summary = "Consistency proof between two tree sizes (RFC 9162 §2.1.4)",
             .response_schema = schema_object({{"first", schema_integer()},
                                               {"second", schema_integer()},
                                               {"consistency_path", schema_array(schema_string("hex"))}}),
             .errors = {400, 422},
             .query = {{"first", "the older tree size"}, {"second", "the newer tree size"}},
             .required_query = {"first", "second"}},
            [&log](const ApiRequest& r) -> Result<http::Response> {
                auto q = SELO_TRY(http::parse_query(r.http.target()));
                auto first = SELO_TRY(number_param(q, "first"));
                auto second = SELO_TRY(number_param(q, "second"));
                auto path = SELO_TRY(log.consistency_proof(first, second));
                return no_store(http::json_response(
                    http::Status::ok,
                    json::object{{"first", first}, {"second", second}, {"consistency_path", path_json(path)}}));
            });
}

}  // namespace selo::api
