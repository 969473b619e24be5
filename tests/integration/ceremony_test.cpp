// The root key ceremony end to end: an offline root in its own data directory certifies the
// online issuing CAs (csr -> sign -> import), and the server then serves chains to it. Checked
// with openssl verify -x509_strict and GnuTLS certtool, not with Selo's own parsers.

#include <gtest/gtest.h>

#include <boost/json.hpp>

#include <fstream>

#include "core/bytes.hpp"
#include "integration/selo_instance.hpp"
#include "support/test_support.hpp"

namespace selo::test {
namespace {

namespace fs = std::filesystem;
namespace json = boost::json;

bool contains(const std::string& s, std::string_view what) { return s.find(what) != std::string::npos; }

// The online directory's CA keys on each key store (with PKCS#11 the requests are signed inside
// the token); the offline root keeps its own software store.
class RootKeyCeremony : public ::testing::TestWithParam<KeyBackend> {};

TEST_P(RootKeyCeremony, OfflineRootCertifiesTheOnlineCasAndTheServerChainsToIt) {
    ASSERT_TRUE(have_tool("certtool")) << "certtool is not installed";
    SeloInstance s;
    s.key_backend = GetParam();
    s.tls = true;  // the TLS certificate is issued at start-up, by the re-certified infrastructure CA
    fs::path off, root_crt;
    s.before_serve = [&]() -> std::string {
        const fs::path d = s.dir();
        off = d / "offline";
        root_crt = d / "offline-root.crt";
        auto q = [](const fs::path& p) { return shell_quote(p.string()); };
        auto init = s.selo("ca ceremony init-root --data " + q(off) + " --public-url " + s.base() +
                           " -o " + q(root_crt));
        if (init.exit_code != 0) {
            return "init-root: " + init.output;
        }
        EXPECT_TRUE(contains(init.output, "SHA-256 fingerprint")) << init.output;

        // The offline directory is never served.
        auto serve = run("timeout 20 " + q(SeloInstance::binary()) + " serve --data " + q(off) +
                         " --listen 127.0.0.1:" + std::to_string(free_port()));
        EXPECT_EQ(serve.exit_code, 1) << serve.output;
        EXPECT_TRUE(contains(serve.output, "offline root")) << serve.output;
        // Nor does the online directory sign ceremony requests.
        auto wrong_side = s.selo("ca ceremony sign --data " + q(s.data()) + " --csr /dev/null -o " + q(d / "x.crt"));
        EXPECT_NE(wrong_side.exit_code, 0);
        EXPECT_TRUE(contains(wrong_side.output, "not an offline root")) << wrong_side.output;

        std::vector<std::string> certs;
        for (std::string ca : {"natural-persons", "institutions", "infrastructure"}) {
            fs::path csr = d / (ca + ".csr"), crt = d / (ca + ".crt");
            auto r = s.selo("ca ceremony csr --data " + q(s.data()) + " --ca " + ca + " -o " + q(csr));
            if (r.exit_code != 0) {
                return "csr: " + r.output;
            }
            // An independent check of the request: its self-signature and subject.
            auto req = run("openssl req -in " + q(csr) + " -noout -verify -subject");
            EXPECT_EQ(req.exit_code, 0) << req.output;
            EXPECT_TRUE(contains(req.output, "verify OK")) << req.output;
            r = s.selo("ca ceremony sign --data " + q(off) + " --csr " + q(csr) + " -o " + q(crt));
            if (r.exit_code != 0) {
                return "sign: " + r.output;
            }
            certs.push_back(" --certificate " + q(crt));
        }

        // A request whose signature was altered is refused (openssl agrees it is broken).
        fs::path der = d / "np.csr.der", broken = d / "broken.csr";
        EXPECT_EQ(run("openssl req -in " + q(d / "natural-persons.csr") + " -outform DER -out " + q(der)).exit_code, 0);
        Bytes b = read_file(der);
        b.back() ^= 0x01;
        write_file(broken, ByteView(b));
        // (openssl 3.0 `req -verify` exits 0 either way; its message tells.)
        auto openssl_view = run("openssl req -inform DER -in " + q(broken) + " -noout -verify");
        EXPECT_TRUE(contains(openssl_view.output, "verify failure")) << openssl_view.output;
        auto bad = s.selo("ca ceremony sign --data " + q(off) + " --csr " + q(broken) + " -o " + q(d / "broken.crt"));
        EXPECT_EQ(bad.exit_code, 1) << bad.output;
        EXPECT_TRUE(contains(bad.output, "does not verify")) << bad.output;
        EXPECT_FALSE(fs::exists(d / "broken.crt"));
        auto garbage = s.selo("ca ceremony sign --data " + q(off) + " --csr " + q(root_crt) + " -o " + q(d / "g.crt"));
        EXPECT_EQ(garbage.exit_code, 1) << garbage.output;
        EXPECT_TRUE(contains(garbage.output, "not a PKCS#10")) << garbage.output;

        // A certificate for another directory's key is refused.
        fs::path other = d / "other";
        EXPECT_EQ(s.selo("init --data " + q(other) + " --public-url " + s.base()).exit_code, 0);
        EXPECT_EQ(s.selo("ca ceremony csr --data " + q(other) + " --ca natural-persons -o " + q(d / "other.csr")).exit_code, 0);
        EXPECT_EQ(s.selo("ca ceremony sign --data " + q(off) + " --csr " + q(d / "other.csr") + " -o " + q(d / "other.crt")).exit_code, 0);
        auto foreign = s.selo("ca ceremony import --data " + q(s.data()) + " --root " + q(root_crt) +
                              " --certificate " + q(d / "other.crt"));
        EXPECT_EQ(foreign.exit_code, 1) << foreign.output;
        EXPECT_TRUE(contains(foreign.output, "none of this directory's issuing CAs")) << foreign.output;
        // A certificate passed as the root is refused.
        auto not_root = s.selo("ca ceremony import --data " + q(s.data()) + " --root " +
                               q(d / "institutions.crt") + certs[0] + certs[1] + certs[2]);
        EXPECT_EQ(not_root.exit_code, 1) << not_root.output;
        EXPECT_TRUE(contains(not_root.output, "not a self-signed")) << not_root.output;
        // A new root must take every CA of the old one along.
        auto partial = s.selo("ca ceremony import --data " + q(s.data()) + " --root " + q(root_crt) + certs[0]);
        EXPECT_EQ(partial.exit_code, 1) << partial.output;
        EXPECT_TRUE(contains(partial.output, "missing: infrastructure, institutions")) << partial.output;

        auto imported = s.selo("ca ceremony import --data " + q(s.data()) + " --root " + q(root_crt) +
                               certs[0] + certs[1] + certs[2]);
        if (imported.exit_code != 0) {
            return "import: " + imported.output;
        }
        EXPECT_TRUE(contains(imported.output, "CA 'natural-persons' is now certified by the offline root"))
            << imported.output;
        // The online root key `selo init` made is destroyed: its record keeps the public key
        // only (no sealed blob, no token object), like the offline root's own.
        EXPECT_TRUE(contains(imported.output, "The old online root key 'ca/root/1' is destroyed")) << imported.output;
        auto keys = run("sqlite3 " + q(s.data() / "selo.db") +
                        " \"SELECT id, backend, length(sealed_private_key), token_object_id IS NULL FROM keys"
                        " WHERE id LIKE 'ca/root/%' ORDER BY id\"");
        EXPECT_EQ(keys.exit_code, 0) << keys.output;
        EXPECT_TRUE(contains(keys.output, "ca/root/1|offline|0|1\n")) << keys.output;
        EXPECT_TRUE(contains(keys.output, "ca/root/offline/")) << keys.output;
        auto audit = run("sqlite3 " + q(s.data() / "selo.db") +
                         " \"SELECT detail FROM audit_log WHERE action = 'ca.ceremony.destroy-old-root-key'\"");
        EXPECT_EQ(audit.output, "ca/root/1\n") << audit.output;
        return {};
    };
    std::string error = s.start();
    ASSERT_EQ(error, "") << error;
    const std::string d = s.dir().string();
    const std::string root = root_crt.string();

    // The server publishes the offline root (start() fetched /ca/root.crt and the natural-persons CA).
    auto same = run("openssl x509 -in " + root + " -outform DER -out " + d + "/offline-root.der && cmp " +
                    d + "/offline-root.der " + d + "/root.der");
    EXPECT_EQ(same.exit_code, 0) << same.output;
    auto np = run("openssl verify -x509_strict -CAfile " + root + " " + d + "/np.pem");
    EXPECT_EQ(np.exit_code, 0) << np.output;

    // The TLS chain the server presents ends at the offline root.
    auto chain = run("echo | openssl s_client -connect 127.0.0.1:" + std::to_string(s.port()) +
                     " -showcerts 2>/dev/null | awk '/BEGIN CERT/,/END CERT/' > " + d +
                     "/served.pem && csplit -s -z -f " + d + "/served- " + d + "/served.pem '/BEGIN CERT/' '{*}'");
    ASSERT_EQ(chain.exit_code, 0) << chain.output;
    auto tls = run("openssl verify -x509_strict -purpose sslserver -CAfile " + root + " -untrusted " + d +
                   "/served-01 " + d + "/served-00");
    EXPECT_EQ(tls.exit_code, 0) << tls.output;
    auto tls_gnutls = run("cat " + d + "/served-00 " + d + "/served-01 " + root + " > " + d +
                          "/tls-full.pem && certtool --verify-chain --verify-profile=high --infile " + d + "/tls-full.pem");
    EXPECT_EQ(tls_gnutls.exit_code, 0) << tls_gnutls.output;
    EXPECT_TRUE(contains(tls_gnutls.output, "Chain verification output: Verified")) << tls_gnutls.output;

    // A citizen certified afterwards chains to the offline root.
    Holder c = s.enrol("梁美玲", "LEONG Mei Ling", "1357913(5)", "leong@example.mo", "246813");
    std::string token = s.csc_login(c);
    json::object body{{"credentialID", c.credential}, {"certificates", "chain"}};
    auto info = s.post("/csc/v2/credentials/info", json::serialize(body), {"Authorization: Bearer " + token});
    ASSERT_EQ(info.status, 200) << info.raw;
    const auto& list = info.body.as_object().at("cert").as_object().at("certificates").as_array();
    ASSERT_EQ(list.size(), 3u);
    std::string pems;
    for (std::size_t i = 0; i < list.size(); ++i) {
        auto der = base64_decode(std::string(list[i].as_string()));
        ASSERT_TRUE(der.has_value());
        const std::string f = d + "/citizen-" + std::to_string(i);
        write_file(f + ".der", ByteView(*der));
        ASSERT_EQ(run("openssl x509 -inform DER -in " + f + ".der -out " + f + ".pem").exit_code, 0);
        pems += " " + f + ".pem";
    }
    auto served_root = run("cmp " + d + "/citizen-2.der " + d + "/offline-root.der");
    EXPECT_EQ(served_root.exit_code, 0) << "the credential's chain ends at the offline root";
    auto citizen = run("openssl verify -x509_strict -CAfile " + root + " -untrusted " + d + "/citizen-1.pem " +
                       d + "/citizen-0.pem");
    EXPECT_EQ(citizen.exit_code, 0) << citizen.output;
    auto citizen_gnutls = run("cat" + pems + " > " + d + "/citizen-full.pem && certtool --verify-chain "
                              "--verify-profile=high --infile " + d + "/citizen-full.pem");
    EXPECT_EQ(citizen_gnutls.exit_code, 0) << citizen_gnutls.output;
    EXPECT_TRUE(contains(citizen_gnutls.output, "Chain verification output: Verified")) << citizen_gnutls.output;
    auto trusted = run("cat " + d + "/citizen-0.pem " + d + "/citizen-1.pem > " + d +
                       "/citizen-chain.pem && certtool --verify --load-ca-certificate " + root +
                       " --infile " + d + "/citizen-chain.pem");
    EXPECT_EQ(trusted.exit_code, 0) << trusted.output;
    EXPECT_TRUE(contains(trusted.output, "Chain verification output: Verified")) << trusted.output;

    // A CA added to the configuration under the offline root is refused with a clear reason.
    s.stop();
    std::ofstream(s.data() / "selo.toml", std::ios::app)
        << "\n[[pki.authority]]\nname = \"extra\"\nrole = \"issuing\"\nparent = \"root\"\n"
           "common_name = \"Selo Trust Services Extra CA\"\nkey = \"ec-p384\"\nprofiles = [\"tls-server\"]\n";
    auto extra = s.selo("ca ceremony csr --data " + shell_quote(s.data().string()) +
                        " --ca natural-persons -o " + d + "/again.csr");
    EXPECT_EQ(extra.exit_code, 1) << extra.output;
    EXPECT_TRUE(contains(extra.output, "its parent 'root' is an offline root")) << extra.output;
}

INSTANTIATE_TEST_SUITE_P(KeyStores, RootKeyCeremony, all_key_backends(), key_backend_name);

}  // namespace
}  // namespace selo::test
