#pragma once
// Helpers shared by the test executables: temporary directories, running third-party tools
// (openssl, pdfsig, qpdf, oathtool, curl) and reading their output.

#include <cstdint>
#include <filesystem>
#include <initializer_list>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/bytes.hpp"

namespace testing {
class TestInfo;
class TestSuite;
}  // namespace testing

namespace selo::test {

struct TempDirOptions {
    // Where the directory is made (created if missing); the system temp directory when empty.
    std::filesystem::path parent;
    // Keep the directory, for inspection, when the test that made it failed, and always when
    // SELO_KEEP_TEST_FILES is set (non-empty). One made outside a test (in SetUpTestSuite, or a
    // static) is kept when its test suite, or outside any suite the whole run, has failed. The
    // directory is named after its owner ("Suite.Test-PID") so that it can be found.
    bool keep_on_failure = false;
};

// A fresh directory, removed (recursively) on destruction unless the options keep it.
class TempDir {
public:
    // Under the system temp dir, always removed.
    TempDir();
    explicit TempDir(const TempDirOptions& options);
    ~TempDir();
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;
    [[nodiscard]] const std::filesystem::path& path() const noexcept { return path_; }
    [[nodiscard]] std::filesystem::path operator/(std::string_view name) const { return path_ / name; }

private:
    [[nodiscard]] bool owner_failed() const;

    std::filesystem::path path_;
    bool keep_on_failure_ = false;
    // The test, or else the test suite, that was running when the directory was made.
    const ::testing::TestInfo* test_ = nullptr;
    const ::testing::TestSuite* suite_ = nullptr;
};

struct CommandResult {
    int exit_code = -1;
    std::string output;  // stdout and stderr together
};

// Runs a shell command line, capturing standard output and error.
CommandResult run(const std::string& command_line);
// Runs a shell command line, capturing standard output only (standard error is discarded).
CommandResult run_stdout(const std::string& command_line);
// True when `tool` is on the PATH.
bool have_tool(const std::string& tool);
// "X is not installed" for the first of `tools` that is not on PATH; empty when all are.
std::string missing_tool(std::initializer_list<std::string_view> tools);
// Single-quotes a string for the shell.
std::string shell_quote(std::string_view s);

// These throw std::runtime_error when the file cannot be written or read.
void write_file(const std::filesystem::path& p, ByteView data);
void write_file(const std::filesystem::path& p, std::string_view data);
Bytes read_file(const std::filesystem::path& p);

}  // namespace selo::test

// The independent PDF checkers: qpdf and poppler's pdfsig.
namespace selo::test {

// `qpdf --check PDF`. Exit code 0: fine, 3: warnings only, 2: errors.
CommandResult run_qpdf_check(const std::filesystem::path& pdf);
// The exit code of `qpdf --check PDF`.
int qpdf_check(const std::filesystem::path& pdf);
// Orders qpdf --check exit codes from best to worst: 0 (fine) < 3 (warnings) < 2 (errors).
int qpdf_rank(int exit_code);

// qpdf --show-encryption prints the security handler's revision ("R = 4") for an encrypted
// file. A file too damaged to open says neither that nor "File is not encrypted": it counts as
// unencrypted.
bool is_encrypted(const std::filesystem::path& pdf);

// One signature as `pdfsig` lists it.
struct PdfsigSignature {
    std::string field;        // "Signature Field Name"
    std::string common_name;  // "Signer Certificate Common Name"
    std::string validation;   // "Signature Validation": "Signature is Valid.", "Digest Mismatch."
    std::string certificate;  // "Certificate Validation": "Certificate is Trusted." (not -nocert)
    bool total = false;       // "Total document signed" (not "Not total document signed")
    std::vector<std::pair<std::uint64_t, std::uint64_t>> ranges;  // "Signed Ranges", [from, to)
};
// `pdfsig -nssdir sql:NSS_DIR PDF`, validating certificates against that NSS database, or
// `pdfsig -nocert PDF` without certificate validation when `nss_dir` is empty.
CommandResult run_pdfsig(const std::filesystem::path& pdf,
                         const std::filesystem::path& nss_dir = {});
// The signatures in pdfsig's output, in its order.
std::vector<PdfsigSignature> parse_pdfsig(std::string_view output);
// run_pdfsig + parse_pdfsig.
std::vector<PdfsigSignature> pdfsig(const std::filesystem::path& pdf,
                                    const std::filesystem::path& nss_dir = {});

}  // namespace selo::test

namespace selo::test {

// A `selo serve` child process for integration tests: started on a free loopback port, waited
// for until /healthz answers, stopped with SIGTERM (and reaped) on destruction.
class ServerProcess {
public:
    ServerProcess() = default;
    ~ServerProcess();
    ServerProcess(const ServerProcess&) = delete;
    ServerProcess& operator=(const ServerProcess&) = delete;

    // Starts `binary serve --data DIR --listen 127.0.0.1:PORT` with output to `log_file`.
    // Returns false (with the log in `error`) when it does not become healthy in time. With
    // `tls`, /healthz is polled over https (any certificate: this only waits for readiness).
    bool start(const std::filesystem::path& binary, const std::filesystem::path& data_dir,
               std::uint16_t port, const std::filesystem::path& log_file, std::string& error,
               bool tls = false);
    // SIGTERM and wait; returns the exit status (or -1).
    int stop();
    [[nodiscard]] bool running() const noexcept { return pid_ > 0; }
    [[nodiscard]] int pid() const noexcept { return pid_; }

private:
    int pid_ = -1;
};

// A TCP port on 127.0.0.1 that was free a moment ago.
std::uint16_t free_port();

}  // namespace selo::test
