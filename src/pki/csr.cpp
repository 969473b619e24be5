#include "pki/csr.hpp"

#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "crypto/keys.hpp"
#include "pki/certificate.hpp"

namespace selo::pki {
namespace {
using namespace selo::crypto;
using X509ReqPtr = std::unique_ptr<X509_REQ, Free<&::X509_REQ_free>>;

void free_extensions(STACK_OF(X509_EXTENSION)* s) { sk_X509_EXTENSION_pop_free(s, ::X509_EXTENSION_free); }
}  // namespace

Result<AcceptedCsr> accept_csr(ByteView data) {
    X509ReqPtr req;
    std::string_view text = as_chars(data);
    if (text.find("-----BEGIN") != std::string_view::npos) {
        BioPtr bio(::BIO_new_mem_buf(data.data(), static_cast<int>(data.size())));
        req.reset(::PEM_read_bio_X509_REQ(bio.get(), nullptr, nullptr, nullptr));
    } else {
        const unsigned char* p = data.data();
        req.reset(::d2i_X509_REQ(nullptr, &p, static_cast<long>(data.size())));
        if (req && p != data.data() + data.size()) {
            req.reset();
        }
    }
    if (!req) {
        clear_errors();
        return fail(ErrorCode::malformed, "not a PKCS#10 certification request (PEM or DER)");
    }
    EvpPkeyPtr key(::X509_REQ_get_pubkey(req.get()));
    if (!key) {
        clear_errors();
        return fail(ErrorCode::malformed, "the CSR's public key cannot be read");
    }
    // RFC 2986 §3: the signature proves possession of the private key.
    if (::X509_REQ_verify(req.get(), key.get()) != 1) {
        clear_errors();
        return fail(ErrorCode::invalid_argument,
                    "the CSR's signature does not verify with its own key: no proof of possession");
    }
    auto desc = SELO_TRY(describe_key(key.get()));
    (void)desc;
    int base = ::EVP_PKEY_get_base_id(key.get());
    int bits = ::EVP_PKEY_get_bits(key.get());
    if (base == EVP_PKEY_RSA && bits < 2048) {
        return fail(ErrorCode::invalid_argument, "RSA keys need at least 2048 bits (this one has {})", bits);
    }
    if (base == EVP_PKEY_EC) {
        char curve[64] = {0};
        std::size_t len = 0;
        ::EVP_PKEY_get_group_name(key.get(), curve, sizeof curve, &len);
        std::string_view c(curve, len);
        if (c != "prime256v1" && c != "secp384r1" && c != "secp521r1") {
            return fail(ErrorCode::invalid_argument, "EC keys must be on P-256, P-384 or P-521, not {}", c);
        }
    } else if (base != EVP_PKEY_RSA && base != EVP_PKEY_ED25519) {
        return fail(ErrorCode::invalid_argument, "unsupported key type in the CSR");
    }
    AcceptedCsr out{std::move(key), {}};
    const X509_NAME* subject = ::X509_REQ_get_subject_name(req.get());
    if (::X509_NAME_entry_count(subject) > 0) {
        out.ignored.push_back("subject " + name_to_string(subject) + " (the registered subject is used)");
    }
    std::unique_ptr<STACK_OF(X509_EXTENSION), Free<&free_extensions>> exts(::X509_REQ_get_extensions(req.get()));
    for (int i = 0; exts && i < sk_X509_EXTENSION_num(exts.get()); ++i) {
        X509_EXTENSION* e = sk_X509_EXTENSION_value(exts.get(), i);
        std::string name = oid_text(::X509_EXTENSION_get_object(e));
        if (::X509_EXTENSION_get_critical(e) != 0) {
            return fail(ErrorCode::invalid_argument,
                        "the CSR requests critical extension {}; extensions come from the profile, "
                        "so it cannot be honoured",
                        name);
        }
        out.ignored.push_back("requested extension " + name + " (extensions come from the profile)");
    }
    clear_errors();
    return out;
}

}  // namespace selo::pki
