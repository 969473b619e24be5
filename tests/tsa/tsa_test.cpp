// The TSA against OpenSSL's own client and verifier: `openssl ts -query` builds the requests,
// `openssl ts -verify` and `openssl ts -reply -text` judge the answers.

#include <gtest/gtest.h>

#include <openssl/cms.h>
#include <openssl/objects.h>
#include <openssl/ts.h>

#include <ctime>
#include <fstream>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include "crypto/keys.hpp"
#include "pki/authority.hpp"
#include "pki/memory_repositories.hpp"
#include "store/migrations.hpp"
#include "store/sql_tsa.hpp"
#include "store/sqlite/sqlite_database.hpp"
#include "support/test_support.hpp"
#include "tsa/authority.hpp"
#include "tsa/der.hpp"
#include "tsa/epcm.hpp"
#include "tsa/request.hpp"
#include "tsa/unit.hpp"
#include "tsa/verify.hpp"

namespace selo::tsa {
namespace {

using test::run;
using test::shell_quote;

// Records what the TSA logs.
class MemoryLog final : public TrustLog {
public:
    Result<LogReceipt> append(std::string_view type, ByteView entry) override {
        std::lock_guard lock(mutex);
        entries.emplace_back(std::string(type), Bytes(entry.begin(), entry.end()));
        if (failing) {
            return fail(ErrorCode::unavailable, "log down");
        }
        return LogReceipt{entries.size() - 1, {}, {}};
    }
    // With `deferring`, asynchronous appends are held until release(), like a group commit.
    void append_async(std::string_view type, ByteView entry,
                      std::function<void(Result<LogReceipt>)> done) override {
        if (!deferring) {
            TrustLog::append_async(type, entry, std::move(done));
            return;
        }
        held.push_back([this, type = std::string(type), entry = Bytes(entry.begin(), entry.end()),
                        done = std::move(done)] { done(append(type, entry)); });
    }
    // With `full`, the queue has no room: try_append_async refuses (append_async would wait).
    bool try_append_async(std::string_view type, ByteView entry,
                          std::function<void(Result<LogReceipt>)> done) override {
        if (full) {
            return false;
        }
        append_async(type, entry, std::move(done));
        return true;
    }
    void release() {
        auto all = std::move(held);
        held.clear();
        for (auto& f : all) {
            f();
        }
    }
    std::mutex mutex;
    std::vector<std::pair<std::string, Bytes>> entries;
    bool failing = false;
    bool deferring = false;
    bool full = false;
    std::vector<std::function<void()>> held;
};

class TsaTest : public ::testing::Test {
protected:
    static void SetUpTestSuite() { fixture = new Fixture(); }
    static void TearDownTestSuite() {
        delete fixture;
        fixture = nullptr;
    }
    void SetUp() override {
        if (!test::have_tool("openssl")) {
            GTEST_SKIP() << "openssl is not installed";
        }
        ASSERT_TRUE(fixture->error.empty()) << fixture->error;
    }

    struct Fixture {
        Fixture() {
            auto r = pki::ensure_hierarchy({"MO", "Selo Test Services", "http://ca.example.mo",
                                            pki::default_authorities("Selo Test Services")},
                                           keys, cas, certs, clock, rng);
            if (!r) {
                error = r.error().message;
                return;
            }
            auto rec = cas.find(pki::kInfrastructureCaName).value();
            auto infra = pki::CertificateAuthority::load(
                             *rec, pki::CaContext{keys, certs, clock, rng, "http://ca.example.mo"},
                             {std::string(pki::kProfileTsa)})
                             .value();
            auto key = crypto::generate_key(crypto::KeyType::ec_p256).value();
            pki::DistinguishedName dn;
            dn.add(NID_countryName, "MO")
                .add(NID_organizationName, "Selo Test Services")
                .add(NID_commonName, "Selo Test Time-Stamping Unit");
            auto cert = infra.issue({std::string(pki::kProfileTsa), dn, key.get(), std::nullopt, {}, {}});
            if (!cert) {
                error = cert.error().message;
                return;
            }
            TsaOptions opts;
            opts.accepted_policies = {"1.3.6.1.4.1.99999.1"};
            opts.internal_policies = {std::string(kPolicyEpcmReceipt)};
            opts.chain = {infra.certificate()};
            auto made = TimeStampAuthority::create(*cert, std::move(key), opts, clock, rng, &log);
            if (!made) {
                error = made.error().message;
                return;
            }
            tsa.emplace(std::move(*made));
            root = pki::Certificate::from_der(cas.find(pki::kRootCaName).value()->certificate_der).value();
            intermediate = infra.certificate();
            test::write_file(dir / "root.pem", root->pem());
            test::write_file(dir / "chain.pem", intermediate->pem() + cert->pem());
            test::write_file(dir / "document.txt", std::string_view("Ofício n.º 12/2025 — 陳大文\n"));
        }
        // Real time: openssl checks certificates against its own clock.
        FakeClock clock{std::chrono::system_clock::now()};
        SystemRng rng;
        test::MemoryKeys key_repo;
        crypto::MasterKey master = crypto::MasterKey::from_bytes(Bytes(32, 7));
        crypto::SoftwareKeyStore keys{key_repo, master, rng};
        test::MemoryCas cas;
        test::MemoryCertificates certs;
        MemoryLog log;
        std::optional<TimeStampAuthority> tsa;
        std::optional<pki::Certificate> root;
        std::optional<pki::Certificate> intermediate;
        test::TempDir dir;
        std::string error;
    };
    static inline Fixture* fixture = nullptr;

    static std::filesystem::path path(std::string_view name) { return fixture->dir / name; }

    // Certificate status as the composition root looks it up: the issuing CA's name by its
    // certificate, then the certificate store the CA itself writes.
    static CertificateStatusLookup records_lookup() {
        auto names = std::make_shared<std::vector<std::pair<std::string, pki::Certificate>>>();
        const auto records = fixture->cas.list().value();
        for (const auto& rec : records) {
            names->emplace_back(rec.name, pki::Certificate::from_der(rec.certificate_der).value());
        }
        return [names](const pki::Certificate& issuer,
                       std::string_view serial) -> Result<std::optional<pki::CertificateStatus>> {
            for (const auto& [name, cert] : *names) {
                if (cert.der() == issuer.der()) {
                    return fixture->certs.status(name, serial);
                }
            }
            return std::optional<pki::CertificateStatus>{};
        };
    }

    // The suite's TSA as the unit that signs receipts.
    static ReceiptSigners fixture_signers() {
        return [] { return Result<std::vector<Bytes>>(std::vector<Bytes>{fixture->tsa->certificate().der()}); };
    }

    // `openssl ts -query ARGS` for the document; the request DER.
    static Bytes query(const std::string& args) {
        auto r = run("openssl ts -query -data " + path("document.txt").string() + " " + args +
                     " -out " + path("q.tsq").string());
        EXPECT_EQ(r.exit_code, 0) << r.output;
        return test::read_file(path("q.tsq"));
    }
    static std::string reply_text(const Bytes& reply) {
        test::write_file(path("r.tsr"), reply);
        return run("openssl ts -reply -in " + path("r.tsr").string() + " -text").output;
    }
    static test::CommandResult verify_reply(const Bytes& reply, const std::string& extra = {}) {
        test::write_file(path("v.tsr"), reply);
        return run("openssl ts -verify -data " + path("document.txt").string() + " -in " +
                   path("v.tsr").string() + " -CAfile " + path("root.pem").string() +
                   " -untrusted " + path("chain.pem").string() + " " + extra);
    }
};

TEST_F(TsaTest, OpensslVerifiesTokensForEveryDigestWithAndWithoutNonceAndCertReq) {
    for (const std::string digest : {"-sha256", "-sha384", "-sha512"}) {
        for (bool nonce : {true, false}) {
            for (bool cert : {true, false}) {
                SCOPED_TRACE(digest + (nonce ? " nonce" : " no nonce") + (cert ? " certReq" : ""));
                std::string args = digest + (nonce ? "" : " -no_nonce") + (cert ? " -cert" : "");
                Bytes q = query(args);
                auto reply = fixture->tsa->respond(q);
                ASSERT_TRUE(reply.granted) << reply.status_text;
                auto v = verify_reply(reply.der);
                EXPECT_EQ(v.exit_code, 0) << v.output;
                EXPECT_NE(v.output.find("Verification: OK"), std::string::npos) << v.output;
                // The same against the query itself: openssl then checks the nonce and policy too.
                auto vq = run("openssl ts -verify -queryfile " + path("q.tsq").string() + " -in " +
                              path("v.tsr").string() + " -CAfile " + path("root.pem").string() +
                              " -untrusted " + path("chain.pem").string());
                EXPECT_NE(vq.output.find("Verification: OK"), std::string::npos) << vq.output;

                std::string text = reply_text(reply.der);
                EXPECT_NE(text.find("Status: Granted."), std::string::npos) << text;
                EXPECT_NE(text.find("Policy OID: " + std::string(kPolicyTimeStamping)), std::string::npos) << text;
                EXPECT_NE(text.find("Accuracy: 0x01 seconds, unspecified millis, unspecified micros"),
                          std::string::npos) << text;
                EXPECT_NE(text.find("Ordering: no"), std::string::npos) << text;
                EXPECT_NE(text.find(nonce ? "Nonce: 0x" : "Nonce: unspecified"), std::string::npos) << text;
                // genTime in UTC ("Z"), as openssl prints it: "... GMT".
                EXPECT_NE(text.find(" GMT"), std::string::npos) << text;

                // certReq: the TSA's certificate is in the token exactly when asked for.
                test::write_file(path("tok.der"), reply.der);
                auto certs = run("openssl ts -reply -in " + path("tok.der").string() +
                                 " -token_out -out " + path("tok.p7").string() +
                                 " && openssl pkcs7 -inform DER -in " + path("tok.p7").string() +
                                 " -print_certs -noout");
                EXPECT_EQ(certs.output.find("Time-Stamping Unit") != std::string::npos, cert) << certs.output;
            }
        }
    }
}

TEST_F(TsaTest, TokenUsesEssCertIdV2WithSha256) {
    auto reply = fixture->tsa->respond(query("-sha256 -cert"));
    ASSERT_TRUE(reply.granted);
    test::write_file(path("e.tsr"), reply.der);
    auto r = run("openssl ts -reply -in " + path("e.tsr").string() + " -token_out -out " +
                 path("e.p7").string() + " && openssl cms -cmsout -print -inform DER -in " +
                 path("e.p7").string());
    EXPECT_NE(r.output.find("id-smime-aa-signingCertificateV2"), std::string::npos) << r.output;
    EXPECT_EQ(r.output.find("id-smime-aa-signingCertificate:"), std::string::npos) << r.output;
    // The ESSCertIDv2 hash is SHA-256 of the TSA certificate (the default algorithm, omitted).
    std::string fp = hex_encode(crypto::sha256(fixture->tsa->certificate().der()));
    auto dump = run("openssl asn1parse -inform DER -in " + path("e.p7").string());
    std::string upper = hex_encode_upper(crypto::sha256(fixture->tsa->certificate().der()));
    EXPECT_NE(dump.output.find(upper), std::string::npos) << "certHash " << fp;
}

TEST_F(TsaTest, RefusesSha1AndMd5AsBadAlg) {
    for (const std::string digest : {"-sha1", "-md5"}) {
        auto reply = fixture->tsa->respond(query(digest));
        EXPECT_FALSE(reply.granted);
        ASSERT_TRUE(reply.failure.has_value());
        EXPECT_EQ(*reply.failure, FailureInfo::bad_alg);
        std::string text = reply_text(reply.der);
        EXPECT_NE(text.find("Status: Rejected."), std::string::npos) << text;
        EXPECT_NE(text.find("Failure info: unrecognized or unsupported algorithm identifier"),
                  std::string::npos) << text;
    }
}

TEST_F(TsaTest, RefusesAnUnknownPolicyAndAcceptsAConfiguredOne) {
    auto reply = fixture->tsa->respond(query("-sha256 -tspolicy 1.2.3.4"));
    EXPECT_EQ(reply.failure, FailureInfo::unaccepted_policy);
    std::string text = reply_text(reply.der);
    EXPECT_NE(text.find("the requested TSA policy is not supported by the TSA"), std::string::npos) << text;

    auto ok = fixture->tsa->respond(query("-sha256 -tspolicy 1.3.6.1.4.1.99999.1"));
    ASSERT_TRUE(ok.granted) << ok.status_text;
    EXPECT_NE(reply_text(ok.der).find("Policy OID: 1.3.6.1.4.1.99999.1"), std::string::npos);
    EXPECT_EQ(verify_reply(ok.der).exit_code, 0);
}

// A policy for in-process callers only (EPCM receipts): granted to them, refused to any
// RFC 3161 request as a policy not offered, and never also offered to requests.
TEST_F(TsaTest, AnInProcessPolicyIsGrantedToInProcessCallersOnly) {
    const std::string internal(kPolicyEpcmReceipt);
    auto reply = fixture->tsa->respond(query("-sha256 -tspolicy " + internal));
    EXPECT_EQ(reply.failure, FailureInfo::unaccepted_policy) << reply.status_text;

    const Bytes digest = crypto::sha256(std::string_view("receipt"));
    auto token = fixture->tsa->time_stamp({"2.16.840.1.101.3.4.2.1", digest, true, internal});
    ASSERT_TRUE(token.has_value()) << token.error().message;
    EXPECT_EQ(read_token(*token).value().policy, internal);
    EXPECT_EQ(read_token(fixture->tsa->time_stamp({"2.16.840.1.101.3.4.2.1", digest, true}).value()).value().policy,
              std::string(kPolicyTimeStamping))
        << "the default when none is named";
    auto unknown = fixture->tsa->time_stamp({"2.16.840.1.101.3.4.2.1", digest, true, "1.2.3.4"});
    ASSERT_FALSE(unknown.has_value());
    EXPECT_NE(unknown.error().message.find("policy 1.2.3.4 is not offered"), std::string::npos);

    TsaOptions both;
    both.accepted_policies = {internal};
    both.internal_policies = {internal};
    auto made = TimeStampAuthority::create(fixture->tsa->certificate(), crypto::generate_key(crypto::KeyType::ec_p256).value(),
                                           both, fixture->clock, fixture->rng, nullptr);
    ASSERT_FALSE(made.has_value());
    EXPECT_NE(made.error().message.find("for in-process callers only"), std::string::npos) << made.error().message;
}

TEST_F(TsaTest, RefusesAWrongDigestLengthAsBadDataFormat) {
    // openssl ts -query refuses to build this, so it is written with openssl asn1parse -genconf.
    test::write_file(path("short.cnf"), std::string_view(
        "asn1=SEQUENCE:req\n[req]\nversion=INTEGER:1\nimprint=SEQUENCE:imprint\n"
        "[imprint]\nalg=SEQUENCE:alg\ndigest=FORMAT:HEX,OCTETSTRING:"
        "00112233445566778899aabbccddeeff00112233445566778899aabbccddee\n"
        "[alg]\noid=OID:sha256\nparams=NULL\n"));
    auto gen = run("openssl asn1parse -genconf " + path("short.cnf").string() + " -out " +
                   path("short.tsq").string() + " -noout");
    ASSERT_EQ(gen.exit_code, 0) << gen.output;
    auto reply = fixture->tsa->respond(test::read_file(path("short.tsq")));
    EXPECT_EQ(reply.failure, FailureInfo::bad_data_format);
    EXPECT_NE(reply_text(reply.der).find("the data submitted has the wrong format"), std::string::npos);
}

TEST_F(TsaTest, RefusesExtensionsAsUnacceptedExtension) {
    test::write_file(path("ext.cnf"), std::string_view(
        "asn1=SEQUENCE:req\n[req]\nversion=INTEGER:1\nimprint=SEQUENCE:imprint\n"
        "exts=IMPLICIT:0,SEQUENCE:exts\n"
        "[imprint]\nalg=SEQUENCE:alg\ndigest=FORMAT:HEX,OCTETSTRING:"
        "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff\n"
        "[alg]\noid=OID:sha256\n"
        "[exts]\next=SEQUENCE:ext\n[ext]\noid=OID:1.2.3.4.5\nvalue=FORMAT:HEX,OCTETSTRING:0500\n"));
    auto gen = run("openssl asn1parse -genconf " + path("ext.cnf").string() + " -out " +
                   path("ext.tsq").string() + " -noout");
    ASSERT_EQ(gen.exit_code, 0) << gen.output;
    auto reply = fixture->tsa->respond(test::read_file(path("ext.tsq")));
    EXPECT_EQ(reply.failure, FailureInfo::unaccepted_extension) << reply.status_text;
}

TEST_F(TsaTest, GarbageGetsARejectionNeverACrash) {
    std::vector<Bytes> inputs = {{}, {0x00}, {0x30}, {0x30, 0x80, 0x00, 0x00}, to_bytes("not DER at all")};
    Bytes good = query("-sha256");
    // Every truncation and a trailing byte of a real request.
    for (std::size_t n = 1; n < good.size(); n += 3) {
        inputs.emplace_back(good.begin(), good.begin() + static_cast<std::ptrdiff_t>(n));
    }
    Bytes trailing = good;
    trailing.push_back(0);
    inputs.push_back(trailing);
    for (const auto& in : inputs) {
        auto reply = fixture->tsa->respond(in);
        EXPECT_FALSE(reply.granted);
        EXPECT_EQ(reply.failure, FailureInfo::bad_data_format) << reply.status_text;
        EXPECT_NE(reply_text(reply.der).find("Status: Rejected."), std::string::npos);
    }
}

TEST_F(TsaTest, SerialsAreUniqueAndEveryTokenIsLoggedFromSeveralThreads) {
    std::size_t logged_before = fixture->log.entries.size();
    std::mutex mutex;
    std::set<std::string> serials;
    std::vector<std::thread> threads;
    Bytes digest = crypto::sha256(std::string_view("many"));
    for (int t = 0; t < 4; ++t) {
        threads.emplace_back([&] {
            for (int i = 0; i < 100; ++i) {
                auto token = fixture->tsa->time_stamp({std::string(crypto::digest_oid(crypto::DigestAlgorithm::sha256)),
                                                       digest, false});
                ASSERT_TRUE(token.has_value());
                auto info = read_token(*token);
                ASSERT_TRUE(info.has_value());
                std::lock_guard lock(mutex);
                serials.insert(info->serial_hex);
            }
        });
    }
    for (auto& t : threads) {
        t.join();
    }
    EXPECT_EQ(serials.size(), 400u);
    EXPECT_EQ(fixture->log.entries.size() - logged_before, 400u);
    EXPECT_EQ(fixture->log.entries.back().first, "timestamp");
}

TEST_F(TsaTest, TimeStampsADigestForInProcessCallers) {
    Bytes data = to_bytes("postmark receipt");
    Bytes digest = crypto::digest(crypto::DigestAlgorithm::sha384, data);
    auto token = fixture->tsa->time_stamp({"2.16.840.1.101.3.4.2.2", digest, true});
    ASSERT_TRUE(token.has_value()) << token.error().message;
    test::write_file(path("in.tst"), *token);
    test::write_file(path("in.dat"), data);
    auto r = run("openssl ts -verify -data " + path("in.dat").string() + " -in " +
                 path("in.tst").string() + " -token_in -CAfile " + path("root.pem").string() +
                 " -untrusted " + path("chain.pem").string());
    EXPECT_NE(r.output.find("Verification: OK"), std::string::npos) << r.output;
    // The token's TSTInfo is what went into the log.
    auto info = read_token(*token).value();
    EXPECT_EQ(fixture->log.entries.back().second, info.tst_info_der);
    EXPECT_EQ(info.digest, digest);

    TrustAnchors anchors{{*fixture->root}, {*fixture->intermediate}};
    EXPECT_TRUE(verify_token(*token, crypto::DigestAlgorithm::sha384, digest, anchors).has_value());
    Bytes other = digest;
    other[0] ^= 1;
    auto bad = verify_token(*token, crypto::DigestAlgorithm::sha384, other, anchors);
    ASSERT_FALSE(bad.has_value());
    EXPECT_FALSE(verify_token(*token, crypto::DigestAlgorithm::sha384, digest, TrustAnchors{}).has_value());

    EXPECT_FALSE(fixture->tsa->time_stamp({"1.3.14.3.2.26", Bytes(20, 1), true}).has_value()) << "SHA-1";
    EXPECT_FALSE(fixture->tsa->time_stamp({"2.16.840.1.101.3.4.2.1", Bytes(31, 1), true}).has_value());
}

TEST_F(TsaTest, AnswersSystemFailureWhenTheLogCannotRecordTheToken) {
    fixture->log.failing = true;
    auto reply = fixture->tsa->respond(query("-sha256"));
    fixture->log.failing = false;
    EXPECT_FALSE(reply.granted);
    EXPECT_EQ(reply.failure, FailureInfo::system_failure);
}

TEST_F(TsaTest, RespondAsyncAnswersOnlyOnceTheTokenIsLogged) {
    fixture->log.deferring = true;
    std::optional<TimeStampReply> reply;
    std::size_t logged_before = fixture->log.entries.size();
    fixture->tsa->respond_async(query("-sha256 -cert"), [&](TimeStampReply r) { reply = std::move(r); });
    EXPECT_FALSE(reply.has_value());  // signed, but not logged yet: nothing leaves
    fixture->log.release();
    ASSERT_TRUE(reply.has_value());
    EXPECT_TRUE(reply->granted);
    EXPECT_EQ(fixture->log.entries.size(), logged_before + 1);
    auto r = verify_reply(reply->der);
    EXPECT_NE(r.output.find("Verification: OK"), std::string::npos) << r.output;

    // A failed commit answers systemFailure.
    reply.reset();
    fixture->tsa->respond_async(query("-sha256"), [&](TimeStampReply x) { reply = std::move(x); });
    fixture->log.failing = true;
    fixture->log.release();
    fixture->log.failing = false;
    fixture->log.deferring = false;
    ASSERT_TRUE(reply.has_value());
    EXPECT_FALSE(reply->granted);
    EXPECT_EQ(reply->failure, FailureInfo::system_failure);

    // Refusals never wait for the log.
    reply.reset();
    fixture->tsa->respond_async(to_bytes("garbage"), [&](TimeStampReply x) { reply = std::move(x); });
    ASSERT_TRUE(reply.has_value());
    EXPECT_EQ(reply->failure, FailureInfo::bad_data_format);
}

TEST_F(TsaTest, RespondAsyncOnAThreadThatMustNotBlockAnswersBusyWhenTheLogIsFull) {
    fixture->log.full = true;
    std::size_t logged_before = fixture->log.entries.size();
    std::optional<TimeStampReply> reply;
    fixture->tsa->respond_async(query("-sha256"), [&](TimeStampReply r) { reply = std::move(r); },
                                QueueFull::busy);
    fixture->log.full = false;
    ASSERT_TRUE(reply.has_value());  // at once: nothing waited
    EXPECT_TRUE(reply->busy);
    EXPECT_FALSE(reply->granted);
    EXPECT_TRUE(reply->der.empty());  // no token leaves that is not in the log
    EXPECT_EQ(fixture->log.entries.size(), logged_before);
    // With room again, the same request is granted and logged.
    reply.reset();
    fixture->tsa->respond_async(query("-sha256"), [&](TimeStampReply r) { reply = std::move(r); },
                                QueueFull::busy);
    ASSERT_TRUE(reply.has_value());
    EXPECT_TRUE(reply->granted);
    EXPECT_FALSE(reply->busy);
    EXPECT_EQ(fixture->log.entries.size(), logged_before + 1);
}

TEST_F(TsaTest, TimeStampAsyncAnswersOnlyOnceTheTokenIsLogged) {
    Bytes data = to_bytes("signatures/timestamp");
    Bytes digest = crypto::sha256(data);
    fixture->log.deferring = true;
    std::optional<Result<Bytes>> token;
    std::size_t logged_before = fixture->log.entries.size();
    fixture->tsa->time_stamp_async({"2.16.840.1.101.3.4.2.1", digest, true}, to_bytes("\x01\x02"),
                                   [&](Result<Bytes> t) { token = std::move(t); });
    EXPECT_FALSE(token.has_value());  // signed, not yet logged
    fixture->log.release();
    ASSERT_TRUE(token.has_value());
    ASSERT_TRUE(token->has_value()) << (*token).error().message;
    EXPECT_EQ(fixture->log.entries.size(), logged_before + 1);
    auto info = read_token(**token).value();
    EXPECT_EQ(fixture->log.entries.back().second, info.tst_info_der);
    test::write_file(path("a.tst"), **token);
    test::write_file(path("a.dat"), data);
    auto r = run("openssl ts -verify -data " + path("a.dat").string() + " -in " + path("a.tst").string() +
                 " -token_in -CAfile " + path("root.pem").string() + " -untrusted " + path("chain.pem").string());
    EXPECT_NE(r.output.find("Verification: OK"), std::string::npos) << r.output;

    // A failed commit is an error, not a token; bad input fails at once.
    token.reset();
    fixture->tsa->time_stamp_async({"2.16.840.1.101.3.4.2.1", digest, true}, {},
                                   [&](Result<Bytes> t) { token = std::move(t); });
    fixture->log.failing = true;
    fixture->log.release();
    fixture->log.failing = false;
    fixture->log.deferring = false;
    ASSERT_TRUE(token.has_value());
    EXPECT_FALSE(token->has_value());
    token.reset();
    fixture->tsa->time_stamp_async({"1.3.14.3.2.26", Bytes(20, 1), true}, {},
                                   [&](Result<Bytes> t) { token = std::move(t); });
    ASSERT_TRUE(token.has_value());
    ASSERT_FALSE(token->has_value());
    EXPECT_EQ((*token).error().code, ErrorCode::invalid_argument);
}

// EPCM postmarks with the real TSA and the real SQLite store, as `selo serve` has them.
class EpcmTest : public TsaTest {
protected:
    void SetUp() override {
        TsaTest::SetUp();
        if (IsSkipped() || HasFatalFailure()) {
            return;
        }
        auto opened = store::open_sqlite(dir / "selo.db");
        ASSERT_TRUE(opened.has_value()) << opened.error().message;
        db = std::move(*opened);
        ASSERT_TRUE(store::migrate(*db).has_value());
        repo.emplace(*db);
        // The status of the TSA's certificate counts when receipts are checked.
        service.emplace(*repo, *fixture->tsa, &log, TrustAnchors{{*fixture->root}, {*fixture->intermediate}},
                        records_lookup(), fixture_signers(), fixture->clock, fixture->rng);
    }
    test::TempDir dir;
    std::unique_ptr<store::Database> db;
    std::optional<store::SqlEpcmRepository> repo;
    MemoryLog log;
    std::optional<PostmarkService> service;
};

TEST_F(EpcmTest, ConcurrentEventsOfOneTransactionGetDistinctSequencesAndAreLoggedOnlyWhenStored) {
    auto first = service->postmark("acct-1", crypto::DigestAlgorithm::sha256, crypto::sha256(std::string_view("doc")),
                                   std::nullopt);
    ASSERT_TRUE(first.has_value()) << first.error().message;
    constexpr int kThreads = 12;
    constexpr int kEach = 3;
    std::mutex mutex;
    std::vector<std::string> errors;
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
        threads.emplace_back([&, t] {
            for (int i = 0; i < kEach; ++i) {
                auto e = service->log_event(first->transaction_id, "acct-1", "delivered", fmt::format("{}/{}", t, i));
                if (!e) {
                    std::lock_guard lock(mutex);
                    errors.push_back(e.error().message);
                }
            }
        });
    }
    for (auto& t : threads) {
        t.join();
    }
    EXPECT_TRUE(errors.empty()) << errors.size() << " failed, e.g. " << errors.front();
    auto events = service->events(first->transaction_id).value();
    ASSERT_EQ(events.size(), 1u + kThreads * kEach);
    std::set<Bytes> stored;
    for (std::size_t i = 0; i < events.size(); ++i) {
        EXPECT_EQ(events[i].sequence, i);
        stored.insert(events[i].receipt);
    }
    // Every logged receipt is a stored one: none for an event that was then refused.
    std::size_t logged = 0;
    for (const auto& [type, entry] : log.entries) {
        if (type == "epcm-event") {
            ++logged;
            EXPECT_TRUE(stored.contains(entry)) << as_chars(entry);
        }
    }
    EXPECT_EQ(logged, static_cast<std::size_t>(kThreads * kEach));
}

TEST_F(EpcmTest, AStoreConflictIsReportedWithoutTheDatabasesWording) {
    auto first = service->postmark("acct-1", crypto::DigestAlgorithm::sha256, crypto::sha256(std::string_view("doc")),
                                   std::nullopt)
                     .value();
    auto again = first;
    again.id = "0123456789abcdef0123456789abcdef";  // another event, the same (transaction, sequence)
    auto r = repo->insert(again);
    ASSERT_FALSE(r.has_value());
    EXPECT_EQ(r.error().code, ErrorCode::conflict);
    EXPECT_EQ(r.error().message, fmt::format("transaction {} has an event with sequence number 0 already",
                                             first.transaction_id));
}

// RFC 3161 §4: a receipt's token proves its time only while Selo's records let the TSA's
// certificate prove it. Revoked for a reason other than a key compromise, the certificate leaves
// earlier tokens valid and later ones not; after a key compromise no token under it is trusted,
// since whoever had the key could state any time.
TEST_F(EpcmTest, AReceiptProvesItsTimeOnlyWhileTheTsaCertificateDoes) {
    Bytes digest = crypto::sha256(std::string_view("Ofício n.º 12/2025"));
    auto e = service->postmark("acct-1", crypto::DigestAlgorithm::sha256, digest, std::nullopt).value();
    ASSERT_TRUE(service->check_integrity(e.id, DocumentDigest{std::nullopt, digest})->valid);

    const std::string issuer(pki::kInfrastructureCaName);
    const std::string serial = fixture->tsa->certificate().serial_hex();
    auto set_status = [&](std::string_view from, pki::CertificateStatus to) {
        to.not_after = fixture->tsa->certificate().not_after();
        ASSERT_TRUE(fixture->certs.update_status(issuer, serial, from, to).has_value());
    };
    // The suite's TSA is shared: in force again whatever this test finds.
    struct Restore {
        std::function<void()> fn;
        ~Restore() { fn(); }
    } restore{[&] {
        auto st = fixture->certs.status(issuer, serial).value();
        if (st && st->status != pki::kStatusValid) {
            pki::CertificateStatus valid;
            valid.not_after = st->not_after;
            (void)fixture->certs.update_status(issuer, serial, st->status, valid);
        }
    }};
    const int superseded = static_cast<int>(pki::RevocationReason::superseded);
    const int compromise = static_cast<int>(pki::RevocationReason::key_compromise);

    // Superseded after the receipt: it still proves its time.
    set_status(pki::kStatusValid, {std::string(pki::kStatusRevoked), e.time + std::chrono::minutes(1), superseded, {}});
    auto later = service->check_integrity(e.id, DocumentDigest{std::nullopt, digest}).value();
    EXPECT_TRUE(later.valid) << later.reason;
    EXPECT_EQ(later.proven_time, e.time);
    // Within the receipt's own second (revocation times are whole seconds): given that second.
    set_status(pki::kStatusRevoked, {std::string(pki::kStatusRevoked),
                                     std::chrono::floor<std::chrono::seconds>(e.time), superseded, {}});
    auto same_second = service->check_integrity(e.id, DocumentDigest{std::nullopt, digest}).value();
    EXPECT_TRUE(same_second.valid) << same_second.reason;
    // Superseded before the time the token states: not a time the certificate could prove.
    set_status(pki::kStatusRevoked, {std::string(pki::kStatusRevoked), e.time - std::chrono::minutes(1), superseded, {}});
    auto before = service->check_receipt(e.receipt, e.token, DocumentDigest{std::nullopt, digest}).value();
    EXPECT_FALSE(before.valid);
    EXPECT_FALSE(before.document_checked);
    EXPECT_NE(before.reason.find("the receipt's time-stamp cannot be trusted"), std::string::npos) << before.reason;
    EXPECT_NE(before.reason.find("(serial " + serial + ") is revoked since"), std::string::npos) << before.reason;
    EXPECT_NE(before.reason.find("reason superseded"), std::string::npos) << before.reason;
    // A key compromise, even one dated after the receipt, voids it.
    set_status(pki::kStatusRevoked, {std::string(pki::kStatusRevoked), e.time + std::chrono::hours(1), compromise, {}});
    auto compromised = service->check_integrity(e.id, DocumentDigest{std::nullopt, digest}).value();
    EXPECT_FALSE(compromised.valid);
    EXPECT_NE(compromised.reason.find("reason keyCompromise"), std::string::npos) << compromised.reason;
    // Earlier tokens stay valid for affiliationChanged and cessationOfOperation too; any other
    // reason voids them as a compromise does: unspecified (which CRLs and OCSP publish as no
    // reason at all, RFC 3161 §4's case for voiding them) and privilegeWithdrawn among them.
    for (auto keeps : {pki::RevocationReason::affiliation_changed, pki::RevocationReason::cessation_of_operation}) {
        set_status(pki::kStatusRevoked, {std::string(pki::kStatusRevoked), e.time + std::chrono::hours(1),
                                         static_cast<int>(keeps), {}});
        auto r = service->check_integrity(e.id, DocumentDigest{std::nullopt, digest}).value();
        EXPECT_TRUE(r.valid) << pki::revocation_reason_name(keeps) << ": " << r.reason;
    }
    for (std::optional<int> voids : {std::optional<int>(), std::optional<int>(0),
                                     std::optional<int>(static_cast<int>(pki::RevocationReason::privilege_withdrawn))}) {
        set_status(pki::kStatusRevoked, {std::string(pki::kStatusRevoked), e.time + std::chrono::hours(1), voids, {}});
        auto r = service->check_integrity(e.id, DocumentDigest{std::nullopt, digest}).value();
        EXPECT_FALSE(r.valid) << "reason " << voids.value_or(-1);
        EXPECT_NE(r.reason.find("the receipt's time-stamp cannot be trusted"), std::string::npos) << r.reason;
    }
    // A hold from before the stated time, likewise; one from after leaves it valid.
    set_status(pki::kStatusRevoked, {std::string(pki::kStatusSuspended), e.time - std::chrono::minutes(1), std::nullopt, {}});
    auto held = service->check_receipt(e.receipt, e.token, std::nullopt).value();
    EXPECT_FALSE(held.valid);
    EXPECT_NE(held.reason.find("suspended (certificateHold)"), std::string::npos) << held.reason;
    set_status(pki::kStatusSuspended, {std::string(pki::kStatusSuspended), e.time + std::chrono::minutes(1), std::nullopt, {}});
    EXPECT_TRUE(service->check_receipt(e.receipt, e.token, std::nullopt)->valid);
}

// A receipt whose TSA certificate status cannot be read gets no verdict: retry later.
TEST_F(EpcmTest, AReceiptWhoseTsaStatusCannotBeReadIsNotJudged) {
    auto e = service->postmark("acct-1", crypto::DigestAlgorithm::sha256, crypto::sha256(std::string_view("d")),
                               std::nullopt).value();
    CertificateStatusLookup down = [](const pki::Certificate&,
                                      std::string_view) -> Result<std::optional<pki::CertificateStatus>> {
        return fail(ErrorCode::unavailable, "database is locked");
    };
    PostmarkService checking(*repo, *fixture->tsa, &log, TrustAnchors{{*fixture->root}, {*fixture->intermediate}},
                             down, fixture_signers(), fixture->clock, fixture->rng);
    auto r = checking.check_receipt(e.receipt, e.token, std::nullopt);
    ASSERT_FALSE(r.has_value());
    EXPECT_EQ(r.error().code, ErrorCode::unavailable);
    EXPECT_NE(r.error().message.find("cannot be checked just now"), std::string::npos) << r.error().message;
    EXPECT_EQ(r.error().message.find("database is locked"), std::string::npos) << r.error().message;
}

// A receipt stamped under the receipts' policy by another time-stamping certificate of Selo's
// CA (say, one an officer issued to someone) is not one of Selo's receipts.
TEST_F(EpcmTest, AReceiptStampedByAnotherTsaOfTheSameCaIsNotSelos) {
    auto e = service->postmark("acct-1", crypto::DigestAlgorithm::sha256, crypto::sha256(std::string_view("d")),
                               std::nullopt)
                 .value();
    ASSERT_TRUE(service->check_receipt(e.receipt, e.token, std::nullopt)->valid);

    auto rec = fixture->cas.find(pki::kInfrastructureCaName).value();
    auto infra = pki::CertificateAuthority::load(*rec,
                                                 pki::CaContext{fixture->keys, fixture->certs, fixture->clock,
                                                                fixture->rng, "http://ca.example.mo"},
                                                 {std::string(pki::kProfileTsa)})
                     .value();
    auto key = crypto::generate_key(crypto::KeyType::ec_p256).value();
    pki::DistinguishedName dn;
    dn.add(NID_countryName, "MO").add(NID_organizationName, "Other").add(NID_commonName, "Some Other TSA");
    auto cert = infra.issue({std::string(pki::kProfileTsa), dn, key.get(), std::nullopt, {}, {}}).value();
    TsaOptions opts;
    opts.internal_policies = {std::string(kPolicyEpcmReceipt)};
    opts.chain = {infra.certificate()};
    auto other = TimeStampAuthority::create(cert, std::move(key), opts, fixture->clock, fixture->rng, nullptr).value();
    auto token = other.time_stamp({"2.16.840.1.101.3.4.2.1", crypto::sha256(e.receipt), true,
                                   std::string(kPolicyEpcmReceipt)})
                     .value();
    auto r = service->check_receipt(e.receipt, token, std::nullopt).value();
    EXPECT_FALSE(r.valid);
    EXPECT_NE(r.reason.find("which is not Selo's time-stamping unit"), std::string::npos) << r.reason;
    EXPECT_NE(r.reason.find("Some Other TSA"), std::string::npos) << r.reason;
}

// A postmark stamped under a TSA certificate revoked a moment ago (before the unit was
// withdrawn) would be a receipt born unable to prove its time: refused, with nothing stored or
// logged, and the client told to send it again.
TEST_F(EpcmTest, APostmarkStampedUnderARevokedTsaCertificateIsRefusedAndNothingIsRecorded) {
    const std::string issuer(pki::kInfrastructureCaName);
    const std::string serial = fixture->tsa->certificate().serial_hex();
    const auto not_after = fixture->tsa->certificate().not_after();
    auto events = [&] { return db->query_one("SELECT COUNT(*) FROM epcm_events").value()->integer(0).value(); };
    const auto stored = events();
    const auto logged = log.entries.size();
    ASSERT_TRUE(fixture->certs
                    .update_status(issuer, serial, pki::kStatusValid,
                                   {std::string(pki::kStatusRevoked),
                                    std::chrono::floor<std::chrono::seconds>(fixture->clock.now()) - std::chrono::seconds(1),
                                    static_cast<int>(pki::RevocationReason::superseded), not_after})
                    .has_value());
    auto r = service->postmark("acct-1", crypto::DigestAlgorithm::sha256, crypto::sha256(std::string_view("late")),
                               std::nullopt);
    pki::CertificateStatus valid;
    valid.not_after = not_after;
    ASSERT_TRUE(fixture->certs.update_status(issuer, serial, pki::kStatusRevoked, valid).has_value());
    ASSERT_FALSE(r.has_value()) << "receipted under a revoked certificate";
    EXPECT_EQ(r.error().code, ErrorCode::unavailable);
    EXPECT_NE(r.error().message.find("could not be time-stamped under a certificate in force"), std::string::npos)
        << r.error().message;
    EXPECT_NE(r.error().message.find("(serial " + serial + ") is revoked"), std::string::npos) << r.error().message;
    EXPECT_EQ(events(), stored);
    EXPECT_EQ(log.entries.size(), logged);
    // In force again: postmarks are receipted as before.
    EXPECT_TRUE(service->postmark("acct-1", crypto::DigestAlgorithm::sha256, crypto::sha256(std::string_view("late")),
                                  std::nullopt)
                    .has_value());
}

// The receipt and its token are the record; the other columns are for queries. An event whose
// stored fields no longer say what its receipt says is never served, nor built on by LogEvent.
TEST_F(EpcmTest, AnEventWhoseRecordWasEditedIsNotServed) {
    const Bytes digest = crypto::sha256(std::string_view("Ofício n.º 13/2025"));
    auto pm = service->postmark("acct-1", crypto::DigestAlgorithm::sha256, digest, std::nullopt).value();
    ASSERT_TRUE(service->log_event(pm.transaction_id, "acct-1", "delivered", "").has_value());
    ASSERT_EQ(service->events(pm.transaction_id).value().size(), 2u);
    ASSERT_TRUE(service->find(pm.id).value().has_value());

    const std::vector<std::string> edits = {
        "UPDATE epcm_events SET submitter = 'acct-2' WHERE id = ?",
        "UPDATE epcm_events SET digest = zeroblob(32) WHERE id = ?",
        "UPDATE epcm_events SET time_ms = time_ms - 86400000 WHERE id = ?",
    };
    ASSERT_TRUE(db->execute("DROP TRIGGER epcm_events_append_only_update").has_value());
    for (const auto& edit : edits) {
        SCOPED_TRACE(edit);
        auto before = db->query_one("SELECT submitter, digest, time_ms FROM epcm_events WHERE id = ?", {pm.id}).value();
        ASSERT_TRUE(db->execute(edit, {pm.id}).has_value());
        auto listed = service->events(pm.transaction_id);
        ASSERT_FALSE(listed.has_value());
        EXPECT_EQ(listed.error().code, ErrorCode::internal);
        EXPECT_NE(listed.error().message.find("does not match its signed receipt"), std::string::npos)
            << listed.error().message;
        EXPECT_FALSE(service->find(pm.id).has_value());
        EXPECT_FALSE(service->log_event(pm.transaction_id, "acct-1", "read", "").has_value())
            << "an event built on an edited postmark";
        // Checked by id (public): a verdict saying so, not a server error.
        auto by_id = service->check_integrity(pm.id, DocumentDigest{std::nullopt, digest});
        ASSERT_TRUE(by_id.has_value()) << by_id.error().message;
        EXPECT_FALSE(by_id->valid);
        EXPECT_NE(by_id->reason.find("was altered"), std::string::npos) << by_id->reason;
        EXPECT_FALSE(by_id->event.has_value());
        ASSERT_TRUE(db->execute("UPDATE epcm_events SET submitter = ?, digest = ?, time_ms = ? WHERE id = ?",
                                {before->text(0).value(), before->blob(1).value(), before->integer(2).value(), pm.id})
                        .has_value());
        EXPECT_TRUE(service->events(pm.transaction_id).has_value()) << "restored";
    }

    // An event deleted from between others: the gap is named, not served.
    ASSERT_TRUE(service->log_event(pm.transaction_id, "acct-1", "read", "").has_value());
    ASSERT_TRUE(db->execute("DROP TRIGGER epcm_events_append_only_delete").has_value());
    ASSERT_TRUE(db->execute("DELETE FROM epcm_events WHERE transaction_id = ? AND sequence = 1", {pm.transaction_id})
                    .has_value());
    auto gap = service->events(pm.transaction_id);
    ASSERT_FALSE(gap.has_value());
    EXPECT_NE(gap.error().message.find("has no event 1 (the next stored is 2)"), std::string::npos)
        << gap.error().message;
    EXPECT_FALSE(service->log_event(pm.transaction_id, "acct-1", "again", "").has_value());
}

TEST_F(EpcmTest, ChecksAReceiptInItsOwnAlgorithmAndWithoutADocument) {
    Bytes digest = crypto::digest(crypto::DigestAlgorithm::sha384, to_bytes("Ofício n.º 12/2025"));
    auto e = service->postmark("acct-1", crypto::DigestAlgorithm::sha384, digest, std::nullopt).value();
    // No algorithm given: the receipt's own (SHA-384), by id and as text alike.
    auto by_id = service->check_integrity(e.id, DocumentDigest{std::nullopt, digest});
    ASSERT_TRUE(by_id.has_value()) << by_id.error().message;
    EXPECT_TRUE(by_id->valid) << by_id->reason;
    EXPECT_TRUE(by_id->document_checked);
    auto as_text = service->check_receipt(e.receipt, e.token, DocumentDigest{std::nullopt, digest});
    ASSERT_TRUE(as_text.has_value()) << as_text.error().message;
    EXPECT_TRUE(as_text->valid) << as_text->reason;
    // Another document still differs.
    Bytes other = digest;
    other[0] ^= 1;
    auto differs = service->check_receipt(e.receipt, e.token, DocumentDigest{std::nullopt, other}).value();
    EXPECT_FALSE(differs.valid);
    EXPECT_NE(differs.reason.find("digest differs"), std::string::npos) << differs.reason;
    // A digest of the wrong length is an error in the request, not a mismatch.
    auto short_digest = service->check_receipt(e.receipt, e.token, DocumentDigest{std::nullopt, Bytes(32, 1)});
    ASSERT_FALSE(short_digest.has_value());
    EXPECT_EQ(short_digest.error().code, ErrorCode::invalid_argument);
    EXPECT_NE(short_digest.error().message.find("bytes, not"), std::string::npos) << short_digest.error().message;
    // So is a digest in another algorithm than the receipt's: the right document hashed another
    // way is not "a different document".
    for (auto wrong : {service->check_integrity(e.id, DocumentDigest{crypto::DigestAlgorithm::sha256, Bytes(32, 1)}),
                       service->check_receipt(e.receipt, e.token,
                                              DocumentDigest{crypto::DigestAlgorithm::sha512, Bytes(64, 1)})}) {
        ASSERT_FALSE(wrong.has_value());
        EXPECT_EQ(wrong.error().code, ErrorCode::invalid_argument);
        EXPECT_NE(wrong.error().message.find("the receipt is of a SHA-384 digest"), std::string::npos)
            << wrong.error().message;
    }
    // Without a document: the receipt is genuine and its time proven, no document checked.
    auto genuine = service->check_receipt(e.receipt, e.token, std::nullopt).value();
    EXPECT_TRUE(genuine.valid) << genuine.reason;
    EXPECT_FALSE(genuine.document_checked);
    EXPECT_EQ(genuine.proven_time, e.time);
    Bytes edited = e.receipt;
    edited[edited.size() - 2] ^= 1;
    auto forged = service->check_receipt(edited, e.token, std::nullopt).value();
    EXPECT_FALSE(forged.valid);
    EXPECT_NE(forged.reason.find("does not verify"), std::string::npos) << forged.reason;
    // With a document, a receipt that is not genuine was never compared with it.
    auto forged_doc = service->check_receipt(edited, e.token, DocumentDigest{std::nullopt, digest}).value();
    EXPECT_FALSE(forged_doc.valid);
    EXPECT_FALSE(forged_doc.document_checked);
}

// Units in memory.
class MemoryUnits final : public UnitRepository {
public:
    Result<std::optional<UnitRecord>> find(std::string_view name) override {
        auto it = units.find(std::string(name));
        return it == units.end() ? std::optional<UnitRecord>{} : std::optional<UnitRecord>(it->second);
    }
    Result<void> insert(const UnitRecord& r) override {
        units[r.name] = r;
        history[r.name].push_back(r.certificate_der);
        return {};
    }
    Result<void> replace(const UnitRecord& r) override {
        if (!units.contains(r.name)) {
            return fail(ErrorCode::not_found, "no unit");
        }
        units[r.name] = r;
        history[r.name].push_back(r.certificate_der);
        return {};
    }
    Result<std::vector<Bytes>> certificates(std::string_view name) override { return history[std::string(name)]; }
    std::map<std::string, UnitRecord> units;
    std::map<std::string, std::vector<Bytes>> history;
};

// A unit certified by the infrastructure CA on a clock of the test's own, with what renewing or
// replacing it takes.
struct TestUnit {
    pki::CertificateAuthority infra;
    MemoryUnits units;
    UnitSpec spec;
    pki::Certificate first;
    TimeStampAuthority tsa;
};
class TsaUnitTest : public TsaTest {
protected:
    static TestUnit make_unit(const Clock& clock, const std::string& name, const std::string& common_name) {
        auto rec = fixture->cas.find(pki::kInfrastructureCaName).value();
        auto infra = pki::CertificateAuthority::load(
                         *rec, pki::CaContext{fixture->keys, fixture->certs, clock, fixture->rng, "http://ca.example.mo"},
                         {std::string(pki::kProfileTsa)})
                         .value();
        MemoryUnits units;
        UnitSpec spec{name, "MO", "Selo Test Services", common_name, crypto::KeyType::ec_p256};
        auto unit = ensure_unit(spec, units, fixture->keys, infra, clock).value();
        pki::Certificate first = unit.certificate;
        TsaOptions opts;
        opts.chain = {infra.certificate()};
        auto tsa = TimeStampAuthority::create(first, std::move(unit.key), opts, clock, fixture->rng, nullptr).value();
        return TestUnit{std::move(infra), std::move(units), std::move(spec), std::move(first), std::move(tsa)};
    }
};

TEST_F(TsaUnitTest, RenewsTheUnitCertificateBeforeItExpiresAndTokensCarryTheNewOne) {
    // Its own clock, moved to 60 days before the unit's certificate ends.
    FakeClock clock{std::chrono::system_clock::now()};
    auto made = make_unit(clock, "renewal", "Selo Renewal Test Unit");
    auto& [infra, units, spec, first, tsa] = made;

    EXPECT_FALSE(renew_unit(spec, first, kRenewUnitBefore, units, fixture->keys, infra, clock).value().has_value())
        << "three years left: nothing to renew";
    Bytes data = to_bytes("renewal");
    Bytes digest = crypto::sha256(data);
    // Without certificates in the tokens: the verifier has only the chain file to go by.
    Bytes old_token = tsa.time_stamp({"2.16.840.1.101.3.4.2.1", digest, false}).value();

    clock.set(first.not_after() - std::chrono::days(60));
    auto renewed = renew_unit(spec, first, kRenewUnitBefore, units, fixture->keys, infra, clock);
    ASSERT_TRUE(renewed.has_value()) << renewed.error().message;
    ASSERT_TRUE(renewed->has_value());
    const pki::Certificate second = (*renewed)->certificate;
    EXPECT_NE(second.serial_hex(), first.serial_hex());
    EXPECT_GT(second.not_after(), first.not_after());
    EXPECT_EQ(units.units.at("renewal").certificate_der, second.der());
    ASSERT_TRUE(tsa.use(second, std::move((*renewed)->key)).has_value());
    EXPECT_EQ(tsa.certificate().der(), second.der());

    // A second process still on the old certificate takes the renewed one instead of issuing again.
    auto adopted = renew_unit(spec, first, kRenewUnitBefore, units, fixture->keys, infra, clock).value();
    ASSERT_TRUE(adopted.has_value());
    EXPECT_EQ(adopted->certificate.der(), second.der());

    // New tokens name the new certificate (ESSCertIDv2 = its SHA-256) and verify under it;
    // the old token still verifies under the old one. openssl checks at the clock's time.
    Bytes new_token = tsa.time_stamp({"2.16.840.1.101.3.4.2.1", digest, false}).value();
    test::write_file(path("renew.dat"), data);
    const std::string at = " -attime " + std::to_string(unix_seconds(clock.now()));
    const pki::Certificate& old_cert = first;
    for (const auto& [token, cert] : {std::pair{&new_token, &second}, std::pair{&old_token, &old_cert}}) {
        test::write_file(path("renew.tst"), *token);
        test::write_file(path("renew-chain.pem"), fixture->intermediate->pem() + cert->pem());
        auto when = token == &new_token ? at : std::string();
        auto v = run("openssl ts -verify -data " + path("renew.dat").string() + " -in " + path("renew.tst").string() +
                     " -token_in -CAfile " + path("root.pem").string() + " -untrusted " +
                     path("renew-chain.pem").string() + when);
        EXPECT_NE(v.output.find("Verification: OK"), std::string::npos) << v.output;
        auto dump = run("openssl asn1parse -inform DER -in " + path("renew.tst").string());
        EXPECT_NE(dump.output.find(hex_encode_upper(crypto::sha256(cert->der()))), std::string::npos)
            << "certHash of " << cert->serial_hex();
    }
    // The new token is not taken for one of the old certificate's.
    test::write_file(path("renew.tst"), new_token);
    test::write_file(path("renew-chain.pem"), fixture->intermediate->pem() + first.pem());
    auto wrong = run("openssl ts -verify -data " + path("renew.dat").string() + " -in " + path("renew.tst").string() +
                     " -token_in -CAfile " + path("root.pem").string() + " -untrusted " +
                     path("renew-chain.pem").string() + at);
    EXPECT_EQ(wrong.output.find("Verification: OK"), std::string::npos) << wrong.output;

    // A key that is not the certificate's is refused, and the unit keeps signing as before.
    auto other = crypto::generate_key(crypto::KeyType::ec_p256).value();
    EXPECT_FALSE(tsa.use(first, std::move(other)).has_value());
    EXPECT_EQ(tsa.certificate().der(), second.der());
}

Bytes built_request(const EVP_MD* md, bool null_params, std::optional<std::string> policy,
                    std::optional<Bytes> nonce_magnitude, bool negative_nonce, bool cert_req);

// A unit whose certificate may no longer sign is withdrawn: every request is refused with
// systemFailure, in-process callers get `unavailable`, until a replacement (a new key, certified
// anew, or the one another process recorded) is put in use.
TEST_F(TsaUnitTest, AWithdrawnUnitSignsNothingUntilReplaced) {
    FakeClock clock{std::chrono::system_clock::now()};
    auto made = make_unit(clock, "withdrawal", "Selo Withdrawal Test Unit");
    auto& [infra, units, spec, first, tsa] = made;
    const Bytes digest = crypto::sha256(to_bytes("withdrawal"));
    Bytes query = built_request(EVP_sha256(), false, std::nullopt, std::nullopt, false, true);
    ASSERT_TRUE(tsa.respond(query).granted);
    EXPECT_FALSE(tsa.withdrawn().has_value());

    // Withdrawn and reinstated (a CA's hold lifted): signing as before.
    tsa.withdraw("the certificate of CA 'infrastructure' is suspended");
    EXPECT_FALSE(tsa.respond(query).granted);
    tsa.reinstate();
    EXPECT_FALSE(tsa.withdrawn().has_value());
    EXPECT_TRUE(tsa.respond(query).granted);

    tsa.withdraw("its certificate (serial " + first.serial_hex() + ") is revoked");
    ASSERT_TRUE(tsa.withdrawn().has_value());
    auto refused = tsa.respond(query);
    EXPECT_FALSE(refused.granted);
    EXPECT_EQ(refused.failure, FailureInfo::system_failure);
    EXPECT_TRUE(refused.out_of_service);
    EXPECT_NE(refused.status_text.find("out of service"), std::string::npos) << refused.status_text;
    // The reply is a TimeStampResp with status rejection that openssl reads.
    test::write_file(path("withdrawn.tsr"), refused.der);
    auto text = run("openssl ts -reply -in " + path("withdrawn.tsr").string() + " -text");
    EXPECT_NE(text.output.find("Status: Rejected."), std::string::npos) << text.output;
    EXPECT_NE(text.output.find("system failure"), std::string::npos) << text.output;
    auto token = tsa.time_stamp({"2.16.840.1.101.3.4.2.1", digest, true});
    ASSERT_FALSE(token.has_value());
    EXPECT_EQ(token.error().code, ErrorCode::unavailable);
    EXPECT_NE(token.error().message.find("is revoked"), std::string::npos) << token.error().message;
    std::optional<Result<Bytes>> async;
    tsa.time_stamp_async({"2.16.840.1.101.3.4.2.1", digest, true}, {}, [&](Result<Bytes> t) { async = std::move(t); });
    ASSERT_TRUE(async.has_value());
    EXPECT_FALSE(async->has_value());

    // Replaced: the stored unit is another process's replacement when it is usable, else a new key.
    auto usable = [](const pki::Certificate&) -> Result<bool> { return true; };
    auto unusable = [](const pki::Certificate&) -> Result<bool> { return false; };
    auto fresh = replace_unit(spec, first, unusable, units, fixture->keys, infra, clock);
    ASSERT_TRUE(fresh.has_value()) << fresh.error().message;
    EXPECT_NE(fresh->certificate.serial_hex(), first.serial_hex());
    EXPECT_EQ(units.units.at("withdrawal").certificate_der, fresh->certificate.der());
    auto adopted = replace_unit(spec, first, usable, units, fixture->keys, infra, clock).value();
    EXPECT_EQ(adopted.certificate.der(), fresh->certificate.der()) << "taken over, not issued again";
    // Within the same second again, when the stored one is not usable either: a third key.
    auto third = replace_unit(spec, first, unusable, units, fixture->keys, infra, clock);
    ASSERT_TRUE(third.has_value()) << third.error().message;
    EXPECT_NE(third->certificate.serial_hex(), fresh->certificate.serial_hex());

    ASSERT_TRUE(tsa.use(fresh->certificate, std::move(fresh->key)).has_value());
    EXPECT_FALSE(tsa.withdrawn().has_value());
    auto granted = tsa.respond(query);
    ASSERT_TRUE(granted.granted) << granted.status_text;
    auto back = tsa.time_stamp({"2.16.840.1.101.3.4.2.1", digest, true});
    ASSERT_TRUE(back.has_value()) << back.error().message;
    auto info = read_token(*back).value();
    EXPECT_NE(info.signer.find("Withdrawal Test Unit"), std::string::npos);
}

// A request built with OpenSSL's TS API (for encodings `openssl ts -query` does not make).
Bytes built_request(const EVP_MD* md, bool null_params, std::optional<std::string> policy,
                    std::optional<Bytes> nonce_magnitude, bool negative_nonce, bool cert_req) {
    TS_REQ* req = ::TS_REQ_new();
    TS_MSG_IMPRINT* imprint = ::TS_MSG_IMPRINT_new();
    X509_ALGOR* alg = ::X509_ALGOR_new();
    ::X509_ALGOR_set0(alg, ::OBJ_dup(::OBJ_nid2obj(::EVP_MD_get_type(md))), null_params ? V_ASN1_NULL : V_ASN1_UNDEF,
                      nullptr);
    ::TS_MSG_IMPRINT_set_algo(imprint, alg);
    Bytes digest(static_cast<std::size_t>(::EVP_MD_get_size(md)), 0x5a);
    ::TS_MSG_IMPRINT_set_msg(imprint, digest.data(), static_cast<int>(digest.size()));
    ::TS_REQ_set_version(req, 1);
    ::TS_REQ_set_msg_imprint(req, imprint);
    if (policy) {
        ASN1_OBJECT* obj = ::OBJ_txt2obj(policy->c_str(), 1);
        ::TS_REQ_set_policy_id(req, obj);
        ::ASN1_OBJECT_free(obj);
    }
    if (nonce_magnitude) {
        ASN1_INTEGER* n = ::ASN1_INTEGER_new();
        ::ASN1_STRING_set(n, nonce_magnitude->data(), static_cast<int>(nonce_magnitude->size()));
        if (negative_nonce) {
            n->type = V_ASN1_NEG_INTEGER;
        }
        ::TS_REQ_set_nonce(req, n);
        ::ASN1_INTEGER_free(n);
    }
    ::TS_REQ_set_cert_req(req, cert_req ? 1 : 0);
    int len = ::i2d_TS_REQ(req, nullptr);
    Bytes out(static_cast<std::size_t>(std::max(len, 0)));
    unsigned char* p = out.data();
    ::i2d_TS_REQ(req, &p);
    ::X509_ALGOR_free(alg);
    ::TS_MSG_IMPRINT_free(imprint);
    ::TS_REQ_free(req);
    return out;
}

template <typename T, typename F>
Bytes i2d_bytes(const T* obj, F i2d) {
    int len = i2d(const_cast<T*>(obj), nullptr);
    Bytes out(static_cast<std::size_t>(std::max(len, 0)));
    unsigned char* p = out.data();
    i2d(const_cast<T*>(obj), &p);
    return out;
}

// A DER tree, to make well-formed variants of a request that one-octet changes do not reach
// (an element added, dropped, repeated or moved; a length in a longer form than needed).
struct Node {
    std::uint8_t tag = 0;
    Bytes content;                 // primitive
    std::vector<Node> children;    // constructed
    bool long_length = false;      // 0x81 / 0x82 form even when short would do
};
Node parse_node(ByteView in) {
    auto t = der::read_tlv(in).value();
    Node n;
    n.tag = t.tag;
    if ((t.tag & 0x20) != 0) {
        for (ByteView rest = t.content; !rest.empty();) {
            auto c = der::read_tlv(rest).value();
            n.children.push_back(parse_node(rest.first(c.size)));
            rest = rest.subspan(c.size);
        }
    } else {
        n.content.assign(t.content.begin(), t.content.end());
    }
    return n;
}
Bytes encode_node(const Node& n) {
    Bytes content = n.content;
    for (const auto& c : n.children) {
        Bytes e = encode_node(c);
        content.insert(content.end(), e.begin(), e.end());
    }
    Bytes out{n.tag};
    if (n.long_length && content.size() < 0x100) {
        out.push_back(0x81);
        out.push_back(static_cast<std::uint8_t>(content.size()));
    } else {
        der::append_length(out, content.size());
    }
    out.insert(out.end(), content.begin(), content.end());
    return out;
}
// Every constructed node of `root`, by path, with `f` applied to a copy of the tree there.
void structural_variants(const Node& root, const std::function<void(const Bytes&)>& check) {
    std::vector<std::vector<std::size_t>> paths{{}};
    for (std::size_t i = 0; i < paths.size(); ++i) {
        const Node* n = &root;
        for (auto k : paths[i]) {
            n = &n->children[k];
        }
        for (std::size_t k = 0; k < n->children.size(); ++k) {
            auto p = paths[i];
            p.push_back(k);
            paths.push_back(p);
        }
    }
    const Node null_node{der::kNull, {}, {}, false};
    const Node bool_false{0x01, {0x00}, {}, false};
    const Node bool_odd{0x01, {0x01}, {}, false};
    const Node empty_exts{0xa0, {}, {}, false};
    for (const auto& path : paths) {
        auto at = [&](Node& tree) -> Node& {
            Node* n = &tree;
            for (auto k : path) {
                n = &n->children[k];
            }
            return *n;
        };
        {
            Node t = root;
            at(t).long_length = true;
            check(encode_node(t));
        }
        if ((at(const_cast<Node&>(root)).tag & 0x20) == 0) {
            continue;
        }
        const std::size_t count = at(const_cast<Node&>(root)).children.size();
        for (const Node& extra : {null_node, bool_false, bool_odd, empty_exts}) {
            for (std::size_t k = 0; k <= count; ++k) {
                Node t = root;
                auto& c = at(t).children;
                c.insert(c.begin() + static_cast<std::ptrdiff_t>(k), extra);
                check(encode_node(t));
            }
        }
        for (std::size_t k = 0; k < count; ++k) {
            Node drop = root;
            at(drop).children.erase(at(drop).children.begin() + static_cast<std::ptrdiff_t>(k));
            check(encode_node(drop));
            Node twice = root;
            at(twice).children.insert(at(twice).children.begin() + static_cast<std::ptrdiff_t>(k),
                                      at(twice).children[k]);
            check(encode_node(twice));
            if (k + 1 < count) {
                Node swap = root;
                std::swap(at(swap).children[k], at(swap).children[k + 1]);
                check(encode_node(swap));
            }
        }
    }
}

// The direct reader against OpenSSL's d2i_TS_REQ, on real requests and on every one-octet change,
// insertion and truncation of them: whatever the reader takes, OpenSSL decodes completely to the
// same values, so the TSA's answer cannot differ from what the OpenSSL path would give.
TEST_F(TsaTest, CanonicalRequestReaderAgreesWithOpensslOnEveryMutation) {
    const Bytes default_policy = der::oid(kPolicyTimeStamping).value();
    const Bytes other_policy = der::oid("1.3.6.1.4.1.99999.1").value();
    const std::vector<ByteView> policies = {default_policy, other_policy};
    std::vector<Bytes> seeds;
    for (const char* alg : {"-sha256", "-sha384", "-sha512"}) {
        seeds.push_back(query(alg));
        seeds.push_back(query(std::string(alg) + " -cert"));
        seeds.push_back(query(std::string(alg) + " -no_nonce"));
        seeds.push_back(query(std::string(alg) + " -cert -tspolicy 1.3.6.1.4.1.99999.1"));
    }
    const std::size_t from_openssl_cli = seeds.size();
    seeds.push_back(built_request(::EVP_sha256(), false, std::nullopt, std::nullopt, false, false));
    seeds.push_back(built_request(::EVP_sha384(), true, std::string(kPolicyTimeStamping), Bytes{0}, false, true));
    seeds.push_back(built_request(::EVP_sha512(), false, std::nullopt, Bytes(64, 0xff), false, true));
    seeds.push_back(built_request(::EVP_sha256(), true, std::nullopt, Bytes(65, 0x01), false, false));
    seeds.push_back(built_request(::EVP_sha256(), true, std::nullopt, Bytes{0x12, 0x34}, true, true));
    seeds.push_back(built_request(::EVP_sha256(), true, std::string("1.2.3.4"), Bytes{0x80}, false, true));
    seeds.push_back(built_request(::EVP_sha1(), true, std::nullopt, std::nullopt, false, false));

    std::size_t taken = 0;
    std::size_t tried = 0;
    auto check = [&](const Bytes& in) {
        ++tried;
        auto fast = read_canonical_request(in, policies, 64);
        if (!fast) {
            return;
        }
        ++taken;
        const unsigned char* p = in.data();
        std::unique_ptr<TS_REQ, crypto::Free<&::TS_REQ_free>> req(::d2i_TS_REQ(nullptr, &p, static_cast<long>(in.size())));
        ASSERT_TRUE(req) << "taken but refused by OpenSSL: " << hex_encode(in);
        ASSERT_EQ(p, in.data() + in.size()) << hex_encode(in);
        EXPECT_EQ(::TS_REQ_get_version(req.get()), 1) << hex_encode(in);
        TS_MSG_IMPRINT* imprint = ::TS_REQ_get_msg_imprint(req.get());
        EXPECT_EQ(i2d_bytes(imprint, ::i2d_TS_MSG_IMPRINT), Bytes(fast->imprint.begin(), fast->imprint.end()))
            << hex_encode(in);
        const ASN1_OBJECT* alg_oid = nullptr;
        int param_type = V_ASN1_UNDEF;
        const void* param = nullptr;
        ::X509_ALGOR_get0(&alg_oid, &param_type, &param, ::TS_MSG_IMPRINT_get_algo(imprint));
        EXPECT_EQ(::OBJ_obj2nid(alg_oid), ::EVP_MD_get_type(crypto::evp_md(fast->algorithm))) << hex_encode(in);
        EXPECT_TRUE(param_type == V_ASN1_UNDEF || param_type == V_ASN1_NULL) << hex_encode(in);
        const ASN1_OCTET_STRING* digest = ::TS_MSG_IMPRINT_get_msg(imprint);
        EXPECT_EQ(Bytes(::ASN1_STRING_get0_data(digest), ::ASN1_STRING_get0_data(digest) + ::ASN1_STRING_length(digest)),
                  Bytes(fast->digest.begin(), fast->digest.end()))
            << hex_encode(in);
        const ASN1_OBJECT* policy = ::TS_REQ_get_policy_id(req.get());
        ASSERT_EQ(policy != nullptr, !fast->policy.empty()) << hex_encode(in);
        if (policy != nullptr) {
            EXPECT_EQ(i2d_bytes(policy, ::i2d_ASN1_OBJECT), Bytes(fast->policy.begin(), fast->policy.end())) << hex_encode(in);
        }
        const ASN1_INTEGER* nonce = ::TS_REQ_get_nonce(req.get());
        ASSERT_EQ(nonce != nullptr, !fast->nonce.empty()) << hex_encode(in);
        if (nonce != nullptr) {
            EXPECT_LE(::ASN1_STRING_length(nonce), 64) << hex_encode(in);
            EXPECT_EQ(i2d_bytes(nonce, ::i2d_ASN1_INTEGER), Bytes(fast->nonce.begin(), fast->nonce.end())) << hex_encode(in);
        }
        EXPECT_EQ(::TS_REQ_get_cert_req(req.get()) != 0, fast->cert_req) << hex_encode(in);
        const STACK_OF(X509_EXTENSION)* exts = ::TS_REQ_get_exts(req.get());
        EXPECT_TRUE(exts == nullptr || sk_X509_EXTENSION_num(exts) == 0) << hex_encode(in);
    };
    std::size_t seeds_taken = 0;
    for (std::size_t s = 0; s < seeds.size(); ++s) {
        const Bytes& seed = seeds[s];
        const std::size_t before = taken;
        check(seed);
        if (taken > before) {
            ++seeds_taken;
        } else {
            // What OpenSSL's own client sends must take the direct path.
            EXPECT_GE(s, from_openssl_cli) << "openssl ts -query request not taken: " << hex_encode(seed);
        }
        if (der::read_tlv(seed).has_value()) {
            structural_variants(parse_node(seed), check);
        }
        for (std::size_t i = 0; i < seed.size(); ++i) {
            for (int delta : {1, -1, 0x80, 0x7f, 0x40}) {
                Bytes m = seed;
                m[i] = static_cast<std::uint8_t>(m[i] + delta);
                check(m);
            }
            for (std::uint8_t v : {0x00, 0x01, 0x05, 0x30, 0x80, 0x81, 0x82, 0xff}) {
                Bytes m = seed;
                m[i] = v;
                check(m);
                Bytes ins = seed;
                ins.insert(ins.begin() + static_cast<std::ptrdiff_t>(i), v);
                check(ins);
            }
            check(Bytes(seed.begin(), seed.begin() + static_cast<std::ptrdiff_t>(i)));
            Bytes cut = seed;
            cut.erase(cut.begin() + static_cast<std::ptrdiff_t>(i));
            check(cut);
        }
    }
    // The reader takes the real requests (so this test exercises it) and refuses the rest of
    // the seeds: SHA-1, a 65-octet and a negative nonce, a policy not offered.
    EXPECT_EQ(seeds_taken, seeds.size() - 4);
    EXPECT_GT(taken, seeds_taken);
    EXPECT_GT(tried, 10000u);
}

// --- The submitter's signature on a postmark: path validation and Selo's revocation records ---

// RFC 3339 in UTC, by the C library rather than the code under test.
std::string utc_text(TimePoint t) {
    std::time_t secs = static_cast<std::time_t>(unix_seconds(t));
    std::tm tm{};
    ::gmtime_r(&secs, &tm);
    char buf[32];
    std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
    return buf;
}

// A signer from the natural-persons CA, a detached CMS signature (by OpenSSL's CMS_sign) over
// a document, and a status lookup whose answers each test sets.
class EpcmSignatureTest : public TsaTest {
  protected:
    void SetUp() override {
        TsaTest::SetUp();
        if (IsSkipped() || HasFatalFailure()) {
            return;
        }
        auto rec = fixture->cas.find(pki::kNaturalPersonsCaName).value();
        ASSERT_TRUE(rec.has_value());
        persons.emplace(pki::CertificateAuthority::load(
                            *rec,
                            pki::CaContext{fixture->keys, fixture->certs, fixture->clock,
                                           fixture->rng, "http://ca.example.mo"},
                            {std::string(pki::kProfileNaturalPersonSigning)})
                            .value());
        auto key = crypto::generate_key(crypto::KeyType::ec_p256).value();
        pki::DistinguishedName dn;
        dn.add(NID_countryName, "MO")
            .add(NID_givenName, "Tai Man")
            .add(NID_surname, "CHAN")
            .add(NID_serialNumber, "IDCMO-5215299(8)")
            .add(NID_commonName, "陳大文");
        auto cert = persons->issue(
            {std::string(pki::kProfileNaturalPersonSigning), dn, key.get(), std::nullopt, {}, {}});
        ASSERT_TRUE(cert.has_value()) << cert.error().message;
        signer.emplace(std::move(*cert));
        crypto::BioPtr in(::BIO_new_mem_buf(document.data(), static_cast<int>(document.size())));
        crypto::CmsContentInfoPtr cms(
            ::CMS_sign(signer->x509(), key.get(), nullptr, in.get(), CMS_DETACHED | CMS_BINARY));
        ASSERT_TRUE(cms);
        unsigned char* out = nullptr;
        int len = ::i2d_CMS_ContentInfo(cms.get(), &out);
        ASSERT_GT(len, 0);
        signature.assign(out, out + len);
        ::OPENSSL_free(out);
        anchors = {{*fixture->root}, {persons->certificate(), *fixture->intermediate}};
    }

    // The lookup under test: answers from `answers` by serial, recording what it was asked.
    CertificateStatusLookup lookup() {
        return [this](const pki::Certificate& issuer,
                      std::string_view serial) -> Result<std::optional<pki::CertificateStatus>> {
            asked.emplace_back(issuer.subject(), std::string(serial));
            if (failing) {
                return fail(ErrorCode::unavailable, "database is locked (secret detail)");
            }
            auto it = answers.find(std::string(serial));
            if (it == answers.end()) {
                return std::optional<pki::CertificateStatus>{};
            }
            return std::optional<pki::CertificateStatus>(it->second);
        };
    }
    static pki::CertificateStatus good() { return {"valid", std::nullopt, std::nullopt, {}}; }
    void all_good() {
        answers[signer->serial_hex()] = good();
        answers[persons->certificate().serial_hex()] = good();
    }
    SignatureValidation validate(TimePoint at) {
        return validate_cms_signature(signature, crypto::DigestAlgorithm::sha256,
                                      crypto::sha256(document), anchors, lookup(), at);
    }

    std::string_view document = "Ofício n.º 12/2025 — 陳大文\n";
    std::optional<pki::CertificateAuthority> persons;
    std::optional<pki::Certificate> signer;
    Bytes signature;
    TrustAnchors anchors;
    std::map<std::string, pki::CertificateStatus> answers;   // by serial
    std::vector<std::pair<std::string, std::string>> asked;  // issuer subject, serial
    bool failing = false;
};

TEST_F(EpcmSignatureTest, ASignerInForceIsValidAndEveryCertificateBelowTheRootIsLookedUp) {
    all_good();
    auto v = validate(fixture->clock.now());
    EXPECT_EQ(v.status, "valid") << v.detail;
    EXPECT_EQ(v.detail, "signed by " + signer->subject());
    // The signer under its CA, the CA under the root; the root itself is the anchor.
    ASSERT_EQ(asked.size(), 2u);
    EXPECT_EQ(asked[0], std::make_pair(persons->certificate().subject(), signer->serial_hex()));
    EXPECT_EQ(asked[1],
              std::make_pair(fixture->root->subject(), persons->certificate().serial_hex()));
}

TEST_F(EpcmSignatureTest, ARevokedSignerIsInvalidNamingTheCertificateTheReasonAndTheTime) {
    all_good();
    // Times after the certificate's notBefore, whole seconds as the store keeps them.
    const TimePoint revoked = from_unix_seconds(unix_seconds(fixture->clock.now()) + 60);
    answers[signer->serial_hex()] = {"revoked", revoked, 1, {}};
    auto v = validate(revoked + std::chrono::seconds(30));
    EXPECT_EQ(v.status, "invalid");
    EXPECT_NE(v.detail.find(signer->subject() + "'s certificate (serial " + signer->serial_hex() +
                            ") is revoked since " + utc_text(revoked) + ", reason keyCompromise"),
              std::string::npos)
        << v.detail;
    // Revoked only after the validation time: the certificate was in force then.
    auto before = validate(revoked - std::chrono::seconds(1));
    EXPECT_EQ(before.status, "valid") << before.detail;
    // At the very second of the revocation it is no longer.
    EXPECT_EQ(validate(revoked).status, "invalid");
    // No recorded time nor reason: revoked all the same.
    answers[signer->serial_hex()] = {"revoked", std::nullopt, std::nullopt, {}};
    auto bare = validate(fixture->clock.now());
    EXPECT_EQ(bare.status, "invalid");
    EXPECT_NE(bare.detail.find("is revoked, reason unspecified"), std::string::npos) << bare.detail;
}

TEST_F(EpcmSignatureTest, ASuspendedSignerOrARevokedIssuingCaIsInvalid) {
    all_good();
    answers[signer->serial_hex()] = {
        "suspended", fixture->clock.now() - std::chrono::minutes(1), 6, {}};
    auto held = validate(fixture->clock.now());
    EXPECT_EQ(held.status, "invalid");
    EXPECT_NE(held.detail.find("is suspended (certificateHold) since"), std::string::npos)
        << held.detail;

    all_good();
    answers[persons->certificate().serial_hex()] = {
        "revoked", fixture->clock.now() - std::chrono::minutes(1), 2, {}};
    auto ca = validate(fixture->clock.now());
    EXPECT_EQ(ca.status, "invalid");
    EXPECT_NE(ca.detail.find(persons->certificate().subject() + "'s certificate"),
              std::string::npos)
        << ca.detail;
    EXPECT_NE(ca.detail.find("reason cACompromise"), std::string::npos) << ca.detail;
}

TEST_F(EpcmSignatureTest, AStatusSeloDoesNotKnowOrCannotReadIsNeverValid) {
    // Chains to the root, but no record of the signer: unknown.
    answers[persons->certificate().serial_hex()] = good();
    auto unknown = validate(fixture->clock.now());
    EXPECT_EQ(unknown.status, "invalid");
    EXPECT_NE(
        unknown.detail.find(signer->subject() + "'s certificate (serial " + signer->serial_hex() +
                            ") is not in Selo's certificate records: status unknown"),
        std::string::npos)
        << unknown.detail;
    // A status the store should not hold.
    all_good();
    answers[signer->serial_hex()].status = "pending";
    EXPECT_EQ(validate(fixture->clock.now()).status, "invalid");
    // The store cannot be read: no verdict (indeterminate), and its error stays out of what the
    // client is told.
    failing = true;
    auto down = validate(fixture->clock.now());
    EXPECT_EQ(down.status, "indeterminate");
    EXPECT_NE(
        down.detail.find("revocation status of " + signer->subject() + "'s certificate (serial " +
                         signer->serial_hex() + ") could not be checked"),
        std::string::npos)
        << down.detail;
    EXPECT_EQ(down.detail.find("secret detail"), std::string::npos) << down.detail;
    // No lookup at all is the same.
    EXPECT_EQ(
        validate_cms_signature(signature, crypto::DigestAlgorithm::sha256, crypto::sha256(document),
                               anchors, CertificateStatusLookup{}, fixture->clock.now())
            .status,
        "indeterminate");
}

// Receipts kept in memory.
class MemoryEpcm final : public EpcmRepository {
  public:
    Result<void> insert(const EpcmEvent& e) override {
        events.push_back(e);
        return {};
    }
    Result<std::optional<EpcmEvent>> find(std::string_view id) override {
        for (const auto& e : events) {
            if (e.id == id) {
                return std::optional<EpcmEvent>(e);
            }
        }
        return std::optional<EpcmEvent>{};
    }
    Result<std::vector<EpcmEvent>> transaction(std::string_view id) override {
        std::vector<EpcmEvent> out;
        for (const auto& e : events) {
            if (e.transaction_id == id) {
                out.push_back(e);
            }
        }
        return out;
    }
    std::vector<EpcmEvent> events;
};

TEST_F(EpcmSignatureTest, APostmarkAfterTheCaRevokedTheSignerSaysTheSignatureIsInvalid) {
    CertificateStatusLookup store = records_lookup();
    MemoryEpcm repo;
    PostmarkService service(repo, *fixture->tsa, nullptr, anchors, store, fixture_signers(), fixture->clock,
                            fixture->rng);
    auto before = service.postmark("acct-1", crypto::DigestAlgorithm::sha256,
                                   crypto::sha256(document), signature);
    ASSERT_TRUE(before.has_value()) << before.error().message;
    EXPECT_EQ(before->validation.status, "valid") << before->validation.detail;

    ASSERT_TRUE(persons
                    ->revoke(signer->serial_hex(), pki::RevocationReason::key_compromise,
                             std::nullopt, {"cli:test", "key lost"})
                    .has_value());
    auto after = service.postmark("acct-1", crypto::DigestAlgorithm::sha256,
                                  crypto::sha256(document), signature);
    ASSERT_TRUE(after.has_value()) << after.error().message;
    EXPECT_EQ(after->validation.status, "invalid");
    std::string receipt(as_chars(after->receipt));
    EXPECT_NE(receipt.find("signature: invalid (signed by " + signer->subject() + "; " +
                           signer->subject() + "'s certificate (serial " + signer->serial_hex() +
                           ") is revoked since"),
              std::string::npos)
        << receipt;
    EXPECT_NE(receipt.find("reason keyCompromise)"), std::string::npos) << receipt;
}

// A sound signature over the document's SHA-256 digest, given with its SHA-512 digest, cannot be
// checked against it: the postmark is refused saying so, not receipted calling it invalid.
TEST_F(EpcmSignatureTest, ASignatureOverAnotherDigestOfTheDocumentIsRefusedNotCalledInvalid) {
    MemoryEpcm repo;
    PostmarkService service(repo, *fixture->tsa, nullptr, anchors, records_lookup(), fixture_signers(), fixture->clock,
                            fixture->rng);
    auto r = service.postmark("acct-1", crypto::DigestAlgorithm::sha512,
                              crypto::digest(crypto::DigestAlgorithm::sha512, as_bytes(document)), signature);
    ASSERT_FALSE(r.has_value()) << r->validation.status;
    EXPECT_EQ(r.error().code, ErrorCode::invalid_argument);
    EXPECT_NE(r.error().message.find("over the document's SHA-256 digest, the postmark gives its SHA-512"),
              std::string::npos)
        << r.error().message;
    EXPECT_TRUE(repo.events.empty());
}

// A postmark whose signer's status cannot be read is refused (retry later), not receipted with
// a verdict the records did not give: nothing is sealed, stored or logged.
TEST_F(EpcmSignatureTest, APostmarkWhoseSignerStatusCannotBeReadIsRefusedAndNothingIsRecorded) {
    CertificateStatusLookup down = [](const pki::Certificate&,
                                      std::string_view) -> Result<std::optional<pki::CertificateStatus>> {
        return fail(ErrorCode::unavailable, "database is locked");
    };
    MemoryEpcm repo;
    MemoryLog log;
    PostmarkService service(repo, *fixture->tsa, &log, anchors, down, fixture_signers(), fixture->clock, fixture->rng);
    auto r = service.postmark("acct-1", crypto::DigestAlgorithm::sha256, crypto::sha256(document), signature);
    ASSERT_FALSE(r.has_value());
    EXPECT_EQ(r.error().code, ErrorCode::unavailable);
    EXPECT_NE(r.error().message.find("could not be checked"), std::string::npos) << r.error().message;
    EXPECT_NE(r.error().message.find("send the postmark again"), std::string::npos) << r.error().message;
    EXPECT_EQ(r.error().message.find("database is locked"), std::string::npos) << r.error().message;
    EXPECT_TRUE(repo.events.empty());
    EXPECT_TRUE(log.entries.empty());
    // Without a signature too: the receipt's own time-stamp cannot be confirmed in force.
    auto plain = service.postmark("acct-1", crypto::DigestAlgorithm::sha256, crypto::sha256(document), std::nullopt);
    ASSERT_FALSE(plain.has_value());
    EXPECT_EQ(plain.error().code, ErrorCode::unavailable);
    EXPECT_NE(plain.error().message.find("send it again shortly"), std::string::npos) << plain.error().message;
    EXPECT_TRUE(repo.events.empty());
    EXPECT_TRUE(log.entries.empty());
}

TEST(Der, EncodesTimesBitsAndIntegers) {
    using namespace std::chrono;
    TimePoint t = from_unix_seconds(1'735'732'800) + milliseconds(250);
    EXPECT_EQ(der::generalized_time_text(t), "20250101120000.25Z");
    EXPECT_EQ(der::generalized_time_text(from_unix_seconds(1'735'732'800)), "20250101120000Z");
    // 2024-02-29T23:59:59.999Z and 1970-01-01T00:00:00.001Z: a leap day, every digit, the epoch.
    EXPECT_EQ(der::generalized_time_text(from_unix_seconds(1'709'251'199) + milliseconds(999)),
              "20240229235959.999Z");
    EXPECT_EQ(der::generalized_time_text(from_unix_seconds(0) + milliseconds(1)), "19700101000000.001Z");
    EXPECT_EQ(der::generalized_time_text(from_unix_seconds(4'102'444'800) + milliseconds(100)),
              "21000101000000.1Z");
    // Object identifiers in one spelling only: a policy is compared by its text.
    EXPECT_EQ(hex_encode(der::oid("1.2.840.113549").value()), "06062a864886f70d");
    EXPECT_EQ(hex_encode(der::oid("2.25.0").value()), "06026900");
    for (const char* bad : {"1.2.3.", "1.2.03", " 1.2.3", "1.2.3 ", "1..2", "3.1", "1", "", "1.2.x", ".1.2"}) {
        EXPECT_FALSE(der::oid(bad).has_value()) << "'" << bad << "'";
    }
    EXPECT_EQ(hex_encode(der::named_bit(0)), "03020780");
    EXPECT_EQ(hex_encode(der::named_bit(5)), "03020204");
    EXPECT_EQ(hex_encode(der::named_bit(15)), "0303000001");
    EXPECT_EQ(hex_encode(der::named_bit(25)), "030506000000" "40");
    EXPECT_EQ(hex_encode(der::small_integer(0)), "020100");
    EXPECT_EQ(hex_encode(der::small_integer(128)), "02020080");
    Bytes big(300, 1);
    auto seq = der::tlv(der::kSequence, {big});
    EXPECT_EQ(hex_encode(ByteView(seq).first(4)), "3082012c");
}

}  // namespace
}  // namespace selo::tsa
