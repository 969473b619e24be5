#pragma once
// Whether the certificates of a path are in force by Selo's own records (the data OCSP and CRLs
// answer from). Path validation knows nothing of revocation; every certificate below one of
// Selo's roots was issued by a Selo CA, so its status is in Selo's store (RFC 5280 §6.3: a path
// is valid only if none of its certificates is revoked). One rule for the three callers: a
// submitter's signature on a postmark, a receipt's time-stamp token, and the time-stamping units
// themselves (may they still sign?).

#include <openssl/x509.h>
#include <openssl/x509_vfy.h>

#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "core/clock.hpp"
#include "core/error.hpp"
#include "crypto/openssl.hpp"
#include "pki/certificate.hpp"
#include "pki/repository.hpp"
#include "tsa/verify.hpp"

namespace selo::tsa {

// What Selo's certificate store records of the certificate with `serial_hex` that the CA whose
// certificate is `issuer` issued (the data OCSP answers from); nullopt when no CA of Selo's with
// that certificate issued that serial. An error when the store cannot be read.
using CertificateStatusLookup = std::function<Result<std::optional<pki::CertificateStatus>>(
    const pki::Certificate& issuer, std::string_view serial_hex)>;

// What a path is checked for.
enum class ChainUse {
    // A signature, or a key about to sign, at the time given (RFC 5280): a certificate revoked
    // or suspended at or before it is not in force, one revoked only later is.
    signature,
    // A time-stamp token just made (RFC 3161 §4): as a token checked later, but in force only
    // strictly after the (whole-second) revocation time.
    token_issued,
    // A time-stamp token checked later (RFC 3161 §4): a certificate revoked for a reason other
    // than affiliationChanged, superseded or cessationOfOperation (pki::keeps_earlier_tokens)
    // voids everything signed under it, whatever time it states, since whoever held the key
    // could state any time; revoked for one of those, or suspended, it leaves valid what was
    // signed before, a token from the revocation's own second included (revocation times are
    // whole seconds and it may have come first).
    token_checked,
};

struct ChainProblem {
    std::string why;             // for people: whose certificate, its serial, its status
    // The status could not be established (the store could not be read): no verdict, as against
    // a certificate Selo's records show revoked or do not know.
    bool indeterminate = false;
    std::size_t position = 0;    // the certificate at fault: 0 the leaf, 1 its issuer's, ...
    bool suspended = false;      // on hold (which may be lifted), not revoked or unknown
    // Why the store could not be read, for the server's log only (`why` may be shown to anyone).
    std::string store_error;
};

// Why the certificates of `chain` (leaf first, each issued by the next, the root last; the root,
// the trust anchor, is not looked up) are not all in force at `at` for `use`, or nullopt when
// they are. A chain of fewer than two certificates is a problem (a path ends with its root).
// (Pointers: a certificate's copy is a full re-parse, and the units are checked many times a
// second.)
[[nodiscard]] std::optional<ChainProblem> chain_problem(std::span<const pki::Certificate* const> chain,
                                                        const CertificateStatusLookup& status, TimePoint at,
                                                        ChainUse use);

// A certificate path validated by OpenSSL, with what its context refers to.
struct ValidatedChain {
    crypto::X509StorePtr store;
    crypto::X509StackPtr untrusted;
    crypto::X509StoreCtxPtr ctx;
    [[nodiscard]] STACK_OF(X509) * chain() const { return ::X509_STORE_CTX_get0_chain(ctx.get()); }
};

// `leaf`'s path to one of the roots of `anchors` at `at`, built from their intermediates and the
// certificates the signed object `carried`; invalid_argument saying why there is none, internal
// when no verification context could be made.
[[nodiscard]] Result<ValidatedChain> validated_chain(X509* leaf, STACK_OF(X509) * carried, const TrustAnchors& anchors,
                                                     TimePoint at);

// chain_problem for a path OpenSSL validated (ValidatedChain::chain()).
[[nodiscard]] std::optional<ChainProblem> path_problem(STACK_OF(X509) * chain, const CertificateStatusLookup& status,
                                                       TimePoint at, ChainUse use);

// The certificate a time-stamp token names as its signer, among those it carries (certReq);
// invalid_argument when it carries none that matches.
[[nodiscard]] Result<pki::Certificate> token_signer(ByteView token_der);

// Why the certificates a time-stamp token (its signature already verified) was signed under (its
// signer's, carried in the token, and the CAs' above, up to `anchors`) do not let it prove
// `gen_time` (RFC 3161 §4), or nullopt when they do.
[[nodiscard]] std::optional<ChainProblem> token_problem(ByteView token_der, const TrustAnchors& anchors,
                                                        const CertificateStatusLookup& status, TimePoint gen_time,
                                                        ChainUse use);

}  // namespace selo::tsa
