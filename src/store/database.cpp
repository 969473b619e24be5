#include "store/database.hpp"

namespace selo::store {
namespace {
std::string_view type_name(const Value& v) {
    switch (v.index()) {
        case 0: return "NULL";
        case 1: return "an integer";
        case 2: return "text";
        default: return "a blob";
    }
}
}  // namespace

std::string Row::column_name(std::size_t i) const {
    if (columns_ && i < columns_->size() && !(*columns_)[i].empty()) {
        return (*columns_)[i];
    }
    return fmt::format("#{}", i);
}

Error Row::type_error(std::size_t i, std::string_view want) const {
    if (i >= values_.size()) {
        return Error{ErrorCode::internal,
                     fmt::format("stored row has {} columns; column #{} was asked for", values_.size(), i)};
    }
    return Error{ErrorCode::internal, fmt::format("stored column {} holds {} where {} belongs",
                                                  column_name(i), type_name(values_[i]), want)};
}

bool Row::is_null(std::size_t i) const noexcept {
    return i < values_.size() && std::holds_alternative<Null>(values_[i]);
}

Result<std::int64_t> Row::integer(std::size_t i) const {
    if (i < values_.size()) {
        if (const auto* v = std::get_if<std::int64_t>(&values_[i])) {
            return *v;
        }
    }
    return std::unexpected(type_error(i, "an integer"));
}

Result<std::optional<std::int64_t>> Row::optional_integer(std::size_t i) const {
    if (is_null(i)) {
        return std::optional<std::int64_t>{};
    }
    return std::optional<std::int64_t>(SELO_TRY(integer(i)));
}

Result<std::string> Row::text(std::size_t i) const {
    if (i < values_.size()) {
        if (const auto* v = std::get_if<std::string>(&values_[i])) {
            return *v;
        }
    }
    return std::unexpected(type_error(i, "text"));
}

Result<std::optional<std::string>> Row::optional_text(std::size_t i) const {
    if (is_null(i)) {
        return std::optional<std::string>{};
    }
    return std::optional<std::string>(SELO_TRY(text(i)));
}

Result<Bytes> Row::blob(std::size_t i) const {
    if (i < values_.size()) {
        if (const auto* v = std::get_if<Bytes>(&values_[i])) {
            return *v;
        }
        if (is_null(i)) {
            return Bytes{};
        }
    }
    return std::unexpected(type_error(i, "a blob"));
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
