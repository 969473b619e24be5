#pragma once
// Opening accounts and checking what account holders know (password) and have (the
// authenticator app). Counter enrolment and the portal call this; HTTP never reaches past it.

#include <string>

#include "account/account.hpp"
#include "account/api_client.hpp"
#include "account/lockout.hpp"
#include "account/password_policy.hpp"
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

// A password replaced by the counter (see EnrolmentService::reset_password).
struct PasswordReset {
    std::string one_time_password;  // shown once on the slip, never stored
    std::size_t sessions_ended = 0;
};

// Who is behind a bearer token.
struct Principal {
    Account account;
    bool second_factor = false;
};

struct AccountServiceOptions {
    std::string otp_issuer = "Selo";
    crypto::Argon2Params password_kdf{.memory_kib = 19 * 1024, .iterations = 2, .parallelism = 1};
    LockoutPolicy lockout;
    PasswordPolicy password_policy;  // length and personal-data rules; load() adds the word list
};

// How an account is opened.
struct OpenOptions {
    // Counter enrolment pairs the authenticator app later (eSignCloud activation); the operator
    // tool pairs it at once and prints the otpauth URI.
    bool with_authenticator = true;
    // The initial password is one-time: it must be changed before the account can do anything.
    bool must_change_password = false;
    // False for an institution's account: no password signs in to it (its members act for it
    // with their own sign-in); no initial password is generated.
    bool sign_in = true;
};

// A new API client and its secret, shown once.
struct IssuedApiClient {
    ApiClient client;
    std::string client_secret;
};

class AccountService {
public:
    // `failures` counts failed secrets for the lockout (a process-local count when null);
    // `clients` holds API clients (client credentials are refused when null).
    AccountService(AccountRepository& repo, SessionRepository& sessions, AuditTrail& audit,
                   const crypto::MasterKey& master, const Clock& clock, Rng& rng,
                   AccountServiceOptions options = {}, FailureRepository* failures = nullptr,
                   ApiClientRepository* clients = nullptr);

    // Validates the person's data, refuses a duplicate identity document, and opens the account
    // with a generated username, password and (with_authenticator) TOTP secret, holding `roles`.
    [[nodiscard]] Result<NewAccount> open(const Person& person,
                                          std::vector<Role> roles = {Role::citizen},
                                          OpenOptions how = {});

    // The account whose username and password match; ErrorCode::unauthorized otherwise, with
    // the same message for an unknown user and a wrong password. After `lockout.threshold`
    // consecutive failures the account's password is locked (ErrorCode::forbidden, saying
    // until when) with exponential back-off; a success resets the count.
    [[nodiscard]] Result<Account> authenticate(std::string_view username, std::string_view password);

    // Checks a TOTP code from the account's authenticator app (±1 step) and consumes it.
    // Wrong codes count towards the account's OTP lockout.
    [[nodiscard]] Result<void> verify_otp(const Account& account, std::string_view code);

    // The same check against a secret being paired (not yet the account's); consumes the step.
    [[nodiscard]] Result<std::uint64_t> verify_pairing_otp(const Account& account, ByteView secret,
                                                           std::string_view code);

    // Seconds until the password (or OTP) of `username` may be tried again; nullopt when it is
    // not locked or there is no such account.
    [[nodiscard]] std::optional<std::chrono::seconds> sign_in_retry_after(std::string_view username);

    // The generic lockout, for other secrets (the signing PIN of a credential: "pin:<id>").
    // check(): ErrorCode::forbidden "<what> is locked ... try again after ..." when locked.
    [[nodiscard]] Result<void> check_lock(std::string_view subject, std::string_view what);
    // Counts a failure, audits it (and the lockout it causes) under `action`.
    void record_failure(std::string_view subject, std::string_view what, std::string_view actor,
                        std::string_view action, std::string_view detail);
    void record_success(std::string_view subject);
    [[nodiscard]] std::optional<std::chrono::seconds> retry_after(std::string_view subject);

    // Changes the password after checking the current one (with the password lockout) and the
    // policy, and clears the must-change flag. The new password must differ from the current.
    [[nodiscard]] Result<void> change_password(const Account& account, std::string_view current,
                                               std::string_view replacement);
    // Replaces the password with a new generated one-time password (must be changed at the next
    // sign-in), ends every session of the account and clears its password and OTP lockout
    // counts. The caller checks who may do this and audits it; joins the caller's transaction.
    [[nodiscard]] Result<PasswordReset> reset_to_one_time_password(std::string_view account_id);
    [[nodiscard]] const PasswordPolicy& password_policy() const noexcept {
        return options_.password_policy;
    }

    // Seals an authenticator secret for `account_id` and stores it (empty: voids the pairing).
    [[nodiscard]] Result<void> set_authenticator(std::string_view account_id, ByteView secret,
                                                 std::optional<std::uint64_t> last_step);
    // Seals / unseals a secret under the OTP subkey, bound to the account and a purpose.
    [[nodiscard]] Result<Bytes> seal_for(std::string_view account_id, std::string_view purpose,
                                         ByteView secret);
    [[nodiscard]] Result<SecretBytes> unseal_for(std::string_view account_id,
                                                 std::string_view purpose, ByteView sealed);
    [[nodiscard]] std::string otpauth_uri(const Account& account, ByteView secret) const;

    // API clients (OAuth 2.0 client_credentials): issued by an administrator for an account.
    [[nodiscard]] Result<IssuedApiClient> issue_api_client(const Account& administrator,
                                                           std::string_view account_id);
    // The account behind a client id and secret; failures count towards "client:<id>".
    [[nodiscard]] Result<Account> authenticate_client(std::string_view client_id,
                                                      std::string_view client_secret);
    [[nodiscard]] Result<void> revoke_api_client(const Account& administrator,
                                                 std::string_view client_id);

    [[nodiscard]] Result<Account> find(std::string_view account_id);
    // By account id, else by username (for people at a counter, who know their username).
    [[nodiscard]] Result<Account> find_by_id_or_username(std::string_view id_or_username);

    // Records an event in the audit trail; a failure to record is logged, never hidden.
    void audit(AuditEvent event);

    // Opens a session for an authenticated account: a random bearer token, stored as a digest.
    // `client_id`: the API client whose grant opens it (revoking the client ends it).
    [[nodiscard]] Result<SessionGrant> start_session(const Account& account, bool second_factor,
                                                     std::chrono::seconds lifetime,
                                                     std::string_view client_id = {});
    // The account behind a bearer token: ErrorCode::unauthorized for an unknown token or one
    // whose API client is revoked, ErrorCode::expired for an expired one.
    [[nodiscard]] Result<Principal> resolve_session(std::string_view access_token);
    [[nodiscard]] Result<void> end_session(std::string_view access_token);
    [[nodiscard]] Result<void> purge_expired_sessions();

private:
    Result<std::string> choose_username(const Person& person);

    AccountRepository& repo_;
    SessionRepository& sessions_;
    MemoryFailureRepository memory_failures_;
    FailureRepository& failures_;
    ApiClientRepository* clients_;
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
