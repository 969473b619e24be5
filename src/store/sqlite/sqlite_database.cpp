#include "store/sqlite/sqlite_database.hpp"

#include <sqlite3.h>

#include <condition_variable>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

namespace selo::store {
namespace {

Error sqlite_error(::sqlite3* db, int rc, std::string_view what) {
    ErrorCode code = ErrorCode::internal;
    int primary = rc & 0xff;
    if (primary == SQLITE_BUSY || primary == SQLITE_LOCKED) {
        code = ErrorCode::unavailable;
    } else if (primary == SQLITE_CONSTRAINT) {
        code = ErrorCode::conflict;
    } else if (primary == SQLITE_FULL || primary == SQLITE_IOERR) {
        code = ErrorCode::unavailable;
    }
    const char* msg = db != nullptr ? ::sqlite3_errmsg(db) : ::sqlite3_errstr(rc);
    return Error{code, fmt::format("{}: {}", what, msg)};
}

class SqliteConnection final : public Connection {
public:
    explicit SqliteConnection(::sqlite3* db) : db_(db) {}
    ~SqliteConnection() override {
        for (auto& [sql, stmt] : cache_) {
            ::sqlite3_finalize(stmt);
        }
        ::sqlite3_close_v2(db_);
    }
    SqliteConnection(const SqliteConnection&) = delete;
    SqliteConnection& operator=(const SqliteConnection&) = delete;

    Result<std::int64_t> execute(std::string_view sql, const std::vector<Value>& params) override {
        auto* stmt = SELO_TRY(prepare(sql, params));
        for (;;) {
            int rc = ::sqlite3_step(stmt);
            if (rc == SQLITE_DONE) {
                break;
            }
            if (rc != SQLITE_ROW) {
                ::sqlite3_reset(stmt);
                return std::unexpected(sqlite_error(db_, rc, "sqlite step"));
            }
        }
        ::sqlite3_reset(stmt);
        return static_cast<std::int64_t>(::sqlite3_changes64(db_));
    }

    Result<std::vector<Row>> query(std::string_view sql, const std::vector<Value>& params) override {
        auto* stmt = SELO_TRY(prepare(sql, params));
        std::vector<Row> rows;
        // Column names, for errors about what a row holds.
        std::shared_ptr<const std::vector<std::string>> columns;
        for (;;) {
            int rc = ::sqlite3_step(stmt);
            if (rc == SQLITE_DONE) {
                break;
            }
            if (rc != SQLITE_ROW) {
                ::sqlite3_reset(stmt);
                return std::unexpected(sqlite_error(db_, rc, "sqlite step"));
            }
            int n = ::sqlite3_column_count(stmt);
            if (!columns) {
                std::vector<std::string> names;
                for (int i = 0; i < n; ++i) {
                    const char* name = ::sqlite3_column_name(stmt, i);
                    names.emplace_back(name != nullptr ? name : "");
                }
                columns = std::make_shared<const std::vector<std::string>>(std::move(names));
            }
            std::vector<Value> values;
            values.reserve(static_cast<std::size_t>(n));
            for (int i = 0; i < n; ++i) {
                switch (::sqlite3_column_type(stmt, i)) {
                    case SQLITE_NULL: values.emplace_back(Null{}); break;
                    case SQLITE_INTEGER:
                    case SQLITE_FLOAT:
                        values.emplace_back(static_cast<std::int64_t>(::sqlite3_column_int64(stmt, i)));
                        break;
                    case SQLITE_TEXT: {
                        const auto* p = ::sqlite3_column_text(stmt, i);
                        int len = ::sqlite3_column_bytes(stmt, i);
                        values.emplace_back(std::string(reinterpret_cast<const char*>(p),
                                                        static_cast<std::size_t>(len)));
                        break;
                    }
                    default: {
                        const auto* p = static_cast<const std::uint8_t*>(::sqlite3_column_blob(stmt, i));
                        int len = ::sqlite3_column_bytes(stmt, i);
                        values.emplace_back(Bytes(p, p + len));
                        break;
                    }
                }
            }
            rows.emplace_back(std::move(values), columns);
        }
        ::sqlite3_reset(stmt);
        return rows;
    }

    Result<void> execute_script(std::string_view sql) override {
        std::string s(sql);
        char* err = nullptr;
        int rc = ::sqlite3_exec(db_, s.c_str(), nullptr, nullptr, &err);
        if (rc != SQLITE_OK) {
            std::string msg = err != nullptr ? err : ::sqlite3_errstr(rc);
            ::sqlite3_free(err);
            return fail(ErrorCode::internal, "sqlite script: {}", msg);
        }
        return {};
    }

private:
    Result<::sqlite3_stmt*> prepare(std::string_view sql, const std::vector<Value>& params) {
        std::string key(sql);
        ::sqlite3_stmt* stmt = nullptr;
        if (auto it = cache_.find(key); it != cache_.end()) {
            stmt = it->second;
        } else {
            int rc = ::sqlite3_prepare_v3(db_, key.data(), static_cast<int>(key.size()),
                                          SQLITE_PREPARE_PERSISTENT, &stmt, nullptr);
            if (rc != SQLITE_OK) {
                return std::unexpected(sqlite_error(db_, rc, "sqlite prepare"));
            }
            cache_.emplace(std::move(key), stmt);
        }
        ::sqlite3_clear_bindings(stmt);
        if (static_cast<int>(params.size()) != ::sqlite3_bind_parameter_count(stmt)) {
            return fail(ErrorCode::internal, "statement wants {} parameters, got {}",
                        ::sqlite3_bind_parameter_count(stmt), params.size());
        }
        // SQLITE_STATIC: `params` outlives every step of this statement (execute and query run
        // it to the end and reset it before returning), so values are not copied again.
        for (std::size_t i = 0; i < params.size(); ++i) {
            int idx = static_cast<int>(i + 1);
            int rc = SQLITE_OK;
            const Value& v = params[i];
            if (std::holds_alternative<Null>(v)) {
                rc = ::sqlite3_bind_null(stmt, idx);
            } else if (const auto* n = std::get_if<std::int64_t>(&v)) {
                rc = ::sqlite3_bind_int64(stmt, idx, *n);
            } else if (const auto* s = std::get_if<std::string>(&v)) {
                rc = ::sqlite3_bind_text64(stmt, idx, s->data(), s->size(), SQLITE_STATIC,
                                           SQLITE_UTF8);
            } else if (const auto* b = std::get_if<Bytes>(&v)) {
                rc = b->empty() ? ::sqlite3_bind_zeroblob(stmt, idx, 0)
                                : ::sqlite3_bind_blob64(stmt, idx, b->data(), b->size(),
                                                        SQLITE_STATIC);
            }
            if (rc != SQLITE_OK) {
                return std::unexpected(sqlite_error(db_, rc, "sqlite bind"));
            }
        }
        return stmt;
    }

    ::sqlite3* db_;
    std::unordered_map<std::string, ::sqlite3_stmt*> cache_;
};

class SqliteDatabaseImpl final : public Database {
public:
    SqliteDatabaseImpl(std::filesystem::path file, SqliteOptions options)
        : file_(std::move(file)), options_(options) {}

    Result<std::unique_ptr<SqliteConnection>> open_connection() {
        ::sqlite3* db = nullptr;
        int rc = ::sqlite3_open_v2(file_.c_str(), &db,
                                   SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE |
                                       SQLITE_OPEN_NOMUTEX,
                                   nullptr);
        if (rc != SQLITE_OK) {
            Error e = sqlite_error(db, rc, fmt::format("cannot open database {}", file_.string()));
            ::sqlite3_close_v2(db);
            return std::unexpected(e);
        }
        ::sqlite3_busy_timeout(db, static_cast<int>(options_.busy_timeout_ms));
        ::sqlite3_extended_result_codes(db, 1);
        auto conn = std::make_unique<SqliteConnection>(db);
        SELO_TRY_VOID(conn->execute_script(
            "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; PRAGMA foreign_keys=ON;"));
        return conn;
    }

    Result<void> with_connection(const std::function<Result<void>(Connection&)>& fn) override {
        if (auto* ambient = ambient_connection()) {
            return fn(*ambient);
        }
        auto lease = SELO_TRY(acquire());
        auto r = fn(*lease.conn);
        release(std::move(lease.conn));
        return r;
    }

    Result<void> transaction(const std::function<Result<void>()>& fn) override {
        if (ambient_connection() != nullptr) {
            return fn();  // join the outer transaction
        }
        auto lease = SELO_TRY(acquire());
        SqliteConnection& c = *lease.conn;
        // IMMEDIATE takes the write lock up front, so two writers never deadlock upgrading.
        if (auto r = c.execute("BEGIN IMMEDIATE", {}); !r) {
            release(std::move(lease.conn));
            return std::unexpected(r.error());
        }
        push_ambient(&c);
        Result<void> result = fn();
        pop_ambient();
        if (result) {
            if (auto r = c.execute("COMMIT", {}); !r) {
                (void)c.execute("ROLLBACK", {});
                result = std::unexpected(r.error());
            }
        } else {
            (void)c.execute("ROLLBACK", {});
        }
        release(std::move(lease.conn));
        return result;
    }

    bool in_transaction() const override { return ambient_connection() != nullptr; }

private:
    struct Lease {
        std::unique_ptr<SqliteConnection> conn;
    };

    struct AmbientEntry {
        const SqliteDatabaseImpl* db;
        SqliteConnection* conn;
    };
    static std::vector<AmbientEntry>& ambient_stack() {
        thread_local std::vector<AmbientEntry> stack;
        return stack;
    }
    SqliteConnection* ambient_connection() const {
        for (auto it = ambient_stack().rbegin(); it != ambient_stack().rend(); ++it) {
            if (it->db == this) {
                return it->conn;
            }
        }
        return nullptr;
    }
    void push_ambient(SqliteConnection* c) { ambient_stack().push_back({this, c}); }
    void pop_ambient() {
        auto& s = ambient_stack();
        for (auto it = s.rbegin(); it != s.rend(); ++it) {
            if (it->db == this) {
                s.erase(std::next(it).base());
                return;
            }
        }
    }

    Result<Lease> acquire() {
        std::unique_lock lock(mutex_);
        for (;;) {
            if (!idle_.empty()) {
                auto c = std::move(idle_.back());
                idle_.pop_back();
                return Lease{std::move(c)};
            }
            if (open_ < options_.max_connections) {
                ++open_;
                lock.unlock();
                auto c = open_connection();
                if (!c) {
                    lock.lock();
                    --open_;
                    return std::unexpected(c.error());
                }
                return Lease{std::move(*c)};
            }
            available_.wait(lock);
        }
    }

    void release(std::unique_ptr<SqliteConnection> c) {
        {
            std::lock_guard lock(mutex_);
            idle_.push_back(std::move(c));
        }
        available_.notify_one();
    }

    std::filesystem::path file_;
    SqliteOptions options_;
    std::mutex mutex_;
    std::condition_variable available_;
    std::vector<std::unique_ptr<SqliteConnection>> idle_;
    unsigned open_ = 0;
};

class SqliteCommitWatch final : public CommitWatch {
public:
    SqliteCommitWatch(std::unique_ptr<SqliteConnection> conn, ::sqlite3* db, ::sqlite3_stmt* stmt)
        : conn_(std::move(conn)), db_(db), stmt_(stmt) {}
    ~SqliteCommitWatch() override { ::sqlite3_finalize(stmt_); }
    SqliteCommitWatch(const SqliteCommitWatch&) = delete;
    SqliteCommitWatch& operator=(const SqliteCommitWatch&) = delete;

    Result<bool> changed() override {
        int rc = ::sqlite3_step(stmt_);
        if (rc != SQLITE_ROW) {
            ::sqlite3_reset(stmt_);
            return std::unexpected(sqlite_error(db_, rc, "PRAGMA data_version"));
        }
        const std::int64_t v = ::sqlite3_column_int64(stmt_, 0);
        ::sqlite3_reset(stmt_);
        const bool changed = !seen_ || v != version_;
        seen_ = true;
        version_ = v;
        return changed;
    }
    Connection& connection() override { return *conn_; }

private:
    std::unique_ptr<SqliteConnection> conn_;
    ::sqlite3* db_;
    ::sqlite3_stmt* stmt_;
    bool seen_ = false;
    std::int64_t version_ = 0;
};

}  // namespace

Result<std::unique_ptr<CommitWatch>> open_sqlite_commit_watch(const std::filesystem::path& file) {
    ::sqlite3* db = nullptr;
    int rc = ::sqlite3_open_v2(file.c_str(), &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, nullptr);
    if (rc != SQLITE_OK) {
        Error e = sqlite_error(db, rc, fmt::format("cannot open database {}", file.string()));
        ::sqlite3_close_v2(db);
        return std::unexpected(e);
    }
    // Short: a watch that cannot look at once says so, and its caller takes the slow path.
    ::sqlite3_busy_timeout(db, 50);
    ::sqlite3_extended_result_codes(db, 1);
    auto conn = std::make_unique<SqliteConnection>(db);
    ::sqlite3_stmt* stmt = nullptr;
    rc = ::sqlite3_prepare_v3(db, "PRAGMA data_version", -1, SQLITE_PREPARE_PERSISTENT, &stmt, nullptr);
    if (rc != SQLITE_OK) {
        return std::unexpected(sqlite_error(db, rc, "sqlite prepare"));
    }
    return std::unique_ptr<CommitWatch>(std::make_unique<SqliteCommitWatch>(std::move(conn), db, stmt));
}

Result<std::unique_ptr<Database>> open_sqlite(const std::filesystem::path& file,
                                              const SqliteOptions& options) {
    if (::sqlite3_threadsafe() == 0) {
        return fail(ErrorCode::internal, "SQLite was built without thread safety");
    }
    auto db = std::make_unique<SqliteDatabaseImpl>(file, options);
    // Open one connection now so a bad path is reported at start-up, not on first request.
    SELO_TRY_VOID(db->with_connection([](Connection&) -> Result<void> { return {}; }));
    return std::unique_ptr<Database>(std::move(db));
}

}  // namespace selo::store
