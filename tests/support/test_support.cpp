#include "support/test_support.hpp"

#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <optional>
#include <random>
#include <regex>
#include <sstream>
#include <stdexcept>

#include <gtest/gtest.h>

namespace selo::test {

namespace {

namespace fs = std::filesystem;

// "Suite.Test" of the running test, else the running suite's name; file-name safe (value
// parameterised names have slashes).
std::string owner_label(const ::testing::TestInfo* test, const ::testing::TestSuite* suite) {
    std::string label = "selo-test";
    if (test != nullptr) {
        label = std::string(test->test_suite_name()) + "." + test->name();
    } else if (suite != nullptr) {
        label = suite->name();
    }
    for (char& c : label) {
        if (c == '/' || c == ' ') {
            c = '_';
        }
    }
    return label;
}

}  // namespace

TempDir::TempDir() : TempDir(TempDirOptions{}) {}

TempDir::TempDir(const TempDirOptions& options) : keep_on_failure_(options.keep_on_failure) {
    const fs::path parent = options.parent.empty() ? fs::temp_directory_path() : options.parent;
    fs::create_directories(parent);
    const std::string pid = std::to_string(::getpid());
    std::random_device rd;
    if (keep_on_failure_) {
        // The owner decides at destruction whether the files stay. Asking gtest now also makes
        // its UnitTest (which owns the TestInfo and TestSuite) outlive this object, a static one
        // included.
        const auto* unit = ::testing::UnitTest::GetInstance();
        test_ = unit->current_test_info();
        suite_ = test_ == nullptr ? unit->current_test_suite() : nullptr;
    }
    for (int i = 0; i < 100; ++i) {
        // A kept directory is named after its owner, to be found; the others need not be.
        auto candidate = keep_on_failure_
                             ? parent / (owner_label(test_, suite_) + "-" + pid +
                                         (i == 0 ? std::string() : "-" + std::to_string(rd())))
                             : parent / ("selo-test-" + pid + "-" + std::to_string(rd()));
        std::error_code ec;
        if (fs::create_directory(candidate, ec)) {
            path_ = candidate;
            return;
        }
    }
    throw std::runtime_error("cannot create a temporary directory in " + parent.string());
}

bool TempDir::owner_failed() const {
    if (test_ != nullptr) {
        return test_->result()->Failed();
    }
    if (suite_ != nullptr) {
        return suite_->Failed();
    }
    return ::testing::UnitTest::GetInstance()->Failed();
}

TempDir::~TempDir() {
    if (keep_on_failure_) {
        // SELO_KEEP_TEST_FILES=1 keeps them all, for looking at the output by hand.
        const char* keep = std::getenv("SELO_KEEP_TEST_FILES");
        if ((keep != nullptr && *keep != '\0') || owner_failed()) {
            return;
        }
    }
    std::error_code ec;
    fs::remove_all(path_, ec);
}

namespace {
CommandResult capture(const std::string& cmd) {
    CommandResult r;
    FILE* p = ::popen(cmd.c_str(), "r");
    if (p == nullptr) {
        return r;
    }
    char buf[4096];
    std::size_t n = 0;
    while ((n = std::fread(buf, 1, sizeof buf, p)) > 0) {
        r.output.append(buf, n);
    }
    int status = ::pclose(p);
    r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    return r;
}
}  // namespace

CommandResult run(const std::string& command_line) { return capture("{ " + command_line + " ; } 2>&1"); }

CommandResult run_stdout(const std::string& command_line) {
    return capture("{ " + command_line + " ; } 2>/dev/null");
}

bool have_tool(const std::string& tool) {
    return run("command -v " + shell_quote(tool) + " >/dev/null").exit_code == 0;
}

std::string missing_tool(std::initializer_list<std::string_view> tools) {
    for (std::string_view tool : tools) {
        if (!have_tool(std::string(tool))) {
            return std::string(tool) + " is not installed";
        }
    }
    return {};
}

std::string shell_quote(std::string_view s) {
    std::string out = "'";
    for (char c : s) {
        if (c == '\'') {
            out += "'\\''";
        } else {
            out.push_back(c);
        }
    }
    out += "'";
    return out;
}

void write_file(const std::filesystem::path& p, ByteView data) {
    std::ofstream out(p, std::ios::binary | std::ios::trunc);
    out.write(reinterpret_cast<const char*>(data.data()), static_cast<std::streamsize>(data.size()));
    if (!out) {
        throw std::runtime_error("cannot write " + p.string());
    }
}

void write_file(const std::filesystem::path& p, std::string_view data) { write_file(p, as_bytes(data)); }

Bytes read_file(const std::filesystem::path& p) {
    std::ifstream in(p, std::ios::binary);
    if (!in) {
        throw std::runtime_error("cannot read " + p.string());
    }
    std::stringstream ss;
    ss << in.rdbuf();
    return to_bytes(ss.str());
}

}  // namespace selo::test

#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>

#include <chrono>
#include <thread>

extern char** environ;

namespace selo::test {

std::uint16_t free_port() {
    int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = 0;
    ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
    socklen_t len = sizeof addr;
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
    ::close(fd);
    return ntohs(addr.sin_port);
}

bool ServerProcess::start(const std::filesystem::path& binary, const std::filesystem::path& data_dir,
                          std::uint16_t port, const std::filesystem::path& log_file,
                          std::string& error, bool tls) {
    std::string listen = "127.0.0.1:" + std::to_string(port);
    std::string bin = binary.string();
    std::string data = data_dir.string();
    std::vector<char*> argv = {bin.data(), const_cast<char*>("serve"), const_cast<char*>("--data"),
                               data.data(), const_cast<char*>("--listen"), listen.data(), nullptr};
    posix_spawn_file_actions_t actions;
    ::posix_spawn_file_actions_init(&actions);
    ::posix_spawn_file_actions_addopen(&actions, 1, log_file.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    ::posix_spawn_file_actions_adddup2(&actions, 1, 2);
    pid_t pid = -1;
    int rc = ::posix_spawn(&pid, bin.c_str(), &actions, nullptr, argv.data(), environ);
    ::posix_spawn_file_actions_destroy(&actions);
    if (rc != 0) {
        error = "posix_spawn failed";
        return false;
    }
    pid_ = pid;
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    while (std::chrono::steady_clock::now() < deadline) {
        auto r = run(std::string(tls ? "curl -sfk -o /dev/null https://" : "curl -sf -o /dev/null http://") +
                     listen + "/healthz");
        if (r.exit_code == 0) {
            return true;
        }
        int status = 0;
        if (::waitpid(pid_, &status, WNOHANG) == pid_) {
            pid_ = -1;
            break;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    auto log = read_file(log_file);
    error = "server did not become healthy: " + std::string(as_chars(log));
    stop();
    return false;
}

int ServerProcess::stop() {
    if (pid_ <= 0) {
        return -1;
    }
    ::kill(pid_, SIGTERM);
    int status = 0;
    for (int i = 0; i < 300; ++i) {
        if (::waitpid(pid_, &status, WNOHANG) == pid_) {
            pid_ = -1;
            return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, &status, 0);
    pid_ = -1;
    return -1;
}

ServerProcess::~ServerProcess() { stop(); }

}  // namespace selo::test

namespace selo::test {

CommandResult run_qpdf_check(const std::filesystem::path& pdf) {
    return run("qpdf --check " + shell_quote(pdf.string()));
}

int qpdf_check(const std::filesystem::path& pdf) { return run_qpdf_check(pdf).exit_code; }

int qpdf_rank(int exit_code) {
    switch (exit_code) {
        case 0:
            return 0;
        case 3:
            return 1;
        default:
            return 2;
    }
}

bool is_encrypted(const std::filesystem::path& pdf) {
    auto r = run("qpdf --show-encryption " + shell_quote(pdf.string()));
    static const std::regex revision_re("(^|\n)R = [0-9]");
    return r.output.find("File is not encrypted") == std::string::npos &&
           std::regex_search(r.output, revision_re);
}

CommandResult run_pdfsig(const std::filesystem::path& pdf, const std::filesystem::path& nss_dir) {
    const std::string certificates =
        nss_dir.empty() ? "-nocert" : "-nssdir " + shell_quote("sql:" + nss_dir.string());
    return run("pdfsig " + certificates + " " + shell_quote(pdf.string()));
}

std::vector<PdfsigSignature> parse_pdfsig(std::string_view output) {
    // Signature #1:
    //   - Signature Field Name: Signature1
    //   - Signer Certificate Common Name: 陳大文
    //   - Signed Ranges: [0 - 1203], [17589 - 18425]
    //   - Total document signed                      (or "- Not total document signed")
    //   - Signature Validation: Signature is Valid.
    //   - Certificate Validation: Certificate is Trusted.   (not with -nocert)
    std::vector<PdfsigSignature> sigs;
    static const std::regex range_re("\\[(\\d+) - (\\d+)\\]");
    std::istringstream in{std::string(output)};
    std::string line;
    while (std::getline(in, line)) {
        if (line.starts_with("Signature #")) {
            sigs.emplace_back();
            continue;
        }
        if (sigs.empty()) {
            continue;
        }
        auto value_of = [&](std::string_view key) -> std::optional<std::string> {
            const auto pos = line.find(key);
            if (pos == std::string::npos) {
                return std::nullopt;
            }
            return line.substr(pos + key.size());
        };
        auto& sig = sigs.back();
        if (auto field = value_of("- Signature Field Name: ")) {
            sig.field = *field;
        } else if (auto cn = value_of("- Signer Certificate Common Name: ")) {
            sig.common_name = *cn;
        } else if (auto validation = value_of("- Signature Validation: ")) {
            sig.validation = *validation;
        } else if (auto certificate = value_of("- Certificate Validation: ")) {
            sig.certificate = *certificate;
        } else if (line.find("- Total document signed") != std::string::npos) {
            sig.total = true;
        } else if (auto ranges = value_of("- Signed Ranges: ")) {
            for (std::sregex_iterator it(ranges->begin(), ranges->end(), range_re), end; it != end;
                 ++it) {
                sig.ranges.emplace_back(std::stoull((*it)[1]), std::stoull((*it)[2]));
            }
        }
    }
    return sigs;
}

std::vector<PdfsigSignature> pdfsig(const std::filesystem::path& pdf,
                                    const std::filesystem::path& nss_dir) {
    return parse_pdfsig(run_pdfsig(pdf, nss_dir).output);
}

}  // namespace selo::test
