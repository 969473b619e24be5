#pragma once
// Helpers shared by the test executables: temporary directories, running third-party tools
// (openssl, pdfsig, qpdf, oathtool, curl) and reading their output.

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "core/bytes.hpp"

namespace selo::test {

// A fresh directory under the system temp dir, removed (recursively) on destruction.
class TempDir {
public:
    TempDir();
    ~TempDir();
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;
    [[nodiscard]] const std::filesystem::path& path() const noexcept { return path_; }
    [[nodiscard]] std::filesystem::path operator/(std::string_view name) const { return path_ / name; }

private:
    std::filesystem::path path_;
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
// Single-quotes a string for the shell.
std::string shell_quote(std::string_view s);

void write_file(const std::filesystem::path& p, ByteView data);
void write_file(const std::filesystem::path& p, std::string_view data);
Bytes read_file(const std::filesystem::path& p);

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
    // Returns false (with the log in `error`) when it does not become healthy in time.
    bool start(const std::filesystem::path& binary, const std::filesystem::path& data_dir,
               std::uint16_t port, const std::filesystem::path& log_file, std::string& error);
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
