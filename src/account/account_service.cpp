#include "account/account_service.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <vector>

#include "core/country.hpp"
#include "core/log.hpp"
#include "crypto/aead.hpp"
#include "crypto/digest.hpp"
#include "otp/otp.hpp"

namespace selo::account {
namespace {

std::string trim(std::string_view s) {
    auto is_space = [](unsigned char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; };
    while (!s.empty() && is_space(static_cast<unsigned char>(s.front()))) {
        s.remove_prefix(1);
    }
    while (!s.empty() && is_space(static_cast<unsigned char>(s.back()))) {
        s.remove_suffix(1);
    }
    // Collapse inner runs of spaces: names typed at a counter often carry doubles.
    std::string out;
    bool space = false;
    for (char c : s) {
        if (c == ' ' || c == '\t') {
            space = true;
            continue;
        }
        if (space && !out.empty()) {
            out.push_back(' ');
        }
        space = false;
        out.push_back(c);
    }
    return out;
}

bool valid_utf8_text(std::string_view s) {
    std::size_t i = 0;
    while (i < s.size()) {
        auto c = static_cast<unsigned char>(s[i]);
        if (c < 0x80) {
            if (c < 0x20 || c == 0x7f) {
                return false;
            }
            ++i;
            continue;
        }
        std::size_t len = (c & 0xe0) == 0xc0 ? 2 : (c & 0xf0) == 0xe0 ? 3 : (c & 0xf8) == 0xf0 ? 4 : 0;
        if (len == 0 || i + len > s.size()) {
            return false;
        }
        for (std::size_t k = 1; k < len; ++k) {
            if ((static_cast<unsigned char>(s[i + k]) & 0xc0) != 0x80) {
                return false;
            }
        }
        i += len;
    }
    return true;
}

std::size_t char_count(std::string_view s) {
    return static_cast<std::size_t>(std::count_if(
        s.begin(), s.end(), [](char c) { return (static_cast<unsigned char>(c) & 0xc0) != 0x80; }));
}

std::vector<std::string> split_words(std::string_view s) {
    std::vector<std::string> out;
    std::string cur;
    for (char c : s) {
        if (c == ' ') {
            if (!cur.empty()) {
                out.push_back(cur);
            }
            cur.clear();
        } else {
            cur.push_back(c);
        }
    }
    if (!cur.empty()) {
        out.push_back(cur);
    }
    return out;
}

bool is_upper_word(std::string_view w) {
    bool letter = false;
    for (unsigned char c : w) {
        if (c >= 'a' && c <= 'z') {
            return false;
        }
        if (c >= 'A' && c <= 'Z') {
            letter = true;
        }
    }
    return letter && w.size() >= 2;
}

// Decodes UTF-8 (already validated) into code points.
std::vector<char32_t> code_points(std::string_view s) {
    std::vector<char32_t> out;
    for (std::size_t i = 0; i < s.size();) {
        auto c = static_cast<unsigned char>(s[i]);
        std::size_t len = c < 0x80 ? 1 : (c & 0xe0) == 0xc0 ? 2 : (c & 0xf0) == 0xe0 ? 3 : 4;
        char32_t cp = len == 1 ? c : len == 2 ? (c & 0x1f) : len == 3 ? (c & 0x0f) : (c & 0x07);
        for (std::size_t k = 1; k < len && i + k < s.size(); ++k) {
            cp = (cp << 6) | (static_cast<unsigned char>(s[i + k]) & 0x3f);
        }
        out.push_back(cp);
        i += len;
    }
    return out;
}

// Invisible formatting characters (zero-width, bidirectional overrides, BOM, soft hyphen) can
// make a name display as something else (Unicode TR36 §2): no name may hold them.
bool is_invisible_format(char32_t c) {
    return c == 0x00ad || c == 0x061c || c == 0x180e || (c >= 0x200b && c <= 0x200f) ||
           (c >= 0x202a && c <= 0x202e) || (c >= 0x2060 && c <= 0x2064) ||
           (c >= 0x2066 && c <= 0x2069) || c == 0xfeff || (c >= 0xfff9 && c <= 0xfffb) ||
           (c >= 0xe000 && c <= 0xf8ff);
}

bool is_latin_letter(char32_t c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
           (c >= 0x00c0 && c <= 0x024f && c != 0x00d7 && c != 0x00f7) ||
           (c >= 0x1e00 && c <= 0x1eff);
}

Result<void> check_latin(std::string_view field, std::string_view value) {
    bool letter = false;
    for (char32_t c : code_points(value)) {
        if (is_latin_letter(c)) {
            letter = true;
        } else if (c != ' ' && c != '-' && c != '\'' && c != 0x2019 && c != '.') {
            return fail(ErrorCode::invalid_argument,
                        "{} must be written in Latin letters (with spaces, - ' .): '{}'", field, value);
        }
    }
    if (!letter) {
        return fail(ErrorCode::invalid_argument, "{} has no letters: '{}'", field, value);
    }
    return {};
}

Result<void> check_text(std::string_view field, std::string_view value, std::size_t max_chars) {
    if (value.empty()) {
        return fail(ErrorCode::invalid_argument, "{} is required", field);
    }
    if (!valid_utf8_text(value)) {
        return fail(ErrorCode::invalid_argument, "{} is not valid UTF-8 text", field);
    }
    if (char_count(value) > max_chars) {
        return fail(ErrorCode::invalid_argument, "{} is longer than {} characters", field, max_chars);
    }
    bool letter = false;
    for (char32_t c : code_points(value)) {
        if (is_invisible_format(c)) {
            return fail(ErrorCode::invalid_argument,
                        "{} holds an invisible formatting character (U+{:04X}), which could make "
                        "it display as another name",
                        field, static_cast<std::uint32_t>(c));
        }
        letter = letter || c >= 0x80 || std::isalpha(static_cast<int>(c)) != 0;
    }
    if (!letter) {
        return fail(ErrorCode::invalid_argument, "{} has no letters: '{}'", field, value);
    }
    return {};
}

bool valid_email(std::string_view e) {
    auto at = e.find('@');
    if (at == std::string_view::npos || at == 0 || at != e.rfind('@') || e.size() > 254) {
        return false;
    }
    std::string_view domain = e.substr(at + 1);
    if (domain.size() < 3 || domain.find('.') == std::string_view::npos || domain.front() == '.' ||
        domain.back() == '.' || domain.find("..") != std::string_view::npos) {
        return false;
    }
    for (unsigned char c : e) {
        if (c <= ' ' || c == 0x7f || c == '<' || c == '>' || c == '(' || c == ')' || c == ',' ||
            c == ';' || c == ':' || c == '\\' || c == '"' || c == '[' || c == ']') {
            return false;
        }
    }
    return true;
}

// Unambiguous characters only (no 0/O, 1/l/I), so a password read off a printed slip is typed
// right the first time.
constexpr std::string_view kPasswordAlphabet =
    "abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";

std::string generate_password(Rng& rng) {
    std::string out;
    for (int group = 0; group < 4; ++group) {
        if (group > 0) {
            out.push_back('-');
        }
        for (int i = 0; i < 4; ++i) {
            out.push_back(kPasswordAlphabet[rng.uniform(kPasswordAlphabet.size())]);
        }
    }
    return out;  // 16 symbols from 56: about 93 bits
}

std::string new_account_id(Rng& rng) { return "acc_" + hex_encode(rng.bytes(12)); }

// Accounts whose holder alone may act in them: a person's (SEPBox mailbox, eSignCloud key under
// sole control, design.md) or an institution's (its mailbox, read by its members). Nobody else,
// an administrator included, may get a way to sign in as them.
bool holds_personal_services(const Account& a) {
    return a.has_role(Role::citizen) || a.has_role(Role::institution);
}

}  // namespace

std::string fold_to_ascii(std::string_view latin) {
    // Latin-1 Supplement letters U+00C0..U+00FF to their base letters ('\0': drop).
    using namespace std::string_view_literals;
    static constexpr std::string_view kLatin1 =
        "AAAAAAACEEEEIIII" "DNOOOOO\0OUUUUY\0s" "aaaaaaaceeeeiiii" "\0nooooo\0ouuuuy\0y"sv;
    static_assert(kLatin1.size() == 64);
    std::string out;
    for (std::size_t i = 0; i < latin.size(); ++i) {
        auto c = static_cast<unsigned char>(latin[i]);
        if (c < 0x80) {
            if (std::isalnum(c)) {
                out.push_back(static_cast<char>(std::tolower(c)));
            }
            continue;
        }
        if ((c == 0xc3) && i + 1 < latin.size()) {
            auto c2 = static_cast<unsigned char>(latin[i + 1]);
            unsigned cp = 0xc0 + (c2 & 0x3f);
            if (cp >= 0xc0 && cp <= 0xff) {
                char m = kLatin1[cp - 0xc0];
                if (m != '\0') {
                    out.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(m))));
                }
            }
            ++i;
            continue;
        }
        // Other scripts do not fold: skip the whole multi-byte sequence.
        while (i + 1 < latin.size() && (static_cast<unsigned char>(latin[i + 1]) & 0xc0) == 0x80) {
            ++i;
        }
    }
    return out;
}

Result<Person> normalise_person(Person p) {
    p.name = trim(p.name);
    p.latin_name = trim(p.latin_name);
    p.given_name = trim(p.given_name);
    p.surname = trim(p.surname);
    p.id_number = trim(p.id_number);
    p.email = trim(p.email);
    SELO_TRY_VOID(check_text("name", p.name, 64));
    SELO_TRY_VOID(check_text("latin name", p.latin_name, 64));
    SELO_TRY_VOID(check_latin("latin name", p.latin_name));
    if (p.given_name.empty() && p.surname.empty()) {
        auto words = split_words(p.latin_name);
        // Macao convention: the surname is written in capitals ("CHAN Tai Man"); otherwise
        // the last word is the surname ("João Conceição").
        std::vector<std::string> upper, rest;
        for (const auto& w : words) {
            (is_upper_word(w) && rest.empty() ? upper : rest).push_back(w);
        }
        auto join = [](const std::vector<std::string>& v) {
            std::string s;
            for (const auto& w : v) {
                s += (s.empty() ? "" : " ") + w;
            }
            return s;
        };
        if (!upper.empty() && !rest.empty()) {
            p.surname = join(upper);
            p.given_name = join(rest);
        } else if (words.size() >= 2) {
            p.surname = words.back();
            words.pop_back();
            p.given_name = join(words);
        } else {
            return fail(ErrorCode::invalid_argument,
                        "cannot tell given name from surname in '{}': give both explicitly",
                        p.latin_name);
        }
    }
    SELO_TRY_VOID(check_text("given name", p.given_name, 64));
    SELO_TRY_VOID(check_text("surname", p.surname, 64));
    SELO_TRY_VOID(check_latin("given name", p.given_name));
    SELO_TRY_VOID(check_latin("surname", p.surname));
    if (p.id_number.empty()) {
        return fail(ErrorCode::invalid_argument, "identity document number is required");
    }
    if (p.id_number.size() > 40 ||
        !std::all_of(p.id_number.begin(), p.id_number.end(), [](char ch) {
            auto c = static_cast<unsigned char>(ch);
            return std::isalnum(c) || c == '(' || c == ')' || c == '-' || c == '/';
        })) {
        return fail(ErrorCode::invalid_argument,
                    "identity document number '{}' may only hold letters, digits, ( ) - /",
                    p.id_number);
    }
    if (!is_iso3166_alpha2(p.id_country)) {
        std::string upper = p.id_country;
        for (char& ch : upper) {
            ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
        }
        return fail(ErrorCode::invalid_argument,
                    "document country '{}' is not an ISO 3166-1 alpha-2 code (e.g. MO, PT, CN), which "
                    "certificates name{}",
                    p.id_country,
                    is_iso3166_alpha2(upper) ? fmt::format(": write it in capitals, '{}'", upper) : std::string());
    }
    if (p.email.empty() || !valid_email(p.email)) {
        return fail(ErrorCode::invalid_argument, "'{}' is not a valid e-mail address", p.email);
    }
    return p;
}

AccountService::AccountService(AccountRepository& repo, SessionRepository& sessions,
                               AuditTrail& audit, const crypto::MasterKey& master,
                               const Clock& clock, Rng& rng, AccountServiceOptions options,
                               FailureRepository* failures, ApiClientRepository* clients)
    : repo_(repo), sessions_(sessions), failures_(failures ? *failures : memory_failures_),
      clients_(clients), audit_(audit), clock_(clock), rng_(rng), options_(std::move(options)) {
    auto k = master.derive("selo/otp-secret/v1");
    if (!k) {
        std::abort();
    }
    otp_key_ = std::move(*k);
    auto dummy = crypto::argon2id_hash_password("selo-dummy-password", options_.password_kdf, rng_);
    if (!dummy) {
        std::abort();
    }
    dummy_hash_ = std::move(*dummy);
}

Result<std::string> AccountService::choose_username(const Person& person) {
    std::string base = fold_to_ascii(person.surname);
    std::string given = fold_to_ascii(person.given_name);
    if (!given.empty()) {
        base += (base.empty() ? "" : ".") + given;
    }
    if (base.size() < 3) {
        base = "user" + base;
    }
    base = base.substr(0, 24);
    for (int n = 1; n < 1000; ++n) {
        std::string candidate = n == 1 ? base : fmt::format("{}{}", base, n);
        if (!SELO_TRY(repo_.username_taken(candidate))) {
            return candidate;
        }
    }
    return fmt::format("{}{}", base, rng_.uniform(1'000'000'000));
}

// The password verifier of an account nobody signs in to (not a PHC string: nothing verifies).
constexpr std::string_view kNoSignIn = "!no-sign-in";

Result<NewAccount> AccountService::open(const Person& input, std::vector<Role> roles,
                                        OpenOptions how) {
    Person person = SELO_TRY(normalise_person(input));
    if (roles.empty()) {
        return fail(ErrorCode::invalid_argument, "an account needs at least one role");
    }
    std::sort(roles.begin(), roles.end());
    roles.erase(std::unique(roles.begin(), roles.end()), roles.end());
    if (auto holder = SELO_TRY(repo_.find_by_identity(person.id_type, person.id_country, person.id_number))) {
        // Said to staff only (they open accounts): the person is usually back for a lost slip
        // or password, which the counter resets for the existing account.
        return fail(ErrorCode::conflict,
                    "{} {} ({}) already has an account, {} (username {}). A lost slip or password: "
                    "reset it after checking the document (POST /api/v1/accounts/{}/password-reset)",
                    identity_document_name(person.id_type), person.id_number, person.id_country, holder->id,
                    holder->username, holder->id);
    }
    NewAccount out;
    Account& a = out.account;
    a.id = new_account_id(rng_);
    a.username = SELO_TRY(choose_username(person));
    a.person = person;
    a.roles = std::move(roles);
    a.created_at = clock_.now();
    if (how.sign_in) {
        out.initial_password = generate_password(rng_);
        a.password_hash =
            SELO_TRY(crypto::argon2id_hash_password(out.initial_password, options_.password_kdf, rng_));
    } else {
        a.password_hash = std::string(kNoSignIn);
    }
    a.must_change_password = how.must_change_password;
    if (how.with_authenticator) {
        out.totp_secret = rng_.bytes(20);  // RFC 4226 §4 R6: 160 bits recommended
        std::string aad = "selo/otp-secret/v1/" + a.id;
        a.totp_secret_sealed =
            SELO_TRY(crypto::aead_seal(otp_key_.view(), out.totp_secret, as_bytes(aad), rng_));
        out.otpauth_uri = otp::otpauth_uri(options_.otp_issuer, a.username, out.totp_secret);
    }
    // The repository's unique constraints settle races between two clerks enrolling the same
    // document at once.
    SELO_TRY_VOID(repo_.insert(a));
    return out;
}

Result<Account> AccountService::authenticate(std::string_view username, std::string_view password) {
    auto found = SELO_TRY(repo_.find_by_username(username));
    if (!found) {
        (void)crypto::argon2id_verify_password(password, dummy_hash_);
        audit({"anonymous", "auth.password.failure", std::string(username), "unknown username"});
        return fail(ErrorCode::unauthorized, "unknown username or wrong password");
    }
    const std::string subject = "password:" + found->id;
    SELO_TRY_VOID(check_lock(subject, "the password"));
    if (found->password_hash == kNoSignIn) {
        // An institution's own account: nobody signs in as it. Same answer and cost as a
        // wrong password.
        (void)crypto::argon2id_verify_password(password, dummy_hash_);
        audit({"anonymous", "auth.password.failure", found->id, "an account without sign-in"});
        return fail(ErrorCode::unauthorized, "unknown username or wrong password");
    }
    bool ok = SELO_TRY(crypto::argon2id_verify_password(password, found->password_hash));
    if (!ok) {
        record_failure(subject, "the password", found->id, "auth.password.failure", "wrong password");
        return fail(ErrorCode::unauthorized, "unknown username or wrong password");
    }
    record_success(subject);
    return std::move(*found);
}

Result<void> AccountService::check_lock(std::string_view subject, std::string_view what) {
    auto state = SELO_TRY(failures_.find(subject));
    if (state.locked_until && clock_.now() < *state.locked_until) {
        auto wait = std::chrono::ceil<std::chrono::seconds>(*state.locked_until - clock_.now());
        return fail(ErrorCode::forbidden,
                    "{} is locked after {} failed attempts in a row: try again after {} (in {} "
                    "seconds)",
                    what, state.failures, iso8601(*state.locked_until), wait.count());
    }
    return {};
}

void AccountService::record_failure(std::string_view subject, std::string_view what,
                                    std::string_view actor, std::string_view action,
                                    std::string_view detail) {
    auto state = failures_.record_failure(subject, clock_.now(), options_.lockout);
    audit({std::string(actor), std::string(action), std::string(subject),
           fmt::format("{} (failure {} in a row)", detail, state ? state->failures : 0)});
    if (!state) {
        log::error("lockout: cannot count a failure of {}: {}", subject, state.error().message);
        return;
    }
    if (state->locked_until) {
        audit({std::string(actor), "auth.lockout", std::string(subject),
               fmt::format("{} locked until {} after {} failures", what,
                           iso8601(*state->locked_until), state->failures)});
    }
}

void AccountService::record_success(std::string_view subject) {
    if (auto r = failures_.clear(subject); !r) {
        log::error("lockout: cannot reset {}: {}", subject, r.error().message);
    }
}

std::optional<std::chrono::seconds> AccountService::retry_after(std::string_view subject) {
    auto state = failures_.find(subject);
    if (!state || !state->locked_until || clock_.now() >= *state->locked_until) {
        return std::nullopt;
    }
    return std::chrono::ceil<std::chrono::seconds>(*state->locked_until - clock_.now());
}

std::optional<std::chrono::seconds> AccountService::sign_in_retry_after(std::string_view username) {
    auto found = repo_.find_by_username(username);
    if (!found || !*found) {
        return std::nullopt;
    }
    auto a = retry_after("password:" + (*found)->id);
    auto b = retry_after("otp:" + (*found)->id);
    if (a && b) {
        return std::max(*a, *b);
    }
    return a ? a : b;
}

Result<void> AccountService::change_password(const Account& account, std::string_view current,
                                             std::string_view replacement) {
    const std::string subject = "password:" + account.id;
    SELO_TRY_VOID(check_lock(subject, "the password"));
    auto fresh = SELO_TRY(find(account.id));
    if (!SELO_TRY(crypto::argon2id_verify_password(current, fresh.password_hash))) {
        record_failure(subject, "the password", account.id, "auth.password.failure",
                       "wrong current password when changing it");
        return fail(ErrorCode::unauthorized, "the current password is wrong");
    }
    record_success(subject);
    if (current == replacement) {
        return fail(ErrorCode::invalid_argument, "the new password must differ from the current one");
    }
    SELO_TRY_VOID(options_.password_policy.check(replacement, fresh.username, fresh.person.id_number));
    auto hash = SELO_TRY(crypto::argon2id_hash_password(replacement, options_.password_kdf, rng_));
    SELO_TRY_VOID(repo_.set_password(account.id, hash, false));
    audit({account.id, "auth.password.change", account.id,
           fresh.must_change_password ? "initial password replaced" : "password changed"});
    return {};
}

Result<PasswordReset> AccountService::reset_to_one_time_password(std::string_view account_id) {
    auto target = SELO_TRY(find(account_id));
    if (target.password_hash == kNoSignIn) {
        return fail(ErrorCode::invalid_argument,
                    "account {} ({}) has no password: nobody signs in to it", target.id, target.username);
    }
    PasswordReset out;
    out.one_time_password = generate_password(rng_);
    auto hash = SELO_TRY(crypto::argon2id_hash_password(out.one_time_password, options_.password_kdf, rng_));
    // The old password stops working with this write; the sessions it opened end with it.
    SELO_TRY_VOID(repo_.set_password(target.id, hash, true));
    out.sessions_ended = SELO_TRY(sessions_.remove_for_account(target.id));
    SELO_TRY_VOID(failures_.clear("password:" + target.id));
    SELO_TRY_VOID(failures_.clear("otp:" + target.id));
    return out;
}

Result<Bytes> AccountService::seal_for(std::string_view account_id, std::string_view purpose,
                                       ByteView secret) {
    std::string aad = fmt::format("selo/{}/v1/{}", purpose, account_id);
    return crypto::aead_seal(otp_key_.view(), secret, as_bytes(aad), rng_);
}

Result<SecretBytes> AccountService::unseal_for(std::string_view account_id,
                                               std::string_view purpose, ByteView sealed) {
    std::string aad = fmt::format("selo/{}/v1/{}", purpose, account_id);
    auto out = crypto::aead_open(otp_key_.view(), sealed, as_bytes(aad));
    if (!out) {
        return fail(ErrorCode::internal, "a {} secret of account {} cannot be unsealed", purpose,
                    account_id);
    }
    return std::move(*out);
}

Result<void> AccountService::set_authenticator(std::string_view account_id, ByteView secret,
                                               std::optional<std::uint64_t> last_step) {
    Bytes sealed;
    if (!secret.empty()) {
        sealed = SELO_TRY(seal_for(account_id, "otp-secret", secret));
    }
    SELO_TRY_VOID(repo_.set_authenticator(account_id, sealed, last_step));
    audit({std::string(account_id), secret.empty() ? "auth.authenticator.void" : "auth.authenticator.pair",
           std::string(account_id), secret.empty() ? "authenticator app unpaired" : "authenticator app paired"});
    return {};
}

std::string AccountService::otpauth_uri(const Account& account, ByteView secret) const {
    return otp::otpauth_uri(options_.otp_issuer, account.username, secret);
}

Result<std::uint64_t> AccountService::verify_pairing_otp(const Account& account, ByteView secret,
                                                         std::string_view code) {
    const std::string subject = "otp:" + account.id;
    SELO_TRY_VOID(check_lock(subject, "the one-time password"));
    auto step = otp::verify_totp(secret, code, clock_.now(), std::nullopt);
    if (!step) {
        record_failure(subject, "the one-time password", account.id, "auth.otp.failure",
                       "pairing: " + step.error().message);
        return std::unexpected(step.error());
    }
    record_success(subject);
    return *step;
}

Result<IssuedApiClient> AccountService::issue_api_client(const Account& administrator,
                                                         std::string_view account_id) {
    if (clients_ == nullptr) {
        return fail(ErrorCode::unsupported, "API clients are not available here");
    }
    auto target = SELO_TRY(find(account_id));
    if (holds_personal_services(target)) {
        return fail(ErrorCode::invalid_argument,
                    "account {} ({}) belongs to a person or an institution: an API client would "
                    "sign in as it with a secret alone, and whoever holds that could read its "
                    "mailbox and pair an authenticator for its signing key. API clients are for "
                    "service accounts (agency, clerk for payments, ...); people sign in with their "
                    "own password and authenticator app",
                    target.id, target.username);
    }
    IssuedApiClient out;
    out.client.client_id = "cli_" + hex_encode(rng_.bytes(12));
    out.client.account_id = target.id;
    out.client_secret = base64url_encode(rng_.bytes(32));
    out.client.secret_hash =
        SELO_TRY(crypto::argon2id_hash_password(out.client_secret, options_.password_kdf, rng_));
    out.client.created_by = administrator.id;
    out.client.created_at = clock_.now();
    SELO_TRY_VOID(clients_->insert(out.client));
    audit({administrator.id, "api_client.issue", out.client.client_id,
           fmt::format("for account {} ({})", target.id, target.username)});
    return out;
}

Result<Account> AccountService::authenticate_client(std::string_view client_id,
                                                    std::string_view client_secret) {
    if (clients_ == nullptr || client_id.size() > 64 || client_secret.size() > 256) {
        return fail(ErrorCode::unauthorized, "unknown client or wrong secret");
    }
    auto client = SELO_TRY(clients_->find(client_id));
    if (!client || client->revoked_at) {
        (void)crypto::argon2id_verify_password(client_secret, dummy_hash_);
        audit({"anonymous", "auth.client.failure", std::string(client_id),
               client ? "revoked client" : "unknown client"});
        return fail(ErrorCode::unauthorized, "unknown client or wrong secret");
    }
    const std::string subject = "client:" + client->client_id;
    SELO_TRY_VOID(check_lock(subject, "this client"));
    if (!SELO_TRY(crypto::argon2id_verify_password(client_secret, client->secret_hash))) {
        record_failure(subject, "this client", client->account_id, "auth.client.failure",
                       "wrong client secret");
        return fail(ErrorCode::unauthorized, "unknown client or wrong secret");
    }
    record_success(subject);
    auto account = SELO_TRY(find(client->account_id));
    // Also for a client issued before issue_api_client refused such accounts.
    if (holds_personal_services(account)) {
        audit({"anonymous", "auth.client.failure", client->client_id,
               "the client's account belongs to a person or an institution"});
        return fail(ErrorCode::unauthorized,
                    "this client's account belongs to a person or an institution, which sign in "
                    "themselves: an administrator must revoke the client");
    }
    return account;
}

Result<void> AccountService::revoke_api_client(const Account& administrator,
                                               std::string_view client_id) {
    if (clients_ == nullptr || !SELO_TRY(clients_->revoke(client_id, clock_.now()))) {
        return fail(ErrorCode::not_found, "no active API client {}", client_id);
    }
    audit({administrator.id, "api_client.revoke", std::string(client_id), "revoked"});
    return {};
}

Result<void> AccountService::verify_otp(const Account& account, std::string_view code) {
    if (!account.has_authenticator()) {
        return fail(ErrorCode::unauthorized,
                    "no authenticator app is paired with this account yet (activate eSignCloud)");
    }
    const std::string subject = "otp:" + account.id;
    SELO_TRY_VOID(check_lock(subject, "the one-time password"));
    std::string aad = "selo/otp-secret/v1/" + account.id;
    auto secret = crypto::aead_open(otp_key_.view(), account.totp_secret_sealed, as_bytes(aad));
    if (!secret) {
        return fail(ErrorCode::internal, "the OTP secret of account {} cannot be unsealed", account.id);
    }
    auto fresh = SELO_TRY(repo_.find_by_id(account.id));
    std::optional<std::uint64_t> last = fresh ? fresh->totp_last_step : account.totp_last_step;
    auto step = otp::verify_totp(secret->view(), code, clock_.now(), last);
    if (!step) {
        record_failure(subject, "the one-time password", account.id, "auth.otp.failure",
                       step.error().message);
        return std::unexpected(step.error());
    }
    record_success(subject);
    if (!SELO_TRY(repo_.claim_totp_step(account.id, *step))) {
        audit({account.id, "auth.otp.failure", account.id, "replayed code"});
        return fail(ErrorCode::unauthorized, "the one-time password has already been used");
    }
    return {};
}

Result<SessionGrant> AccountService::start_session(const Account& account, bool second_factor,
                                                   std::chrono::seconds lifetime,
                                                   std::string_view client_id) {
    std::string token = base64url_encode(rng_.bytes(32));
    Session s{crypto::sha256(as_bytes(token)), account.id, second_factor, clock_.now() + lifetime,
              clock_.now(), std::string(client_id)};
    SELO_TRY_VOID(sessions_.insert(s));
    audit({account.id, "session.start", account.id,
           !client_id.empty() ? fmt::format("API client {}", client_id)
           : second_factor    ? std::string("password and OTP")
                              : std::string("password only")});
    return SessionGrant{std::move(token), lifetime};
}

void AccountService::audit(AuditEvent event) {
    if (auto r = audit_.record(event); !r) {
        log::error("audit trail: cannot record {} on {}: {}", event.action, event.subject,
                   r.error().message);
    }
}

Result<Principal> AccountService::resolve_session(std::string_view access_token) {
    if (access_token.empty() || access_token.size() > 256) {
        return fail(ErrorCode::unauthorized, "The access token is not valid");
    }
    auto s = SELO_TRY(sessions_.find(crypto::sha256(as_bytes(access_token))));
    if (!s) {
        return fail(ErrorCode::unauthorized, "The access token is not valid");
    }
    if (clock_.now() >= s->expires_at) {
        return fail(ErrorCode::expired, "The access token has expired");
    }
    if (!s->client_id.empty()) {
        // Revoking a client deletes its sessions in the same transaction; this check also
        // refuses a token whose session row outlived that (a restored backup, a concurrent
        // grant that committed after the revocation read no sessions).
        auto client = clients_ != nullptr ? SELO_TRY(clients_->find(s->client_id))
                                          : std::optional<ApiClient>{};
        if (!client || client->revoked_at) {
            (void)sessions_.remove(s->token_hash);
            return fail(ErrorCode::unauthorized,
                        "The access token is not valid: its API client has been revoked");
        }
    }
    auto account = SELO_TRY(repo_.find_by_id(s->account_id));
    if (!account) {
        return fail(ErrorCode::unauthorized, "The access token is not valid");
    }
    return Principal{std::move(*account), s->second_factor};
}

Result<void> AccountService::end_session(std::string_view access_token) {
    return sessions_.remove(crypto::sha256(as_bytes(access_token)));
}

Result<void> AccountService::purge_expired_sessions() { return sessions_.remove_expired(clock_.now()); }

Result<Account> AccountService::find(std::string_view account_id) {
    auto found = SELO_TRY(repo_.find_by_id(account_id));
    if (!found) {
        return fail(ErrorCode::not_found, "no account {}", account_id);
    }
    return std::move(*found);
}

Result<Account> AccountService::find_by_id_or_username(std::string_view id_or_username) {
    auto found = SELO_TRY(repo_.find_by_id(id_or_username));
    if (!found) {
        found = SELO_TRY(repo_.find_by_username(id_or_username));
    }
    if (!found) {
        return fail(ErrorCode::not_found, "no account {}", id_or_username);
    }
    return std::move(*found);
}

}  // namespace selo::account
