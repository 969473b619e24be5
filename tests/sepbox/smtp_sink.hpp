#pragma once
// A real SMTP server for tests: tests/sepbox/smtp_sink.py (Debian's python3-aiosmtpd) on a free
// loopback port, writing each message it accepts to a directory.

#include <signal.h>
#include <sys/wait.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "support/test_support.hpp"

namespace selo::test {

class SmtpSink {
public:
    // The interpreter that has aiosmtpd: Debian's python3 (a pyenv or venv python may not).
    static std::string python() {
        return std::filesystem::exists("/usr/bin/python3") ? "/usr/bin/python3" : "python3";
    }
    // "" when running, else why not.
    std::string start(const std::filesystem::path& directory) {
        dir_ = directory;
        std::filesystem::create_directories(dir_);
        auto check = run(python() + " -c 'import aiosmtpd'");
        if (check.exit_code != 0) {
            return "python3-aiosmtpd is not installed (scripts/install-deps.sh installs it)";
        }
        port_ = free_port();
        std::string script = std::string(SELO_SOURCE_DIR) + "/tests/sepbox/smtp_sink.py";
        auto r = run_stdout(python() + " " + shell_quote(script) + " " + shell_quote(dir_.string()) +
                            " " + std::to_string(port_) + " > " + shell_quote((dir_ / "sink.log").string()) +
                            " 2>&1 & echo $!");
        pid_ = std::atoi(r.output.c_str());
        for (int i = 0; i < 100; ++i) {
            std::ifstream log(dir_ / "sink.log");
            std::stringstream ss;
            ss << log.rdbuf();
            if (ss.str().find("ready") != std::string::npos) {
                return "";
            }
            std::this_thread::sleep_for(std::chrono::milliseconds(100));
        }
        return "the SMTP sink did not start";
    }
    void stop() {
        if (pid_ > 0) {
            ::kill(pid_, SIGTERM);
            for (int i = 0; i < 50 && ::kill(pid_, 0) == 0; ++i) {
                std::this_thread::sleep_for(std::chrono::milliseconds(100));
            }
            pid_ = -1;
        }
    }
    ~SmtpSink() { stop(); }
    [[nodiscard]] std::uint16_t port() const { return port_; }

    // A received message as Python's e-mail package reads it (RFC 2047 subject and base64
    // body decoded): "From:", "To:", "Subject:" lines, a blank line, the text.
    [[nodiscard]] static std::string decode(const std::string& raw, const std::filesystem::path& scratch) {
        write_file(scratch, raw);
        auto r = run_stdout(python() + " -c " + shell_quote(
            "import email, email.policy, sys\n"
            "m = email.message_from_binary_file(open(sys.argv[1], 'rb'), policy=email.policy.default)\n"
            "sys.stdout.write('From: %s\\nTo: %s\\nSubject: %s\\n\\n%s' % (m['from'], m['to'], m['subject'], m.get_content()))\n") +
            " " + shell_quote(scratch.string()));
        return r.exit_code == 0 ? r.output : "(undecodable: " + r.output + ")";
    }

    // Every message received so far, oldest first.
    [[nodiscard]] std::vector<std::string> messages() const {
        std::vector<std::filesystem::path> files;
        for (const auto& e : std::filesystem::directory_iterator(dir_)) {
            if (e.path().extension() == ".eml") {
                files.push_back(e.path());
            }
        }
        std::sort(files.begin(), files.end());
        std::vector<std::string> out;
        for (const auto& f : files) {
            auto bytes = read_file(f);
            out.emplace_back(bytes.begin(), bytes.end());
        }
        return out;
    }
    // Waits until at least `n` messages have arrived (or the timeout).
    [[nodiscard]] std::vector<std::string> wait_for(std::size_t n, std::chrono::seconds timeout) const {
        auto until = std::chrono::steady_clock::now() + timeout;
        auto m = messages();
        while (m.size() < n && std::chrono::steady_clock::now() < until) {
            std::this_thread::sleep_for(std::chrono::milliseconds(200));
            m = messages();
        }
        return m;
    }

private:
    std::filesystem::path dir_;
    std::uint16_t port_ = 0;
    int pid_ = -1;
};

}  // namespace selo::test
