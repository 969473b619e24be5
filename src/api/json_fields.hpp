#pragma once
// Reading members of a JSON request object for the /api/v1 routes, with the same error wording
// everywhere (ErrorCode::malformed, rendered as a 400 problem). CSC keeps its own wording, which
// the CSC specification's error descriptions dictate.

#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>

#include <boost/json.hpp>

#include "core/error.hpp"

namespace selo::api {

// A member that must be present as a non-empty string.
[[nodiscard]] Result<std::string> required_string(const boost::json::object& o, std::string_view name);
// A string member; absent or null reads as the empty string.
[[nodiscard]] Result<std::string> optional_string(const boost::json::object& o, std::string_view name);
// A string member that may be left out (std::nullopt); when present it must be a string: null
// or another type is an error naming the member and the type, never read as left out.
[[nodiscard]] Result<std::optional<std::string>> string_if_present(const boost::json::object& o,
                                                                   std::string_view name);
// A boolean member; absent reads as `fallback`.
[[nodiscard]] Result<bool> optional_bool(const boost::json::object& o, std::string_view name, bool fallback);
// Refuses members the operation does not know, so that a typo is not silently dropped; `where`
// (e.g. "attachments[2]") prefixes the message when not empty.
[[nodiscard]] Result<void> only_members(const boost::json::object& o,
                                        std::initializer_list<std::string_view> known,
                                        std::string_view where = {});

}  // namespace selo::api
