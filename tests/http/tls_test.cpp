// HTTPS on the server and in the client, against independent peers: curl and `openssl s_client`
// talk to our server, our client talks to our server; the certificates are made with the
// openssl CLI, not by Selo.

#include <gtest/gtest.h>

#include "http/client.hpp"
#include "http/response.hpp"
#include "http/router.hpp"
#include "http/test_support.hpp"
#include "support/test_support.hpp"

namespace selo::http {
namespace {

namespace fs = std::filesystem;
using selo::test::have_tool;
using selo::test::read_file;
using selo::test::run;
using selo::test::shell_quote;

// Two unrelated roots; a server certificate from `root` for DNS:localhost only.
class TlsTest : public ::testing::Test {
  protected:
    void SetUp() override {
        for (const char* tool : {"openssl", "curl"}) {
            ASSERT_TRUE(have_tool(tool)) << tool << " is not installed";
        }
        const std::string d = shell_quote(dir.path().string());
        auto r = run("cd " + d + " && "
                     "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes "
                     "-keyout root.key -out root.pem -days 2 -subj /CN=Test-Root "
                     "-addext basicConstraints=critical,CA:TRUE "
                     "-addext keyUsage=critical,keyCertSign,cRLSign 2>&1 && "
                     "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes "
                     "-keyout other.key -out other.pem -days 2 -subj /CN=Other-Root 2>&1 && "
                     "openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes "
                     "-keyout server.key -out server.csr -subj /CN=localhost 2>&1 && "
                     "printf 'subjectAltName=DNS:localhost\\nextendedKeyUsage=serverAuth\\n"
                     "keyUsage=critical,digitalSignature\\nbasicConstraints=CA:FALSE\\n' > ext.cnf && "
                     "openssl x509 -req -in server.csr -CA root.pem -CAkey root.key -CAcreateserial "
                     "-days 1 -extfile ext.cnf -out server.pem 2>&1");
        ASSERT_EQ(r.exit_code, 0) << r.output;
        router.add(Verb::post, "/echo",
                   [](const Request& req, const RequestContext&, const PathParams&) {
                       return text_response(Status::ok, "got:" + req.body());
                   });
        server = std::make_unique<test::RunningServer>(test::test_limits(), router.handler(),
                                                       router.inline_handler());
        auto chain = read_file(dir.path() / "server.pem");
        auto key = read_file(dir.path() / "server.key");
        auto tls = server->server().use_tls(std::string_view(reinterpret_cast<const char*>(chain.data()),
                                                             chain.size()),
                                            key);
        ASSERT_TRUE(tls.has_value()) << tls.error().message;
    }

    std::string https(std::string_view host, std::string_view path = "/echo") const {
        return fmt::format("https://{}:{}{}", host, server->port(), path);
    }
    std::string file(std::string_view name) const { return (dir.path() / name).string(); }

    selo::test::TempDir dir;
    Router router;
    std::unique_ptr<test::RunningServer> server;
};

// Responses larger than a TLS record (16 KiB), header and body written together, arrive whole.
TEST_F(TlsTest, LargeResponsesArriveWholeOverTls) {
    router.add(Verb::get, "/big/{size}", [](const Request&, const RequestContext&, const PathParams& p) {
        std::size_t n = std::stoul(std::string(p.get("size")));
        std::string body(n, 'x');
        for (std::size_t i = 0; i < n; i += 997) {
            body[i] = static_cast<char>('a' + i % 26);
        }
        return make_response(Status::ok, std::move(body), kTextPlain);
    });
    for (std::size_t n : {100u, 16'000u, 16'384u, 40'000u, 300'000u}) {
        auto r = run("curl -sS --max-time 10 --cacert " + file("root.pem") + " " +
                     https("localhost", "/big/" + std::to_string(n)) + " | sha256sum");
        std::string body(n, 'x');
        for (std::size_t i = 0; i < n; i += 997) {
            body[i] = static_cast<char>('a' + i % 26);
        }
        const auto path = dir.path() / "expected";
        selo::test::write_file(path, body);
        auto expected = run("sha256sum < " + shell_quote(path.string()));
        EXPECT_EQ(r.exit_code, 0) << n << ": " << r.output;
        EXPECT_EQ(r.output, expected.output) << n;
    }
}

TEST_F(TlsTest, CurlTalksToTheServerOnlyWhenItTrustsTheCertificate) {
    auto ok = run("curl -sS --cacert " + file("root.pem") + " --data hello " + https("localhost"));
    EXPECT_EQ(ok.exit_code, 0) << ok.output;
    EXPECT_EQ(ok.output, "got:hello\n");
    // Another root: curl refuses the server (exit 60: peer certificate cannot be authenticated).
    auto untrusted = run("curl -sS --cacert " + file("other.pem") + " --data x " + https("localhost"));
    EXPECT_EQ(untrusted.exit_code, 60) << untrusted.output;
    // The certificate is for localhost, not 127.0.0.1.
    auto wrong_name = run("curl -sS --cacert " + file("root.pem") + " --data x " + https("127.0.0.1"));
    EXPECT_EQ(wrong_name.exit_code, 60) << wrong_name.output;
    // Plain HTTP to the TLS listener is never handled: it gets a plain 400 saying to use
    // https, and the connection closes.
    auto plain = run("curl -sS --max-time 5 -w '%{http_code}' --data x http://localhost:" +
                     std::to_string(server->port()) + "/echo");
    EXPECT_EQ(plain.exit_code, 0) << plain.output;
    EXPECT_EQ(plain.output.find("got:"), std::string::npos) << plain.output;
    EXPECT_NE(plain.output.find("this port speaks HTTPS"), std::string::npos) << plain.output;
    EXPECT_NE(plain.output.find("400"), std::string::npos) << plain.output;
    // Bytes that are neither TLS nor HTTP: closed without an answer; TLS still works after.
    auto junk = run("printf '\\001\\002\\003' | curl -sS --max-time 5 telnet://localhost:" +
                    std::to_string(server->port()) + " | wc -c");
    EXPECT_EQ(junk.output, "0\n") << junk.output;
    auto again = run("curl -sS --cacert " + file("root.pem") + " --data hello " + https("localhost"));
    EXPECT_EQ(again.output, "got:hello\n") << again.output;
}

TEST_F(TlsTest, OpensslSClientSeesModernSettingsOnly) {
    const std::string connect = "openssl s_client -connect 127.0.0.1:" + std::to_string(server->port()) +
                                " -servername localhost -verify_hostname localhost -CAfile " +
                                file("root.pem");
    auto tls13 = run("echo | " + connect + " -brief 2>&1");
    EXPECT_NE(tls13.output.find("Protocol version: TLSv1.3"), std::string::npos) << tls13.output;
    EXPECT_NE(tls13.output.find("Verification: OK"), std::string::npos) << tls13.output;
    auto tls12 = run("echo | " + connect + " -tls1_2 -brief 2>&1");
    EXPECT_NE(tls12.output.find("Protocol version: TLSv1.2"), std::string::npos) << tls12.output;
    EXPECT_NE(tls12.output.find("Ciphersuite: ECDHE-ECDSA-"), std::string::npos) << tls12.output;
    // TLS 1.1 and 1.0 are refused (the handshake fails; no protocol is agreed).
    for (const char* old : {"-tls1_1", "-tls1"}) {
        auto r = run("echo | " + connect + " " + old + " -cipher DEFAULT@SECLEVEL=0 -brief 2>&1");
        EXPECT_EQ(r.output.find("Protocol version: TLSv1.1"), std::string::npos) << old << r.output;
        EXPECT_EQ(r.output.find("Protocol version: TLSv1\n"), std::string::npos) << old << r.output;
        EXPECT_NE(r.exit_code, 0) << old << r.output;
    }
    // A CBC suite without forward secrecy is not offered.
    auto weak = run("echo | " + connect + " -tls1_2 -cipher AES128-SHA -brief 2>&1");
    EXPECT_NE(weak.exit_code, 0) << weak.output;
    // Renegotiation (s_client's "R" command over TLS 1.2) is refused with a no_renegotiation
    // alert.
    auto reneg = run("(printf 'R\\n'; sleep 1) | " + connect + " -tls1_2 2>&1");
    auto at = reneg.output.find("RENEGOTIATING");
    ASSERT_NE(at, std::string::npos) << reneg.output;
    EXPECT_NE(reneg.output.find("no renegotiation", at), std::string::npos) << reneg.output;
}

TEST_F(TlsTest, ClientVerifiesTheCertificateAndTheHostName) {
    ClientOptions trusting;
    trusting.ca_file = file("root.pem");
    auto c = Client::create(https("localhost", ""), trusting);
    ASSERT_TRUE(c.has_value()) << c.error().message;
    auto res = c->post("/echo", "secret", "text/plain");
    ASSERT_TRUE(res.has_value()) << res.error().message;
    EXPECT_EQ(res->body(), "got:secret\n");
    // Kept alive over TLS too.
    ASSERT_TRUE(c->post("/echo", "again", "text/plain").has_value());
    EXPECT_EQ(c->connections_opened(), 1u);

    // The certificate names localhost, not 127.0.0.1: refused before anything is sent.
    auto wrong = Client::create(https("127.0.0.1", ""), trusting);
    ASSERT_TRUE(wrong.has_value());
    auto refused = wrong->post("/echo", "secret", "text/plain");
    ASSERT_FALSE(refused.has_value());
    EXPECT_EQ(refused.error().code, ErrorCode::unavailable);
    EXPECT_NE(refused.error().message.find("not trusted"), std::string::npos) << refused.error().message;
    EXPECT_NE(refused.error().message.find("mismatch"), std::string::npos) << refused.error().message;

    // Another root, and the system store (which does not hold the test root): refused.
    ClientOptions other;
    other.ca_file = file("other.pem");
    for (auto& options : {other, ClientOptions{}}) {
        auto u = Client::create(https("localhost", ""), options);
        ASSERT_TRUE(u.has_value());
        auto r = u->post("/echo", "secret", "text/plain");
        ASSERT_FALSE(r.has_value());
        EXPECT_NE(r.error().message.find("not trusted"), std::string::npos) << r.error().message;
    }

    // An unreadable CA file is a clear error up front.
    ClientOptions missing;
    missing.ca_file = file("nope.pem");
    auto bad = Client::create(https("localhost", ""), missing);
    ASSERT_FALSE(bad.has_value());
    EXPECT_EQ(bad.error().code, ErrorCode::invalid_argument);
    EXPECT_NE(bad.error().message.find("nope.pem"), std::string::npos);
}

TEST_F(TlsTest, ClientSpeakingHttpsToAPlainListenerFailsCleanly) {
    Router plain_router;
    test::RunningServer plain(test::test_limits(), plain_router.handler());
    ClientOptions trusting;
    trusting.ca_file = file("root.pem");
    auto c = Client::create("https://localhost:" + std::to_string(plain.port()), trusting);
    ASSERT_TRUE(c.has_value());
    auto r = c->get("/");
    ASSERT_FALSE(r.has_value());
    EXPECT_EQ(r.error().code, ErrorCode::unavailable);
    EXPECT_NE(r.error().message.find("TLS"), std::string::npos) << r.error().message;
}

TEST_F(TlsTest, UnusableCertificatesAreRefused) {
    auto chain = read_file(dir.path() / "server.pem");
    auto other_key = read_file(dir.path() / "other.key");
    std::string_view pem(reinterpret_cast<const char*>(chain.data()), chain.size());
    auto mismatch = server->server().use_tls(pem, other_key);
    ASSERT_FALSE(mismatch.has_value());
    EXPECT_EQ(mismatch.error().code, ErrorCode::invalid_argument);
    EXPECT_FALSE(server->server().use_tls("not a certificate", other_key).has_value());
    // The server keeps serving the certificate it had.
    auto ok = run("curl -sS --cacert " + file("root.pem") + " --data still " + https("localhost"));
    EXPECT_EQ(ok.output, "got:still\n") << ok.output;
}

// Client certificates (optional, any chain: the application judges) and a plain-http listener
// beside the TLS one.
TEST_F(TlsTest, OptionalClientCertificatesReachTheHandlerAndAPlainListenerStaysPlain) {
    const std::string d = shell_quote(dir.path().string());
    auto made = run("cd " + d + " && "
                    "openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes "
                    "-keyout client.key -out client.csr -subj /CN=Agency 2>&1 && "
                    "printf 'extendedKeyUsage=clientAuth\\nkeyUsage=critical,digitalSignature\\n' > cext.cnf && "
                    "openssl x509 -req -in client.csr -CA other.pem -CAkey other.key -CAcreateserial "
                    "-days 1 -extfile cext.cnf -out client.pem 2>&1 && "
                    "openssl x509 -in client.pem -outform DER | base64 -w0 > client.b64");
    ASSERT_EQ(made.exit_code, 0) << made.output;
    Router who;
    who.add(Verb::get, "/who", [](const Request&, const RequestContext& ctx, const PathParams&) {
        return text_response(Status::ok, ctx.listener + ":" + base64_encode(as_bytes(ctx.client_certificate)));
    });
    test::RunningServer mtls(test::test_limits(), who.handler(), who.inline_handler());
    auto chain = read_file(dir.path() / "server.pem");
    auto key = read_file(dir.path() / "server.key");
    auto root = read_file(dir.path() / "root.pem");
    auto tls = mtls.server().use_tls(std::string_view(reinterpret_cast<const char*>(chain.data()), chain.size()),
                                     key, std::string_view(reinterpret_cast<const char*>(root.data()), root.size()));
    ASSERT_TRUE(tls.has_value()) << tls.error().message;
    auto plain_port = mtls.server().listen("127.0.0.1", 0, ListenOptions{"plain", true});
    ASSERT_TRUE(plain_port.has_value()) << plain_port.error().message;
    const std::string base = "https://localhost:" + std::to_string(mtls.port()) + "/who";

    auto with = run("curl -sS --cacert " + file("root.pem") + " --cert " + file("client.pem") + " --key " +
                    file("client.key") + " " + base);
    auto expected = read_file(dir.path() / "client.b64");
    EXPECT_EQ(with.output, ":" + std::string(reinterpret_cast<const char*>(expected.data()), expected.size()) + "\n");
    auto without = run("curl -sS --cacert " + file("root.pem") + " " + base);
    EXPECT_EQ(without.output, ":\n");
    // The CertificateRequest names the acceptable CA.
    auto names = run("echo | openssl s_client -connect 127.0.0.1:" + std::to_string(mtls.port()) +
                     " -servername localhost 2>&1");
    EXPECT_NE(names.output.find("Acceptable client certificate CA names\nCN = Test-Root"), std::string::npos)
        << names.output;
    auto plain = run("curl -sS http://127.0.0.1:" + std::to_string(*plain_port) + "/who");
    EXPECT_EQ(plain.output, "plain:\n");
    auto tls_to_plain = run("curl -sS --max-time 5 -k https://127.0.0.1:" + std::to_string(*plain_port) + "/who");
    EXPECT_NE(tls_to_plain.exit_code, 0) << tls_to_plain.output;
}

}  // namespace
}  // namespace selo::http
