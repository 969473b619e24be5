// POST /tsa against a real `selo serve`, as an RFC 3161 client uses it: `openssl ts -query`
// piped through curl, the reply judged by `openssl ts -verify` and `openssl ts -reply -text`.

#include <gtest/gtest.h>

#include <chrono>
#include <thread>

#include <boost/json.hpp>

#include "integration/selo_instance.hpp"

namespace selo::test {
namespace {

class TsaHttp : public ::testing::Test {
protected:
    static void SetUpTestSuite() {
        instance = new SeloInstance();
        setup_error = instance->start(false);
        if (!setup_error.empty()) {
            return;
        }
        const std::string d = shell_quote(instance->dir().string());
        auto r = run("cd " + d + " && printf 'Carta registada n.º 7 — 澳門\\n' > doc.txt"
                     " && curl -sf " + instance->base() + "/ca/root.crt | openssl x509 -inform DER -out root.pem"
                     " && curl -sf " + instance->base() + "/ca/infrastructure.crt | openssl x509 -inform DER -out chain.pem");
        if (r.exit_code != 0) {
            setup_error = "fetching the CA certificates: " + r.output;
            return;
        }
        // The unit's certificate, from a certReq reply (the first certificate of the token).
        post_query("openssl ts -query -data doc.txt -cert");
        r = run("cd " + d + " && openssl ts -reply -in reply.tsr -token_out -out unit.p7"
                " && openssl pkcs7 -inform DER -in unit.p7 -print_certs | sed -n '/BEGIN/,/END/p;/END/q' > unit.pem"
                " && cat chain.pem unit.pem > untrusted.pem && openssl x509 -in unit.pem -noout -subject");
        if (r.exit_code != 0 || r.output.find("Time-Stamping Unit") == std::string::npos) {
            setup_error = "reading the unit's certificate: " + r.output;
        }
    }
    static void TearDownTestSuite() {
        delete instance;
        instance = nullptr;
    }
    void SetUp() override { ASSERT_TRUE(setup_error.empty()) << setup_error; }

    static std::string dir() { return shell_quote(instance->dir().string()); }
    // `openssl ts -query ARGS | curl ... /tsa`, the reply in reply.tsr; curl's HTTP status.
    static std::string post_query(const std::string& query_command) {
        auto r = run_stdout("cd " + dir() + " && " + query_command +
                            " | curl -s -o reply.tsr -w '%{http_code} %{content_type}' --data-binary @- -H "
                            "'Content-Type: application/timestamp-query' " + instance->base() + "/tsa");
        return r.output;
    }
    static std::string reply_text() {
        return run("cd " + dir() + " && openssl ts -reply -in reply.tsr -text").output;
    }
    static inline SeloInstance* instance = nullptr;
    static inline std::string setup_error;
};

TEST_F(TsaHttp, OpensslVerifiesRepliesForSha2WithAndWithoutNonceAndCertReq) {
    for (const std::string digest : {"-sha256", "-sha384", "-sha512"}) {
        for (bool nonce : {true, false}) {
            for (bool cert : {true, false}) {
                std::string args = digest + (nonce ? "" : " -no_nonce") + (cert ? " -cert" : "");
                SCOPED_TRACE(args);
                std::string http = post_query("openssl ts -query -data doc.txt " + args + " | tee query.tsq");
                EXPECT_EQ(http, "200 application/timestamp-reply");
                // -untrusted: the infrastructure CA as served under /ca/, and the unit's own
                // certificate, which a token without certReq does not carry.
                auto v = run("cd " + dir() + " && openssl ts -verify -data doc.txt -in reply.tsr"
                             " -CAfile root.pem -untrusted untrusted.pem");
                EXPECT_NE(v.output.find("Verification: OK"), std::string::npos) << v.output;
                auto vq = run("cd " + dir() + " && openssl ts -verify -queryfile query.tsq -in reply.tsr"
                              " -CAfile root.pem -untrusted untrusted.pem");
                EXPECT_NE(vq.output.find("Verification: OK"), std::string::npos) << vq.output;
                std::string text = reply_text();
                EXPECT_NE(text.find("Status: Granted."), std::string::npos) << text;
                EXPECT_NE(text.find(nonce ? "Nonce: 0x" : "Nonce: unspecified"), std::string::npos) << text;
                EXPECT_NE(text.find("Accuracy: 0x01 seconds"), std::string::npos) << text;
                EXPECT_NE(text.find("Ordering: no"), std::string::npos) << text;
                auto certs = run("cd " + dir() + " && openssl ts -reply -in reply.tsr -token_out -out t.p7"
                                 " && openssl pkcs7 -inform DER -in t.p7 -print_certs -noout");
                EXPECT_EQ(certs.output.find("Time-Stamping Unit") != std::string::npos, cert) << certs.output;
            }
        }
    }
}

TEST_F(TsaHttp, EachRefusalCarriesItsFailureInfo) {
    struct Case {
        std::string query;
        std::string failure;
    };
    // A SHA-256 imprint one byte short, which openssl ts -query will not build.
    run("cd " + dir() + " && printf 'asn1=SEQUENCE:req\\n[req]\\nversion=INTEGER:1\\nimprint=SEQUENCE:imp\\n"
        "[imp]\\nalg=SEQUENCE:alg\\nd=FORMAT:HEX,OCTETSTRING:" + std::string(62, 'a') + "\\n"
        "[alg]\\noid=OID:sha256\\n' > short.cnf && openssl asn1parse -genconf short.cnf -out short.tsq -noout");
    std::vector<Case> cases = {
        {"openssl ts -query -data doc.txt -sha1", "unrecognized or unsupported algorithm identifier"},
        {"openssl ts -query -data doc.txt -md5", "unrecognized or unsupported algorithm identifier"},
        {"openssl ts -query -data doc.txt -sha256 -tspolicy 1.2.3.4",
         "the requested TSA policy is not supported by the TSA"},
        // The policies of EPCM receipts and of the log's tree heads: never granted to a request.
        {"openssl ts -query -data doc.txt -sha256 -tspolicy 2.25.213343623855697146825054647424244362817.2.3",
         "the requested TSA policy is not supported by the TSA"},
        {"openssl ts -query -data doc.txt -sha256 -tspolicy 2.25.213343623855697146825054647424244362817.2.2",
         "the requested TSA policy is not supported by the TSA"},
        {"cat short.tsq", "the data submitted has the wrong format"},
        {"printf 'this is not a TimeStampReq'", "the data submitted has the wrong format"},
        {"head -c 20 /dev/urandom", "the data submitted has the wrong format"},
        {"printf ''", "the data submitted has the wrong format"},
    };
    for (const auto& c : cases) {
        SCOPED_TRACE(c.query);
        EXPECT_EQ(post_query(c.query), "200 application/timestamp-reply");
        std::string text = reply_text();
        EXPECT_NE(text.find("Status: Rejected."), std::string::npos) << text;
        EXPECT_NE(text.find("Failure info: " + c.failure), std::string::npos) << text;
        EXPECT_NE(text.find("TST info:\nNot included."), std::string::npos) << text;
    }
    // The configured policy, named explicitly, is granted.
    post_query("openssl ts -query -data doc.txt -sha256 -cert -tspolicy 2.25.213343623855697146825054647424244362817.2.1");
    EXPECT_NE(reply_text().find("Status: Granted."), std::string::npos);
}

TEST_F(TsaHttp, RefusesOtherMediaTypesAndMethods) {
    auto r = run_stdout("cd " + dir() + " && openssl ts -query -data doc.txt | curl -s -o /dev/null -w '%{http_code}' "
                        "--data-binary @- -H 'Content-Type: application/octet-stream' " + instance->base() + "/tsa");
    EXPECT_EQ(r.output, "415");
    auto g = run_stdout("curl -s -o /dev/null -w '%{http_code}' " + instance->base() + "/tsa");
    EXPECT_EQ(g.output, "405");
    // The server is still answering afterwards.
    EXPECT_EQ(post_query("openssl ts -query -data doc.txt -sha512"), "200 application/timestamp-reply");
}

}  // namespace
}  // namespace selo::test

namespace selo::test {
namespace {

TEST_F(TsaHttp, SeloTimestampWritesAReplyOpensslVerifies) {
    const std::string out = dir() + "/doc.tsr";
    for (const std::string hash : {"sha256", "sha512"}) {
        auto r = instance->selo("timestamp " + dir() + "/doc.txt --hash " + hash + " --server " + instance->base() +
                                " -f -o " + out);
        ASSERT_EQ(r.exit_code, 0) << r.output;
        EXPECT_NE(r.output.find("Time-Stamping Unit"), std::string::npos) << r.output;
        auto v = run("cd " + dir() + " && openssl ts -verify -data doc.txt -in doc.tsr -CAfile root.pem -untrusted chain.pem");
        EXPECT_NE(v.output.find("Verification: OK"), std::string::npos) << v.output;
    }
    // "-o -": the reply on standard output, for a pipe; no file named "-".
    auto piped = run("cd " + dir() + " && " + shell_quote(SeloInstance::binary().string()) + " timestamp doc.txt --server " +
                     instance->base() + " -o - 2>report.txt | openssl ts -verify -data doc.txt -in /dev/stdin"
                     " -CAfile root.pem -untrusted chain.pem && grep -q 'standard output' report.txt && test ! -e -");
    EXPECT_EQ(piped.exit_code, 0) << piped.output;
    EXPECT_NE(piped.output.find("Verification: OK"), std::string::npos) << piped.output;
    // No silent overwrite; clear errors for a bad hash name and an unreachable server.
    auto again = instance->selo("timestamp " + dir() + "/doc.txt --server " + instance->base() + " -o " + out);
    EXPECT_EQ(again.exit_code, 1);
    EXPECT_NE(again.output.find("--force"), std::string::npos) << again.output;
    EXPECT_EQ(instance->selo("timestamp " + dir() + "/doc.txt --hash md5 -f -o " + out).exit_code, 1);
    auto down = instance->selo("timestamp " + dir() + "/doc.txt --server http://127.0.0.1:1 -f -o " + dir() + "/x.tsr");
    EXPECT_EQ(down.exit_code, 1);
    EXPECT_NE(down.output.find("connect"), std::string::npos) << down.output;
    // The endpoint given as the server: say what --server is.
    auto endpoint = instance->selo("timestamp " + dir() + "/doc.txt --server " + instance->base() + "/tsa -f -o " + out);
    EXPECT_EQ(endpoint.exit_code, 1);
    EXPECT_NE(endpoint.output.find("base URL"), std::string::npos) << endpoint.output;
    // An output directory that does not exist: said before the server is asked, naming it.
    auto nowhere = instance->selo("timestamp " + dir() + "/doc.txt --server " + instance->base() + " -o " + dir() +
                                  "/missing/x.tsr");
    EXPECT_EQ(nowhere.exit_code, 1);
    EXPECT_NE(nowhere.output.find("missing does not exist"), std::string::npos) << nowhere.output;
    // A file where the directory should be.
    auto file_dir = instance->selo("timestamp " + dir() + "/doc.txt --server " + instance->base() + " -o " + dir() +
                                   "/doc.txt/x.tsr");
    EXPECT_EQ(file_dir.exit_code, 1);
    EXPECT_NE(file_dir.output.find("doc.txt is not a directory"), std::string::npos) << file_dir.output;
    // A fragment in the server's URL would have the request sent to "...#/tsa": refused.
    auto fragment = instance->selo("timestamp " + dir() + "/doc.txt --server " + instance->base() + "/ca/root.crt# -f -o " + out);
    EXPECT_EQ(fragment.exit_code, 1);
    EXPECT_NE(fragment.output.find("fragment"), std::string::npos) << fragment.output;
}

}  // namespace
}  // namespace selo::test

namespace selo::test {
namespace {

TEST_F(TsaHttp, CscTimestampReturnsTheSameTokensForAHash) {
    auto info = instance->post("/csc/v2/info", "{}");
    bool listed = false;
    for (const auto& m : info.body.as_object().at("methods").as_array()) {
        listed = listed || m.as_string() == "signatures/timestamp";
    }
    EXPECT_TRUE(listed) << info.raw;

    auto digest = run_stdout("cd " + dir() + " && openssl dgst -sha384 -binary doc.txt | base64 -w0").output;
    auto r = instance->post("/csc/v2/signatures/timestamp",
                            boost::json::serialize(boost::json::object{
                                {"hash", digest}, {"hashAlgo", "2.16.840.1.101.3.4.2.2"}, {"nonce", "0a1b2c3d4e"}}));
    ASSERT_EQ(r.status, 200) << r.raw;
    write_file(instance->dir() / "csc.tst",
               base64_decode(std::string_view(r.body.as_object().at("timestamp").as_string())).value());
    auto v = run("cd " + dir() + " && openssl ts -verify -data doc.txt -in csc.tst -token_in -CAfile root.pem -untrusted chain.pem");
    EXPECT_NE(v.output.find("Verification: OK"), std::string::npos) << v.output;
    auto text = run("cd " + dir() + " && openssl ts -reply -in csc.tst -token_in -text").output;
    EXPECT_NE(text.find("Nonce: 0x0A1B2C3D4E"), std::string::npos) << text;
    EXPECT_NE(text.find("Hash Algorithm: sha384"), std::string::npos) << text;

    auto sha1 = instance->post("/csc/v2/signatures/timestamp",
                               boost::json::serialize(boost::json::object{{"hash", "AAAAAAAAAAAAAAAAAAAAAAAAAAA="},
                                                                          {"hashAlgo", "1.3.14.3.2.26"}}));
    EXPECT_EQ(sha1.status, 400) << sha1.raw;
    EXPECT_EQ(sha1.body.as_object().at("error").as_string(), "invalid_request") << sha1.raw;
    auto short_hash = instance->post("/csc/v2/signatures/timestamp",
                                     boost::json::serialize(boost::json::object{{"hash", "AAAA"}, {"hashAlgo", "2.16.840.1.101.3.4.2.1"}}));
    EXPECT_EQ(short_hash.status, 400) << short_hash.raw;
    EXPECT_EQ(instance->post("/csc/v2/signatures/timestamp", "{}").status, 400);
}

}  // namespace
}  // namespace selo::test

namespace selo::test {
namespace {


// A token from POST /tsa for doc.txt (with certReq) into NAME.tsr; the serial of the certificate
// it was signed under (lower-case hex), or why there is none.
std::string token_signer(const SeloInstance& selo, const std::string& name) {
    const std::string d = shell_quote(selo.dir().string());
    auto r = run_stdout("cd " + d + " && openssl ts -query -data doc.txt -sha256 -cert | curl -s -o " + name +
                        ".tsr --data-binary @- -H 'Content-Type: application/timestamp-query' " + selo.base() +
                        "/tsa && openssl ts -reply -in " + name + ".tsr -token_out -out " + name +
                        ".p7 2>/dev/null && openssl pkcs7 -inform DER -in " + name + ".p7 -print_certs -out " + name +
                        ".pem && openssl x509 -in " + name + ".pem -noout -serial");
    if (r.exit_code != 0 || r.output.rfind("serial=", 0) != 0) {
        return "no token (" + std::to_string(r.exit_code) + ": " + r.output + "): " +
               run("cd " + d + " && openssl ts -reply -in " + name + ".tsr -text").output;
    }
    std::string serial = r.output.substr(7);
    while (!serial.empty() && (serial.back() == '\n' || serial.back() == '\r')) {
        serial.pop_back();
    }
    for (auto& c : serial) {
        c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    }
    return serial;
}

// A time-stamping unit whose certificate is revoked signs nothing more with that key. Revoked
// while the server was stopped, it is replaced before the first request; revoked while it runs
// (by another process, `selo ca revoke`), within seconds. The new certificate's tokens verify
// with openssl; the log's unit, revoked too, gets a new certificate likewise.
TEST(TsaUnitRevocation, ARevokedUnitIsReplacedAndItsKeySignsNothingMore) {
    SeloInstance selo;
    std::string revoked_at_rest;
    selo.before_serve = [&]() -> std::string {
        auto units = selo.valid_serials("Time-Stamping Unit");
        if (units.size() != 1) {
            return "expected one TSA unit certificate after init";
        }
        revoked_at_rest = units[0];
        // Not without a reason: it decides what becomes of the tokens signed before (RFC 3161 §4).
        auto bare = selo.selo("ca revoke --data " + shell_quote(selo.data().string()) + " --serial " + revoked_at_rest);
        if (bare.exit_code == 0 || bare.output.find("for time-stamping: name the reason") == std::string::npos) {
            return "revoked without a reason: " + bare.output;
        }
        auto r = selo.selo("ca revoke --data " + shell_quote(selo.data().string()) + " --serial " + revoked_at_rest +
                           " --reason superseded");
        return r.exit_code == 0 ? "" : r.output;
    };
    ASSERT_EQ(selo.start(false), "");
    const std::string d = shell_quote(selo.dir().string());
    ASSERT_EQ(run("cd " + d + " && echo 'Aviso n.º 3 — 澳門' > doc.txt"
                  " && curl -sf " + selo.base() + "/ca/root.crt | openssl x509 -inform DER -out root.pem"
                  " && curl -sf " + selo.base() + "/ca/infrastructure.crt | openssl x509 -inform DER -out chain.pem")
                  .exit_code,
              0);
    auto verifies = [&](const std::string& name) {
        return run("cd " + d + " && openssl ts -verify -data doc.txt -in " + name +
                   ".tsr -CAfile root.pem -untrusted chain.pem")
                   .output;
    };

    // Replaced at start: the first token is already under a new certificate.
    const std::string second = token_signer(selo, "first");
    EXPECT_NE(second, revoked_at_rest);
    EXPECT_EQ(selo.valid_serials("Time-Stamping Unit"), std::vector<std::string>{second});
    EXPECT_NE(verifies("first").find("Verification: OK"), std::string::npos) << verifies("first");

    // Revoked while serving: within a few seconds every token is under a third certificate.
    auto revoke = selo.selo("ca revoke --data " + shell_quote(selo.data().string()) + " --serial " + second +
                            " --reason keyCompromise");
    ASSERT_EQ(revoke.exit_code, 0) << revoke.output;
    // (Between the withdrawal and the new key, requests are refused: "no token ... out of service".)
    std::string third = second;
    for (int i = 0; i < 100 && (third == second || third.find("no token") != std::string::npos); ++i) {
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
        third = token_signer(selo, "later");
    }
    ASSERT_NE(third, second) << "still signing under the revoked certificate after 10 s";
    EXPECT_EQ(third.find("no token"), std::string::npos) << third;
    EXPECT_EQ(selo.valid_serials("Time-Stamping Unit"), std::vector<std::string>{third});
    EXPECT_NE(verifies("later").find("Verification: OK"), std::string::npos) << verifies("later");
    for (int i = 0; i < 5; ++i) {
        EXPECT_EQ(token_signer(selo, "after"), third);
    }

    // The log's unit (tree heads) likewise gets a new certificate.
    auto log_units = selo.valid_serials("Transparency Log");
    ASSERT_EQ(log_units.size(), 1u);
    auto revoke_log = selo.selo("ca revoke --data " + shell_quote(selo.data().string()) + " --serial " +
                                log_units[0] + " --reason cessationOfOperation");
    ASSERT_EQ(revoke_log.exit_code, 0) << revoke_log.output;
    std::vector<std::string> now_valid = log_units;
    for (int i = 0; i < 100 && (now_valid.empty() || now_valid == log_units); ++i) {
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
        now_valid = selo.valid_serials("Transparency Log");
    }
    ASSERT_EQ(now_valid.size(), 1u);
    EXPECT_NE(now_valid[0], log_units[0]);
}

// The infrastructure CA put on hold takes both units out of service (a new certificate from
// it would not be in force either); the hold lifted, they are back with the keys they had.
TEST(TsaUnitRevocation, UnitsAreBackOnceTheirCasHoldIsLifted) {
    SeloInstance selo;
    ASSERT_EQ(selo.start(false), "");
    const std::string d = shell_quote(selo.dir().string());
    ASSERT_EQ(run("cd " + d + " && echo 'Aviso n.º 4' > doc.txt").exit_code, 0);
    const std::string unit = token_signer(selo, "before");
    ASSERT_EQ(unit.find("no token"), std::string::npos) << unit;
    auto cas = selo.valid_serials("Infrastructure CA,");
    ASSERT_EQ(cas.size(), 1u);
    const std::string data = shell_quote(selo.data().string());
    auto hold = selo.selo("ca suspend --data " + data + " --serial " + cas[0]);
    ASSERT_EQ(hold.exit_code, 0) << hold.output;
    std::string during = unit;
    for (int i = 0; i < 100 && during == unit; ++i) {
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
        during = token_signer(selo, "during");
    }
    EXPECT_NE(during.find("out of service"), std::string::npos) << during;
    auto resume = selo.selo("ca resume --data " + data + " --serial " + cas[0]);
    ASSERT_EQ(resume.exit_code, 0) << resume.output;
    std::string after = during;
    for (int i = 0; i < 100 && after.find("no token") != std::string::npos; ++i) {
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
        after = token_signer(selo, "after");
    }
    EXPECT_EQ(after, unit) << "back with the certificate it had";
    EXPECT_EQ(selo.valid_serials("Time-Stamping Unit"), std::vector<std::string>{unit});

    // The unit itself revoked while its CA is on hold: no new certificate from the held CA, no
    // token meanwhile; the hold lifted, a new certificate (one) and tokens under it.
    ASSERT_EQ(selo.selo("ca suspend --data " + data + " --serial " + cas[0]).exit_code, 0);
    ASSERT_EQ(selo.selo("ca revoke --data " + data + " --serial " + unit + " --reason superseded").exit_code, 0);
    std::this_thread::sleep_for(std::chrono::milliseconds(600));
    EXPECT_NE(token_signer(selo, "held").find("out of service"), std::string::npos);
    EXPECT_TRUE(selo.valid_serials("Time-Stamping Unit").empty()) << "issued from a CA on hold";
    ASSERT_EQ(selo.selo("ca resume --data " + data + " --serial " + cas[0]).exit_code, 0);
    std::string renewed = "no token";
    for (int i = 0; i < 100 && renewed.find("no token") != std::string::npos; ++i) {
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
        renewed = token_signer(selo, "renewed");
    }
    EXPECT_EQ(renewed.find("no token"), std::string::npos) << renewed;
    EXPECT_NE(renewed, unit);
    EXPECT_EQ(selo.valid_serials("Time-Stamping Unit"), std::vector<std::string>{renewed});
}

}  // namespace
}  // namespace selo::test
