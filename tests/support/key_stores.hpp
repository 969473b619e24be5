#pragma once
// The key stores that CA tests run on. A suite parameterised on KeyBackend (softhsm.hpp) and
// instantiated with all_key_backends() runs every test once with the software store and once
// with a PKCS#11 store on a private SoftHSM2 token:
//
//   class MyCaTest : public ::testing::TestWithParam<test::KeyBackend> { ...
//       std::unique_ptr<test::TestKeyStore> ks = test::TestKeyStore::make(GetParam(), rng);
//       crypto::KeyStore& keys = ks->store(); ... };
//   INSTANTIATE_TEST_SUITE_P(KeyStores, MyCaTest, test::all_key_backends(), test::key_backend_name);
//
// Header-only: the test executable links selo::crypto already (through selo::pki).

#include <gtest/gtest.h>

#include <map>
#include <memory>
#include <string>

#include "crypto/key_store.hpp"
#include "crypto/pkcs11.hpp"
#include "pki/memory_repositories.hpp"
#include "support/softhsm.hpp"

namespace selo::test {

class MemoryTokenKeys final : public crypto::TokenKeyRepository {
public:
    Result<void> insert(const Record& r) override {
        if (records.contains(r.id)) {
            return fail(ErrorCode::conflict, "duplicate key");
        }
        records[r.id] = r;
        return {};
    }
    Result<std::optional<Record>> find(std::string_view id) override {
        auto it = records.find(std::string(id));
        return it == records.end() ? std::optional<Record>{} : std::optional<Record>(it->second);
    }
    Result<void> take_offline(std::string_view id) override {
        if (records.erase(std::string(id)) == 0) {
            return fail(ErrorCode::not_found, "no such key");
        }
        return {};
    }
    std::map<std::string, Record> records;
};

// One fresh key store. Stores of the same process share one SoftHSM token; each knows only the
// keys it generated, since keys are found by the CKA_ID its own repository recorded.
class TestKeyStore {
public:
    // Fails the running test (and returns a software store) when SoftHSM2 is missing: the test
    // command installs it, so a missing token is a broken setup, not a reason to skip.
    static std::unique_ptr<TestKeyStore> make(KeyBackend backend, Rng& rng) {
        auto ks = std::unique_ptr<TestKeyStore>(new TestKeyStore(backend, rng));
        if (backend == KeyBackend::pkcs11) {
            std::string error = ensure_token();
            if (error.empty()) {
                auto opened = crypto::Pkcs11KeyStore::open(options(), ks->token_keys_, rng);
                if (opened) {
                    ks->pkcs11_ = std::move(*opened);
                } else {
                    error = opened.error().message;
                }
            }
            if (!error.empty()) {
                ADD_FAILURE() << "PKCS#11 key store unavailable: " << error;
            }
        }
        return ks;
    }

    static crypto::Pkcs11Options options() {
        crypto::Pkcs11Options o;
        o.module = SoftHsm::instance().module();
        o.token_label = std::string(kTestTokenLabel);
        o.pin = SecretBytes(as_bytes(kTestTokenPin));
        return o;
    }

    static std::string ensure_token() { return ensure_test_token(); }

    [[nodiscard]] crypto::KeyStore& store() {
        if (pkcs11_) {
            return *pkcs11_;
        }
        return software_;
    }
    [[nodiscard]] crypto::Pkcs11KeyStore* pkcs11() noexcept { return pkcs11_.get(); }
    [[nodiscard]] KeyBackend backend() const noexcept { return backend_; }
    // Keys the store has recorded.
    [[nodiscard]] std::size_t key_count() const {
        return backend_ == KeyBackend::pkcs11 ? token_keys_.records.size() : sealed_keys_.records.size();
    }

private:
    TestKeyStore(KeyBackend backend, Rng& rng)
        : backend_(backend), software_(sealed_keys_, master_, rng) {}

    KeyBackend backend_;
    MemoryKeys sealed_keys_;
    MemoryTokenKeys token_keys_;
    crypto::MasterKey master_ = crypto::MasterKey::from_bytes(Bytes(32, 7));
    crypto::SoftwareKeyStore software_;
    std::unique_ptr<crypto::Pkcs11KeyStore> pkcs11_;
};

}  // namespace selo::test
