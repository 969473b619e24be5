#include "store/sql_account.hpp"

#include "store/sql_util.hpp"

namespace selo::store {

using sql::at;
using sql::blob;
using sql::secs;

// ---- accounts ----------------------------------------------------------------------------------

namespace {
Result<std::vector<account::Role>> roles_of(Database& db, std::string_view account_id) {
    auto rows = SELO_TRY(db.query("SELECT role FROM account_roles WHERE account_id = ? ORDER BY role",
                                  {std::string(account_id)}));
    std::vector<account::Role> roles;
    for (const auto& r : rows) {
        roles.push_back(SELO_TRY(account::role_from_name(SELO_TRY(r.text(0)))));
    }
    std::sort(roles.begin(), roles.end());
    return roles;
}
}  // namespace

Result<void> SqlAccountRepository::insert(const account::Account& a) {
    return db_.transaction([&]() -> Result<void> {
        SELO_TRY_VOID(insert_row(a));
        for (auto role : a.roles) {
            SELO_TRY(db_.execute("INSERT INTO account_roles (account_id, role) VALUES (?, ?)",
                                 {a.id, std::string(account::role_name(role))}));
        }
        return {};
    });
}

Result<void> SqlAccountRepository::insert_row(const account::Account& a) {
    const auto& p = a.person;
    Value last = Null{};
    if (a.totp_last_step) {
        last = static_cast<std::int64_t>(*a.totp_last_step);
    }
    auto rc = db_.execute(
        "INSERT INTO accounts (id, username, name, latin_name, given_name, surname, id_type, "
        "id_country, id_number, email, password_hash, totp_secret_sealed, totp_last_step, "
        "created_at, must_change_password) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
        {a.id, a.username, p.name, p.latin_name, p.given_name, p.surname,
         std::string(account::identity_document_name(p.id_type)), p.id_country, p.id_number,
         p.email, a.password_hash, a.totp_secret_sealed, last, secs(a.created_at),
         static_cast<std::int64_t>(a.must_change_password ? 1 : 0)});
    if (!rc) {
        if (rc.error().code == ErrorCode::conflict) {
            return fail(ErrorCode::conflict, "this identity document or username is already registered");
        }
        return std::unexpected(rc.error());
    }
    return {};
}

Result<std::optional<account::Account>> SqlAccountRepository::find_where(std::string_view column,
                                                                         std::string_view value) {
    std::string sql = fmt::format(
        "SELECT id, username, name, latin_name, given_name, surname, id_type, id_country, "
        "id_number, email, password_hash, totp_secret_sealed, totp_last_step, created_at, "
        "must_change_password FROM accounts WHERE {} = ?",
        column);
    auto row = SELO_TRY(db_.query_one(sql, {std::string(value)}));
    if (!row) {
        return std::optional<account::Account>{};
    }
    const Row& r = *row;
    account::Account a;
    a.id = SELO_TRY(r.text(0));
    a.username = SELO_TRY(r.text(1));
    a.person.name = SELO_TRY(r.text(2));
    a.person.latin_name = SELO_TRY(r.text(3));
    a.person.given_name = SELO_TRY(r.text(4));
    a.person.surname = SELO_TRY(r.text(5));
    a.person.id_type = SELO_TRY(account::identity_document_from_name(SELO_TRY(r.text(6))));
    a.person.id_country = SELO_TRY(r.text(7));
    a.person.id_number = SELO_TRY(r.text(8));
    a.person.email = SELO_TRY(r.text(9));
    a.password_hash = SELO_TRY(r.text(10));
    a.totp_secret_sealed = SELO_TRY(r.blob(11));
    if (auto s = SELO_TRY(r.optional_integer(12))) {
        a.totp_last_step = static_cast<std::uint64_t>(*s);
    }
    a.created_at = at(SELO_TRY(r.integer(13)));
    a.must_change_password = SELO_TRY(r.integer(14)) != 0;
    a.roles = SELO_TRY(roles_of(db_, a.id));
    return std::optional<account::Account>(std::move(a));
}

Result<std::optional<account::Account>> SqlAccountRepository::find_by_id(std::string_view id) {
    return find_where("id", id);
}

Result<std::optional<account::Account>> SqlAccountRepository::find_by_username(
    std::string_view username) {
    return find_where("username", username);
}

Result<std::optional<account::Account>> SqlAccountRepository::find_by_identity(account::IdentityDocument type,
                                                                               std::string_view country,
                                                                               std::string_view number) {
    auto row = SELO_TRY(db_.query_one(
        "SELECT id FROM accounts WHERE id_type = ? AND id_country = ? AND id_number = ?",
        {std::string(account::identity_document_name(type)), std::string(country),
         std::string(number)}));
    if (!row) {
        return std::optional<account::Account>{};
    }
    return find_by_id(SELO_TRY(row->text(0)));
}

Result<bool> SqlAccountRepository::username_taken(std::string_view username) {
    auto row = SELO_TRY(db_.query_one("SELECT 1 FROM accounts WHERE username = ?",
                                      {std::string(username)}));
    return row.has_value();
}

Result<bool> SqlAccountRepository::claim_totp_step(std::string_view account_id, std::uint64_t step) {
    auto changed = SELO_TRY(db_.execute(
        "UPDATE accounts SET totp_last_step = ? WHERE id = ? AND "
        "(totp_last_step IS NULL OR totp_last_step < ?)",
        {static_cast<std::int64_t>(step), std::string(account_id), static_cast<std::int64_t>(step)}));
    return changed == 1;
}

Result<void> SqlAccountRepository::set_password(std::string_view account_id,
                                                std::string_view password_hash, bool must_change) {
    auto n = SELO_TRY(db_.execute(
        "UPDATE accounts SET password_hash = ?, must_change_password = ? WHERE id = ?",
        {std::string(password_hash), static_cast<std::int64_t>(must_change ? 1 : 0),
         std::string(account_id)}));
    if (n != 1) {
        return fail(ErrorCode::not_found, "no account {}", account_id);
    }
    return {};
}

Result<void> SqlAccountRepository::set_authenticator(std::string_view account_id,
                                                     ByteView sealed_secret,
                                                     std::optional<std::uint64_t> last_step) {
    Value last = Null{};
    if (last_step) {
        last = static_cast<std::int64_t>(*last_step);
    }
    auto n = SELO_TRY(db_.execute(
        "UPDATE accounts SET totp_secret_sealed = ?, totp_last_step = ? WHERE id = ?",
        {blob(sealed_secret), last, std::string(account_id)}));
    if (n != 1) {
        return fail(ErrorCode::not_found, "no account {}", account_id);
    }
    return {};
}

// ---- lockout counts ----------------------------------------------------------------------------

Result<account::FailureState> SqlFailureRepository::find(std::string_view subject) {
    auto row = SELO_TRY(db_.query_one(
        "SELECT failures, locked_until FROM auth_failures WHERE subject = ?", {std::string(subject)}));
    account::FailureState s;
    if (row) {
        s.failures = static_cast<unsigned>(SELO_TRY(row->integer(0)));
        if (auto l = SELO_TRY(row->optional_integer(1))) {
            s.locked_until = at(*l);
        }
    }
    return s;
}

Result<account::FailureState> SqlFailureRepository::record_failure(
    std::string_view subject, TimePoint now, const account::LockoutPolicy& policy) {
    account::FailureState s;
    // One write transaction (BEGIN IMMEDIATE): read, count, write; concurrent failures on other
    // processes or nodes queue behind it, so none is lost.
    SELO_TRY_VOID(db_.transaction([&]() -> Result<void> {
        s = SELO_TRY(find(subject));
        ++s.failures;
        if (auto d = account::lock_duration(policy, s.failures)) {
            s.locked_until = now + *d;
        }
        Value locked = Null{};
        if (s.locked_until) {
            locked = secs(*s.locked_until);
        }
        SELO_TRY(db_.execute(
            "INSERT INTO auth_failures (subject, failures, locked_until, last_failure_at) "
            "VALUES (?,?,?,?) ON CONFLICT (subject) DO UPDATE SET failures = excluded.failures, "
            "locked_until = excluded.locked_until, last_failure_at = excluded.last_failure_at",
            {std::string(subject), static_cast<std::int64_t>(s.failures), locked, secs(now)}));
        return {};
    }));
    return s;
}

Result<void> SqlFailureRepository::clear(std::string_view subject) {
    SELO_TRY(db_.execute("DELETE FROM auth_failures WHERE subject = ?", {std::string(subject)}));
    return {};
}

// ---- API clients -------------------------------------------------------------------------------

namespace {
Result<account::ApiClient> client_from_row(const Row& r) {
    account::ApiClient c;
    c.client_id = SELO_TRY(r.text(0));
    c.account_id = SELO_TRY(r.text(1));
    c.secret_hash = SELO_TRY(r.text(2));
    c.created_by = SELO_TRY(r.text(3));
    c.created_at = at(SELO_TRY(r.integer(4)));
    if (auto v = SELO_TRY(r.optional_integer(5))) {
        c.revoked_at = at(*v);
    }
    return c;
}
constexpr std::string_view kClientColumns =
    "client_id, account_id, secret_hash, created_by, created_at, revoked_at";
}  // namespace

Result<void> SqlApiClientRepository::insert(const account::ApiClient& c) {
    SELO_TRY(db_.execute(
        "INSERT INTO api_clients (client_id, account_id, secret_hash, created_by, created_at) "
        "VALUES (?,?,?,?,?)",
        {c.client_id, c.account_id, c.secret_hash, c.created_by, secs(c.created_at)}));
    return {};
}

Result<std::optional<account::ApiClient>> SqlApiClientRepository::find(std::string_view client_id) {
    auto row = SELO_TRY(db_.query_one(
        fmt::format("SELECT {} FROM api_clients WHERE client_id = ?", kClientColumns),
        {std::string(client_id)}));
    if (!row) {
        return std::optional<account::ApiClient>{};
    }
    return std::optional<account::ApiClient>(SELO_TRY(client_from_row(*row)));
}

Result<std::vector<account::ApiClient>> SqlApiClientRepository::list_for_account(
    std::string_view account_id) {
    auto rows = SELO_TRY(db_.query(
        fmt::format("SELECT {} FROM api_clients WHERE account_id = ? ORDER BY created_at, client_id",
                    kClientColumns),
        {std::string(account_id)}));
    std::vector<account::ApiClient> out;
    for (const auto& r : rows) {
        out.push_back(SELO_TRY(client_from_row(r)));
    }
    return out;
}

Result<bool> SqlApiClientRepository::revoke(std::string_view client_id, TimePoint when) {
    bool revoked = false;
    // One transaction: a client is never revoked while the tokens it obtained live on.
    SELO_TRY_VOID(db_.transaction([&]() -> Result<void> {
        auto n = SELO_TRY(db_.execute(
            "UPDATE api_clients SET revoked_at = ? WHERE client_id = ? AND revoked_at IS NULL",
            {secs(when), std::string(client_id)}));
        revoked = n == 1;
        if (revoked) {
            SELO_TRY(db_.execute("DELETE FROM sessions WHERE client_id = ?", {std::string(client_id)}));
        }
        return {};
    }));
    return revoked;
}

// ---- sessions ------------------------------------------------------------------------------

Result<void> SqlSessionRepository::insert(const account::Session& s) {
    SELO_TRY(db_.execute(
        "INSERT INTO sessions (token_hash, account_id, second_factor, expires_at, created_at, "
        "client_id) VALUES (?,?,?,?,?,?)",
        {s.token_hash, s.account_id, static_cast<std::int64_t>(s.second_factor ? 1 : 0),
         secs(s.expires_at), secs(s.created_at),
         s.client_id.empty() ? Value{} : Value{s.client_id}}));
    return {};
}

Result<std::optional<account::Session>> SqlSessionRepository::find(ByteView token_hash) {
    auto row = SELO_TRY(db_.query_one(
        "SELECT token_hash, account_id, second_factor, expires_at, created_at, client_id "
        "FROM sessions WHERE token_hash = ?",
        {blob(token_hash)}));
    if (!row) {
        return std::optional<account::Session>{};
    }
    return std::optional<account::Session>(account::Session{
        SELO_TRY(row->blob(0)), SELO_TRY(row->text(1)), SELO_TRY(row->integer(2)) != 0,
        at(SELO_TRY(row->integer(3))), at(SELO_TRY(row->integer(4))),
        SELO_TRY(row->optional_text(5)).value_or(std::string())});
}

Result<void> SqlSessionRepository::remove(ByteView token_hash) {
    SELO_TRY(db_.execute("DELETE FROM sessions WHERE token_hash = ?", {blob(token_hash)}));
    return {};
}

Result<void> SqlSessionRepository::remove_expired(TimePoint now) {
    SELO_TRY(db_.execute("DELETE FROM sessions WHERE expires_at <= ?", {secs(now)}));
    return {};
}

Result<std::size_t> SqlSessionRepository::remove_for_account(std::string_view account_id) {
    auto n = SELO_TRY(db_.execute("DELETE FROM sessions WHERE account_id = ?", {std::string(account_id)}));
    return static_cast<std::size_t>(n);
}

}  // namespace selo::store
