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

// The time-stamping authority (POST /tsa, RFC 3161) and the CSC signatures/timestamp method.
struct TsaConfig {
    // TSA policy of issued tokens (TSTInfo.policy); requests naming another policy than this
    // one or one of accepted_policies are refused with unacceptedPolicy.
    std::string policy = "2.25.213343623855697146825054647424244362817.2.1";
    std::vector<std::string> accepted_policies;
    unsigned accuracy_ms = 1000;  // TSTInfo.accuracy; 0: not stated
    std::string key = "ec-p256";  // key type of the time-stamping unit
    std::string issuer = "infrastructure";  // the CA that certifies it (profile "tsa")
};

// The transparency log (/api/v1/log).
struct LogConfig {
    // `selo serve` signs a tree head this often when the log has grown (and at start).
    unsigned tree_head_interval_seconds = 300;
};

struct Config {
    ServerConfig server;
    HttpLimits http;
    DatabaseConfig database;
    KeysConfig keys;
    CloudSignConfig cloudsign;
    PkiConfig pki;
    TsaConfig tsa;
    LogConfig log;
};

// Parses a TOML configuration; unknown keys are refused so that typos do not pass silently.
[[nodiscard]] Result<Config> parse_config(std::string_view toml_text, std::string_view source_name);
[[nodiscard]] Result<Config> load_config(const std::filesystem::path& file);
// Renders a configuration as commented TOML (what `selo init` writes).
[[nodiscard]] std::string render_config(const Config& config);

}  // namespace selo
