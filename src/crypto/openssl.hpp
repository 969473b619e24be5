#pragma once
// Zero-overhead RAII for OpenSSL objects and the drain of its error queue into selo::Error.

#include <memory>
#include <string>

#include <openssl/asn1.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/cms.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/ocsp.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "core/error.hpp"

namespace selo::crypto {

template <auto F>
struct Free {
    void operator()(auto* p) const noexcept { F(p); }
};

using BioPtr = std::unique_ptr<BIO, Free<&::BIO_free_all>>;
using BignumPtr = std::unique_ptr<BIGNUM, Free<&::BN_free>>;
using EvpPkeyPtr = std::unique_ptr<EVP_PKEY, Free<&::EVP_PKEY_free>>;
using EvpPkeyCtxPtr = std::unique_ptr<EVP_PKEY_CTX, Free<&::EVP_PKEY_CTX_free>>;
using EvpMdCtxPtr = std::unique_ptr<EVP_MD_CTX, Free<&::EVP_MD_CTX_free>>;
using EvpCipherCtxPtr = std::unique_ptr<EVP_CIPHER_CTX, Free<&::EVP_CIPHER_CTX_free>>;
using EvpKdfPtr = std::unique_ptr<EVP_KDF, Free<&::EVP_KDF_free>>;
using EvpKdfCtxPtr = std::unique_ptr<EVP_KDF_CTX, Free<&::EVP_KDF_CTX_free>>;
using X509Ptr = std::unique_ptr<X509, Free<&::X509_free>>;
using X509NamePtr = std::unique_ptr<X509_NAME, Free<&::X509_NAME_free>>;
using X509CrlPtr = std::unique_ptr<X509_CRL, Free<&::X509_CRL_free>>;
using X509ExtensionPtr = std::unique_ptr<X509_EXTENSION, Free<&::X509_EXTENSION_free>>;
using X509StorePtr = std::unique_ptr<X509_STORE, Free<&::X509_STORE_free>>;
using X509StoreCtxPtr = std::unique_ptr<X509_STORE_CTX, Free<&::X509_STORE_CTX_free>>;
using X509AttributePtr = std::unique_ptr<X509_ATTRIBUTE, Free<&::X509_ATTRIBUTE_free>>;
using Asn1IntegerPtr = std::unique_ptr<ASN1_INTEGER, Free<&::ASN1_INTEGER_free>>;
using Asn1ObjectPtr = std::unique_ptr<ASN1_OBJECT, Free<&::ASN1_OBJECT_free>>;
using Asn1OctetStringPtr = std::unique_ptr<ASN1_OCTET_STRING, Free<&::ASN1_OCTET_STRING_free>>;
using Asn1StringPtr = std::unique_ptr<ASN1_STRING, Free<&::ASN1_STRING_free>>;
using Asn1TimePtr = std::unique_ptr<ASN1_TIME, Free<&::ASN1_TIME_free>>;
using CmsContentInfoPtr = std::unique_ptr<CMS_ContentInfo, Free<&::CMS_ContentInfo_free>>;

inline void free_x509_stack(STACK_OF(X509) * s) noexcept { sk_X509_pop_free(s, ::X509_free); }
using X509StackPtr = std::unique_ptr<STACK_OF(X509), Free<&free_x509_stack>>;

// Drains OpenSSL's thread-local error queue into one readable string (empty if none).
[[nodiscard]] std::string drain_errors();

// An Error carrying `what` and whatever OpenSSL queued. Always drains the queue.
[[nodiscard]] Error openssl_error(ErrorCode code, std::string_view what);
[[nodiscard]] inline std::unexpected<Error> openssl_fail(std::string_view what,
                                                         ErrorCode code = ErrorCode::internal) {
    return std::unexpected(openssl_error(code, what));
}

// Clears the error queue (before an operation whose failure is expected and handled).
void clear_errors() noexcept;

}  // namespace selo::crypto
