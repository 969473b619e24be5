#pragma once
// The certificate `selo serve` presents over TLS ([server] tls): files the operator provides,
// or a tls-server certificate from the infrastructure CA for the public URL's host (and
// [server] tls_names), with a fresh key that never leaves the process, issued at start-up and
// renewed before it expires.

#include <filesystem>
#include <string>

#include "cli/data_dir.hpp"
#include "core/bytes.hpp"
#include "core/clock.hpp"

namespace selo::cli {

struct TlsIdentity {
    std::string chain_pem;  // leaf first, then the issuing CA
    SecretBytes key_pem;
    TimePoint not_after{};
    TimePoint renew_at{};      // issued: two thirds into its validity; files: never (max)
    std::string description;  // for the log: where it came from, its names and serial
};

// How long an issued TLS certificate is valid (well within the tls-server profile's 397 days).
inline constexpr std::chrono::days kTlsValidity{90};

// tls_certificate_file / tls_key_file, relative to the data directory.
[[nodiscard]] Result<TlsIdentity> load_tls_files(const Config& config,
                                                 const std::filesystem::path& dir);

// Issues a certificate from the infrastructure CA (profile tls-server) for the public URL's
// host and tls_names, linted and recorded like any other.
[[nodiscard]] Result<TlsIdentity> issue_tls_identity(Runtime& runtime, const Clock& clock);

// load_tls_files when the files are configured, else issue_tls_identity.
[[nodiscard]] Result<TlsIdentity> tls_identity(Runtime& runtime, const Clock& clock);

}  // namespace selo::cli
