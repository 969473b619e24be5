#pragma once
// The storage interface every repository is written against. Back ends (SQLite now, PostgreSQL
// later) live in sub-folders; nothing outside store/ sees a database library header.
//
// Transactions are ambient: inside Database::transaction(fn), every repository call made by the
// same thread on the same Database joins the transaction, so a domain operation that writes
// through several narrow repositories commits or rolls back as one.

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "core/bytes.hpp"
#include "core/error.hpp"

namespace selo::store {

struct Null {};
using Value = std::variant<Null, std::int64_t, std::string, Bytes>;

// One result row; column access by index. A value of another type than asked for (a row edited
// by hand, a schema drifted) or an index past the end is an internal error naming the column,
// returned to the caller: what the database holds is input, not an invariant.
class Row {
public:
    explicit Row(std::vector<Value> values,
                 std::shared_ptr<const std::vector<std::string>> columns = nullptr)
        : values_(std::move(values)), columns_(std::move(columns)) {}
    [[nodiscard]] std::size_t size() const noexcept { return values_.size(); }
    // false for a column past the end (whose accessors then report it).
    [[nodiscard]] bool is_null(std::size_t i) const noexcept;
    [[nodiscard]] Result<std::int64_t> integer(std::size_t i) const;
    [[nodiscard]] Result<std::optional<std::int64_t>> optional_integer(std::size_t i) const;
    [[nodiscard]] Result<std::string> text(std::size_t i) const;
    [[nodiscard]] Result<std::optional<std::string>> optional_text(std::size_t i) const;
    // NULL reads as an empty blob.
    [[nodiscard]] Result<Bytes> blob(std::size_t i) const;
    // The column's name as the query gave it ("#3" when unknown).
    [[nodiscard]] std::string column_name(std::size_t i) const;

private:
    [[nodiscard]] Error type_error(std::size_t i, std::string_view want) const;
    std::vector<Value> values_;
    std::shared_ptr<const std::vector<std::string>> columns_;
};

class Connection {
public:
    virtual ~Connection() = default;
    // Runs one statement with `?` placeholders; returns the number of rows changed.
    virtual Result<std::int64_t> execute(std::string_view sql, const std::vector<Value>& params) = 0;
    virtual Result<std::vector<Row>> query(std::string_view sql, const std::vector<Value>& params) = 0;
    // Runs several statements without parameters (schema scripts).
    virtual Result<void> execute_script(std::string_view sql) = 0;
};

class Database {
public:
    virtual ~Database() = default;

    // Runs `fn` on a connection: the ambient transaction's when one is open on this thread,
    // otherwise a pooled connection in autocommit mode.
    virtual Result<void> with_connection(const std::function<Result<void>(Connection&)>& fn) = 0;

    // Runs `fn` in one write transaction; commits when it returns a value, rolls back on error.
    // Nested calls join the outer transaction. Busy databases are retried with back-off.
    virtual Result<void> transaction(const std::function<Result<void>()>& fn) = 0;

    // True when the calling thread is inside transaction() of this database.
    [[nodiscard]] virtual bool in_transaction() const = 0;

    // Convenience wrappers over with_connection.
    Result<std::int64_t> execute(std::string_view sql, const std::vector<Value>& params = {});
    Result<std::vector<Row>> query(std::string_view sql, const std::vector<Value>& params = {});
    Result<std::optional<Row>> query_one(std::string_view sql, const std::vector<Value>& params = {});
};

// Brings the schema to the newest version; a no-op when it is current. Refuses a database
// written by a newer Selo.
Result<void> migrate(Database& db);

}  // namespace selo::store
