#pragma once
// Institutions (legal persons) and their members. A clerk registers an institution at the
// counter (its trade-register organisationIdentifier, names, address) and adds or removes the
// natural persons who act for it. The institution's account has a SEPBox mailbox but no sign-in
// of its own: members read its mail with their own sign-in, and what they do is recorded as done
// by them on the institution's behalf. Membership is checked on every request, so a removal
// takes effect at once.

#include <optional>
#include <string>
#include <vector>

#include "account/account_service.hpp"
#include "account/enrolment.hpp"
#include "core/postbox.hpp"

namespace selo::account {

struct Institution {
    std::string account_id;
    std::string organization_identifier;  // ETSI EN 319 412-1 §5.1.4, e.g. "NTRMO-12345"
    std::string name;                     // e.g. "澳門電力股份有限公司"
    std::string latin_name;               // e.g. "Companhia de Electricidade de Macau"
    std::string postal_address;
    std::string email;
    std::string created_by;  // the clerk
    TimePoint created_at;
};

struct Membership {
    std::string institution_id;
    std::string member_id;
    std::string added_by;
    TimePoint added_at;
};

class InstitutionRepository {
public:
    virtual ~InstitutionRepository() = default;
    virtual Result<void> insert(const Institution& i) = 0;
    virtual Result<std::optional<Institution>> find(std::string_view account_id) = 0;
    virtual Result<std::vector<Institution>> list(std::size_t limit) = 0;
    // ErrorCode::conflict when the person is a member already.
    virtual Result<void> add_member(const Membership& m) = 0;
    // Ends the membership; false when there was none.
    virtual Result<bool> remove_member(std::string_view institution_id, std::string_view member_id,
                                       std::string_view removed_by, TimePoint at) = 0;
    virtual Result<bool> is_member(std::string_view institution_id, std::string_view member_id) = 0;
    virtual Result<std::vector<Membership>> members(std::string_view institution_id) = 0;
    // The institutions the account is a member of now.
    virtual Result<std::vector<std::string>> memberships(std::string_view member_id) = 0;
};

struct InstitutionRequest {
    std::string organization_identifier;
    std::string name;
    std::string latin_name;
    std::string postal_address;
    std::string email;
};

// Splits "NTRMO-12345" into country "MO" and register number "12345"; invalid_argument otherwise.
struct OrganizationIdentifier {
    std::string country;
    std::string number;
};
[[nodiscard]] Result<OrganizationIdentifier> parse_organization_identifier(std::string_view s);

class InstitutionService {
public:
    InstitutionService(AccountService& accounts, AccountRepository& account_repo,
                       InstitutionRepository& repo, SystemPost& post, AuditTrail& audit,
                       Transaction transaction, const Clock& clock);

    // A clerk registers an institution: its account (role institution, no sign-in) and its
    // SEPBox mailbox, in one transaction. ErrorCode::conflict for an identifier registered before.
    [[nodiscard]] Result<Institution> register_institution(const Account& clerk,
                                                           const InstitutionRequest& request);
    // The institution as `viewer` may see it: clerks and auditors any, a member their own;
    // not_found for everyone else (and for an unknown id).
    [[nodiscard]] Result<Institution> find(const Account& viewer, std::string_view institution_id);
    [[nodiscard]] Result<std::vector<Membership>> members(const Account& viewer,
                                                          std::string_view institution_id);
    // Clerks and auditors: every institution; anyone else: the ones they are a member of.
    [[nodiscard]] Result<std::vector<Institution>> visible_to(const Account& viewer);
    // A clerk adds a natural person (an account with the citizen role) as a member.
    [[nodiscard]] Result<Membership> add_member(const Account& clerk, std::string_view institution_id,
                                                std::string_view member_id);
    [[nodiscard]] Result<void> remove_member(const Account& clerk, std::string_view institution_id,
                                             std::string_view member_id);
    // Success when `member` may act for the institution now; not_found otherwise.
    [[nodiscard]] Result<void> check_member(const Account& member, std::string_view institution_id);

private:
    Result<Institution> existing(std::string_view institution_id);

    AccountService& accounts_;
    AccountRepository& account_repo_;
    InstitutionRepository& repo_;
    SystemPost& post_;
    AuditTrail& audit_;  // in each change's transaction: no change without its record
    Transaction transaction_;
    const Clock& clock_;
};

}  // namespace selo::account
