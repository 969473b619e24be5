#pragma once
// The Merkle tree of RFC 9162 §2.1 (Certificate Transparency 2.0): SHA-256, leaves hashed with
// a 0x00 prefix and interior nodes with 0x01, the tree over any number of leaves, audit paths
// and consistency proofs, and their verification.

#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "core/bytes.hpp"

namespace selo::translog {

using Hash = std::array<std::uint8_t, 32>;

// RFC 9162 §2.1.1: SHA-256(0x00 || leaf).
[[nodiscard]] Hash leaf_hash(ByteView leaf);
// SHA-256(0x01 || left || right).
[[nodiscard]] Hash node_hash(const Hash& left, const Hash& right);
// MTH over the leaf hashes (SHA-256 of nothing for an empty tree).
[[nodiscard]] Hash root_hash(std::span<const Hash> leaves);
// RFC 9162 §2.1.3.1 PATH(index, leaves): the audit path of one leaf; index < leaves.size().
[[nodiscard]] std::vector<Hash> inclusion_path(std::uint64_t index, std::span<const Hash> leaves);
// RFC 9162 §2.1.4.1 PROOF(first, leaves): 0 < first <= leaves.size().
[[nodiscard]] std::vector<Hash> consistency_path(std::uint64_t first, std::span<const Hash> leaves);

// RFC 9162 §2.1.3.2.
[[nodiscard]] bool verify_inclusion(std::uint64_t index, std::uint64_t tree_size, const Hash& leaf,
                                    std::span<const Hash> path, const Hash& root);
// RFC 9162 §2.1.4.2; equal sizes need an empty proof and equal roots.
[[nodiscard]] bool verify_consistency(std::uint64_t first, std::uint64_t second, const Hash& first_root,
                                      const Hash& second_root, std::span<const Hash> proof);

[[nodiscard]] std::optional<Hash> hash_from_bytes(ByteView bytes);
[[nodiscard]] inline ByteView view(const Hash& h) { return ByteView(h.data(), h.size()); }

}  // namespace selo::translog
