#pragma once
// Where CA and service keys live. One interface, back ends chosen by configuration: the
// software store (keys sealed under the master key in the database) and, later, PKCS#11.

#include <memory>
#include <optional>
#include <string>

#include "core/bytes.hpp"
#include "core/error.hpp"
#include "core/rng.hpp"
#include "crypto/keys.hpp"
#include "crypto/master_key.hpp"
#include "crypto/openssl.hpp"

namespace selo::crypto {

struct StoredKeyInfo {
    std::string id;        // stable identifier, e.g. "ca/natural-persons/1"
    KeyType type;
    Bytes public_key_der;  // SubjectPublicKeyInfo
};

class KeyStore {
public:
    virtual ~KeyStore() = default;
    // Generates a new key pair under `id` inside the store; fails with conflict if `id` exists.
    virtual Result<StoredKeyInfo> generate(std::string_view id, KeyType type) = 0;
    // A handle usable for signing with OpenSSL (the private key, or a token-backed reference).
    virtual Result<EvpPkeyPtr> signing_key(std::string_view id) = 0;
    virtual Result<StoredKeyInfo> info(std::string_view id) = 0;
    // Destroys the private key `id` for good (a root key that went offline in a key ceremony).
    // Its record stays, holding only the public key, as an offline key: certificates it signed
    // still verify, but signing_key() and info() on this store find it no more.
    virtual Result<void> destroy_private_key(std::string_view id) = 0;
};

// Persistence the software key store needs: sealed blobs by id. Implemented in store/.
class SealedKeyRepository {
public:
    virtual ~SealedKeyRepository() = default;
    struct Record {
        std::string id;
        std::string type;
        Bytes public_key_der;
        Bytes sealed_private_key;
    };
    virtual Result<void> insert(const Record& record) = 0;
    virtual Result<std::optional<Record>> find(std::string_view id) = 0;
    // Wipes the sealed private key of `id` and marks the record offline; not_found if `id` is
    // not a key of this store.
    virtual Result<void> take_offline(std::string_view id) = 0;
};

// Keys sealed with AES-256-GCM under a master-key subkey, the key id bound as AAD.
class SoftwareKeyStore final : public KeyStore {
public:
    SoftwareKeyStore(SealedKeyRepository& repo, const MasterKey& master, Rng& rng);
    Result<StoredKeyInfo> generate(std::string_view id, KeyType type) override;
    Result<EvpPkeyPtr> signing_key(std::string_view id) override;
    Result<StoredKeyInfo> info(std::string_view id) override;
    Result<void> destroy_private_key(std::string_view id) override;

private:
    SealedKeyRepository& repo_;
    SecretBytes wrap_key_;
    Rng& rng_;
};

}  // namespace selo::crypto
