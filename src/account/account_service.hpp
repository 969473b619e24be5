#pragma once
// Opening accounts and checking what account holders know (password) and have (the
// authenticator app). Counter enrolment and the portal call this; HTTP never reaches past it.

#include <string>

#include "account/account.hpp"
#include "core/audit.hpp"
#include "core/clock.hpp"
#include "core/rng.hpp"
#include "crypto/kdf.hpp"
#include "crypto/master_key.hpp"

namespace selo::account {

struct NewAccount {
    Account account;
    std::string initial_password;  // shown once, never stored
    std::string otpauth_uri;       // for the authenticator app (RFC 6238 key URI)
    Bytes totp_secret;             // raw secret, shown once inside otpauth_uri
};

// A bearer token handed out at sign-in: shown once, only its digest is stored.
struct SessionGrant {
    std::string access_token;
    std::chrono::seconds expires_in;
};

// Who is behind a bearer token.
struct Principal {
    Account account;
    bool second_factor = false;
};

struct AccountServiceOptions {
    std::string otp_issuer = "Selo";
    crypto::Argon2Params password_kdf{.memory_kib = 19 * 1024, .iterations = 2, .parallelism = 1};
};

class AccountService {
public:
    AccountService(AccountRepository& repo, SessionRepository& sessions, AuditTrail& audit,
                   const crypto::MasterKey& master, const Clock& clock, Rng& rng,
                   AccountServiceOptions options = {});

    // Validates the person's data, refuses a duplicate identity document, and opens the account
    // with a generated username, password and TOTP secret, holding `roles`.
    [[nodiscard]] Result<NewAccount> open(const Person& person,
                                          std::vector<Role> roles = {Role::citizen});

    // The account whose username and password match; ErrorCode::unauthorized otherwise, with
    // the same message for an unknown user and a wrong password.
    [[nodiscard]] Result<Account> authenticate(std::string_view username, std::string_view password);

    // Checks a TOTP code from the account's authenticator app (±1 step) and consumes it.
    [[nodiscard]] Result<void> verify_otp(const Account& account, std::string_view code);

    [[nodiscard]] Result<Account> find(std::string_view account_id);

    // Records an event in the audit trail; a failure to record is logged, never hidden.
    void audit(AuditEvent event);

    // Opens a session for an authenticated account: a random bearer token, stored as a digest.
    [[nodiscard]] Result<SessionGrant> start_session(const Account& account, bool second_factor,
                                                     std::chrono::seconds lifetime);
    // The account behind a bearer token: ErrorCode::unauthorized for an unknown token,
    // ErrorCode::expired for an expired one.
    [[nodiscard]] Result<Principal> resolve_session(std::string_view access_token);
    [[nodiscard]] Result<void> end_session(std::string_view access_token);
    [[nodiscard]] Result<void> purge_expired_sessions();

private:
    Result<std::string> choose_username(const Person& person);

    AccountRepository& repo_;
    SessionRepository& sessions_;
    AuditTrail& audit_;
    SecretBytes otp_key_;
    const Clock& clock_;
    Rng& rng_;
    AccountServiceOptions options_;
    std::string dummy_hash_;  // verified against for unknown users, so timing does not tell
};

// Validates and normalises counter input: trims spaces, checks UTF-8 and lengths, derives
// given name and surname from the Latin name when not given, checks the e-mail address shape.
[[nodiscard]] Result<Person> normalise_person(Person person);

// ASCII-only, lower-case folding of a Latin name for usernames ("João" -> "joao").
[[nodiscard]] std::string fold_to_ascii(std::string_view latin);

}  // namespace selo::account
