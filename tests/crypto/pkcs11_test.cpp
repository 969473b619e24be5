// The PKCS#11 key store against SoftHSM2, checked with independent tools: p11tool (GnuTLS) reads
// the token's key attributes, and the openssl CLI verifies what the token signed (certificates,
// CRLs, OCSP responses, CMS and RFC 3161 time-stamps).

#include <gtest/gtest.h>

#include <openssl/cms.h>
#include <openssl/pem.h>
#include <openssl/ocsp.h>
#include <openssl/rsa.h>
#include <openssl/ts.h>

#include <thread>

#include "crypto/digest.hpp"
#include "crypto/keys.hpp"
#include "crypto/pkcs11.hpp"
#include "support/key_stores.hpp"
#include "support/test_support.hpp"

namespace selo::crypto {
namespace {

class Pkcs11Test : public ::testing::Test {
protected:
    void SetUp() override {
        std::string error = test::TestKeyStore::ensure_token();
        ASSERT_EQ(error, "") << "the test command installs softhsm2";
        auto opened = Pkcs11KeyStore::open(test::TestKeyStore::options(), repo, rng);
        ASSERT_TRUE(opened.has_value()) << opened.error().message;
        store = std::move(*opened);
    }

    // A fresh id per test: the token is shared by the whole process.
    std::string id(std::string_view name) {
        return fmt::format("test/{}/{}", name, hex_encode(rng.bytes(4)));
    }

    SystemRng rng;
    test::MemoryTokenKeys repo;
    std::unique_ptr<Pkcs11KeyStore> store;
};

std::string pem_of(X509* x) {
    BioPtr bio(::BIO_new(::BIO_s_mem()));
    ::PEM_write_bio_X509(bio.get(), x);
    char* data = nullptr;
    long n = ::BIO_get_mem_data(bio.get(), &data);
    return std::string(data, static_cast<std::size_t>(n));
}

// A certificate for `subject_key`, signed by `issuer_key` (self-signed when issuer is null).
X509Ptr make_cert(const std::string& cn, EVP_PKEY* subject_key, EVP_PKEY* issuer_key,
                  X509* issuer, const std::vector<std::pair<int, std::string>>& extensions) {
    X509Ptr x(::X509_new());
    ::X509_set_version(x.get(), X509_VERSION_3);
    ::ASN1_INTEGER_set(::X509_get_serialNumber(x.get()), 0x1234 + static_cast<long>(cn.size()));
    X509_NAME* name = ::X509_get_subject_name(x.get());
    ::X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8,
                                 reinterpret_cast<const unsigned char*>(cn.c_str()), -1, -1, 0);
    ::X509_set_issuer_name(x.get(), issuer != nullptr ? ::X509_get_subject_name(issuer) : name);
    ::X509_gmtime_adj(::X509_getm_notBefore(x.get()), -3600);
    ::X509_gmtime_adj(::X509_getm_notAfter(x.get()), 86400);
    ::X509_set_pubkey(x.get(), subject_key);
    X509V3_CTX ctx;
    ::X509V3_set_ctx(&ctx, issuer != nullptr ? issuer : x.get(), x.get(), nullptr, nullptr, 0);
    for (const auto& [nid, value] : extensions) {
        X509ExtensionPtr ext(::X509V3_EXT_conf_nid(nullptr, &ctx, nid, value.c_str()));
        EXPECT_TRUE(ext) << value;
        ::X509_add_ext(x.get(), ext.get(), -1);
    }
    EXPECT_GT(::X509_sign(x.get(), issuer_key, ::EVP_sha256()), 0) << drain_errors();
    return x;
}

const std::vector<std::pair<int, std::string>> kCaExtensions = {
    {NID_basic_constraints, "critical,CA:TRUE"},
    {NID_key_usage, "critical,keyCertSign,cRLSign,digitalSignature"},
    {NID_subject_key_identifier, "hash"},
};

TEST_F(Pkcs11Test, KeysAreGeneratedInsideTheTokenAndNeverLeaveIt) {
    for (KeyType type : {KeyType::ec_p256, KeyType::ec_p384, KeyType::rsa_2048}) {
        SCOPED_TRACE(std::string(key_type_name(type)));
        const std::string key_id = id("gen");
        auto info = store->generate(key_id, type);
        ASSERT_TRUE(info.has_value()) << info.error().message;
        EXPECT_EQ(store->generate(key_id, type).error().code, ErrorCode::conflict);

        auto p = store->protection(key_id);
        ASSERT_TRUE(p.has_value()) << p.error().message;
        EXPECT_TRUE(p->token);
        EXPECT_TRUE(p->private_object);
        EXPECT_TRUE(p->local) << "generated inside the token";
        EXPECT_TRUE(p->sensitive);
        EXPECT_FALSE(p->extractable);
        EXPECT_TRUE(p->always_sensitive);
        EXPECT_TRUE(p->never_extractable);

        auto key = store->signing_key(key_id);
        ASSERT_TRUE(key.has_value()) << key.error().message;
        // OpenSSL holds only the public half: there is nothing to serialise.
        EXPECT_FALSE(private_key_to_der(key->get()).has_value());
        EXPECT_EQ(public_key_to_der(key->get()).value(), info->public_key_der);

        Bytes digest = sha256(as_bytes("signed inside the token"));
        auto sig = sign_digest(key->get(), DigestAlgorithm::sha256, digest);
        ASSERT_TRUE(sig.has_value()) << sig.error().message;
        auto pub = public_key_from_der(info->public_key_der).value();
        EXPECT_TRUE(verify_digest(pub.get(), DigestAlgorithm::sha256, digest, *sig).value());
        digest[3] ^= 0x40;
        EXPECT_FALSE(verify_digest(pub.get(), DigestAlgorithm::sha256, digest, *sig).value());
    }
}

// p11tool (GnuTLS), not our own code, reads the attributes the token keeps for the keys.
TEST_F(Pkcs11Test, P11toolSeesSensitiveNonExtractablePrivateKeys) {
    if (!test::have_tool("p11tool")) {
        GTEST_FAIL() << "p11tool (gnutls-bin) is not installed";
    }
    const std::string key_id = id("p11tool");
    ASSERT_TRUE(store->generate(key_id, KeyType::ec_p256).has_value());
    auto r = test::run("p11tool --provider " +
                       test::shell_quote(test::SoftHsm::instance().module().string()) +
                       " --login --set-pin=" + std::string(test::kTestTokenPin) +
                       " --list-privkeys " +
                       test::shell_quote("pkcs11:token=" + std::string(test::kTestTokenLabel) +
                                         ";object=" + key_id));
    ASSERT_EQ(r.exit_code, 0) << r.output;
    EXPECT_NE(r.output.find("Label: " + key_id), std::string::npos) << r.output;
    EXPECT_NE(r.output.find("CKA_SENSITIVE"), std::string::npos) << r.output;
    EXPECT_NE(r.output.find("CKA_NEVER_EXTRACTABLE"), std::string::npos) << r.output;
    EXPECT_NE(r.output.find("CKA_PRIVATE"), std::string::npos) << r.output;
    EXPECT_EQ(r.output.find("CKA_EXTRACTABLE"), std::string::npos) << r.output;

    // Without logging in, the private key is not even visible.
    auto anonymous = test::run("p11tool --provider " +
                               test::shell_quote(test::SoftHsm::instance().module().string()) +
                               " --list-privkeys " +
                               test::shell_quote("pkcs11:token=" + std::string(test::kTestTokenLabel) +
                                                 ";object=" + key_id));
    EXPECT_EQ(anonymous.output.find("Label: " + key_id), std::string::npos) << anonymous.output;
}

// A destroyed private key is gone from the token (p11tool, logged in, no longer lists it) while
// its public key stays; the store then refuses to sign with it, and destroying it twice fails.
TEST_F(Pkcs11Test, DestroyedPrivateKeysLeaveTheToken) {
    if (!test::have_tool("p11tool")) {
        GTEST_FAIL() << "p11tool (gnutls-bin) is not installed";
    }
    const std::string key_id = id("destroy");
    ASSERT_TRUE(store->generate(key_id, KeyType::ec_p256).has_value());
    ASSERT_TRUE(store->signing_key(key_id).has_value());  // loaded, so the cache must forget it too
    auto list = [&](std::string_view what) {
        return test::run("p11tool --provider " +
                         test::shell_quote(test::SoftHsm::instance().module().string()) +
                         " --login --set-pin=" + std::string(test::kTestTokenPin) + " " +
                         std::string(what) + " " +
                         test::shell_quote("pkcs11:token=" + std::string(test::kTestTokenLabel) +
                                           ";object=" + key_id));
    };
    auto before = list("--list-privkeys");
    ASSERT_NE(before.output.find("Label: " + key_id), std::string::npos) << before.output;

    auto destroyed = store->destroy_private_key(key_id);
    ASSERT_TRUE(destroyed.has_value()) << destroyed.error().message;
    auto after = list("--list-privkeys");
    EXPECT_EQ(after.output.find("Label: " + key_id), std::string::npos) << after.output;
    auto pub = list("--list-all");
    EXPECT_NE(pub.output.find("Label: " + key_id), std::string::npos) << "the public key stays: " << pub.output;

    auto sign = store->signing_key(key_id);
    ASSERT_FALSE(sign.has_value());
    EXPECT_EQ(sign.error().code, ErrorCode::not_found) << sign.error().message;
    EXPECT_EQ(store->destroy_private_key(key_id).error().code, ErrorCode::not_found);
}

TEST_F(Pkcs11Test, ClearErrorsForBadConfiguration) {
    auto options = test::TestKeyStore::options();
    options.pin = SecretBytes(as_bytes("00000000"));
    auto wrong_pin = Pkcs11KeyStore::open(options, repo, rng);
    ASSERT_FALSE(wrong_pin.has_value());
    EXPECT_EQ(wrong_pin.error().code, ErrorCode::unauthorized);
    EXPECT_NE(wrong_pin.error().message.find("PIN is wrong"), std::string::npos)
        << wrong_pin.error().message;

    options = test::TestKeyStore::options();
    options.token_label = "no-such-token";
    auto no_token = Pkcs11KeyStore::open(options, repo, rng);
    ASSERT_FALSE(no_token.has_value());
    EXPECT_EQ(no_token.error().code, ErrorCode::not_found);
    EXPECT_NE(no_token.error().message.find("'selo-tests'"), std::string::npos)
        << "names the tokens present: " << no_token.error().message;

    options = test::TestKeyStore::options();
    options.module = "/nonexistent/libpkcs11.so";
    auto no_module = Pkcs11KeyStore::open(options, repo, rng);
    ASSERT_FALSE(no_module.has_value());
    EXPECT_EQ(no_module.error().code, ErrorCode::unavailable);
    EXPECT_NE(no_module.error().message.find("/nonexistent/libpkcs11.so"), std::string::npos);

    EXPECT_EQ(store->signing_key("never/generated").error().code, ErrorCode::not_found);

    // A record whose public key is not the token's is refused rather than used.
    const std::string key_id = id("mismatch");
    ASSERT_TRUE(store->generate(key_id, KeyType::ec_p256).has_value());
    auto other = generate_key(KeyType::ec_p256).value();
    repo.records.at(key_id).public_key_der = public_key_to_der(other.get()).value();
    auto mismatch = store->signing_key(key_id);
    ASSERT_FALSE(mismatch.has_value());
    EXPECT_EQ(mismatch.error().code, ErrorCode::conflict);

    // Another store over the same token, without the record, does not see the key at all.
    test::MemoryTokenKeys other_repo;
    auto other_store = Pkcs11KeyStore::open(test::TestKeyStore::options(), other_repo, rng).value();
    EXPECT_EQ(other_store->signing_key(key_id).error().code, ErrorCode::not_found);
}

TEST_F(Pkcs11Test, RsaKeysSignPkcs1AndPss) {
    const std::string key_id = id("rsa");
    auto info = store->generate(key_id, KeyType::rsa_2048).value();
    auto key = store->signing_key(key_id).value();
    auto pub = public_key_from_der(info.public_key_der).value();
    Bytes digest = sha256(as_bytes("rsa through the token"));
    for (int padding : {RSA_PKCS1_PADDING, RSA_PKCS1_PSS_PADDING}) {
        SCOPED_TRACE(padding);
        EvpPkeyCtxPtr ctx(::EVP_PKEY_CTX_new(key.get(), nullptr));
        ASSERT_EQ(::EVP_PKEY_sign_init(ctx.get()), 1);
        ASSERT_EQ(::EVP_PKEY_CTX_set_rsa_padding(ctx.get(), padding), 1);
        ASSERT_EQ(::EVP_PKEY_CTX_set_signature_md(ctx.get(), ::EVP_sha256()), 1);
        std::size_t len = 0;
        ASSERT_EQ(::EVP_PKEY_sign(ctx.get(), nullptr, &len, digest.data(), digest.size()), 1);
        Bytes sig(len);
        ASSERT_EQ(::EVP_PKEY_sign(ctx.get(), sig.data(), &len, digest.data(), digest.size()), 1)
            << drain_errors();
        sig.resize(len);
        EvpPkeyCtxPtr vctx(::EVP_PKEY_CTX_new(pub.get(), nullptr));
        ASSERT_EQ(::EVP_PKEY_verify_init(vctx.get()), 1);
        ASSERT_EQ(::EVP_PKEY_CTX_set_rsa_padding(vctx.get(), padding), 1);
        ASSERT_EQ(::EVP_PKEY_CTX_set_signature_md(vctx.get(), ::EVP_sha256()), 1);
        EXPECT_EQ(::EVP_PKEY_verify(vctx.get(), sig.data(), sig.size(), digest.data(), digest.size()), 1);
    }
}

// Everything a CA signs goes through the same EVP_PKEY: certificates, CRLs, OCSP responses,
// CMS signatures and RFC 3161 time-stamps. The openssl CLI verifies each.
TEST_F(Pkcs11Test, TokenKeysSignCertificatesCrlsOcspCmsAndTimestamps) {
    if (!test::have_tool("openssl")) {
        GTEST_FAIL() << "openssl is not installed";
    }
    test::TempDir dir;
    const std::string ca_id = id("ca");
    const std::string tsa_id = id("tsa");
    ASSERT_TRUE(store->generate(ca_id, KeyType::ec_p384).has_value());
    ASSERT_TRUE(store->generate(tsa_id, KeyType::ec_p256).has_value());
    auto ca_key = store->signing_key(ca_id).value();
    auto tsa_key = store->signing_key(tsa_id).value();
    auto ca = make_cert("Token Test CA", ca_key.get(), ca_key.get(), nullptr, kCaExtensions);
    auto tsa = make_cert("Token Test TSA", tsa_key.get(), ca_key.get(), ca.get(),
                         {{NID_basic_constraints, "critical,CA:FALSE"},
                          {NID_authority_key_identifier, "keyid:always"},
                          {NID_key_usage, "critical,digitalSignature"},
                          {NID_ext_key_usage, "critical,timeStamping"}});
    test::write_file(dir / "ca.pem", pem_of(ca.get()));
    test::write_file(dir / "tsa.pem", pem_of(tsa.get()));
    auto verify = test::run("openssl verify -x509_strict -CAfile " + (dir / "ca.pem").string() +
                            " " + (dir / "tsa.pem").string());
    EXPECT_EQ(verify.exit_code, 0) << verify.output;

    // CRL (RFC 5280 §5), one revoked serial.
    std::unique_ptr<X509_CRL, Free<&::X509_CRL_free>> crl(::X509_CRL_new());
    ::X509_CRL_set_version(crl.get(), X509_CRL_VERSION_2);
    ::X509_CRL_set_issuer_name(crl.get(), ::X509_get_subject_name(ca.get()));
    Asn1TimePtr now(::ASN1_TIME_set(nullptr, std::time(nullptr)));
    Asn1TimePtr next(::ASN1_TIME_set(nullptr, std::time(nullptr) + 3600));
    ::X509_CRL_set1_lastUpdate(crl.get(), now.get());
    ::X509_CRL_set1_nextUpdate(crl.get(), next.get());
    X509_REVOKED* revoked = ::X509_REVOKED_new();
    ::X509_REVOKED_set_serialNumber(revoked, ::X509_get_serialNumber(tsa.get()));
    ::X509_REVOKED_set_revocationDate(revoked, now.get());
    ::X509_CRL_add0_revoked(crl.get(), revoked);
    ASSERT_GT(::X509_CRL_sign(crl.get(), ca_key.get(), ::EVP_sha384()), 0) << drain_errors();
    {
        BioPtr out(::BIO_new_file((dir / "crl.pem").c_str(), "w"));
        ::PEM_write_bio_X509_CRL(out.get(), crl.get());
    }
    auto crl_check = test::run("openssl crl -noout -verify -CAfile " + (dir / "ca.pem").string() +
                               " -in " + (dir / "crl.pem").string());
    EXPECT_EQ(crl_check.exit_code, 0) << crl_check.output;
    EXPECT_NE(crl_check.output.find("verify OK"), std::string::npos) << crl_check.output;

    // OCSP response (RFC 6960) signed by the CA itself for a request openssl made.
    auto req = test::run("openssl ocsp -issuer " + (dir / "ca.pem").string() + " -cert " +
                         (dir / "tsa.pem").string() + " -no_nonce -reqout " +
                         (dir / "req.der").string());
    ASSERT_EQ(req.exit_code, 0) << req.output;
    Bytes req_der = test::read_file(dir / "req.der");
    const unsigned char* rp = req_der.data();
    std::unique_ptr<OCSP_REQUEST, Free<&::OCSP_REQUEST_free>> ocsp_req(
        ::d2i_OCSP_REQUEST(nullptr, &rp, static_cast<long>(req_der.size())));
    ASSERT_TRUE(ocsp_req);
    std::unique_ptr<OCSP_BASICRESP, Free<&::OCSP_BASICRESP_free>> basic(::OCSP_BASICRESP_new());
    OCSP_CERTID* cid = ::OCSP_onereq_get0_id(::OCSP_request_onereq_get0(ocsp_req.get(), 0));
    ASSERT_NE(::OCSP_basic_add1_status(basic.get(), cid, V_OCSP_CERTSTATUS_GOOD, 0, nullptr,
                                       now.get(), next.get()),
              nullptr);
    ASSERT_EQ(::OCSP_basic_sign(basic.get(), ca.get(), ca_key.get(), ::EVP_sha384(), nullptr, 0), 1)
        << drain_errors();
    std::unique_ptr<OCSP_RESPONSE, Free<&::OCSP_RESPONSE_free>> resp(
        ::OCSP_response_create(OCSP_RESPONSE_STATUS_SUCCESSFUL, basic.get()));
    {
        BioPtr out(::BIO_new_file((dir / "resp.der").c_str(), "wb"));
        i2d_OCSP_RESPONSE_bio(out.get(), resp.get());  // a macro
    }
    auto ocsp_check = test::run("openssl ocsp -respin " + (dir / "resp.der").string() + " -reqin " +
                                (dir / "req.der").string() + " -CAfile " + (dir / "ca.pem").string() +
                                " -issuer " + (dir / "ca.pem").string() + " -cert " +
                                (dir / "tsa.pem").string());
    EXPECT_EQ(ocsp_check.exit_code, 0) << ocsp_check.output;
    EXPECT_NE(ocsp_check.output.find("Response verify OK"), std::string::npos) << ocsp_check.output;
    EXPECT_NE(ocsp_check.output.find(": good"), std::string::npos) << ocsp_check.output;

    // CMS SignedData.
    test::write_file(dir / "content.txt", "content signed by a token key");
    {
        BioPtr in(::BIO_new_file((dir / "content.txt").c_str(), "rb"));
        CmsContentInfoPtr cms(::CMS_sign(tsa.get(), tsa_key.get(), nullptr, in.get(), CMS_BINARY));
        ASSERT_TRUE(cms) << drain_errors();
        BioPtr out(::BIO_new_file((dir / "content.p7s").c_str(), "wb"));
        ::i2d_CMS_bio(out.get(), cms.get());
    }
    auto cms_check = test::run("openssl cms -verify -binary -inform DER -in " +
                               (dir / "content.p7s").string() + " -content " +
                               (dir / "content.txt").string() + " -CAfile " +
                               (dir / "ca.pem").string() + " -purpose any -out /dev/null");
    EXPECT_EQ(cms_check.exit_code, 0) << cms_check.output;
    EXPECT_NE(cms_check.output.find("Verification successful"), std::string::npos) << cms_check.output;

    // RFC 3161 time-stamp for a query openssl made.
    auto query = test::run("openssl ts -query -data " + (dir / "content.txt").string() +
                           " -sha256 -cert -out " + (dir / "query.tsq").string());
    ASSERT_EQ(query.exit_code, 0) << query.output;
    {
        std::unique_ptr<TS_RESP_CTX, Free<&::TS_RESP_CTX_free>> ts(::TS_RESP_CTX_new());
        ASSERT_EQ(::TS_RESP_CTX_set_signer_cert(ts.get(), tsa.get()), 1);
        ASSERT_EQ(::TS_RESP_CTX_set_signer_key(ts.get(), tsa_key.get()), 1);
        ASSERT_EQ(::TS_RESP_CTX_set_signer_digest(ts.get(), ::EVP_sha256()), 1);
        Asn1ObjectPtr policy(::OBJ_txt2obj("1.3.6.1.4.1.99999.1", 1));
        ASSERT_EQ(::TS_RESP_CTX_set_def_policy(ts.get(), policy.get()), 1);
        ASSERT_EQ(::TS_RESP_CTX_add_md(ts.get(), ::EVP_sha256()), 1);
        BioPtr in(::BIO_new_file((dir / "query.tsq").c_str(), "rb"));
        std::unique_ptr<TS_RESP, Free<&::TS_RESP_free>> tsr(::TS_RESP_create_response(ts.get(), in.get()));
        ASSERT_TRUE(tsr) << drain_errors();
        EXPECT_EQ(::ASN1_INTEGER_get(::TS_STATUS_INFO_get0_status(::TS_RESP_get_status_info(tsr.get()))),
                  TS_STATUS_GRANTED)
            << drain_errors();
        BioPtr out(::BIO_new_file((dir / "reply.tsr").c_str(), "wb"));
        ::i2d_TS_RESP_bio(out.get(), tsr.get());
    }
    auto ts_check = test::run("openssl ts -verify -queryfile " + (dir / "query.tsq").string() +
                              " -in " + (dir / "reply.tsr").string() + " -CAfile " +
                              (dir / "ca.pem").string());
    EXPECT_EQ(ts_check.exit_code, 0) << ts_check.output;
    EXPECT_NE(ts_check.output.find("Verification: OK"), std::string::npos) << ts_check.output;
}

TEST_F(Pkcs11Test, SignsFromManyThreadsAtOnce) {
    const std::string key_id = id("threads");
    auto info = store->generate(key_id, KeyType::ec_p256).value();
    auto pub = public_key_from_der(info.public_key_der).value();
    std::atomic<int> good{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; ++t) {
        threads.emplace_back([&, t] {
            auto key = store->signing_key(key_id);
            if (!key) {
                return;
            }
            for (int i = 0; i < 25; ++i) {
                Bytes digest = sha256(as_bytes(fmt::format("{}-{}", t, i)));
                auto sig = sign_digest(key->get(), DigestAlgorithm::sha256, digest);
                if (sig && verify_digest(pub.get(), DigestAlgorithm::sha256, digest, *sig).value_or(false)) {
                    ++good;
                }
            }
        });
    }
    for (auto& t : threads) {
        t.join();
    }
    EXPECT_EQ(good.load(), 100);
}

}  // namespace
}  // namespace selo::crypto
