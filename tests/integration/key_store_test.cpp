// A data directory on each key store, end to end: `selo init` (with --key-backend pkcs11 on a
// private SoftHSM2 token, or the software store), `selo serve`, a citizen enrolled with a
// signing certificate, `selo sign`, and the result checked by third parties only: pdfsig (NSS
// trusting only Selo's root), openssl verify, and p11tool reading the token.

#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>

#include "integration/selo_instance.hpp"
#include "support/softhsm.hpp"
#include "support/test_support.hpp"

namespace selo::test {
namespace {

namespace fs = std::filesystem;

class CaOnKeyStore : public ::testing::TestWithParam<KeyBackend> {
protected:
    void SetUp() override {
        if (auto missing = missing_tool({"pdfsig", "certutil", "p11tool"}); !missing.empty()) {
            GTEST_FAIL() << missing << " (scripts/install-deps.sh installs it)";
        }
        selo.key_backend = GetParam();
        std::string error = selo.start();
        ASSERT_EQ(error, "");
    }

    SeloInstance selo;
};

TEST_P(CaOnKeyStore, IssuesSignsAndThirdPartiesVerify) {
    const std::string d = selo.dir().string();
    // The issuing CA's certificate, signed with the root's key wherever that key lives.
    auto chain = run("openssl verify -x509_strict -CAfile " + d + "/root.pem " + d + "/np.pem");
    EXPECT_EQ(chain.exit_code, 0) << chain.output;

    // A signing certificate issued by the natural-persons CA, and a PDF signed with it.
    Holder c = selo.enrol("陳大文", "CHAN Tai Man", "5215299(8)", "chan@example.mo", "246810");
    ASSERT_FALSE(c.credential.empty());
    const fs::path in = fs::path(SELO_TEST_DATA) / "pdf" / "classic.pdf";
    const fs::path out = selo.dir() / "signed.pdf";
    auto sign = run(shell_quote(SeloInstance::binary().string()) + " sign --server " + selo.base() +
                    " --user " + c.username + " --password " + shell_quote(c.password) + " --pin " +
                    c.pin + " --otp " + SeloInstance::otp(c) + " " + shell_quote(in.string()) +
                    " -o " + shell_quote(out.string()));
    ASSERT_EQ(sign.exit_code, 0) << sign.output;
    auto sigs = pdfsig(out, selo.nss());
    ASSERT_EQ(sigs.size(), 1u);
    EXPECT_EQ(sigs[0].validation, "Signature is Valid.");
    EXPECT_EQ(sigs[0].certificate, "Certificate is Trusted.");

    std::ifstream conf(selo.data() / "selo.toml");
    std::string text((std::istreambuf_iterator<char>(conf)), std::istreambuf_iterator<char>());
    if (GetParam() == KeyBackend::software) {
        EXPECT_NE(text.find("backend = 'software'"), std::string::npos);
        return;
    }
    EXPECT_NE(text.find("backend = 'pkcs11'"), std::string::npos) << text;
    // p11tool (GnuTLS) sees every CA key in the token, sensitive and never extractable.
    auto list = run("p11tool --provider " + shell_quote(SoftHsm::instance().module().string()) +
                    " --login --set-pin=" + std::string(kTestTokenPin) + " --list-privkeys " +
                    shell_quote("pkcs11:token=" + std::string(kTestTokenLabel)));
    ASSERT_EQ(list.exit_code, 0) << list.output;
    for (const char* ca : {"root", "natural-persons", "institutions", "infrastructure"}) {
        const std::string label = std::string("Label: ca/") + ca + "/1";
        auto at = list.output.find(label);
        ASSERT_NE(at, std::string::npos) << label << "\n" << list.output;
        const std::string entry = list.output.substr(at, 300);
        EXPECT_NE(entry.find("CKA_SENSITIVE"), std::string::npos) << entry;
        EXPECT_NE(entry.find("CKA_NEVER_EXTRACTABLE"), std::string::npos) << entry;
    }

    // Without the token's PIN the directory's CA keys cannot be used: a clear refusal.
    ::setenv("SELO_TEST_TOKEN_PIN", "11111111", 1);
    auto refused = selo.selo("account create --data " + shell_quote(selo.data().string()) +
                             " --name X --latin-name 'X Y' --id-number 1234567 --email x@example.mo");
    ::setenv("SELO_TEST_TOKEN_PIN", std::string(kTestTokenPin).c_str(), 1);
    EXPECT_NE(refused.exit_code, 0);
    EXPECT_NE(refused.output.find("PIN is wrong"), std::string::npos) << refused.output;
    ::unsetenv("SELO_TEST_TOKEN_PIN");
    auto no_pin = selo.selo("account create --data " + shell_quote(selo.data().string()) +
                            " --name X --latin-name 'X Y' --id-number 1234567 --email x@example.mo");
    ::setenv("SELO_TEST_TOKEN_PIN", std::string(kTestTokenPin).c_str(), 1);
    EXPECT_NE(no_pin.exit_code, 0);
    EXPECT_NE(no_pin.output.find("SELO_TEST_TOKEN_PIN"), std::string::npos) << no_pin.output;
}

INSTANTIATE_TEST_SUITE_P(KeyStores, CaOnKeyStore, all_key_backends(), key_backend_name);

}  // namespace
}  // namespace selo::test
