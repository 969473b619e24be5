#include "api/json_fields.hpp"

#include <algorithm>

namespace selo::api {
namespace json = boost::json;

Result<std::string> optional_string(const json::object& o, std::string_view name) {
    const json::value* v = o.if_contains(name);
    if (v == nullptr || v->is_null()) {
        return std::string();
    }
    if (!v->is_string()) {
        return fail(ErrorCode::malformed, "'{}' must be a string", name);
    }
    return std::string(v->as_string());
}

Result<std::optional<std::string>> string_if_present(const json::object& o, std::string_view name) {
    const json::value* v = o.if_contains(name);
    if (v == nullptr) {
        return std::optional<std::string>();
    }
    if (!v->is_string()) {
        return fail(ErrorCode::malformed, "'{}' must be a string", name);
    }
    return std::optional<std::string>(std::string(v->as_string()));
}

Result<std::string> required_string(const json::object& o, std::string_view name) {
    const json::value* v = o.if_contains(name);
    if (v == nullptr || !v->is_string() || v->as_string().empty()) {
        return fail(ErrorCode::malformed, "'{}' is required and must be a non-empty string", name);
    }
    return std::string(v->as_string());
}

Result<bool> optional_bool(const json::object& o, std::string_view name, bool fallback) {
    const json::value* v = o.if_contains(name);
    if (v == nullptr) {
        return fallback;
    }
    if (!v->is_bool()) {
        return fail(ErrorCode::malformed, "'{}' must be true or false", name);
    }
    return v->as_bool();
}

Result<void> only_members(const json::object& o, std::initializer_list<std::string_view> known,
                          std::string_view where) {
    for (const auto& member : o) {
        const std::string_view key = member.key();
        if (std::find(known.begin(), known.end(), key) == known.end()) {
            if (where.empty()) {
                return fail(ErrorCode::malformed, "unknown member '{}'", key);
            }
            return fail(ErrorCode::malformed, "{}: unknown member '{}'", where, key);
        }
    }
    return {};
}

}  // namespace selo::api
