#include "core/error.hpp"

namespace selo {

std::string_view to_string(ErrorCode code) noexcept {
    switch (code) {
        case ErrorCode::malformed: return "malformed";
        case ErrorCode::invalid_argument: return "invalid_argument";
        case ErrorCode::unauthorized: return "unauthorized";
        case ErrorCode::forbidden: return "forbidden";
        case ErrorCode::not_found: return "not_found";
        case ErrorCode::conflict: return "conflict";
        case ErrorCode::expired: return "expired";
        case ErrorCode::unsupported: return "unsupported";
        case ErrorCode::too_large: return "too_large";
        case ErrorCode::unavailable: return "unavailable";
        case ErrorCode::internal: return "internal";
    }
    return "internal";
}

}  // namespace selo
