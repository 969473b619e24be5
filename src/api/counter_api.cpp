// /api/v1 routes of the counter: enrolment (clerk), the enrolment slip, eSignCloud activation
// (citizen), recovery after a lost phone or a forgotten PIN (clerk), and the eSignCloud
// subscription (payments by a clerk or a payment API client acting as a clerk).

#include <boost/json.hpp>

#include "account/slip.hpp"
#include "api/api.hpp"
#include "api/json_fields.hpp"
#include "http/response.hpp"
#include "otp/qr.hpp"

namespace selo::api {
namespace json = boost::json;

namespace {

using account::Role;

std::string iso(TimePoint t) { return account::iso8601(t); }

http::Response no_store(http::Response res) {
    res.set(http::Field::cache_control, "no-store");
    return res;
}

// A 401 inside a route would read as "your session is not valid": wrong codes are 422.
Error as_unprocessable(Error e) {
    if (e.code == ErrorCode::unauthorized) {
        e.code = ErrorCode::invalid_argument;
    }
    return e;
}

json::object schema_enum(std::initializer_list<std::string_view> values, std::string description = {}) {
    json::array a;
    for (auto v : values) {
        a.emplace_back(v);
    }
    json::object o{{"type", "string"}, {"enum", std::move(a)}};
    if (!description.empty()) {
        o["description"] = description;
    }
    return o;
}

}  // namespace

void add_counter_routes(http::Router& router, ApiContext& ctx) {
    if (ctx.enrolment == nullptr || ctx.activation == nullptr) {
        return;
    }
    ApiRegistry& reg = ctx.registry;
    account::EnrolmentService& enrolment = *ctx.enrolment;
    cloudsign::ActivationService& activation = *ctx.activation;

    // ---- enrolment at the counter --------------------------------------------------------------

    // The services of an enrolment, as POST /enrolments and GET /enrolments/{id} answer them.
    const json::object services_schema = schema_object(
        {{"single_account", schema_boolean()}, {"sepbox", schema_boolean()}, {"esigncloud", schema_boolean()}});
    auto services_json = [](const account::Enrolment& e) {
        return json::object{{"single_account", true}, {"sepbox", e.sepbox}, {"esigncloud", e.esigncloud}};
    };

    reg.add(router, http::Verb::post, "/api/v1/enrolments", Access::only({Role::clerk}),
            {.summary = "Enrol a person at the counter: single account, SEPBox, eSignCloud",
             .description =
                 "One transaction opens the citizen account (one-time initial password), creates "
                 "the SEPBox mailbox, records the first year of eSignCloud as free and posts the "
                 "'activate eSignCloud' message with a one-time activation code into the mailbox. "
                 "The initial password is not in this response: it is printed on the enrolment "
                 "slip (GET slip), which can be fetched once, by this clerk, within the slip "
                 "window (15 minutes by default). A document already enrolled: 409.",
             .request_schema = schema_object(
                 {{"name", schema_string("name as in the identity document, e.g. 陳大文")},
                  {"latin_name", schema_string("Portuguese/English form, e.g. CHAN Tai Man")},
                  {"given_name", schema_string("optional; derived from latin_name")},
                  {"surname", schema_string("optional; derived from latin_name")},
                  {"id_type", schema_enum({"identity-card", "passport"})},
                  {"id_number", schema_string("e.g. 5215299(8)")},
                  {"id_country", schema_string("ISO 3166 code, default MO")},
                  {"date_of_birth", schema_string("YYYY-MM-DD")},
                  {"phone", schema_string()},
                  {"email", schema_string()},
                  {"postal_address", schema_string()},
                  {"services", schema_object({{"single_account", schema_boolean("must be true")},
                                              {"sepbox", schema_boolean()},
                                              {"esigncloud", schema_boolean("needs sepbox")}})}},
                 {"name", "latin_name", "id_type", "id_number", "date_of_birth", "phone", "email",
                  "postal_address", "services"}),
             .response_schema = schema_object(
                 {{"enrolment_id", schema_string()},
                  {"account_id", schema_string()},
                  {"username", schema_string()},
                  {"services", services_schema},
                  {"esigncloud_paid_until", schema_string("date-time; first year free")},
                  {"activation_message_id", schema_string("the SEPBox message with the code")},
                  {"slip", schema_string("path of the enrolment slip (PDF)")},
                  {"slip_expires_at", schema_string("date-time")}}),
             .success_status = 201,
             .errors = {400, 409, 422, 503}},
            [&enrolment, services_json](const ApiRequest& r) -> Result<http::Response> {
                auto body = SELO_TRY(http::parse_json_object(r.http));
                SELO_TRY_VOID(only_members(body, {"name", "latin_name", "given_name", "surname", "id_type",
                                                  "id_number", "id_country", "date_of_birth", "phone",
                                                  "email", "postal_address", "services"}));
                account::EnrolmentRequest req;
                req.person.name = SELO_TRY(required_string(body, "name"));
                req.person.latin_name = SELO_TRY(required_string(body, "latin_name"));
                req.person.given_name = SELO_TRY(optional_string(body, "given_name"));
                req.person.surname = SELO_TRY(optional_string(body, "surname"));
                req.person.id_type = SELO_TRY(account::identity_document_from_name(
                    SELO_TRY(required_string(body, "id_type"))));
                req.person.id_number = SELO_TRY(required_string(body, "id_number"));
                if (auto c = SELO_TRY(optional_string(body, "id_country")); !c.empty()) {
                    req.person.id_country = c;
                }
                req.person.email = SELO_TRY(required_string(body, "email"));
                req.date_of_birth = SELO_TRY(required_string(body, "date_of_birth"));
                req.phone = SELO_TRY(required_string(body, "phone"));
                req.postal_address = SELO_TRY(required_string(body, "postal_address"));
                const json::value* services = body.if_contains("services");
                if (services == nullptr || !services->is_object()) {
                    return fail(ErrorCode::malformed, "'services' is required: {{single_account, sepbox, esigncloud}}");
                }
                const auto& so = services->as_object();
                SELO_TRY_VOID(only_members(so, {"single_account", "sepbox", "esigncloud"}));
                if (!SELO_TRY(optional_bool(so, "single_account", false))) {
                    return fail(ErrorCode::invalid_argument,
                                "services.single_account must be true: every service hangs off the single account");
                }
                req.sepbox = SELO_TRY(optional_bool(so, "sepbox", false));
                req.esigncloud = SELO_TRY(optional_bool(so, "esigncloud", false));
                auto done = SELO_TRY(enrolment.enrol(r.principal->account, req));
                json::object out{{"enrolment_id", done.enrolment.id},
                                 {"account_id", done.account.id},
                                 {"username", done.account.username},
                                 {"services", services_json(done.enrolment)},
                                 {"slip", "/api/v1/enrolments/" + done.enrolment.id + "/slip"},
                                 {"slip_expires_at", iso(done.enrolment.slip_expires_at)}};
                if (done.subscription) {
                    out["esigncloud_paid_until"] = iso(done.subscription->paid_until);
                }
                if (done.activation_message_id) {
                    out["activation_message_id"] = *done.activation_message_id;
                }
                auto res = http::json_response(http::Status::created, out);
                res.set(http::Field::location, "/api/v1/enrolments/" + done.enrolment.id);
                return no_store(std::move(res));
            });

    reg.add(router, http::Verb::get, "/api/v1/enrolments/{enrolment}", Access::only({Role::clerk}),
            {.summary = "An enrolment: whose account, which services, and whether its slip was printed",
             .description = "The resource POST /api/v1/enrolments names in its Location. Only the clerk "
                            "who enrolled the person may read it (others: 404). slip is \"available\" "
                            "until the slip is fetched (\"fetched\") or its window passes (\"expired\").",
             .response_schema = schema_object(
                 {{"enrolment_id", schema_string()},
                  {"account_id", schema_string()},
                  {"username", schema_string()},
                  {"services", services_schema},
                  {"enrolled_at", schema_string("date-time")},
                  {"slip", schema_enum({"available", "fetched", "expired"})},
                  {"slip_expires_at", schema_string("date-time")}}),
             .errors = {404}},
            [&enrolment, &ctx, services_json](const ApiRequest& r) -> Result<http::Response> {
                auto e = SELO_TRY(enrolment.find(r.principal->account, r.params.get("enrolment")));
                std::string username;
                if (auto a = ctx.cloudsign.accounts().find(e.account_id)) {
                    username = a->username;
                }
                const char* slip = e.slip_password_sealed.empty()          ? "fetched"
                                   : ctx.clock.now() >= e.slip_expires_at ? "expired"
                                                                          : "available";
                json::object out{{"enrolment_id", e.id},
                                 {"account_id", e.account_id},
                                 {"username", username},
                                 {"services", services_json(e)},
                                 {"enrolled_at", iso(e.created_at)},
                                 {"slip", slip},
                                 {"slip_expires_at", iso(e.slip_expires_at)}};
                return no_store(http::json_response(http::Status::ok, out));
            });

    reg.add(router, http::Verb::get, "/api/v1/enrolments/{enrolment}/slip", Access::only({Role::clerk}),
            {.summary = "The enrolment slip (PDF, Chinese and Portuguese) with the initial password",
             .description = "Shown once: the first successful fetch erases the stored initial "
                            "password; later fetches, or fetches after the slip window, answer 410 "
                            "(a lost slip: POST /api/v1/accounts/{account}/password-reset). "
                            "Only the clerk who enrolled the person may fetch it (others: 404).",
             .response_schema = json::object{{"type", "string"}, {"format", "binary"}},
             .response_media_type = "application/pdf",
             .errors = {404, 410}},
            [&enrolment](const ApiRequest& r) -> Result<http::Response> {
                auto pdf = enrolment.take_slip(r.principal->account, r.params.get("enrolment"),
                                               account::render_enrolment_slip);
                if (!pdf) {
                    if (pdf.error().code == ErrorCode::expired) {
                        http::Problem p;
                        p.status = http::Status::gone;
                        p.title = "Slip no longer available";
                        p.detail = pdf.error().message;
                        return http::problem_response(p);
                    }
                    return std::unexpected(pdf.error());
                }
                auto res = http::binary_response(http::Status::ok, *pdf, "application/pdf");
                res.set(http::Field::content_disposition,
                        "inline; filename=\"" + std::string(r.params.get("enrolment")) + ".pdf\"");
                return no_store(std::move(res));
            });

    // ---- eSignCloud activation (citizen) ---------------------------------------------------------

    auto pairing_json = [](const account::Pairing& p) {
        return json::object{{"activation_id", p.activation_id},
                            {"purpose", std::string(account::activation_purpose_name(p.purpose))},
                            {"otpauth_uri", p.otpauth_uri},
                            {"qr_code", "/api/v1/esigncloud/activation/qr.png"},
                            {"pin_required", p.purpose != account::ActivationPurpose::lost_phone},
                            {"expires_at", iso(p.expires_at)}};
    };
    auto pairing_schema = schema_object({{"activation_id", schema_string()},
                                         {"purpose", schema_enum({"enrolment", "lost-phone", "forgotten-pin"})},
                                         {"otpauth_uri", schema_string("RFC 6238 key URI for the authenticator app")},
                                         {"qr_code", schema_string("path of the QR code image (PNG)")},
                                         {"pin_required", schema_boolean("confirm needs a new signing PIN")},
                                         {"expires_at", schema_string("date-time")}});

    reg.add(router, http::Verb::post, "/api/v1/esigncloud/activation", Access::only({Role::citizen}),
            {.summary = "Enter the activation code from the SEPBox message: starts pairing the authenticator app",
             .description = "Answers the otpauth:// URI and the path of its QR code. Entering the code "
                            "again restarts pairing with a new secret. After 5 wrong codes the code is "
                            "void (403); an expired code: 400.",
             .request_schema = schema_object({{"code", schema_string("e.g. ABCD-EFGH-JKMN")}}, {"code"}),
             .response_schema = pairing_schema,
             .errors = {400, 403, 404, 422}},
            [&enrolment, pairing_json](const ApiRequest& r) -> Result<http::Response> {
                auto body = SELO_TRY(http::parse_json_object(r.http));
                SELO_TRY_VOID(only_members(body, {"code"}));
                auto code = SELO_TRY(required_string(body, "code"));
                auto p = enrolment.enter_code(r.principal->account, code);
                if (!p) {
                    return std::unexpected(as_unprocessable(p.error()));
                }
                return no_store(http::json_response(http::Status::ok, pairing_json(*p)));
            });

    reg.add(router, http::Verb::get, "/api/v1/esigncloud/activation/qr.png", Access::only({Role::citizen}),
            {.summary = "QR code (PNG) of the otpauth:// URI being paired",
             .response_schema = json::object{{"type", "string"}, {"format", "binary"}},
             .response_media_type = "image/png",
             .errors = {404}},
            [&enrolment](const ApiRequest& r) -> Result<http::Response> {
                auto p = SELO_TRY(enrolment.current_pairing(r.principal->account));
                auto png = SELO_TRY(otp::qr_png(p.otpauth_uri));
                return no_store(http::binary_response(http::Status::ok, png, "image/png"));
            });

    reg.add(router, http::Verb::post, "/api/v1/esigncloud/activation/confirm", Access::only({Role::citizen}),
            {.summary = "Confirm the pairing with a first OTP and choose the signing PIN",
             .description = "Only now are the key pair and the 3-year natural-person-signing "
                            "certificate created; the credential is then usable through CSC. A "
                            "lost-phone activation only pairs the app (no PIN).",
             .request_schema = schema_object({{"pin", schema_string("6 to 12 digits")},
                                              {"otp", schema_string("the code the app shows")}},
                                             {"otp"}),
             .response_schema = schema_object({{"purpose", schema_string()},
                                               {"credential_id", schema_string()},
                                               {"certificate_serial", schema_string()}}),
             .errors = {400, 403, 409, 422}},
            [&activation](const ApiRequest& r) -> Result<http::Response> {
                auto body = SELO_TRY(http::parse_json_object(r.http));
                SELO_TRY_VOID(only_members(body, {"pin", "otp"}));
                auto pin = SELO_TRY(optional_string(body, "pin"));
                auto otp = SELO_TRY(required_string(body, "otp"));
                auto done = activation.confirm(r.principal->account, pin, otp);
                if (!done) {
                    return std::unexpected(as_unprocessable(done.error()));
                }
                json::object out{{"purpose", std::string(account::activation_purpose_name(done->purpose))}};
                if (done->credential) {
                    out["credential_id"] = done->credential->id;
                    out["certificate_serial"] = done->credential->certificate_serial;
                }
                return no_store(http::json_response(http::Status::ok, out));
            });

    // ---- recovery (clerk) ----------------------------------------------------------------------

    auto recovery_doc = [](std::string summary, std::string description) {
        return ApiDoc{.summary = std::move(summary),
                      .description = std::move(description),
                      .request_schema = schema_object({{"id_type", schema_enum({"identity-card", "passport"}, "document seen")},
                                                       {"id_number", schema_string("document seen")}},
                                                      {"id_type", "id_number"}),
                      .response_schema = schema_object({{"activation_message_id", schema_string()}}),
                      .errors = {400, 404, 409, 503}};
    };
    auto recovery = [&ctx](bool lost_phone) {
        return [&ctx, lost_phone](const ApiRequest& r) -> Result<http::Response> {
            auto body = SELO_TRY(http::parse_json_object(r.http));
            SELO_TRY_VOID(only_members(body, {"id_type", "id_number"}));
            auto type = SELO_TRY(account::identity_document_from_name(SELO_TRY(required_string(body, "id_type"))));
            auto number = SELO_TRY(required_string(body, "id_number"));
            std::string_view target = r.params.get("account");
            auto message = lost_phone
                               ? SELO_TRY(ctx.activation->lost_phone(r.principal->account, target, type, number))
                               : SELO_TRY(ctx.activation->forgotten_pin(r.principal->account, target, type, number));
            return http::json_response(http::Status::ok, json::object{{"activation_message_id", message}});
        };
    };
    reg.add(router, http::Verb::post, "/api/v1/accounts/{account}/recovery/lost-phone", Access::only({Role::clerk}),
            recovery_doc("Lost phone: void the authenticator and send a new activation",
                         "After checking the person's identity document (recorded in the audit "
                         "trail; it must match the account's), the old TOTP secret is void at once "
                         "and a new activation message goes to SEPBox. The signing key stays."),
            recovery(true));
    reg.add(router, http::Verb::post, "/api/v1/accounts/{account}/recovery/forgotten-pin", Access::only({Role::clerk}),
            recovery_doc("Forgotten PIN: retire the credential, revoke its certificate, send a new activation",
                         "The old key cannot be recovered by design (it is sealed under the PIN). "
                         "The next activation creates a new key pair and certificate."),
            recovery(false));

    // ---- password reset (clerk) ------------------------------------------------------------------

    reg.add(router, http::Verb::post, "/api/v1/accounts/{account}/password-reset", Access::only({Role::clerk}),
            {.summary = "Password reset at the counter: a new one-time password on a new slip (PDF)",
             .description =
                 "For a lost enrolment slip, or a one-time password whose slip window passed. "
                 "After checking the person's identity document in person, the clerk names the "
                 "account ({account}: its id or its username) and the document presented; it "
                 "must match the enrolment (otherwise 409, audited, nothing changed). The answer is a new enrolment slip (PDF, "
                 "Chinese and Portuguese) with the username and a new one-time password, shown "
                 "only in this answer. At once the old password stops working, every session of "
                 "the account ends, the new password must be changed at the next sign-in, and "
                 "the password and OTP lockout counts are cleared. Citizens' accounts only: a "
                 "staff, agency or institution account is refused (422); an account not enrolled "
                 "at the counter: 404.",
             .request_schema = schema_object({{"id_type", schema_enum({"identity-card", "passport"}, "document seen")},
                                              {"id_number", schema_string("document seen")}},
                                             {"id_type", "id_number"}),
             .response_schema = json::object{{"type", "string"}, {"format", "binary"}},
             .response_media_type = "application/pdf",
             .errors = {400, 404, 409, 422}},
            [&enrolment](const ApiRequest& r) -> Result<http::Response> {
                auto body = SELO_TRY(http::parse_json_object(r.http));
                SELO_TRY_VOID(only_members(body, {"id_type", "id_number"}));
                auto type = SELO_TRY(account::identity_document_from_name(SELO_TRY(required_string(body, "id_type"))));
                auto number = SELO_TRY(required_string(body, "id_number"));
                std::string_view target = r.params.get("account");
                auto pdf = SELO_TRY(enrolment.reset_password(r.principal->account, target, type, number,
                                                             account::render_enrolment_slip));
                auto res = http::binary_response(http::Status::ok, pdf, "application/pdf");
                res.set(http::Field::content_disposition,
                        "inline; filename=\"password-reset-" + std::string(target) + ".pdf\"");
                return no_store(std::move(res));
            });

    // ---- subscription ----------------------------------------------------------------------------

    reg.add(router, http::Verb::get, "/api/v1/subscriptions/{account}", Access::only({Role::citizen, Role::clerk}),
            {.summary = "The eSignCloud subscription of an account",
             .description = "A citizen sees only their own (404 for others).",
             .response_schema = schema_object({{"account_id", schema_string()},
                                               {"paid_until", schema_string("date-time")},
                                               {"status", schema_enum({"active", "expired"})}}),
             .errors = {404}},
            [&enrolment, &ctx](const ApiRequest& r) -> Result<http::Response> {
                std::string_view target = r.params.get("account");
                const auto& me = r.principal->account;
                if (!me.has_role(Role::clerk) && me.id != target) {
                    return fail(ErrorCode::not_found, "no subscription for account {}", target);
                }
                auto s = SELO_TRY(enrolment.subscription(target));
                if (!s) {
                    return fail(ErrorCode::not_found, "no subscription for account {}", target);
                }
                return http::json_response(
                    http::Status::ok,
                    json::object{{"account_id", s->account_id},
                                 {"paid_until", iso(s->paid_until)},
                                 {"status", ctx.clock.now() < s->paid_until ? "active" : "expired"}});
            });

    reg.add(router, http::Verb::post, "/api/v1/subscriptions/{account}/payments", Access::only({Role::clerk}),
            {.summary = "Record a payment of the eSignCloud annual fee",
             .description = "By a clerk at the counter, or by a payment provider's API client issued "
                            "for a clerk-role account. Extends the subscription by `years` from its end "
                            "(or from now when it has ended); signing resumes at once. The reference is "
                            "unique per recorder: a repeated one is refused (409), so a retried call "
                            "never pays twice.",
             .request_schema = schema_object({{"amount_cents", schema_integer()},
                                              {"currency", schema_string("ISO 4217, e.g. MOP")},
                                              {"years", schema_integer("1 to 5")},
                                              {"reference", schema_string("receipt number")}},
                                             {"amount_cents", "currency", "reference"}),
             .response_schema = schema_object({{"payment_id", schema_string()},
                                               {"paid_until", schema_string("date-time")}}),
             .success_status = 201,
             .errors = {400, 404, 409, 422}},
            [&enrolment](const ApiRequest& r) -> Result<http::Response> {
                auto body = SELO_TRY(http::parse_json_object(r.http));
                SELO_TRY_VOID(only_members(body, {"amount_cents", "currency", "years", "reference"}));
                const json::value* amount = body.if_contains("amount_cents");
                if (amount == nullptr || !amount->is_int64()) {
                    return fail(ErrorCode::malformed, "'amount_cents' is required and must be an integer");
                }
                std::int64_t years = 1;
                if (const json::value* y = body.if_contains("years")) {
                    if (!y->is_int64()) {
                        return fail(ErrorCode::malformed, "'years' must be an integer");
                    }
                    years = y->as_int64();
                }
                if (years < 1 || years > 5) {
                    return fail(ErrorCode::invalid_argument, "'years' must be 1 to 5");
                }
                auto p = SELO_TRY(enrolment.record_payment(
                    r.principal->account, r.params.get("account"), amount->as_int64(),
                    SELO_TRY(required_string(body, "currency")), static_cast<unsigned>(years),
                    SELO_TRY(required_string(body, "reference"))));
                return http::json_response(http::Status::created,
                                           json::object{{"payment_id", p.id}, {"paid_until", iso(p.paid_until_after)}});
            });
}

}  // namespace selo::api
