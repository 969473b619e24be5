#include "support/softhsm.hpp"

#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <random>

#include "support/test_support.hpp"

namespace selo::test {
namespace fs = std::filesystem;

SoftHsm& SoftHsm::instance() {
    static SoftHsm hsm;
    return hsm;
}

SoftHsm::SoftHsm() {
    for (const char* candidate : {"/usr/lib/softhsm/libsofthsm2.so",
                                  "/usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so",
                                  "/usr/lib64/softhsm/libsofthsm2.so"}) {
        std::error_code ec;
        if (fs::exists(candidate, ec)) {
            module_ = candidate;
            break;
        }
    }
    if (module_.empty() || !have_tool("softhsm2-util")) {
        unavailable_ = "SoftHSM2 is not installed (Debian package softhsm2)";
        return;
    }
    std::random_device rd;
    dir_ = fs::temp_directory_path() /
           ("selo-softhsm-" + std::to_string(::getpid()) + "-" + std::to_string(rd()));
    std::error_code ec;
    fs::create_directories(dir_ / "tokens", ec);
    if (ec) {
        unavailable_ = "cannot create " + dir_.string() + ": " + ec.message();
        return;
    }
    conf_ = dir_ / "softhsm2.conf";
    std::ofstream(conf_) << "directories.tokendir = " << (dir_ / "tokens").string() << "\n"
                         << "objectstore.backend = file\n"
                         << "log.level = ERROR\n"
                         << "slots.removable = false\n";
    ::setenv("SOFTHSM2_CONF", conf_.c_str(), 1);
}

SoftHsm::~SoftHsm() {
    if (!dir_.empty() && std::getenv("SELO_KEEP_TEST_FILES") == nullptr) {
        std::error_code ec;
        fs::remove_all(dir_, ec);
    }
}

std::string SoftHsm::init_token(const std::string& label, const std::string& pin) {
    if (!unavailable_.empty()) {
        return unavailable_;
    }
    auto r = run("softhsm2-util --init-token --free --label " + shell_quote(label) + " --so-pin " +
                 std::string(kSoftHsmSoPin) + " --pin " + shell_quote(pin));
    if (r.exit_code != 0) {
        return "softhsm2-util --init-token failed: " + r.output;
    }
    return {};
}

std::string ensure_test_token() {
    static const std::string error = [] {
        auto& hsm = SoftHsm::instance();
        if (!hsm.unavailable().empty()) {
            return hsm.unavailable();
        }
        return hsm.init_token(std::string(kTestTokenLabel), std::string(kTestTokenPin));
    }();
    return error;
}

}  // namespace selo::test
