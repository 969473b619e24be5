#pragma once
// Selo's one internal error type: a transport-neutral code plus a message meant for the caller.
// Only the HTTP edge turns codes into statuses and protocol-specific error shapes.

#include <expected>
#include <string>
#include <string_view>
#include <utility>

#include <fmt/format.h>

namespace selo {

enum class ErrorCode {
    malformed,          // the input does not parse or breaks a syntactic rule
    invalid_argument,   // the input parses but a value is not acceptable
    unauthorized,       // the caller is not authenticated (bad or missing credentials)
    forbidden,          // authenticated, but not allowed to do this
    not_found,          // the named thing does not exist (or is not visible to the caller)
    conflict,           // the thing already exists, or the state does not allow the action
    expired,            // a token, authorisation or certificate is past its lifetime
    unsupported,        // a valid request for something Selo does not (yet) do
    too_large,          // the input exceeds a configured limit
    unavailable,        // a dependency is temporarily unavailable (database busy, peer down)
    internal,           // a broken invariant or an unexpected library failure
};

// Short stable name of a code, e.g. "not_found".
std::string_view to_string(ErrorCode code) noexcept;

struct Error {
    ErrorCode code = ErrorCode::internal;
    std::string message;

    Error() = default;
    Error(ErrorCode c, std::string m) : code(c), message(std::move(m)) {}

    // Prefixes the message with context ("loading CA key: ...").
    [[nodiscard]] Error context(std::string_view what) const {
        return Error{code, fmt::format("{}: {}", what, message)};
    }
};

template <typename T>
using Result = std::expected<T, Error>;

// Builds an unexpected Error with a formatted message.
template <typename... Args>
[[nodiscard]] std::unexpected<Error> fail(ErrorCode code, fmt::format_string<Args...> f,
                                          Args&&... args) {
    return std::unexpected(Error{code, fmt::format(f, std::forward<Args>(args)...)});
}

[[nodiscard]] inline std::unexpected<Error> fail(Error e) { return std::unexpected(std::move(e)); }

}  // namespace selo

#define SELO_CONCAT_INNER_(a, b) a##b
#define SELO_CONCAT_(a, b) SELO_CONCAT_INNER_(a, b)

// Propagates an error from an expression returning Result<T>; evaluates to the value otherwise.
// Uses a GNU statement expression, which GCC and Clang both support.
#define SELO_TRY(expr) SELO_TRY_IMPL_(expr, SELO_CONCAT_(selo_try_, __COUNTER__))
#define SELO_TRY_IMPL_(expr, var)                                              \
    __extension__({                                                            \
        auto&& var = (expr);                                                   \
        if (!var) {                                                            \
            return ::std::unexpected(std::move(var).error());                  \
        }                                                                      \
        std::move(var).value();                                                \
    })

// Propagates an error from an expression returning Result<void>.
#define SELO_TRY_VOID(expr) SELO_TRY_VOID_IMPL_(expr, SELO_CONCAT_(selo_try_, __COUNTER__))
#define SELO_TRY_VOID_IMPL_(expr, var)                                         \
    do {                                                                       \
        auto&& var = (expr);                                                   \
        if (!var) {                                                            \
            return ::std::unexpected(std::move(var).error());                  \
        }                                                                      \
    } while (false)
