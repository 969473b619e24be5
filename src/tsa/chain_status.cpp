#include "tsa/chain_status.hpp"

#include <fmt/format.h>

#include "pki/certificate.hpp"
#include "pki/revocation.hpp"

namespace selo::tsa {

std::optional<ChainProblem> chain_problem(std::span<const pki::Certificate* const> chain,
                                          const CertificateStatusLookup& status, TimePoint at, ChainUse use) {
    if (chain.size() < 2) {
        return ChainProblem{.why = "the certificate chain is incomplete"};
    }
    for (std::size_t i = 0; i + 1 < chain.size(); ++i) {
        const pki::Certificate& cert = *chain[i];
        const std::string serial = cert.serial_hex();
        // For people, only once something is wrong.
        auto whose = [&] {
            return fmt::format("{}'s certificate (serial {})", pki::name_to_string(::X509_get_subject_name(cert.x509())),
                               serial);
        };
        auto st = status ? status(*chain[i + 1], serial)
                         : Result<std::optional<pki::CertificateStatus>>(
                               fail(ErrorCode::internal, "no certificate status source"));
        if (!st) {
            return ChainProblem{.why = fmt::format("the revocation status of {} could not be checked", whose()),
                                .indeterminate = true,
                                .position = i,
                                .store_error = st.error().message};
        }
        if (!*st) {
            // It chains to Selo's root, yet no Selo CA recorded issuing it: never "good" (as OCSP
            // answers "unknown" for a serial it has not issued).
            return ChainProblem{.why = whose() + " is not in Selo's certificate records: status unknown", .position = i};
        }
        const pki::CertificateStatus& s = **st;
        if (s.status == pki::kStatusValid) {
            continue;
        }
        if (s.status != pki::kStatusRevoked && s.status != pki::kStatusSuspended) {
            return ChainProblem{.why = fmt::format("{} has status '{}': status unknown", whose(), s.status),
                                .position = i};
        }
        const bool suspended = s.status == pki::kStatusSuspended;
        // Revoked or suspended only after `at`: the certificate was in force then (for a token,
        // unless the reason voids everything the key ever signed).
        const bool later = s.revoked_at && (use == ChainUse::token_checked
                                                ? *s.revoked_at >= std::chrono::floor<std::chrono::seconds>(at)
                                                : *s.revoked_at > at);
        const bool voids_all = use != ChainUse::signature && !suspended && !pki::keeps_earlier_tokens(s.revocation_reason);
        if (later && !voids_all) {
            continue;
        }
        return ChainProblem{
            .why = fmt::format("{} is {}", whose(), pki::not_in_force_text(s.status, s.revoked_at, s.revocation_reason)),
            .position = i,
            .suspended = suspended};
    }
    return std::nullopt;
}

}  // namespace selo::tsa
