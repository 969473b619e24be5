#include "store/sql_translog.hpp"

#include <array>

namespace selo::store {
namespace {

std::int64_t ms(TimePoint t) {
    return std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
}
TimePoint from_ms(std::int64_t v) { return TimePoint(std::chrono::milliseconds(v)); }
Bytes bytes_of(const translog::Hash& h) { return Bytes(h.begin(), h.end()); }

Result<translog::Hash> hash_of(const Bytes& b, std::string_view what) {
    auto h = translog::hash_from_bytes(b);
    if (!h) {
        return fail(ErrorCode::internal, "a stored {} is {} bytes, not 32", what, b.size());
    }
    return *h;
}

}  // namespace

Result<std::uint64_t> SqlLogRepository::size() {
    auto row = SELO_TRY(db_.query_one("SELECT COALESCE(MAX(idx) + 1, 0) FROM log_entries"));
    return static_cast<std::uint64_t>(SELO_TRY(row->integer(0)));
}

Result<void> SqlLogRepository::insert(const translog::LogEntry& e) {
    SELO_TRY(db_.execute(
        "INSERT INTO log_entries (idx, type, logged_at_ms, data, leaf_hash) VALUES (?,?,?,?,?)",
        {static_cast<std::int64_t>(e.index), e.type, ms(e.logged_at), e.data, bytes_of(e.leaf_hash)}));
    return {};
}

Result<void> SqlLogRepository::insert_all(std::span<const translog::LogEntry> entries) {
    // Multi-row INSERTs of 64, 32, ..., 2, 1 rows: any batch takes at most one statement per
    // power of two (a group commit of 13 is 8 + 4 + 1 rows, three steps instead of thirteen).
    // Seven statement texts, so all stay prepared.
    constexpr std::size_t kSizes = 7;  // 1 << 6 = 64 rows at most
    static const std::array<std::string, kSizes> statements = [] {
        std::array<std::string, kSizes> out;
        for (std::size_t k = 0; k < kSizes; ++k) {
            std::string sql = "INSERT INTO log_entries (idx, type, logged_at_ms, data, leaf_hash) VALUES ";
            for (std::size_t i = 0; i < (std::size_t{1} << k); ++i) {
                sql += i == 0 ? "(?,?,?,?,?)" : ",(?,?,?,?,?)";
            }
            out[k] = std::move(sql);
        }
        return out;
    }();
    std::vector<Value> params;
    std::size_t i = 0;
    for (std::size_t k = kSizes; k-- > 0;) {
        const std::size_t rows = std::size_t{1} << k;
        for (; entries.size() - i >= rows; i += rows) {
            params.clear();
            params.reserve(rows * 5);
            for (std::size_t j = i; j < i + rows; ++j) {
                const auto& e = entries[j];
                params.emplace_back(static_cast<std::int64_t>(e.index));
                params.emplace_back(e.type);
                params.emplace_back(ms(e.logged_at));
                params.emplace_back(e.data);
                params.emplace_back(bytes_of(e.leaf_hash));
            }
            SELO_TRY(db_.execute(statements[k], params));
        }
    }
    return {};
}

Result<std::vector<translog::LogEntry>> SqlLogRepository::entries(std::uint64_t begin, std::uint64_t end) {
    auto rows = SELO_TRY(db_.query(
        // CAST: an edited row may hold text where a blob belongs; verification, not a crash, must
        // find it.
        "SELECT idx, CAST(type AS TEXT), logged_at_ms, CAST(data AS BLOB), CAST(leaf_hash AS BLOB) FROM log_entries "
        "WHERE idx >= ? AND idx < ? "
        "ORDER BY idx",
        {static_cast<std::int64_t>(begin), static_cast<std::int64_t>(end)}));
    std::vector<translog::LogEntry> out;
    out.reserve(rows.size());
    for (const auto& r : rows) {
        // A row edited by hand is reported with its place in the log, not as a bare type error.
        const std::uint64_t at = begin + out.size();
        auto entry = [&]() -> Result<translog::LogEntry> {
            return translog::LogEntry{static_cast<std::uint64_t>(SELO_TRY(r.integer(0))), SELO_TRY(r.text(1)),
                                      from_ms(SELO_TRY(r.integer(2))), SELO_TRY(r.blob(3)),
                                      SELO_TRY(hash_of(SELO_TRY(r.blob(4)), "leaf hash"))};
        }();
        if (!entry) {
            return std::unexpected(entry.error().context(fmt::format("log entry {}", at)));
        }
        out.push_back(std::move(*entry));
    }
    return out;
}

Result<std::vector<translog::Hash>> SqlLogRepository::leaf_hashes(std::uint64_t begin) {
    auto rows = SELO_TRY(db_.query("SELECT idx, CAST(leaf_hash AS BLOB) FROM log_entries WHERE idx >= ? ORDER BY idx",
                                   {static_cast<std::int64_t>(begin)}));
    std::vector<translog::Hash> out;
    out.reserve(rows.size());
    for (const auto& r : rows) {
        const std::uint64_t at = begin + out.size();
        auto hash = [&]() -> Result<translog::Hash> {
            if (static_cast<std::uint64_t>(SELO_TRY(r.integer(0))) != at) {
                return fail(ErrorCode::internal, "the log has a gap (or an edited index) there");
            }
            return hash_of(SELO_TRY(r.blob(1)), "leaf hash");
        }();
        if (!hash) {
            return std::unexpected(hash.error().context(fmt::format("log entry {}", at)));
        }
        out.push_back(*hash);
    }
    return out;
}

Result<void> SqlLogRepository::insert_tree_head(const translog::TreeHead& h) {
    SELO_TRY(db_.execute(
        "INSERT INTO log_tree_heads (tree_size, root_hash, timestamp_ms, token) VALUES (?,?,?,?)",
        {static_cast<std::int64_t>(h.tree_size), bytes_of(h.root_hash), ms(h.timestamp), h.token}));
    return {};
}

Result<std::vector<translog::TreeHead>> SqlLogRepository::tree_heads() {
    auto rows = SELO_TRY(db_.query(
        "SELECT tree_size, CAST(root_hash AS BLOB), timestamp_ms, CAST(token AS BLOB) FROM log_tree_heads "
        "ORDER BY id"));
    std::vector<translog::TreeHead> out;
    for (const auto& r : rows) {
        out.push_back({static_cast<std::uint64_t>(SELO_TRY(r.integer(0))), SELO_TRY(hash_of(SELO_TRY(r.blob(1)), "root hash")),
                       from_ms(SELO_TRY(r.integer(2))), SELO_TRY(r.blob(3))});
    }
    return out;
}

translog::Transact transact_with(Database& db) {
    return [&db](const std::function<Result<void>()>& fn) { return db.transaction(fn); };
}

}  // namespace selo::store
