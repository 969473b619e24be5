#pragma once
// A Merkle tree verifier written for the tests from RFC 9162 §2.1 alone: its own hashing
// (OpenSSL's one-shot SHA256), MTH from the definition, and the §2.1.3.2 / §2.1.4.2
// verification algorithms step by step. It shares no code with src/translog, so Selo's proofs
// are judged by something that did not make them.

#include <openssl/sha.h>

#include <array>
#include <cstdint>
#include <vector>

namespace selo::translog::rfc9162 {

using Digest = std::array<std::uint8_t, 32>;

inline Digest sha(std::uint8_t prefix, const std::vector<std::uint8_t>& a, const std::vector<std::uint8_t>& b = {}) {
    std::vector<std::uint8_t> in{prefix};
    in.insert(in.end(), a.begin(), a.end());
    in.insert(in.end(), b.begin(), b.end());
    Digest d{};
    ::SHA256(in.data(), in.size(), d.data());
    return d;
}
inline std::vector<std::uint8_t> vec(const Digest& d) { return {d.begin(), d.end()}; }
inline Digest leaf(const std::vector<std::uint8_t>& data) { return sha(0x00, data); }
inline Digest node(const Digest& l, const Digest& r) { return sha(0x01, vec(l), vec(r)); }

// RFC 9162 §2.1.1 MTH, directly from the definition.
inline Digest mth(const std::vector<Digest>& leaves, std::size_t lo, std::size_t hi) {
    std::size_t n = hi - lo;
    if (n == 0) {
        Digest d{};
        ::SHA256(nullptr, 0, d.data());
        return d;
    }
    if (n == 1) {
        return leaves[lo];
    }
    std::size_t k = 1;
    while (k * 2 < n) {
        k *= 2;
    }
    return node(mth(leaves, lo, lo + k), mth(leaves, lo + k, hi));
}

// RFC 9162 §2.1.3.2, step by step.
inline bool rfc_verify_inclusion(std::uint64_t leaf_index, std::uint64_t tree_size, Digest r,
                          const std::vector<Digest>& inclusion_path, const Digest& root) {
    if (leaf_index >= tree_size) {
        return false;
    }
    std::uint64_t fn = leaf_index, sn = tree_size - 1;
    for (const auto& p : inclusion_path) {
        if (sn == 0) {
            return false;
        }
        if (fn % 2 == 1 || fn == sn) {
            r = node(p, r);
            if (fn % 2 == 0) {
                while (fn % 2 == 0 && fn != 0) {
                    fn /= 2;
                    sn /= 2;
                }
            }
        } else {
            r = node(r, p);
        }
        fn /= 2;
        sn /= 2;
    }
    return sn == 0 && r == root;
}

// RFC 9162 §2.1.4.2, step by step.
inline bool rfc_verify_consistency(std::uint64_t first, std::uint64_t second, const Digest& first_hash,
                            const Digest& second_hash, std::vector<Digest> path) {
    if (path.empty()) {
        return false;
    }
    if ((first & (first - 1)) == 0) {
        path.insert(path.begin(), first_hash);
    }
    std::uint64_t fn = first - 1, sn = second - 1;
    while (fn % 2 == 1) {
        fn /= 2;
        sn /= 2;
    }
    Digest fr = path[0], sr = path[0];
    for (std::size_t i = 1; i < path.size(); ++i) {
        const Digest& c = path[i];
        if (sn == 0) {
            return false;
        }
        if (fn % 2 == 1 || fn == sn) {
            fr = node(c, fr);
            sr = node(c, sr);
            if (fn % 2 == 0) {
                while (fn % 2 == 0 && fn != 0) {
                    fn /= 2;
                    sn /= 2;
                }
            }
        } else {
            sr = node(sr, c);
        }
        fn /= 2;
        sn /= 2;
    }
    return fr == first_hash && sr == second_hash && sn == 0;
}

}  // namespace selo::translog::rfc9162
