#include "account/account.hpp"

namespace selo::account {

std::string_view identity_document_name(IdentityDocument d) noexcept {
    switch (d) {
        case IdentityDocument::identity_card: return "identity-card";
        case IdentityDocument::passport: return "passport";
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
    return fail(ErrorCode::invalid_argument,
                "unknown identity document type '{}' (identity-card or passport)", name);
}

std::string_view etsi_identity_type(IdentityDocument d) noexcept {
    switch (d) {
        case IdentityDocument::identity_card: return "IDC";
        case IdentityDocument::passport: return "PAS";
    }
    return "IDC";
}

}  // namespace selo::account
