// SEPBox over HTTP against a real `selo serve`: an agency sends two citizens a letter with an
// attachment; they list, read and download it; the delivery evidence verifies with
// `openssl cms -verify` against Selo's root; a real SMTP server receives the notices, which hold
// nothing of the message; bad submissions get clear errors and leave nothing behind.

#include <gtest/gtest.h>

#include "integration/selo_instance.hpp"
#include "sepbox/smtp_sink.hpp"

namespace selo::test {
namespace {

namespace json = boost::json;
using namespace std::chrono_literals;

constexpr std::string_view kAttachment = "%PDF-1.4\n% SECRET-ATTACHMENT-9131 \xe9\n%%EOF\n";

class SepboxHttp : public ::testing::Test {
protected:
    static void SetUpTestSuite() {
        sink = new SmtpSink();
        selo = new SeloInstance();
        error = new std::string();
        dir = new TempDir();
        *error = sink->start(dir->path() / "mail");
        if (!error->empty()) {
            return;
        }
        selo->extra_config = fmt::format(
            "[sepbox]\nmax_message_bytes = 1048576\nnotice_interval_seconds = 1\n\n"
            "[smtp]\nhost = \"127.0.0.1\"\nport = {}\nfrom = \"sepbox@selo.example.mo\"\n"
            "timeout_seconds = 10\n",
            sink->port());
        *error = selo->start(false);
        if (!error->empty()) {
            return;
        }
        const std::string d = selo->dir().string();
        auto r = run("curl -sf -o " + d + "/root.der " + selo->base() + "/ca/root.crt && openssl x509 "
                     "-inform DER -in " + d + "/root.der -out " + d + "/root.pem");
        if (r.exit_code != 0) {
            *error = "fetching the root: " + r.output;
            return;
        }
        agency = new Holder(selo->enrol("澳門財政局", "Direccao dos Servicos de Financas", "AG-0001",
                                        "dsf@gov.example.mo", "", {"agency"}, "staff-card"));
        chan = new Holder(selo->enrol("陳大文", "CHAN Tai Man", "5215299(8)", "chan.taiman@example.mo", ""));
        joao = new Holder(selo->enrol("João Conceição", "João Conceição", "1234567(1)", "joao@example.mo", ""));
        agency_token = new std::string(selo->api_login(*agency));
        chan_token = new std::string(selo->api_login(*chan));
        joao_token = new std::string(selo->api_login(*joao));
    }
    static void TearDownTestSuite() {
        delete selo;
        delete sink;
        delete error;
        delete dir;
        delete agency;
        delete chan;
        delete joao;
        delete agency_token;
        delete chan_token;
        delete joao_token;
    }
    void SetUp() override {
        if (!error->empty()) {
            GTEST_SKIP() << *error;
        }
    }

    static std::vector<std::string> auth(const std::string* token) { return {"Authorization: Bearer " + *token}; }

    static json::object letter(std::vector<std::string> recipients) {
        json::array to;
        for (auto& r : recipients) {
            to.emplace_back(r);
        }
        return json::object{
            {"recipients", std::move(to)},
            {"subject", "Notificação fiscal 2026/118 — 稅務通知"},
            {"body_text", "CONFIDENTIAL-BODY-5521: the assessment is attached."},
            {"body_html", "<p onclick=\"x()\">CONFIDENTIAL-BODY-5521 <img src=https://t.example/p.gif>"
                          "<a href=\"javascript:alert(1)\">ver</a></p><script>alert(1)</script>"},
            {"category", "official-letter"},
            {"sender_reference", "DSF/2026/118"},
            {"reply_by", "2036-12-31T17:00:00+08:00"},
            {"attachments", json::array{json::object{{"filename", "avaliação 2026.pdf"},
                                                     {"media_type", "application/pdf"},
                                                     {"content", base64_encode(as_bytes(kAttachment))}}}}};
    }

    // `openssl cms -verify` of DER CMS against the root alone; the verified content.
    static std::string verify(const std::string& der, const std::string& name) {
        auto in = selo->dir() / (name + ".p7m");
        auto out = selo->dir() / (name + ".json");
        write_file(in, der);
        auto r = run("openssl cms -verify -binary -inform DER -in " + shell_quote(in.string()) + " -CAfile " +
                     shell_quote((selo->dir() / "root.pem").string()) + " -out " + shell_quote(out.string()) +
                     " 2>&1");
        EXPECT_EQ(r.exit_code, 0) << r.output;
        EXPECT_NE(r.output.find("Verification successful"), std::string::npos) << r.output;
        return r.exit_code == 0 ? std::string(as_chars(read_file(out))) : "";
    }

    static inline SmtpSink* sink = nullptr;
    static inline SeloInstance* selo = nullptr;
    static inline std::string* error = nullptr;
    static inline TempDir* dir = nullptr;
    static inline Holder* agency = nullptr;
    static inline Holder* chan = nullptr;
    static inline Holder* joao = nullptr;
    static inline std::string* agency_token = nullptr;
    static inline std::string* chan_token = nullptr;
    static inline std::string* joao_token = nullptr;
};

TEST_F(SepboxHttp, AgencyLetterIsReadDownloadedAndEvidencedAndNoticesAreMailed) {
    auto sent = selo->post("/api/v1/sepbox/messages", json::serialize(letter({chan->account_id, joao->account_id})),
                           auth(agency_token));
    ASSERT_EQ(sent.status, 200) << sent.raw;
    const auto& results = sent.body.as_object().at("results").as_array();
    ASSERT_EQ(results.size(), 2u);
    EXPECT_EQ(sent.body.as_object().at("accepted").as_int64(), 2);
    std::map<std::string, std::string> message_of;
    for (const auto& r : results) {
        EXPECT_EQ(r.as_object().at("status").as_string(), "accepted") << sent.raw;
        message_of[std::string(r.as_object().at("recipient").as_string())] =
            std::string(r.as_object().at("message_id").as_string());
    }

    for (const auto* who : {chan, joao}) {
        const std::string* token = who == chan ? chan_token : joao_token;
        auto list = selo->get("/api/v1/sepbox/messages", auth(token));
        ASSERT_EQ(list.status, 200) << list.raw;
        const auto& messages = list.body.as_object().at("messages").as_array();
        ASSERT_GE(messages.size(), 1u);
        const auto& first = messages[0].as_object();
        std::string id(first.at("id").as_string());
        EXPECT_EQ(id, message_of[who->account_id]);
        EXPECT_EQ(first.at("subject").as_string(), "Notificação fiscal 2026/118 — 稅務通知");
        EXPECT_EQ(first.at("read").as_bool(), false);
        EXPECT_EQ(first.at("category").as_string(), "official-letter");
        EXPECT_EQ(first.at("sender").as_string(), "澳門財政局 (Direccao dos Servicos de Financas)");

        auto one = selo->get("/api/v1/sepbox/messages/" + id, auth(token));
        ASSERT_EQ(one.status, 200) << one.raw;
        const auto& m = one.body.as_object();
        EXPECT_EQ(m.at("body_text").as_string(), "CONFIDENTIAL-BODY-5521: the assessment is attached.");
        std::string html(m.at("body_html").as_string());
        EXPECT_EQ(html, "<p>CONFIDENTIAL-BODY-5521 <a>ver</a></p>");
        EXPECT_EQ(m.at("sender_reference").as_string(), "DSF/2026/118");
        EXPECT_EQ(m.at("reply_by").as_string(), "2036-12-31T09:00:00Z");
        EXPECT_EQ(m.at("read").as_bool(), true);
        const auto& att = m.at("attachments").as_array().at(0).as_object();
        EXPECT_EQ(att.at("filename").as_string(), "avaliação 2026.pdf");
        EXPECT_EQ(att.at("size").to_number<std::size_t>(), kAttachment.size());

        auto file = selo->get(std::string(att.at("href").as_string()), auth(token));
        ASSERT_EQ(file.status, 200) << file.raw;
        EXPECT_EQ(file.raw, kAttachment);
        EXPECT_NE(file.headers.find("Content-Type: application/pdf"), std::string::npos) << file.headers;
        EXPECT_NE(file.headers.find("filename*=UTF-8''avalia%C3%A7%C3%A3o%202026.pdf"), std::string::npos)
            << file.headers;
        // The ASCII fallback (RFC 6266 §4.3) stands in one '_' per character, not per UTF-8 octet.
        EXPECT_NE(file.headers.find("filename=\"avalia__o 2026.pdf\""), std::string::npos) << file.headers;
    }

    // A citizen sees only their own mail; roles are enforced.
    std::string chans = message_of[chan->account_id];
    EXPECT_EQ(selo->get("/api/v1/sepbox/messages/" + chans, auth(joao_token)).status, 404);
    EXPECT_EQ(selo->get("/api/v1/sepbox/messages/" + chans + "/attachments/1", auth(joao_token)).status, 404);
    EXPECT_EQ(selo->post("/api/v1/sepbox/messages/" + chans + "/read", "", auth(joao_token)).status, 404);
    EXPECT_EQ(selo->post("/api/v1/sepbox/messages", json::serialize(letter({joao->account_id})), auth(chan_token)).status,
              403);
    EXPECT_EQ(selo->get("/api/v1/sepbox/messages", auth(agency_token)).status, 403);
    EXPECT_EQ(selo->get("/api/v1/sepbox/sent/" + chans + "/evidence", auth(chan_token)).status, 403);
    EXPECT_EQ(selo->get("/api/v1/sepbox/messages").status, 401);

    // The recipient accepts the letter.
    auto accept = selo->post("/api/v1/sepbox/messages/" + chans + "/accept", "{}", auth(chan_token));
    ASSERT_EQ(accept.status, 200) << accept.raw;
    EXPECT_EQ(accept.body.as_object().at("event").as_string(), "ConsignmentAcceptance");
    EXPECT_EQ(selo->post("/api/v1/sepbox/messages/" + chans + "/reject", "{}", auth(chan_token)).status, 409);

    // The sender's evidence: submission, consignment, handover, acceptance, each verifiable
    // with openssl against the root alone.
    auto ev = selo->get("/api/v1/sepbox/sent/" + chans + "/evidence", auth(agency_token));
    ASSERT_EQ(ev.status, 200) << ev.raw;
    const auto& list = ev.body.as_object().at("evidence").as_array();
    std::vector<std::string> events;
    for (const auto& e : list) {
        const auto& o = e.as_object();
        events.emplace_back(o.at("event").as_string());
        auto der = base64_decode(std::string(o.at("cms").as_string())).value();
        std::string doc = verify(std::string(as_chars(der)), std::string(o.at("id").as_string()));
        EXPECT_EQ(doc, o.at("document").as_string());
        auto parsed = json::parse(doc).as_object();
        EXPECT_EQ(parsed.at("event").as_string(), o.at("event").as_string());
        EXPECT_EQ(parsed.at("message_id").as_string(), chans);
        EXPECT_EQ(parsed.at("recipient").as_object().at("account_id").as_string(), chan->account_id);
        EXPECT_EQ(parsed.at("sender").as_object().at("account_id").as_string(), agency->account_id);
        // The digests name the parts, and the attachment's is the SHA-256 of what was sent.
        auto sha = run("printf %s " + shell_quote(std::string(kAttachment)) + " | openssl dgst -sha256 -r");
        std::string attachment_digest = sha.output.substr(0, 64);
        bool found = false;
        for (const auto& p : parsed.at("parts").as_array()) {
            if (p.as_object().at("name").as_string() == "attachment/1") {
                found = p.as_object().at("sha256").as_string() == attachment_digest;
            }
        }
        EXPECT_TRUE(found) << doc;
        EXPECT_EQ(doc.find("CONFIDENTIAL"), std::string::npos);
        // The same evidence as a file, as a relying party would fetch it.
        auto p7m = selo->get(std::string(o.at("href").as_string()), auth(agency_token));
        ASSERT_EQ(p7m.status, 200);
        EXPECT_EQ(p7m.raw, std::string(as_chars(der)));
    }
    EXPECT_EQ(events, (std::vector<std::string>{"SubmissionAcceptance", "ContentConsignment",
                                                "ContentHandover", "ConsignmentAcceptance"}));

    // The notices reached the SMTP server, and say nothing of the message.
    auto mails = sink->wait_for(2, 20s);
    ASSERT_GE(mails.size(), 2u);
    std::string envelopes;
    for (std::size_t i = 0; i < mails.size(); ++i) {
        envelopes += mails[i].substr(0, mails[i].find("\r\n\r\n"));
        std::string text = SmtpSink::decode(mails[i], selo->dir() / fmt::format("notice-{}.eml", i));
        EXPECT_NE(text.find("You have new mail"), std::string::npos) << text;
        EXPECT_NE(text.find(selo->base() + "/sepbox"), std::string::npos) << text;
        for (const char* secret : {"CONFIDENTIAL", "SECRET-ATTACHMENT", "Notificação", "avaliação", "DSF/2026",
                                   "Financas"}) {
            EXPECT_EQ(text.find(secret), std::string::npos) << "the notice leaks " << secret << ":\n" << text;
        }
    }
    EXPECT_NE(envelopes.find("X-Envelope-To: chan.taiman@example.mo"), std::string::npos) << envelopes;
    EXPECT_NE(envelopes.find("X-Envelope-To: joao@example.mo"), std::string::npos) << envelopes;
    EXPECT_NE(envelopes.find("X-Envelope-From: sepbox@selo.example.mo"), std::string::npos) << envelopes;
}

TEST_F(SepboxHttp, BadSubmissionsGetClearErrorsAndLeaveNothingBehind) {
    auto total = [&](const std::string* token) {
        auto r = selo->get("/api/v1/sepbox/messages?archived=false", auth(token));
        EXPECT_EQ(r.status, 200) << r.raw;
        return r.body.is_object() ? r.body.as_object().at("total").to_number<int>() : -1;
    };
    const int before = total(joao_token);
    // Paging parameters out of range say which bound they broke.
    for (const auto& [query, says] : std::vector<std::pair<std::string, std::string>>{
             {"page=4294967297", "at most 999999"}, {"page=-1", "whole number"}, {"page=0", "starts at 1"},
             {"per_page=101", "1 to 100"}}) {
        auto r = selo->get("/api/v1/sepbox/messages?" + query, auth(joao_token));
        EXPECT_EQ(r.status, 422) << query << ": " << r.raw;
        EXPECT_NE(r.error().find(says), std::string::npos) << query << ": " << r.raw;
    }

    // Over [sepbox] max_message_bytes (1 MiB here), but within the request limit.
    auto big = letter({chan->account_id, joao->account_id});
    big["attachments"].as_array()[0].as_object()["content"] = base64_encode(Bytes(1100 * 1024, 'A'));
    auto r = selo->post("/api/v1/sepbox/messages", json::serialize(big), auth(agency_token));
    EXPECT_EQ(r.status, 413) << r.raw;
    EXPECT_NE(r.headers.find("application/problem+json"), std::string::npos) << r.headers;
    EXPECT_NE(r.error().find("at most 1048576 bytes"), std::string::npos) << r.error();

    // Only the route's callers (agencies) get the SEPBox body limit: a signed-in citizen's
    // large body is refused by the server's general limit (1 MiB) before it is read, not
    // buffered and then answered 403.
    r = selo->post("/api/v1/sepbox/messages", json::serialize(big), auth(joao_token));
    EXPECT_EQ(r.status, 413) << r.raw;
    EXPECT_NE(r.error().find("1048576"), std::string::npos) << r.raw;

    // Far beyond: refused before the body is read.
    auto huge = letter({joao->account_id});
    huge["attachments"].as_array()[0].as_object()["content"] = base64_encode(Bytes(3 * 1024 * 1024, 'A'));
    r = selo->post("/api/v1/sepbox/messages", json::serialize(huge), auth(agency_token));
    EXPECT_EQ(r.status, 413) << r.raw;

    struct Case {
        std::string body;
        int status;
        std::string says;
    };
    auto with = [&](std::string_view key, json::value v) {
        auto l = letter({joao->account_id});
        l[key] = std::move(v);
        return json::serialize(l);
    };
    auto bad_attachment = letter({joao->account_id});
    bad_attachment["attachments"].as_array()[0].as_object()["content"] = "not base64!";
    auto sneaky_name = letter({joao->account_id});
    sneaky_name["attachments"].as_array()[0].as_object()["filename"] = "../../etc/passwd";
    std::vector<Case> cases = {
        {"{\"recipients\": [", 400, "JSON"},
        {"[]", 400, "object"},
        {with("recipients", json::array{}), 400, "'recipients' is required"},
        {with("recipients", json::array{42}), 400, "account ids"},
        {with("category", "love-letter"), 422, "unknown category"},
        {with("subject", ""), 400, "'subject' is required"},
        {with("reply_by", "next tuesday"), 422, "RFC 3339"},
        {with("reply_by", "2001-01-01T00:00:00Z"), 422, "not in the future"},
        {with("priority", "high"), 400, "unknown member 'priority'"},
        {json::serialize(bad_attachment), 400, "not base64"},
        {json::serialize(sneaky_name), 422, "'filename' must be a file name"},
    };
    for (const auto& c : cases) {
        auto res = selo->post("/api/v1/sepbox/messages", c.body, auth(agency_token));
        EXPECT_EQ(res.status, c.status) << c.body << "\n" << res.raw;
        EXPECT_NE(res.error().find(c.says), std::string::npos) << c.body << "\n" << res.error();
    }
    EXPECT_EQ(total(joao_token), before) << "nothing was delivered";

    // A recipient who does not exist is rejected with a signed reason; the others get the mail.
    auto mixed = selo->post("/api/v1/sepbox/messages", json::serialize(letter({joao->account_id, "acct_missing"})),
                            auth(agency_token));
    ASSERT_EQ(mixed.status, 200) << mixed.raw;
    const auto& rs = mixed.body.as_object().at("results").as_array();
    EXPECT_EQ(rs[0].as_object().at("status").as_string(), "accepted");
    EXPECT_EQ(rs[1].as_object().at("status").as_string(), "rejected");
    EXPECT_EQ(rs[1].as_object().at("reason").as_string(), "no account with this id");
    auto ev = selo->get("/api/v1/sepbox/sent/" + std::string(rs[1].as_object().at("message_id").as_string()) +
                            "/evidence",
                        auth(agency_token));
    ASSERT_EQ(ev.status, 200) << ev.raw;
    const auto& e = ev.body.as_object().at("evidence").as_array().at(0).as_object();
    EXPECT_EQ(e.at("event").as_string(), "SubmissionRejection");
    auto der = base64_decode(std::string(e.at("cms").as_string())).value();
    EXPECT_NE(verify(std::string(as_chars(der)), "rejection").find("\"reason\":\"no account with this id\""),
              std::string::npos);
    EXPECT_EQ(total(joao_token), before + 1);
}

}  // namespace
}  // namespace selo::test
