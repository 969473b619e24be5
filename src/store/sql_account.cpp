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
        roles.push_back(SELO_TRY(account::role_from_name(r.text(0))));
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
        "created_at) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
        {a.id, a.username, p.name, p.latin_name, p.given_name, p.surname,
         std::string(account::identity_document_name(p.id_type)), p.id_country, p.id_number,
         p.email, a.password_hash, a.totp_secret_sealed, last, secs(a.created_at)});
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
        "id_number, email, password_hash, totp_secret_sealed, totp_last_step, created_at "
        "FROM accounts WHERE {} = ?",
        column);
    auto row = SELO_TRY(db_.query_one(sql, {std::string(value)}));
    if (!row) {
        return std::optional<account::Account>{};
    }
    const Row& r = *row;
    account::Account a;
    a.id = r.text(0);
    a.username = r.text(1);
    a.person.name = r.text(2);
    a.person.latin_name = r.text(3);
    a.person.given_name = r.text(4);
    a.person.surname = r.text(5);
    a.person.id_type = SELO_TRY(account::identity_document_from_name(r.text(6)));
    a.person.id_country = r.text(7);
    a.person.id_number = r.text(8);
    a.person.email = r.text(9);
    a.password_hash = r.text(10);
    a.totp_secret_sealed = r.blob(11);
    if (auto s = r.optional_integer(12)) {
        a.totp_last_step = static_cast<std::uint64_t>(*s);
    }
    a.created_at = at(r.integer(13));
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

Result<bool> SqlAccountRepository::identity_registered(account::IdentityDocument type,
                                                       std::string_view country,
                                                       std::string_view number) {
    auto row = SELO_TRY(db_.query_one(
        "SELECT 1 FROM accounts WHERE id_type = ? AND id_country = ? AND id_number = ?",
        {std::string(account::identity_document_name(type)), std::string(country),
         std::string(number)}));
    return row.has_value();
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

// ---- sessions ------------------------------------------------------------------------------

Result<void> SqlSessionRepository::insert(const account::Session& s) {
    SELO_TRY(db_.execute(
        "INSERT INTO sessions (token_hash, account_id, second_factor, expires_at, created_at) "
        "VALUES (?,?,?,?,?)",
        {s.token_hash, s.account_id, static_cast<std::int64_t>(s.second_factor ? 1 : 0),
         secs(s.expires_at), secs(s.created_at)}));
    return {};
}

Result<std::optional<account::Session>> SqlSessionRepository::find(ByteView token_hash) {
    auto row = SELO_TRY(db_.query_one(
        "SELECT token_hash, account_id, second_factor, expires_at, created_at FROM sessions "
        "WHERE token_hash = ?",
        {blob(token_hash)}));
    if (!row) {
        return std::optional<account::Session>{};
    }
    return std::optional<account::Session>(account::Session{
        row->blob(0), row->text(1), row->integer(2) != 0, at(row->integer(3)), at(row->integer(4))});
}

Result<void> SqlSessionRepository::remove(ByteView token_hash) {
    SELO_TRY(db_.execute("DELETE FROM sessions WHERE token_hash = ?", {blob(token_hash)}));
    return {};
}

Result<void> SqlSessionRepository::remove_expired(TimePoint now) {
    SELO_TRY(db_.execute("DELETE FROM sessions WHERE expires_at <= ?", {secs(now)}));
    return {};
}

}  // namespace selo::store
