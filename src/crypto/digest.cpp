#include "crypto/digest.hpp"

#include <openssl/err.h>

#include <cstdlib>

namespace selo::crypto {

namespace {
// Fetched once and kept for the process: with EVP_sha256() and friends, OpenSSL 3 fetches the
// implementation again on every EVP_DigestInit_ex (a lookup under a lock shared by all
// threads), which costs more than hashing a few hundred octets. The legacy object is the
// fallback when fetching fails.
const EVP_MD* fetched(const char* name, const EVP_MD* legacy) noexcept {
    EVP_MD* md = ::EVP_MD_fetch(nullptr, name, nullptr);
    if (md == nullptr) {
        ::ERR_clear_error();
        return legacy;
    }
    return md;
}
}  // namespace

const EVP_MD* evp_md(DigestAlgorithm alg) noexcept {
    static const EVP_MD* const sha1 = fetched("SHA1", ::EVP_sha1());
    static const EVP_MD* const sha256 = fetched("SHA256", ::EVP_sha256());
    static const EVP_MD* const sha384 = fetched("SHA384", ::EVP_sha384());
    static const EVP_MD* const sha512 = fetched("SHA512", ::EVP_sha512());
    switch (alg) {
        case DigestAlgorithm::sha1: return sha1;
        case DigestAlgorithm::sha256: return sha256;
        case DigestAlgorithm::sha384: return sha384;
        case DigestAlgorithm::sha512: return sha512;
    }
    return sha256;
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
