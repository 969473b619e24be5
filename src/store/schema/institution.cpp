// Schema of the "institution" part (see store/migrations.hpp). Never edit a released entry: append.
#include "store/migrations.hpp"

namespace selo::store::schema {

const std::vector<std::string_view>& institution() {
    static const std::vector<std::string_view> migrations = {
        R"sql(
CREATE TABLE institutions (
    account_id TEXT PRIMARY KEY REFERENCES accounts(id),
    organization_identifier TEXT NOT NULL UNIQUE,
    postal_address TEXT NOT NULL,
    created_by TEXT NOT NULL REFERENCES accounts(id),
    created_at INTEGER NOT NULL
);

-- One row per membership; a removal closes it (removed_at), a later re-addition opens a new one.
CREATE TABLE institution_members (
    id INTEGER PRIMARY KEY,
    institution_id TEXT NOT NULL REFERENCES institutions(account_id),
    member_id TEXT NOT NULL REFERENCES accounts(id),
    added_by TEXT NOT NULL REFERENCES accounts(id),
    added_at INTEGER NOT NULL,
    removed_by TEXT REFERENCES accounts(id),
    removed_at INTEGER
);
CREATE UNIQUE INDEX institution_members_current ON institution_members(institution_id, member_id)
    WHERE removed_at IS NULL;
CREATE INDEX institution_members_by_member ON institution_members(member_id) WHERE removed_at IS NULL;
)sql",
    };
    return migrations;
}

}  // namespace selo::store::schema
