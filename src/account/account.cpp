#include "account/account.hpp"

#include <cctype>

namespace selo::account {

std::string_view role_name(Role r) noexcept {
    switch (r) {
        case Role::citizen: return "citizen";
        case Role::institution: return "institution";
        case Role::agency: return "agency";
        case Role::clerk: return "clerk";
        case Role::ca_officer: return "ca-officer";
        case Role::auditor: return "auditor";
        case Role::administrator: return "administrator";
    }
    return "citizen";
}

const std::vector<Role>& all_roles() {
    static const std::vector<Role> roles = {Role::citizen, Role::institution, Role::agency,
                                            Role::clerk,   Role::ca_officer,  Role::auditor,
                                            Role::administrator};
    return roles;
}

Result<Role> role_from_name(std::string_view name) {
    for (auto r : all_roles()) {
        if (role_name(r) == name) {
            return r;
        }
    }
    return fail(ErrorCode::invalid_argument,
                "unknown role '{}' (citizen, institution, agency, clerk, ca-officer, auditor, "
                "administrator)",
                name);
}

std::string_view identity_document_name(IdentityDocument d) noexcept {
    switch (d) {
        case IdentityDocument::identity_card: return "identity-card";
        case IdentityDocument::passport: return "passport";
        case IdentityDocument::staff_card: return "staff-card";
        case IdentityDocument::trade_register: return "trade-register";
    }
    return "identity-card";
}

Result<IdentityDocument> identity_document_from_name(std::string_view name) {
    if (name == "identity-card" || name == "idcard" || name == "IDC") {
        return IdentityDocument::identity_card;
    }
    if (name == "passport" || name == "PAS") {
        return IdentityDocument::passport;
    }
    if (name == "staff-card") {
        return IdentityDocument::staff_card;
    }
    if (name == "trade-register" || name == "NTR") {
        return IdentityDocument::trade_register;
    }
    return fail(ErrorCode::invalid_argument,
                "unknown identity document type '{}' (identity-card, passport or staff-card)", name);
}

std::string_view etsi_identity_type(IdentityDocument d) noexcept {
    switch (d) {
        case IdentityDocument::identity_card: return "IDC";
        case IdentityDocument::passport: return "PAS";
        case IdentityDocument::staff_card: return "";  // no certificate is issued on it
        case IdentityDocument::trade_register: return "NTR";
    }
    return "IDC";
}

bool same_identity_document(const Person& person, IdentityDocument seen_type,
                            std::string_view seen_number) {
    auto normalise = [](std::string_view s) {
        std::string o;
        for (char c : s) {
            if (c != ' ') {
                o.push_back(static_cast<char>(std::toupper(static_cast<unsigned char>(c))));
            }
        }
        return o;
    };
    return seen_type == person.id_type && normalise(seen_number) == normalise(person.id_number);
}

}  // namespace selo::account
