#include <gtest/gtest.h>

#include <openssl/objects.h>

#include "crypto/keys.hpp"
#include "pki/authority.hpp"
#include "pki/memory_repositories.hpp"
#include "sig/cades.hpp"
#include "support/test_support.hpp"

namespace selo::sig {
namespace {

class CadesTest : public ::testing::Test {
protected:
    void SetUp() override {
        ASSERT_TRUE(pki::ensure_hierarchy({"MO", "Selo Test", "http://ca.example.mo",
                                           pki::default_authorities("Selo Test")},
                                          keys, cas, certs, clock, rng));
        auto np = cas.find(pki::kNaturalPersonsCaName).value();
        auto ca = pki::CertificateAuthority::load(
                      *np, pki::CaContext{keys, certs, clock, rng, "http://ca.example.mo"},
                      {std::string(pki::kProfileNaturalPersonSigning)})
                      .value();
        key = crypto::generate_key(crypto::KeyType::ec_p256).value();
        pki::DistinguishedName dn;
        dn.add(NID_countryName, "MO").add(NID_serialNumber, "IDCMO-1").add(NID_givenName, "João")
            .add(NID_surname, "Conceição").add(NID_commonName, "João Conceição");
        auto issued = ca.issue({std::string(pki::kProfileNaturalPersonSigning), dn, key.get(), std::nullopt, {}, {}});
        ASSERT_TRUE(issued.has_value()) << issued.error().message;
        signer = std::move(*issued);
        chain.push_back(ca.certificate());
        chain.push_back(pki::Certificate::from_der(cas.find(pki::kRootCaName).value()->certificate_der).value());
    }

    SystemClock clock;
    SystemRng rng;
    test::MemoryKeys key_repo;
    crypto::MasterKey master = crypto::MasterKey::from_bytes(Bytes(32, 9));
    crypto::SoftwareKeyStore keys{key_repo, master, rng};
    test::MemoryCas cas;
    test::MemoryCertificates certs;
    crypto::EvpPkeyPtr key;
    std::optional<pki::Certificate> signer;
    std::vector<pki::Certificate> chain;
};

TEST_F(CadesTest, TwoStepSigningVerifiesWithOpensslAndHasNoSigningTime) {
    if (!test::have_tool("openssl")) {
        GTEST_SKIP();
    }
    const std::string content = "the bytes a PDF ByteRange covers";
    auto prepared = PreparedCades::prepare(*signer, chain, crypto::DigestAlgorithm::sha256,
                                           crypto::sha256(content));
    ASSERT_TRUE(prepared.has_value()) << prepared.error().message;
    EXPECT_EQ(prepared->to_be_signed_digest(), crypto::sha256(prepared->signed_attributes_der()));
    // The key holder only ever sees this digest (the CSC signHash round trip).
    auto signature = crypto::sign_digest(key.get(), crypto::DigestAlgorithm::sha256,
                                         prepared->to_be_signed_digest()).value();
    auto cms = prepared->finish(signature);
    ASSERT_TRUE(cms.has_value()) << cms.error().message;

    test::TempDir dir;
    test::write_file(dir / "content", content);
    test::write_file(dir / "sig.der", *cms);
    test::write_file(dir / "root.pem", chain.back().pem());
    auto verify = test::run("openssl cms -verify -binary -inform DER -in " + (dir / "sig.der").string() +
                            " -content " + (dir / "content").string() + " -CAfile " +
                            (dir / "root.pem").string() + " -purpose any -out /dev/null");
    EXPECT_EQ(verify.exit_code, 0) << verify.output;
    EXPECT_NE(verify.output.find("Verification successful"), std::string::npos) << verify.output;

    auto print = test::run("openssl cms -cmsout -print -inform DER -in " + (dir / "sig.der").string());
    ASSERT_EQ(print.exit_code, 0) << print.output;
    EXPECT_EQ(print.output.find("signingTime"), std::string::npos) << "PAdES forbids signingTime";
    EXPECT_NE(print.output.find("id-smime-aa-signingCertificateV2"), std::string::npos);
    EXPECT_NE(print.output.find("contentType"), std::string::npos);
    EXPECT_NE(print.output.find("messageDigest"), std::string::npos);
    EXPECT_EQ(print.output.find("SMIMECapabilities"), std::string::npos);
    EXPECT_NE(print.output.find("eContent: <ABSENT>"), std::string::npos) << "detached";

    // Changed content fails.
    test::write_file(dir / "content", content + "!");
    auto bad = test::run("openssl cms -verify -binary -inform DER -in " + (dir / "sig.der").string() +
                         " -content " + (dir / "content").string() + " -CAfile " +
                         (dir / "root.pem").string() + " -purpose any -out /dev/null");
    EXPECT_NE(bad.exit_code, 0);
}

TEST_F(CadesTest, FinishRefusesASignatureFromAnotherKey) {
    auto prepared = PreparedCades::prepare(*signer, chain, crypto::DigestAlgorithm::sha256,
                                           crypto::sha256(as_bytes("x"))).value();
    auto other = crypto::generate_key(crypto::KeyType::ec_p256).value();
    auto sig = crypto::sign_digest(other.get(), crypto::DigestAlgorithm::sha256,
                                   prepared.to_be_signed_digest()).value();
    EXPECT_FALSE(prepared.finish(sig).has_value());
}

TEST_F(CadesTest, PrepareRefusesAWrongDigestLength) {
    EXPECT_FALSE(PreparedCades::prepare(*signer, chain, crypto::DigestAlgorithm::sha256,
                                        Bytes(20, 1)).has_value());
}

}  // namespace
}  // namespace selo::sig
