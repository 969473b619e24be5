#pragma once
// "Lint, then sign once": checks a certificate against its profile and RFC 5280 before the CA
// key signs it. The to-be-signed certificate is first signed with a throwaway key so that the
// linter reads exactly the encoding that the real signature will cover.

#include <string>
#include <vector>

#include <openssl/ocsp.h>

#include "core/clock.hpp"
#include "pki/certificate.hpp"
#include "pki/profile.hpp"

namespace selo::pki {

struct LintFinding {
    std::string rule;     // stable id, e.g. "serial.too_short"
    std::string message;  // what is wrong, for the officer or the log
};

// "[rule] message; [rule] message".
[[nodiscard]] std::string describe(const std::vector<LintFinding>& findings);

// `issuer` is null for a self-signed certificate.
[[nodiscard]] std::vector<LintFinding> lint_certificate(const Certificate& cert,
                                                        const CertificateProfile& profile,
                                                        const Certificate* issuer);

// Checks a to-be-signed CRL (RFC 5280 §5): version 2, issuer byte-identical to the CA's
// subject, authorityKeyIdentifier and cRLNumber, times and their encodings, entry serials and
// reasons. `issuer` is the CA that signs it; null when unknown (`selo lint` on a lone CRL).
[[nodiscard]] std::vector<LintFinding> lint_crl(const X509_CRL* crl, const Certificate* issuer);

// Checks a to-be-signed BasicOCSPResponse (RFC 6960 §4.2, RFC 5019 §2.2): every answer has
// thisUpdate no later than `now` and a later nextUpdate; `signer` is the CA itself or a
// responder certificate it issued, valid now, with id-kp-OCSPSigning and ocsp-nocheck.
[[nodiscard]] std::vector<LintFinding> lint_ocsp_response(OCSP_BASICRESP* response,
                                                          const Certificate& signer,
                                                          const Certificate& ca, TimePoint now);

}  // namespace selo::pki
