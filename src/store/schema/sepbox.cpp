// Schema of the "sepbox" part (see store/migrations.hpp). Never edit a released entry: append.
#include "store/migrations.hpp"

namespace selo::store::schema {

const std::vector<std::string_view>& sepbox() {
    static const std::vector<std::string_view> migrations = {
        R"sql(
-- One box per account; its key is sealed under a master subkey.
CREATE TABLE sepbox_mailboxes (
    account_id TEXT PRIMARY KEY REFERENCES accounts(id),
    sealed_key BLOB NOT NULL,
    created_at INTEGER NOT NULL
);

CREATE TABLE sepbox_messages (
    id TEXT PRIMARY KEY,
    recipient_id TEXT NOT NULL REFERENCES sepbox_mailboxes(account_id),
    sender_id TEXT NOT NULL,
    sender_name TEXT NOT NULL,
    category TEXT NOT NULL,
    sender_reference TEXT NOT NULL,
    reply_by INTEGER,
    received_at INTEGER NOT NULL,
    read_at INTEGER,
    archived_at INTEGER,
    handed_over_at INTEGER,
    decision TEXT,
    decided_at INTEGER,
    sealed_key BLOB NOT NULL
);
CREATE INDEX sepbox_messages_by_box ON sepbox_messages(recipient_id, received_at);
CREATE INDEX sepbox_messages_due ON sepbox_messages(reply_by) WHERE decision IS NULL AND reply_by IS NOT NULL;

-- Subject, bodies and attachments, each sealed under its message's key.
CREATE TABLE sepbox_parts (
    message_id TEXT NOT NULL REFERENCES sepbox_messages(id),
    position INTEGER NOT NULL,
    name TEXT NOT NULL,
    media_type TEXT NOT NULL,
    sealed_filename BLOB,
    size INTEGER NOT NULL,
    sha256 BLOB NOT NULL,
    sealed BLOB NOT NULL,
    PRIMARY KEY (message_id, position)
);

-- Signed registered-delivery evidence. Append-only. A rejected submission has evidence but no
-- message, so message_id references nothing.
CREATE TABLE sepbox_evidence (
    id TEXT PRIMARY KEY,
    message_id TEXT NOT NULL,
    sender_id TEXT NOT NULL,
    recipient_id TEXT NOT NULL,
    event TEXT NOT NULL,
    at INTEGER NOT NULL,
    canonical BLOB NOT NULL,
    cms BLOB NOT NULL,
    timestamp_token BLOB,
    log_index INTEGER,
    seq INTEGER NOT NULL
);
CREATE INDEX sepbox_evidence_by_message ON sepbox_evidence(message_id, seq);

CREATE TRIGGER sepbox_evidence_no_update BEFORE UPDATE ON sepbox_evidence
BEGIN
    SELECT RAISE(ABORT, 'delivery evidence is append-only');
END;
CREATE TRIGGER sepbox_evidence_no_delete BEFORE DELETE ON sepbox_evidence
BEGIN
    SELECT RAISE(ABORT, 'delivery evidence is append-only');
END;

-- The SEPBox seal certificates, newest last.
CREATE TABLE sepbox_seals (
    key_id TEXT PRIMARY KEY,
    certificate BLOB NOT NULL,
    not_before INTEGER NOT NULL,
    not_after INTEGER NOT NULL,
    created_at INTEGER NOT NULL
);

-- New-mail notices to send by e-mail; kept after sending (sent_at) for the record.
CREATE TABLE sepbox_outbox (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    message_id TEXT NOT NULL,
    to_address TEXT NOT NULL,
    subject TEXT NOT NULL,
    body TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER,
    sent_at INTEGER,
    last_error TEXT,
    created_at INTEGER NOT NULL
);
CREATE INDEX sepbox_outbox_due ON sepbox_outbox(next_attempt_at) WHERE sent_at IS NULL;
)sql",
    };
    return migrations;
}

}  // namespace selo::store::schema
