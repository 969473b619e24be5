#pragma once
// A private SoftHSM2 for one test process: its own configuration file and token directory under
// a temporary directory, named by SOFTHSM2_CONF in this process's environment (so the `selo`
// processes a test starts inherit it). Nothing global is read or written: no /etc/softhsm, no
// /var/lib/softhsm.

#include <gtest/gtest.h>

#include <filesystem>
#include <string>

namespace selo::test {

class SoftHsm {
public:
    // The process's instance, set up on first use (SOFTHSM2_CONF is set then, before any test
    // loads the module) and removed at exit.
    static SoftHsm& instance();

    // Empty when SoftHSM2 can be used; otherwise why not (for GTEST_SKIP or a failure).
    [[nodiscard]] const std::string& unavailable() const noexcept { return unavailable_; }
    [[nodiscard]] const std::filesystem::path& module() const noexcept { return module_; }
    [[nodiscard]] const std::filesystem::path& config_file() const noexcept { return conf_; }

    // Initialises a new token (the first free slot) labelled `label` with user PIN `pin`.
    // Returns "" or softhsm2-util's complaint. A module already initialised in this process sees
    // the new token only after every key store using it has gone (C_Finalize, C_Initialize).
    std::string init_token(const std::string& label, const std::string& pin);

    ~SoftHsm();
    SoftHsm(const SoftHsm&) = delete;
    SoftHsm& operator=(const SoftHsm&) = delete;

private:
    SoftHsm();
    std::filesystem::path dir_;
    std::filesystem::path conf_;
    std::filesystem::path module_;
    std::string unavailable_;
};

// The SO PIN of tokens made by init_token (tests never need it beyond initialisation).
inline constexpr std::string_view kSoftHsmSoPin = "87654321";

// Where a test's CA keys live. Suites parameterised on it run once per key store:
//   INSTANTIATE_TEST_SUITE_P(KeyStores, MyTest, test::all_key_backends(), test::key_backend_name);
enum class KeyBackend { software, pkcs11 };

inline std::string key_backend_name(const ::testing::TestParamInfo<KeyBackend>& info) {
    return info.param == KeyBackend::software ? "Software" : "Pkcs11";
}

inline auto all_key_backends() { return ::testing::Values(KeyBackend::software, KeyBackend::pkcs11); }

// The token every PKCS#11 test of this process uses, and its user PIN.
inline constexpr std::string_view kTestTokenLabel = "selo-tests";
inline constexpr std::string_view kTestTokenPin = "24681357";

// Initialises the process's test token once; "" or the reason it cannot be used.
std::string ensure_test_token();

}  // namespace selo::test
