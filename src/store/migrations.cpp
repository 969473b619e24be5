#include <array>
#include <string_view>

#include "store/database.hpp"

namespace selo::store {
namespace {

// Each entry moves the schema from version i to i+1. Entries are never edited once released:
// a change is a new entry. Written in the SQL subset SQLite and PostgreSQL share, except BLOB.
constexpr std::array<std::string_view, 1> kMigrations = {
    R"sql(
CREATE TABLE keys (
    id TEXT PRIMARY KEY,
    type TEXT NOT NULL,
    public_key BLOB NOT NULL,
    sealed_private_key BLOB NOT NULL,
    created_at INTEGER NOT NULL
);

CREATE TABLE certificate_authorities (
    name TEXT PRIMARY KEY,
    role TEXT NOT NULL CHECK (role IN ('root', 'issuing')),
    parent TEXT REFERENCES certificate_authorities(name),
    key_id TEXT NOT NULL REFERENCES keys(id),
    certificate BLOB NOT NULL,
    created_at INTEGER NOT NULL
);

-- Issued certificates are append-only: only the status columns may change.
CREATE TABLE certificates (
    issuer TEXT NOT NULL,
    serial TEXT NOT NULL,
    subject TEXT NOT NULL,
    profile TEXT NOT NULL,
    not_before INTEGER NOT NULL,
    not_after INTEGER NOT NULL,
    der BLOB NOT NULL,
    issued_at INTEGER NOT NULL,
    status TEXT NOT NULL DEFAULT 'valid',
    PRIMARY KEY (issuer, serial)
);

CREATE TRIGGER certificates_append_only_update
BEFORE UPDATE OF issuer, serial, subject, profile, not_before, not_after, der, issued_at
ON certificates
BEGIN
    SELECT RAISE(ABORT, 'issued certificates are append-only');
END;

CREATE TRIGGER certificates_append_only_delete
BEFORE DELETE ON certificates
BEGIN
    SELECT RAISE(ABORT, 'issued certificates are append-only');
END;

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

CREATE TABLE credentials (
    id TEXT PRIMARY KEY,
    account_id TEXT NOT NULL REFERENCES accounts(id),
    ca_name TEXT NOT NULL,
    certificate_serial TEXT NOT NULL,
    certificate BLOB NOT NULL,
    key_type TEXT NOT NULL,
    sealed_private_key BLOB NOT NULL,
    pin_salt BLOB NOT NULL,
    pin_kdf_memory_kib INTEGER NOT NULL,
    pin_kdf_iterations INTEGER NOT NULL,
    pin_kdf_parallelism INTEGER NOT NULL,
    status TEXT NOT NULL DEFAULT 'enabled',
    created_at INTEGER NOT NULL
);
CREATE INDEX credentials_by_account ON credentials(account_id);

CREATE TABLE sessions (
    token_hash BLOB PRIMARY KEY,
    account_id TEXT NOT NULL REFERENCES accounts(id),
    expires_at INTEGER NOT NULL,
    created_at INTEGER NOT NULL
);

CREATE TABLE signature_activations (
    id BLOB PRIMARY KEY,
    account_id TEXT NOT NULL REFERENCES accounts(id),
    credential_id TEXT NOT NULL REFERENCES credentials(id),
    hash_algorithm TEXT NOT NULL,
    expires_at INTEGER NOT NULL,
    sealed_pin_key BLOB NOT NULL,
    created_at INTEGER NOT NULL
);

CREATE TABLE signature_activation_hashes (
    activation_id BLOB NOT NULL REFERENCES signature_activations(id) ON DELETE CASCADE,
    position INTEGER NOT NULL,
    hash BLOB NOT NULL,
    used_at INTEGER,
    PRIMARY KEY (activation_id, hash)
);

-- Who did what, when and why. Append-only.
CREATE TABLE audit_log (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    at INTEGER NOT NULL,
    actor TEXT NOT NULL,
    action TEXT NOT NULL,
    subject TEXT NOT NULL,
    detail TEXT NOT NULL
);

CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'the audit log is append-only');
END;

CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'the audit log is append-only');
END;
)sql",
};

}  // namespace

Result<void> migrate(Database& db) {
    return db.transaction([&]() -> Result<void> {
        SELO_TRY(db.execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)"));
        auto row = SELO_TRY(db.query_one("SELECT version FROM schema_version"));
        std::int64_t version = 0;
        if (!row) {
            SELO_TRY(db.execute("INSERT INTO schema_version (version) VALUES (0)"));
        } else {
            version = row->integer(0);
        }
        if (version > static_cast<std::int64_t>(kMigrations.size())) {
            return fail(ErrorCode::conflict,
                        "the database has schema version {}, newer than this Selo ({}): upgrade Selo",
                        version, kMigrations.size());
        }
        for (auto v = static_cast<std::size_t>(version); v < kMigrations.size(); ++v) {
            SELO_TRY_VOID(db.with_connection([&](Connection& c) { return c.execute_script(kMigrations[v]); }));
            SELO_TRY(db.execute("UPDATE schema_version SET version = ?",
                                {static_cast<std::int64_t>(v + 1)}));
        }
        return {};
    });
}

}  // namespace selo::store
