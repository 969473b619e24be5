#include "store/database.hpp"

#include <cstdlib>

namespace selo::store {
namespace {
[[noreturn]] void type_error(std::size_t i, const char* want) {
    // Column types are fixed by our own schema: a mismatch is a programming error.
    fmt::print(stderr, "store: column {} is not {}\n", i, want);
    std::abort();
}
}  // namespace

bool Row::is_null(std::size_t i) const { return std::holds_alternative<Null>(values_.at(i)); }

std::int64_t Row::integer(std::size_t i) const {
    if (const auto* v = std::get_if<std::int64_t>(&values_.at(i))) {
        return *v;
    }
    type_error(i, "an integer");
}

std::optional<std::int64_t> Row::optional_integer(std::size_t i) const {
    if (is_null(i)) {
        return std::nullopt;
    }
    return integer(i);
}

const std::string& Row::text(std::size_t i) const {
    if (const auto* v = std::get_if<std::string>(&values_.at(i))) {
        return *v;
    }
    type_error(i, "text");
}

std::optional<std::string> Row::optional_text(std::size_t i) const {
    if (is_null(i)) {
        return std::nullopt;
    }
    return text(i);
}

const Bytes& Row::blob(std::size_t i) const {
    if (const auto* v = std::get_if<Bytes>(&values_.at(i))) {
        return *v;
    }
    static const Bytes empty;
    if (is_null(i)) {
        return empty;
    }
    type_error(i, "a blob");
}

Result<std::int64_t> Database::execute(std::string_view sql, const std::vector<Value>& params) {
    std::int64_t changed = 0;
    SELO_TRY_VOID(with_connection([&](Connection& c) -> Result<void> {
        changed = SELO_TRY(c.execute(sql, params));
        return {};
    }));
    return changed;
}

Result<std::vector<Row>> Database::query(std::string_view sql, const std::vector<Value>& params) {
    std::vector<Row> rows;
    SELO_TRY_VOID(with_connection([&](Connection& c) -> Result<void> {
        rows = SELO_TRY(c.query(sql, params));
        return {};
    }));
    return rows;
}

Result<std::optional<Row>> Database::query_one(std::string_view sql,
                                               const std::vector<Value>& params) {
    auto rows = SELO_TRY(query(sql, params));
    if (rows.empty()) {
        return std::optional<Row>{};
    }
    if (rows.size() > 1) {
        return fail(ErrorCode::internal, "query expected one row, got {}", rows.size());
    }
    return std::optional<Row>(std::move(rows.front()));
}

}  // namespace selo::store
