#include "store/sql_util.hpp"

namespace selo::store::sql {

std::string_view digest_label(crypto::DigestAlgorithm a) {
    switch (a) {
        case crypto::DigestAlgorithm::sha1: return "sha1";
        case crypto::DigestAlgorithm::sha256: return "sha256";
        case crypto::DigestAlgorithm::sha384: return "sha384";
        case crypto::DigestAlgorithm::sha512: return "sha512";
    }
    return "sha256";
}

Result<crypto::DigestAlgorithm> digest_from_label(std::string_view s) {
    for (auto a : {crypto::DigestAlgorithm::sha1, crypto::DigestAlgorithm::sha256,
                   crypto::DigestAlgorithm::sha384, crypto::DigestAlgorithm::sha512}) {
        if (digest_label(a) == s) {
            return a;
        }
    }
    return fail(ErrorCode::internal, "unknown digest label '{}' in the database", s);
}

}  // namespace selo::store::sql
