#include <gtest/gtest.h>

#include <sys/stat.h>

#include <algorithm>
#include <map>

#include "crypto/aead.hpp"
#include "crypto/kdf.hpp"
#include "crypto/key_store.hpp"
#include "crypto/keys.hpp"
#include "crypto/master_key.hpp"
#include "support/test_support.hpp"

namespace selo::crypto {
namespace {

class MemoryKeyRepository final : public SealedKeyRepository {
public:
    Result<void> insert(const Record& r) override {
        if (records.contains(r.id)) {
            return fail(ErrorCode::conflict, "duplicate");
        }
        records[r.id] = r;
        return {};
    }
    Result<std::optional<Record>> find(std::string_view id) override {
        auto it = records.find(std::string(id));
        if (it == records.end()) {
            return std::optional<Record>{};
        }
        return std::optional<Record>(it->second);
    }
    Result<void> take_offline(std::string_view id) override {
        if (records.erase(std::string(id)) == 0) {
            return fail(ErrorCode::not_found, "no such key");
        }
        return {};
    }
    std::map<std::string, Record> records;
};

bool contains(ByteView haystack, ByteView needle) {
    return std::search(haystack.begin(), haystack.end(), needle.begin(), needle.end()) !=
           haystack.end();
}

TEST(Aead, RoundTripsAndRefusesTampering) {
    SystemRng rng;
    Bytes key = rng.bytes(32);
    auto sealed = aead_seal(key, as_bytes("secret"), as_bytes("aad"), rng);
    ASSERT_TRUE(sealed.has_value());
    auto opened = aead_open(key, *sealed, as_bytes("aad"));
    ASSERT_TRUE(opened.has_value());
    EXPECT_EQ(as_chars(opened->view()), "secret");

    EXPECT_EQ(aead_open(key, *sealed, as_bytes("other")).error().code, ErrorCode::unauthorized);
    Bytes other = rng.bytes(32);
    EXPECT_EQ(aead_open(other, *sealed, as_bytes("aad")).error().code, ErrorCode::unauthorized);
    for (std::size_t i = 1; i < sealed->size(); ++i) {
        Bytes t = *sealed;
        t[i] ^= 0x01;
        EXPECT_FALSE(aead_open(key, t, as_bytes("aad")).has_value()) << "byte " << i;
    }
    EXPECT_FALSE(aead_open(key, Bytes(sealed->begin(), sealed->begin() + 10), as_bytes("aad")));
}

TEST(Hkdf, MatchesRfc5869TestCase1) {
    auto ikm = hex_decode("0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b").value();
    auto salt = hex_decode("000102030405060708090a0b0c").value();
    auto info = hex_decode("f0f1f2f3f4f5f6f7f8f9").value();
    auto okm = hkdf_sha256(ikm, salt, info, 42);
    ASSERT_TRUE(okm.has_value());
    EXPECT_EQ(hex_encode(okm->view()),
              "3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf34007208d5b887185865");
}

TEST(Argon2, VerifiesPasswordsAndRefusesWrongOnes) {
    SystemRng rng;
    Argon2Params p{.memory_kib = 1024, .iterations = 1, .parallelism = 1};
    auto hash = argon2id_hash_password("correct horse", p, rng);
    ASSERT_TRUE(hash.has_value());
    EXPECT_TRUE(hash->starts_with("$argon2id$v=19$"));
    EXPECT_TRUE(argon2id_verify_password("correct horse", *hash).value());
    EXPECT_FALSE(argon2id_verify_password("correct horse!", *hash).value());
    EXPECT_FALSE(argon2id_verify_password("x", "not a verifier").has_value());
}

TEST(MasterKey, IsCreatedOwnerOnlyAndRefusedWhenReadableByOthers) {
    test::TempDir dir;
    SystemRng rng;
    auto file = dir / "master.key";
    auto created = MasterKey::create(file, rng);
    ASSERT_TRUE(created.has_value());
    struct stat st {};
    ASSERT_EQ(::stat(file.c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 0777, 0600u);
    EXPECT_FALSE(MasterKey::create(file, rng).has_value()) << "must never overwrite";
    auto loaded = MasterKey::load(file);
    ASSERT_TRUE(loaded.has_value());
    EXPECT_TRUE(constant_time_equal(loaded->material(), created->material()));
    ::chmod(file.c_str(), 0644);
    auto refused = MasterKey::load(file);
    ASSERT_FALSE(refused.has_value());
    EXPECT_NE(refused.error().message.find("chmod 600"), std::string::npos);
}

TEST(SoftwareKeyStore, KeepsPrivateKeysSealedAtRest) {
    SystemRng rng;
    MemoryKeyRepository repo;
    auto master = MasterKey::from_bytes(rng.bytes(32));
    SoftwareKeyStore store(repo, master, rng);
    auto info = store.generate("ca/test/1", KeyType::ec_p256);
    ASSERT_TRUE(info.has_value()) << info.error().message;
    EXPECT_EQ(store.generate("ca/test/1", KeyType::ec_p256).error().code, ErrorCode::conflict);

    auto key = store.signing_key("ca/test/1");
    ASSERT_TRUE(key.has_value());
    auto pkcs8 = private_key_to_der(key->get());
    ASSERT_TRUE(pkcs8.has_value());
    const auto& rec = repo.records.at("ca/test/1");
    // The stored blob must not contain the private key, nor any long run of it.
    EXPECT_FALSE(contains(rec.sealed_private_key, pkcs8->view()));
    EXPECT_FALSE(contains(rec.sealed_private_key,
                          ByteView(pkcs8->view().data() + pkcs8->size() - 48, 16)));

    // Another master key cannot unseal it, and a record moved to another id does not open.
    auto other_master = MasterKey::from_bytes(rng.bytes(32));
    SoftwareKeyStore other(repo, other_master, rng);
    EXPECT_FALSE(other.signing_key("ca/test/1").has_value());
    repo.records["ca/moved/1"] = rec;
    repo.records["ca/moved/1"].id = "ca/moved/1";
    EXPECT_FALSE(store.signing_key("ca/moved/1").has_value());

    // The unsealed key signs, and the signature verifies against the stored public key.
    Bytes digest = sha256(as_bytes("to be signed"));
    auto sig = sign_digest(key->get(), DigestAlgorithm::sha256, digest);
    ASSERT_TRUE(sig.has_value());
    auto pub = public_key_from_der(info->public_key_der);
    ASSERT_TRUE(pub.has_value());
    EXPECT_TRUE(verify_digest(pub->get(), DigestAlgorithm::sha256, digest, *sig).value());
    digest[0] ^= 1;
    EXPECT_FALSE(verify_digest(pub->get(), DigestAlgorithm::sha256, digest, *sig).value());
}

// Independent check: openssl accepts our ECDSA signature over a digest of a file.
TEST(SignDigest, EcdsaSignatureVerifiesWithOpenssl) {
    if (!test::have_tool("openssl")) {
        GTEST_SKIP() << "openssl not installed";
    }
    test::TempDir dir;
    auto key = generate_key(KeyType::ec_p256).value();
    auto pub = public_key_to_der(key.get()).value();
    test::write_file(dir / "pub.der", pub);
    test::write_file(dir / "data", "selo signs this");
    Bytes digest = sha256(as_bytes("selo signs this"));
    auto sig = sign_digest(key.get(), DigestAlgorithm::sha256, digest).value();
    test::write_file(dir / "sig", sig);
    auto r = test::run("openssl dgst -sha256 -verify " + (dir / "pub.der").string() +
                       " -keyform DER -signature " + (dir / "sig").string() + " " +
                       (dir / "data").string());
    EXPECT_EQ(r.exit_code, 0) << r.output;
    EXPECT_NE(r.output.find("Verified OK"), std::string::npos);
}

}  // namespace
}  // namespace selo::crypto
