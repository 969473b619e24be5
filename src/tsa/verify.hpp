#pragma once
// Reading and checking RFC 3161 time-stamp tokens with OpenSSL's own verifier (independent of
// the encoder in authority.cpp): for postmark verification and for clients of the log.

#include <string>
#include <vector>

#include "core/bytes.hpp"
#include "core/clock.hpp"
#include "core/error.hpp"
#include "crypto/digest.hpp"
#include "pki/certificate.hpp"

namespace selo::tsa {

// What a token says (TSTInfo).
struct TokenInfo {
    TimePoint gen_time;
    std::string gen_time_text;  // as encoded, e.g. "20250101120000.25Z"
    std::string serial_hex;
    std::string policy;         // dotted OID
    std::string hash_algorithm_oid;
    Bytes digest;               // the message imprint's hash value
    Bytes tst_info_der;         // the signed content, as logged
    std::string signer;         // subject of the signing certificate, when the token carries it
};

// Parses a TimeStampToken (ContentInfo DER) without checking its signature.
[[nodiscard]] Result<TokenInfo> read_token(ByteView token_der);
// The token of a TimeStampResp, when it was granted; the refusal's text otherwise.
[[nodiscard]] Result<Bytes> token_of_response(ByteView response_der);

struct TrustAnchors {
    std::vector<pki::Certificate> roots;         // trusted
    std::vector<pki::Certificate> intermediates; // untrusted, for chain building
};

// Verifies the token's signature, its signer's certificate (a time-stamping certificate that
// chains to one of the roots, ESSCertIDv2 matching) and that its imprint is `digest` under
// `algorithm`; ErrorCode::invalid_argument naming the first failure.
[[nodiscard]] Result<TokenInfo> verify_token(ByteView token_der, crypto::DigestAlgorithm algorithm,
                                             ByteView digest, const TrustAnchors& anchors);

}  // namespace selo::tsa
