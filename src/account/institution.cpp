#include "account/institution.hpp"

#include <algorithm>
#include <cctype>

#include <fmt/format.h>

#include "core/country.hpp"

namespace selo::account {

namespace {
bool is_staff_viewer(const Account& a) { return a.has_role(Role::clerk) || a.has_role(Role::auditor); }
}  // namespace

Result<OrganizationIdentifier> parse_organization_identifier(std::string_view s) {
    // ETSI EN 319 412-1 §5.1.4: "NTR" + ISO 3166 country + "-" + the register's identifier.
    auto bad = [&] {
        return fail(ErrorCode::invalid_argument,
                    "'organization_identifier' must look like NTRMO-12345 (NTR, the country, '-', "
                    "the trade register number: letters, digits, / and -)");
    };
    if (s.size() < 7 || s.size() > 64 || !s.starts_with("NTR") || s[5] != '-') {
        return bad();
    }
    OrganizationIdentifier out{std::string(s.substr(3, 2)), std::string(s.substr(6))};
    if (!is_iso3166_alpha2(out.country) ||
        !std::all_of(out.number.begin(), out.number.end(), [](char c) {
            return std::isalnum(static_cast<unsigned char>(c)) || c == '/' || c == '-';
        })) {
        return bad();
    }
    return out;
}

InstitutionService::InstitutionService(AccountService& accounts, AccountRepository& account_repo,
                                       InstitutionRepository& repo, SystemPost& post,
                                       AuditTrail& audit, Transaction transaction, const Clock& clock)
    : accounts_(accounts), account_repo_(account_repo), repo_(repo), post_(post), audit_(audit),
      transaction_(std::move(transaction)), clock_(clock) {}

Result<Institution> InstitutionService::register_institution(const Account& clerk,
                                                             const InstitutionRequest& request) {
    auto id = SELO_TRY(parse_organization_identifier(request.organization_identifier));
    std::string address = request.postal_address;
    while (!address.empty() && std::isspace(static_cast<unsigned char>(address.back()))) {
        address.pop_back();
    }
    if (address.empty() || address.size() > 1200 ||
        std::any_of(address.begin(), address.end(), [](char c) {
            auto u = static_cast<unsigned char>(c);
            return (u < 0x20 && c != '\n') || u == 0x7F;
        })) {
        return fail(ErrorCode::invalid_argument,
                    "'postal_address' is required: text of at most 1200 bytes, lines separated by \\n");
    }
    Person p;
    p.name = request.name;
    p.latin_name = request.latin_name;
    // A legal person has no given name and surname: both carry the registered Latin name, so
    // nothing is derived from it.
    p.given_name = request.latin_name;
    p.surname = request.latin_name;
    p.id_type = IdentityDocument::trade_register;
    p.id_country = id.country;
    p.id_number = id.number;
    p.email = request.email;
    Institution out;
    SELO_TRY_VOID(transaction_([&]() -> Result<void> {
        auto opened = accounts_.open(p, {Role::institution},
                                     {.with_authenticator = false, .sign_in = false});
        if (!opened && opened.error().code == ErrorCode::conflict) {
            return fail(ErrorCode::conflict, "{} is registered already", request.organization_identifier);
        }
        if (!opened) {
            return std::unexpected(opened.error());
        }
        out.account_id = opened->account.id;
        out.organization_identifier = request.organization_identifier;
        out.name = opened->account.person.name;
        out.latin_name = opened->account.person.latin_name;
        out.postal_address = address;
        out.email = opened->account.person.email;
        out.created_by = clerk.id;
        out.created_at = clock_.now();
        SELO_TRY_VOID(repo_.insert(out));
        SELO_TRY_VOID(post_.ensure_mailbox(out.account_id));
        SELO_TRY_VOID(audit_.record({clerk.id, "institution.register", out.account_id,
                         fmt::format("{} {} ({})", out.organization_identifier, out.name, out.latin_name)}));
        return {};
    }));
    return out;
}

Result<Institution> InstitutionService::existing(std::string_view institution_id) {
    auto found = SELO_TRY(repo_.find(institution_id));
    if (!found) {
        return fail(ErrorCode::not_found, "no institution {}", institution_id.substr(0, 64));
    }
    return std::move(*found);
}

Result<void> InstitutionService::check_member(const Account& member, std::string_view institution_id) {
    if (!SELO_TRY(repo_.is_member(institution_id, member.id))) {
        // A non-member cannot tell an institution from none.
        return fail(ErrorCode::not_found, "no institution {} that you are a member of",
                    institution_id.substr(0, 64));
    }
    return {};
}

Result<Institution> InstitutionService::find(const Account& viewer, std::string_view institution_id) {
    if (!is_staff_viewer(viewer)) {
        SELO_TRY_VOID(check_member(viewer, institution_id));
    }
    return existing(institution_id);
}

Result<std::vector<Membership>> InstitutionService::members(const Account& viewer,
                                                            std::string_view institution_id) {
    SELO_TRY(find(viewer, institution_id));
    return repo_.members(institution_id);
}

Result<std::vector<Institution>> InstitutionService::visible_to(const Account& viewer) {
    if (is_staff_viewer(viewer)) {
        return repo_.list(1000);
    }
    std::vector<Institution> out;
    for (const auto& id : SELO_TRY(repo_.memberships(viewer.id))) {
        out.push_back(SELO_TRY(existing(id)));
    }
    return out;
}

Result<Membership> InstitutionService::add_member(const Account& clerk, std::string_view institution_id,
                                                  std::string_view member_id) {
    auto inst = SELO_TRY(existing(institution_id));
    auto member = SELO_TRY(account_repo_.find_by_id(member_id));
    if (!member) {
        return fail(ErrorCode::invalid_argument, "no account {} to add as a member",
                    member_id.substr(0, 64));
    }
    if (!member->has_role(Role::citizen)) {
        return fail(ErrorCode::invalid_argument,
                    "members are natural persons: account {} is not a citizen account", member->id);
    }
    Membership m{inst.account_id, member->id, clerk.id, clock_.now()};
    SELO_TRY_VOID(transaction_([&]() -> Result<void> {
        SELO_TRY_VOID(repo_.add_member(m));
        SELO_TRY_VOID(audit_.record({clerk.id, "institution.member.add", inst.account_id,
                         fmt::format("member {} ({})", member->id, member->person.name)}));
        return {};
    }));
    return m;
}

Result<void> InstitutionService::remove_member(const Account& clerk, std::string_view institution_id,
                                               std::string_view member_id) {
    auto inst = SELO_TRY(existing(institution_id));
    return transaction_([&]() -> Result<void> {
        if (!SELO_TRY(repo_.remove_member(inst.account_id, member_id, clerk.id, clock_.now()))) {
            return fail(ErrorCode::not_found, "{} is not a member of {}", member_id.substr(0, 64),
                        inst.account_id);
        }
        SELO_TRY_VOID(audit_.record({clerk.id, "institution.member.remove", inst.account_id,
                         fmt::format("member {}", member_id)}));
        return {};
    });
}

}  // namespace selo::account
