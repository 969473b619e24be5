#pragma once
// The PKCS#11 key store: CA and responder keys generated inside a token (an HSM; SoftHSM2 in
// tests), marked sensitive and never extractable, and handed to OpenSSL as ordinary EVP_PKEYs
// whose private-key operations the token performs. X509_sign, X509_CRL_sign, OCSP_basic_sign,
// CMS and RFC 3161 signing therefore take them unchanged.
//
// Why PKCS#11 directly rather than the libp11 engine: keys must be *generated* in the token with
// chosen attributes, which the engine cannot do, so a PKCS#11 layer is needed anyway; a second
// one (libp11's) in the same process would share the module's login state behind our back. The
// bridge to OpenSSL is the same one libp11 uses internally (an EC_KEY_METHOD / RSA_METHOD whose
// sign operation calls the token), confined to pkcs11.cpp. OpenSSL 3 deprecates those methods in
// favour of providers; when Debian ships pkcs11-provider, only that file changes.

#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "core/bytes.hpp"
#include "core/error.hpp"
#include "core/rng.hpp"
#include "crypto/key_store.hpp"

namespace selo::crypto {

struct Pkcs11Options {
    std::filesystem::path module;  // the token's PKCS#11 library, e.g. libsofthsm2.so
    std::string token_label;       // CKA_LABEL of the token (its CK_TOKEN_INFO label)
    SecretBytes pin;               // the user PIN
};

// How the token says it protects a private key (PKCS#11 v2.40 §4.9, its key attributes).
struct KeyProtection {
    bool token = false;              // CKA_TOKEN: a persistent object
    bool private_object = false;     // CKA_PRIVATE: visible only after login
    bool local = false;              // CKA_LOCAL: generated inside the token
    bool sensitive = false;          // CKA_SENSITIVE: the value never leaves in clear
    bool extractable = true;         // CKA_EXTRACTABLE: may be wrapped out
    bool always_sensitive = false;   // CKA_ALWAYS_SENSITIVE
    bool never_extractable = false;  // CKA_NEVER_EXTRACTABLE
};

// Which token object a key id names. The database keeps it, so that two data directories
// sharing a token never confuse their keys: objects are found by a random CKA_ID, not a label.
class TokenKeyRepository {
public:
    virtual ~TokenKeyRepository() = default;
    struct Record {
        std::string id;
        std::string type;
        Bytes public_key_der;  // SubjectPublicKeyInfo, checked against the token's at use
        Bytes object_id;       // CKA_ID of the key pair
    };
    virtual Result<void> insert(const Record& record) = 0;
    virtual Result<std::optional<Record>> find(std::string_view id) = 0;
    // Marks `id` offline (no token object any more); not_found if it is not a token key.
    virtual Result<void> take_offline(std::string_view id) = 0;
};

class Pkcs11Token;

class Pkcs11KeyStore final : public KeyStore {
public:
    // Loads the module (once per process), finds the token by label and logs in. Errors name the
    // module, the labels of the tokens present, or the PIN problem.
    static Result<std::unique_ptr<Pkcs11KeyStore>> open(const Pkcs11Options& options,
                                                        TokenKeyRepository& repo, Rng& rng);
    ~Pkcs11KeyStore() override;

    // Generates the key pair inside the token: private key CKA_SENSITIVE, not CKA_EXTRACTABLE,
    // CKA_PRIVATE, sign-only. Refuses a token that does not honour those attributes.
    Result<StoredKeyInfo> generate(std::string_view id, KeyType type) override;
    // An EVP_PKEY holding the public key, whose signing the token performs.
    Result<EvpPkeyPtr> signing_key(std::string_view id) override;
    Result<StoredKeyInfo> info(std::string_view id) override;
    // C_DestroyObject on the private key; the public key object and the record (offline) stay.
    Result<void> destroy_private_key(std::string_view id) override;

    // The private key's protection attributes as the token reports them.
    Result<KeyProtection> protection(std::string_view id);
    // "token 'selo' (SoftHSM project SoftHSM v2) via /usr/lib/softhsm/libsofthsm2.so", for logs.
    [[nodiscard]] const std::string& description() const noexcept;

private:
    Pkcs11KeyStore(std::shared_ptr<Pkcs11Token> token, TokenKeyRepository& repo, Rng& rng);
    Result<TokenKeyRepository::Record> record(std::string_view id);

    std::shared_ptr<Pkcs11Token> token_;
    TokenKeyRepository& repo_;
    Rng& rng_;
    // Keys already checked against the token, handed out again (EVP_PKEY_up_ref) without a
    // round trip: signing is thread-safe, the token's session pool serialises nothing else.
    std::mutex mutex_;
    std::map<std::string, EvpPkeyPtr, std::less<>> loaded_;
};

}  // namespace selo::crypto
