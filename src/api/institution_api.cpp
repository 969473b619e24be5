// /api/v1/institutions: a clerk registers an institution (legal person) at the counter and adds
// or removes its members (natural persons with an account). Members see their institution; they
// read its SEPBox under /api/v1/institutions/{institution}/sepbox/... (sepbox_api.cpp).

#include <boost/json.hpp>

#include "api/api.hpp"
#include "api/json_fields.hpp"
#include "http/response.hpp"
#include "sepbox/message.hpp"

namespace selo::api {
namespace {

namespace json = boost::json;
using account::Role;

std::string iso(TimePoint t) { return sepbox::format_time(t); }  // RFC 3339 UTC

json::object institution_json(const account::Institution& i) {
    return json::object{{"account_id", i.account_id},
                        {"organization_identifier", i.organization_identifier},
                        {"name", i.name},
                        {"latin_name", i.latin_name},
                        {"postal_address", i.postal_address},
                        {"email", i.email},
                        {"created_at", iso(i.created_at)},
                        {"mailbox", fmt::format("/api/v1/institutions/{}/sepbox/messages", i.account_id)}};
}

json::object member_json(const account::Membership& m) {
    return json::object{{"account_id", m.member_id}, {"added_by", m.added_by}, {"added_at", iso(m.added_at)}};
}

json::object institution_schema() {
    return schema_object({{"account_id", schema_string("the institution's account id: SEPBox recipients name it")},
                          {"organization_identifier", schema_string("ETSI EN 319 412-1 §5.1.4, e.g. NTRMO-12345")},
                          {"name", schema_string()},
                          {"latin_name", schema_string()},
                          {"postal_address", schema_string()},
                          {"email", schema_string("where new-mail notices go")},
                          {"created_at", schema_string("date-time")},
                          {"mailbox", schema_string("path of the institution's SEPBox, for members")}});
}

json::object member_schema() {
    return schema_object({{"account_id", schema_string("the member's (a citizen's) account id")},
                          {"added_by", schema_string("the clerk")},
                          {"added_at", schema_string("date-time")}});
}

Result<account::InstitutionService*> service(ApiContext& ctx) {
    if (ctx.institutions == nullptr) {
        return fail(ErrorCode::unavailable, "institutions are not served here");
    }
    return ctx.institutions;
}

}  // namespace

void add_institution_routes(http::Router& router, ApiContext& ctx) {
    ApiRegistry& reg = ctx.registry;

    reg.add(router, http::Verb::post, "/api/v1/institutions", Access::only({Role::clerk}),
            {.summary = "Register an institution (legal person) at the counter",
             .description =
                 "Opens the institution's account (role institution) and its SEPBox mailbox in one "
                 "transaction. Nobody signs in as the institution: its members (added with POST "
                 "members) read its mail with their own sign-in. Agencies send to it by account_id. "
                 "An organisation identifier registered before: 409.",
             .request_schema = schema_object(
                 {{"organization_identifier", schema_string("NTR + country + '-' + trade register number, e.g. NTRMO-12345")},
                  {"name", schema_string("registered name, e.g. 澳門電力股份有限公司")},
                  {"latin_name", schema_string("Portuguese/English name")},
                  {"postal_address", schema_string()},
                  {"email", schema_string("for new-mail notices")}},
                 {"organization_identifier", "name", "latin_name", "postal_address", "email"}),
             .response_schema = institution_schema(),
             .success_status = 201,
             .errors = {400, 409}},
            [&ctx](const ApiRequest& r) -> Result<http::Response> {
                auto* svc = SELO_TRY(service(ctx));
                auto body = SELO_TRY(http::parse_json_object(r.http));
                SELO_TRY_VOID(only_members(body, {"organization_identifier", "name", "latin_name",
                                                  "postal_address", "email"}));
                account::InstitutionRequest req;
                req.organization_identifier = SELO_TRY(required_string(body, "organization_identifier"));
                req.name = SELO_TRY(required_string(body, "name"));
                req.latin_name = SELO_TRY(required_string(body, "latin_name"));
                req.postal_address = SELO_TRY(required_string(body, "postal_address"));
                req.email = SELO_TRY(required_string(body, "email"));
                auto inst = SELO_TRY(svc->register_institution(r.principal->account, req));
                auto res = http::json_response(http::Status::created, institution_json(inst));
                res.set(http::Field::location, "/api/v1/institutions/" + inst.account_id);
                return res;
            });

    reg.add(router, http::Verb::get, "/api/v1/institutions", Access::only({Role::citizen, Role::clerk, Role::auditor}),
            {.summary = "Institutions: clerks and auditors see all, a citizen the ones they are a member of",
             .response_schema = schema_object({{"institutions", schema_array(institution_schema())}})},
            [&ctx](const ApiRequest& r) -> Result<http::Response> {
                auto* svc = SELO_TRY(service(ctx));
                json::array list;
                for (const auto& i : SELO_TRY(svc->visible_to(r.principal->account))) {
                    list.push_back(institution_json(i));
                }
                auto res = http::json_response(http::Status::ok, json::object{{"institutions", std::move(list)}});
                res.set(http::Field::cache_control, "private, no-store");
                return res;
            });

    reg.add(router, http::Verb::get, "/api/v1/institutions/{institution}",
            Access::only({Role::citizen, Role::clerk, Role::auditor}),
            {.summary = "An institution and its current members (members, clerks, auditors; others 404)",
             .response_schema = [] {
                 auto s = institution_schema();
                 s["properties"].as_object()["members"] = schema_array(member_schema());
                 return s;
             }(),
             .errors = {404}},
            [&ctx](const ApiRequest& r) -> Result<http::Response> {
                auto* svc = SELO_TRY(service(ctx));
                auto inst = SELO_TRY(svc->find(r.principal->account, r.params.get("institution")));
                json::array members;
                for (const auto& m : SELO_TRY(svc->members(r.principal->account, inst.account_id))) {
                    members.push_back(member_json(m));
                }
                auto o = institution_json(inst);
                o["members"] = std::move(members);
                auto res = http::json_response(http::Status::ok, o);
                res.set(http::Field::cache_control, "private, no-store");
                return res;
            });

    reg.add(router, http::Verb::post, "/api/v1/institutions/{institution}/members", Access::only({Role::clerk}),
            {.summary = "Add a member: a natural person (citizen account) who acts for the institution",
             .description = "From then on the member reads the institution's SEPBox with their own "
                            "sign-in. Audited. Already a member: 409.",
             .request_schema = schema_object({{"account_id", schema_string("the citizen's account id")}}, {"account_id"}),
             .response_schema = member_schema(),
             .success_status = 201,
             .errors = {400, 404, 409}},
            [&ctx](const ApiRequest& r) -> Result<http::Response> {
                auto* svc = SELO_TRY(service(ctx));
                auto body = SELO_TRY(http::parse_json_object(r.http));
                SELO_TRY_VOID(only_members(body, {"account_id"}));
                auto member = SELO_TRY(required_string(body, "account_id"));
                auto m = SELO_TRY(svc->add_member(r.principal->account, r.params.get("institution"), member));
                return http::json_response(http::Status::created, member_json(m));
            });

    reg.add(router, http::Verb::delete_, "/api/v1/institutions/{institution}/members/{member}",
            Access::only({Role::clerk}),
            {.summary = "Remove a member; it takes effect at once (the next request is refused)",
             .success_status = 204,
             .errors = {404}},
            [&ctx](const ApiRequest& r) -> Result<http::Response> {
                auto* svc = SELO_TRY(service(ctx));
                SELO_TRY_VOID(svc->remove_member(r.principal->account, r.params.get("institution"),
                                                 r.params.get("member")));
                return http::make_response(http::Status::no_content, "", "");
            });
}

}  // namespace selo::api
