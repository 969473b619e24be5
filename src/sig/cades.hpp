#pragma once
// CAdES detached signatures (ETSI EN 319 122-1) in the shape PAdES baseline B-B needs
// (ETSI EN 319 142-1 §6.3): signed attributes content-type, message-digest and
// signing-certificate-v2, and deliberately no signingTime (the PDF's /M carries the claimed
// time; §6.3 forbids the attribute).
//
// Signing happens in two steps so the private key can live elsewhere (the CSC signHash
// round trip): prepare() yields the digest of the DER-encoded signed attributes, the key
// holder signs that digest, and finish() assembles the CMS SignedData.

#include <span>
#include <vector>

#include "core/bytes.hpp"
#include "core/error.hpp"
#include "crypto/digest.hpp"
#include "crypto/openssl.hpp"
#include "pki/certificate.hpp"

namespace selo::sig {

class PreparedCades {
public:
    // `signer` and `chain` (issuing CAs up to the root) go into SignedData.certificates.
    static Result<PreparedCades> prepare(const pki::Certificate& signer,
                                         std::span<const pki::Certificate> chain,
                                         crypto::DigestAlgorithm digest_alg,
                                         ByteView content_digest);

    // DER of the signed attributes as a SET OF (RFC 5652 §5.4: what the signature covers).
    [[nodiscard]] const Bytes& signed_attributes_der() const noexcept { return signed_attrs_; }
    // Digest of signed_attributes_der() with the signature's digest algorithm.
    [[nodiscard]] const Bytes& to_be_signed_digest() const noexcept { return tbs_digest_; }
    [[nodiscard]] crypto::DigestAlgorithm digest_algorithm() const noexcept { return alg_; }

    // Inserts the signature value (DER ECDSA-Sig-Value or PKCS#1 v1.5), checks it against the
    // signer's public key, and returns the DER-encoded ContentInfo.
    [[nodiscard]] Result<Bytes> finish(ByteView signature);

private:
    PreparedCades() = default;
    crypto::CmsContentInfoPtr cms_;
    CMS_SignerInfo* signer_info_ = nullptr;  // owned by cms_
    crypto::DigestAlgorithm alg_ = crypto::DigestAlgorithm::sha256;
    Bytes signed_attrs_;
    Bytes tbs_digest_;
};

// One-step signing with a local key (server-side signDoc).
[[nodiscard]] Result<Bytes> sign_cades_detached(const pki::Certificate& signer,
                                                std::span<const pki::Certificate> chain,
                                                EVP_PKEY* key, crypto::DigestAlgorithm digest_alg,
                                                ByteView content_digest);

}  // namespace selo::sig
