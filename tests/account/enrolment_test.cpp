// Counter enrolment, the slip, eSignCloud activation through the (fake) mailbox, recovery and
// the subscription, through the real services and database with a fake clock. Outputs are
// checked with independent tools: pdftotext and qpdf for the slip, zbarimg for the QR code.

#include <gtest/gtest.h>

#include <regex>

#include "account/fake_post.hpp"
#include "account/slip.hpp"
#include "cli/data_dir.hpp"
#include "otp/otp.hpp"
#include "otp/qr.hpp"
#include "store/repositories.hpp"
#include "support/test_support.hpp"

namespace selo::account {
namespace {

using namespace std::chrono_literals;

class RecordingRevoker final : public cloudsign::CertificateRevoker {
public:
    Result<void> revoke(std::string_view ca, std::string_view serial, std::string_view reason) override {
        revoked.push_back(fmt::format("{}/{}/{}", ca, serial, reason));
        return {};
    }
    std::vector<std::string> revoked;
};

class EnrolmentTest : public ::testing::Test {
protected:
    void SetUp() override {
        auto rt = cli::Runtime::create(dir / "data", {}, clock, rng, &post);
        ASSERT_TRUE(rt.has_value()) << rt.error().message;
        runtime = std::move(*rt);
        Person staff;
        staff.name = "李小明";
        staff.latin_name = "LEI Sio Meng";
        staff.id_type = IdentityDocument::staff_card;
        staff.id_number = "S-0042";
        staff.email = "lei@selo.example.mo";
        auto c = runtime->accounts().open(staff, {Role::clerk});
        ASSERT_TRUE(c) << c.error().message;
        clerk = c->account;
    }

    EnrolmentRequest chan() {
        EnrolmentRequest r;
        r.person.name = "陳大文";
        r.person.latin_name = "CHAN Tai Man";
        r.person.id_number = "5215299(8)";
        r.person.email = "chan.taiman@example.mo";
        r.date_of_birth = "1980-02-29";
        r.phone = "+853 6612 3456";
        r.postal_address = "澳門議事亭前地 1 號\nLargo do Senado 1, Macau";
        return r;
    }

    EnrolmentRequest joao() {
        EnrolmentRequest r = chan();
        r.person.name = "João Conceição";
        r.person.latin_name = "João Conceição";
        r.person.id_number = "1234567(1)";
        r.person.email = "joao@example.mo";
        return r;
    }

    // The activation code inside the newest activation message of the account.
    std::string code_in_mailbox(const std::string& account_id) {
        auto inbox = post.inbox(account_id);
        EXPECT_FALSE(inbox.empty());
        if (inbox.empty()) {
            return {};
        }
        std::smatch m;
        const std::string& body = inbox.back().message.body_text;
        EXPECT_TRUE(std::regex_search(body, m, std::regex("([A-Z0-9]{4}-[A-Z0-9]{4}-[A-Z0-9]{4})"))) << body;
        return m.size() > 1 ? m[1].str() : std::string();
    }

    static Bytes secret_of(const std::string& otpauth) {
        std::smatch m;
        EXPECT_TRUE(std::regex_search(otpauth, m, std::regex("secret=([A-Z2-7]+)"))) << otpauth;
        auto s = otp::base32_decode(m[1].str());
        EXPECT_TRUE(s.has_value());
        return s ? *s : Bytes{};
    }

    Result<std::size_t> count(std::string_view table) {
        auto row = SELO_TRY(runtime->database().query_one(fmt::format("SELECT count(*) FROM {}", table)));
        return static_cast<std::size_t>(row->integer(0).value());
    }

    // Enrols, enters the code and confirms with PIN and a first OTP: a usable credential.
    struct Activated {
        EnrolmentResult enrolled;
        Bytes secret;
        cloudsign::Credential credential;
    };
    Activated enrol_and_activate(const EnrolmentRequest& r, const std::string& pin) {
        Activated a;
        auto e = runtime->enrolment().enrol(clerk, r);
        EXPECT_TRUE(e) << e.error().message;
        a.enrolled = *e;
        auto p = runtime->enrolment().enter_code(e->account, code_in_mailbox(e->account.id));
        EXPECT_TRUE(p) << p.error().message;
        a.secret = secret_of(p->otpauth_uri);
        auto done = runtime->activation().confirm(e->account, pin, otp::totp(a.secret, clock.now()));
        EXPECT_TRUE(done) << done.error().message;
        if (done && done->credential) {
            a.credential = *done->credential;
        }
        return a;
    }

    Result<cloudsign::Activation> authorize(const Activated& a, const std::string& pin) {
        clock.advance(30s);
        auto account = SELO_TRY(runtime->accounts().find(a.enrolled.account.id));
        cloudsign::AuthorizeRequest r;
        r.account_id = account.id;
        r.credential_id = a.credential.id;
        r.num_signatures = 1;
        r.hashes = {crypto::sha256(as_bytes(fmt::format("doc {}", unix_seconds(clock.now()))))};
        r.pin = pin;
        r.otp = otp::totp(a.secret, clock.now());
        return runtime->cloudsign().authorize(r);
    }

    test::TempDir dir;
    FakeClock clock{std::chrono::floor<std::chrono::seconds>(std::chrono::system_clock::now())};
    SystemRng rng;
    test::FakePost post;
    std::unique_ptr<cli::Runtime> runtime;
    Account clerk;
};

TEST_F(EnrolmentTest, OneCallOpensAccountMailboxFreeYearAndActivationMessage) {
    auto e = runtime->enrolment().enrol(clerk, chan());
    ASSERT_TRUE(e) << e.error().message;
    EXPECT_TRUE(e->account.has_role(Role::citizen));
    EXPECT_TRUE(e->account.must_change_password);
    EXPECT_FALSE(e->account.has_authenticator()) << "paired only at activation";
    EXPECT_TRUE(post.mailboxes.contains(e->account.id));
    ASSERT_TRUE(e->subscription.has_value());
    EXPECT_EQ(e->subscription->paid_until, clock.now() + std::chrono::days(365));
    auto inbox = post.inbox(e->account.id);
    ASSERT_EQ(inbox.size(), 1u);
    EXPECT_NE(inbox[0].message.subject.find("eSignCloud"), std::string::npos);
    EXPECT_TRUE(inbox[0].message.sender_reference.starts_with("esigncloud-activation:"));
    std::string code = code_in_mailbox(e->account.id);
    auto stored = runtime->database().query("SELECT code_hash FROM activation_codes");
    ASSERT_TRUE(stored.has_value());
    ASSERT_EQ(stored->size(), 1u);
    const Bytes hash = (*stored)[0].blob(0).value();
    EXPECT_EQ(std::search(hash.begin(), hash.end(), code.begin(), code.end()), hash.end())
        << "only a keyed hash of the code is stored";
    EXPECT_EQ(hash.size(), 32u);
}

TEST_F(EnrolmentTest, DuplicateIdentityDocumentIsRefusedWithNothingWritten) {
    ASSERT_TRUE(runtime->enrolment().enrol(clerk, chan()));
    auto before_accounts = *count("accounts"), before_enrolments = *count("enrolments");
    auto before_codes = *count("activation_codes");
    EnrolmentRequest again = chan();
    again.person.name = "陳小文";
    auto dup = runtime->enrolment().enrol(clerk, again);
    ASSERT_FALSE(dup);
    EXPECT_EQ(dup.error().code, ErrorCode::conflict);
    EXPECT_EQ(*count("accounts"), before_accounts);
    EXPECT_EQ(*count("enrolments"), before_enrolments);
    EXPECT_EQ(*count("activation_codes"), before_codes);
}

TEST_F(EnrolmentTest, AFailedMailboxLeavesNoAccountBehind) {
    class BrokenPost final : public SystemPost {
    public:
        Result<void> ensure_mailbox(std::string_view) override { return {}; }
        Result<std::string> post(std::string_view, const SystemMessage&) override {
            return fail(ErrorCode::unavailable, "mail store is down");
        }
    } broken;
    auto rt = cli::Runtime::open(dir / "data", clock, rng, &broken);
    ASSERT_TRUE(rt.has_value());
    auto before = *count("accounts");
    auto r = (*rt)->enrolment().enrol(clerk, joao());
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, ErrorCode::unavailable);
    EXPECT_EQ(*count("accounts"), before) << "the account was rolled back with the message";
    EXPECT_EQ(*count("subscription_payments"), 0u);
}

TEST_F(EnrolmentTest, BadCounterInputIsRefusedClearly) {
    auto why = [&](EnrolmentRequest r) {
        auto e = runtime->enrolment().enrol(clerk, r);
        return e ? std::string("accepted") : e.error().message;
    };
    auto r = chan();
    r.date_of_birth = "1981-02-29";
    EXPECT_NE(why(r).find("not a date"), std::string::npos);
    r = chan();
    r.date_of_birth = "2999-01-01";
    EXPECT_NE(why(r).find("future"), std::string::npos);
    r = chan();
    r.phone = "call me";
    EXPECT_NE(why(r).find("phone"), std::string::npos);
    r = chan();
    r.postal_address = " ";
    EXPECT_NE(why(r).find("postal_address"), std::string::npos);
    r = chan();
    r.sepbox = false;
    EXPECT_NE(why(r).find("needs SEPBox"), std::string::npos);
    EXPECT_EQ(*count("accounts"), 1u) << "only the clerk";
}

TEST_F(EnrolmentTest, SlipIsAPdfInChineseAndPortugueseShownOnceToTheEnrollingClerk) {
    if (!test::have_tool("pdftotext") || !test::have_tool("qpdf")) {
        GTEST_SKIP() << "needs pdftotext (poppler-utils) and qpdf";
    }
    auto e = runtime->enrolment().enrol(clerk, joao());
    ASSERT_TRUE(e) << e.error().message;
    Account other_clerk = clerk;
    other_clerk.id = "acc_someoneelse";
    EXPECT_EQ(runtime->enrolment().take_slip(other_clerk, e->enrolment.id, render_enrolment_slip).error().code,
              ErrorCode::not_found);
    auto pdf = runtime->enrolment().take_slip(clerk, e->enrolment.id, render_enrolment_slip);
    ASSERT_TRUE(pdf) << pdf.error().message;
    test::write_file(dir / "slip.pdf", *pdf);
    EXPECT_EQ(test::qpdf_check(dir / "slip.pdf"), 0) << test::run_qpdf_check(dir / "slip.pdf").output;
    auto text = test::run_stdout("pdftotext -enc UTF-8 " + test::shell_quote((dir / "slip.pdf").string()) + " -");
    ASSERT_EQ(text.exit_code, 0);
    EXPECT_NE(text.output.find("João Conceição"), std::string::npos) << text.output;
    EXPECT_NE(text.output.find(e->account.username), std::string::npos) << text.output;
    EXPECT_NE(text.output.find("Palavra-passe inicial"), std::string::npos) << text.output;
    EXPECT_NE(text.output.find("首次登入密碼"), std::string::npos) << text.output;
    // The password on the slip is the account's.
    std::smatch m;
    ASSERT_TRUE(std::regex_search(text.output, m, std::regex("([a-zA-Z2-9]{4}-[a-zA-Z2-9]{4}-[a-zA-Z2-9]{4}-[a-zA-Z2-9]{4})")))
        << text.output;
    EXPECT_TRUE(runtime->accounts().authenticate(e->account.username, m[1].str()));

    auto again = runtime->enrolment().take_slip(clerk, e->enrolment.id, render_enrolment_slip);
    ASSERT_FALSE(again);
    EXPECT_EQ(again.error().code, ErrorCode::expired);
    auto sealed = runtime->database().query_one("SELECT slip_password_sealed FROM enrolments WHERE id = ?",
                                                {e->enrolment.id});
    ASSERT_TRUE(sealed.has_value() && sealed->has_value());
    EXPECT_TRUE((*sealed)->is_null(0)) << "the initial password is erased once shown";
}

TEST_F(EnrolmentTest, SlipCannotBeFetchedAfterItsWindow) {
    auto e = runtime->enrolment().enrol(clerk, chan());
    ASSERT_TRUE(e);
    clock.advance(16min);
    auto late = runtime->enrolment().take_slip(clerk, e->enrolment.id, render_enrolment_slip);
    ASSERT_FALSE(late);
    EXPECT_EQ(late.error().code, ErrorCode::expired);
}

// A lost slip: the clerk checks the document and prints a new one-time password.
// The slip of a reset: "temporary" rather than "initial", the next sign-in rather than the first,
// and for a paired authenticator no word of an activation code (none was sent).
TEST_F(EnrolmentTest, ResetSlipsSayWhatChangedAndWhatDidNot) {
    auto slip_text = [&](bool paired, const std::string& name) {
        SlipContent c;
        c.enrolment_id = "enr_0001";
        c.service_name = "Selo";
        c.person = chan().person;
        c.username = "chan.taiman";
        c.initial_password = "abcd-efgh-jkmn-pqrs";
        c.sepbox = true;
        c.esigncloud = true;
        c.enrolled_at = clock.now();
        c.password_reset_at = clock.now();
        c.authenticator_paired = paired;
        auto pdf = render_enrolment_slip(c);
        EXPECT_TRUE(pdf) << pdf.error().message;
        test::write_file(dir / name, pdf ? *pdf : Bytes{});
        return test::run_stdout("pdftotext -enc UTF-8 " + test::shell_quote((dir / name).string()) + " -").output;
    };
    std::string paired = slip_text(true, "reset-paired.pdf");
    EXPECT_NE(paired.find("Palavra-passe temporária"), std::string::npos) << paired;
    EXPECT_NE(paired.find("próximo início de sessão"), std::string::npos) << paired;
    EXPECT_NE(paired.find("PIN de assinatura não mudam"), std::string::npos) << paired;
    EXPECT_EQ(paired.find("foi enviado"), std::string::npos) << paired;
    EXPECT_EQ(paired.find("Palavra-passe inicial"), std::string::npos) << paired;
    std::string unpaired = slip_text(false, "reset-unpaired.pdf");
    EXPECT_NE(unpaired.find("ainda não foi activado"), std::string::npos) << unpaired;
    EXPECT_EQ(unpaired.find("foi enviado"), std::string::npos) << unpaired;
}

TEST_F(EnrolmentTest, CounterPasswordResetReplacesThePasswordEndsSessionsAndClearsTheLockout) {
    auto e = runtime->enrolment().enrol(clerk, chan());
    ASSERT_TRUE(e) << e.error().message;
    std::string first;
    ASSERT_TRUE(runtime->enrolment().take_slip(clerk, e->enrolment.id, [&](const SlipContent& c) -> Result<Bytes> {
        first = c.initial_password;
        return Bytes{1};
    }));
    auto& accounts = runtime->accounts();
    auto signed_in = accounts.authenticate(e->account.username, first);
    ASSERT_TRUE(signed_in);
    auto session = accounts.start_session(*signed_in, false, 3600s);
    ASSERT_TRUE(session);
    for (int i = 0; i < 3; ++i) {
        EXPECT_FALSE(accounts.authenticate(e->account.username, "wrong"));
    }
    std::string seen_password;
    std::optional<TimePoint> reset_at;
    auto capture = [&](const SlipContent& c) -> Result<Bytes> {
        seen_password = c.initial_password;
        reset_at = c.password_reset_at;
        EXPECT_EQ(c.username, e->account.username);
        EXPECT_EQ(c.enrolment_id, e->enrolment.id);
        return Bytes{'%', 'P', 'D', 'F'};
    };

    // The wrong document: refused, audited, nothing changed.
    auto audited = [&](std::string_view action) {
        auto row = runtime->database().query_one("SELECT count(*) FROM audit_log WHERE action = ?",
                                                 {std::string(action)});
        return row && *row ? (*row)->integer(0).value() : -1;
    };
    auto wrong = runtime->enrolment().reset_password(clerk, e->account.id, IdentityDocument::identity_card,
                                                     "1234567(1)", capture);
    ASSERT_FALSE(wrong);
    EXPECT_EQ(wrong.error().code, ErrorCode::conflict);
    EXPECT_EQ(audited("account.password_reset.identity_mismatch"), 1);
    EXPECT_TRUE(seen_password.empty());
    EXPECT_TRUE(accounts.resolve_session(session->access_token));
    EXPECT_EQ(runtime->enrolment().reset_password(clerk, e->account.id, IdentityDocument::passport,
                                                  "5215299(8)", capture).error().code,
              ErrorCode::conflict);
    // A slip that cannot be made: no reset either.
    auto broken = runtime->enrolment().reset_password(
        clerk, e->account.id, IdentityDocument::identity_card, "5215299(8)",
        [](const SlipContent&) -> Result<Bytes> { return fail(ErrorCode::internal, "no printer"); });
    ASSERT_FALSE(broken);
    EXPECT_TRUE(accounts.resolve_session(session->access_token));

    clock.advance(1h);
    auto pdf = runtime->enrolment().reset_password(clerk, e->account.id, IdentityDocument::identity_card,
                                                   "5215 299(8)", capture);
    ASSERT_TRUE(pdf) << pdf.error().message;
    EXPECT_EQ(*pdf, (Bytes{'%', 'P', 'D', 'F'}));
    ASSERT_FALSE(seen_password.empty());
    EXPECT_NE(seen_password, first);
    ASSERT_TRUE(reset_at);
    EXPECT_EQ(*reset_at, clock.now());
    EXPECT_EQ(accounts.authenticate(e->account.username, first).error().code, ErrorCode::unauthorized);
    auto fresh = accounts.authenticate(e->account.username, seen_password);
    ASSERT_TRUE(fresh) << fresh.error().message;
    EXPECT_TRUE(fresh->must_change_password);
    EXPECT_EQ(accounts.resolve_session(session->access_token).error().code, ErrorCode::unauthorized);
    EXPECT_EQ(audited("account.password_reset"), 1);
    auto detail = runtime->database().query_one(
        "SELECT actor, subject, detail FROM audit_log WHERE action = 'account.password_reset'");
    ASSERT_TRUE(detail && *detail);
    EXPECT_EQ((*detail)->text(0).value(), clerk.id);
    EXPECT_EQ((*detail)->text(1).value(), e->account.id);
    EXPECT_EQ((*detail)->text(2).value().find(seen_password), std::string::npos) << "no secret in the audit";

    // The lockout count was cleared: four more failures do not lock (five in a row would).
    for (int i = 0; i < 4; ++i) {
        EXPECT_EQ(accounts.authenticate(e->account.username, "wrong").error().code, ErrorCode::unauthorized);
    }
    EXPECT_TRUE(accounts.authenticate(e->account.username, seen_password));

    // Staff and accounts not enrolled at the counter are refused.
    EXPECT_EQ(runtime->enrolment().reset_password(clerk, clerk.id, IdentityDocument::staff_card, "S-0042", capture)
                  .error().code,
              ErrorCode::invalid_argument);
    EXPECT_EQ(runtime->enrolment().reset_password(clerk, "acc_missing", IdentityDocument::identity_card, "1", capture)
                  .error().code,
              ErrorCode::not_found);
}

TEST_F(EnrolmentTest, ActivationPairsTheAppThenCreatesTheCredential) {
    auto e = runtime->enrolment().enrol(clerk, chan());
    ASSERT_TRUE(e);
    std::string code = code_in_mailbox(e->account.id);
    // Nothing to confirm before the code; a wrong code counts.
    EXPECT_FALSE(runtime->enrolment().current_pairing(e->account));
    auto wrong = runtime->enrolment().enter_code(e->account, "AAAA-BBBB-CCCC");
    ASSERT_FALSE(wrong);
    EXPECT_NE(wrong.error().message.find("4 of 5 attempts left"), std::string::npos) << wrong.error().message;
    // Lower case and without dashes is the same code.
    std::string typed;
    for (char c : code) {
        if (c != '-') {
            typed.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
        }
    }
    auto p = runtime->enrolment().enter_code(e->account, typed);
    ASSERT_TRUE(p) << p.error().message;
    EXPECT_TRUE(p->otpauth_uri.starts_with("otpauth://totp/")) << p->otpauth_uri;
    Bytes secret = secret_of(p->otpauth_uri);

    if (test::have_tool("zbarimg")) {
        auto png = otp::qr_png(p->otpauth_uri);
        ASSERT_TRUE(png);
        test::write_file(dir / "qr.png", *png);
        auto decoded = test::run_stdout("zbarimg -q --raw " + test::shell_quote((dir / "qr.png").string()));
        ASSERT_EQ(decoded.exit_code, 0) << decoded.output;
        EXPECT_EQ(decoded.output, p->otpauth_uri + "\n");
    }

    // A weak PIN is refused before the OTP is used; a wrong OTP counts and creates nothing.
    EXPECT_EQ(runtime->activation().confirm(e->account, "123456", otp::totp(secret, clock.now())).error().code,
              ErrorCode::invalid_argument);
    std::string good = otp::totp(secret, clock.now());
    std::string bad = good == "000000" ? "111111" : "000000";
    EXPECT_EQ(runtime->activation().confirm(e->account, "246810", bad).error().code, ErrorCode::unauthorized);
    EXPECT_EQ(*count("credentials"), 0u);
    auto done = runtime->activation().confirm(e->account, "246810", good);
    ASSERT_TRUE(done) << done.error().message;
    ASSERT_TRUE(done->credential.has_value());
    auto account = runtime->accounts().find(e->account.id);
    ASSERT_TRUE(account);
    EXPECT_TRUE(account->has_authenticator());
    // The paired app now signs in; the confirming code cannot be replayed.
    EXPECT_FALSE(runtime->accounts().verify_otp(*account, good));
    clock.advance(30s);
    EXPECT_TRUE(runtime->accounts().verify_otp(*account, otp::totp(secret, clock.now())));
    // The code is spent.
    EXPECT_EQ(runtime->enrolment().enter_code(*account, code).error().code, ErrorCode::not_found);
    auto view = runtime->cloudsign().info(account->id, done->credential->id);
    ASSERT_TRUE(view);
    EXPECT_EQ(view->certificate.not_after() - view->certificate.not_before() > std::chrono::days(3 * 365),
              true);
}

// Two confirmations sent at once (a double click, a retry) both found the pairing open before
// either completed it, and each made a key pair and a certificate from one code and one OTP.
// The pairing is re-read inside the completing transaction, so only the first one counts.
TEST_F(EnrolmentTest, APairingIsCompletedOnceEvenByConfirmationsThatRaced) {
    auto e = runtime->enrolment().enrol(clerk, chan());
    ASSERT_TRUE(e);
    auto p = runtime->enrolment().enter_code(e->account, code_in_mailbox(e->account.id));
    ASSERT_TRUE(p) << p.error().message;
    std::string otp = otp::totp(secret_of(p->otpauth_uri), clock.now());
    // Both checks pass before either completes: the order in which the server's workers ran.
    auto first = runtime->enrolment().check_pairing(e->account, otp);
    auto second = runtime->enrolment().check_pairing(e->account, otp);
    ASSERT_TRUE(first) << first.error().message;
    ASSERT_TRUE(second) << second.error().message;
    ASSERT_TRUE(runtime->enrolment().finish_pairing(e->account, *first));
    auto again = runtime->enrolment().finish_pairing(e->account, *second);
    ASSERT_FALSE(again) << "the same code and OTP completed a second time";
    EXPECT_EQ(again.error().code, ErrorCode::conflict);

    // Through the activation service, with a fresh pairing (lost phone keeps no key; the
    // forgotten-PIN one makes one): one credential for one confirmation.
    ASSERT_TRUE(runtime->activation().forgotten_pin(clerk, e->account.id, IdentityDocument::identity_card,
                                                    "5215299(8)"));
    auto account = runtime->accounts().find(e->account.id).value();
    clock.advance(30s);
    auto p2 = runtime->enrolment().enter_code(account, code_in_mailbox(account.id));
    ASSERT_TRUE(p2) << p2.error().message;
    std::string otp2 = otp::totp(secret_of(p2->otpauth_uri), clock.now());
    auto raced = runtime->enrolment().check_pairing(account, otp2);
    ASSERT_TRUE(raced);
    ASSERT_TRUE(runtime->activation().confirm(account, "246810", otp2));
    auto before = *count("credentials");
    EXPECT_FALSE(runtime->enrolment().finish_pairing(account, *raced));
    EXPECT_EQ(*count("credentials"), before);
}

// A code voided by five wrong tries says "a clerk can send a new one". The clerk's lost-phone
// recovery sent one that only pairs an app (it keeps the key, and there was none): the citizen
// ended with an authenticator and no signing credential, and no PIN was ever asked for.
TEST_F(EnrolmentTest, LostPhoneBeforeAnyCredentialSendsAnActivationThatMakesOne) {
    auto e = runtime->enrolment().enrol(clerk, chan());
    ASSERT_TRUE(e);
    for (int i = 0; i < 5; ++i) {
        EXPECT_FALSE(runtime->enrolment().enter_code(e->account, "AAAA-BBBB-CCCC"));
    }
    ASSERT_TRUE(runtime->activation().lost_phone(clerk, e->account.id, IdentityDocument::identity_card,
                                                 "5215299(8)"));
    auto account = runtime->accounts().find(e->account.id).value();
    auto p = runtime->enrolment().enter_code(account, code_in_mailbox(account.id));
    ASSERT_TRUE(p) << p.error().message;
    EXPECT_NE(p->purpose, ActivationPurpose::lost_phone) << "a PIN is to be chosen";
    auto done = runtime->activation().confirm(account, "246810", otp::totp(secret_of(p->otpauth_uri), clock.now()));
    ASSERT_TRUE(done) << done.error().message;
    ASSERT_TRUE(done->credential.has_value()) << "the citizen can sign";
    EXPECT_EQ(*count("credentials"), 1u);
}

TEST_F(EnrolmentTest, FiveWrongCodesVoidTheCode) {
    auto e = runtime->enrolment().enrol(clerk, chan());
    ASSERT_TRUE(e);
    std::string code = code_in_mailbox(e->account.id);
    for (int i = 0; i < 4; ++i) {
        EXPECT_EQ(runtime->enrolment().enter_code(e->account, "AAAA-BBBB-CCCC").error().code,
                  ErrorCode::unauthorized);
    }
    EXPECT_EQ(runtime->enrolment().enter_code(e->account, "AAAA-BBBB-CCCC").error().code,
              ErrorCode::forbidden);
    EXPECT_EQ(runtime->enrolment().enter_code(e->account, code).error().code, ErrorCode::not_found)
        << "the right code no longer works";
}

TEST_F(EnrolmentTest, ActivationCodeExpires) {
    auto e = runtime->enrolment().enrol(clerk, chan());
    ASSERT_TRUE(e);
    std::string code = code_in_mailbox(e->account.id);
    clock.advance(std::chrono::days(31));
    EXPECT_EQ(runtime->enrolment().enter_code(e->account, code).error().code, ErrorCode::expired);
}

TEST_F(EnrolmentTest, LostPhoneVoidsTheAppAndSendsANewActivationKeepingTheKey) {
    auto a = enrol_and_activate(chan(), "246810");
    ASSERT_TRUE(authorize(a, "246810"));
    // The document seen must be the account's.
    EXPECT_EQ(runtime->activation().lost_phone(clerk, a.enrolled.account.id, IdentityDocument::identity_card,
                                               "9999999(9)").error().code,
              ErrorCode::conflict);
    auto sent = runtime->activation().lost_phone(clerk, a.enrolled.account.id,
                                                 IdentityDocument::identity_card, "5215299(8)");
    ASSERT_TRUE(sent) << sent.error().message;
    auto account = runtime->accounts().find(a.enrolled.account.id);
    EXPECT_FALSE(account->has_authenticator()) << "the old secret is void at once";
    EXPECT_FALSE(authorize(a, "246810")) << "the old phone's codes no longer work";
    EXPECT_EQ(post.inbox(account->id).size(), 2u);
    auto p = runtime->enrolment().enter_code(*account, code_in_mailbox(account->id));
    ASSERT_TRUE(p);
    EXPECT_EQ(p->purpose, ActivationPurpose::lost_phone);
    Bytes fresh = secret_of(p->otpauth_uri);
    auto done = runtime->activation().confirm(*account, "", otp::totp(fresh, clock.now()));
    ASSERT_TRUE(done) << done.error().message;
    EXPECT_FALSE(done->credential.has_value()) << "the key stays";
    a.secret = fresh;
    EXPECT_TRUE(authorize(a, "246810")) << "same credential, same PIN, new phone";
}

TEST_F(EnrolmentTest, ForgottenPinRetiresAndRevokesThenANewActivationMakesANewKey) {
    auto a = enrol_and_activate(chan(), "246810");
    RecordingRevoker revoker;
    store::SqlCredentialRepository credentials(runtime->database());
    cloudsign::ActivationService service(
        runtime->enrolment(), runtime->cloudsign(), credentials,
        [&](const std::function<Result<void>()>& fn) { return runtime->database().transaction(fn); },
        &revoker);
    auto sent = service.forgotten_pin(clerk, a.enrolled.account.id, IdentityDocument::identity_card, "5215299(8)");
    ASSERT_TRUE(sent) << sent.error().message;
    ASSERT_EQ(revoker.revoked.size(), 1u);
    EXPECT_EQ(revoker.revoked[0], "natural-persons/" + a.credential.certificate_serial + "/superseded");
    // The runtime's own wiring revokes through the CA: the certificate record says so.
    auto b = enrol_and_activate(joao(), "135790");
    ASSERT_TRUE(runtime->activation().forgotten_pin(clerk, b.enrolled.account.id,
                                                    IdentityDocument::identity_card, "1234567(1)"));
    auto rec = runtime->certificates().find("natural-persons", b.credential.certificate_serial);
    ASSERT_TRUE(rec.has_value() && rec->has_value()) << (rec ? "missing" : rec.error().message);
    EXPECT_EQ((*rec)->status, "revoked");
    EXPECT_EQ((*rec)->revocation_reason, 4) << "superseded";
    auto old = authorize(a, "246810");
    ASSERT_FALSE(old);
    EXPECT_NE(old.error().message.find("disabled"), std::string::npos) << old.error().message;
    auto account = runtime->accounts().find(a.enrolled.account.id);
    auto p = runtime->enrolment().enter_code(*account, code_in_mailbox(account->id));
    ASSERT_TRUE(p);
    EXPECT_TRUE(p->purpose == ActivationPurpose::forgotten_pin);
    Bytes fresh = secret_of(p->otpauth_uri);
    auto done = service.confirm(*account, "135790", otp::totp(fresh, clock.now()));
    ASSERT_TRUE(done) << done.error().message;
    ASSERT_TRUE(done->credential.has_value());
    EXPECT_NE(done->credential->id, a.credential.id);
    EXPECT_NE(done->credential->certificate_serial, a.credential.certificate_serial);
    a.credential = *done->credential;
    a.secret = fresh;
    EXPECT_TRUE(authorize(a, "135790"));
}

TEST_F(EnrolmentTest, FiveWrongPinsLockTheCredential) {
    auto a = enrol_and_activate(chan(), "246810");
    for (int i = 0; i < 5; ++i) {
        auto r = authorize(a, "975310");
        ASSERT_FALSE(r);
        EXPECT_EQ(r.error().code, ErrorCode::unauthorized);
    }
    auto locked = authorize(a, "246810");
    ASSERT_FALSE(locked);
    EXPECT_EQ(locked.error().code, ErrorCode::forbidden);
    EXPECT_NE(locked.error().message.find("The PIN is locked"), std::string::npos) << locked.error().message;
    EXPECT_NE(locked.error().message.find("try again after"), std::string::npos);
    clock.advance(61s);
    EXPECT_TRUE(authorize(a, "246810"));
}

TEST_F(EnrolmentTest, UnpaidExpiredSubscriptionSuspendsSigningUntilPayment) {
    auto a = enrol_and_activate(chan(), "246810");
    ASSERT_TRUE(authorize(a, "246810"));
    clock.advance(std::chrono::days(366));
    auto refused = authorize(a, "246810");
    ASSERT_FALSE(refused);
    EXPECT_EQ(refused.error().code, ErrorCode::forbidden);
    EXPECT_NE(refused.error().message.find("subscription ended"), std::string::npos) << refused.error().message;
    auto paid = runtime->enrolment().record_payment(clerk, a.enrolled.account.id, 30000, "MOP", 1, "R-0001");
    ASSERT_TRUE(paid) << paid.error().message;
    EXPECT_EQ(paid->paid_until_after, clock.now() + std::chrono::days(365)) << "counted from today";
    EXPECT_TRUE(authorize(a, "246810"));
    EXPECT_EQ(runtime->enrolment().record_payment(clerk, a.enrolled.account.id, 30000, "MOP", 1, "R-0001").error().code,
              ErrorCode::conflict) << "a retried payment is not counted twice";
    EXPECT_EQ(runtime->enrolment().record_payment(clerk, a.enrolled.account.id, -1, "MOP", 1, "R-2").error().code,
              ErrorCode::invalid_argument);
}

TEST_F(EnrolmentTest, RenewalRemindersGoOutOnceAt30And7Days) {
    auto e = runtime->enrolment().enrol(clerk, chan());
    ASSERT_TRUE(e);
    auto& svc = runtime->enrolment();
    EXPECT_EQ(*svc.send_renewal_reminders(), 0u);
    clock.advance(std::chrono::days(365 - 30));
    EXPECT_EQ(*svc.send_renewal_reminders(), 1u);
    EXPECT_EQ(*svc.send_renewal_reminders(), 0u) << "idempotent";
    // Another process on the same data directory sends nothing either.
    test::FakePost other_post;
    other_post.mailboxes = post.mailboxes;
    auto other = cli::Runtime::open(dir / "data", clock, rng, &other_post);
    ASSERT_TRUE(other.has_value());
    EXPECT_EQ(*(*other)->enrolment().send_renewal_reminders(), 0u);
    clock.advance(std::chrono::days(23));
    EXPECT_EQ(*svc.send_renewal_reminders(), 1u);
    EXPECT_EQ(*svc.send_renewal_reminders(), 0u);
    auto inbox = post.inbox(e->account.id);
    ASSERT_EQ(inbox.size(), 3u);
    EXPECT_TRUE(inbox[1].message.sender_reference.starts_with("renewal-30d:"));
    EXPECT_TRUE(inbox[2].message.sender_reference.starts_with("renewal-7d:"));
    EXPECT_EQ(inbox[2].message.category, "bill");
    // After payment, the next period gets its own reminders.
    ASSERT_TRUE(svc.record_payment(clerk, e->account.id, 30000, "MOP", 1, "R-1"));
    clock.advance(std::chrono::days(365 - 30 + 7));
    EXPECT_EQ(*svc.send_renewal_reminders(), 1u);
}

}  // namespace
}  // namespace selo::account
