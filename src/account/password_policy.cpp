#include "account/password_policy.hpp"

#include <algorithm>
#include <cctype>
#include <fstream>
#include <set>

namespace selo::account {
namespace {

std::string lower(std::string_view s) {
    std::string out(s);
    std::transform(out.begin(), out.end(), out.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    return out;
}

// Only letters and digits, lower-case: "5215299(8)" -> "52152998", "chan.taiman" -> "chantaiman".
std::string alnum_lower(std::string_view s) {
    std::string out;
    for (unsigned char c : s) {
        if (std::isalnum(c)) {
            out.push_back(static_cast<char>(std::tolower(c)));
        }
    }
    return out;
}

std::size_t char_count(std::string_view s) {
    return static_cast<std::size_t>(std::count_if(
        s.begin(), s.end(), [](char c) { return (static_cast<unsigned char>(c) & 0xc0) != 0x80; }));
}

}  // namespace

Result<PasswordPolicy> PasswordPolicy::load(const std::filesystem::path& file) {
    std::ifstream in(file);
    if (!in) {
        return fail(ErrorCode::not_found,
                    "the common-password list {} cannot be read (Debian package john-data, or set "
                    "[accounts] common_passwords in selo.toml)",
                    file.string());
    }
    PasswordPolicy p;
    std::string line;
    while (std::getline(in, line)) {
        while (!line.empty() && (line.back() == '\r' || line.back() == '\n')) {
            line.pop_back();
        }
        if (line.empty() || line.starts_with("#!comment:")) {
            continue;
        }
        p.common_.insert(lower(line));
    }
    if (p.common_.empty()) {
        return fail(ErrorCode::invalid_argument, "the common-password list {} is empty", file.string());
    }
    return p;
}

Result<void> PasswordPolicy::check(std::string_view password, std::string_view username,
                                   std::string_view id_number) const {
    const std::size_t n = char_count(password);
    if (n < kMinimumLength) {
        return fail(ErrorCode::invalid_argument,
                    "the password must have at least {} characters (it has {})", kMinimumLength, n);
    }
    if (password.size() > kMaximumLength) {
        return fail(ErrorCode::invalid_argument, "the password must have at most {} bytes",
                    kMaximumLength);
    }
    for (unsigned char c : password) {
        if (c < 0x20 || c == 0x7f) {
            return fail(ErrorCode::invalid_argument, "the password must not hold control characters");
        }
    }
    std::set<char> distinct(password.begin(), password.end());
    if (distinct.size() < 5) {
        return fail(ErrorCode::invalid_argument,
                    "the password is too easy to guess: use at least 5 different characters");
    }
    const std::string l = lower(password);
    // "Password123456!" is "password" with decoration: strip leading and trailing digits and
    // punctuation before looking the core up.
    std::size_t b = 0, e = l.size();
    auto decoration = [](unsigned char c) { return std::isdigit(c) || std::ispunct(c) || c == ' '; };
    while (b < e && decoration(static_cast<unsigned char>(l[b]))) {
        ++b;
    }
    while (e > b && decoration(static_cast<unsigned char>(l[e - 1]))) {
        --e;
    }
    const std::string core = l.substr(b, e - b);
    if (common_.contains(l) || (!core.empty() && common_.contains(core))) {
        return fail(ErrorCode::invalid_argument,
                    "the password is on a list of common or breached passwords: choose another");
    }
    const std::string flat = alnum_lower(password);
    const std::string user = alnum_lower(username);
    const std::string id = alnum_lower(id_number);
    if (user.size() >= 3 && (flat.find(user) != std::string::npos || l.find(lower(username)) != std::string::npos)) {
        return fail(ErrorCode::invalid_argument, "the password must not contain the username");
    }
    // Also the username's parts ("chan", "taiman") when they are long enough to mean something.
    for (std::size_t start = 0; start <= username.size();) {
        std::size_t dot = username.find_first_of(".-_", start);
        std::string part = alnum_lower(username.substr(start, dot == std::string_view::npos ? username.npos : dot - start));
        if (part.size() >= 4 && flat.find(part) != std::string::npos) {
            return fail(ErrorCode::invalid_argument,
                        "the password must not contain the username or a part of it ('{}')", part);
        }
        if (dot == std::string_view::npos) {
            break;
        }
        start = dot + 1;
    }
    // "5215299(8)": the number without its check digit counts too.
    const std::string id_base = alnum_lower(id_number.substr(0, id_number.find('(')));
    if ((id.size() >= 4 && flat.find(id) != std::string::npos) ||
        (id_base.size() >= 4 && flat.find(id_base) != std::string::npos)) {
        return fail(ErrorCode::invalid_argument,
                    "the password must not contain the identity document number");
    }
    return {};
}

}  // namespace selo::account
