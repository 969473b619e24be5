#include "store/sql_enrolment.hpp"

#include "store/sql_util.hpp"

namespace selo::store {

using sql::at;
using sql::secs;

namespace {
std::string_view state_name(account::ActivationState s) {
    switch (s) {
        case account::ActivationState::pending: return "pending";
        case account::ActivationState::pairing: return "pairing";
        case account::ActivationState::completed: return "completed";
        case account::ActivationState::void_: return "void";
    }
    return "void";
}
account::ActivationState state_from(std::string_view s) {
    if (s == "pending") {
        return account::ActivationState::pending;
    }
    if (s == "pairing") {
        return account::ActivationState::pairing;
    }
    if (s == "completed") {
        return account::ActivationState::completed;
    }
    return account::ActivationState::void_;
}
std::int64_t flag(bool b) { return b ? 1 : 0; }
}  // namespace

Result<void> SqlEnrolmentRepository::insert(const account::Enrolment& e) {
    SELO_TRY(db_.execute(
        "INSERT INTO enrolments (id, account_id, clerk_id, date_of_birth, phone, postal_address, "
        "sepbox, esigncloud, slip_password_sealed, slip_expires_at, created_at) "
        "VALUES (?,?,?,?,?,?,?,?,?,?,?)",
        {e.id, e.account_id, e.clerk_id, e.date_of_birth, e.phone, e.postal_address, flag(e.sepbox),
         flag(e.esigncloud), e.slip_password_sealed, secs(e.slip_expires_at), secs(e.created_at)}));
    return {};
}

Result<std::optional<account::Enrolment>> SqlEnrolmentRepository::find(std::string_view id) {
    return find_where("id", id);
}

Result<std::optional<account::Enrolment>> SqlEnrolmentRepository::find_by_account(
    std::string_view account_id) {
    return find_where("account_id", account_id);
}

Result<std::optional<account::Enrolment>> SqlEnrolmentRepository::find_where(std::string_view column,
                                                                             std::string_view value) {
    auto row = SELO_TRY(db_.query_one(
        fmt::format("SELECT id, account_id, clerk_id, date_of_birth, phone, postal_address, sepbox, "
                    "esigncloud, slip_password_sealed, slip_expires_at, created_at FROM enrolments "
                    "WHERE {} = ?",
                    column),
        {std::string(value)}));
    if (!row) {
        return std::optional<account::Enrolment>{};
    }
    account::Enrolment e;
    e.id = SELO_TRY(row->text(0));
    e.account_id = SELO_TRY(row->text(1));
    e.clerk_id = SELO_TRY(row->text(2));
    e.date_of_birth = SELO_TRY(row->text(3));
    e.phone = SELO_TRY(row->text(4));
    e.postal_address = SELO_TRY(row->text(5));
    e.sepbox = SELO_TRY(row->integer(6)) != 0;
    e.esigncloud = SELO_TRY(row->integer(7)) != 0;
    e.slip_password_sealed = SELO_TRY(row->blob(8));
    e.slip_expires_at = at(SELO_TRY(row->integer(9)));
    e.created_at = at(SELO_TRY(row->integer(10)));
    return std::optional<account::Enrolment>(std::move(e));
}

Result<bool> SqlEnrolmentRepository::consume_slip(std::string_view id, TimePoint now) {
    auto n = SELO_TRY(db_.execute(
        "UPDATE enrolments SET slip_password_sealed = NULL, slip_fetched_at = ? "
        "WHERE id = ? AND slip_password_sealed IS NOT NULL",
        {secs(now), std::string(id)}));
    return n == 1;
}

Result<void> SqlEnrolmentRepository::insert_code(const account::ActivationCode& c) {
    SELO_TRY(db_.execute(
        "INSERT INTO activation_codes (id, account_id, purpose, code_hash, state, attempts, "
        "pending_secret_sealed, message_id, created_at, expires_at) VALUES (?,?,?,?,?,?,?,?,?,?)",
        {c.id, c.account_id, std::string(account::activation_purpose_name(c.purpose)), c.code_hash,
         std::string(state_name(c.state)), static_cast<std::int64_t>(c.attempts),
         c.pending_secret_sealed, c.message_id, secs(c.created_at), secs(c.expires_at)}));
    return {};
}

Result<std::optional<account::ActivationCode>> SqlEnrolmentRepository::open_code(std::string_view account_id) {
    auto row = SELO_TRY(db_.query_one(
        "SELECT id, account_id, purpose, code_hash, state, attempts, pending_secret_sealed, "
        "message_id, created_at, expires_at FROM activation_codes "
        "WHERE account_id = ? AND state IN ('pending', 'pairing') ORDER BY created_at DESC, id LIMIT 1",
        {std::string(account_id)}));
    if (!row) {
        return std::optional<account::ActivationCode>{};
    }
    account::ActivationCode c;
    c.id = SELO_TRY(row->text(0));
    c.account_id = SELO_TRY(row->text(1));
    c.purpose = SELO_TRY(account::activation_purpose_from_name(SELO_TRY(row->text(2))));
    c.code_hash = SELO_TRY(row->blob(3));
    c.state = state_from(SELO_TRY(row->text(4)));
    c.attempts = static_cast<unsigned>(SELO_TRY(row->integer(5)));
    c.pending_secret_sealed = SELO_TRY(row->blob(6));
    c.message_id = SELO_TRY(row->text(7));
    c.created_at = at(SELO_TRY(row->integer(8)));
    c.expires_at = at(SELO_TRY(row->integer(9)));
    return std::optional<account::ActivationCode>(std::move(c));
}

Result<void> SqlEnrolmentRepository::update_code(const account::ActivationCode& c) {
    Value pending = Null{};
    if (!c.pending_secret_sealed.empty()) {
        pending = c.pending_secret_sealed;
    }
    SELO_TRY(db_.execute(
        "UPDATE activation_codes SET state = ?, attempts = ?, pending_secret_sealed = ? WHERE id = ?",
        {std::string(state_name(c.state)), static_cast<std::int64_t>(c.attempts), pending, c.id}));
    return {};
}

Result<void> SqlEnrolmentRepository::void_codes(std::string_view account_id) {
    SELO_TRY(db_.execute(
        "UPDATE activation_codes SET state = 'void', pending_secret_sealed = NULL "
        "WHERE account_id = ? AND state IN ('pending', 'pairing')",
        {std::string(account_id)}));
    return {};
}

Result<std::optional<account::Subscription>> SqlEnrolmentRepository::subscription(std::string_view account_id) {
    auto row = SELO_TRY(db_.query_one(
        "SELECT account_id, paid_until, created_at FROM subscriptions WHERE account_id = ?",
        {std::string(account_id)}));
    if (!row) {
        return std::optional<account::Subscription>{};
    }
    return std::optional<account::Subscription>(
        account::Subscription{SELO_TRY(row->text(0)), at(SELO_TRY(row->integer(1))), at(SELO_TRY(row->integer(2)))});
}

Result<void> SqlEnrolmentRepository::put_subscription(const account::Subscription& s) {
    SELO_TRY(db_.execute(
        "INSERT INTO subscriptions (account_id, paid_until, created_at) VALUES (?,?,?) "
        "ON CONFLICT (account_id) DO UPDATE SET paid_until = excluded.paid_until",
        {s.account_id, secs(s.paid_until), secs(s.created_at)}));
    return {};
}

Result<void> SqlEnrolmentRepository::insert_payment(const account::Payment& p) {
    auto r = db_.execute(
        "INSERT INTO subscription_payments (id, account_id, amount_cents, currency, years, "
        "reference, recorded_by, paid_until_after, created_at) VALUES (?,?,?,?,?,?,?,?,?)",
        {p.id, p.account_id, p.amount_cents, p.currency, static_cast<std::int64_t>(p.years),
         p.reference, p.recorded_by, secs(p.paid_until_after), secs(p.created_at)});
    if (!r) {
        if (r.error().code == ErrorCode::conflict) {
            return fail(ErrorCode::conflict, "a payment with reference '{}' was recorded already",
                        p.reference);
        }
        return std::unexpected(r.error());
    }
    return {};
}

Result<bool> SqlEnrolmentRepository::claim_reminder(std::string_view account_id, TimePoint period_end,
                                                    std::string_view kind, TimePoint now) {
    auto n = SELO_TRY(db_.execute(
        "INSERT INTO subscription_reminders (account_id, period_end, kind, sent_at) VALUES (?,?,?,?) "
        "ON CONFLICT DO NOTHING",
        {std::string(account_id), secs(period_end), std::string(kind), secs(now)}));
    return n == 1;
}

Result<std::vector<account::Subscription>> SqlEnrolmentRepository::subscriptions_ending(TimePoint from,
                                                                                        TimePoint to) {
    auto rows = SELO_TRY(db_.query(
        "SELECT account_id, paid_until, created_at FROM subscriptions "
        "WHERE paid_until > ? AND paid_until <= ? ORDER BY paid_until, account_id",
        {secs(from), secs(to)}));
    std::vector<account::Subscription> out;
    for (const auto& r : rows) {
        out.push_back({SELO_TRY(r.text(0)), at(SELO_TRY(r.integer(1))), at(SELO_TRY(r.integer(2)))});
    }
    return out;
}

}  // namespace selo::store
