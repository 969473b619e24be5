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
    };
    return migrations;
}

}  // namespace selo::store::schema
