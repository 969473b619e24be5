#pragma once
// Enrolment at the counter: a clerk records a person (identity checked by sight) and, in one
// transaction, opens the single account (citizen, one-time initial password), has SEPBox create
// the mailbox, records the first year of eSignCloud as free, and posts the "activate eSignCloud"
// message holding a one-time activation code. The enrolment slip (the initial password) can be
// fetched once, by the clerk who enrolled, within a short window.
//
// Activation codes are also what recovery sends (lost phone, forgotten PIN); only a keyed hash of
// each code is stored, and a code dies after its lifetime or a few wrong entries.

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "account/account_service.hpp"
#include "core/postbox.hpp"

namespace selo::account {

// Runs a function in one database transaction (store::Database::transaction).
using Transaction = std::function<Result<void>(const std::function<Result<void>()>&)>;

struct EnrolmentRequest {
    Person person;
    std::string date_of_birth;   // YYYY-MM-DD
    std::string phone;           // e.g. "+853 6612 3456"
    std::string postal_address;  // free text, several lines allowed
    bool sepbox = true;
    bool esigncloud = true;
};

struct Enrolment {
    std::string id;  // "enr_" + hex
    std::string account_id;
    std::string clerk_id;
    std::string date_of_birth;
    std::string phone;
    std::string postal_address;
    bool sepbox = false;
    bool esigncloud = false;
    TimePoint created_at;
    TimePoint slip_expires_at;
    Bytes slip_password_sealed;  // erased when the slip is fetched
};

// Why an activation code was sent.
enum class ActivationPurpose { enrolment, lost_phone, forgotten_pin };
[[nodiscard]] std::string_view activation_purpose_name(ActivationPurpose p) noexcept;
[[nodiscard]] Result<ActivationPurpose> activation_purpose_from_name(std::string_view s);

enum class ActivationState { pending, pairing, completed, void_ };

struct ActivationCode {
    std::string id;  // "act_" + hex
    std::string account_id;
    ActivationPurpose purpose = ActivationPurpose::enrolment;
    Bytes code_hash;  // HMAC-SHA-256 under a master subkey
    ActivationState state = ActivationState::pending;
    unsigned attempts = 0;
    Bytes pending_secret_sealed;  // the authenticator secret being paired
    std::string message_id;       // the SEPBox message that carried the code
    TimePoint created_at;
    TimePoint expires_at;
};

struct Subscription {
    std::string account_id;
    TimePoint paid_until;
    TimePoint created_at;
};

struct Payment {
    std::string id;  // "pay_" + hex
    std::string account_id;
    std::int64_t amount_cents = 0;
    std::string currency = "MOP";
    unsigned years = 1;
    std::string reference;    // receipt number, unique per recorder
    std::string recorded_by;  // clerk or payment client account id
    TimePoint paid_until_after;
    TimePoint created_at;
};

class EnrolmentRepository {
public:
    virtual ~EnrolmentRepository() = default;
    virtual Result<void> insert(const Enrolment& e) = 0;
    virtual Result<std::optional<Enrolment>> find(std::string_view id) = 0;
    // The enrolment that opened the account (an account is enrolled once).
    virtual Result<std::optional<Enrolment>> find_by_account(std::string_view account_id) = 0;
    // Erases the sealed password and marks the slip fetched; false when it was fetched already.
    virtual Result<bool> consume_slip(std::string_view id, TimePoint now) = 0;

    virtual Result<void> insert_code(const ActivationCode& c) = 0;
    // The account's code still in use (pending or pairing), newest first.
    virtual Result<std::optional<ActivationCode>> open_code(std::string_view account_id) = 0;
    virtual Result<void> update_code(const ActivationCode& c) = 0;
    // Voids every open code of the account (a new one replaces them).
    virtual Result<void> void_codes(std::string_view account_id) = 0;

    virtual Result<std::optional<Subscription>> subscription(std::string_view account_id) = 0;
    virtual Result<void> put_subscription(const Subscription& s) = 0;
    // ErrorCode::conflict when the recorder used the reference already.
    virtual Result<void> insert_payment(const Payment& p) = 0;
    // Records that a reminder went out; false when it had been recorded before (idempotence).
    virtual Result<bool> claim_reminder(std::string_view account_id, TimePoint period_end,
                                        std::string_view kind, TimePoint now) = 0;
    // Accounts whose subscription ends in [from, to).
    virtual Result<std::vector<Subscription>> subscriptions_ending(TimePoint from, TimePoint to) = 0;
};

struct EnrolmentOptions {
    std::chrono::seconds slip_window{900};
    std::chrono::days activation_lifetime{30};
    unsigned activation_attempts = 5;
    std::string service_name = "Selo";  // named in messages and on the slip
};

struct EnrolmentResult {
    Enrolment enrolment;
    Account account;
    std::optional<Subscription> subscription;
    std::optional<std::string> activation_message_id;
};

// What the slip shows.
struct SlipContent {
    std::string enrolment_id;
    std::string service_name;
    Person person;
    std::string username;
    std::string initial_password;
    bool sepbox = false;
    bool esigncloud = false;
    TimePoint enrolled_at;
    std::optional<TimePoint> esigncloud_free_until;
    // Set on the slip of a counter password reset: when the new one-time password was issued.
    std::optional<TimePoint> password_reset_at;
    // An authenticator app is paired (eSignCloud activated, or sign-in with OTP): a reset slip
    // then says the app and the signing PIN stay as they are.
    bool authenticator_paired = false;
};

// The pairing an activation code starts: the authenticator secret, shown once as a URI.
struct Pairing {
    std::string activation_id;
    ActivationPurpose purpose;
    std::string otpauth_uri;
    TimePoint expires_at;
};

class EnrolmentService {
public:
    // `post` is SEPBox (the mailbox and the activation message); `transaction` makes each
    // operation all-or-nothing.
    EnrolmentService(AccountService& accounts, EnrolmentRepository& repo, SystemPost& post,
                     Transaction transaction, const crypto::MasterKey& master, const Clock& clock,
                     Rng& rng, EnrolmentOptions options = {});

    // Checks the request, then in one transaction opens the account and what was ticked.
    // ErrorCode::conflict for an identity document that already has an account.
    [[nodiscard]] Result<EnrolmentResult> enrol(const Account& clerk, const EnrolmentRequest& request);

    // The enrolment record (without its sealed password): the enrolling clerk only (others:
    // not_found, as for the slip).
    [[nodiscard]] Result<Enrolment> find(const Account& clerk, std::string_view enrolment_id);

    // The slip's content, once: the enrolling clerk only (others: not_found), within the
    // window (after it, or a second time: ErrorCode::expired). `render` makes the document; the
    // password is erased only after it succeeded.
    [[nodiscard]] Result<Bytes> take_slip(const Account& clerk, std::string_view enrolment_id,
                                          const std::function<Result<Bytes>(const SlipContent&)>& render);

    // A lost slip, or a one-time password whose slip window passed: after checking the person's
    // identity document in person, a clerk replaces the password of a citizen's account with a
    // new one-time password and gets a new slip (`render`), in one transaction: the old password
    // stops working, every session of the account ends, the password must be changed at the
    // next sign-in, the lockout counts are cleared, and the reset is audited (without the
    // password). Refused: a document that does not match the enrolment (ErrorCode::conflict,
    // audited, nothing changed); a staff, agency or institution account, or one not enrolled at
    // the counter (ErrorCode::invalid_argument / not_found).
    [[nodiscard]] Result<Bytes> reset_password(const Account& clerk, std::string_view account_id,
                                               IdentityDocument seen_type, std::string_view seen_number,
                                               const std::function<Result<Bytes>(const SlipContent&)>& render);

    // Issues a new activation code for the account (voiding older ones) and posts it into the
    // account's mailbox. Joins the caller's transaction.
    [[nodiscard]] Result<std::string> send_activation(const Account& account, ActivationPurpose purpose);

    // The citizen enters the code from the message: starts pairing an authenticator app.
    // Wrong codes count; after `activation_attempts` the code is void.
    [[nodiscard]] Result<Pairing> enter_code(const Account& account, std::string_view code);
    // The pairing in progress (for the QR code image); not_found when none.
    [[nodiscard]] Result<Pairing> current_pairing(const Account& account);
    // Checks the first OTP against the secret being paired (wrong codes count towards the OTP
    // lockout, so call it outside a transaction that may roll back).
    struct PairingProof {
        ActivationCode code;
        SecretBytes secret;
        std::uint64_t step = 0;
    };
    [[nodiscard]] Result<PairingProof> check_pairing(const Account& account, std::string_view otp);
    // Makes the paired secret the account's authenticator and completes the code; joins the
    // caller's transaction (the credential is created in the same one).
    [[nodiscard]] Result<void> finish_pairing(const Account& account, PairingProof& proof);
    // ErrorCode::forbidden when the account's subscription has ended unpaid; success when it is
    // paid or the account has none (operator-created accounts).
    [[nodiscard]] Result<void> check_subscription(std::string_view account_id);

    // Subscription of eSignCloud: paid_until, or nullopt when the account has none.
    [[nodiscard]] Result<std::optional<Subscription>> subscription(std::string_view account_id);
    // Records a payment of `years` years (extends from paid_until, or from now when expired).
    [[nodiscard]] Result<Payment> record_payment(const Account& recorder, std::string_view account_id,
                                                 std::int64_t amount_cents, std::string currency,
                                                 unsigned years, std::string reference);
    // Posts the 30- and 7-day renewal reminders that are due; each goes out once per period,
    // whatever the number of runs or processes. Returns how many were sent.
    [[nodiscard]] Result<unsigned> send_renewal_reminders();

    [[nodiscard]] const EnrolmentOptions& options() const noexcept { return options_; }
    [[nodiscard]] AccountService& accounts() noexcept { return accounts_; }

private:
    Bytes code_hash(std::string_view account_id, std::string_view code) const;
    Result<Pairing> pairing_of(const Account& account, const ActivationCode& c);

    AccountService& accounts_;
    EnrolmentRepository& repo_;
    SystemPost& post_;
    Transaction transaction_;
    SecretBytes code_key_;
    const Clock& clock_;
    Rng& rng_;
    EnrolmentOptions options_;
};

// Checks the counter fields beyond the person: date of birth (a real past date), phone
// (digits, spaces, + - ( )), postal address (1 to 300 characters).
[[nodiscard]] Result<void> check_enrolment_fields(const EnrolmentRequest& request, TimePoint now);

}  // namespace selo::account
