#include "pki/revocation.hpp"

#include <array>
#include <utility>

namespace selo::pki {
namespace {

constexpr std::array<std::pair<RevocationReason, std::string_view>, 10> kReasons{{
    {RevocationReason::unspecified, "unspecified"},
    {RevocationReason::key_compromise, "keyCompromise"},
    {RevocationReason::ca_compromise, "cACompromise"},
    {RevocationReason::affiliation_changed, "affiliationChanged"},
    {RevocationReason::superseded, "superseded"},
    {RevocationReason::cessation_of_operation, "cessationOfOperation"},
    {RevocationReason::certificate_hold, "certificateHold"},
    {RevocationReason::remove_from_crl, "removeFromCRL"},
    {RevocationReason::privilege_withdrawn, "privilegeWithdrawn"},
    {RevocationReason::aa_compromise, "aACompromise"},
}};

// "keyCompromise" and "key-compromise" compare equal: lower-case letters only.
std::string fold(std::string_view s) {
    std::string out;
    for (char c : s) {
        if (c == '-' || c == '_') {
            continue;
        }
        out += (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
    }
    return out;
}

}  // namespace

Result<RevocationReason> revocation_reason_from_name(std::string_view name) {
    std::string wanted = fold(name);
    std::string known;
    for (const auto& [reason, text] : kReasons) {
        if (fold(text) == wanted) {
            return reason;
        }
        known += (known.empty() ? "" : ", ") + std::string(text);
    }
    return fail(ErrorCode::invalid_argument, "unknown revocation reason '{}' (RFC 5280: {})", name,
                known);
}

std::string_view revocation_reason_name(RevocationReason reason) noexcept {
    for (const auto& [r, text] : kReasons) {
        if (r == reason) {
            return text;
        }
    }
    return "unspecified";
}

Result<RevocationReason> revocation_reason_from_value(int value) {
    for (const auto& [r, text] : kReasons) {
        if (static_cast<int>(r) == value) {
            return r;
        }
    }
    return fail(ErrorCode::invalid_argument, "{} is not a CRLReason value", value);
}

bool keeps_earlier_tokens(std::optional<int> reason) noexcept {
    return reason && (*reason == static_cast<int>(RevocationReason::affiliation_changed) ||
                      *reason == static_cast<int>(RevocationReason::superseded) ||
                      *reason == static_cast<int>(RevocationReason::cessation_of_operation));
}

std::string not_in_force_text(std::string_view status, std::optional<TimePoint> since, std::optional<int> reason) {
    std::string out = status == kStatusSuspended ? "suspended (certificateHold)" : std::string(status);
    if (since) {
        out += " since " + format_utc(*since);
    }
    if (status == kStatusRevoked) {
        auto r = reason ? revocation_reason_from_value(*reason) : Result<RevocationReason>(RevocationReason::unspecified);
        out += ", reason " + (r ? std::string(revocation_reason_name(*r)) : std::to_string(*reason));
    }
    return out;
}

}  // namespace selo::pki
