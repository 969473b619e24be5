// SEPBox: mailboxes, messages encrypted at rest, registered-delivery evidence verified with the
// openssl CLI, the HTML sanitiser against hostile input, and notices through a real SMTP server.

#include <gtest/gtest.h>

#include "cli/data_dir.hpp"
#include "crypto/digest.hpp"
#include "sepbox/sanitise.hpp"
#include "sepbox/service.hpp"
#include "sepbox/smtp.hpp"
#include "sepbox/smtp_sink.hpp"
#include "support/test_support.hpp"

namespace selo::sepbox {
namespace {

using namespace std::chrono_literals;
using test::run;
using test::shell_quote;

// ---- the sanitiser ----------------------------------------------------------------------------

TEST(Sanitise, KeepsSimpleFormattingAndText) {
    EXPECT_EQ(sanitise_html("<p>Dear <b>陳大文</b>,<br>your <em>bill</em> is due.</p>"),
              "<p>Dear <b>陳大文</b>,<br>your <em>bill</em> is due.</p>");
    EXPECT_EQ(sanitise_html("<UL><LI>one<li>two</UL>"), "<ul><li>one<li>two</li></li></ul>");
    EXPECT_EQ(sanitise_html("5 < 6 & 7 > 3 &amp; \"q\""), "5 &lt; 6 &amp; 7 &gt; 3 &amp; &quot;q&quot;");
    EXPECT_EQ(sanitise_html("<p>unclosed <b>bold"), "<p>unclosed <b>bold</b></p>");
    EXPECT_EQ(sanitise_html("stray </div> close"), "stray  close");
}

TEST(Sanitise, RemovesEverythingThatRunsCodeOrLoadsResources) {
    const std::vector<std::string> hostile = {
        "<script>alert(1)</script>",
        "<SCRIPT SRC=//evil.example/x.js></SCRIPT>",
        "<scr<script>ipt>alert(1)</script>",
        "<img src=x onerror=alert(1)>",
        "<p onclick=\"alert(1)\">x</p>",
        "<a href=\"javascript:alert(1)\">x</a>",
        "<a href=\"  JaVaScRiPt:alert(1)\">x</a>",
        "<a href=\"java&#x09;script:alert(1)\">x</a>",
        "<a href=\"jav&#97;script:alert(1)\">x</a>",
        "<a href=\"javascript&colon;alert(1)\">x</a>",
        "<a href=\"data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==\">x</a>",
        "<a href='vbscript:msgbox(1)'>x</a>",
        "<iframe src=\"https://evil.example\"></iframe>",
        "<object data=x></object><embed src=x>",
        "<style>body{background:url(https://evil.example/t.png)}</style>",
        "<p style=\"background:url(https://evil.example/t.png)\">x</p>",
        "<link rel=stylesheet href=https://evil.example/x.css>",
        "<meta http-equiv=refresh content=\"0;url=https://evil.example\">",
        "<base href=https://evil.example/>",
        "<svg><script>alert(1)</script></svg>",
        "<svg onload=alert(1)>",
        "<math><mtext><script>alert(1)</script></mtext></math>",
        "<form action=https://evil.example><input name=pin></form>",
        "<!--<script>alert(1)</script>-->",
        "<![CDATA[<script>alert(1)</script>]]>",
        "<div \"onmouseover=alert(1)\">x</div>",
        "<a href=\"https://ok.example\" onmouseover=\"alert(1)\">x</a>",
        "<img src=\"https://tracker.example/pixel.gif\">",
        "<body background=\"https://evil.example/x\" onload=alert(1)>",
        "<textarea><script>alert(1)</script></textarea>",
        "<noscript><p title=\"</noscript><img src=x onerror=alert(1)>\"></noscript>",
        "<a href=\"https://ok.example\"<script>alert(1)</script>",
        "<<script>alert(1)//<</script>",
    };
    for (const auto& input : hostile) {
        std::string out = sanitise_html(input);
        std::string lower = out;
        std::transform(lower.begin(), lower.end(), lower.begin(), ::tolower);
        for (const char* bad : {"<script", "javascript:", "vbscript:", "data:", "onerror", "onload",
                                "onclick", "onmouseover", "<img", "<iframe", "<object", "<embed",
                                "<style", "style=", "<link", "<meta", "<base", "<svg", "<math",
                                "<form", "<input", "src=", "evil.example", "tracker.example"}) {
            EXPECT_EQ(lower.find(bad), std::string::npos) << input << "\n -> " << out;
        }
        // Only tags Selo wrote itself remain: every '<' starts an allowed tag.
        for (std::size_t i = out.find('<'); i != std::string::npos; i = out.find('<', i + 1)) {
            std::string_view rest = std::string_view(out).substr(i + 1);
            EXPECT_TRUE(rest.starts_with("a ") || rest.starts_with("a>") || rest.starts_with("/a>") ||
                        rest.starts_with("p>") || rest.starts_with("/p>") || rest.starts_with("div>") ||
                        rest.starts_with("/div>"))
                << input << "\n -> " << out;
        }
    }
    EXPECT_EQ(sanitise_html("<a href=\"https://www.gov.mo/?a=1&amp;b=2\" target=_blank>link</a>"),
              "<a href=\"https://www.gov.mo/?a=1&amp;b=2\" rel=\"noopener noreferrer nofollow\">link</a>");
    EXPECT_EQ(sanitise_html("<a href=\"mailto:dsaj@gov.mo\">mail</a>"),
              "<a href=\"mailto:dsaj@gov.mo\" rel=\"noopener noreferrer nofollow\">mail</a>");
    EXPECT_EQ(sanitise_html("<a href=\"javascript:alert(1)\">x</a>"), "<a>x</a>");
}

TEST(Sanitise, TextOfAnHtmlBody) {
    EXPECT_EQ(html_to_text("<h1>Aviso</h1><p>Caro João &amp; Maria,</p><script>x()</script><p>pague até&nbsp;31/12.</p>"),
              "Aviso\nCaro João & Maria,\npague até\u00a031/12.");
}

// ---- smtp pieces ------------------------------------------------------------------------------

TEST(Smtp, DotStuffingAndLineEnds) {
    EXPECT_EQ(dot_stuff(".hidden\nline\r\n..two\n.\nend"), "..hidden\r\nline\r\n...two\r\n..\r\nend");
    SmtpOptions o;
    o.from = "sepbox@selo.example.mo";
    std::string data = smtp_data(o, {"a@example.mo", "Olá", ".starts with a dot\n"},
                                 from_unix_seconds(1764777600), "abc");
    EXPECT_TRUE(data.ends_with("\r\n.\r\n"));
    EXPECT_NE(data.find("Subject: =?UTF-8?B?T2zDoQ==?=\r\n"), std::string::npos) << data;
    EXPECT_NE(data.find("Date: Wed, 03 Dec 2025 16:00:00 +0000\r\n"), std::string::npos) << data;
    EXPECT_FALSE(plausible_address("a b@example.mo"));
    EXPECT_FALSE(plausible_address("<a@example.mo>"));
    EXPECT_FALSE(plausible_address("nobody"));
    EXPECT_TRUE(plausible_address("chan.taiman@example.mo"));
}

TEST(Time, Rfc3339) {
    EXPECT_EQ(format_time(parse_time("2026-12-31T17:00:00+08:00").value()), "2026-12-31T09:00:00Z");
    EXPECT_EQ(format_time(parse_time("2026-02-28T23:59:59.25Z").value()), "2026-02-28T23:59:59Z");
    for (const char* bad : {"2026-02-29T00:00:00Z", "2026-12-31", "2026-12-31T25:00:00Z",
                            "2026-12-31T10:00:00", "tomorrow", "2026-12-31T10:00:00+8:00"}) {
        EXPECT_FALSE(parse_time(bad).has_value()) << bad;
    }
}

// A TimePoint counts nanoseconds in 64 bits (until 2262-04-11): later dates wrapped round, so
// "2700-01-01" became a reply_by in 2115, written so into signed evidence.
TEST(Time, Rfc3339OutsideTheClockRangeIsRefusedNotWrapped) {
    EXPECT_EQ(format_time(parse_time("2262-04-11T00:00:00Z").value()), "2262-04-11T00:00:00Z");
    for (const char* far : {"2700-01-01T00:00:00Z", "9999-12-31T23:59:59Z", "2262-04-12T00:00:00Z",
                            "1600-01-01T00:00:00Z"}) {
        auto t = parse_time(far);
        ASSERT_FALSE(t.has_value()) << far << " read as " << format_time(*t);
        EXPECT_NE(t.error().message.find("out of range"), std::string::npos) << t.error().message;
    }
}

TEST(SepboxConfig, SectionsAreReadAndCheckedAndInitWritesThemAsComments) {
    auto c = parse_config("[sepbox]\nmax_message_bytes = 1000\nmax_recipients = 5\n"
                          "[smtp]\nhost = \"mail.example.mo\"\nport = 587\nfrom = \"a@b.mo\"\n",
                          "test").value();
    EXPECT_EQ(c.sepbox.max_message_bytes, 1000u);
    EXPECT_EQ(c.sepbox.max_recipients, 5u);
    EXPECT_EQ(c.smtp.host, "mail.example.mo");
    EXPECT_EQ(c.smtp.port, 587u);
    EXPECT_FALSE(parse_config("[sepbox]\nmax_mesage_bytes = 1\n", "test").has_value()) << "typo refused";
    EXPECT_FALSE(parse_config("[smtp]\nport = 70000\n", "test").has_value());
    EXPECT_FALSE(parse_config("[smtp]\nfrom = \"nobody\"\n", "test").has_value());
    EXPECT_FALSE(parse_config("[sepbox]\nmax_message_bytes = 0\n", "test").has_value());
    Config defaults;
    std::string rendered = render_config(defaults);
    EXPECT_NE(rendered.find("# [smtp]"), std::string::npos);
    auto again = parse_config(rendered + "\n[smtp]\nhost = \"relay\"\n", "rendered").value();
    EXPECT_EQ(again.smtp.host, "relay");
    EXPECT_EQ(again.sepbox.max_message_bytes, defaults.sepbox.max_message_bytes);
}

// ---- the service over a real data directory ---------------------------------------------------

class Sepbox : public ::testing::Test {
protected:
    void SetUp() override {
        rt = cli::Runtime::create(dir / "data", {}, clock, rng).value();
        agency = open_account("澳門政府服務局", "Direccao dos Servicos", "AG-1", "agency@gov.mo",
                              {account::Role::agency}, account::IdentityDocument::staff_card);
        chan = open_account("陳大文", "CHAN Tai Man", "5215299(8)", "chan.taiman@example.mo");
        joao = open_account("João Conceição", "João Conceição", "1234567(1)", "joao@example.mo");
        auto root = rt->cas().find("root").value().value();
        test::write_file(dir / "root.pem", pki::Certificate::from_der(root.certificate_der).value().pem());
    }

    std::string open_account(const std::string& name, const std::string& latin, const std::string& id,
                             const std::string& email, std::vector<account::Role> roles = {account::Role::citizen},
                             account::IdentityDocument type = account::IdentityDocument::identity_card) {
        account::Person p;
        p.name = name;
        p.latin_name = latin;
        p.id_number = id;
        p.id_type = type;
        p.email = email;
        return rt->accounts().open(p, roles).value().account.id;
    }

    Submission letter(std::vector<std::string> to) {
        Submission s;
        s.sender_id = agency;
        s.recipients = std::move(to);
        s.subject = "Notificação 2026/77 — 稅務";
        s.body_text = "CONFIDENTIAL-BODY-7781: please find the decision attached.";
        s.body_html = "<p>CONFIDENTIAL-BODY-7781 <script>steal()</script></p>";
        s.category = Category::official_letter;
        s.sender_reference = "DSF/2026/77";
        s.reply_by = clock.now() + 72h;
        s.attachments.push_back({"decisão.pdf", "application/pdf",
                                 to_bytes("%PDF-1.7 SECRET-ATTACHMENT-4242 %%EOF")});
        return s;
    }

    // `openssl cms -verify` against Selo's root alone; answers the verified content.
    std::string openssl_verify(const EvidenceRecord& e, int* exit_code = nullptr) {
        test::write_file(dir / "ev.der", e.cms);
        auto r = run("openssl cms -verify -binary -inform DER -in " + shell_quote((dir / "ev.der").string()) +
                     " -CAfile " + shell_quote((dir / "root.pem").string()) + " -out " +
                     shell_quote((dir / "ev.json").string()) + " 2>&1");
        if (exit_code != nullptr) {
            *exit_code = r.exit_code;
        }
        EXPECT_NE(r.output.find("Verification successful"), std::string::npos) << r.output;
        auto content = test::read_file(dir / "ev.json");
        return std::string(content.begin(), content.end());
    }

    std::int64_t count(std::string_view table) {
        return rt->database().query_one(fmt::format("SELECT COUNT(*) FROM {}", table)).value()->integer(0).value();
    }

    test::TempDir dir;
    FakeClock clock{from_unix_seconds(1796000000)};  // 2026-11-29
    SystemRng rng;
    std::unique_ptr<cli::Runtime> rt;
    std::string agency, chan, joao;
};

TEST_F(Sepbox, BulkLetterIsDeliveredWithSignedEvidenceAndHandedOverOnFirstReading) {
    auto& svc = rt->sepbox();
    auto results = svc.submit(letter({chan, joao})).value();
    ASSERT_EQ(results.size(), 2u);
    for (const auto& r : results) {
        EXPECT_TRUE(r.accepted) << r.reason;
        EXPECT_EQ(r.evidence_ids.size(), 2u);
    }
    EXPECT_NE(results[0].message_id, results[1].message_id);

    auto page = svc.list(chan, {}).value();
    ASSERT_EQ(page.total, 1u);
    EXPECT_EQ(page.messages[0].subject, "Notificação 2026/77 — 稅務");
    EXPECT_FALSE(page.messages[0].read);
    EXPECT_TRUE(page.messages[0].body_text.empty()) << "listings carry no bodies";

    auto evidence = svc.evidence(agency, results[0].message_id).value();
    ASSERT_EQ(evidence.size(), 2u);
    EXPECT_EQ(evidence[0].event, Event::submission_acceptance);
    EXPECT_EQ(evidence[1].event, Event::content_consignment);

    auto m = svc.open(chan, results[0].message_id).value();
    EXPECT_EQ(m.body_text, "CONFIDENTIAL-BODY-7781: please find the decision attached.");
    EXPECT_EQ(m.body_html, "<p>CONFIDENTIAL-BODY-7781 </p>");
    EXPECT_EQ(m.sender_reference, "DSF/2026/77");
    ASSERT_EQ(m.attachments.size(), 1u);
    EXPECT_EQ(m.attachments[0].filename, "decisão.pdf");
    auto d = svc.attachment(chan, results[0].message_id, 1).value();
    EXPECT_EQ(std::string(as_chars(d.content)), "%PDF-1.7 SECRET-ATTACHMENT-4242 %%EOF");
    EXPECT_TRUE(svc.list(chan, {}).value().messages[0].read);

    // Handover is recorded once, at the first opening.
    (void)svc.open(chan, results[0].message_id).value();
    evidence = svc.evidence(agency, results[0].message_id).value();
    ASSERT_EQ(evidence.size(), 3u);
    EXPECT_EQ(evidence[2].event, Event::content_handover);

    // Every evidence verifies with openssl against the root alone, and states the facts.
    std::string pdf_digest = hex_encode(crypto::sha256(as_bytes("%PDF-1.7 SECRET-ATTACHMENT-4242 %%EOF")));
    for (const auto& e : evidence) {
        std::string doc = openssl_verify(e);
        EXPECT_EQ(doc, std::string(as_chars(e.canonical)));
        EXPECT_NE(doc.find(fmt::format("\"event\":\"{}\"", event_name(e.event))), std::string::npos) << doc;
        EXPECT_NE(doc.find("\"message_id\":\"" + results[0].message_id + "\""), std::string::npos);
        EXPECT_NE(doc.find("\"account_id\":\"" + chan + "\""), std::string::npos);
        EXPECT_NE(doc.find(pdf_digest), std::string::npos) << doc;
        EXPECT_EQ(doc.find("CONFIDENTIAL"), std::string::npos) << "evidence holds digests, not content";
    }
    // The seal is a legal-person-seal certificate from the institutions CA.
    auto seal = rt->sepbox_repository().latest_seal().value().value();
    auto cert = pki::Certificate::from_der(seal.certificate_der).value();
    EXPECT_NE(cert.issuer().find("Institutions CA"), std::string::npos) << cert.issuer();

    // A changed byte fails verification.
    auto tampered = evidence[0];
    auto pos = std::string(as_chars(tampered.cms)).find("SubmissionAcceptance");
    ASSERT_NE(pos, std::string::npos);
    tampered.cms[pos] = 'X';
    test::write_file(dir / "bad.der", tampered.cms);
    auto bad = run("openssl cms -verify -binary -inform DER -in " + shell_quote((dir / "bad.der").string()) +
                   " -CAfile " + shell_quote((dir / "root.pem").string()) + " -out /dev/null 2>&1");
    EXPECT_NE(bad.exit_code, 0) << bad.output;
}

TEST_F(Sepbox, ContentIsEncryptedAtRest) {
    auto& svc = rt->sepbox();
    auto r = svc.submit(letter({chan})).value();
    ASSERT_TRUE(r[0].accepted);
    ASSERT_TRUE(svc.open(chan, r[0].message_id).has_value());
    rt.reset();  // close the database
    std::string everything;
    for (const char* f : {"selo.db", "selo.db-wal"}) {
        if (std::filesystem::exists(dir / "data" / f)) {
            auto b = test::read_file(dir / "data" / f);
            everything.append(b.begin(), b.end());
        }
    }
    ASSERT_GT(everything.size(), 10000u);
    for (const char* secret : {"CONFIDENTIAL-BODY-7781", "SECRET-ATTACHMENT-4242", "Notificação 2026/77",
                               "decisão.pdf", "steal()"}) {
        EXPECT_EQ(everything.find(secret), std::string::npos) << secret << " is stored in the clear";
    }
}

TEST_F(Sepbox, CitizensSeeOnlyTheirOwnMail) {
    auto& svc = rt->sepbox();
    auto r = svc.submit(letter({chan})).value();
    auto other = svc.open(joao, r[0].message_id);
    ASSERT_FALSE(other.has_value());
    EXPECT_EQ(other.error().code, ErrorCode::not_found);
    EXPECT_EQ(svc.attachment(joao, r[0].message_id, 1).error().code, ErrorCode::not_found);
    EXPECT_EQ(svc.mark_read(joao, r[0].message_id, true).error().code, ErrorCode::not_found);
    EXPECT_EQ(svc.list(joao, {}).value().total, 0u);
    // Nor does anyone but the sender get the evidence.
    EXPECT_EQ(svc.evidence(chan, r[0].message_id).error().code, ErrorCode::not_found);
    // And reading it as someone else is no handover.
    EXPECT_EQ(svc.evidence(agency, r[0].message_id).value().size(), 2u);
}

TEST_F(Sepbox, RejectedRecipientsGetSignedRejectionsAndBadSubmissionsWriteNothing) {
    auto& svc = rt->sepbox();
    auto results = svc.submit(letter({chan, "acct_nobody", chan, agency})).value();
    ASSERT_EQ(results.size(), 4u);
    EXPECT_TRUE(results[0].accepted);
    EXPECT_FALSE(results[1].accepted);
    EXPECT_EQ(results[1].reason, "no account with this id");
    EXPECT_FALSE(results[2].accepted) << "listed twice";
    EXPECT_FALSE(results[3].accepted) << "an agency's staff account has no mailbox";
    auto rejection = svc.evidence(agency, results[1].message_id).value();
    ASSERT_EQ(rejection.size(), 1u);
    EXPECT_EQ(rejection[0].event, Event::submission_rejection);
    std::string doc = openssl_verify(rejection[0]);
    EXPECT_NE(doc.find("\"reason\":\"no account with this id\""), std::string::npos) << doc;

    auto messages = count("sepbox_messages");
    auto parts = count("sepbox_parts");
    auto evidence = count("sepbox_evidence");
    auto outbox = count("sepbox_outbox");
    auto big = letter({chan, joao});
    big.attachments.push_back({"big.bin", "application/octet-stream",
                               Bytes(svc.options().max_message_bytes, 0x41)});
    auto too_large = svc.submit(big);
    ASSERT_FALSE(too_large.has_value());
    EXPECT_EQ(too_large.error().code, ErrorCode::too_large);
    auto s = letter({chan});
    s.subject = "   ";
    EXPECT_EQ(svc.submit(s).error().code, ErrorCode::invalid_argument);
    s = letter({chan});
    s.subject = "bad \xC3\x28 utf-8";
    EXPECT_EQ(svc.submit(s).error().code, ErrorCode::malformed);
    s = letter({chan});
    s.attachments[0].filename = "../../etc/passwd";
    EXPECT_EQ(svc.submit(s).error().code, ErrorCode::invalid_argument);
    s = letter({chan});
    s.reply_by = clock.now() - 1h;
    EXPECT_EQ(svc.submit(s).error().code, ErrorCode::invalid_argument);
    EXPECT_EQ(count("sepbox_messages"), messages);
    EXPECT_EQ(count("sepbox_parts"), parts);
    EXPECT_EQ(count("sepbox_evidence"), evidence);
    EXPECT_EQ(count("sepbox_outbox"), outbox);
}

// "factura\u202Efdp.exe" displays as "facturaexe.pdf" (Unicode TR36 §2.2, bidirectional text
// spoofing): a recipient would open a program that looks like a PDF.
TEST_F(Sepbox, AttachmentNamesWithBidiOrInvisibleControlsAreRefused) {
    auto& svc = rt->sepbox();
    auto messages = count("sepbox_messages");
    for (const char* name : {"factura\u202Efdp.exe", "a\u2066b.pdf", "a\u200Fb.pdf", "a\u061Cb.pdf",
                             "a\u200Bb.pdf", "\uFEFFa.pdf"}) {
        auto s = letter({chan});
        s.attachments[0].filename = name;
        auto r = svc.submit(s);
        ASSERT_FALSE(r.has_value()) << name;
        EXPECT_EQ(r.error().code, ErrorCode::invalid_argument) << name;
        EXPECT_NE(r.error().message.find("U+"), std::string::npos) << r.error().message;
    }
    EXPECT_EQ(count("sepbox_messages"), messages);
    auto ok = letter({chan});
    ok.attachments[0].filename = "稅單 avaliação (2026).pdf";
    EXPECT_TRUE(svc.submit(ok).has_value());
}

TEST_F(Sepbox, OfficialLettersAreAcceptedRejectedOrExpire) {
    auto& svc = rt->sepbox();
    auto r = svc.submit(letter({chan, joao})).value();
    auto accepted = svc.decide(chan, r[0].message_id, true, "").value();
    EXPECT_EQ(accepted.event, Event::consignment_acceptance);
    openssl_verify(accepted);
    EXPECT_EQ(svc.decide(chan, r[0].message_id, false, "changed my mind").error().code, ErrorCode::conflict);
    EXPECT_EQ(svc.expire_overdue().value(), 0u);

    clock.advance(73h);
    EXPECT_EQ(svc.decide(joao, r[1].message_id, true, "").error().code, ErrorCode::expired);
    EXPECT_EQ(svc.expire_overdue().value(), 1u);
    EXPECT_EQ(svc.expire_overdue().value(), 0u) << "recorded once";
    auto ev = svc.evidence(agency, r[1].message_id).value();
    EXPECT_EQ(ev.back().event, Event::acceptance_rejection_expiry);
    std::string doc = openssl_verify(ev.back());
    EXPECT_NE(doc.find("\"event\":\"AcceptanceRejectionExpiry\""), std::string::npos);
    // The letter was never opened: no handover.
    for (const auto& e : ev) {
        EXPECT_NE(e.event, Event::content_handover);
    }
    // Notifications cannot be accepted.
    auto n = letter({chan});
    n.category = Category::notification;
    n.reply_by.reset();
    auto nr = svc.submit(n).value();
    EXPECT_EQ(svc.decide(chan, nr[0].message_id, true, "").error().code, ErrorCode::conflict);
}

TEST_F(Sepbox, ListingPagesFiltersSearchesAndArchives) {
    auto& svc = rt->sepbox();
    std::vector<std::string> ids;
    for (int i = 0; i < 5; ++i) {
        auto s = letter({chan});
        s.subject = fmt::format("Factura {}", i);
        s.category = i % 2 == 0 ? Category::bill : Category::notification;
        s.reply_by.reset();
        ids.push_back(svc.submit(s).value()[0].message_id);
        clock.advance(1min);
    }
    ListQuery q;
    q.per_page = 2;
    auto p1 = svc.list(chan, q).value();
    EXPECT_EQ(p1.total, 5u);
    ASSERT_EQ(p1.messages.size(), 2u);
    EXPECT_EQ(p1.messages[0].subject, "Factura 4") << "newest first";
    q.page = 3;
    EXPECT_EQ(svc.list(chan, q).value().messages.size(), 1u);
    ListQuery bills;
    bills.filter.category = Category::bill;
    EXPECT_EQ(svc.list(chan, bills).value().total, 3u);
    ListQuery search;
    search.search = "factura 3";
    auto found = svc.list(chan, search).value();
    ASSERT_EQ(found.total, 1u);
    EXPECT_EQ(found.messages[0].id, ids[3]);
    search.search = "servicos";  // the sender's Latin name
    EXPECT_EQ(svc.list(chan, search).value().total, 5u);

    ASSERT_TRUE(svc.mark_read(chan, ids[0], true).has_value());
    ListQuery unread;
    unread.filter.unread_only = true;
    EXPECT_EQ(svc.list(chan, unread).value().total, 4u);
    ASSERT_TRUE(svc.archive(chan, ids[1], true).has_value());
    EXPECT_EQ(svc.list(chan, {}).value().total, 4u);
    ListQuery archived;
    archived.filter.archived = true;
    EXPECT_EQ(svc.list(chan, archived).value().messages.at(0).id, ids[1]);
    // Marking read is not a handover: only opening is.
    EXPECT_EQ(svc.evidence(agency, ids[0]).value().size(), 2u);
}

TEST_F(Sepbox, SystemPostDeliversSelosOwnMessages) {
    SystemPost& post = rt->sepbox();
    ASSERT_TRUE(post.ensure_mailbox(chan).has_value());
    ASSERT_TRUE(post.ensure_mailbox(chan).has_value()) << "idempotent";
    EXPECT_EQ(post.ensure_mailbox("acct_nobody").error().code, ErrorCode::not_found);
    auto id = post.post(chan, {"Activate eSignCloud", "Your activation code: 123-456", "notification", "activation"});
    ASSERT_TRUE(id.has_value()) << id.error().message;
    auto m = rt->sepbox().open(chan, *id).value();
    EXPECT_EQ(m.body_text, "Your activation code: 123-456");
    EXPECT_EQ(m.sender_reference, "activation");
    EXPECT_EQ(m.sender_id, "selo");
}

TEST_F(Sepbox, TheSealIsIssuedOnFirstUseAndRenewedBeforeItExpires) {
    auto& svc = rt->sepbox();
    EXPECT_FALSE(rt->sepbox_repository().latest_seal().value().has_value()) << "none before first use";
    ASSERT_TRUE(svc.submit(letter({chan})).has_value());
    auto first = rt->sepbox_repository().latest_seal().value().value();
    ASSERT_TRUE(svc.submit(letter({chan})).has_value());
    EXPECT_EQ(rt->sepbox_repository().latest_seal().value()->key_id, first.key_id) << "reused";

    // 29 days before it expires, the next evidence is sealed with a new certificate.
    clock.set(first.not_after - std::chrono::days(29));
    auto s = letter({chan});
    s.reply_by = clock.now() + 24h;
    auto r = svc.submit(s).value();
    auto second = rt->sepbox_repository().latest_seal().value().value();
    EXPECT_NE(second.key_id, first.key_id);
    EXPECT_GT(second.not_after, first.not_after);
    auto cms_der = svc.evidence(agency, r[0].message_id).value().at(0).cms;
    auto cert = pki::Certificate::from_der(second.certificate_der).value();
    // The new certificate is the one inside the signature.
    std::string cms(as_chars(cms_der));
    EXPECT_NE(cms.find(std::string(as_chars(cert.der()))), std::string::npos);
}

TEST_F(Sepbox, EvidenceIsTimeStampedAndLoggedWhenThoseServicesAreWired) {
    struct Stamper : TimeStamper {
        Result<Bytes> time_stamp(const TimeStampRequest& r) override {
            requests.push_back(r);
            return to_bytes("token-for-" + hex_encode(r.digest));
        }
        std::vector<TimeStampRequest> requests;
    } stamper;
    struct Log : TrustLog {
        Result<LogReceipt> append(std::string_view type, ByteView entry) override {
            entries.emplace_back(std::string(type), Bytes(entry.begin(), entry.end()));
            return LogReceipt{entries.size() - 1, {}, {}};
        }
        std::vector<std::pair<std::string, Bytes>> entries;
    } log;
    auto* ca = rt->authority("institutions").value();
    Seal seal(rt->keys(), *ca, {ca->certificate()}, rt->sepbox_repository(), clock, rng, {});
    EvidenceMaker maker(seal, &stamper, &log, "http://selo.test");
    EvidenceFacts f;
    f.event = Event::content_handover;
    f.evidence_id = "ev_1";
    f.message_id = "msg_1";
    f.at = clock.now();
    f.parts.push_back({"subject", 3, crypto::sha256(std::string_view("abc"))});
    auto ev = maker.make(f).value();
    ASSERT_EQ(stamper.requests.size(), 1u);
    EXPECT_EQ(stamper.requests[0].hash_algorithm_oid, "2.16.840.1.101.3.4.2.1");
    EXPECT_EQ(stamper.requests[0].digest, crypto::sha256(ev.cms));
    EXPECT_EQ(std::string(as_chars(ev.timestamp_token)), "token-for-" + hex_encode(crypto::sha256(ev.cms)));
    ASSERT_EQ(log.entries.size(), 1u);
    EXPECT_EQ(log.entries[0].first, "delivery-evidence");
    EXPECT_EQ(log.entries[0].second, ev.cms);
    EXPECT_EQ(ev.log_index, 0u);
    EXPECT_EQ(std::string(as_chars(ev.canonical)),
              "{\"category\":\"notification\",\"event\":\"ContentHandover\",\"evidence_id\":\"ev_1\","
              "\"issuer\":\"http://selo.test\",\"message_id\":\"msg_1\",\"parts\":[{\"name\":\"subject\","
              "\"sha256\":\"ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad\",\"size\":3}],"
              "\"recipient\":{\"account_id\":\"\"},\"sender\":{\"account_id\":\"\",\"name\":\"\"},"
              "\"time\":\"2026-11-30T00:53:20Z\",\"type\":\"selo-sepbox-evidence\",\"version\":1}");
    openssl_verify(ev);
}

TEST_F(Sepbox, NoticesGoThroughARealSmtpServerAndAreRetriedWithBackOff) {
    auto& svc = rt->sepbox();
    auto r = svc.submit(letter({chan, joao})).value();
    ASSERT_TRUE(r[0].accepted && r[1].accepted);

    // The relay is down: each notice is rescheduled, nothing is lost.
    SmtpOptions opts;
    opts.port = test::free_port();
    opts.from = "sepbox@selo.example.mo";
    opts.timeout = 5s;
    SmtpTransport down(opts, clock, rng);
    NoticeDispatcher failing(rt->sepbox_repository(), down, clock);
    EXPECT_EQ(failing.run_once().value(), 0u);
    auto attempts = rt->database().query("SELECT attempts, next_attempt_at, last_error FROM sepbox_outbox").value();
    ASSERT_EQ(attempts.size(), 2u);
    EXPECT_EQ(attempts[0].integer(0).value(), 1);
    EXPECT_EQ(attempts[0].integer(1).value(), unix_seconds(clock.now() + 60s));
    EXPECT_FALSE(attempts[0].text(2).value().empty());
    EXPECT_EQ(failing.run_once().value(), 0u) << "not due yet";
    // A notice another process holds is not sent twice.
    EXPECT_TRUE(rt->sepbox_repository().claim_notice(1, clock.now() + 60s, clock.now() + 60s + 5min).value());
    EXPECT_FALSE(rt->sepbox_repository().claim_notice(1, clock.now() + 61s, clock.now() + 61s + 5min).value());

    test::SmtpSink sink;
    std::string why = sink.start(dir / "mail");
    if (!why.empty()) {
        GTEST_SKIP() << why;
    }
    opts.port = sink.port();
    SmtpTransport up(opts, clock, rng);
    NoticeDispatcher sending(rt->sepbox_repository(), up, clock);
    clock.advance(61s);
    EXPECT_EQ(sending.run_once().value(), 1u) << "the claimed one waits for its lease";
    clock.advance(5min);
    EXPECT_EQ(sending.run_once().value(), 1u);
    EXPECT_EQ(sending.run_once().value(), 0u) << "sent once";
    auto mails = sink.wait_for(2, 10s);
    ASSERT_EQ(mails.size(), 2u);
    std::string all = mails[0] + mails[1];
    EXPECT_NE(all.find("X-Envelope-To: chan.taiman@example.mo"), std::string::npos) << all;
    EXPECT_NE(all.find("X-Envelope-To: joao@example.mo"), std::string::npos) << all;
    for (std::size_t i = 0; i < mails.size(); ++i) {
        std::string text = test::SmtpSink::decode(mails[i], dir / fmt::format("mail-{}.eml", i));
        EXPECT_NE(text.find("Subject: SEPBox: 您有新郵件 / Tem correio novo / You have new mail"),
                  std::string::npos) << text;
        EXPECT_NE(text.find("/sepbox"), std::string::npos) << text;
        for (const char* secret : {"CONFIDENTIAL", "SECRET-ATTACHMENT", "Notificação", "decisão", "DSF/2026"}) {
            EXPECT_EQ(text.find(secret), std::string::npos) << "the notice leaks " << secret << ":\n" << text;
        }
    }
}

}  // namespace
}  // namespace selo::sepbox
