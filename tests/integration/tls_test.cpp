// `selo serve` over HTTPS with the certificate it issues itself (infrastructure CA, tls-server
// profile), and `selo sign --ca-file` against it. Independent peers: curl, openssl s_client and
// verify, GnuTLS certtool, pdfsig.

#include <gtest/gtest.h>

#include "integration/selo_instance.hpp"
#include "support/test_support.hpp"

namespace selo::test {
namespace {

namespace fs = std::filesystem;

class TlsEndToEnd : public ::testing::Test {
protected:
    static void SetUpTestSuite() {
        selo = new SeloInstance();
        selo->tls = true;
        error = new std::string(selo->start());
    }
    static void TearDownTestSuite() {
        delete selo;
        selo = nullptr;
        delete error;
    }
    void SetUp() override {
        for (const char* tool : {"certtool", "pdfsig"}) {
            ASSERT_TRUE(have_tool(tool)) << tool << " is not installed";
        }
        ASSERT_EQ(*error, "");
    }

    static std::string port() { return std::to_string(selo->port()); }
    static std::string root() { return shell_quote(selo->root_pem().string()); }

    CommandResult sign(const Holder& c, const std::string& server, const std::string& extra,
                       const fs::path& out) {
        const fs::path in = fs::path(SELO_TEST_DATA) / "pdf" / "classic.pdf";
        return run(shell_quote(SeloInstance::binary().string()) + " sign --server " + server +
                   " --user " + c.username + " --password " + shell_quote(c.password) + " --pin " +
                   c.pin + " --otp " + SeloInstance::otp(c) + " " + extra + " " +
                   shell_quote(in.string()) + " -o " + shell_quote(out.string()));
    }

    static inline SeloInstance* selo = nullptr;
    static inline std::string* error = nullptr;
};

TEST_F(TlsEndToEnd, CurlAndOpensslAcceptTheServerOnlyForItsOwnName) {
    auto ok = run("curl -sS --cacert " + root() + " https://127.0.0.1:" + port() + "/healthz");
    EXPECT_EQ(ok.exit_code, 0) << ok.output;
    // The certificate names the public URL's host (127.0.0.1), not localhost.
    auto wrong = run("curl -sS --cacert " + root() + " https://localhost:" + port() + "/healthz");
    EXPECT_EQ(wrong.exit_code, 60) << wrong.output;
    // Without Selo's root, the system store does not vouch for it.
    auto untrusted = run("curl -sS https://127.0.0.1:" + port() + "/healthz");
    EXPECT_EQ(untrusted.exit_code, 60) << untrusted.output;
    // Plain http to the TLS listener gets no answer.
    auto plain = run("curl -sS --max-time 5 http://127.0.0.1:" + port() + "/healthz");
    EXPECT_NE(plain.exit_code, 0) << plain.output;

    const std::string d = selo->dir().string();
    auto s = run("echo | openssl s_client -connect 127.0.0.1:" + port() + " -CAfile " + root() +
                 " -verify_ip 127.0.0.1 -verify_return_error -brief 2>&1");
    EXPECT_NE(s.output.find("Verification: OK"), std::string::npos) << s.output;
    EXPECT_NE(s.output.find("Protocol version: TLSv1.3"), std::string::npos) << s.output;
    auto old = run("echo | openssl s_client -connect 127.0.0.1:" + port() +
                   " -tls1_1 -cipher DEFAULT@SECLEVEL=0 -brief 2>&1");
    EXPECT_NE(old.exit_code, 0) << old.output;
    EXPECT_EQ(old.output.find("CONNECTION ESTABLISHED"), std::string::npos) << old.output;
    auto bad_ip = run("echo | openssl s_client -connect 127.0.0.1:" + port() + " -CAfile " + root() +
                      " -verify_ip 127.0.0.2 -verify_return_error -brief 2>&1");
    EXPECT_EQ(bad_ip.output.find("Verification: OK"), std::string::npos) << bad_ip.output;

    // The served chain (leaf, infrastructure CA) verifies strictly with openssl and GnuTLS.
    auto chain = run("echo | openssl s_client -connect 127.0.0.1:" + port() +
                     " -showcerts 2>/dev/null | awk '/BEGIN CERT/,/END CERT/' > " + d +
                     "/served.pem && csplit -s -z -f " + d + "/served- " + d +
                     "/served.pem '/BEGIN CERT/' '{*}' && ls " + d + "/served-*");
    ASSERT_EQ(chain.exit_code, 0) << chain.output;
    const std::string leaf = d + "/served-00";
    const std::string infra = d + "/served-01";
    auto verify = run("openssl verify -x509_strict -purpose sslserver -CAfile " + root() +
                      " -untrusted " + infra + " " + leaf);
    EXPECT_EQ(verify.exit_code, 0) << verify.output;
    auto text = run("openssl x509 -in " + leaf + " -noout -ext subjectAltName,extendedKeyUsage -issuer");
    EXPECT_NE(text.output.find("IP Address:127.0.0.1"), std::string::npos) << text.output;
    EXPECT_NE(text.output.find("TLS Web Server Authentication"), std::string::npos) << text.output;
    EXPECT_NE(text.output.find("Infrastructure CA"), std::string::npos) << text.output;
    auto certtool = run("cat " + leaf + " " + infra + " " + d + "/root.pem > " + d +
                        "/full.pem && certtool --verify-chain --verify-profile=high --infile " + d +
                        "/full.pem");
    EXPECT_EQ(certtool.exit_code, 0) << certtool.output;
    EXPECT_NE(certtool.output.find("Chain verification output: Verified"), std::string::npos)
        << certtool.output;
}

TEST_F(TlsEndToEnd, SeloSignOverHttpsTrustsOnlyWhatItIsTold) {
    Holder c = selo->enrol("João Conceição", "João Conceição", "7123456(1)", "joao@example.mo", "135790");
    const fs::path out = selo->dir() / "signed.pdf";
    auto ok = sign(c, selo->base(), "--ca-file " + root(), out);
    ASSERT_EQ(ok.exit_code, 0) << ok.output;
    auto sigs = pdfsig(out, selo->nss());
    ASSERT_EQ(sigs.size(), 1u);
    EXPECT_EQ(sigs[0].validation, "Signature is Valid.");
    // Not checked here: pdfsig's trust verdict. With an https public URL the certificate's OCSP
    // URL is https too, which NSS's OCSP fetcher does not speak, so pdfsig cannot reach the
    // responder (an open item: status URLs over plain http beside a TLS listener). The
    // plain-http signing suites check the trust verdict with OCSP.

    // Refused before any secret is sent: wrong host name, untrusted certificate, plain http to
    // another machine. No output file in any case.
    const fs::path none = selo->dir() / "never.pdf";
    auto wrong = sign(c, "https://localhost:" + port(), "--ca-file " + root(), none);
    EXPECT_NE(wrong.exit_code, 0);
    EXPECT_NE(wrong.output.find("not trusted"), std::string::npos) << wrong.output;
    auto untrusted = sign(c, selo->base(), "", none);
    EXPECT_NE(untrusted.exit_code, 0);
    EXPECT_NE(untrusted.output.find("not trusted"), std::string::npos) << untrusted.output;
    auto other_ca = sign(c, selo->base(), "--ca-file " + shell_quote(selo->dir().string() + "/np.pem"), none);
    EXPECT_NE(other_ca.exit_code, 0);
    EXPECT_NE(other_ca.output.find("not trusted"), std::string::npos) << other_ca.output;
    auto clear = sign(c, "http://192.0.2.1:" + port(), "", none);
    EXPECT_NE(clear.exit_code, 0);
    EXPECT_NE(clear.output.find("in clear"), std::string::npos) << clear.output;
    EXPECT_FALSE(fs::exists(none));
}

}  // namespace
}  // namespace selo::test
