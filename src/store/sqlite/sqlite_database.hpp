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

// A connection of its own that tells cheaply whether anything was committed to the file since it
// last looked, by another connection of this process or by another process (PRAGMA
// data_version), and reads what changed. One thread at a time: callers serialise.
class CommitWatch {
public:
    virtual ~CommitWatch() = default;
    // True on the first call and whenever a commit happened since the previous one.
    virtual Result<bool> changed() = 0;
    // The watch's own connection, for reading (autocommit).
    virtual Connection& connection() = 0;
};

// Opens a CommitWatch on an existing database file.
Result<std::unique_ptr<CommitWatch>> open_sqlite_commit_watch(const std::filesystem::path& file);

// Opens (creating if needed) the database file. Call migrate() before use.
Result<std::unique_ptr<Database>> open_sqlite(const std::filesystem::path& file,
                                              const SqliteOptions& options = {});

}  // namespace selo::store
