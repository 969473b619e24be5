#include "translog/merkle.hpp"

#include <openssl/evp.h>

#include <algorithm>

#include "crypto/digest.hpp"
#include "crypto/openssl.hpp"

namespace selo::translog {
namespace {

Hash sha256_parts(std::uint8_t prefix, ByteView a, ByteView b) {
    Hash out{};
    // One context per thread, reset by each EVP_DigestInit_ex: a tree of n leaves hashes n - 1
    // nodes, and the log hashes every entry it appends.
    thread_local crypto::EvpMdCtxPtr ctx(::EVP_MD_CTX_new());
    unsigned int len = 0;
    // SHA-256 cannot fail on valid inputs; a failure here is a broken OpenSSL, not bad input.
    if (!ctx || ::EVP_DigestInit_ex(ctx.get(), crypto::evp_md(crypto::DigestAlgorithm::sha256), nullptr) != 1 ||
        ::EVP_DigestUpdate(ctx.get(), &prefix, 1) != 1 || ::EVP_DigestUpdate(ctx.get(), a.data(), a.size()) != 1 ||
        ::EVP_DigestUpdate(ctx.get(), b.data(), b.size()) != 1 || ::EVP_DigestFinal_ex(ctx.get(), out.data(), &len) != 1) {
        std::abort();
    }
    return out;
}

// The largest power of two smaller than n (n > 1).
std::uint64_t split(std::uint64_t n) {
    std::uint64_t k = 1;
    while (k << 1 < n) {
        k <<= 1;
    }
    return k;
}

void subproof(std::uint64_t m, std::span<const Hash> d, bool complete, std::vector<Hash>& out) {
    const std::uint64_t n = d.size();
    if (m == n) {
        if (!complete) {
            out.push_back(root_hash(d));
        }
        return;
    }
    const std::uint64_t k = split(n);
    if (m <= k) {
        subproof(m, d.first(k), complete, out);
        out.push_back(root_hash(d.subspan(k)));
    } else {
        subproof(m - k, d.subspan(k), false, out);
        out.push_back(root_hash(d.first(k)));
    }
}

}  // namespace

Hash leaf_hash(ByteView leaf) { return sha256_parts(0x00, leaf, {}); }

Hash node_hash(const Hash& left, const Hash& right) { return sha256_parts(0x01, view(left), view(right)); }

Hash root_hash(std::span<const Hash> leaves) {
    if (leaves.empty()) {
        Hash out{};
        unsigned int len = 0;
        ::EVP_Digest(nullptr, 0, out.data(), &len, ::EVP_sha256(), nullptr);
        return out;
    }
    if (leaves.size() == 1) {
        return leaves[0];
    }
    const std::uint64_t k = split(leaves.size());
    return node_hash(root_hash(leaves.first(k)), root_hash(leaves.subspan(k)));
}

std::vector<Hash> inclusion_path(std::uint64_t index, std::span<const Hash> leaves) {
    std::vector<Hash> out;
    // Built leaf-first: the recursion of §2.1.3.1 appends the sibling after the deeper path.
    std::span<const Hash> d = leaves;
    std::vector<Hash> reversed;
    while (d.size() > 1) {
        const std::uint64_t k = split(d.size());
        if (index < k) {
            reversed.push_back(root_hash(d.subspan(k)));
            d = d.first(k);
        } else {
            reversed.push_back(root_hash(d.first(k)));
            d = d.subspan(k);
            index -= k;
        }
    }
    out.assign(reversed.rbegin(), reversed.rend());
    return out;
}

std::vector<Hash> consistency_path(std::uint64_t first, std::span<const Hash> leaves) {
    std::vector<Hash> out;
    if (first == 0 || first > leaves.size()) {
        return out;
    }
    subproof(first, leaves, true, out);
    return out;
}

bool verify_inclusion(std::uint64_t index, std::uint64_t tree_size, const Hash& leaf,
                      std::span<const Hash> path, const Hash& root) {
    if (index >= tree_size) {
        return false;
    }
    std::uint64_t fn = index;
    std::uint64_t sn = tree_size - 1;
    Hash r = leaf;
    for (const Hash& p : path) {
        if (sn == 0) {
            return false;
        }
        if ((fn & 1) != 0 || fn == sn) {
            r = node_hash(p, r);
            while ((fn & 1) == 0 && fn != 0) {
                fn >>= 1;
                sn >>= 1;
            }
        } else {
            r = node_hash(r, p);
        }
        fn >>= 1;
        sn >>= 1;
    }
    return sn == 0 && r == root;
}

bool verify_consistency(std::uint64_t first, std::uint64_t second, const Hash& first_root,
                        const Hash& second_root, std::span<const Hash> proof) {
    if (first > second) {
        return false;
    }
    if (first == second) {
        return proof.empty() && first_root == second_root;
    }
    if (first == 0) {
        return proof.empty();
    }
    if (proof.empty()) {
        return false;
    }
    std::vector<Hash> path;
    if ((first & (first - 1)) == 0) {
        path.push_back(first_root);
    }
    path.insert(path.end(), proof.begin(), proof.end());
    std::uint64_t fn = first - 1;
    std::uint64_t sn = second - 1;
    while ((fn & 1) != 0) {
        fn >>= 1;
        sn >>= 1;
    }
    Hash fr = path[0];
    Hash sr = path[0];
    for (std::size_t i = 1; i < path.size(); ++i) {
        const Hash& c = path[i];
        if (sn == 0) {
            return false;
        }
        if ((fn & 1) != 0 || fn == sn) {
            fr = node_hash(c, fr);
            sr = node_hash(c, sr);
            while ((fn & 1) == 0 && fn != 0) {
                fn >>= 1;
                sn >>= 1;
            }
        } else {
            sr = node_hash(sr, c);
        }
        fn >>= 1;
        sn >>= 1;
    }
    return fr == first_root && sr == second_root && sn == 0;
}

std::optional<Hash> hash_from_bytes(ByteView bytes) {
    if (bytes.size() != 32) {
        return std::nullopt;
    }
    Hash h{};
    std::copy(bytes.begin(), bytes.end(), h.begin());
    return h;
}

}  // namespace selo::translog
