#pragma once
// People and their single account: identity as recorded at the counter, the password verifier,
// and the authenticator-app secret (sealed under the master key, bound to the account id).

#include <algorithm>
#include <optional>
#include <string>
#include <vector>

#include "core/bytes.hpp"
#include "core/clock.hpp"
#include "core/error.hpp"

namespace selo::account {

// What an account may do. Every /api/v1 route states which roles may call it.
enum class Role { citizen, institution, agency, clerk, ca_officer, auditor, administrator };

[[nodiscard]] std::string_view role_name(Role r) noexcept;  // e.g. "ca-officer"
[[nodiscard]] Result<Role> role_from_name(std::string_view name);
[[nodiscard]] const std::vector<Role>& all_roles();

// ETSI EN 319 412-1 §5.1.3 identity types used in the subject serialNumber ("IDC", "PAS").
// Staff of the operator (clerks, CA officers, auditors) are recorded with their staff card.
// Institutions (legal persons) by their entry in the national trade register (§5.1.4 "NTR").
enum class IdentityDocument { identity_card, passport, staff_card, trade_register };

[[nodiscard]] std::string_view identity_document_name(IdentityDocument d) noexcept;
[[nodiscard]] Result<IdentityDocument> identity_document_from_name(std::string_view name);
// The ETSI three-letter type: "IDC", "PAS" or "NTR".
[[nodiscard]] std::string_view etsi_identity_type(IdentityDocument d) noexcept;

struct Person {
    std::string name;        // as written in the identity document, e.g. "陳大文"
    std::string latin_name;  // Latin-script form, e.g. "CHAN Tai Man", "João Conceição"
    std::string given_name;  // Latin-script given name(s), e.g. "Tai Man"
    std::string surname;     // Latin-script surname, e.g. "CHAN"
    IdentityDocument id_type = IdentityDocument::identity_card;
    std::string id_number;   // e.g. "5215299(8)"
    std::string id_country = "MO";
    std::string email;
};

// True when a document presented at the counter is the one `person` was recorded with: same
// type, and the same number ignoring spaces and letter case (clerks type "5215299(8)" and
// "5215299 (8)" alike).
[[nodiscard]] bool same_identity_document(const Person& person, IdentityDocument seen_type,
                                          std::string_view seen_number);

struct Account {
    std::string id;
    std::string username;
    Person person;
    std::string password_hash;       // Argon2id PHC string
    Bytes totp_secret_sealed;        // AES-256-GCM under a master subkey
    std::optional<std::uint64_t> totp_last_step;
    std::vector<Role> roles;
    TimePoint created_at;
    // The initial password is one-time: until it is changed, /api/v1 serves only the routes
    // needed to change it.
    bool must_change_password = false;

    [[nodiscard]] bool has_role(Role r) const noexcept {
        return std::find(roles.begin(), roles.end(), r) != roles.end();
    }
    // False until an authenticator app is paired (counter enrolment pairs it at activation; a
    // clerk voids it when the phone is lost).
    [[nodiscard]] bool has_authenticator() const noexcept { return !totp_secret_sealed.empty(); }
    // Staff of the operator (clerk, CA officer, auditor, administrator).
    [[nodiscard]] bool is_staff() const noexcept {
        return has_role(Role::clerk) || has_role(Role::ca_officer) || has_role(Role::auditor) ||
               has_role(Role::administrator);
    }
};

// A signed-in session, found by the digest of its bearer token (the token is never stored).
struct Session {
    Bytes token_hash;
    std::string account_id;
    bool second_factor = false;  // signed in with password and OTP, not the password alone
    TimePoint expires_at;
    TimePoint created_at;
    // The API client whose client_credentials grant opened it; empty for a person's sign-in.
    // Revoking the client ends the session.
    std::string client_id;
};

class SessionRepository {
public:
    virtual ~SessionRepository() = default;
    virtual Result<void> insert(const Session& session) = 0;
    virtual Result<std::optional<Session>> find(ByteView token_hash) = 0;
    virtual Result<void> remove(ByteView token_hash) = 0;
    virtual Result<void> remove_expired(TimePoint now) = 0;
    // Ends every session of the account; returns how many there were.
    virtual Result<std::size_t> remove_for_account(std::string_view account_id) = 0;
};

class AccountRepository {
public:
    virtual ~AccountRepository() = default;
    // ErrorCode::conflict when the username or the identity document is already registered.
    // Stores the account's roles with it.
    virtual Result<void> insert(const Account& account) = 0;
    virtual Result<std::optional<Account>> find_by_id(std::string_view id) = 0;
    virtual Result<std::optional<Account>> find_by_username(std::string_view username) = 0;
    // The account holding this identity document, if any (at most one: documents are unique).
    virtual Result<std::optional<Account>> find_by_identity(IdentityDocument type, std::string_view country,
                                                            std::string_view number) = 0;
    virtual Result<bool> username_taken(std::string_view username) = 0;
    // Records `step` as the last accepted TOTP step if it is later than the stored one, in one
    // atomic statement, so two nodes can never both accept the same code. False: replay.
    virtual Result<bool> claim_totp_step(std::string_view account_id, std::uint64_t step) = 0;
    // Replaces the password verifier and the must-change flag.
    virtual Result<void> set_password(std::string_view account_id, std::string_view password_hash,
                                      bool must_change) = 0;
    // Replaces the authenticator secret (empty: none paired) and its last accepted step.
    virtual Result<void> set_authenticator(std::string_view account_id, ByteView sealed_secret,
                                           std::optional<std::uint64_t> last_step) = 0;
};

}  // namespace selo::account
