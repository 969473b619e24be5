#pragma once
// eSignCloud's records: signing credentials (a key sealed under the holder's PIN), API sessions,
// and signature activations (the server side of the SAD).

#include <optional>
#include <string>
#include <vector>

#include "core/bytes.hpp"
#include "core/clock.hpp"
#include "core/error.hpp"
#include "crypto/digest.hpp"
#include "crypto/kdf.hpp"
#include "crypto/keys.hpp"

namespace selo::cloudsign {

enum class CredentialStatus { enabled, disabled };

struct Credential {
    std::string id;
    std::string account_id;
    std::string ca_name;
    std::string certificate_serial;
    Bytes certificate_der;
    crypto::KeyType key_type = crypto::KeyType::ec_p256;
    // PKCS#8 sealed with AES-256-GCM under HKDF(master subkey || Argon2id(PIN, pin_salt)):
    // neither the master key nor the PIN alone can open it.
    Bytes sealed_private_key;
    Bytes pin_salt;
    crypto::Argon2Params pin_kdf;
    CredentialStatus status = CredentialStatus::enabled;
    TimePoint created_at;
};

class CredentialRepository {
public:
    virtual ~CredentialRepository() = default;
    virtual Result<void> insert(const Credential& credential) = 0;
    virtual Result<std::optional<Credential>> find(std::string_view id) = 0;
    virtual Result<std::vector<Credential>> list_for_account(std::string_view account_id) = 0;
    // Enables or retires a credential (a retired one can never sign again).
    virtual Result<void> set_status(std::string_view id, CredentialStatus status) = 0;
};

// What credentials/authorize granted. Stored by the digest of the SAD, so any node sharing the
// database can honour it, while the PIN-derived key inside is sealed under a key derived from
// the SAD itself: the database alone cannot use it.
struct SignatureActivation {
    Bytes id;  // SHA-256 of the SAD bytes
    std::string account_id;
    std::string credential_id;
    crypto::DigestAlgorithm hash_algorithm = crypto::DigestAlgorithm::sha256;
    std::vector<Bytes> hashes;  // exactly the authorised hashes
    TimePoint expires_at;
    Bytes sealed_pin_key;
    TimePoint created_at;
};

class ActivationRepository {
public:
    virtual ~ActivationRepository() = default;
    virtual Result<void> insert(const SignatureActivation& activation) = 0;
    virtual Result<std::optional<SignatureActivation>> find(ByteView id) = 0;
    // Marks every hash in `hashes` as used, all or none, atomically. False when any of them is
    // not authorised by the activation or was used before.
    virtual Result<bool> claim(ByteView id, const std::vector<Bytes>& hashes, TimePoint now) = 0;
    virtual Result<void> remove_expired(TimePoint now) = 0;
};

}  // namespace selo::cloudsign
