// eSignCloud's sole-control and SAD rules, exercised through the real services and database
// with a fake clock. (The HTTP shape of the same errors is tested in tests/integration.)

#include <gtest/gtest.h>

#include <fstream>

#include "cli/data_dir.hpp"
#include "crypto/keys.hpp"
#include "otp/otp.hpp"
#include "support/test_support.hpp"

namespace selo::cloudsign {
namespace {

class CloudSignTest : public ::testing::Test {
protected:
    void SetUp() override {
        auto rt = cli::Runtime::create(dir / "data", {}, clock, rng);
        ASSERT_TRUE(rt.has_value()) << rt.error().message;
        runtime = std::move(*rt);
        alice = open_account("陳大文", "CHAN Tai Man", "5215299(8)", "246810");
        bob = open_account("João Conceição", "João Conceição", "1234567(1)", "135790");
    }

    struct Holder {
        account::NewAccount opened;
        Credential credential;
        std::string pin;
    };

    Holder open_account(std::string name, std::string latin, std::string id, std::string pin) {
        account::Person p;
        p.name = std::move(name);
        p.latin_name = std::move(latin);
        p.id_number = std::move(id);
        p.email = "someone@example.mo";
        Holder h;
        auto opened = runtime->accounts().open(p);
        EXPECT_TRUE(opened.has_value()) << opened.error().message;
        h.opened = *opened;
        auto cred = runtime->cloudsign().create_credential(h.opened.account, pin);
        EXPECT_TRUE(cred.has_value()) << cred.error().message;
        h.credential = *cred;
        h.pin = std::move(pin);
        return h;
    }

    // The code the holder's authenticator app shows now (or `steps` periods later).
    std::string otp_now(const Holder& h, int steps = 0) {
        return otp::totp(h.opened.totp_secret, clock.now() + std::chrono::seconds(30 * steps));
    }

    // A fresh code: the test moves the clock on one step so each authorisation has its own.
    std::string fresh_otp(const Holder& h) {
        clock.advance(std::chrono::seconds(30));
        return otp_now(h);
    }

    AuthorizeRequest authorize_request(const Holder& h, std::vector<Bytes> hashes) {
        AuthorizeRequest r;
        r.account_id = h.opened.account.id;
        r.credential_id = h.credential.id;
        r.num_signatures = static_cast<unsigned>(hashes.size());
        r.hashes = std::move(hashes);
        r.pin = h.pin;
        r.otp = fresh_otp(h);
        return r;
    }

    SignHashRequest sign_request(const Holder& h, std::string sad, std::vector<Bytes> hashes) {
        return SignHashRequest{h.opened.account.id, h.credential.id, std::move(sad),
                               std::move(hashes), crypto::DigestAlgorithm::sha256};
    }

    test::TempDir dir;
    FakeClock clock{std::chrono::floor<std::chrono::seconds>(std::chrono::system_clock::now())};
    SystemRng rng;
    std::unique_ptr<cli::Runtime> runtime;
    Holder alice, bob;
    Bytes h1 = crypto::sha256(as_bytes("document one"));
    Bytes h2 = crypto::sha256(as_bytes("document two"));
    Bytes h3 = crypto::sha256(as_bytes("document three"));
};

TEST_F(CloudSignTest, AuthorizedHashesSignAndVerifyWithTheCertificateKey) {
    auto sad = runtime->cloudsign().authorize(authorize_request(alice, {h1, h2}));
    ASSERT_TRUE(sad.has_value()) << sad.error().message;
    EXPECT_LE(sad->expires_in.count(), 300);
    auto sigs = runtime->cloudsign().sign_hashes(sign_request(alice, sad->sad, {h2, h1}));
    ASSERT_TRUE(sigs.has_value()) << sigs.error().message;
    ASSERT_EQ(sigs->size(), 2u);
    auto cert = pki::Certificate::from_der(alice.credential.certificate_der).value();
    EVP_PKEY* pub = ::X509_get0_pubkey(cert.x509());
    // In input order.
    EXPECT_TRUE(crypto::verify_digest(pub, crypto::DigestAlgorithm::sha256, h2, (*sigs)[0]).value());
    EXPECT_TRUE(crypto::verify_digest(pub, crypto::DigestAlgorithm::sha256, h1, (*sigs)[1]).value());
}

TEST_F(CloudSignTest, SadIsSingleUsePerHashAndBoundToItsCount) {
    auto sad = runtime->cloudsign().authorize(authorize_request(alice, {h1, h2})).value();
    ASSERT_TRUE(runtime->cloudsign().sign_hashes(sign_request(alice, sad.sad, {h1})).has_value());
    auto again = runtime->cloudsign().sign_hashes(sign_request(alice, sad.sad, {h1}));
    ASSERT_FALSE(again.has_value());
    EXPECT_NE(again.error().message.find("Hash is not authorized by the SAD"), std::string::npos);
    ASSERT_TRUE(runtime->cloudsign().sign_hashes(sign_request(alice, sad.sad, {h2})).has_value());
    EXPECT_FALSE(runtime->cloudsign().sign_hashes(sign_request(alice, sad.sad, {h2})).has_value())
        << "beyond its count";
}

TEST_F(CloudSignTest, SadRefusesHashesItDoesNotName) {
    auto sad = runtime->cloudsign().authorize(authorize_request(alice, {h1})).value();
    auto r = runtime->cloudsign().sign_hashes(sign_request(alice, sad.sad, {h1, h3}));
    ASSERT_FALSE(r.has_value());
    EXPECT_EQ(r.error().message, "Hash is not authorized by the SAD");
    // Nothing was consumed by the refused call.
    EXPECT_TRUE(runtime->cloudsign().sign_hashes(sign_request(alice, sad.sad, {h1})).has_value());
}

TEST_F(CloudSignTest, SadOfOneAccountIsUselessToAnother) {
    auto sad = runtime->cloudsign().authorize(authorize_request(alice, {h1})).value();
    auto as_bob = sign_request(bob, sad.sad, {h1});
    auto r = runtime->cloudsign().sign_hashes(as_bob);
    ASSERT_FALSE(r.has_value());
    EXPECT_EQ(r.error().message, "Invalid parameter SAD");
    // Bob naming Alice's credential is refused before the SAD is even looked at.
    as_bob.credential_id = alice.credential.id;
    auto r2 = runtime->cloudsign().sign_hashes(as_bob);
    ASSERT_FALSE(r2.has_value());
    EXPECT_EQ(r2.error().message, "Invalid parameter credentialID");
}

TEST_F(CloudSignTest, SadExpiresAfterItsLifetime) {
    auto sad = runtime->cloudsign().authorize(authorize_request(alice, {h1})).value();
    clock.advance(std::chrono::seconds(301));
    auto r = runtime->cloudsign().sign_hashes(sign_request(alice, sad.sad, {h1}));
    ASSERT_FALSE(r.has_value());
    EXPECT_EQ(r.error().code, ErrorCode::expired);
    EXPECT_EQ(r.error().message, "SAD expired");
}

TEST_F(CloudSignTest, PurgeDeletesExpiredActivationsOnly) {
    auto old_sad = runtime->cloudsign().authorize(authorize_request(alice, {h1})).value();
    clock.advance(std::chrono::seconds(301));
    auto fresh = runtime->cloudsign().authorize(authorize_request(alice, {h2})).value();
    ASSERT_TRUE(runtime->cloudsign().purge_expired().has_value());
    EXPECT_EQ(runtime->cloudsign().sign_hashes(sign_request(alice, old_sad.sad, {h1})).error().message,
              "Invalid parameter SAD");
    EXPECT_TRUE(runtime->cloudsign().sign_hashes(sign_request(alice, fresh.sad, {h2})).has_value());
    auto rows = runtime->database().query("SELECT COUNT(*) FROM signature_activation_hashes").value();
    EXPECT_EQ(rows[0].integer(0).value(), 1) << "the expired activation's hashes went with it";
}

TEST_F(CloudSignTest, ForgedOrMangledSadIsRefused) {
    auto sad = runtime->cloudsign().authorize(authorize_request(alice, {h1})).value();
    std::string forged = sad.sad;
    forged[3] = forged[3] == 'A' ? 'B' : 'A';
    for (const std::string& s : {forged, std::string("not-a-sad"), std::string(""),
                                 base64url_encode(Bytes(32, 0))}) {
        auto r = runtime->cloudsign().sign_hashes(sign_request(alice, s, {h1}));
        ASSERT_FALSE(r.has_value()) << s;
        EXPECT_EQ(r.error().message, "Invalid parameter SAD");
    }
}

TEST_F(CloudSignTest, WrongPinWrongOtpAndReplayedOtpAreRefused) {
    auto wrong_pin = authorize_request(alice, {h1});
    wrong_pin.pin = "135790";
    auto r1 = runtime->cloudsign().authorize(wrong_pin);
    ASSERT_FALSE(r1.has_value());
    EXPECT_EQ(r1.error().message, "The PIN is invalid");

    auto wrong_otp = authorize_request(alice, {h1});
    wrong_otp.otp = wrong_otp.otp == "000000" ? "111111" : "000000";
    auto r2 = runtime->cloudsign().authorize(wrong_otp);
    ASSERT_FALSE(r2.has_value());
    EXPECT_TRUE(r2.error().message.starts_with("The OTP is invalid")) << r2.error().message;

    auto ok = authorize_request(alice, {h1});
    ASSERT_TRUE(runtime->cloudsign().authorize(ok).has_value());
    auto replay = ok;  // the same code again, within its 30 s
    replay.hashes = {h2};
    auto r3 = runtime->cloudsign().authorize(replay);
    ASSERT_FALSE(r3.has_value());
    EXPECT_NE(r3.error().message.find("already been used"), std::string::npos);

    // ±1 step is accepted, 2 steps is not.
    clock.advance(std::chrono::seconds(60));
    auto early = authorize_request(alice, {h3});
    early.otp = otp_now(alice, 1);
    EXPECT_TRUE(runtime->cloudsign().authorize(early).has_value());
    clock.advance(std::chrono::seconds(120));
    auto late = authorize_request(alice, {h3});
    late.otp = otp_now(alice, -2);
    EXPECT_FALSE(runtime->cloudsign().authorize(late).has_value());
}

TEST_F(CloudSignTest, AuthorizeChecksCountsAndDigests) {
    auto r = authorize_request(alice, {h1, h2});
    r.num_signatures = 3;
    EXPECT_FALSE(runtime->cloudsign().authorize(r).has_value());
    auto dup = authorize_request(alice, {h1, h1});
    EXPECT_FALSE(runtime->cloudsign().authorize(dup).has_value());
    auto short_hash = authorize_request(alice, {Bytes(20, 1)});
    auto e = runtime->cloudsign().authorize(short_hash);
    ASSERT_FALSE(e.has_value());
    EXPECT_EQ(e.error().message, "Invalid digest value length");
    std::vector<Bytes> many;
    for (int i = 0; i < 101; ++i) {
        many.push_back(crypto::sha256(as_bytes(std::to_string(i))));
    }
    auto too_many = authorize_request(alice, many);
    auto e2 = runtime->cloudsign().authorize(too_many);
    ASSERT_FALSE(e2.has_value());
    EXPECT_NE(e2.error().message.find("too high"), std::string::npos);
    auto unknown = authorize_request(alice, {h1});
    unknown.credential_id = "cred_000000000000000000000000";
    EXPECT_EQ(runtime->cloudsign().authorize(unknown).error().message, "Invalid parameter credentialID");
}

// Sole control: with the database and the master key, but not the PIN, the key stays sealed.
TEST_F(CloudSignTest, TheSealedKeyDoesNotOpenWithoutThePin) {
    auto cred = alice.credential;
    // The PKCS#8 key never appears in the database file.
    auto db = test::read_file(dir / "data" / "selo.db");
    EXPECT_GT(cred.sealed_private_key.size(), 100u);
    // A guess made with the master key and the wrong PIN cannot open it: authorize already
    // proves this through "The PIN is invalid"; here we check that the record carries no
    // plaintext key material (a PKCS#8 EC key begins with these bytes).
    const Bytes pkcs8_prefix = {0x30, 0x81, 0x87, 0x02, 0x01, 0x00, 0x30, 0x13};
    EXPECT_EQ(std::search(cred.sealed_private_key.begin(), cred.sealed_private_key.end(),
                          pkcs8_prefix.begin(), pkcs8_prefix.end()),
              cred.sealed_private_key.end());
    EXPECT_EQ(std::search(db.begin(), db.end(), pkcs8_prefix.begin(), pkcs8_prefix.end()), db.end());
}

TEST_F(CloudSignTest, TheAuditTrailRecordsAuthorisationsSignaturesAndFailures) {
    auto wrong = authorize_request(alice, {h1});
    wrong.pin = "135790";
    ASSERT_FALSE(runtime->cloudsign().authorize(wrong).has_value());
    auto sad = runtime->cloudsign().authorize(authorize_request(alice, {h1})).value();
    ASSERT_TRUE(runtime->cloudsign().sign_hashes(sign_request(alice, sad.sad, {h1})).has_value());
    ASSERT_FALSE(runtime->cloudsign().login(alice.opened.account.username, "nope").has_value());
    auto rows = runtime->database()
                    .query("SELECT actor, action, subject, detail FROM audit_log ORDER BY id")
                    .value();
    std::vector<std::string> actions;
    for (const auto& r : rows) {
        actions.push_back(r.text(1).value());
    }
    auto has = [&](std::string_view a) { return std::find(actions.begin(), actions.end(), a) != actions.end(); };
    EXPECT_TRUE(has("credential.create"));
    EXPECT_TRUE(has("credential.authorize.failure"));
    EXPECT_TRUE(has("credential.authorize"));
    EXPECT_TRUE(has("signature.sign_hash"));
    EXPECT_TRUE(has("auth.password.failure"));
    // The authorisation names the digest that was authorised, never the PIN or the SAD.
    for (const auto& r : rows) {
        EXPECT_EQ(r.text(3).value().find(alice.pin), std::string::npos) << r.text(1).value();
        EXPECT_EQ(r.text(3).value().find(sad.sad), std::string::npos) << r.text(1).value();
        if (r.text(1).value() == "credential.authorize") {
            EXPECT_NE(r.text(3).value().find(hex_encode(h1)), std::string::npos);
        }
    }
}

TEST_F(CloudSignTest, PinPolicyRefusesTrivialPins) {
    EXPECT_FALSE(check_pin_policy("12345").has_value());
    EXPECT_FALSE(check_pin_policy("123456").has_value());
    EXPECT_FALSE(check_pin_policy("654321").has_value());
    EXPECT_FALSE(check_pin_policy("111111").has_value());
    EXPECT_FALSE(check_pin_policy("12a456").has_value());
    EXPECT_FALSE(check_pin_policy("123123").has_value());
    EXPECT_FALSE(check_pin_policy("121212").has_value());
    EXPECT_FALSE(check_pin_policy("112112").has_value());
    EXPECT_FALSE(check_pin_policy("122122122").has_value());
    EXPECT_FALSE(check_pin_policy("123456789012").has_value());
    EXPECT_TRUE(check_pin_policy("135790").has_value());
    EXPECT_TRUE(check_pin_policy("246810").has_value());
}

TEST(Person, NamesMustBeVisibleAndLatinNamesLatin) {
    auto person = [](std::string name, std::string latin) {
        account::Person p;
        p.name = std::move(name);
        p.latin_name = std::move(latin);
        p.id_number = "1234567(8)";
        p.email = "a@example.mo";
        return account::normalise_person(p);
    };
    EXPECT_TRUE(person("陳大文", "CHAN Tai Man").has_value());
    EXPECT_TRUE(person("João Conceição", "João Conceição").has_value());
    EXPECT_TRUE(person("Nguyễn Văn An", "Nguyễn Văn An").has_value());
    EXPECT_TRUE(person("O'Neill", "Mary-Jane O'Neill").has_value());
    EXPECT_FALSE(person("\u202eevil", "EVIL Man").has_value()) << "right-to-left override";
    EXPECT_FALSE(person("A\u200bB", "AB Cd").has_value()) << "zero-width space";
    EXPECT_FALSE(person("Иван", "Иван ИВАНОВ").has_value()) << "Cyrillic is not a Latin name";
    EXPECT_FALSE(person("李王", "李 王").has_value());
    EXPECT_FALSE(person("----", "---- ....").has_value());
    EXPECT_FALSE(person("...", "CHAN Tai Man").has_value());
    auto p = person("陳大文", "CHAN Tai Man");
    EXPECT_EQ(p->surname, "CHAN");
    EXPECT_EQ(p->given_name, "Tai Man");
}

TEST_F(CloudSignTest, DuplicateIdentityDocumentIsRefused) {
    account::Person p;
    p.name = "陳大文";
    p.latin_name = "CHAN Tai Man";
    p.id_number = "5215299(8)";
    p.email = "other@example.mo";
    auto r = runtime->accounts().open(p);
    ASSERT_FALSE(r.has_value());
    EXPECT_EQ(r.error().code, ErrorCode::conflict);
}

TEST_F(CloudSignTest, LoginGivesATokenThatExpires) {
    auto bad = runtime->cloudsign().login(alice.opened.account.username, "wrong");
    ASSERT_FALSE(bad.has_value());
    EXPECT_EQ(bad.error().code, ErrorCode::unauthorized);
    auto unknown = runtime->cloudsign().login("nobody", "wrong");
    ASSERT_FALSE(unknown.has_value());
    EXPECT_EQ(unknown.error().message, bad.error().message) << "no user enumeration";
    auto grant = runtime->cloudsign().login(alice.opened.account.username, alice.opened.initial_password);
    ASSERT_TRUE(grant.has_value());
    EXPECT_EQ(runtime->cloudsign().authenticate(grant->access_token).value(), alice.opened.account.id);
    EXPECT_FALSE(runtime->cloudsign().authenticate(grant->access_token + "x").has_value());
    clock.advance(grant->expires_in + std::chrono::seconds(1));
    EXPECT_EQ(runtime->cloudsign().authenticate(grant->access_token).error().code, ErrorCode::expired);
}

}  // namespace
}  // namespace selo::cloudsign
