#pragma once
// SQL repository: the transparency log's entries and signed tree heads.

#include "store/database.hpp"
#include "translog/log.hpp"

namespace selo::store {

class SqlLogRepository final : public translog::LogRepository {
public:
    explicit SqlLogRepository(Database& db) : db_(db) {}
    Result<std::uint64_t> size() override;
    Result<void> insert(const translog::LogEntry& entry) override;
    Result<void> insert_all(std::span<const translog::LogEntry> entries) override;
    Result<std::vector<translog::LogEntry>> entries(std::uint64_t begin, std::uint64_t end) override;
    Result<std::vector<translog::Hash>> leaf_hashes(std::uint64_t begin) override;
    Result<void> insert_tree_head(const translog::TreeHead& head) override;
    Result<std::vector<translog::TreeHead>> tree_heads() override;

private:
    Database& db_;
};

// A translog::Transact over Database::transaction.
[[nodiscard]] translog::Transact transact_with(Database& db);

}  // namespace selo::store
