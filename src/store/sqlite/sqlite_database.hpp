#pragma once
// SQLite back end of store::Database: WAL journal, synchronous=FULL (a commit is on disk before
// it is acknowledged), foreign keys on, a pool of connections with cached prepared statements.
// Several processes (the server and the CLI) may use the same file at once.

#include <filesystem>
#include <memory>

#include "store/database.hpp"

namespace selo::store {

struct SqliteOptions {
    unsigned max_connections = 16;
    unsigned busy_timeout_ms = 15000;
};

class SqliteDatabase;

// Opens (creating if needed) the database file. Call migrate() before use.
Result<std::unique_ptr<Database>> open_sqlite(const std::filesystem::path& file,
                                              const SqliteOptions& options = {});

}  // namespace selo::store
