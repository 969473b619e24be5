#include "store/sql_institution.hpp"

#include "store/sql_util.hpp"

namespace selo::store {

using sql::at;
using sql::secs;

namespace {
constexpr std::string_view kSelect =
    "SELECT i.account_id, i.organization_identifier, a.name, a.latin_name, i.postal_address, "
    "a.email, i.created_by, i.created_at FROM institutions i JOIN accounts a ON a.id = i.account_id ";

Result<account::Institution> institution_of(const Row& r) {
    account::Institution i;
    i.account_id = SELO_TRY(r.text(0));
    i.organization_identifier = SELO_TRY(r.text(1));
    i.name = SELO_TRY(r.text(2));
    i.latin_name = SELO_TRY(r.text(3));
    i.postal_address = SELO_TRY(r.text(4));
    i.email = SELO_TRY(r.text(5));
    i.created_by = SELO_TRY(r.text(6));
    i.created_at = at(SELO_TRY(r.integer(7)));
    return i;
}
}  // namespace

Result<void> SqlInstitutionRepository::insert(const account::Institution& i) {
    auto rc = db_.execute(
        "INSERT INTO institutions (account_id, organization_identifier, postal_address, created_by, "
        "created_at) VALUES (?,?,?,?,?)",
        {i.account_id, i.organization_identifier, i.postal_address, i.created_by, secs(i.created_at)});
    if (!rc && rc.error().code == ErrorCode::conflict) {
        return fail(ErrorCode::conflict, "{} is registered already", i.organization_identifier);
    }
    SELO_TRY(rc);
    return {};
}

Result<std::optional<account::Institution>> SqlInstitutionRepository::find(std::string_view account_id) {
    auto row = SELO_TRY(db_.query_one(std::string(kSelect) + "WHERE i.account_id = ?", {std::string(account_id)}));
    if (!row) {
        return std::optional<account::Institution>{};
    }
    return std::optional<account::Institution>(SELO_TRY(institution_of(*row)));
}

Result<std::vector<account::Institution>> SqlInstitutionRepository::list(std::size_t limit) {
    auto rows = SELO_TRY(db_.query(std::string(kSelect) + "ORDER BY i.created_at, i.account_id LIMIT ?",
                                   {static_cast<std::int64_t>(limit)}));
    std::vector<account::Institution> out;
    for (const auto& r : rows) {
        out.push_back(SELO_TRY(institution_of(r)));
    }
    return out;
}

Result<void> SqlInstitutionRepository::add_member(const account::Membership& m) {
    auto rc = db_.execute(
        "INSERT INTO institution_members (institution_id, member_id, added_by, added_at) VALUES (?,?,?,?)",
        {m.institution_id, m.member_id, m.added_by, secs(m.added_at)});
    if (!rc && rc.error().code == ErrorCode::conflict) {
        return fail(ErrorCode::conflict, "{} is a member of {} already", m.member_id, m.institution_id);
    }
    SELO_TRY(rc);
    return {};
}

Result<bool> SqlInstitutionRepository::remove_member(std::string_view institution_id,
                                                     std::string_view member_id,
                                                     std::string_view removed_by, TimePoint when) {
    auto n = SELO_TRY(db_.execute(
        "UPDATE institution_members SET removed_by = ?, removed_at = ? "
        "WHERE institution_id = ? AND member_id = ? AND removed_at IS NULL",
        {std::string(removed_by), secs(when), std::string(institution_id), std::string(member_id)}));
    return n == 1;
}

Result<bool> SqlInstitutionRepository::is_member(std::string_view institution_id,
                                                 std::string_view member_id) {
    auto row = SELO_TRY(db_.query_one(
        "SELECT 1 FROM institution_members WHERE institution_id = ? AND member_id = ? AND removed_at IS NULL",
        {std::string(institution_id), std::string(member_id)}));
    return row.has_value();
}

Result<std::vector<account::Membership>> SqlInstitutionRepository::members(std::string_view institution_id) {
    auto rows = SELO_TRY(db_.query(
        "SELECT institution_id, member_id, added_by, added_at FROM institution_members "
        "WHERE institution_id = ? AND removed_at IS NULL ORDER BY added_at, id",
        {std::string(institution_id)}));
    std::vector<account::Membership> out;
    for (const auto& r : rows) {
        out.push_back({SELO_TRY(r.text(0)), SELO_TRY(r.text(1)), SELO_TRY(r.text(2)), at(SELO_TRY(r.integer(3)))});
    }
    return out;
}

Result<std::vector<std::string>> SqlInstitutionRepository::memberships(std::string_view member_id) {
    auto rows = SELO_TRY(db_.query(
        "SELECT institution_id FROM institution_members WHERE member_id = ? AND removed_at IS NULL "
        "ORDER BY added_at, id",
        {std::string(member_id)}));
    std::vector<std::string> out;
    for (const auto& r : rows) {
        out.push_back(SELO_TRY(r.text(0)));
    }
    return out;
}

}  // namespace selo::store
