#pragma once
// The data directory's configuration file (`selo.toml`), with defaults for every value.

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "core/error.hpp"

namespace selo {

struct ServerConfig {
    std::string listen = "127.0.0.1:8080";
    // Base URL that certificates name (AIA caIssuers, later OCSP and CRL distribution points).
    std::string public_url = "http://127.0.0.1:8080";
    // I/O threads; 0 means one per core.
    unsigned io_threads = 0;
    // Threads that run request handlers (signing, key derivation); 0 means one per core.
    unsigned worker_threads = 0;
};

struct HttpLimits {
    std::uint32_t max_header_bytes = 16 * 1024;
    std::uint64_t max_body_bytes = 1024 * 1024;
    // signDoc carries whole documents (base64): it gets its own, larger limit.
    std::uint64_t max_document_body_bytes = 256ull * 1024 * 1024;
    unsigned header_timeout_seconds = 10;
    unsigned body_timeout_seconds = 120;
    unsigned idle_timeout_seconds = 30;
    unsigned max_keepalive_requests = 10000;
    // Bodies above large_body_bytes each need one of max_concurrent_large_bodies slots.
    std::uint64_t large_body_bytes = 8ull * 1024 * 1024;
    unsigned max_concurrent_large_bodies = 2;
};

struct DatabaseConfig {
    std::string backend = "sqlite";
    std::string path = "selo.db";  // relative to the data directory
};

struct KeysConfig {
    std::string backend = "software";
    std::string master_key_file = "master.key";  // relative to the data directory
};

// Argon2id parameters for deriving a key from a signing PIN (RFC 9106 §4).
struct PinKdfConfig {
    std::uint32_t memory_kib = 64 * 1024;
    std::uint32_t iterations = 3;
    std::uint32_t parallelism = 1;
};

struct CloudSignConfig {
    unsigned sad_lifetime_seconds = 300;
    unsigned max_signatures_per_sad = 100;
    unsigned access_token_lifetime_seconds = 3600;
    unsigned certificate_validity_days = 3 * 365 + 1;
    std::string signing_ca = "natural-persons";  // the CA that certifies signing credentials
    PinKdfConfig pin_kdf;
};

// One CA of the hierarchy ([[pki.authority]]).
struct AuthorityConfig {
    std::string name;                   // URL-safe, used in /ca/<name>.crt
    std::string role;                   // "root" or "issuing"
    std::string parent;                 // issuing CAs: the CA that certifies them
    std::string common_name;
    std::string key = "ec-p384";        // key type for the CA key
    std::vector<std::string> profiles;  // certificate profiles an issuing CA may issue
};

struct PkiConfig {
    std::string country = "MO";
    std::string organization = "Selo Trust Services";
    // Parents before children. Empty: the default hierarchy.
    std::vector<AuthorityConfig> authorities;
};

// People and sign-in ([accounts]); not written by `selo init`, the defaults apply.
struct AccountsConfig {
    // Common and breached-style passwords refused by the password policy (Debian john-data).
    std::string common_passwords = "/usr/share/john/password.lst";
    unsigned lockout_threshold = 5;          // consecutive failures before a lock
    unsigned lockout_first_seconds = 60;     // doubled by each further failure
    unsigned lockout_longest_seconds = 86400;
    unsigned slip_window_seconds = 900;      // the enrolment slip can be fetched once, within this
    unsigned activation_code_days = 30;      // lifetime of an eSignCloud activation code
    unsigned activation_code_attempts = 5;   // wrong entries before the code is void
};

// SEPBox limits ([sepbox]).
struct SepboxConfig {
    std::uint64_t max_message_bytes = 30ull * 1024 * 1024;  // subject, bodies and attachments
    unsigned max_attachments = 20;
    unsigned max_recipients = 1000;  // per (bulk) submission
    unsigned notice_interval_seconds = 30;  // how often serve sends notices and expires letters
    std::string seal_ca = "institutions";   // the CA that certifies the SEPBox seal
};

// The relay new-mail notices go through ([smtp]); an empty host: notices wait in the outbox.
struct SmtpConfig {
    std::string host;
    unsigned port = 25;
    std::string from = "sepbox@selo.invalid";
    std::string helo_name = "selo.invalid";
    unsigned timeout_seconds = 30;
};

struct Config {
    ServerConfig server;
    AccountsConfig accounts;
    HttpLimits http;
    DatabaseConfig database;
    KeysConfig keys;
    CloudSignConfig cloudsign;
    PkiConfig pki;
    SepboxConfig sepbox;
    SmtpConfig smtp;
};

// Parses a TOML configuration; unknown keys are refused so that typos do not pass silently.
[[nodiscard]] Result<Config> parse_config(std::string_view toml_text, std::string_view source_name);
[[nodiscard]] Result<Config> load_config(const std::filesystem::path& file);
// Renders a configuration as commented TOML (what `selo init` writes).
[[nodiscard]] std::string render_config(const Config& config);

}  // namespace selo
