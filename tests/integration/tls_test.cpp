// `selo serve` over HTTPS with the certificate it issues itself (infrastructure CA, tls-server
// profile), and `selo sign --ca-file` against it. Independent peers: curl, openssl s_client and
// verify, GnuTLS certtool, pdfsig.

#include <gtest/gtest.h>

#include <boost/json.hpp>

#include "integration/selo_instance.hpp"
#include "support/test_support.hpp"

namespace selo::test {
namespace {

namespace fs = std::filesystem;

// The serial of the certificate whose subject contains `subject_part`, from the output of
// `selo ca list --json`; empty when none does.
std::string serial_in_listing(const std::string& listing, std::string_view subject_part) {
    const boost::json::value rows = boost::json::parse(listing);  // outlives the loop
    for (const auto& v : rows.as_array()) {
        if (std::string_view(v.at("subject").as_string()).find(subject_part) != std::string_view::npos) {
            return std::string(v.at("serial").as_string());
        }
    }
    return "";
}

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

    // curl ARGS (already quoted): the HTTP status and the body.
    static std::pair<int, std::string> fetch(const std::string& args) {
        const fs::path body = selo->dir() / "fetched";
        std::error_code ec;
        fs::remove(body, ec);
        auto r = run("curl -s -o " + shell_quote(body.string()) + " -w '%{http_code}' " + args);
        std::string text = fs::exists(body) ? std::string(as_chars(read_file(body))) : "";
        return {std::atoi(r.output.c_str()), text};
    }
    static std::string repo() { return selo->repository_base(); }
    static std::string in_dir(const std::string& cmd) {
        return "cd " + shell_quote(selo->dir().string()) + " && " + cmd;
    }

    static inline SeloInstance* selo = nullptr;
    static inline std::string* error = nullptr;
};

TEST_F(TlsEndToEnd, CurlAndOpensslAcceptTheServerOnlyForItsOwnName) {
    auto ok = run("curl -sS --cacert " + root() + " https://127.0.0.1:" + port() + "/healthz");
    EXPECT_EQ(ok.exit_code, 0) << ok.output;
    // selo timestamp over https, trusting Selo's root with --ca-file (and not without it).
    const std::string doc = (selo->dir() / "ts-doc.txt").string();
    run("echo 'time-stamp me' > " + shell_quote(doc));
    const std::string bin = shell_quote(SeloInstance::binary().string());
    auto ts = run(bin + " timestamp " + shell_quote(doc) + " --server https://127.0.0.1:" + port() + " --ca-file " +
                  root() + " -q -o " + shell_quote(doc + ".tsr"));
    EXPECT_EQ(ts.exit_code, 0) << ts.output;
    auto untrusted_ts = run(bin + " timestamp " + shell_quote(doc) + " --server https://127.0.0.1:" + port() +
                            " -q -f -o " + shell_quote(doc + "-2.tsr"));
    EXPECT_EQ(untrusted_ts.exit_code, 1) << untrusted_ts.output;
    EXPECT_NE(untrusted_ts.output.find("--ca-file"), std::string::npos) << untrusted_ts.output;
    // The certificate names the public URL's host (127.0.0.1), not localhost.
    auto wrong = run("curl -sS --cacert " + root() + " https://localhost:" + port() + "/healthz");
    EXPECT_EQ(wrong.exit_code, 60) << wrong.output;
    // Without Selo's root, the system store does not vouch for it.
    auto untrusted = run("curl -sS https://127.0.0.1:" + port() + "/healthz");
    EXPECT_EQ(untrusted.exit_code, 60) << untrusted.output;
    // Plain http to the TLS listener is not served: a plain 400 says to use https.
    auto plain = run("curl -sS --max-time 5 -w ' %{http_code}' http://127.0.0.1:" + port() + "/healthz");
    EXPECT_EQ(plain.output, "this port speaks HTTPS: use an https:// URL\n 400") << plain.output;

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
    // The certificate names the plain-http repository listener for OCSP (NSS does not fetch
    // https OCSP URLs): pdfsig asks Selo's responder there and trusts the signature, until an
    // officer revokes the certificate.
    EXPECT_EQ(sigs[0].certificate, "Certificate is Trusted.");
    auto list = selo->selo("ca list --data " + shell_quote(selo->data().string()) +
                               " --ca natural-persons --status valid --json",
                           true);
    ASSERT_EQ(list.exit_code, 0) << list.output;
    const std::string serial = serial_in_listing(list.output, "IDCMO-7123456(1)");
    ASSERT_FALSE(serial.empty()) << list.output;
    auto revoke = selo->selo("ca revoke --data " + shell_quote(selo->data().string()) + " --serial " +
                             serial + " --reason keyCompromise");
    ASSERT_EQ(revoke.exit_code, 0) << revoke.output;
    auto after = pdfsig(out, selo->nss());
    ASSERT_EQ(after.size(), 1u);
    EXPECT_EQ(after[0].certificate, "Certificate has been Revoked.");
    EXPECT_EQ(after[0].validation, "Signature is Valid.");

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

// [server] repository_listen: plain http beside the TLS listener, for CA certificates, CRLs and
// OCSP only. openssl and curl as relying parties.
TEST_F(TlsEndToEnd, RepositoryListenerServesOnlyStatusOverPlainHttp) {
    ASSERT_FALSE(repo().empty());
    // The issuing CA's certificate names the plain listener for its issuer and status.
    auto aia = run("openssl x509 -in " + shell_quote(selo->dir().string() + "/np.pem") + " -noout -text");
    EXPECT_NE(aia.output.find("CA Issuers - URI:" + repo() + "/ca/root.crt"), std::string::npos) << aia.output;
    EXPECT_NE(aia.output.find(repo() + "/crl/root.crl"), std::string::npos) << aia.output;

    auto [ca_status, ca_der] = fetch(shell_quote(repo() + "/ca/natural-persons.crt"));
    EXPECT_EQ(ca_status, 200);
    write_file(selo->dir() / "np-plain.der", ca_der);
    EXPECT_EQ(run(in_dir("openssl x509 -inform DER -in np-plain.der -noout -subject")).exit_code, 0);
    auto [crl_status, crl] = fetch(shell_quote(repo() + "/crl/natural-persons.crl"));
    EXPECT_EQ(crl_status, 200);
    write_file(selo->dir() / "np.crl", crl);
    auto crl_ok = run(in_dir("openssl crl -inform DER -in np.crl -CAfile np.pem -noout 2>&1"));
    EXPECT_NE(crl_ok.output.find("verify OK"), std::string::npos) << crl_ok.output;

    // OCSP by POST (openssl ocsp) and by GET (curl), for a certificate of the CA.
    Holder h = selo->enrol("李小龍", "LEE Siu Lung", "7654321(0)", "lee@example.mo", "246810");
    auto list = selo->selo("ca list --data " + shell_quote(selo->data().string()) +
                               " --ca natural-persons --status valid --json", true);
    const std::string serial = serial_in_listing(list.output, "IDCMO-7654321(0)");
    ASSERT_FALSE(serial.empty()) << list.output;
    auto ocsp = run(in_dir("openssl ocsp -issuer np.pem -serial 0x" + serial + " -url " + repo() +
                           "/ocsp -CAfile root.pem -verify_other np.pem -reqout req.der 2>&1"));
    EXPECT_NE(ocsp.output.find("Response verify OK"), std::string::npos) << ocsp.output;
    EXPECT_NE(ocsp.output.find("0x" + serial + ": good"), std::string::npos) << ocsp.output;
    auto get = run(in_dir("curl -sf -o resp.der " + shell_quote(repo()) +
                          "/ocsp/$(base64 -w0 req.der | sed 's/+/%2B/g; s,/,%2F,g; s/=/%3D/g') && "
                          "openssl ocsp -respin resp.der -no_nonce -issuer np.pem -serial 0x" + serial +
                          " -CAfile root.pem -verify_other np.pem 2>&1"));
    EXPECT_NE(get.output.find("0x" + serial + ": good"), std::string::npos) << get.output;

    // Nothing else is reachable there: sign-in, CSC, /api/v1, health, and no way around it.
    for (const auto& [method, path] : std::vector<std::pair<std::string, std::string>>{
             {"POST", "/api/v1/auth/login"}, {"GET", "/api/v1/openapi.json"}, {"GET", "/api/v1/me"},
             {"POST", "/csc/v2/info"}, {"POST", "/csc/v2/auth/login"}, {"GET", "/healthz"},
             {"POST", "/tsa"}, {"GET", "/ca/../api/v1/openapi.json"}, {"GET", "/"}}) {
        auto [status, body] = fetch("--path-as-is -X " + method + " -d '{}' " + shell_quote(repo() + path));
        EXPECT_EQ(status, 404) << method << " " << path << ": " << body;
        if (path == "/api/v1/auth/login") {
            EXPECT_NE(body.find(selo->base()), std::string::npos) << body;
        }
    }
    // Plain http only; the TLS listener still serves everything, status included.
    EXPECT_NE(run("curl -sS --max-time 5 -k https://" + repo().substr(7) + "/ca/root.crt").exit_code, 0);
    EXPECT_EQ(fetch("--cacert " + root() + " " + selo->base() + "/crl/natural-persons.crl").first, 200);
    EXPECT_EQ(fetch("--cacert " + root() + " " + selo->base() + "/api/v1/openapi.json").first, 200);
}

// Agencies sign in with a certificate of the institutions CA over mutual TLS.
TEST_F(TlsEndToEnd, AgencySendsWithItsClientCertificateUntilItIsRevoked) {
    Holder agency = selo->enrol("澳門郵電局", "Direccao dos Servicos de Correios", "AG-0007",
                                "ctt@gov.example.mo", "", {"agency"}, "staff-card");
    Holder citizen = selo->enrol("陳小明", "CHAN Siu Ming", "5123456(7)", "chan.siuming@example.mo", "");
    Holder other = selo->enrol("黃大仙", "WONG Tai Sin", "5987654(3)", "wong@example.mo", "");
    const std::string data = shell_quote(selo->data().string());
    auto issued = selo->selo("ca issue --data " + data + " --profile government-entity-signing "
                             "--organization 'Direcção dos Serviços de Correios' "
                             "--organization-identifier NTRMO-00077 --generate-key --key-out " +
                             shell_quote(selo->dir().string() + "/agency.key") + " -o " +
                             shell_quote(selo->dir().string() + "/agency.pem"));
    ASSERT_EQ(issued.exit_code, 0) << issued.output;
    const std::string cert = "--cacert " + root() + " --cert " + shell_quote(selo->dir().string() + "/agency.pem") +
                             " --key " + shell_quote(selo->dir().string() + "/agency.key") + " ";

    // Not bound yet: a clear 401.
    auto [unbound, unbound_body] = fetch(cert + selo->base() + "/api/v1/me");
    EXPECT_EQ(unbound, 401) << unbound_body;
    EXPECT_NE(unbound_body.find("not bound"), std::string::npos) << unbound_body;
    // Only to an agency.
    auto to_citizen = selo->selo("account bind-certificate --data " + data + " --account " +
                                 citizen.account_id + " --cert " + shell_quote(selo->dir().string() + "/agency.pem"));
    EXPECT_NE(to_citizen.exit_code, 0);
    EXPECT_NE(to_citizen.output.find("not an agency"), std::string::npos) << to_citizen.output;
    auto bound = selo->selo("account bind-certificate --data " + data + " --account " + agency.account_id +
                            " --cert " + shell_quote(selo->dir().string() + "/agency.pem"), true);
    ASSERT_EQ(bound.exit_code, 0) << bound.output;
    auto again = selo->selo("account bind-certificate --data " + data + " --account " + agency.account_id +
                            " --cert " + shell_quote(selo->dir().string() + "/agency.pem"));
    EXPECT_NE(again.exit_code, 0);
    EXPECT_NE(again.output.find("already"), std::string::npos) << again.output;
    const std::string serial = bound.output.substr(18, bound.output.find(" ", 18) - 18);

    auto [me, me_body] = fetch(cert + selo->base() + "/api/v1/me");
    EXPECT_EQ(me, 200) << me_body;
    EXPECT_NE(me_body.find(agency.account_id), std::string::npos) << me_body;
    boost::json::object letter{{"recipients", boost::json::array{citizen.account_id}},
                               {"subject", "Aviso de chegada — 到件通知"},
                               {"body_text", "A parcel awaits you."},
                               {"category", "notification"}};
    write_file(selo->dir() / "letter.json", boost::json::serialize(letter));
    auto [sent, sent_body] = fetch(cert + "-H 'Content-Type: application/json' --data-binary @" +
                                   shell_quote(selo->dir().string() + "/letter.json") + " " +
                                   selo->base() + "/api/v1/sepbox/messages");
    ASSERT_EQ(sent, 200) << sent_body;
    EXPECT_NE(sent_body.find("\"accepted\""), std::string::npos) << sent_body;
    auto inbox = selo->get("/api/v1/sepbox/messages",
                           {"Authorization: Bearer " + selo->api_login(citizen)});
    EXPECT_NE(inbox.raw.find("Aviso de chegada"), std::string::npos) << inbox.raw;
    // Attachments beyond the general body limit (1 MiB) get the SEPBox limit, as with a token.
    boost::json::object big = letter;
    big["attachments"] = boost::json::array{boost::json::object{
        {"filename", "relatório.pdf"}, {"media_type", "application/pdf"},
        {"content", base64_encode(as_bytes(std::string(2 * 1024 * 1024, 'P')))}}};
    write_file(selo->dir() / "big.json", boost::json::serialize(big));
    auto [big_sent, big_body] = fetch(cert + "-H 'Content-Type: application/json' --data-binary @" +
                                      shell_quote(selo->dir().string() + "/big.json") + " " +
                                      selo->base() + "/api/v1/sepbox/messages");
    EXPECT_EQ(big_sent, 200) << big_body.substr(0, 300);
    // The certificate stands for the agency only: roles still apply.
    EXPECT_EQ(fetch(cert + selo->base() + "/api/v1/certificates").first, 403);
    // A token, when sent, decides: a bad one is refused even with a good certificate.
    EXPECT_EQ(fetch(cert + "-H 'Authorization: Bearer nonsense' " + selo->base() + "/api/v1/me").first, 401);

    // No certificate: a bearer token is still required, and works.
    auto [anonymous, anonymous_body] = fetch("--cacert " + root() + " " + selo->base() + "/api/v1/me");
    EXPECT_EQ(anonymous, 401) << anonymous_body;
    EXPECT_EQ(selo->get("/api/v1/me", {"Authorization: Bearer " + selo->api_login(agency)}).status, 200);

    // Suspended, then revoked: refused from the next request on.
    ASSERT_EQ(selo->selo("ca suspend --data " + data + " --serial " + serial).exit_code, 0);
    auto [held, held_body] = fetch(cert + selo->base() + "/api/v1/me");
    EXPECT_EQ(held, 401) << held_body;
    EXPECT_NE(held_body.find("suspended"), std::string::npos) << held_body;
    ASSERT_EQ(selo->selo("ca resume --data " + data + " --serial " + serial).exit_code, 0);
    EXPECT_EQ(fetch(cert + selo->base() + "/api/v1/me").first, 200);
    ASSERT_EQ(selo->selo("ca revoke --data " + data + " --serial " + serial + " --reason keyCompromise").exit_code, 0);
    auto [revoked, revoked_body] = fetch(cert + "-H 'Content-Type: application/json' --data-binary @" +
                                         shell_quote(selo->dir().string() + "/letter.json") + " " +
                                         selo->base() + "/api/v1/sepbox/messages");
    EXPECT_EQ(revoked, 401) << revoked_body;
    EXPECT_NE(revoked_body.find("revoked"), std::string::npos) << revoked_body;

    // Each sign-in by certificate, each refusal and the binding are in the audit trail.
    const std::string db = shell_quote((selo->data() / "selo.db").string());
    auto audited = [&](const std::string& where) {
        auto r = run("sqlite3 " + db + " \"SELECT count(*) FROM audit_log WHERE " + where + "\"");
        EXPECT_EQ(r.exit_code, 0) << r.output;
        return std::atoi(r.output.c_str());
    };
    EXPECT_GE(audited("action = 'auth.certificate' AND actor = '" + agency.account_id + "'"), 3);
    EXPECT_GE(audited("action = 'auth.certificate.failure' AND subject = 'institutions:" + serial + "'"), 2);
    EXPECT_EQ(audited("action = 'certificate.bind' AND subject = 'institutions:" + serial + "'"), 1);

    // A binding to an account that is not an agency (which the CLI refuses to make, written
    // into the database here) does not sign anyone in: the role is checked on every request.
    auto second = selo->selo("ca issue --data " + data + " --profile government-entity-signing "
                             "--organization 'Instituto de Teste' --organization-identifier NTRMO-00078 "
                             "--generate-key --key-out " + shell_quote(selo->dir().string() + "/second.key") +
                             " -o " + shell_quote(selo->dir().string() + "/second.pem"));
    ASSERT_EQ(second.exit_code, 0) << second.output;
    auto listed_inst = selo->selo("ca list --data " + data + " --ca institutions --status valid --json", true);
    const std::string second_serial = serial_in_listing(listed_inst.output, "NTRMO-00078");
    ASSERT_FALSE(second_serial.empty()) << listed_inst.output;
    auto forged = run("sqlite3 -cmd '.timeout 5000' " + db + " \"INSERT INTO certificate_bindings "
                      "(issuer, serial, account_id, bound_by, bound_at) VALUES ('institutions', '" +
                      second_serial + "', '" + citizen.account_id + "', 'test', 0)\"");
    ASSERT_EQ(forged.exit_code, 0) << forged.output;
    auto [citizen_status, citizen_body] = fetch("--cacert " + root() + " --cert " +
                                                shell_quote(selo->dir().string() + "/second.pem") + " --key " +
                                                shell_quote(selo->dir().string() + "/second.key") + " " +
                                                selo->base() + "/api/v1/me");
    EXPECT_EQ(citizen_status, 401) << citizen_body;
    EXPECT_NE(citizen_body.find("not an agency"), std::string::npos) << citizen_body;

    // Another Selo CA's certificate (natural persons, clientAuth) and a foreign CA's: refused.
    auto np = selo->selo("ca issue --data " + data + " --profile natural-person-authentication --account " +
                         other.username + " --generate-key --key-out " +
                         shell_quote(selo->dir().string() + "/person.key") + " -o " +
                         shell_quote(selo->dir().string() + "/person.pem"));
    ASSERT_EQ(np.exit_code, 0) << np.output;
    auto np_bind = selo->selo("account bind-certificate --data " + data + " --account " + agency.account_id +
                              " --cert " + shell_quote(selo->dir().string() + "/person.pem"));
    EXPECT_NE(np_bind.exit_code, 0);
    auto [np_status, np_body] = fetch("--cacert " + root() + " --cert " + shell_quote(selo->dir().string() + "/person.pem") +
                                      " --key " + shell_quote(selo->dir().string() + "/person.key") + " " +
                                      selo->base() + "/api/v1/me");
    EXPECT_EQ(np_status, 401) << np_body;
    EXPECT_NE(np_body.find("institutions CA"), std::string::npos) << np_body;
    auto foreign = run(in_dir("openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes "
                              "-keyout foreign.key -out foreign.pem -subj '/C=MO/O=Direcção dos Serviços de Correios/CN=Other' "
                              "-days 30 2>&1"));
    ASSERT_EQ(foreign.exit_code, 0) << foreign.output;
    auto [foreign_status, foreign_body] = fetch("--cacert " + root() + " --cert " +
                                                shell_quote(selo->dir().string() + "/foreign.pem") + " --key " +
                                                shell_quote(selo->dir().string() + "/foreign.key") + " " +
                                                selo->base() + "/api/v1/me");
    EXPECT_EQ(foreign_status, 401) << foreign_body;
    EXPECT_NE(foreign_body.find("not accepted"), std::string::npos) << foreign_body;
}

// A revoked issuing CA takes its certificates with it: once Selo's institutions CA certificate
// is revoked, an agency's certificate from it signs nobody in, nor can it be bound. (Its own
// server: the CA stays revoked.)
TEST(TlsClientCertificates, NoAgencySignsInOnceTheInstitutionsCaIsRevoked) {
    SeloInstance selo;
    selo.tls = true;
    const std::string err = selo.start();
    ASSERT_EQ(err, "");
    Holder agency = selo.enrol("澳門郵電局", "Direccao dos Servicos de Correios", "AG-0007",
                               "ctt@gov.example.mo", "", {"agency"}, "staff-card");
    const std::string data = shell_quote(selo.data().string());
    const std::string dir = selo.dir().string();
    auto issue = [&](const std::string& name, const std::string& org_id) {
        return selo.selo("ca issue --data " + data + " --profile government-entity-signing "
                         "--organization 'Direcção dos Serviços de Correios' --organization-identifier " +
                         org_id + " --generate-key --key-out " + shell_quote(dir + "/" + name + ".key") + " -o " +
                         shell_quote(dir + "/" + name + ".pem"));
    };
    ASSERT_EQ(issue("agency", "NTRMO-00077").exit_code, 0);
    ASSERT_EQ(issue("later", "NTRMO-00079").exit_code, 0);
    ASSERT_EQ(selo.selo("account bind-certificate --data " + data + " --account " + agency.account_id +
                        " --cert " + shell_quote(dir + "/agency.pem")).exit_code, 0);
    auto me = [&] {
        return run("curl -sS -w '\\n%{http_code}' --cacert " + shell_quote(selo.root_pem().string()) + " --cert " +
                   shell_quote(dir + "/agency.pem") + " --key " + shell_quote(dir + "/agency.key") + " " +
                   selo.base() + "/api/v1/me");
    };
    auto before = me();
    EXPECT_NE(before.output.find("\n200"), std::string::npos) << before.output;

    // The institutions CA's own certificate, recorded under the root that issued it.
    auto listed = selo.selo("ca list --data " + data + " --ca root --json", true);
    const std::string ca_serial = serial_in_listing(listed.output, "Institutions CA");
    ASSERT_FALSE(ca_serial.empty()) << listed.output;
    auto revoked = selo.selo("ca revoke --data " + data + " --serial " + ca_serial + " --reason cACompromise");
    ASSERT_EQ(revoked.exit_code, 0) << revoked.output;

    auto after = me();
    EXPECT_NE(after.output.find("\n401"), std::string::npos) << after.output;
    EXPECT_NE(after.output.find("institutions CA, has a certificate that is revoked"), std::string::npos)
        << after.output;
    auto bind = selo.selo("account bind-certificate --data " + data + " --account " + agency.account_id +
                          " --cert " + shell_quote(dir + "/later.pem"));
    EXPECT_NE(bind.exit_code, 0);
    EXPECT_NE(bind.output.find("has a certificate that is revoked"), std::string::npos) << bind.output;
}

}  // namespace
}  // namespace selo::test
