// `selo lint` against certificates and CRLs crafted with the openssl CLI to break one rule
// each: every such rule must fire, and Selo's own certificates must pass clean.

#include <gtest/gtest.h>

#include "integration/selo_instance.hpp"
#include "support/test_support.hpp"

namespace selo::test {
namespace {

constexpr const char* kNaturalPersonSigning = "2.25.213343623855697146825054647424244362817.1.1, 0.4.0.194112.1.0";
constexpr const char* kQcStatements = "1.3.6.1.5.5.7.1.3";

// qcStatements sections for `openssl asn1parse -genconf` (ETSI EN 319 412-5's ASN.1 module):
// what the natural-person-signing profile carries, statement by statement.
struct QcSpec {
    std::vector<std::string> statements = {"compliance", "legislation", "type", "semantics"};
    std::string type = "0.4.0.1862.1.6.1";
    std::string semantics = "0.4.0.194121.1.1";
    std::string pds_url = "https://ca.example.mo/pds/en.pdf";
};
std::string qc_genconf(const QcSpec& q) {
    std::string top = "asn1 = SEQUENCE:qcs\n[qcs]\n";
    int i = 0;
    for (const auto& st : q.statements) {
        top += "s" + std::to_string(i++) + " = SEQUENCE:" + st + "\n";
    }
    return top +
           "[compliance]\nid = OID:0.4.0.1862.1.1\n"
           "[sscd]\nid = OID:0.4.0.1862.1.4\n"
           "[legislation]\nid = OID:0.4.0.1862.1.7\ninfo = SEQUENCE:countries\n[countries]\nc = PRINTABLESTRING:MO\n"
           "[type]\nid = OID:0.4.0.1862.1.6\ninfo = SEQUENCE:types\n[types]\nt = OID:" + q.type + "\n"
           "[semantics]\nid = OID:1.3.6.1.5.5.7.11.2\ninfo = SEQUENCE:semid\n[semid]\ns = OID:" + q.semantics + "\n"
           "[pds]\nid = OID:0.4.0.1862.1.5\ninfo = SEQUENCE:locations\n[locations]\nl = SEQUENCE:location\n"
           "[location]\nurl = IA5STRING:" + q.pds_url + "\nlanguage = PRINTABLESTRING:en\n";
}

class Lint : public ::testing::Test {
protected:
    void SetUp() override {
        if (!have_tool("openssl")) {
            GTEST_SKIP() << "openssl missing";
        }
        // A CA made by openssl, not by Selo.
        ASSERT_EQ(sh("openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout ca.key "
                     "-subj '/C=MO/O=Crafted/CN=Crafted CA' -days 3650 -out ca.pem "
                     "-addext 'basicConstraints=critical,CA:TRUE' -addext 'keyUsage=critical,keyCertSign,cRLSign'")
                      .exit_code,
                  0);
        ASSERT_EQ(sh("openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout other.key "
                     "-subj '/C=MO/O=Crafted/CN=Other CA' -days 3650 -out other.pem").exit_code, 0);
        ASSERT_EQ(sh("openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out ee.key && "
                     "openssl req -new -key ee.key -subj '/C=MO/GN=Tai Man/SN=CHAN/serialNumber=IDCMO-1/CN=Chan' -utf8 -out ee.csr")
                      .exit_code,
                  0);
    }

    CommandResult sh(const std::string& cmd) { return run("cd " + shell_quote(dir.path().string()) + " && " + cmd); }

    // The extension value "DER:<hex>" of qcStatements built by openssl from `q`.
    std::string qc(const QcSpec& q = {}) {
        write_file(dir / "qc.cnf", qc_genconf(q));
        auto r = sh("openssl asn1parse -genconf qc.cnf -noout -out qc.der && od -An -tx1 -v qc.der | tr -d ' \\n'");
        EXPECT_EQ(r.exit_code, 0) << r.output;
        return "DER:" + r.output;
    }

    // A natural-person signing certificate that follows the profile, with `change` applied to
    // its extension file (lines replaced by key) and extra `x509 -req` options.
    std::string craft(const std::string& name, std::map<std::string, std::string> change = {},
                      const std::string& options = "-set_serial 0x4a0b0c0d0e0f10111213141516171819 -days 365",
                      const std::string& csr = "ee.csr") {
        std::map<std::string, std::string> ext = {
            {"basicConstraints", "critical,CA:FALSE"},
            {"keyUsage", "critical,digitalSignature,nonRepudiation"},
            {"certificatePolicies", kNaturalPersonSigning},
            {"subjectKeyIdentifier", "hash"},
            {"authorityKeyIdentifier", "keyid:always"},
            {"authorityInfoAccess", "OCSP;URI:http://ca.example.mo/ocsp,caIssuers;URI:http://ca.example.mo/ca/x.crt"},
            {"crlDistributionPoints", "URI:http://ca.example.mo/crl/x.crl"},
            {kQcStatements, qc()},
        };
        for (auto& [k, v] : change) {
            if (v.empty()) {
                ext.erase(k);
            } else {
                ext[k] = v;
            }
        }
        std::string file;
        for (auto& [k, v] : ext) {
            file += k + " = " + v + "\n";
        }
        write_file(dir / (name + ".ext"), file);
        auto r = sh("openssl x509 -req -in " + csr + " -CA ca.pem -CAkey ca.key " + options + " -extfile " +
                    name + ".ext -out " + name + ".pem");
        EXPECT_EQ(r.exit_code, 0) << name << ": " << r.output;
        return name + ".pem";
    }

    CommandResult lint(const std::string& args) {
        return sh(shell_quote(SeloInstance::binary().string()) + " lint " + args);
    }

    void expect_rule(const std::string& file, const std::string& rule, const std::string& extra = "--issuer ca.pem") {
        auto r = lint(extra + " " + file);
        EXPECT_EQ(r.exit_code, 1) << file << ": " << r.output;
        EXPECT_NE(r.output.find("[" + rule + "]"), std::string::npos) << rule << " did not fire on " << file << ":\n"
                                                                      << r.output;
    }

    TempDir dir;
};

TEST_F(Lint, AWellFormedCertificatePassesAndEachBrokenRuleFires) {
    auto good = craft("good");
    auto ok = lint("--issuer ca.pem " + good);
    EXPECT_EQ(ok.exit_code, 0) << ok.output;
    EXPECT_NE(ok.output.find("good.pem: OK"), std::string::npos) << ok.output;

    expect_rule(craft("neg", {}, "-set_serial -0x4a0b0c0d0e0f10111213141516171819 -days 365"), "serial.negative");
    expect_rule(craft("short", {}, "-set_serial 7 -days 365"), "serial.too_short");
    expect_rule(craft("long", {}, "-set_serial 0x4a0b0c0d0e0f101112131415161718191a1b1c1d1e1f -days 365"), "serial.too_long");
    expect_rule(good, "issuer.dn_mismatch", "--issuer other.pem");
    expect_rule(good, "ext.aki.mismatch", "--issuer other.pem");
    expect_rule(craft("outlives", {}, "-set_serial 0x4a0b0c0d0e0f10111213141516171819 -days 5000"), "validity.beyond_issuer");
    expect_rule(craft("noku", {{"keyUsage", ""}}), "ext.key_usage.missing");
    expect_rule(craft("kunc", {{"keyUsage", "digitalSignature,nonRepudiation"}}), "ext.key_usage.not_critical");
    expect_rule(craft("nonr", {{"keyUsage", "critical,digitalSignature"}}), "ext.key_usage.non_repudiation");
    expect_rule(craft("eesign", {{"keyUsage", "critical,digitalSignature,nonRepudiation,keyCertSign"}}), "ext.key_usage.ee");
    expect_rule(craft("eeca", {{"basicConstraints", "critical,CA:TRUE"}}), "ext.basic_constraints.ee",
                "--issuer ca.pem --profile natural-person-signing");
    expect_rule(craft("noski", {{"subjectKeyIdentifier", "none"}}), "ext.ski.missing");
    expect_rule(craft("noaki", {{"authorityKeyIdentifier", "none"}}), "ext.aki.missing");
    expect_rule(craft("nopol", {{"certificatePolicies", ""}}), "ext.policies.missing", "--issuer ca.pem --profile natural-person-signing");
    expect_rule(craft("noaia", {{"authorityInfoAccess", ""}}), "ext.aia.missing");
    expect_rule(craft("noocsp", {{"authorityInfoAccess", "caIssuers;URI:http://ca.example.mo/ca/x.crt"}}), "ext.aia_ocsp.missing");
    expect_rule(craft("nocrldp", {{"crlDistributionPoints", ""}}), "ext.crldp.missing");
    expect_rule(craft("noeku", {}), "ext.eku.missing", "--issuer ca.pem --profile tsa");
    expect_rule(craft("ekunc", {{"extendedKeyUsage", "timeStamping"}}), "ext.eku.not_critical", "--issuer ca.pem --profile tsa");
    expect_rule(craft("nocheck", {{"extendedKeyUsage", "OCSPSigning"}}), "ext.ocsp_nocheck.missing", "--issuer ca.pem --profile ocsp-responder");
    expect_rule(craft("nosan", {{"extendedKeyUsage", "serverAuth"}}), "ext.san.missing", "--issuer ca.pem --profile tls-server");
    expect_rule(craft("notca", {}), "ext.basic_constraints.ca", "--issuer ca.pem --profile issuing-ca");
    expect_rule("notca.pem", "ext.key_usage.ca", "--issuer ca.pem --profile issuing-ca");
    // A CN as PrintableString (openssl's "nombstr" string mask) and a C as UTF8String.
    write_file(dir / "mask.cnf", "[req]\ndistinguished_name=dn\nstring_mask=nombstr\n[dn]\n");
    ASSERT_EQ(sh("openssl req -new -key ee.key -config mask.cnf -subj '/C=MO/GN=Tai Man/SN=CHAN/serialNumber=IDCMO-1/CN=Chan' "
                 "-out printable.csr").exit_code, 0);
    expect_rule(craft("printable", {}, "-set_serial 0x4a0b0c0d0e0f10111213141516171819 -days 365", "printable.csr"),
                "subject.string_type");
    // Subject rules of the profile (ETSI EN 319 412-2 §4.2.4, EN 319 412-1 §5.1.3).
    auto csr = [&](const std::string& name, const std::string& subject) {
        EXPECT_EQ(sh("openssl req -new -key ee.key -utf8 -subj '" + subject + "' -out " + name + ".csr").exit_code, 0);
        return name + ".csr";
    };
    const std::string opts = "-set_serial 0x4a0b0c0d0e0f10111213141516171819 -days 365";
    expect_rule(craft("noserial", {}, opts, csr("noserial", "/C=MO/GN=Tai Man/SN=CHAN/CN=Chan")), "subject.required_missing");
    expect_rule(craft("withorg", {}, opts, csr("withorg", "/C=MO/O=Org/GN=Tai Man/SN=CHAN/serialNumber=IDCMO-1/CN=Chan")),
                "subject.not_allowed");
    expect_rule(craft("badserial", {}, opts, csr("badserial", "/C=MO/GN=Tai Man/SN=CHAN/serialNumber=5215299(8)/CN=Chan")),
                "subject.serial_number_form");
    expect_rule(craft("xyzserial", {}, opts, csr("xyzserial", "/C=MO/GN=Tai Man/SN=CHAN/serialNumber=XYZMO-1/CN=Chan")),
                "subject.serial_number_form");
    // ISO 3166: a user-assigned code is no country, neither in C nor in the identifier.
    expect_rule(craft("zzcountry", {}, opts, csr("zzcountry", "/C=ZZ/GN=Tai Man/SN=CHAN/serialNumber=IDCMO-1/CN=Chan")),
                "subject.country_code");
    expect_rule(craft("zzserial", {}, opts, csr("zzserial", "/C=MO/GN=Tai Man/SN=CHAN/serialNumber=IDCZZ-1/CN=Chan")),
                "subject.serial_number_form");
    expect_rule(craft("orgid", {{kQcStatements, ""}}, opts, csr("orgid", "/C=MO/O=Org/organizationIdentifier=12345/CN=Org")),
                "subject.organization_identifier_form", "--issuer ca.pem --profile legal-person-seal");
    expect_rule(craft("kuplus", {{"keyUsage", "critical,digitalSignature,nonRepudiation,keyEncipherment"}}),
                "ext.key_usage.profile");
    expect_rule(craft("ekuextra", {{"extendedKeyUsage", "codeSigning"}}), "ext.eku.profile");

    // qcStatements (ETSI EN 319 412-5), each crafted by openssl's ASN.1 generator.
    expect_rule(craft("noqc", {{kQcStatements, ""}}), "qc.missing");
    expect_rule(craft("qcjunk", {{kQcStatements, "DER:300302012a"}}), "qc.malformed");
    QcSpec dup;
    dup.statements = {"compliance", "compliance", "legislation", "type", "semantics"};
    expect_rule(craft("qcdup", {{kQcStatements, qc(dup)}}), "qc.duplicate");
    QcSpec seal;
    seal.type = "0.4.0.1862.1.6.2";
    expect_rule(craft("qctype", {{kQcStatements, qc(seal)}}), "qc.type_mismatch");
    expect_rule(craft("qcnoqcp", {{"certificatePolicies", "2.25.213343623855697146825054647424244362817.1.1"}}),
                "qc.compliance_without_qcp", "--issuer ca.pem --profile natural-person-signing");
    QcSpec http;
    http.statements = {"compliance", "legislation", "pds", "type", "semantics"};
    http.pds_url = "http://ca.example.mo/pds/en.pdf";
    expect_rule(craft("qchttp", {{kQcStatements, qc(http)}}), "qc.pds_not_https");
    QcSpec sscd;
    sscd.statements = {"compliance", "legislation", "sscd", "type", "semantics"};
    expect_rule(craft("qcsscd", {{kQcStatements, qc(sscd)}}), "qc.sscd_without_qscd_policy");
    expect_rule("qcsscd.pem", "qc.statement_unexpected");
    QcSpec nosem;
    nosem.statements = {"compliance", "legislation", "type"};
    expect_rule(craft("qcnosem", {{kQcStatements, qc(nosem)}}), "qc.statement_missing");
    QcSpec legal;
    legal.semantics = "0.4.0.194121.1.2";
    expect_rule(craft("qcsem", {{kQcStatements, qc(legal)}}), "qc.semantics_mismatch");

    // Not Selo's: no profile recognised.
    expect_rule("nopol.pem", "profile.unknown");
    expect_rule("other.pem", "ext.key_usage.missing", "");  // self-signed CA: checked as a root
    // Without the issuing CA a certificate cannot be checked fully, and says so.
    expect_rule(good, "issuer.unknown", "");
}

TEST_F(Lint, CrlRulesFireOnAnOpensslMadeCrlAndUnreadableInputIsNamed) {
    // `openssl ca -gencrl` without crl_extensions and crlnumber: a v1 CRL with no extensions.
    write_file(dir / "ca.cnf",
               "[ca]\ndefault_ca=c\n[c]\ndatabase=index.txt\ndefault_md=sha256\ndefault_crl_days=1\n"
               "certificate=ca.pem\nprivate_key=ca.key\n");
    ASSERT_EQ(sh("touch index.txt && openssl ca -config ca.cnf -gencrl -out v1.crl").exit_code, 0);
    expect_rule("v1.crl", "crl.version");
    expect_rule("v1.crl", "crl.number.missing");
    expect_rule("v1.crl", "crl.aki.missing");
    expect_rule("v1.crl", "crl.issuer_mismatch", "--issuer other.pem");
    // With the extensions RFC 5280 asks for, it passes.
    write_file(dir / "ca2.cnf",
               "[ca]\ndefault_ca=c\n[c]\ndatabase=index.txt\ndefault_md=sha256\ndefault_crl_days=1\n"
               "certificate=ca.pem\nprivate_key=ca.key\ncrlnumber=crlnumber\ncrl_extensions=ext\n"
               "[ext]\nauthorityKeyIdentifier=keyid:always\n");
    ASSERT_EQ(sh("echo 01 > crlnumber && openssl ca -config ca2.cnf -gencrl -out v2.crl").exit_code, 0);
    auto ok = lint("--issuer ca.pem v2.crl");
    EXPECT_EQ(ok.exit_code, 0) << ok.output;
    // DER works the same way.
    ASSERT_EQ(sh("openssl crl -in v1.crl -outform DER -out v1.der").exit_code, 0);
    expect_rule("v1.der", "crl.number.missing");

    write_file(dir / "junk.txt", "hello");
    auto junk = lint("junk.txt");
    EXPECT_EQ(junk.exit_code, 2);
    EXPECT_NE(junk.output.find("neither a certificate nor a CRL"), std::string::npos) << junk.output;
    EXPECT_EQ(lint("missing.pem").exit_code, 2);
}

}  // namespace
}  // namespace selo::test
