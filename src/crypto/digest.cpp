#include "crypto/digest.hpp"

#include <cstdlib>

namespace selo::crypto {

const EVP_MD* evp_md(DigestAlgorithm alg) noexcept {
    switch (alg) {
        case DigestAlgorithm::sha1: return ::EVP_sha1();
        case DigestAlgorithm::sha256: return ::EVP_sha256();
        case DigestAlgorithm::sha384: return ::EVP_sha384();
        case DigestAlgorithm::sha512: return ::EVP_sha512();
    }
    return ::EVP_sha256();
}

std::size_t digest_size(DigestAlgorithm alg) noexcept {
    switch (alg) {
        case DigestAlgorithm::sha1: return 20;
        case DigestAlgorithm::sha256: return 32;
        case DigestAlgorithm::sha384: return 48;
        case DigestAlgorithm::sha512: return 64;
    }
    return 32;
}

std::string_view digest_oid(DigestAlgorithm alg) noexcept {
    switch (alg) {
        case DigestAlgorithm::sha1: return "1.3.14.3.2.26";
        case DigestAlgorithm::sha256: return "2.16.840.1.101.3.4.2.1";
        case DigestAlgorithm::sha384: return "2.16.840.1.101.3.4.2.2";
        case DigestAlgorithm::sha512: return "2.16.840.1.101.3.4.2.3";
    }
    return "";
}

std::string_view digest_name(DigestAlgorithm alg) noexcept {
    switch (alg) {
        case DigestAlgorithm::sha1: return "SHA-1";
        case DigestAlgorithm::sha256: return "SHA-256";
        case DigestAlgorithm::sha384: return "SHA-384";
        case DigestAlgorithm::sha512: return "SHA-512";
    }
    return "";
}

std::optional<DigestAlgorithm> digest_from_oid(std::string_view oid) noexcept {
    for (auto alg : {DigestAlgorithm::sha1, DigestAlgorithm::sha256, DigestAlgorithm::sha384,
                     DigestAlgorithm::sha512}) {
        if (digest_oid(alg) == oid) {
            return alg;
        }
    }
    return std::nullopt;
}

Hasher::Hasher(DigestAlgorithm alg) : alg_(alg), ctx_(::EVP_MD_CTX_new()) {
    // Failure here means OpenSSL itself is unusable (allocation failure): a broken invariant.
    if (!ctx_ || ::EVP_DigestInit_ex(ctx_.get(), evp_md(alg), nullptr) != 1) {
        std::abort();
    }
}

void Hasher::update(ByteView data) {
    if (!data.empty() && ::EVP_DigestUpdate(ctx_.get(), data.data(), data.size()) != 1) {
        std::abort();
    }
}

Bytes Hasher::finish() {
    Bytes out(digest_size(alg_));
    unsigned int len = 0;
    if (::EVP_DigestFinal_ex(ctx_.get(), out.data(), &len) != 1) {
        std::abort();
    }
    out.resize(len);
    return out;
}

Bytes digest(DigestAlgorithm alg, ByteView data) {
    Hasher h(alg);
    h.update(data);
    return h.finish();
}

}  // namespace selo::crypto
