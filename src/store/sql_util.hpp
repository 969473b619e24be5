#pragma once
// Conversions shared by the SQL repositories.

#include "core/bytes.hpp"
#include "core/clock.hpp"
#include "crypto/digest.hpp"
#include "store/database.hpp"

namespace selo::store::sql {

inline std::int64_t secs(TimePoint t) { return unix_seconds(t); }
inline TimePoint at(std::int64_t s) { return from_unix_seconds(s); }
inline Bytes blob(ByteView v) { return Bytes(v.begin(), v.end()); }

// Stable names of digest algorithms in the database.
std::string_view digest_label(crypto::DigestAlgorithm a);
Result<crypto::DigestAlgorithm> digest_from_label(std::string_view s);

}  // namespace selo::store::sql
