#pragma once
// The password policy for account holders' own passwords: at least 12 characters, not a common
// or breached-style password (a word list such as John the Ripper's password.lst, loaded once),
// and not containing the username or the identity document number.

#include <filesystem>
#include <string>
#include <string_view>
#include <unordered_set>

#include "core/error.hpp"

namespace selo::account {

class PasswordPolicy {
public:
    static constexpr std::size_t kMinimumLength = 12;
    static constexpr std::size_t kMaximumLength = 256;

    // Only the length and personal-data rules (no word list).
    PasswordPolicy() = default;
    // Loads the word list (one password per line; lines starting "#!comment:" are skipped).
    static Result<PasswordPolicy> load(const std::filesystem::path& common_passwords);

    // ErrorCode::invalid_argument with the reason when `password` is not acceptable for the
    // account `username` holding identity document `id_number`.
    [[nodiscard]] Result<void> check(std::string_view password, std::string_view username,
                                     std::string_view id_number) const;

    [[nodiscard]] std::size_t common_count() const noexcept { return common_.size(); }

private:
    std::unordered_set<std::string> common_;  // lower-case
};

}  // namespace selo::account
