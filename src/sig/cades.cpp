#include "sig/cades.hpp"

#include <openssl/ess.h>
#include <openssl/objects.h>

#include <algorithm>

#include "crypto/keys.hpp"

namespace selo::sig {
namespace {

using namespace selo::crypto;

Bytes encode_attribute(const X509_ATTRIBUTE* attr) {
    int len = ::i2d_X509_ATTRIBUTE(const_cast<X509_ATTRIBUTE*>(attr), nullptr);
    if (len <= 0) {
        return {};
    }
    Bytes out(static_cast<std::size_t>(len));
    unsigned char* p = out.data();
    ::i2d_X509_ATTRIBUTE(const_cast<X509_ATTRIBUTE*>(attr), &p);
    return out;
}

void append_der_length(Bytes& out, std::size_t len) {
    if (len < 0x80) {
        out.push_back(static_cast<std::uint8_t>(len));
        return;
    }
    Bytes be;
    while (len > 0) {
        be.insert(be.begin(), static_cast<std::uint8_t>(len & 0xff));
        len >>= 8;
    }
    out.push_back(static_cast<std::uint8_t>(0x80 | be.size()));
    out.insert(out.end(), be.begin(), be.end());
}

// X.690 §11.6: the components of a DER SET OF are in ascending order of their encodings,
// compared as octet strings with the shorter one padded at its end with zeros.
bool der_set_less(const Bytes& a, const Bytes& b) {
    std::size_t n = std::max(a.size(), b.size());
    for (std::size_t i = 0; i < n; ++i) {
        std::uint8_t x = i < a.size() ? a[i] : 0;
        std::uint8_t y = i < b.size() ? b[i] : 0;
        if (x != y) {
            return x < y;
        }
    }
    return false;
}

Result<void> add_signing_certificate_v2(CMS_SignerInfo* si, const pki::Certificate& signer,
                                        DigestAlgorithm alg) {
    // ESSCertIDv2 with issuerSerial (RFC 5035 §4), hashed with the signature's digest.
    std::unique_ptr<ESS_SIGNING_CERT_V2, Free<&::ESS_SIGNING_CERT_V2_free>> sc(
        ::OSSL_ESS_signing_cert_v2_new_init(evp_md(alg), signer.x509(), nullptr, 1));
    if (!sc) {
        return openssl_fail("building signing-certificate-v2");
    }
    int len = ::i2d_ESS_SIGNING_CERT_V2(sc.get(), nullptr);
    if (len <= 0) {
        return openssl_fail("encoding signing-certificate-v2");
    }
    Bytes der(static_cast<std::size_t>(len));
    unsigned char* p = der.data();
    ::i2d_ESS_SIGNING_CERT_V2(sc.get(), &p);
    if (::CMS_signed_add1_attr_by_NID(si, NID_id_smime_aa_signingCertificateV2, V_ASN1_SEQUENCE,
                                      der.data(), len) != 1) {
        return openssl_fail("adding signing-certificate-v2");
    }
    return {};
}

}  // namespace

Result<PreparedCades> PreparedCades::prepare(const pki::Certificate& signer,
                                             std::span<const pki::Certificate> chain,
                                             DigestAlgorithm digest_alg, ByteView content_digest) {
    if (content_digest.size() != digest_size(digest_alg)) {
        return fail(ErrorCode::invalid_argument, "content digest is {} bytes, {} needs {}",
                    content_digest.size(), digest_name(digest_alg), digest_size(digest_alg));
    }
    PreparedCades out;
    out.alg_ = digest_alg;
    X509StackPtr certs(sk_X509_new_null());
    for (const auto& c : chain) {
        if (sk_X509_push(certs.get(), ::X509_dup(c.x509())) <= 0) {
            return openssl_fail("certificate stack");
        }
    }
    constexpr unsigned kFlags = CMS_DETACHED | CMS_PARTIAL | CMS_BINARY;
    out.cms_.reset(::CMS_sign(nullptr, nullptr, certs.get(), nullptr, kFlags));
    if (!out.cms_) {
        return openssl_fail("creating SignedData");
    }
    // Only the public key is known here. OpenSSL checks that it matches the certificate and
    // fills in the signature algorithm; with CMS_PARTIAL nothing is signed yet, and with
    // CMS_NOSMIMECAP and no CMS_CADES it adds no attribute of its own.
    EVP_PKEY* pub = ::X509_get0_pubkey(signer.x509());
    if (pub == nullptr) {
        return openssl_fail("signer certificate has no usable public key");
    }
    out.signer_info_ = ::CMS_add1_signer(out.cms_.get(), signer.x509(), pub, evp_md(digest_alg),
                                         CMS_PARTIAL | CMS_BINARY | CMS_NOSMIMECAP);
    if (out.signer_info_ == nullptr) {
        return openssl_fail("adding signer");
    }
    // RFC 5652 §11.1 content-type and §11.2 message-digest.
    if (::CMS_signed_add1_attr_by_NID(out.signer_info_, NID_pkcs9_contentType, V_ASN1_OBJECT,
                                      ::OBJ_nid2obj(NID_pkcs7_data), -1) != 1 ||
        ::CMS_signed_add1_attr_by_NID(out.signer_info_, NID_pkcs9_messageDigest,
                                      V_ASN1_OCTET_STRING, content_digest.data(),
                                      static_cast<int>(content_digest.size())) != 1) {
        return openssl_fail("adding signed attributes");
    }
    SELO_TRY_VOID(add_signing_certificate_v2(out.signer_info_, signer, digest_alg));
    if (::CMS_signed_get_attr_by_NID(out.signer_info_, NID_pkcs9_signingTime, -1) >= 0) {
        return fail(ErrorCode::internal, "signingTime must not be present in a PAdES signature");
    }

    // Put the attributes in DER SET OF order inside the SignerInfo too. OpenSSL encodes
    // signedAttrs sorted on output but verifies over the stack's order, so the stack must
    // already be sorted for the signature we insert to verify anywhere.
    struct Encoded {
        Bytes der;
        X509AttributePtr attr;
    };
    std::vector<Encoded> encoded;
    while (::CMS_signed_get_attr_count(out.signer_info_) > 0) {
        X509AttributePtr attr(::CMS_signed_delete_attr(out.signer_info_, 0));
        Bytes der = attr ? encode_attribute(attr.get()) : Bytes{};
        if (der.empty()) {
            return openssl_fail("encoding a signed attribute");
        }
        encoded.push_back({std::move(der), std::move(attr)});
    }
    std::sort(encoded.begin(), encoded.end(),
              [](const Encoded& a, const Encoded& b) { return der_set_less(a.der, b.der); });
    std::size_t body = 0;
    for (const auto& e : encoded) {
        body += e.der.size();
        if (::CMS_signed_add1_attr(out.signer_info_, e.attr.get()) != 1) {
            return openssl_fail("re-adding a signed attribute");
        }
    }
    out.signed_attrs_.push_back(0x31);  // SET OF
    append_der_length(out.signed_attrs_, body);
    for (const auto& e : encoded) {
        out.signed_attrs_.insert(out.signed_attrs_.end(), e.der.begin(), e.der.end());
    }
    out.tbs_digest_ = crypto::digest(digest_alg, out.signed_attrs_);
    return out;
}

Result<Bytes> PreparedCades::finish(ByteView signature) {
    if (signature.empty() || signature.size() > 2048) {
        return fail(ErrorCode::invalid_argument, "signature value has an implausible size {}",
                    signature.size());
    }
    ASN1_OCTET_STRING* sig = ::CMS_SignerInfo_get0_signature(signer_info_);
    if (sig == nullptr ||
        ::ASN1_OCTET_STRING_set(sig, signature.data(), static_cast<int>(signature.size())) != 1) {
        return openssl_fail("setting signature value");
    }
    // Verifies the signature over the signed attributes as OpenSSL will encode them: catches
    // a wrong key and any difference between our SET OF encoding and OpenSSL's.
    if (::CMS_SignerInfo_verify(signer_info_) != 1) {
        return openssl_fail("the signature does not verify over the signed attributes",
                            ErrorCode::invalid_argument);
    }
    int len = ::i2d_CMS_ContentInfo(cms_.get(), nullptr);
    if (len <= 0) {
        return openssl_fail("encoding SignedData");
    }
    Bytes der(static_cast<std::size_t>(len));
    unsigned char* p = der.data();
    ::i2d_CMS_ContentInfo(cms_.get(), &p);
    return der;
}

Result<Bytes> sign_cades_detached(const pki::Certificate& signer,
                                  std::span<const pki::Certificate> chain, EVP_PKEY* key,
                                  DigestAlgorithm digest_alg, ByteView content_digest) {
    auto prepared = SELO_TRY(PreparedCades::prepare(signer, chain, digest_alg, content_digest));
    auto signature = SELO_TRY(crypto::sign_digest(key, digest_alg, prepared.to_be_signed_digest()));
    return prepared.finish(signature);
}

}  // namespace selo::sig
