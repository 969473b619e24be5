#pragma once
// Helpers shared by the test executables: temporary directories, running third-party tools
// (openssl, pdfsig, qpdf, oathtool, curl) and reading their output.

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
// True when `tool` is on the PATH.
bool have_tool(const std::string& tool);
// Single-quotes a string for the shell.
std::string shell_quote(std::string_view s);

void write_file(const std::filesystem::path& p, ByteView data);
void write_file(const std::filesystem::path& p, std::string_view data);
Bytes read_file(const std::filesystem::path& p);

}  // namespace selo::test
