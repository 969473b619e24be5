// The first end-to-end path, played against a real `selo serve` with third-party peers only:
// curl speaks HTTP, oathtool computes the OTP from the otpauth URI, pdfsig (NSS trusting only
// Selo's root) validates the signed PDFs, qpdf checks their structure, openssl verifies the
// certificate chain and the CMS.

#include <gtest/gtest.h>

#include <boost/json.hpp>

#include <algorithm>
#include <fstream>
#include <map>
#include <numeric>
#include <regex>
#include <set>

#include "core/bytes.hpp"
#include "crypto/digest.hpp"
#include "integration/selo_instance.hpp"
#include "support/test_support.hpp"

namespace selo::test {
namespace {

namespace fs = std::filesystem;
namespace json = boost::json;

class SigningEndToEnd : public ::testing::Test {
protected:
    static void SetUpTestSuite() {
        if (auto missing = missing_tool({"pdfsig", "certutil", "qpdf"}); !missing.empty()) {
            skip_reason = new std::string(missing);
            return;
        }
        selo = new SeloInstance();
        std::string error = selo->start();
        if (!error.empty()) {
            skip_reason = new std::string(error);
            ADD_FAILURE() << error;
        }
    }

    static void TearDownTestSuite() {
        if (selo != nullptr) {
            selo->stop();
            EXPECT_EQ(selo->stop_status(), 0) << "graceful stop on SIGTERM";
            delete selo;
            selo = nullptr;
        }
    }

    void SetUp() override {
        if (skip_reason != nullptr) {
            GTEST_SKIP() << *skip_reason;
        }
    }

    static Reply authorize(const std::string& token, const Holder& c, const std::vector<Bytes>& hashes,
                           const std::string& code, const std::string& pin) {
        json::array hs;
        for (const auto& h : hashes) {
            hs.emplace_back(base64_encode(h));
        }
        json::object body{{"credentialID", c.credential},
                          {"numSignatures", hashes.size()},
                          {"hashes", hs},
                          {"hashAlgorithmOID", "2.16.840.1.101.3.4.2.1"},
                          {"authData", json::array{json::object{{"id", "PIN"}, {"value", pin}},
                                                   json::object{{"id", "OTP"}, {"value", code}}}}};
        return selo->post("/csc/v2/credentials/authorize", json::serialize(body),
                          {"Authorization: Bearer " + token});
    }

    static Holder enrol(const std::string& name, const std::string& latin, const std::string& id,
                        const std::string& email, const std::string& pin) {
        return selo->enrol(name, latin, id, email, pin);
    }
    static std::string otp(const Holder& h, int ahead = 0) { return SeloInstance::otp(h, ahead); }
    static Reply post(const std::string& path, const std::string& body,
                      const std::vector<std::string>& headers = {}) {
        return selo->post(path, body, headers);
    }
    static std::string login(const Holder& h) { return selo->csc_login(h); }

    static inline SeloInstance* selo = nullptr;
    static inline std::string* skip_reason = nullptr;
};

// The documents to sign: the shared real-world corpus when it is there, the generated
// fixtures otherwise.
std::vector<fs::path> input_pdfs() {
    std::vector<fs::path> out;
    fs::path corpus(SELO_CORPUS_DIR);
    fs::path source = fs::is_directory(corpus) ? corpus : fs::path(SELO_TEST_DATA) / "pdf";
    std::error_code ec;
    for (const auto& e : fs::directory_iterator(source, ec)) {
        if (e.path().extension() == ".pdf") {
            out.push_back(e.path());
        }
    }
    std::sort(out.begin(), out.end());
    return out;
}

bool is_prefix(const Bytes& original, const Bytes& output) {
    return output.size() > original.size() && std::equal(original.begin(), original.end(), output.begin());
}

// Checks one signed output with pdfsig, qpdf and the byte comparison. Returns "" when fine.
std::string check_signed(const fs::path& original, const fs::path& output, const fs::path& nss,
                         const std::string& signer) {
    std::string problems;
    Bytes in = read_file(original);
    Bytes out = read_file(output);
    if (!is_prefix(in, out)) {
        problems += " original-not-prefix";
    }
    auto before = pdfsig(original, nss);
    auto after = pdfsig(output, nss);
    auto mine = std::find_if(after.begin(), after.end(),
                             [&](const PdfsigSignature& s) { return s.common_name == signer; });
    if (mine == after.end()) {
        return problems + " no-new-signature";
    }
    if (mine->validation != "Signature is Valid.") {
        problems += " validation=[" + mine->validation + "]";
    }
    if (mine->certificate != "Certificate is Trusted.") {
        problems += " certificate=[" + mine->certificate + "]";
    }
    if (!mine->total) {
        problems += " not-total";
    }
    // Earlier signatures keep their verdict.
    for (const auto& b : before) {
        auto same = std::find_if(after.begin(), after.end(),
                                 [&](const PdfsigSignature& s) { return s.field == b.field; });
        if (same == after.end() || same->validation != b.validation) {
            problems += " earlier-signature-changed(" + b.field + ")";
        }
    }
    int rc_in = qpdf_check(original);
    int rc_out = qpdf_check(output);
    if (qpdf_rank(rc_out) > qpdf_rank(rc_in)) {
        problems += " qpdf-check " + std::to_string(rc_in) + "->" + std::to_string(rc_out);
    }
    return problems;
}

TEST_F(SigningEndToEnd, SignDocSignsTheCorpusWithOneSadAndPdfsigAcceptsEveryResult) {
    Holder chan = enrol("陳大文", "CHAN Tai Man", "5215299(8)", "chan.taiman@example.mo", "246810");
    std::string token = login(chan);

    // Every input goes in, encrypted and damaged ones included: those must be refused by name.
    std::vector<fs::path> pdfs;
    std::vector<Bytes> contents, hashes;
    std::set<Bytes> seen;
    for (const auto& p : input_pdfs()) {
        Bytes b = read_file(p);
        Bytes h = crypto::sha256(b);
        if (!seen.insert(h).second) {
            continue;  // identical files: one SAD names each hash once
        }
        pdfs.push_back(p);
        contents.push_back(std::move(b));
        hashes.push_back(h);
    }
    ASSERT_FALSE(pdfs.empty());
    ASSERT_LE(pdfs.size(), 100u);
    auto auth = authorize(token, chan, hashes, otp(chan), chan.pin);
    ASSERT_EQ(auth.status, 200) << auth.raw;
    std::string sad(auth.body.as_object().at("SAD").as_string());

    std::vector<std::size_t> batch(pdfs.size());
    std::iota(batch.begin(), batch.end(), 0);
    std::map<std::string, std::string> refused;  // file -> reason
    json::array signed_docs;
    for (;;) {
        json::array docs;
        for (auto i : batch) {
            docs.push_back(json::object{{"document", base64_encode(contents[i])},
                                        {"signature_format", "P"},
                                        {"conformance_level", "Ades-B-B"},
                                        {"signAlgo", "1.2.840.10045.4.3.2"}});
        }
        auto r = post("/csc/v2/signatures/signDoc",
                      json::serialize(json::object{{"credentialID", chan.credential},
                                                   {"SAD", sad},
                                                   {"documents", docs}}),
                      {"Authorization: Bearer " + token});
        if (r.status == 200) {
            signed_docs = r.body.as_object().at("DocumentWithSignature").as_array();
            break;
        }
        // A refusal names the document (its index in this call) and the reason; nothing of the
        // SAD was used, so the rest goes again with the same SAD.
        ASSERT_EQ(r.status, 400) << r.raw;
        std::string desc(r.body.as_object().at("error_description").as_string());
        std::smatch m;
        std::regex doc_re("^document (\\d+): (.+)$");
        ASSERT_TRUE(std::regex_match(desc, m, doc_re)) << "refusal does not name a document: " << desc;
        std::size_t k = std::stoul(m[1]);
        ASSERT_LT(k, batch.size());
        refused[pdfs[batch[k]].filename().string()] = m[2];
        batch.erase(batch.begin() + static_cast<long>(k));
        ASSERT_FALSE(batch.empty()) << "every document was refused";
    }
    ASSERT_EQ(signed_docs.size(), batch.size());

    fs::create_directories(selo->dir() / "signed");
    std::size_t eligible = 0, eligible_signed = 0;
    std::vector<std::string> failures;
    std::set<std::string> signed_names;
    for (std::size_t j = 0; j < batch.size(); ++j) {
        const fs::path& in = pdfs[batch[j]];
        fs::path out = selo->dir() / "signed" / in.filename();
        write_file(out, base64_decode(signed_docs[j].as_string()).value());
        signed_names.insert(in.filename().string());
        auto problems = check_signed(in, out, selo->dir() / "nss", "陳大文");
        if (!problems.empty()) {
            failures.push_back(in.filename().string() + ":" + problems);
        }
    }
    for (const auto& p : pdfs) {
        bool enc = is_encrypted(p);
        int rc = qpdf_check(p);
        std::string name = p.filename().string();
        if (enc) {
            EXPECT_TRUE(refused.contains(name)) << name << " is encrypted but was signed";
            if (refused.contains(name)) {
                EXPECT_NE(refused[name].find("encrypt"), std::string::npos) << name << ": " << refused[name];
            }
            continue;
        }
        if (rc == 0 || rc == 3) {
            ++eligible;
            if (signed_names.contains(name) &&
                std::none_of(failures.begin(), failures.end(),
                             [&](const std::string& f) { return f.starts_with(name + ":"); })) {
                ++eligible_signed;
            }
        }
    }
    std::string refusals;
    for (const auto& [f, why] : refused) {
        refusals += "\n  refused " + f + ": " + why;
        EXPECT_FALSE(why.empty());
    }
    std::string failed;
    for (const auto& f : failures) {
        failed += "\n  " + f;
    }
    RecordProperty("eligible", static_cast<int>(eligible));
    RecordProperty("signed", static_cast<int>(eligible_signed));
    std::cout << "signDoc: " << eligible_signed << " of " << eligible
              << " unencrypted, qpdf-accepted inputs signed and validated" << refusals << failed
              << std::endl;
    EXPECT_TRUE(failures.empty()) << "outputs that validators rejected:" << failed;
    if (fs::is_directory(fs::path(SELO_CORPUS_DIR))) {
        // The real-world corpus: at least 95% of what qpdf accepts must sign.
        EXPECT_GE(eligible_signed * 100, eligible * 95) << refusals;
    } else {
        // The generated fixtures: exactly the ones made to be unsignable are refused.
        const std::set<std::string> unsignable = {
            "damaged.pdf",   "truncated.pdf",     "encrypted.pdf", "encrypted-no-password.pdf",
            "docmdp-p1.pdf", "field-lock-p1.pdf", "no-pages.pdf"};
        std::set<std::string> refused_names;
        for (const auto& [f, why] : refused) {
            refused_names.insert(f);
        }
        EXPECT_EQ(refused_names, unsignable) << refusals;
    }
    for (const char* must : {"160F-2019.pdf", "tracemonkey.pdf"}) {
        if (std::any_of(pdfs.begin(), pdfs.end(), [&](const fs::path& p) { return p.filename() == must; })) {
            EXPECT_TRUE(signed_names.contains(must)) << must << ": " << refused[must];
        }
    }

    // The SAD is used up now: signing any of its documents again is refused.
    auto again = post("/csc/v2/signatures/signDoc",
                      json::serialize(json::object{
                          {"credentialID", chan.credential},
                          {"SAD", sad},
                          {"documents", json::array{json::object{{"document", base64_encode(contents[batch[0]])},
                                                                 {"signature_format", "P"},
                                                                 {"signAlgo", "1.2.840.10045.4.3.2"}}}}}),
                      {"Authorization: Bearer " + token});
    EXPECT_EQ(again.status, 400) << again.raw;

    // Independent checks of one output: the certificate chain with openssl verify, and the CMS
    // over the signed byte ranges with openssl cms -verify.
    const fs::path sample = selo->dir() / "signed" / pdfs[batch[0]].filename();
    auto sigs = pdfsig(sample, selo->dir() / "nss");
    auto mine = std::find_if(sigs.begin(), sigs.end(), [](const auto& s) { return s.common_name == "陳大文"; });
    ASSERT_NE(mine, sigs.end());
    ASSERT_EQ(mine->ranges.size(), 2u);
    Bytes out = read_file(sample);
    auto [a0, a1] = mine->ranges[0];
    auto [b0, b1] = mine->ranges[1];
    Bytes content(out.begin() + static_cast<long>(a0), out.begin() + static_cast<long>(a1));
    content.insert(content.end(), out.begin() + static_cast<long>(b0), out.begin() + static_cast<long>(b1));
    std::string hex(as_chars(ByteView(out.data() + a1 + 1, b0 - a1 - 2)));
    Bytes cms = hex_decode(hex).value();
    // DER length of the outer SEQUENCE tells where the zero padding starts.
    ASSERT_EQ(cms[0], 0x30);
    std::size_t len = 0, hdr = 2;
    if (cms[1] & 0x80) {
        hdr += cms[1] & 0x7f;
        for (std::size_t i = 0; i < (cms[1] & 0x7fu); ++i) {
            len = (len << 8) | cms[2 + i];
        }
    } else {
        len = cms[1];
    }
    cms.resize(hdr + len);
    write_file(selo->dir() / "content.bin", content);
    write_file(selo->dir() / "sig.der", cms);
    auto cms_verify = run("openssl cms -verify -binary -inform DER -in " + (selo->dir() / "sig.der").string() +
                          " -content " + (selo->dir() / "content.bin").string() + " -CAfile " +
                          (selo->dir() / "root.pem").string() + " -purpose any -out /dev/null");
    EXPECT_EQ(cms_verify.exit_code, 0) << cms_verify.output;
    auto cms_print = run("openssl cms -cmsout -print -inform DER -in " + (selo->dir() / "sig.der").string());
    EXPECT_EQ(cms_print.output.find("signingTime"), std::string::npos);
    EXPECT_NE(cms_print.output.find("signingCertificateV2"), std::string::npos);
    auto signer_pem = run("openssl pkcs7 -inform DER -in " + (selo->dir() / "sig.der").string() +
                          " -print_certs -out " + (selo->dir() / "certs.pem").string());
    ASSERT_EQ(signer_pem.exit_code, 0) << signer_pem.output;
    auto verify = run("openssl verify -x509_strict -CAfile " + (selo->dir() / "root.pem").string() +
                      " -untrusted " + (selo->dir() / "np.pem").string() + " " + (selo->dir() / "certs.pem").string());
    EXPECT_EQ(verify.exit_code, 0) << verify.output;
}

TEST_F(SigningEndToEnd, SeloSignSignsLocallyWithOnlyTheHashSent) {
    // One citizen per file: each signature needs its own fresh OTP.
    std::vector<fs::path> picks;
    fs::path corpus(SELO_CORPUS_DIR);
    if (fs::is_directory(corpus)) {
        for (const char* f : {"160F-2019.pdf", "tracemonkey.pdf", "issue14165.pdf", "bug854315.pdf"}) {
            if (fs::exists(corpus / f)) {
                picks.push_back(corpus / f);
            }
        }
    }
    for (const char* f : {"classic.pdf", "xref-stream.pdf", "hybrid.pdf", "junk-header.pdf"}) {
        if (fs::exists(fs::path(SELO_TEST_DATA) / "pdf" / f)) {
            picks.push_back(fs::path(SELO_TEST_DATA) / "pdf" / f);
        }
    }
    ASSERT_FALSE(picks.empty());
    int n = 0;
    for (const auto& pdf : picks) {
        ++n;
        Holder c = enrol("João Conceição", "João Conceição", "70000" + std::to_string(n) + "(1)",
                          "joao" + std::to_string(n) + "@example.mo", "135790");
        fs::path out = selo->dir() / ("selo-sign-" + std::to_string(n) + ".pdf");
        auto r = run(shell_quote(SeloInstance::binary().string()) + " sign --server " + selo->base() + " --user " + c.username +
                     " --password " + shell_quote(c.password) + " --pin " + c.pin + " --otp " + otp(c) +
                     " " + shell_quote(pdf.string()) + " -o " + shell_quote(out.string()));
        ASSERT_EQ(r.exit_code, 0) << pdf << ": " << r.output;
        EXPECT_EQ(check_signed(pdf, out, selo->dir() / "nss", "João Conceição"), "") << pdf;
    }
}

// The signer's certificate names Selo's OCSP responder: pdfsig (NSS) asks it, and trusts the
// signature until an officer revokes the certificate from the CLI while the server runs.
TEST_F(SigningEndToEnd, PdfsigAsksSelosOcspResponderTrustedThenRevoked) {
    fs::path pdf = fs::path(SELO_TEST_DATA) / "pdf" / "classic.pdf";
    ASSERT_TRUE(fs::exists(pdf));
    Holder c = enrol("何美玲", "HO Mei Ling", "7100001(1)", "ho.meiling@example.mo", "246813");
    fs::path out = selo->dir() / "ocsp-signed.pdf";
    auto r = run(shell_quote(SeloInstance::binary().string()) + " sign --server " + selo->base() +
                 " --user " + c.username + " --password " + shell_quote(c.password) + " --pin " +
                 c.pin + " --otp " + otp(c) + " " + shell_quote(pdf.string()) + " -o " +
                 shell_quote(out.string()));
    ASSERT_EQ(r.exit_code, 0) << r.output;
    auto before = pdfsig(out, selo->dir() / "nss");
    ASSERT_EQ(before.size(), 1u);
    EXPECT_EQ(before[0].certificate, "Certificate is Trusted.");

    auto list = selo->selo("ca list --data " + shell_quote(selo->data().string()) +
                               " --ca natural-persons --status valid --json",
                           true);
    ASSERT_EQ(list.exit_code, 0) << list.output;
    std::string serial;
    json::value listed = json::parse(list.output);
    for (const auto& v : listed.as_array()) {
        if (std::string(v.at("subject").as_string()).find("IDCMO-7100001(1)") != std::string::npos) {
            serial = std::string(v.at("serial").as_string());
        }
    }
    ASSERT_FALSE(serial.empty()) << list.output;
    auto revoke = selo->selo("ca revoke --data " + shell_quote(selo->data().string()) + " --serial " +
                             serial + " --reason keyCompromise --comment 'lost phone'");
    ASSERT_EQ(revoke.exit_code, 0) << revoke.output;
    auto after = pdfsig(out, selo->dir() / "nss");
    ASSERT_EQ(after.size(), 1u);
    EXPECT_EQ(after[0].certificate, "Certificate has been Revoked.");
    EXPECT_EQ(after[0].validation, "Signature is Valid.") << "the signature itself is intact";
}

TEST_F(SigningEndToEnd, SeloSignLeavesNoOutputWhenRefused) {
    Holder c = enrol("李小龍", "LEE Siu Lung", "1111111(1)", "lee@example.mo", "975310");
    auto pdf = input_pdfs().front();
    fs::path out = selo->dir() / "refused.pdf";
    auto wrong_pin = run(shell_quote(SeloInstance::binary().string()) + " sign --server " + selo->base() + " --user " + c.username +
                         " --password " + shell_quote(c.password) + " --pin 864200 --otp " + otp(c) +
                         " " + shell_quote(pdf.string()) + " -o " + shell_quote(out.string()));
    EXPECT_EQ(wrong_pin.exit_code, 1);
    EXPECT_NE(wrong_pin.output.find("The PIN is invalid"), std::string::npos) << wrong_pin.output;
    EXPECT_FALSE(fs::exists(out));
    // A truncated PDF is refused before anything is sent.
    Bytes b = read_file(pdf);
    b.resize(b.size() / 3);
    write_file(selo->dir() / "truncated.pdf", b);
    auto truncated = run(shell_quote(SeloInstance::binary().string()) + " sign --server " + selo->base() + " --user " + c.username +
                         " --password " + shell_quote(c.password) + " --pin 975310 --otp " + otp(c, 1) +
                         " " + (selo->dir() / "truncated.pdf").string() + " -o " + shell_quote(out.string()));
    EXPECT_EQ(truncated.exit_code, 1) << truncated.output;
    EXPECT_FALSE(fs::exists(out));
    // Output paths that cannot work are refused before anything is sent, so no code is spent.
    auto sign_to = [&](const std::string& output, const std::string& extra = "") {
        return run(shell_quote(SeloInstance::binary().string()) + " sign --server " + selo->base() +
                   " --user " + c.username + " --password " + shell_quote(c.password) +
                   " --pin 975310 --otp 123456 " + shell_quote(pdf.string()) + " -o " + output + extra);
    };
    write_file(selo->dir() / "existing.pdf", "keep me");
    auto existing = sign_to(shell_quote((selo->dir() / "existing.pdf").string()));
    EXPECT_EQ(existing.exit_code, 1);
    EXPECT_NE(existing.output.find("--force"), std::string::npos) << existing.output;
    EXPECT_EQ(read_file(selo->dir() / "existing.pdf"), to_bytes("keep me"));
    auto to_dir = sign_to(shell_quote(selo->dir().string()));
    EXPECT_NE(to_dir.output.find("not a regular file"), std::string::npos) << to_dir.output;
    auto to_dev = sign_to("/dev/null");
    EXPECT_NE(to_dev.output.find("not a regular file"), std::string::npos) << to_dev.output;
    EXPECT_NE(sign_to("-").output.find("standard output"), std::string::npos);
    auto onto_input = sign_to(shell_quote(pdf.string()), " --force");
    EXPECT_NE(onto_input.output.find("must not be the input"), std::string::npos) << onto_input.output;
    auto no_dir = sign_to(shell_quote((selo->dir() / "missing" / "x.pdf").string()));
    EXPECT_NE(no_dir.output.find("does not exist"), std::string::npos) << no_dir.output;

    // No stray temporary files next to the output.
    for (const auto& e : fs::directory_iterator(selo->dir())) {
        EXPECT_EQ(e.path().filename().string().find("refused.pdf."), std::string::npos) << e.path();
    }
}

TEST_F(SigningEndToEnd, CscErrorsAreClearAndNeverCrashTheServer) {
    Holder a = enrol("張三", "CHEUNG Sam", "2222222(2)", "sam@example.mo", "258025");
    Holder b = enrol("Maria da Silva", "Maria da Silva", "3333333(3)", "maria@example.mo", "147036");
    auto error_of = [](const Reply& r) { return r.error(); };

    // Wrong password.
    auto bad_login = post("/csc/v2/auth/login", "{}",
                          {"Authorization: Basic " + base64_encode(as_bytes(a.username + ":nope"))});
    EXPECT_EQ(bad_login.status, 400);
    EXPECT_NE(error_of(bad_login).find("authentication_error"), std::string::npos) << error_of(bad_login);
    // No token, garbage token.
    auto no_token = post("/csc/v2/credentials/list", "{}");
    EXPECT_EQ(no_token.status, 401);
    EXPECT_NE(error_of(no_token).find("invalid_token"), std::string::npos);
    auto bad_token = post("/csc/v2/credentials/list", "{}", {"Authorization: Bearer forged"});
    EXPECT_EQ(bad_token.status, 401);

    std::string ta = login(a), tb = login(b);
    Bytes h1 = crypto::sha256(as_bytes("one")), h2 = crypto::sha256(as_bytes("two"));

    // Wrong PIN, wrong OTP, then a good authorisation and the replay of its OTP.
    auto wrong_pin = authorize(ta, a, {h1}, otp(a), "111000");
    EXPECT_EQ(error_of(wrong_pin), "invalid_pin: The PIN is invalid");
    auto wrong_otp = authorize(ta, a, {h1}, "000000", a.pin);
    EXPECT_NE(error_of(wrong_otp).find("invalid_otp"), std::string::npos) << error_of(wrong_otp);
    std::string code = otp(a, 1);
    auto good = authorize(ta, a, {h1}, code, a.pin);
    ASSERT_EQ(good.status, 200) << good.raw;
    EXPECT_LE(good.body.as_object().at("expiresIn").as_int64(), 300);
    auto replay = authorize(ta, a, {h2}, code, a.pin);
    EXPECT_NE(error_of(replay).find("invalid_otp"), std::string::npos);
    EXPECT_NE(error_of(replay).find("already been used"), std::string::npos) << error_of(replay);
    std::string sad(good.body.as_object().at("SAD").as_string());

    auto sign = [&](const std::string& token, const Holder& who, const Bytes& h, const std::string& s) {
        json::object body{{"credentialID", who.credential},
                          {"SAD", s},
                          {"hashes", json::array{base64_encode(h)}},
                          {"signAlgo", "1.2.840.10045.4.3.2"}};
        return post("/csc/v2/signatures/signHash", json::serialize(body), {"Authorization: Bearer " + token});
    };
    // Unauthorised hash; another account using the SAD; then the real use and its reuse.
    EXPECT_EQ(error_of(sign(ta, a, h2, sad)), "invalid_request: Hash is not authorized by the SAD");
    EXPECT_EQ(error_of(sign(tb, b, h1, sad)), "invalid_request: Invalid parameter SAD");
    EXPECT_EQ(error_of(sign(tb, a, h1, sad)), "invalid_request: Invalid parameter credentialID");
    auto ok = sign(ta, a, h1, sad);
    ASSERT_EQ(ok.status, 200) << ok.raw;
    EXPECT_EQ(ok.body.as_object().at("signatures").as_array().size(), 1u);
    EXPECT_NE(error_of(sign(ta, a, h1, sad)).find("Hash is not authorized by the SAD"), std::string::npos);

    // Unknown credential, malformed JSON, malformed base64, missing fields, a truncated PDF.
    json::object unknown{{"credentialID", "cred_nope"}};
    EXPECT_EQ(error_of(post("/csc/v2/credentials/info", json::serialize(unknown), {"Authorization: Bearer " + ta})),
              "invalid_request: Invalid parameter credentialID");
    auto malformed = post("/csc/v2/credentials/info", "{\"credentialID\": ", {"Authorization: Bearer " + ta});
    EXPECT_EQ(malformed.status, 400);
    EXPECT_NE(error_of(malformed).find("invalid_request: Malformed JSON"), std::string::npos) << error_of(malformed);
    json::object bad_b64{{"credentialID", a.credential}, {"SAD", sad}, {"hashes", json::array{"***"}},
                         {"signAlgo", "1.2.840.10045.4.3.2"}};
    EXPECT_EQ(error_of(post("/csc/v2/signatures/signHash", json::serialize(bad_b64), {"Authorization: Bearer " + ta})),
              "invalid_request: Invalid Base64 hash string parameter");
    EXPECT_EQ(error_of(post("/csc/v2/credentials/authorize", "{}", {"Authorization: Bearer " + ta})),
              "invalid_request: Missing (or invalid type) string parameter credentialID");

    Bytes pdf = read_file(input_pdfs().front());
    pdf.resize(pdf.size() / 2);
    auto tsad = authorize(ta, a, {crypto::sha256(pdf)}, otp(a, -1), a.pin);
    if (tsad.status == 200) {
        json::object body{{"credentialID", a.credential},
                          {"SAD", tsad.body.as_object().at("SAD")},
                          {"documents", json::array{json::object{{"document", base64_encode(pdf)},
                                                                 {"signature_format", "P"},
                                                                 {"signAlgo", "1.2.840.10045.4.3.2"}}}}};
        auto r = post("/csc/v2/signatures/signDoc", json::serialize(body), {"Authorization: Bearer " + ta});
        EXPECT_EQ(r.status, 400) << r.raw;
        EXPECT_NE(error_of(r).find("document 0:"), std::string::npos) << error_of(r);
    }

    // The server's and the router's own errors speak CSC under /csc/ too.
    auto unknown_method = post("/csc/v2/credentials/nonexistent", "{}", {"Authorization: Bearer " + ta});
    EXPECT_EQ(unknown_method.status, 404);
    EXPECT_NE(unknown_method.error().find("invalid_request"), std::string::npos) << unknown_method.raw;
    // A large signDoc body is accepted only from a signed-in client: without a valid token the
    // ordinary 1 MiB limit applies, before anything is buffered.
    std::string big(2 * 1024 * 1024, 'A');
    auto anonymous_big = post("/csc/v2/signatures/signDoc", "{\"x\":\"" + big + "\"}", {"Authorization: Bearer forged"});
    EXPECT_EQ(anonymous_big.status, 413) << anonymous_big.raw.substr(0, 200);
    EXPECT_NE(anonymous_big.error().find("invalid_request"), std::string::npos) << anonymous_big.raw.substr(0, 200);
    auto signed_in_big = post("/csc/v2/signatures/signDoc", "{\"x\":\"" + big + "\"}", {"Authorization: Bearer " + ta});
    EXPECT_EQ(signed_in_big.status, 400) << "read, then refused for its content: " << signed_in_big.raw.substr(0, 200);

    // Garbage on the wire does not take the server down.
    run("printf 'GARBAGE\\r\\n\\r\\n' | curl -s --max-time 2 telnet://127.0.0.1:" + std::to_string(selo->port()) + " >/dev/null");
    auto health = run("curl -sf " + selo->base() + "/healthz");
    EXPECT_EQ(health.exit_code, 0) << health.output;
    auto info = post("/csc/v2/info", "{}");
    EXPECT_EQ(info.status, 200);
    EXPECT_EQ(info.body.as_object().at("specs").as_string(), "2.0.0.2");
}

TEST_F(SigningEndToEnd, CredentialInfoDescribesTheCredentialAsCscRequires) {
    Holder c = enrol("何嘉欣", "HO Ka Yan", "4444444(4)", "ho@example.mo", "380297");
    std::string token = login(c);
    json::object body{{"credentialID", c.credential}, {"certificates", "chain"}, {"certInfo", true}, {"authInfo", true}};
    auto r = post("/csc/v2/credentials/info", json::serialize(body), {"Authorization: Bearer " + token});
    ASSERT_EQ(r.status, 200) << r.raw;
    const auto& o = r.body.as_object();
    EXPECT_EQ(o.at("SCAL").as_string(), "2");
    EXPECT_GE(o.at("multisign").as_int64(), 100);
    EXPECT_EQ(o.at("key").as_object().at("len").as_int64(), 256);
    EXPECT_EQ(o.at("key").as_object().at("curve").as_string(), "1.2.840.10045.3.1.7");
    EXPECT_EQ(o.at("cert").as_object().at("certificates").as_array().size(), 3u);
    EXPECT_NE(std::string(o.at("cert").as_object().at("subjectDN").as_string()).find("CN=何嘉欣"), std::string::npos);
    const auto& auth = o.at("auth").as_object();
    EXPECT_EQ(auth.at("mode").as_string(), "explicit");
    std::set<std::string> ids;
    for (const auto& obj : auth.at("objects").as_array()) {
        ids.insert(std::string(obj.as_object().at("id").as_string()));
    }
    EXPECT_EQ(ids, (std::set<std::string>{"PIN", "OTP"}));
    auto list = post("/csc/v2/credentials/list", "{}", {"Authorization: Bearer " + token});
    ASSERT_EQ(list.status, 200);
    ASSERT_EQ(list.body.as_object().at("credentialIDs").as_array().size(), 1u);
    EXPECT_EQ(list.body.as_object().at("credentialIDs").as_array()[0].as_string(), c.credential);
}

}  // namespace
}  // namespace selo::test
