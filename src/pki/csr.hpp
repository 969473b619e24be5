#pragma once
// PKCS#10 certification requests (RFC 2986) as Selo accepts them: only the public key is taken,
// after the proof of possession (the request's signature) checks out. The subject always comes
// from the registration record, never from the request.

#include <string>
#include <vector>

#include "core/bytes.hpp"
#include "core/error.hpp"
#include "crypto/openssl.hpp"

namespace selo::pki {

struct AcceptedCsr {
    crypto::EvpPkeyPtr public_key;
    // What the request asked for that Selo does not take from it (its subject, non-critical
    // extension requests), for the officer to read.
    std::vector<std::string> ignored;
};

// Parses a PEM or DER CSR, checks its signature with its own key (proof of possession) and its
// key (RSA of at least 2048 bits, EC P-256/P-384/P-521, Ed25519). Refuses a CSR that requests a
// critical extension: Selo sets extensions from the profile, and a requester who marks one
// critical expects it honoured.
[[nodiscard]] Result<AcceptedCsr> accept_csr(ByteView pem_or_der);

}  // namespace selo::pki
