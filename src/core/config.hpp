#pragma once
// The data directory's configuration file (`selo.toml`), with defaults for every value.

#include <cstdint>
#include <filesystem>
#include <optional>
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
    // HTTPS on the listener. With tls_certificate_file/tls_key_file (PEM, relative to the data
    // directory) those are served; otherwise a tls-server certificate from the infrastructure CA
    // for the public URL's host (and tls_names), issued at start-up and renewed before expiry.
    // Giving the files turns TLS on as well.
    bool tls = false;
    std::string tls_certificate_file;  // leaf first, then the chain
    std::string tls_key_file;
    std::vector<std::string> tls_names;  // extra DNS names / IP addresses for the issued certificate
    // A second, plain-http listener serving only the repository and status routes (CA
    // certificates, CRLs, OCSP), for relying parties that cannot fetch them over https (NSS,
    // pdfsig; RFC 5280 §4.2.1.13 and §4.2.2.1 expect http). Empty: none.
    std::string repository_listen;
    // The http:// base URL certificates name for OCSP, CRL distribution points and AIA
    // caIssuers; empty: public_url. Needs repository_listen (or another server answering there).
    std::string repository_url;
};

// The base URL certificates name for status and CA certificates: [server] repository_url when
// set, else public_url.
[[nodiscard]] const std::string& status_base_url(const ServerConfig& server);

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
    // Where CA and responder keys live: "software" (sealed under the master key in the
    // database) or "pkcs11" (generated inside a token, never extractable).
    std::string backend = "software";
    std::string master_key_file = "master.key";  // relative to the data directory
    std::string pkcs11_module;       // the token's PKCS#11 library
    std::string pkcs11_token_label;  // CK_TOKEN_INFO label of the token
    // "file:PATH" (owner-only file, relative to the data directory) or "env:NAME".
    std::string pkcs11_pin_source;
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

// A certificate profile changed or added by configuration ([[pki.profile]]); what is not set
// keeps the value of the built-in profile of that name, or of `base` for a new one. The values
// are checked, and resolved, by pki::ProfileCatalogue::from_config.
struct ProfilePdsConfig {
    std::string url;
    std::string language;
};
struct ProfileConfig {
    std::string name;
    std::string base;
    std::optional<std::vector<std::string>> subject_required;
    std::optional<std::vector<std::string>> subject_allowed;
    std::optional<std::vector<std::string>> serial_number_forms;
    std::optional<std::vector<std::string>> organization_identifier_forms;
    std::optional<std::vector<std::string>> key_usage;
    std::optional<std::vector<std::string>> extended_key_usage;
    std::optional<bool> extended_key_usage_critical;
    std::optional<std::vector<std::string>> policies;
    std::optional<bool> qc_compliance;
    std::optional<bool> qc_sscd;
    std::optional<std::string> qc_type;
    std::optional<std::vector<ProfilePdsConfig>> qc_pds;
    std::optional<std::uint32_t> qc_retention_years;
    std::optional<std::vector<std::string>> qc_legislation;
    std::optional<std::string> qc_semantics;
    std::optional<bool> aia_ca_issuers;
    std::optional<bool> aia_ocsp;
    std::optional<bool> crl_distribution_point;
    std::optional<std::uint32_t> validity_days;
};

struct PkiConfig {
    std::string country = "MO";
    std::string organization = "Selo Trust Services";
    // The operator's own organizationIdentifier (EN 319 412-1 §5.1.4: NTR + country + '-' +
    // trade-register number), named in the certificates Selo holds as a legal person (the SEPBox
    // seal). `selo init --organization-identifier` sets it.
    std::string organization_identifier = "NTRMO-SELO";
    // An offline root's data directory (`selo ca ceremony init-root`): it holds only the root
    // CA, signs ceremony CSRs, and `selo serve` refuses it.
    bool offline_root = false;
    // Parents before children. Empty: the default hierarchy.
    std::vector<AuthorityConfig> authorities;
    // Changes to the built-in certificate profiles, and new ones ([[pki.profile]]).
    std::vector<ProfileConfig> profiles;
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
    AccountsConfig accounts;
    HttpLimits http;
    DatabaseConfig database;
    KeysConfig keys;
    CloudSignConfig cloudsign;
    PkiConfig pki;
    SepboxConfig sepbox;
    SmtpConfig smtp;
    TsaConfig tsa;
    LogConfig log;
};

// Parses a TOML configuration; unknown keys are refused so that typos do not pass silently.
[[nodiscard]] Result<Config> parse_config(std::string_view toml_text, std::string_view source_name);
[[nodiscard]] Result<Config> load_config(const std::filesystem::path& file);
// Renders a configuration as commented TOML (what `selo init` writes).
[[nodiscard]] std::string render_config(const Config& config);

}  // namespace selo
