// Schema of the "tsa" part (see store/migrations.hpp). Never edit a released entry: append.
#include "store/migrations.hpp"

namespace selo::store::schema {

const std::vector<std::string_view>& tsa() {
    static const std::vector<std::string_view> migrations = {
        R"sql(
-- Time-stamping units: the key and certificate each one signs with.
CREATE TABLE tsa_units (
    name TEXT PRIMARY KEY,
    key_id TEXT NOT NULL REFERENCES keys(id),
    certificate BLOB NOT NULL,
    created_at INTEGER NOT NULL
);

-- EPCM postmark transactions (tsa/epcm.hpp): every event with its receipt and token.
CREATE TABLE epcm_events (
    id TEXT PRIMARY KEY,
    transaction_id TEXT NOT NULL,
    sequence INTEGER NOT NULL,
    event TEXT NOT NULL,
    submitter TEXT NOT NULL,
    digest_algorithm TEXT NOT NULL,
    digest BLOB NOT NULL,
    details TEXT NOT NULL,
    signature_status TEXT NOT NULL,
    signature_detail TEXT NOT NULL,
    time_ms INTEGER NOT NULL,
    receipt BLOB NOT NULL,
    token BLOB NOT NULL,
    UNIQUE (transaction_id, sequence)
);

CREATE TRIGGER epcm_events_append_only_update BEFORE UPDATE ON epcm_events
BEGIN
    SELECT RAISE(ABORT, 'postmark events are append-only');
END;
CREATE TRIGGER epcm_events_append_only_delete BEFORE DELETE ON epcm_events
BEGIN
    SELECT RAISE(ABORT, 'postmark events are append-only');
END;
)sql",
        R"sql(
-- Every certificate a time-stamping unit has signed with (tsa_units holds the current one): a
-- receipt's signer must be among the public TSA's, and relying parties pin them. Kept by the
-- database itself, whatever writes tsa_units.
CREATE TABLE tsa_unit_certificates (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL,
    certificate BLOB NOT NULL,
    added_at INTEGER NOT NULL
);
CREATE INDEX tsa_unit_certificates_name ON tsa_unit_certificates (name);
INSERT INTO tsa_unit_certificates (name, certificate, added_at)
    SELECT name, certificate, created_at FROM tsa_units;
CREATE TRIGGER tsa_units_history_insert AFTER INSERT ON tsa_units
BEGIN
    INSERT INTO tsa_unit_certificates (name, certificate, added_at) VALUES (NEW.name, NEW.certificate, NEW.created_at);
END;
CREATE TRIGGER tsa_units_history_update AFTER UPDATE OF certificate ON tsa_units
WHEN NEW.certificate IS NOT OLD.certificate
BEGIN
    INSERT INTO tsa_unit_certificates (name, certificate, added_at) VALUES (NEW.name, NEW.certificate, NEW.created_at);
END;
CREATE TRIGGER tsa_unit_certificates_append_only_update BEFORE UPDATE ON tsa_unit_certificates
BEGIN
    SELECT RAISE(ABORT, 'the certificates of time-stamping units are append-only');
END;
CREATE TRIGGER tsa_unit_certificates_append_only_delete BEFORE DELETE ON tsa_unit_certificates
BEGIN
    SELECT RAISE(ABORT, 'the certificates of time-stamping units are append-only');
END;
)sql",
    };
    return migrations;
}

}  // namespace selo::store::schema
