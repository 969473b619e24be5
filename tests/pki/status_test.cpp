// Revocation life cycle, CRLs and OCSP, checked with the openssl CLI. The CA suite runs on every
// key store the build has (the parameter): the CA reaches its keys only through KeyStore.
#include <gtest/gtest.h>

#include <openssl/objects.h>
#include <openssl/ocsp.h>

#include <regex>
#include <set>

#include "crypto/keys.hpp"
#include "pki/authority.hpp"
#include "pki/crl.hpp"
#include "pki/memory_repositories.hpp"
#include "pki/ocsp.hpp"
#include "support/test_support.hpp"

namespace selo::pki {
namespace {

using test::run;

class MemoryAudit final : public AuditTrail {
public:
    Result<void> record(const AuditEvent& e) override {
        events.push_back(e);
        return {};
    }
    std::vector<AuditEvent> events;
};

// A key store for the CA under test, by name. "software": keys sealed under a master key.
struct KeyStoreFixture {
    std::string name;
    std::function<std::unique_ptr<crypto::KeyStore>(crypto::SealedKeyRepository&,
                                                    const crypto::MasterKey&, Rng&)>
        make;
};

std::vector<KeyStoreFixture> key_stores() {
    return {{"software", [](crypto::SealedKeyRepository& repo, const crypto::MasterKey& master, Rng& rng) {
                 return std::unique_ptr<crypto::KeyStore>(
                     std::make_unique<crypto::SoftwareKeyStore>(repo, master, rng));
             }}};
}

class CaStatus : public ::testing::TestWithParam<KeyStoreFixture> {
protected:
    void SetUp() override {
        if (!test::have_tool("openssl")) {
            GTEST_SKIP() << "openssl CLI missing";
        }
        keys = GetParam().make(key_repo, master, rng);
        auto r = ensure_hierarchy({"MO", "Selo Test Services", "http://ca.example.mo",
                                   default_authorities("Selo Test Services")},
                                  *keys, cas, certs, clock, rng);
        ASSERT_TRUE(r.has_value()) << r.error().message;
        for (auto name : {kRootCaName, kNaturalPersonsCaName}) {
            auto rec = cas.find(name).value();
            ASSERT_TRUE(rec.has_value());
            CaContext ctx{*keys, certs, clock, rng, "http://ca.example.mo", &audit, {}};
            std::vector<std::string> profiles = name == kRootCaName
                                                    ? std::vector<std::string>{std::string(kProfileIssuingCa)}
                                                    : std::vector<std::string>{std::string(kProfileNaturalPersonSigning)};
            authorities.emplace(std::string(name), CertificateAuthority::load(*rec, ctx, profiles).value());
        }
        np = &authorities.at(std::string(kNaturalPersonsCaName));
        root_cert = authorities.at(std::string(kRootCaName)).certificate();
        test::write_file(dir / "root.pem", root_cert->pem());
        test::write_file(dir / "np.pem", np->certificate().pem());
        ocsp = std::make_unique<OcspResponder>(certs, responders, *keys, clock, rng, OcspOptions{});
        for (auto& [n, a] : authorities) {
            ASSERT_TRUE(ocsp->add(a).has_value());
        }
        crl = std::make_unique<CrlPublisher>(certs, crls, *keys, clock, std::chrono::hours(24));
        for (auto& [n, a] : authorities) {
            crl->add(a);
        }
    }

    Certificate issue(const std::string& id) {
        auto key = crypto::generate_key(crypto::KeyType::ec_p256).value();
        DistinguishedName dn;
        dn.add(NID_countryName, "MO").add(NID_givenName, "Tai Man").add(NID_surname, "CHAN")
            .add(NID_serialNumber, "IDCMO-" + id).add(NID_commonName, "陳大文");
        auto cert = np->issue({std::string(kProfileNaturalPersonSigning), dn, key.get(), std::nullopt, {}, {}});
        EXPECT_TRUE(cert.has_value()) << cert.error().message;
        return *cert;
    }

    std::filesystem::path save(const Certificate& c, const std::string& name) {
        test::write_file(dir / name, c.pem());
        return dir / name;
    }

    // Asks the responder with a request openssl built, and lets openssl read the answer.
    std::string ask(const std::string& request_args, const std::string& verify_args = "") {
        auto req = run("cd " + dir.path().string() + " && openssl ocsp " + request_args + " -reqout req.der");
        EXPECT_EQ(req.exit_code, 0) << req.output;
        auto reply = ocsp->respond(test::read_file(dir / "req.der"));
        test::write_file(dir / "resp.der", *reply.der);
        // With -cert, openssl builds a request of its own (with a new nonce): the nonce echo is
        // checked against the request sent, the statuses through the certificates.
        auto echo = run("cd " + dir.path().string() +
                        " && openssl ocsp -reqin req.der -respin resp.der -CAfile root.pem -verify_other np.pem " +
                        verify_args);
        auto out = run("cd " + dir.path().string() + " && openssl ocsp " + request_args +
                       " -no_nonce -respin resp.der -CAfile root.pem -verify_other np.pem " + verify_args);
        return echo.output + out.output;
    }

    Actor officer{"officer-1", "test"};
    test::TempDir dir;
    FakeClock clock{std::chrono::floor<std::chrono::seconds>(std::chrono::system_clock::now())};
    SystemRng rng;
    test::MemoryKeys key_repo;
    crypto::MasterKey master = crypto::MasterKey::from_bytes(Bytes(32, 7));
    std::unique_ptr<crypto::KeyStore> keys;
    test::MemoryCas cas;
    test::MemoryCertificates certs;
    test::MemoryCrls crls;
    test::MemoryResponders responders;
    MemoryAudit audit;
    std::map<std::string, CertificateAuthority> authorities;
    CertificateAuthority* np = nullptr;
    std::optional<Certificate> root_cert;
    std::unique_ptr<OcspResponder> ocsp;
    std::unique_ptr<CrlPublisher> crl;
};

TEST_P(CaStatus, LifeCycleFollowsTheRulesAndIsAudited) {
    auto a = issue("1000001(1)");
    auto s = a.serial_hex();
    auto held = np->suspend(s, officer);
    ASSERT_TRUE(held.has_value()) << held.error().message;
    EXPECT_EQ(held->status, "suspended");
    EXPECT_EQ(held->revocation_reason, 6);
    EXPECT_EQ(np->suspend(s, officer).error().code, ErrorCode::conflict);
    ASSERT_TRUE(np->resume(s, officer).has_value());
    EXPECT_EQ(certs.status(np->name(), s).value()->status, "valid");
    EXPECT_EQ(np->resume(s, officer).error().code, ErrorCode::conflict);
    EXPECT_EQ(np->revoke(s, RevocationReason::key_compromise, clock.now() + std::chrono::hours(1), officer)
                  .error().code,
              ErrorCode::invalid_argument);
    auto revoked = np->revoke(s, RevocationReason::key_compromise, std::nullopt, officer);
    ASSERT_TRUE(revoked.has_value()) << revoked.error().message;
    EXPECT_EQ(revoked->status, "revoked");
    EXPECT_EQ(revoked->revocation_reason, 1);
    EXPECT_EQ(np->revoke(s, RevocationReason::superseded, std::nullopt, officer).error().code,
              ErrorCode::conflict);
    EXPECT_EQ(np->resume(s, officer).error().code, ErrorCode::conflict);
    EXPECT_EQ(np->revoke("abcdef0123", RevocationReason::superseded, std::nullopt, officer).error().code,
              ErrorCode::not_found);
    EXPECT_EQ(np->revoke("XYZ", RevocationReason::superseded, std::nullopt, officer).error().code,
              ErrorCode::invalid_argument);
    ASSERT_EQ(audit.events.size(), 3u);
    EXPECT_EQ(audit.events[0].action, "certificate.suspend");
    EXPECT_EQ(audit.events[1].action, "certificate.resume");
    EXPECT_EQ(audit.events[2].action, "certificate.revoke");
    EXPECT_EQ(audit.events[2].actor, "officer-1");
    EXPECT_NE(audit.events[2].detail.find("keyCompromise"), std::string::npos);
    EXPECT_EQ(revocation_reason_from_name("key-compromise").value(), RevocationReason::key_compromise);
    EXPECT_FALSE(revocation_reason_from_name("bored").has_value());
}

TEST(RevocationText, NamesTheStatusTimeAndReasonAndWhichReasonsKeepEarlierTokens) {
    const TimePoint t = from_unix_seconds(1'796'384'407);  // 2026-12-04T11:40:07Z
    EXPECT_EQ(not_in_force_text(kStatusRevoked, t, static_cast<int>(RevocationReason::key_compromise)),
              "revoked since 2026-12-04T11:40:07Z, reason keyCompromise");
    EXPECT_EQ(not_in_force_text(kStatusRevoked, std::nullopt, std::nullopt), "revoked, reason unspecified");
    EXPECT_EQ(not_in_force_text(kStatusSuspended, t, static_cast<int>(RevocationReason::certificate_hold)),
              "suspended (certificateHold) since 2026-12-04T11:40:07Z");
    // RFC 3161 §4: earlier tokens stay valid for these reasons only. Unspecified is published
    // without a reason code (RFC 5280 §5.3.1), which voids them all for any verifier.
    for (auto r : {RevocationReason::affiliation_changed, RevocationReason::superseded,
                   RevocationReason::cessation_of_operation}) {
        EXPECT_TRUE(keeps_earlier_tokens(static_cast<int>(r))) << revocation_reason_name(r);
    }
    for (auto r : {RevocationReason::unspecified, RevocationReason::key_compromise, RevocationReason::ca_compromise,
                   RevocationReason::aa_compromise, RevocationReason::privilege_withdrawn,
                   RevocationReason::certificate_hold}) {
        EXPECT_FALSE(keeps_earlier_tokens(static_cast<int>(r))) << revocation_reason_name(r);
    }
    EXPECT_FALSE(keeps_earlier_tokens(std::nullopt));
}

TEST_P(CaStatus, CrlListsExactlyTheRevokedSerialsAndOpensslVerifiesIt) {
    auto a = issue("1000002(2)");
    auto b = issue("1000003(3)");
    auto c = issue("1000004(4)");
    auto first = crl->current(np->name()).value();
    EXPECT_EQ(first.number, 1);
    ASSERT_TRUE(np->revoke(a.serial_hex(), RevocationReason::key_compromise, std::nullopt, officer));
    ASSERT_TRUE(np->suspend(b.serial_hex(), officer));
    ASSERT_TRUE(np->suspend(c.serial_hex(), officer));
    ASSERT_TRUE(np->resume(c.serial_hex(), officer));
    auto second = crl->current(np->name()).value();
    EXPECT_EQ(second.number, 2) << "a status change makes a new CRL at once";
    EXPECT_EQ(crl->current(np->name()).value().number, 2) << "no change, same CRL";
    test::write_file(dir / "np.crl", second.der);
    auto out = run("openssl crl -inform DER -in " + (dir / "np.crl").string() + " -CAfile " +
                   (dir / "np.pem").string() + " -noout -text -verify");
    ASSERT_EQ(out.exit_code, 0) << out.output;
    EXPECT_NE(out.output.find("verify OK"), std::string::npos) << out.output;
    std::set<std::string> listed;
    std::regex serial_re("Serial Number: ([0-9A-F]+)");
    for (std::sregex_iterator it(out.output.begin(), out.output.end(), serial_re), end; it != end; ++it) {
        std::string hex = (*it)[1];
        std::transform(hex.begin(), hex.end(), hex.begin(), ::tolower);
        listed.insert(hex);
    }
    EXPECT_EQ(listed, (std::set<std::string>{a.serial_hex(), b.serial_hex()}));
    EXPECT_NE(out.output.find("Key Compromise"), std::string::npos);
    EXPECT_NE(out.output.find("Certificate Hold"), std::string::npos);
    EXPECT_NE(out.output.find("X509v3 CRL Number: \n                2"), std::string::npos) << out.output;
    // Read back as a relying party reads it (log verify does): checked against its issuer, and
    // what it says of each serial.
    auto received = ReceivedCrl::read(second.der, np->certificate());
    ASSERT_TRUE(received.has_value()) << received.error().message;
    auto ra = received->status(a.serial_hex()).value();
    EXPECT_EQ(ra.status, kStatusRevoked);
    EXPECT_EQ(ra.revocation_reason, static_cast<int>(RevocationReason::key_compromise));
    EXPECT_TRUE(ra.revoked_at.has_value());
    EXPECT_EQ(received->status(b.serial_hex()).value().status, kStatusSuspended);
    EXPECT_EQ(received->status(c.serial_hex()).value().status, kStatusValid) << "resumed";
    EXPECT_FALSE(received->status("zz").has_value());
    auto foreign = ReceivedCrl::read(second.der, *root_cert);
    ASSERT_FALSE(foreign.has_value()) << "a CRL taken for another CA's";
    EXPECT_NE(foreign.error().message.find("not by"), std::string::npos) << foreign.error().message;
    EXPECT_FALSE(ReceivedCrl::read(as_bytes(std::string_view("not a CRL")), np->certificate()).has_value());
    // Half-way to nextUpdate a new CRL is made even without changes.
    clock.advance(std::chrono::hours(13));
    EXPECT_EQ(crl->current(np->name()).value().number, 3);
}

TEST_P(CaStatus, CrlOfOneHundredThousandEntriesIsBuiltAndVerifies) {
    // Entries are what the repository returns; the CRL does not care whether they were issued.
    CrlContent content;
    content.number = 7;
    content.this_update = clock.now();
    content.next_update = clock.now() + std::chrono::hours(24);
    for (int i = 0; i < 100'000; ++i) {
        content.entries.push_back({fmt::format("4{:031x}", i * 7919 + 1), clock.now() - std::chrono::hours(1),
                                   i % 3 == 0 ? 1 : 0});
    }
    auto key = keys->signing_key(np->key_id()).value();
    auto der = build_crl(np->certificate(), key.get(), content);
    ASSERT_TRUE(der.has_value()) << der.error().message;
    test::write_file(dir / "big.crl", *der);
    auto out = run("openssl crl -inform DER -in " + (dir / "big.crl").string() + " -CAfile " +
                   (dir / "np.pem").string() + " -noout -verify");
    EXPECT_NE(out.output.find("verify OK"), std::string::npos) << out.output;
}

TEST_P(CaStatus, OcspAnswersGoodRevokedAndUnknownWithBothCertIdHashes) {
    auto a = issue("1000005(5)");
    auto b = issue("1000006(6)");
    auto pa = save(a, "a.pem");
    auto pb = save(b, "b.pem");
    for (std::string hash : {"", "-sha256"}) {
        for (std::string nonce : {"", "-no_nonce"}) {
            std::string args = "-issuer np.pem " + hash + " -cert a.pem -cert b.pem " + nonce;
            auto out = ask(args);
            EXPECT_NE(out.find("Response verify OK"), std::string::npos) << out;
            EXPECT_NE(out.find("a.pem: good"), std::string::npos) << out;
            EXPECT_NE(out.find("b.pem: good"), std::string::npos) << out;
            EXPECT_EQ(out.find("WARNING: Status"), std::string::npos) << out;
            EXPECT_EQ(out.find("Nonce Verify error"), std::string::npos) << out;
            EXPECT_EQ(out.find("WARNING: no nonce"), std::string::npos) << out;
        }
    }
    ASSERT_TRUE(np->revoke(b.serial_hex(), RevocationReason::affiliation_changed, std::nullopt, officer));
    auto out = ask("-issuer np.pem -sha256 -cert a.pem -cert b.pem");
    EXPECT_NE(out.find("a.pem: good"), std::string::npos) << out;
    EXPECT_NE(out.find("b.pem: revoked"), std::string::npos) << out;
    EXPECT_NE(out.find("Reason: affiliationChanged"), std::string::npos) << out;
    EXPECT_NE(out.find("Revocation Time"), std::string::npos) << out;
    // The cached plain answer for b is replaced at once.
    out = ask("-issuer np.pem -cert b.pem -no_nonce");
    EXPECT_NE(out.find("b.pem: revoked"), std::string::npos) << out;

    ASSERT_TRUE(np->suspend(a.serial_hex(), officer));
    out = ask("-issuer np.pem -cert a.pem -no_nonce");
    EXPECT_NE(out.find("a.pem: revoked"), std::string::npos) << out;
    EXPECT_NE(out.find("Reason: certificateHold"), std::string::npos) << out;
    ASSERT_TRUE(np->resume(a.serial_hex(), officer));
    out = ask("-issuer np.pem -cert a.pem -no_nonce");
    EXPECT_NE(out.find("a.pem: good"), std::string::npos) << out;

    // Never issued: unknown, never good.
    out = ask("-issuer np.pem -serial 0x4a1b2c3d4e5f60718293a4b5c6d7e8f9");
    EXPECT_NE(out.find("0x4a1b2c3d4e5f60718293a4b5c6d7e8f9: unknown"), std::string::npos) << out;
}

TEST_P(CaStatus, OcspRefusesStrangersGarbageAndBadNonces) {
    auto a = issue("1000007(7)");
    save(a, "a.pem");
    // An issuer Selo does not serve.
    auto mk = run("cd " + dir.path().string() +
                  " && openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout o.key"
                  " -subj /CN=Other -days 2 -out other.pem 2>&1");
    ASSERT_EQ(mk.exit_code, 0) << mk.output;
    auto req = run("cd " + dir.path().string() + " && openssl ocsp -issuer other.pem -serial 0x1234 -reqout req.der");
    ASSERT_EQ(req.exit_code, 0) << req.output;
    auto reply = ocsp->respond(test::read_file(dir / "req.der"));
    test::write_file(dir / "resp.der", *reply.der);
    auto out = run("cd " + dir.path().string() + " && openssl ocsp -respin resp.der -resp_text -noverify");
    EXPECT_NE(out.output.find("unauthorized (6)"), std::string::npos) << out.output;

    reply = ocsp->respond(to_bytes("this is not DER"));
    test::write_file(dir / "resp.der", *reply.der);
    out = run("cd " + dir.path().string() + " && openssl ocsp -respin resp.der -resp_text -noverify");
    EXPECT_NE(out.output.find("malformedrequest (1)"), std::string::npos) << out.output;

    // Nonces of 0 and 33 octets are refused; 32 is echoed.
    auto a_x509 = a.x509();
    auto np_x509 = np->certificate().x509();
    for (int len : {0, 33, 32}) {
        std::unique_ptr<OCSP_REQUEST, crypto::Free<&::OCSP_REQUEST_free>> r(::OCSP_REQUEST_new());
        ::OCSP_request_add0_id(r.get(), ::OCSP_cert_to_id(nullptr, a_x509, np_x509));
        Bytes nonce(static_cast<std::size_t>(len), 0x5a);
        Bytes wrapped = {0x04, static_cast<std::uint8_t>(len)};
        wrapped.insert(wrapped.end(), nonce.begin(), nonce.end());
        std::unique_ptr<ASN1_OCTET_STRING, crypto::Free<&::ASN1_OCTET_STRING_free>> v(::ASN1_OCTET_STRING_new());
        ::ASN1_OCTET_STRING_set(v.get(), wrapped.data(), static_cast<int>(wrapped.size()));
        X509_EXTENSION* ext = ::X509_EXTENSION_create_by_NID(nullptr, NID_id_pkix_OCSP_Nonce, 0, v.get());
        ::OCSP_REQUEST_add_ext(r.get(), ext, -1);
        ::X509_EXTENSION_free(ext);
        unsigned char* der = nullptr;
        int n = ::i2d_OCSP_REQUEST(r.get(), &der);
        Bytes req_der(der, der + n);
        ::OPENSSL_free(der);
        test::write_file(dir / "req.der", req_der);
        reply = ocsp->respond(req_der);
        test::write_file(dir / "resp.der", *reply.der);
        out = run("cd " + dir.path().string() + " && openssl ocsp -reqin req.der -respin resp.der -resp_text"
                  " -CAfile root.pem -verify_other np.pem");
        if (len == 32) {
            EXPECT_NE(out.output.find("Cert Status: good"), std::string::npos) << out.output;
            EXPECT_NE(out.output.find("Response verify OK"), std::string::npos) << out.output;
            EXPECT_EQ(out.output.find("Nonce Verify error"), std::string::npos) << out.output;
            EXPECT_EQ(out.output.find("WARNING: no nonce"), std::string::npos) << out.output;
        } else {
            EXPECT_NE(out.output.find("malformedrequest (1)"), std::string::npos) << len << out.output;
        }
    }
}

TEST_P(CaStatus, PlainAnswersAreReusedUntilHalfTimeAndResponderRotates) {
    auto a = issue("1000008(8)");
    save(a, "a.pem");
    auto run_req = run("cd " + dir.path().string() + " && openssl ocsp -issuer np.pem -cert a.pem -no_nonce -reqout req.der");
    ASSERT_EQ(run_req.exit_code, 0);
    auto req = test::read_file(dir / "req.der");
    auto first = ocsp->respond(req);
    EXPECT_TRUE(first.cacheable);
    EXPECT_FALSE(first.etag.empty());
    clock.advance(std::chrono::hours(1));
    auto again = ocsp->respond(req);
    EXPECT_EQ(*again.der, *first.der) << "precomputed answer reused";
    clock.advance(std::chrono::hours(12));
    auto fresh = ocsp->respond(req);
    EXPECT_NE(*fresh.der, *first.der) << "refreshed after half its validity";
    EXPECT_EQ(responders.responders.size(), 1u);
    // 61 days on, the 90-day responder certificate has less than 30 days left: a new one.
    clock.advance(std::chrono::hours(24 * 61));
    auto later = ocsp->respond(req);
    EXPECT_EQ(responders.responders.size(), 2u);
    test::write_file(dir / "resp.der", *later.der);
    auto out = run("cd " + dir.path().string() + " && openssl ocsp -respin resp.der -issuer np.pem -cert a.pem"
                   " -CAfile root.pem -verify_other np.pem -attime " +
                   std::to_string(unix_seconds(clock.now())));
    EXPECT_NE(out.output.find("Response verify OK"), std::string::npos) << out.output;
}

TEST_P(CaStatus, PrecomputedAnswersFollowEveryStatusChangeAtOnce) {
    auto a = issue("1000009(9)");
    save(a, "a.pem");
    ASSERT_EQ(run("cd " + dir.path().string() + " && openssl ocsp -issuer np.pem -cert a.pem -no_nonce -reqout req.der")
                  .exit_code, 0);
    auto req = test::read_file(dir / "req.der");
    EXPECT_EQ(ocsp->precomputed(req), nullptr) << "nothing was answered yet";
    auto first = ocsp->respond(req);
    auto pre = ocsp->precomputed(req);
    ASSERT_NE(pre, nullptr);
    EXPECT_EQ(*pre->der, *first.der);
    auto read = [&](const OcspReply& reply) {
        test::write_file(dir / "resp.der", *reply.der);
        return run("cd " + dir.path().string() + " && openssl ocsp -respin resp.der -issuer np.pem -cert a.pem"
                   " -CAfile root.pem -verify_other np.pem").output;
    };
    EXPECT_NE(read(*pre).find("a.pem: good"), std::string::npos);
    // Other request octets for the same certificate are answered by respond() first.
    ASSERT_EQ(run("cd " + dir.path().string() + " && openssl ocsp -issuer np.pem -sha256 -cert a.pem -no_nonce"
                  " -reqout req256.der").exit_code, 0);
    EXPECT_EQ(ocsp->precomputed(test::read_file(dir / "req256.der")), nullptr);

    // A status change, through any CA object or process, bumps the CA's status version: the
    // precomputed answer is gone at once, and respond() gives the new status.
    ASSERT_TRUE(np->suspend(a.serial_hex(), officer));
    EXPECT_EQ(ocsp->precomputed(req), nullptr);
    auto held = ocsp->respond(req);
    EXPECT_NE(read(held).find("a.pem: revoked"), std::string::npos);
    pre = ocsp->precomputed(req);
    ASSERT_NE(pre, nullptr);
    EXPECT_EQ(*pre->der, *held.der);
    ASSERT_TRUE(certs.update_status(np->name(), a.serial_hex(), "suspended",
                                    {"valid", std::nullopt, std::nullopt, a.not_after()}).has_value());
    EXPECT_EQ(ocsp->precomputed(req), nullptr);
    EXPECT_NE(read(ocsp->respond(req)).find("a.pem: good"), std::string::npos);
    ASSERT_NE(ocsp->precomputed(req), nullptr);

    // Nonce requests are never precomputed; half-time ends the reuse.
    ASSERT_EQ(run("cd " + dir.path().string() + " && openssl ocsp -issuer np.pem -cert a.pem -reqout nonce.der")
                  .exit_code, 0);
    auto nonce_req = test::read_file(dir / "nonce.der");
    (void)ocsp->respond(nonce_req);
    EXPECT_EQ(ocsp->precomputed(nonce_req), nullptr);
    clock.advance(std::chrono::hours(13));
    EXPECT_EQ(ocsp->precomputed(req), nullptr);
}

INSTANTIATE_TEST_SUITE_P(KeyStores, CaStatus, ::testing::ValuesIn(key_stores()),
                         [](const auto& info) { return info.param.name; });

}  // namespace
}  // namespace selo::pki
