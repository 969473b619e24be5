// Schema of the "account" part (see store/migrations.hpp). Never edit a released entry: append.
#include "store/migrations.hpp"

namespace selo::store::schema {

const std::vector<std::string_view>& account() {
    static const std::vector<std::string_view> migrations = {
        R"sql(
CREATE TABLE accounts (
    id TEXT PRIMARY KEY,
    username TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    latin_name TEXT NOT NULL,
    given_name TEXT NOT NULL,
    surname TEXT NOT NULL,
    id_type TEXT NOT NULL,
    id_country TEXT NOT NULL,
    id_number TEXT NOT NULL,
    email TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    totp_secret_sealed BLOB NOT NULL,
    totp_last_step INTEGER,
    created_at INTEGER NOT NULL,
    UNIQUE (id_type, id_country, id_number)
);

CREATE TABLE account_roles (
    account_id TEXT NOT NULL REFERENCES accounts(id),
    role TEXT NOT NULL,
    PRIMARY KEY (account_id, role)
);

CREATE TABLE sessions (
    token_hash BLOB PRIMARY KEY,
    account_id TEXT NOT NULL REFERENCES accounts(id),
    second_factor INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    created_at INTEGER NOT NULL
);
CREATE INDEX sessions_by_expiry ON sessions(expires_at);
)sql",
        // Sign-in hardening: one-time initial passwords, lockout counts, API clients.
        R"sql(
ALTER TABLE accounts ADD COLUMN must_change_password INTEGER NOT NULL DEFAULT 0;

CREATE TABLE auth_failures (
    subject TEXT PRIMARY KEY,
    failures INTEGER NOT NULL,
    locked_until INTEGER,
    last_failure_at INTEGER NOT NULL
);

CREATE TABLE api_clients (
    client_id TEXT PRIMARY KEY,
    account_id TEXT NOT NULL REFERENCES accounts(id),
    secret_hash TEXT NOT NULL,
    created_by TEXT NOT NULL REFERENCES accounts(id),
    created_at INTEGER NOT NULL,
    revoked_at INTEGER
);
CREATE INDEX api_clients_by_account ON api_clients(account_id);
)sql",
    };
    return migrations;
}

}  // namespace selo::store::schema
