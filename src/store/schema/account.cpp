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
        // Counter enrolment, eSignCloud activation codes and the eSignCloud subscription.
        R"sql(
CREATE TABLE enrolments (
    id TEXT PRIMARY KEY,
    account_id TEXT NOT NULL UNIQUE REFERENCES accounts(id),
    clerk_id TEXT NOT NULL REFERENCES accounts(id),
    date_of_birth TEXT NOT NULL,
    phone TEXT NOT NULL,
    postal_address TEXT NOT NULL,
    sepbox INTEGER NOT NULL,
    esigncloud INTEGER NOT NULL,
    slip_password_sealed BLOB,
    slip_expires_at INTEGER NOT NULL,
    slip_fetched_at INTEGER,
    created_at INTEGER NOT NULL
);

CREATE TABLE activation_codes (
    id TEXT PRIMARY KEY,
    account_id TEXT NOT NULL REFERENCES accounts(id),
    purpose TEXT NOT NULL,
    code_hash BLOB NOT NULL,
    state TEXT NOT NULL,
    attempts INTEGER NOT NULL,
    pending_secret_sealed BLOB,
    message_id TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL
);
CREATE INDEX activation_codes_by_account ON activation_codes(account_id, state);

CREATE TABLE subscriptions (
    account_id TEXT PRIMARY KEY REFERENCES accounts(id),
    paid_until INTEGER NOT NULL,
    created_at INTEGER NOT NULL
);
CREATE INDEX subscriptions_by_end ON subscriptions(paid_until);

CREATE TABLE subscription_payments (
    id TEXT PRIMARY KEY,
    account_id TEXT NOT NULL REFERENCES accounts(id),
    amount_cents INTEGER NOT NULL,
    currency TEXT NOT NULL,
    years INTEGER NOT NULL,
    reference TEXT NOT NULL,
    recorded_by TEXT NOT NULL REFERENCES accounts(id),
    paid_until_after INTEGER NOT NULL,
    created_at INTEGER NOT NULL,
    UNIQUE (recorded_by, reference)
);

CREATE TABLE subscription_reminders (
    account_id TEXT NOT NULL REFERENCES accounts(id),
    period_end INTEGER NOT NULL,
    kind TEXT NOT NULL,
    sent_at INTEGER NOT NULL,
    PRIMARY KEY (account_id, period_end, kind)
);

CREATE TRIGGER subscription_payments_no_update BEFORE UPDATE ON subscription_payments
BEGIN
    SELECT RAISE(ABORT, 'payments are append-only');
END;
CREATE TRIGGER subscription_payments_no_delete BEFORE DELETE ON subscription_payments
BEGIN
    SELECT RAISE(ABORT, 'payments are append-only');
END;
)sql",
        // Sessions remember the API client that opened them (client_credentials), so revoking
        // the client ends them; a counter password reset ends every session of an account.
        R"sql(
ALTER TABLE sessions ADD COLUMN client_id TEXT REFERENCES api_clients(client_id);
CREATE INDEX sessions_by_client ON sessions(client_id) WHERE client_id IS NOT NULL;
CREATE INDEX sessions_by_account ON sessions(account_id);
)sql",
    };
    return migrations;
}

}  // namespace selo::store::schema
