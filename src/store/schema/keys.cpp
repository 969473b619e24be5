// Schema of the "keys" part (see store/migrations.hpp). Never edit a released entry: append.
#include "store/migrations.hpp"

namespace selo::store::schema {

const std::vector<std::string_view>& keys() {
    static const std::vector<std::string_view> migrations = {
        R"sql(
CREATE TABLE keys (
    id TEXT PRIMARY KEY,
    type TEXT NOT NULL,
    public_key BLOB NOT NULL,
    sealed_private_key BLOB NOT NULL,
    created_at INTEGER NOT NULL
);
)sql",
        // Keys held outside the database: in a PKCS#11 token (found by CKA_ID), or offline (a
        // root CA whose key is in another data directory; only its public key is known here).
        R"sql(
ALTER TABLE keys ADD COLUMN backend TEXT NOT NULL DEFAULT 'software'
    CHECK (backend IN ('software', 'pkcs11', 'offline'));
ALTER TABLE keys ADD COLUMN token_object_id BLOB;
)sql",
    };
    return migrations;
}

}  // namespace selo::store::schema
