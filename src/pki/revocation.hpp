#pragma once
// Certificate status: RFC 5280 §5.3.1 revocation reasons, and the life-cycle rules of a
// certificate (valid -> suspended (certificateHold) -> valid again, or -> revoked, final).

#include <optional>
#include <string>
#include <string_view>

#include "core/clock.hpp"
#include "core/error.hpp"

namespace selo::pki {

// CRLReason (RFC 5280 §5.3.1). 7 is not used.
enum class RevocationReason : int {
    unspecified = 0,
    key_compromise = 1,
    ca_compromise = 2,
    affiliation_changed = 3,
    superseded = 4,
    cessation_of_operation = 5,
    certificate_hold = 6,
    remove_from_crl = 8,
    privilege_withdrawn = 9,
    aa_compromise = 10,
};

// RFC 5280's names ("keyCompromise"), also accepted in kebab case ("key-compromise").
[[nodiscard]] Result<RevocationReason> revocation_reason_from_name(std::string_view name);
[[nodiscard]] std::string_view revocation_reason_name(RevocationReason reason) noexcept;
// A reason value read from storage or the wire; invalid_argument for 7 or out of range.
[[nodiscard]] Result<RevocationReason> revocation_reason_from_value(int value);

// Whether what a key signed before its certificate was revoked for `reason` stays valid, as
// RFC 3161 §4 has it for time-stamping certificates: only for affiliationChanged, superseded
// and cessationOfOperation (and unspecified, but only where the CRL entry carries that reason
// code, which RFC 5280 §5.3.1 says to leave out, as Selo's CRLs and OCSP answers do: a
// verifier then sees no reason, and voids everything the key signed, as for a compromise).
[[nodiscard]] bool keeps_earlier_tokens(std::optional<int> reason) noexcept;

// Why a certificate with status "revoked" or "suspended" is not in force, for people: "revoked
// since 2026-12-04T11:40:07Z, reason keyCompromise" or "suspended (certificateHold) since ...".
[[nodiscard]] std::string not_in_force_text(std::string_view status, std::optional<TimePoint> since,
                                            std::optional<int> reason);

inline constexpr std::string_view kStatusValid = "valid";
inline constexpr std::string_view kStatusRevoked = "revoked";
inline constexpr std::string_view kStatusSuspended = "suspended";

}  // namespace selo::pki
