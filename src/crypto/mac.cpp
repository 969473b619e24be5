#include "crypto/mac.hpp"

#include <openssl/hmac.h>

#include <cstdlib>

namespace selo::crypto {

Bytes hmac(DigestAlgorithm alg, ByteView key, ByteView data) {
    Bytes out(EVP_MAX_MD_SIZE);
    unsigned int len = 0;
    static const std::uint8_t empty = 0;
    if (::HMAC(evp_md(alg), key.empty() ? &empty : key.data(), static_cast<int>(key.size()),
               data.empty() ? &empty : data.data(), data.size(), out.data(), &len) == nullptr) {
        std::abort();  // only fails on allocation failure or an unavailable digest
    }
    out.resize(len);
    return out;
}

}  // namespace selo::crypto
