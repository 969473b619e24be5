#pragma once
// SQL repository: institutions and their members.

#include "account/institution.hpp"
#include "store/database.hpp"

namespace selo::store {

class SqlInstitutionRepository final : public account::InstitutionRepository {
public:
    explicit SqlInstitutionRepository(Database& db) : db_(db) {}
    Result<void> insert(const account::Institution& i) override;
    Result<std::optional<account::Institution>> find(std::string_view account_id) override;
    Result<std::vector<account::Institution>> list(std::size_t limit) override;
    Result<void> add_member(const account::Membership& m) override;
    Result<bool> remove_member(std::string_view institution_id, std::string_view member_id,
                               std::string_view removed_by, TimePoint at) override;
    Result<bool> is_member(std::string_view institution_id, std::string_view member_id) override;
    Result<std::vector<account::Membership>> members(std::string_view institution_id) override;
    Result<std::vector<std::string>> memberships(std::string_view member_id) override;

private:
    Database& db_;
};

}  // namespace selo::store
