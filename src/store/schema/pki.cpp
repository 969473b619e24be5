// Schema of the "pki" part (see store/migrations.hpp). Never edit a released entry: append.
#include "store/migrations.hpp"

namespace selo::store::schema {

const std::vector<std::string_view>& pki() {
    static const std::vector<std::string_view> migrations = {
        R"sql(
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
)sql",
        // Revocation (RFC 5280 §5.3.1 reasons), CRLs and delegated OCSP responders.
        R"sql(
ALTER TABLE certificates ADD COLUMN revoked_at INTEGER;
ALTER TABLE certificates ADD COLUMN revocation_reason INTEGER;
CREATE INDEX certificates_not_valid ON certificates(issuer) WHERE status != 'valid';
CREATE INDEX certificates_by_serial ON certificates(serial);
CREATE INDEX certificates_by_issued_at ON certificates(issued_at);

-- Bumped in the same transaction as every status change: OCSP caches and CRLs compare it.
CREATE TABLE certificate_status_versions (
    issuer TEXT PRIMARY KEY,
    version INTEGER NOT NULL
);

CREATE TABLE crls (
    issuer TEXT NOT NULL,
    number INTEGER NOT NULL,
    this_update INTEGER NOT NULL,
    next_update INTEGER NOT NULL,
    status_version INTEGER NOT NULL,
    der BLOB NOT NULL,
    PRIMARY KEY (issuer, number)
);

CREATE TABLE ocsp_responders (
    issuer TEXT NOT NULL,
    serial TEXT NOT NULL,
    key_id TEXT NOT NULL REFERENCES keys(id),
    created_at INTEGER NOT NULL,
    PRIMARY KEY (issuer, serial)
);

CREATE TRIGGER crls_append_only_update BEFORE UPDATE ON crls
BEGIN
    SELECT RAISE(ABORT, 'published CRLs are append-only');
END;
CREATE TRIGGER crls_append_only_delete BEFORE DELETE ON crls
BEGIN
    SELECT RAISE(ABORT, 'published CRLs are append-only');
END;
)sql",
    };
    return migrations;
}

}  // namespace selo::store::schema
