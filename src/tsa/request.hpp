#pragma once
// A direct reader for the TimeStampReq encodings clients actually send (RFC 3161 §2.4.1 in DER,
// X.690 §10): what `openssl ts -query`, curl-based clients and signing libraries produce. It
// accepts a strict subset of what OpenSSL's d2i_TS_REQ accepts and reads the same values, so the
// TSA answers these with no allocation and falls back to d2i_TS_REQ for everything else
// (malformed input, BER, explicit DEFAULTs, extensions, unknown algorithms or policies, ...),
// whose refusal and its PKIFailureInfo stay exactly what they were.

#include <optional>
#include <span>

#include "core/bytes.hpp"
#include "crypto/digest.hpp"

namespace selo::tsa {

// The fields of a canonical request, as views into the input.
struct CanonicalRequest {
    crypto::DigestAlgorithm algorithm = crypto::DigestAlgorithm::sha256;
    ByteView imprint;   // the whole MessageImprint encoding
    ByteView digest;    // hashedMessage, of the algorithm's length
    ByteView policy;    // the whole reqPolicy OID encoding, or empty
    ByteView nonce;     // the whole nonce INTEGER encoding (positive), or empty
    bool cert_req = false;
};

// The request when `der` is a canonical TimeStampReq: version 1; hashAlgorithm SHA-256, -384 or
// -512 with absent or NULL parameters and a digest of its length; a reqPolicy, when present,
// equal to one of `policies` (whole OID encodings); a positive nonce of at most
// `max_nonce_octets` octets; certReq absent or TRUE (0xFF); no extensions; minimal definite
// lengths and nothing after the request. nullopt otherwise (not necessarily an invalid request:
// the caller decodes it the general way).
[[nodiscard]] std::optional<CanonicalRequest> read_canonical_request(ByteView der,
                                                                     std::span<const ByteView> policies,
                                                                     std::size_t max_nonce_octets);

}  // namespace selo::tsa
