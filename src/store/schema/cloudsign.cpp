// Schema of the "cloudsign" part (see store/migrations.hpp). Never edit a released entry: append.
#include "store/migrations.hpp"

namespace selo::store::schema {

const std::vector<std::string_view>& cloudsign() {
    static const std::vector<std::string_view> migrations = {
        R"sql(
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
)sql",
    };
    return migrations;
}

}  // namespace selo::store::schema
