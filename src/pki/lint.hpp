#pragma once
// "Lint, then sign once": checks a certificate against its profile and RFC 5280 before the CA
// key signs it. The to-be-signed certificate is first signed with a throwaway key so that the
// linter reads exactly the encoding that the real signature will cover.

#include <string>
#include <vector>

#include "pki/certificate.hpp"
#include "pki/profile.hpp"

namespace selo::pki {

struct LintFinding {
    std::string rule;     // stable id, e.g. "serial.too_short"
    std::string message;  // what is wrong, for the officer or the log
};

// `issuer` is null for a self-signed certificate.
[[nodiscard]] std::vector<LintFinding> lint_certificate(const Certificate& cert,
                                                        const CertificateProfile& profile,
                                                        const Certificate* issuer);

}  // namespace selo::pki
