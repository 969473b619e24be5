#pragma once
// SQL repository: time-stamping units.

#include "store/database.hpp"
#include "tsa/epcm.hpp"
#include "tsa/unit.hpp"

namespace selo::store {

class SqlTsaUnitRepository final : public tsa::UnitRepository {
public:
    explicit SqlTsaUnitRepository(Database& db) : db_(db) {}
    Result<std::optional<tsa::UnitRecord>> find(std::string_view name) override;
    Result<void> insert(const tsa::UnitRecord& record) override;
    Result<void> replace(const tsa::UnitRecord& record) override;
    // Kept by triggers on tsa_units (store/schema/tsa.cpp).
    Result<std::vector<Bytes>> certificates(std::string_view name) override;

private:
    Database& db_;
};

class SqlEpcmRepository final : public tsa::EpcmRepository {
public:
    explicit SqlEpcmRepository(Database& db) : db_(db) {}
    Result<void> insert(const tsa::EpcmEvent& event) override;
    Result<std::optional<tsa::EpcmEvent>> find(std::string_view id) override;
    Result<std::vector<tsa::EpcmEvent>> transaction(std::string_view transaction_id) override;

private:
    Database& db_;
};

}  // namespace selo::store
