// `selo ca issue` and `selo ca renew` while the server runs: keys from CSRs made with openssl
// (proof of possession checked, odd requests handled deliberately) or made by Selo, subjects
// from the registration record, and every profile's certificate accepted by openssl verify
// -x509_strict and GnuTLS certtool --verify with its chain (trusting only the root).

#include <gtest/gtest.h>

#include <boost/json.hpp>

#include <sys/stat.h>

#include <sstream>

#include "integration/selo_instance.hpp"
#include "support/test_support.hpp"

namespace selo::test {
namespace {

namespace fs = std::filesystem;
namespace json = boost::json;

class CaIssue : public ::testing::Test {
protected:
    static void SetUpTestSuite() {
        if (auto missing = missing_tool({"openssl", "curl", "certtool", "vfychain", "certutil"}); !missing.empty()) {
            skip_reason = new std::string(missing);
            return;
        }
        selo = new SeloInstance();
        // A built-in profile changed (its PDS) and a profile defined from a base, issued by a
        // CA added in the configuration.
        selo->extra_config = R"(
[[pki.profile]]
name = "natural-person-signing"
qc_pds = [{ url = "https://selo.example.mo/pds/en.pdf", language = "en" }, { url = "https://selo.example.mo/pds/zh.pdf", language = "zh" }]

[[pki.profile]]
name = "qscd-signing"
base = "natural-person-signing"
policies = ["2.25.213343623855697146825054647424244362817.1.5", "QCP-n-qscd"]
qc_sscd = true
qc_retention_years = 15
validity_days = 730
serial_number_forms = ["IDCMO-", "PASMO-"]

[[pki.authority]]
name = "qualified"
role = "issuing"
parent = "root"
common_name = "Selo Qualified Signing CA"
key = "ec-p384"
profiles = ["qscd-signing"]
)";
        std::string error = selo->start(false);
        if (!error.empty()) {
            skip_reason = new std::string(error);
            ADD_FAILURE() << error;
            return;
        }
        holder = new Holder(selo->enrol("陳大文", "CHAN Tai Man", "5400001(1)", "chan@example.mo", ""));
        for (const char* ca : {"root", "natural-persons", "institutions", "infrastructure", "qualified"}) {
            auto r = run("curl -sf " + selo->base() + "/ca/" + ca + ".crt | openssl x509 -inform DER -out " +
                         (selo->dir() / (std::string(ca) + ".pem")).string());
            if (r.exit_code != 0) {
                ADD_FAILURE() << r.output;
            }
        }
    }
    static void TearDownTestSuite() {
        delete selo;
        selo = nullptr;
        delete holder;
        holder = nullptr;
    }
    void SetUp() override {
        if (skip_reason != nullptr) {
            GTEST_SKIP() << *skip_reason;
        }
    }
    static std::string in_dir(const std::string& cmd) {
        return "cd " + shell_quote(selo->dir().string()) + " && " + cmd;
    }
    static CommandResult ca(const std::string& args) {
        return selo->selo("ca " + args + " --data " + shell_quote(selo->data().string()));
    }
    // NSS vfychain (PKIX, -pp) for `usage`, trusting only the root in a fresh NSS database.
    static void expect_nss_ok(const std::string& cert, const std::string& issuer, int usage) {
        if (!std::filesystem::exists(selo->dir() / "nssdb")) {
            ASSERT_EQ(run(in_dir("mkdir nssdb && certutil -N -d sql:nssdb --empty-password && "
                                 "certutil -A -d sql:nssdb -n selo-root -t CT,C,C -i root.pem")).exit_code, 0);
        }
        std::string chain = issuer.empty() ? "" : " -a " + issuer + ".pem";
        auto v = run(in_dir("vfychain -d sql:nssdb -pp -u " + std::to_string(usage) + " -a " + cert + chain));
        EXPECT_EQ(v.exit_code, 0) << cert << " usage " << usage << ": " << v.output;
        EXPECT_NE(v.output.find("Chain is good!"), std::string::npos) << cert << " usage " << usage << ": " << v.output;
    }
    // openssl verify -x509_strict and certtool --verify-chain with the issuing CA and the root.
    static void expect_chain_ok(const std::string& cert, const std::string& issuer) {
        auto v = run(in_dir("openssl verify -x509_strict -CAfile root.pem -untrusted " + issuer + ".pem " + cert));
        EXPECT_EQ(v.exit_code, 0) << cert << ": " << v.output;
        auto g = run(in_dir("cat " + cert + " " + issuer + ".pem root.pem > chain.pem && "
                            "certtool --verify --load-ca-certificate root.pem --infile chain.pem"));
        EXPECT_EQ(g.exit_code, 0) << cert << ": " << g.output;
        EXPECT_NE(g.output.find("Chain verification output: Verified"), std::string::npos) << g.output;
        auto l = run(in_dir(shell_quote(SeloInstance::binary().string()) + " lint --data " +
                            shell_quote(selo->data().string()) + " --issuer " + issuer + ".pem " + cert));
        EXPECT_EQ(l.exit_code, 0) << cert << ": " << l.output;
    }
// The qcStatements as openssl's own DER decoder reads them (not Selo's): the structure of
// ETSI EN 319 412-5's ASN.1 module, with the statements each profile configures.
    static std::string qc_dump(const std::string& cert) {
    auto all = run(in_dir("openssl asn1parse -in " + cert));
    std::istringstream in(all.output);
    std::string line;
    bool next = false;
    while (std::getline(in, line)) {
        if (next && line.find("OCTET STRING") != std::string::npos) {
            std::string offset = line.substr(0, line.find(':'));
            offset.erase(0, offset.find_first_not_of(' '));
            return run(in_dir("openssl asn1parse -in " + cert + " -strparse " + offset)).output;
        }
        next = line.find(":qcStatements") != std::string::npos;
    }
    return "no qcStatements in " + cert + ":\n" + all.output;
}

    static SeloInstance* selo;
    static Holder* holder;
    static std::string* skip_reason;
};
SeloInstance* CaIssue::selo = nullptr;
Holder* CaIssue::holder = nullptr;
std::string* CaIssue::skip_reason = nullptr;

TEST_F(CaIssue, CsrGivesTheKeyAndTheRegistrationGivesTheSubject) {
    // A CSR with a wrong subject, no CN and a non-critical extension request: the registered
    // subject is used, and what was ignored is said.
    auto csr = run(in_dir("openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout csr.key "
                          "-subj '/O=Évil Corp/serialNumber=IDCMO-0000000(0)' -addext 'subjectAltName=DNS:evil.example' "
                          "-out person.csr"));
    ASSERT_EQ(csr.exit_code, 0) << csr.output;
    auto r = ca("issue --profile natural-person-signing --account " + holder->username + " --csr " +
                shell_quote((selo->dir() / "person.csr").string()) + " -o " +
                shell_quote((selo->dir() / "person.pem").string()));
    ASSERT_EQ(r.exit_code, 0) << r.output;
    EXPECT_NE(r.output.find("ignored from the CSR: subject"), std::string::npos) << r.output;
    EXPECT_NE(r.output.find("requested extension"), std::string::npos) << r.output;
    auto text = run(in_dir("openssl x509 -in person.pem -noout -subject -nameopt utf8,sep_comma_plus -text"));
    EXPECT_NE(text.output.find("serialNumber=IDCMO-5400001(1)"), std::string::npos) << text.output;
    EXPECT_NE(text.output.find("CN=陳大文"), std::string::npos) << text.output;
    EXPECT_EQ(text.output.find("evil"), std::string::npos) << text.output;
    // The certificate holds the CSR's key.
    auto k1 = run(in_dir("openssl x509 -in person.pem -noout -pubkey"));
    auto k2 = run(in_dir("openssl pkey -in csr.key -pubout"));
    EXPECT_EQ(k1.output, k2.output);
    expect_chain_ok("person.pem", "natural-persons");

    // Refused with a reason: a critical extension request, a broken proof of possession, a
    // weak key, and no registered holder.
    ASSERT_EQ(run(in_dir("openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout c.key "
                         "-subj '/CN=x' -addext 'basicConstraints=critical,CA:TRUE' -out critical.csr")).exit_code, 0);
    auto crit = ca("issue --profile natural-person-signing --account " + holder->username + " --csr " +
                   shell_quote((selo->dir() / "critical.csr").string()));
    EXPECT_EQ(crit.exit_code, 1);
    EXPECT_NE(crit.output.find("critical extension"), std::string::npos) << crit.output;
    // Flip a bit of the signature (the DER's last byte).
    ASSERT_EQ(run(in_dir("openssl req -in person.csr -outform DER -out p.der && "
                         "python3 -c \"import sys; b=bytearray(open('p.der','rb').read()); b[-1]^=1; "
                         "open('bad.der','wb').write(b)\"")).exit_code, 0);
    auto pop = ca("issue --profile natural-person-signing --account " + holder->username + " --csr " +
                  shell_quote((selo->dir() / "bad.der").string()));
    EXPECT_EQ(pop.exit_code, 1);
    EXPECT_NE(pop.output.find("proof of possession"), std::string::npos) << pop.output;
    ASSERT_EQ(run(in_dir("openssl req -new -newkey rsa:1024 -nodes -keyout w.key -subj '/CN=x' -out weak.csr")).exit_code, 0);
    auto weak = ca("issue --profile natural-person-signing --account " + holder->username + " --csr " +
                   shell_quote((selo->dir() / "weak.csr").string()));
    EXPECT_EQ(weak.exit_code, 1);
    EXPECT_NE(weak.output.find("2048"), std::string::npos) << weak.output;
    auto nobody = ca("issue --profile natural-person-signing --account nobody --csr " +
                     shell_quote((selo->dir() / "person.csr").string()));
    EXPECT_EQ(nobody.exit_code, 1);
    EXPECT_NE(nobody.output.find("no account"), std::string::npos) << nobody.output;
}

TEST_F(CaIssue, QcStatementsFollowTheEtsiModuleAsOpensslDecodesThem) {
    auto r = ca("issue --profile natural-person-signing --account " + holder->username +
                " --generate-key --key-out " + shell_quote((selo->dir() / "q1.key").string()) + " -o " +
                shell_quote((selo->dir() / "q1.pem").string()));
    ASSERT_EQ(r.exit_code, 0) << r.output;
    std::string d = qc_dump("q1.pem");
    // QcCompliance, QcCClegislation MO, QcPDS (en, zh), QcType esign, semanticsId-Natural; no QcSSCD.
    for (const char* want : {"OBJECT            :0.4.0.1862.1.1", "OBJECT            :0.4.0.1862.1.7",
                             "PRINTABLESTRING   :MO", "OBJECT            :0.4.0.1862.1.5",
                             "IA5STRING         :https://selo.example.mo/pds/en.pdf", "PRINTABLESTRING   :en",
                             "PRINTABLESTRING   :zh", "OBJECT            :0.4.0.1862.1.6",
                             "OBJECT            :0.4.0.1862.1.6.1", "OBJECT            :0.4.0.194121.1.1"}) {
        EXPECT_NE(d.find(want), std::string::npos) << want << " in\n" << d;
    }
    EXPECT_NE(d.find("1.3.6.1.5.5.7.11.2"), std::string::npos) << d;
    EXPECT_EQ(d.find(":0.4.0.1862.1.4"), std::string::npos) << "QcSSCD on a software-held key:\n" << d;
    EXPECT_EQ(d.find("error"), std::string::npos) << d;
    auto pol = run(in_dir("openssl x509 -in q1.pem -noout -ext certificatePolicies"));
    EXPECT_NE(pol.output.find("0.4.0.194112.1.0"), std::string::npos) << pol.output;

    // The configured profile: QcSSCD and QcRetentionPeriod 15 with QCP-n-qscd, 730 days. QcSSCD
    // says the key is in a signature creation device, so a key written to a file is refused;
    // the request comes as a CSR (here from openssl, standing in for the device).
    r = ca("issue --profile qscd-signing --account " + holder->username + " --generate-key --key-out " +
           shell_quote((selo->dir() / "q2-file.key").string()) + " -o " + shell_quote((selo->dir() / "q2-file.pem").string()));
    EXPECT_EQ(r.exit_code, 1) << r.output;
    EXPECT_NE(r.output.find("asserts QcSSCD"), std::string::npos) << r.output;
    EXPECT_FALSE(std::filesystem::exists(selo->dir() / "q2-file.key"));
    EXPECT_FALSE(std::filesystem::exists(selo->dir() / "q2-file.pem"));
    ASSERT_EQ(run(in_dir("openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout q2.key "
                         "-subj /CN=device -out q2.csr")).exit_code, 0);
    r = ca("issue --profile qscd-signing --account " + holder->username + " --csr " +
           shell_quote((selo->dir() / "q2.csr").string()) + " -o " + shell_quote((selo->dir() / "q2.pem").string()));
    ASSERT_EQ(r.exit_code, 0) << r.output;
    d = qc_dump("q2.pem");
    EXPECT_NE(d.find(":0.4.0.1862.1.4"), std::string::npos) << d;
    EXPECT_NE(d.find(":0.4.0.1862.1.3"), std::string::npos) << d;
    EXPECT_NE(d.find("INTEGER           :0F"), std::string::npos) << d;
    pol = run(in_dir("openssl x509 -in q2.pem -noout -ext certificatePolicies -startdate -enddate"));
    EXPECT_NE(pol.output.find("0.4.0.194112.1.2"), std::string::npos) << pol.output;
    // GnuTLS reads the certificate too.
    auto g = run(in_dir("certtool -i --infile q2.pem"));
    EXPECT_EQ(g.exit_code, 0) << g.output;
    EXPECT_NE(g.output.find("1.3.6.1.5.5.7.1.3"), std::string::npos) << g.output;
    // A legal person's seal: QcType eseal and semanticsId-Legal.
    r = ca("issue --profile legal-person-seal --organization 'Companhia de Teste, Lda.' --organization-identifier "
           "NTRMO-777 --generate-key --key-out " + shell_quote((selo->dir() / "q3.key").string()) + " -o " +
           shell_quote((selo->dir() / "q3.pem").string()));
    ASSERT_EQ(r.exit_code, 0) << r.output;
    d = qc_dump("q3.pem");
    EXPECT_NE(d.find(":0.4.0.1862.1.6.2"), std::string::npos) << d;
    EXPECT_NE(d.find(":0.4.0.194121.1.2"), std::string::npos) << d;
}

TEST_F(CaIssue, EveryProfileVerifiesWithItsChainAndRenewalKeepsTheSubject) {
    struct Case {
        std::string profile, issuer, extra;
        std::vector<int> nss_usages;  // vfychain -u: 0 SSL client, 1 SSL server, 4 email signer, 10 OCSP responder
        bool device_key = false;  // QcSSCD: the key comes from the device as a CSR (openssl here)
    };
    std::vector<Case> cases = {
        {"natural-person-signing", "natural-persons", "--account " + holder->username, {4}},
        {"natural-person-authentication", "natural-persons", "--account " + holder->username, {0, 4}},
        {"legal-person-seal", "institutions", "--organization 'Companhia de Teste, Lda.' --organization-identifier NTRMO-12345", {4}},
        {"government-entity-signing", "institutions", "--organization 'Direcção dos Serviços de Teste' --organization-identifier NTRMO-00001", {4}},
        {"ocsp-responder", "infrastructure", "--common-name 'Selo OCSP Responder 1'", {10}},
        {"tsa", "infrastructure", "--common-name 'Selo Time-Stamping Unit 1'", {}},
        {"tls-server", "infrastructure", "--common-name selo.example.mo --dns selo.example.mo --ip 127.0.0.1", {1}},
        {"qscd-signing", "qualified", "--account " + holder->username, {4}, true},
    };
    for (const auto& c : cases) {
        std::string key = c.profile + ".key";
        const std::string out = " -o " + shell_quote((selo->dir() / (c.profile + ".pem")).string());
        if (c.device_key) {
            ASSERT_EQ(run(in_dir("openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout " +
                                 key + " -subj /CN=device -out " + c.profile + ".csr")).exit_code, 0);
            auto r = ca("issue --profile " + c.profile + " " + c.extra + " --csr " +
                        shell_quote((selo->dir() / (c.profile + ".csr")).string()) + out);
            ASSERT_EQ(r.exit_code, 0) << c.profile << ": " << r.output;
        } else {
            auto r = ca("issue --profile " + c.profile + " " + c.extra + " --generate-key --key-out " +
                        shell_quote((selo->dir() / key).string()) + out);
            ASSERT_EQ(r.exit_code, 0) << c.profile << ": " << r.output;
            struct stat st {};
            ASSERT_EQ(::stat((selo->dir() / key).c_str(), &st), 0);
            EXPECT_EQ(st.st_mode & 0777, 0600u) << key;
        }
        auto match = run(in_dir("openssl x509 -in " + c.profile + ".pem -noout -pubkey > a.pub && "
                                "openssl pkey -in " + key + " -pubout > b.pub && cmp a.pub b.pub"));
        EXPECT_EQ(match.exit_code, 0) << c.profile;
        expect_chain_ok(c.profile + ".pem", c.issuer);
        for (int u : c.nss_usages) {
            expect_nss_ok(c.profile + ".pem", c.issuer, u);
        }
    }
    // The CA certificates themselves: NSS accepts them as CAs (11 = any CA), and they lint clean.
    for (const char* ca : {"natural-persons", "institutions", "infrastructure", "qualified"}) {
        expect_nss_ok(std::string(ca) + ".pem", "", 11);
        expect_chain_ok(std::string(ca) + ".pem", "root");
    }
    auto root_lint = run(in_dir(shell_quote(SeloInstance::binary().string()) + " lint --data " +
                                  shell_quote(selo->data().string()) + " root.pem"));
    EXPECT_EQ(root_lint.exit_code, 0) << root_lint.output;
    // A legal-person certificate needs its organizationIdentifier in the ETSI form.
    auto bad = ca("issue --profile legal-person-seal --organization X --organization-identifier 12345 "
                  "--generate-key --key-out " + shell_quote((selo->dir() / "x.key").string()));
    EXPECT_EQ(bad.exit_code, 1);
    EXPECT_NE(bad.output.find("NTR"), std::string::npos) << bad.output;
    EXPECT_FALSE(fs::exists(selo->dir() / "x.key"));

    // Renewal: new key and serial, same subject and profile.
    auto serial = run(in_dir("openssl x509 -in legal-person-seal.pem -noout -serial | cut -d= -f2"));
    std::string old_serial = serial.output.substr(0, serial.output.find('\n'));
    auto r = ca("renew --serial " + old_serial + " --generate-key --key-out " +
                shell_quote((selo->dir() / "renewed.key").string()) + " -o " +
                shell_quote((selo->dir() / "renewed.pem").string()));
    ASSERT_EQ(r.exit_code, 0) << r.output;
    auto s1 = run(in_dir("openssl x509 -in legal-person-seal.pem -noout -subject -nameopt RFC2253"));
    auto s2 = run(in_dir("openssl x509 -in renewed.pem -noout -subject -nameopt RFC2253"));
    EXPECT_EQ(s1.output, s2.output);
    auto sn = run(in_dir("openssl x509 -in renewed.pem -noout -serial"));
    EXPECT_EQ(sn.output.find(old_serial), std::string::npos);
    expect_chain_ok("renewed.pem", "institutions");
    // Issuance and renewal are in the audit trail (the API lists the new certificate).
    auto list = selo->selo("ca list --json --data " + shell_quote(selo->data().string()), true);
    EXPECT_NE(list.output.find("legal-person-seal"), std::string::npos);
}

}  // namespace
}  // namespace selo::test
