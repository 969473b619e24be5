#pragma once
// SQL repository: time-stamping units.

#include "store/database.hpp"
#include "tsa/unit.hpp"

namespace selo::store {

class SqlTsaUnitRepository final : public tsa::UnitRepository {
public:
    explicit SqlTsaUnitRepository(Database& db) : db_(db) {}
    Result<std::optional<tsa::UnitRecord>> find(std::string_view name) override;
    Result<void> insert(const tsa::UnitRecord& record) override;

private:
    Database& db_;
};

}  // namespace selo::store
