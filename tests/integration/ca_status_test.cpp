// Certificate status as relying parties see it, against a real `selo serve`: openssl ocsp over
// HTTP (POST), GET requests built by hand with curl, and CRLs checked with openssl crl, while
// an officer changes statuses with the CLI in another process.

#include <gtest/gtest.h>

#include <boost/json.hpp>

#include <regex>
#include <set>

#include "integration/selo_instance.hpp"
#include "support/test_support.hpp"

namespace selo::test {
namespace {

namespace fs = std::filesystem;
namespace json = boost::json;

class CaStatusOverHttp : public ::testing::Test {
protected:
    static void SetUpTestSuite() {
        if (auto missing = missing_tool({"openssl", "curl"}); !missing.empty()) {
            skip_reason = new std::string(missing);
            return;
        }
        selo = new SeloInstance();
        std::string error = selo->start(false);
        if (!error.empty()) {
            skip_reason = new std::string(error);
            ADD_FAILURE() << error;
            return;
        }
        // Two certificate holders, and the CA certificates as a relying party fetches them.
        selo->enrol("陳大文", "CHAN Tai Man", "5300001(1)", "a@example.mo", "285714");
        selo->enrol("李四", "LEE Sei", "5300002(2)", "b@example.mo", "385714");
        for (const char* ca : {"root", "natural-persons"}) {
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
    }
    void SetUp() override {
        if (skip_reason != nullptr) {
            GTEST_SKIP() << *skip_reason;
        }
    }

    static std::string data() { return shell_quote(selo->data().string()); }
    static std::string in_dir(const std::string& cmd) {
        return "cd " + shell_quote(selo->dir().string()) + " && " + cmd;
    }

    // The serial of the holder with identity number `id`, saved as <file>.
    static std::string save_certificate(const std::string& id, const std::string& file) {
        auto list = selo->selo("ca list --data " + data() + " --ca natural-persons --json", true);
        EXPECT_EQ(list.exit_code, 0) << list.output;
        json::value v = json::parse(list.output);
        for (const auto& row : v.as_array()) {
            if (std::string(row.at("subject").as_string()).find(id) != std::string::npos) {
                std::string serial(row.at("serial").as_string());
                auto show = selo->selo("ca show --data " + data() + " --serial " + serial, true);
                write_file(selo->dir() / file, show.output);
                return serial;
            }
        }
        ADD_FAILURE() << "no certificate for " << id;
        return {};
    }

    static std::string ocsp(const std::string& args) {
        return run(in_dir("openssl ocsp -issuer natural-persons.pem " + args + " -url " + selo->base() +
                          "/ocsp -CAfile root.pem -verify_other natural-persons.pem"))
            .output;
    }

    static SeloInstance* selo;
    static std::string* skip_reason;
};
SeloInstance* CaStatusOverHttp::selo = nullptr;
std::string* CaStatusOverHttp::skip_reason = nullptr;

TEST_F(CaStatusOverHttp, OpensslOcspSeesEveryChangeTheCliMakes) {
    std::string a = save_certificate("IDCMO-5300001(1)", "a.pem");
    std::string b = save_certificate("IDCMO-5300002(2)", "b.pem");
    ASSERT_FALSE(a.empty());
    ASSERT_FALSE(b.empty());
    auto check = [&](const std::string& want_a, const std::string& want_b) {
        for (std::string hash : {"", "-sha256"}) {
            for (std::string nonce : {"", "-no_nonce"}) {
                auto out = ocsp(hash + " -cert a.pem -cert b.pem " + nonce);
                EXPECT_NE(out.find("Response verify OK"), std::string::npos) << out;
                EXPECT_NE(out.find("a.pem: " + want_a), std::string::npos) << hash << nonce << out;
                EXPECT_NE(out.find("b.pem: " + want_b), std::string::npos) << hash << nonce << out;
                EXPECT_EQ(out.find("Nonce Verify error"), std::string::npos) << out;
                if (nonce.empty()) {
                    EXPECT_EQ(out.find("WARNING: no nonce"), std::string::npos) << out;
                }
            }
        }
    };
    check("good", "good");
    auto r = selo->selo("ca revoke --data " + data() + " --serial " + b + " --reason superseded");
    ASSERT_EQ(r.exit_code, 0) << r.output;
    check("good", "revoked");
    auto out = ocsp("-cert b.pem");
    EXPECT_NE(out.find("Reason: superseded"), std::string::npos) << out;
    EXPECT_NE(out.find("Revocation Time:"), std::string::npos) << out;

    ASSERT_EQ(selo->selo("ca suspend --data " + data() + " --serial " + a).exit_code, 0);
    check("revoked", "revoked");
    EXPECT_NE(ocsp("-cert a.pem -no_nonce").find("Reason: certificateHold"), std::string::npos);
    ASSERT_EQ(selo->selo("ca resume --data " + data() + " --serial " + a).exit_code, 0);
    check("good", "revoked");

    // A revoked certificate stays revoked; a bad reason is named.
    auto again = selo->selo("ca resume --data " + data() + " --serial " + b);
    EXPECT_EQ(again.exit_code, 1);
    EXPECT_NE(again.output.find("not suspended"), std::string::npos) << again.output;
    auto bad = selo->selo("ca revoke --data " + data() + " --serial " + a + " --reason bored");
    EXPECT_EQ(bad.exit_code, 2);
    EXPECT_NE(bad.output.find("unknown revocation reason"), std::string::npos) << bad.output;
    auto not_hex = selo->selo("ca revoke --data " + data() + " --serial zz --reason superseded");
    EXPECT_EQ(not_hex.exit_code, 2);
    EXPECT_NE(not_hex.output.find("'zz' is not a serial number"), std::string::npos) << not_hex.output;

    // Never issued: unknown.
    out = ocsp("-serial 0x41414141414141414141414141414141");
    EXPECT_NE(out.find(": unknown"), std::string::npos) << out;

    // The CRL lists exactly the revoked certificate.
    auto crl = run(in_dir("curl -sf -o np.crl " + selo->base() + "/crl/natural-persons.crl && "
                          "openssl crl -inform DER -in np.crl -CAfile natural-persons.pem -verify -noout -text"));
    ASSERT_EQ(crl.exit_code, 0) << crl.output;
    EXPECT_NE(crl.output.find("verify OK"), std::string::npos) << crl.output;
    std::set<std::string> listed;
    std::regex serial_re("Serial Number: ([0-9A-F]+)");
    for (std::sregex_iterator it(crl.output.begin(), crl.output.end(), serial_re), end; it != end; ++it) {
        std::string hex = (*it)[1];
        std::transform(hex.begin(), hex.end(), hex.begin(), ::tolower);
        listed.insert(hex);
    }
    EXPECT_EQ(listed, std::set<std::string>{b});
    EXPECT_NE(crl.output.find("Superseded"), std::string::npos) << crl.output;
}

TEST_F(CaStatusOverHttp, HandBuiltGetRequestsWorkWithCachingHeaders) {
    save_certificate("IDCMO-5300001(1)", "a.pem");
    auto req = run(in_dir("openssl ocsp -issuer natural-persons.pem -cert a.pem -no_nonce -reqout get.der"));
    ASSERT_EQ(req.exit_code, 0) << req.output;
    std::string b64 = base64_encode(read_file(selo->dir() / "get.der"));
    for (const std::string& path : {b64, std::string(b64)}) {
        auto r = run(in_dir("curl -s -D get.h -o get.resp " + shell_quote(selo->base() + "/ocsp/" + path) +
                            " && cat get.h && openssl ocsp -respin get.resp -issuer natural-persons.pem"
                            " -cert a.pem -CAfile root.pem -verify_other natural-persons.pem"));
        EXPECT_NE(r.output.find("200 OK"), std::string::npos) << r.output;
        EXPECT_NE(r.output.find("Content-Type: application/ocsp-response"), std::string::npos) << r.output;
        EXPECT_NE(r.output.find("a.pem: good"), std::string::npos) << r.output;
        EXPECT_NE(r.output.find("Response verify OK"), std::string::npos) << r.output;
        for (const char* h : {"Last-Modified: ", "Expires: ", "ETag: \"", "Cache-Control: max-age="}) {
            EXPECT_NE(r.output.find(h), std::string::npos) << h << r.output;
        }
    }
    // The same bytes with every character percent-encoded, and with '/' in a "//" position:
    // a request whose base64 holds "//" must reach the responder whole.
    std::string encoded;
    for (unsigned char c : b64) {
        encoded += fmt::format("%{:02X}", c);
    }
    auto r = run(in_dir("curl -s -o enc.resp " + shell_quote(selo->base() + "/ocsp/" + encoded) +
                        " && openssl ocsp -respin enc.resp -issuer natural-persons.pem -cert a.pem"
                        " -CAfile root.pem -verify_other natural-persons.pem"));
    EXPECT_NE(r.output.find("a.pem: good"), std::string::npos) << r.output;
    // A request whose base64 holds "//" and '+', sent raw. The serial is the request's last 16
    // octets: find one that gives such base64 here, then let openssl build that request.
    ASSERT_EQ(run(in_dir("openssl ocsp -issuer natural-persons.pem -serial 0x41414141414141414141414141414141"
                         " -no_nonce -reqout s.der")).exit_code, 0);
    Bytes shape = read_file(selo->dir() / "s.der");
    std::string slashes;
    std::uint64_t seed = 0x5eed;
    for (int i = 0; i < 200000 && slashes.empty(); ++i) {
        for (std::size_t k = shape.size() - 16; k < shape.size(); ++k) {
            seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
            shape[k] = static_cast<std::uint8_t>(seed >> 56);
        }
        shape[shape.size() - 16] = static_cast<std::uint8_t>((shape[shape.size() - 16] & 0x7f) | 0x40);
        std::string text = base64_encode(shape);
        if (text.find("//") != std::string::npos && text.find('+') != std::string::npos) {
            std::string serial = hex_encode(ByteView(shape).subspan(shape.size() - 16));
            ASSERT_EQ(run(in_dir("openssl ocsp -issuer natural-persons.pem -serial 0x" + serial +
                                 " -no_nonce -reqout s.der")).exit_code, 0);
            slashes = base64_encode(read_file(selo->dir() / "s.der"));
        }
    }
    ASSERT_FALSE(slashes.empty());
    r = run(in_dir("curl -s -o s.resp --path-as-is " + shell_quote(selo->base() + "/ocsp/" + slashes) +
                   " && openssl ocsp -respin s.resp -resp_text -CAfile root.pem -verify_other natural-persons.pem"));
    EXPECT_NE(r.output.find("Cert Status: unknown"), std::string::npos) << slashes << r.output;
    EXPECT_NE(r.output.find("Response verify OK"), std::string::npos) << r.output;
    // Garbage gets malformedRequest, in OCSP's terms.
    for (const char* junk : {"bm90IGFuIG9jc3AgcmVxdWVzdA==", "a//b+c", "AAAA"}) {
        auto g = run(in_dir("curl -s -o junk.resp " + shell_quote(selo->base() + "/ocsp/" + junk) +
                            " && openssl ocsp -respin junk.resp -resp_text -noverify"));
        EXPECT_NE(g.output.find("malformedrequest (1)"), std::string::npos) << junk << g.output;
    }
    // A broken percent-escape never reaches the responder: the router answers 400.
    auto esc = run("curl -s -o /dev/null -w '%{http_code}' " + shell_quote(selo->base() + "/ocsp/%zz"));
    EXPECT_EQ(esc.output, "400");
    // POST with an empty body: malformedRequest too.
    auto empty = run(in_dir("curl -s -o empty.resp -H 'Content-Type: application/ocsp-request' --data-binary '' " +
                            selo->base() + "/ocsp && openssl ocsp -respin empty.resp -resp_text -noverify"));
    EXPECT_NE(empty.output.find("malformedrequest (1)"), std::string::npos) << empty.output;
}

TEST_F(CaStatusOverHttp, PrecomputedAnswersSeeEveryCliChangeAtOnce) {
    // The same request octets, asked again and again: after the first answer the server hands
    // out the precomputed one on its I/O thread, until the CLI (another process) changes the
    // status; the next request must already see the change.
    selo->enrol("黃大仙", "WONG Tai Sin", "5300005(5)", "e@example.mo", "585714");
    std::string e = save_certificate("IDCMO-5300005(5)", "e.pem");
    ASSERT_FALSE(e.empty());
    ASSERT_EQ(run(in_dir("openssl ocsp -issuer natural-persons.pem -cert e.pem -no_nonce -reqout e.der")).exit_code, 0);
    const std::string url = shell_quote(selo->base() + "/ocsp/" + base64_encode(read_file(selo->dir() / "e.der")));
    auto status = [&](bool get) {
        std::string fetch = get ? "curl -sf -o e.resp " + url
                                : "curl -sf -o e.resp -H 'Content-Type: application/ocsp-request' --data-binary @e.der " +
                                      selo->base() + "/ocsp";
        auto r = run(in_dir(fetch + " && openssl ocsp -respin e.resp -issuer natural-persons.pem -cert e.pem"
                                    " -CAfile root.pem -verify_other natural-persons.pem"));
        EXPECT_NE(r.output.find("Response verify OK"), std::string::npos) << r.output;
        return r.output;
    };
    auto expect_all = [&](const std::string& want) {
        for (int i = 0; i < 3; ++i) {
            EXPECT_NE(status(true).find("e.pem: " + want), std::string::npos) << "GET " << i << " " << want;
            EXPECT_NE(status(false).find("e.pem: " + want), std::string::npos) << "POST " << i << " " << want;
        }
    };
    expect_all("good");
    ASSERT_EQ(selo->selo("ca suspend --data " + data() + " --serial " + e).exit_code, 0);
    EXPECT_NE(status(true).find("Reason: certificateHold"), std::string::npos);
    expect_all("revoked");
    ASSERT_EQ(selo->selo("ca resume --data " + data() + " --serial " + e).exit_code, 0);
    expect_all("good");
    ASSERT_EQ(selo->selo("ca revoke --data " + data() + " --serial " + e + " --reason keyCompromise").exit_code, 0);
    EXPECT_NE(status(false).find("Reason: keyCompromise"), std::string::npos);
    expect_all("revoked");
}

TEST_F(CaStatusOverHttp, OfficerApiChangesStatusAndTheRepositoryShowsIt) {
    selo->enrol("張三", "CHEUNG Sam", "5300003(3)", "c@example.mo", "485714");
    std::string c = save_certificate("IDCMO-5300003(3)", "c.pem");
    ASSERT_FALSE(c.empty());
    Holder officer = selo->enrol("梁文華", "LEUNG Man Wa", "S-0001", "leung@selo.example.mo", "",
                                 {"ca-officer"}, "staff-card");
    Holder citizen = selo->enrol("陳小明", "CHAN Siu Ming", "5300004(4)", "ming@example.mo", "");
    std::string token = selo->api_login(officer);
    std::string citizen_token = selo->api_login(citizen);
    const std::string auth = "Authorization: Bearer " + token;

    // The repository answers anyone: status and the DER, which openssl reads.
    auto got = selo->get("/api/v1/certificates/" + c);
    ASSERT_EQ(got.status, 200) << got.raw;
    EXPECT_EQ(got.body.at("status").as_string(), "valid");
    write_file(selo->dir() / "c.der", base64_decode(std::string(got.body.at("der").as_string())).value());
    auto same = run(in_dir("openssl x509 -inform DER -in c.der -noout -serial"));
    std::string upper = c;
    std::transform(upper.begin(), upper.end(), upper.begin(), ::toupper);
    EXPECT_NE(same.output.find("serial=" + upper), std::string::npos) << same.output;
    EXPECT_EQ(selo->get("/api/v1/certificates/00ff00ff").status, 404);
    EXPECT_EQ(selo->get("/api/v1/certificates/not-hex").status, 400);

    // Only officers change statuses.
    EXPECT_EQ(selo->post("/api/v1/certificates/" + c + "/suspend", "{}").status, 401);
    EXPECT_EQ(selo->post("/api/v1/certificates/" + c + "/suspend", "{}", {"Authorization: Bearer " + citizen_token}).status, 403);
    auto held = selo->post("/api/v1/certificates/" + c + "/suspend", R"({"comment":"holder called"})", {auth});
    ASSERT_EQ(held.status, 200) << held.raw;
    EXPECT_EQ(held.body.at("status").as_string(), "suspended");
    EXPECT_NE(ocsp("-cert c.pem -no_nonce").find("c.pem: revoked"), std::string::npos);
    EXPECT_EQ(selo->post("/api/v1/certificates/" + c + "/suspend", "{}", {auth}).status, 409);
    ASSERT_EQ(selo->post("/api/v1/certificates/" + c + "/resume", "{}", {auth}).status, 200);
    EXPECT_NE(ocsp("-cert c.pem -no_nonce").find("c.pem: good"), std::string::npos);
    auto bad = selo->post("/api/v1/certificates/" + c + "/revoke", R"({"reason":"bored"})", {auth});
    EXPECT_EQ(bad.status, 422) << bad.raw;
    auto revoked = selo->post("/api/v1/certificates/" + c + "/revoke",
                              R"({"reason":"cessationOfOperation","comment":"court order"})", {auth});
    ASSERT_EQ(revoked.status, 200) << revoked.raw;
    EXPECT_EQ(revoked.body.at("reason").as_string(), "cessationOfOperation");
    auto out = ocsp("-cert c.pem");
    EXPECT_NE(out.find("Reason: cessationOfOperation"), std::string::npos) << out;
    auto listed = selo->get("/api/v1/certificates?status=revoked&ca=natural-persons", {auth});
    ASSERT_EQ(listed.status, 200) << listed.raw;
    bool found = false;
    for (const auto& v : listed.body.at("certificates").as_array()) {
        found = found || v.at("serial").as_string() == c;
    }
    EXPECT_TRUE(found) << listed.raw;
}

}  // namespace
}  // namespace selo::test
