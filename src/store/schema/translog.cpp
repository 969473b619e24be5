// Schema of the "translog" part (see store/migrations.hpp). Never edit a released entry: append.
#include "store/migrations.hpp"

namespace selo::store::schema {

const std::vector<std::string_view>& translog() {
    static const std::vector<std::string_view> migrations = {
        R"sql(
-- The transparency log (translog/log.hpp): entries in index order, and signed tree heads.
CREATE TABLE log_entries (
    idx INTEGER PRIMARY KEY,
    type TEXT NOT NULL,
    logged_at_ms INTEGER NOT NULL,
    data BLOB NOT NULL,
    leaf_hash BLOB NOT NULL
);
CREATE INDEX log_entries_leaf_hash ON log_entries (leaf_hash);

CREATE TABLE log_tree_heads (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    tree_size INTEGER NOT NULL,
    root_hash BLOB NOT NULL,
    timestamp_ms INTEGER NOT NULL,
    token BLOB NOT NULL
);

CREATE TRIGGER log_entries_append_only_update BEFORE UPDATE ON log_entries
BEGIN
    SELECT RAISE(ABORT, 'the transparency log is append-only');
END;
CREATE TRIGGER log_entries_append_only_delete BEFORE DELETE ON log_entries
BEGIN
    SELECT RAISE(ABORT, 'the transparency log is append-only');
END;
CREATE TRIGGER log_tree_heads_append_only_update BEFORE UPDATE ON log_tree_heads
BEGIN
    SELECT RAISE(ABORT, 'signed tree heads are append-only');
END;
CREATE TRIGGER log_tree_heads_append_only_delete BEFORE DELETE ON log_tree_heads
BEGIN
    SELECT RAISE(ABORT, 'signed tree heads are append-only');
END;
)sql",
        // Leaf hashes are looked up in memory (translog/log.hpp); the index cost every append a
        // random B-tree insert and its page in the commit.
        R"sql(
DROP INDEX IF EXISTS log_entries_leaf_hash;
)sql",
    };
    return migrations;
}

}  // namespace selo::store::schema
