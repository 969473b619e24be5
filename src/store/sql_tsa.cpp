#include "store/sql_tsa.hpp"

#include "store/sql_util.hpp"

namespace selo::store {

Result<std::optional<tsa::UnitRecord>> SqlTsaUnitRepository::find(std::string_view name) {
    auto row = SELO_TRY(db_.query_one(
        "SELECT name, key_id, certificate, created_at FROM tsa_units WHERE name = ?",
        {std::string(name)}));
    if (!row) {
        return std::optional<tsa::UnitRecord>{};
    }
    return std::optional<tsa::UnitRecord>(
        tsa::UnitRecord{row->text(0), row->text(1), row->blob(2), sql::at(row->integer(3))});
}

Result<void> SqlTsaUnitRepository::insert(const tsa::UnitRecord& r) {
    SELO_TRY(db_.execute(
        "INSERT INTO tsa_units (name, key_id, certificate, created_at) VALUES (?,?,?,?)",
        {r.name, r.key_id, r.certificate_der, sql::secs(r.created_at)}));
    return {};
}

}  // namespace selo::store
