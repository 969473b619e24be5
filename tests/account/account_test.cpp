// Sign-in hardening: lockout with back-off counted in the database, the password policy,
// one-time initial passwords and API clients; through the real services and a fake clock.

#include <gtest/gtest.h>

#include "cli/data_dir.hpp"
#include "crypto/kdf.hpp"
#include "otp/otp.hpp"
#include "store/sql_account.hpp"
#include "support/test_support.hpp"

namespace selo::account {
namespace {

using namespace std::chrono_literals;

class AccountTest : public ::testing::Test {
protected:
    void SetUp() override {
        auto rt = cli::Runtime::create(dir / "data", {}, clock, rng);
        ASSERT_TRUE(rt.has_value()) << rt.error().message;
        runtime = std::move(*rt);
        alice = open("陳大文", "CHAN Tai Man", "5215299(8)");
    }

    NewAccount open(std::string name, std::string latin, std::string id, OpenOptions how = {},
                    std::vector<Role> roles = {Role::citizen}) {
        Person p;
        p.name = std::move(name);
        p.latin_name = std::move(latin);
        p.id_number = std::move(id);
        p.email = "someone@example.mo";
        if (roles != std::vector<Role>{Role::citizen}) {
            p.id_type = IdentityDocument::staff_card;
        }
        auto opened = runtime->accounts().open(p, roles, how);
        EXPECT_TRUE(opened.has_value()) << opened.error().message;
        return *opened;
    }

    std::string otp_now(const NewAccount& a) { return otp::totp(a.totp_secret, clock.now()); }

    test::TempDir dir;
    FakeClock clock{std::chrono::floor<std::chrono::seconds>(std::chrono::system_clock::now())};
    SystemRng rng;
    std::unique_ptr<cli::Runtime> runtime;
    NewAccount alice;
};

TEST(Lockout, BackOffDoublesFromTheFifthFailureUpToTheLongest) {
    LockoutPolicy p;
    EXPECT_FALSE(lock_duration(p, 4).has_value());
    EXPECT_EQ(lock_duration(p, 5), 60s);
    EXPECT_EQ(lock_duration(p, 6), 120s);
    EXPECT_EQ(lock_duration(p, 7), 240s);
    EXPECT_EQ(lock_duration(p, 100), std::chrono::seconds(86400));
}

TEST_F(AccountTest, FiveWrongPasswordsLockTheAccountEvenForTheRightOne) {
    auto& accounts = runtime->accounts();
    const std::string user = alice.account.username;
    for (int i = 0; i < 4; ++i) {
        auto r = accounts.authenticate(user, "wrong");
        ASSERT_FALSE(r);
        EXPECT_EQ(r.error().code, ErrorCode::unauthorized);
    }
    EXPECT_FALSE(accounts.sign_in_retry_after(user).has_value());
    ASSERT_FALSE(accounts.authenticate(user, "wrong"));
    EXPECT_EQ(accounts.sign_in_retry_after(user), 60s);
    auto locked = accounts.authenticate(user, alice.initial_password);
    ASSERT_FALSE(locked);
    EXPECT_EQ(locked.error().code, ErrorCode::forbidden);
    EXPECT_NE(locked.error().message.find("try again after"), std::string::npos) << locked.error().message;

    // A second process on the same data directory sees the same count (it is in the database).
    auto other = cli::Runtime::open(dir / "data", clock, rng);
    ASSERT_TRUE(other.has_value());
    EXPECT_EQ((*other)->accounts().authenticate(user, alice.initial_password).error().code,
              ErrorCode::forbidden);

    // After the lock, one more failure doubles it; then the right password resets the count.
    clock.advance(61s);
    ASSERT_FALSE(accounts.authenticate(user, "wrong"));
    EXPECT_EQ(accounts.sign_in_retry_after(user), 120s);
    clock.advance(121s);
    ASSERT_TRUE(accounts.authenticate(user, alice.initial_password));
    ASSERT_FALSE(accounts.authenticate(user, "wrong"));
    EXPECT_FALSE(accounts.sign_in_retry_after(user).has_value()) << "the count started again";

    auto rows = runtime->database().query(
        "SELECT action FROM audit_log WHERE subject = ? ORDER BY id",
        {"password:" + alice.account.id});
    ASSERT_TRUE(rows.has_value()) << rows.error().message;
    int failures = 0, lockouts = 0;
    for (const auto& r : *rows) {
        failures += r.text(0).value() == "auth.password.failure";
        lockouts += r.text(0).value() == "auth.lockout";
    }
    EXPECT_EQ(failures, 7);
    EXPECT_EQ(lockouts, 2);
}

TEST_F(AccountTest, FiveWrongCodesLockTheOtp) {
    auto& accounts = runtime->accounts();
    std::string good = otp_now(alice);
    std::string bad = good == "000000" ? "111111" : "000000";
    for (int i = 0; i < 5; ++i) {
        EXPECT_EQ(accounts.verify_otp(alice.account, bad).error().code, ErrorCode::unauthorized);
    }
    auto locked = accounts.verify_otp(alice.account, good);
    ASSERT_FALSE(locked);
    EXPECT_EQ(locked.error().code, ErrorCode::forbidden);
    clock.advance(61s);
    EXPECT_TRUE(accounts.verify_otp(alice.account, otp_now(alice))) << "unlocked after the back-off";
}

TEST_F(AccountTest, PasswordPolicyRefusesShortCommonAndPersonalPasswords) {
    const auto& policy = runtime->accounts().password_policy();
    ASSERT_GT(policy.common_count(), 1000u) << "john-data's password.lst is loaded";
    auto why = [&](std::string_view pw) {
        auto r = policy.check(pw, "chan.taiman", "5215299(8)");
        return r ? std::string("accepted") : r.error().message;
    };
    EXPECT_NE(why("short1!").find("at least 12"), std::string::npos);
    EXPECT_NE(why("password1234").find("common"), std::string::npos);
    EXPECT_NE(why("Password123456!").find("common"), std::string::npos);
    EXPECT_NE(why("qwertyuiop12").find("common"), std::string::npos) << "qwertyuiop is on the list";
    EXPECT_NE(why("xx-chan.taiman-yy").find("username"), std::string::npos);
    EXPECT_NE(why("Taiman-rocks-2026").find("username"), std::string::npos);
    // Only a part matched: the answer names it, or "admin.root" choosing "Admin-Keeps-Keys"
    // is told they used their username, which they did not.
    EXPECT_NE(why("Taiman-rocks-2026").find("part of it ('taiman')"), std::string::npos)
        << why("Taiman-rocks-2026");
    EXPECT_NE(why("my id 5215299 ok").find("identity document"), std::string::npos);
    EXPECT_NE(why("aaaaaaaaaaaaaaaa").find("different characters"), std::string::npos);
    EXPECT_EQ(why("correct horse battery staple"), "accepted");
    EXPECT_EQ(why("澳門郵電局電子簽名雲服務"), "accepted") << "12 CJK characters are 12 characters";
}

TEST_F(AccountTest, InitialPasswordIsOneTimeAndChangingItNeedsTheCurrentOne) {
    auto opened = open("João Conceição", "João Conceição", "1234567(1)",
                       {.with_authenticator = false, .must_change_password = true});
    EXPECT_TRUE(opened.account.must_change_password);
    EXPECT_FALSE(opened.account.has_authenticator());
    EXPECT_TRUE(opened.otpauth_uri.empty());
    auto& accounts = runtime->accounts();
    auto wrong = accounts.change_password(opened.account, "not it", "correct horse battery staple");
    ASSERT_FALSE(wrong);
    EXPECT_EQ(wrong.error().code, ErrorCode::unauthorized);
    auto weak = accounts.change_password(opened.account, opened.initial_password, "password1234");
    ASSERT_FALSE(weak);
    EXPECT_EQ(weak.error().code, ErrorCode::invalid_argument);
    EXPECT_TRUE(accounts.find(opened.account.id)->must_change_password) << "nothing changed";
    auto same = accounts.change_password(opened.account, opened.initial_password, opened.initial_password);
    EXPECT_FALSE(same);
    ASSERT_TRUE(accounts.change_password(opened.account, opened.initial_password,
                                         "correct horse battery staple"));
    EXPECT_FALSE(accounts.find(opened.account.id)->must_change_password);
    EXPECT_FALSE(accounts.authenticate(opened.account.username, opened.initial_password));
    EXPECT_TRUE(accounts.authenticate(opened.account.username, "correct horse battery staple"));
}

TEST_F(AccountTest, ApiClientSecretsAreCheckedLockedAndRevocable) {
    auto& accounts = runtime->accounts();
    auto admin = open("管理員", "ADMIN Ka Ho", "7000001(1)", {}, {Role::administrator});
    auto agency = open("衛生局", "SAUDE Servicos", "8000001(1)", {}, {Role::agency});
    auto issued = accounts.issue_api_client(admin.account, agency.account.id);
    ASSERT_TRUE(issued) << issued.error().message;
    EXPECT_TRUE(issued->client.client_id.starts_with("cli_"));
    EXPECT_EQ(issued->client.secret_hash.rfind("$argon2id$", 0), 0u) << "only a verifier is stored";
    auto who = accounts.authenticate_client(issued->client.client_id, issued->client_secret);
    ASSERT_TRUE(who) << who.error().message;
    EXPECT_EQ(who->id, agency.account.id);
    EXPECT_EQ(accounts.authenticate_client(issued->client.client_id, "nope").error().code,
              ErrorCode::unauthorized);
    EXPECT_EQ(accounts.authenticate_client("cli_unknown", issued->client_secret).error().code,
              ErrorCode::unauthorized);
    EXPECT_EQ(accounts.issue_api_client(admin.account, "acc_missing").error().code, ErrorCode::not_found);
    ASSERT_TRUE(accounts.revoke_api_client(admin.account, issued->client.client_id));
    EXPECT_EQ(accounts.authenticate_client(issued->client.client_id, issued->client_secret).error().code,
              ErrorCode::unauthorized);
    EXPECT_EQ(accounts.revoke_api_client(admin.account, issued->client.client_id).error().code,
              ErrorCode::not_found);
}

// Sessions remember the client that opened them: revoking it ends them at once, and a token whose
// session row outlived the revocation (a grant that committed after it) is refused all the same.
TEST_F(AccountTest, RevokingAnApiClientEndsItsSessions) {
    auto& accounts = runtime->accounts();
    auto admin = open("管理員", "ADMIN Ka Ho", "7000001(1)", {}, {Role::administrator});
    auto agency = open("衛生局", "SAUDE Servicos", "8000001(1)", {}, {Role::agency});
    auto issued = accounts.issue_api_client(admin.account, agency.account.id);
    ASSERT_TRUE(issued) << issued.error().message;
    const std::string& id = issued->client.client_id;
    auto token = accounts.start_session(agency.account, true, 3600s, id);
    ASSERT_TRUE(token) << token.error().message;
    // The agency's own sign-in is not the client's: it survives the revocation.
    auto own = accounts.start_session(agency.account, true, 3600s);
    ASSERT_TRUE(own);
    ASSERT_TRUE(accounts.resolve_session(token->access_token));
    auto rows = [&](std::string_view client) {
        auto row = runtime->database().query_one("SELECT count(*) FROM sessions WHERE client_id = ?",
                                                 {std::string(client)});
        return row && *row ? (*row)->integer(0).value() : -1;
    };
    EXPECT_EQ(rows(id), 1);
    ASSERT_TRUE(accounts.revoke_api_client(admin.account, id));
    EXPECT_EQ(rows(id), 0) << "revocation deletes the client's sessions";
    auto gone = accounts.resolve_session(token->access_token);
    ASSERT_FALSE(gone);
    EXPECT_EQ(gone.error().code, ErrorCode::unauthorized);
    EXPECT_TRUE(accounts.resolve_session(own->access_token));
    // A session row of the revoked client that survived: refused, and removed.
    auto late = accounts.start_session(agency.account, true, 3600s, id);
    ASSERT_TRUE(late);
    auto refused = accounts.resolve_session(late->access_token);
    ASSERT_FALSE(refused);
    EXPECT_EQ(refused.error().code, ErrorCode::unauthorized);
    EXPECT_NE(refused.error().message.find("revoked"), std::string::npos) << refused.error().message;
    EXPECT_EQ(rows(id), 0);
}

// A client signs in with its secret alone. For a person's account that would give whoever holds
// the secret (the administrator who issued it, first) the mailbox, the ContentHandover evidence in
// the holder's name and the eSignCloud activation code in it, hence a signing key and a qualified
// certificate in the holder's name with a PIN and authenticator of their own choosing.
TEST_F(AccountTest, ApiClientsAreRefusedForPersonsAndInstitutions) {
    auto& accounts = runtime->accounts();
    auto admin = open("管理員", "ADMIN Ka Ho", "7000001(1)", {}, {Role::administrator});
    auto citizen = accounts.issue_api_client(admin.account, alice.account.id);
    ASSERT_FALSE(citizen);
    EXPECT_EQ(citizen.error().code, ErrorCode::invalid_argument);
    EXPECT_NE(citizen.error().message.find("service accounts"), std::string::npos)
        << citizen.error().message;
    auto institution = open("澳門科技有限公司", "Macau Tech Limitada", "S-0042", {}, {Role::institution});
    auto refused = accounts.issue_api_client(admin.account, institution.account.id);
    ASSERT_FALSE(refused);
    EXPECT_EQ(refused.error().code, ErrorCode::invalid_argument);
    auto clerk = open("櫃台", "LEI Man Un", "7000002(2)", {}, {Role::clerk});
    EXPECT_TRUE(accounts.issue_api_client(admin.account, clerk.account.id)) << "payment systems";

    // A client stored for a citizen before this rule (or by other means) does not sign in.
    store::SqlApiClientRepository repo(runtime->database());
    SystemRng system_rng;
    ApiClient old{"cli_000000000000000000000001", alice.account.id,
                  *crypto::argon2id_hash_password("old-secret", {}, system_rng), admin.account.id,
                  clock.now(), std::nullopt};
    ASSERT_TRUE(repo.insert(old));
    auto signed_in = accounts.authenticate_client(old.client_id, "old-secret");
    ASSERT_FALSE(signed_in);
    EXPECT_EQ(signed_in.error().code, ErrorCode::unauthorized);
}

}  // namespace
}  // namespace selo::account
