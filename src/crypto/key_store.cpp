#include "crypto/key_store.hpp"

#include "crypto/aead.hpp"

namespace selo::crypto {
namespace {
std::string aad_for(std::string_view id) { return fmt::format("selo/keystore/v1/{}", id); }
}  // namespace

SoftwareKeyStore::SoftwareKeyStore(SealedKeyRepository& repo, const MasterKey& master, Rng& rng)
    : repo_(repo), rng_(rng) {
    auto k = master.derive("selo/keystore/v1");
    if (!k) {
        std::abort();  // HKDF on valid input cannot fail unless OpenSSL is broken
    }
    wrap_key_ = std::move(*k);
}

Result<StoredKeyInfo> SoftwareKeyStore::generate(std::string_view id, KeyType type) {
    auto existing = SELO_TRY(repo_.find(id));
    if (existing) {
        return fail(ErrorCode::conflict, "key '{}' already exists", id);
    }
    auto key = SELO_TRY(generate_key(type));
    auto der = SELO_TRY(private_key_to_der(key.get()));
    auto pub = SELO_TRY(public_key_to_der(key.get()));
    std::string aad = aad_for(id);
    auto sealed = SELO_TRY(aead_seal(wrap_key_.view(), der.view(), as_bytes(aad), rng_));
    SealedKeyRepository::Record rec{std::string(id), std::string(key_type_name(type)), pub, sealed};
    SELO_TRY_VOID(repo_.insert(rec));
    return StoredKeyInfo{std::string(id), type, std::move(pub)};
}

Result<EvpPkeyPtr> SoftwareKeyStore::signing_key(std::string_view id) {
    auto rec = SELO_TRY(repo_.find(id));
    if (!rec) {
        return fail(ErrorCode::not_found, "no key '{}' in the key store", id);
    }
    std::string aad = aad_for(id);
    auto der = aead_open(wrap_key_.view(), rec->sealed_private_key, as_bytes(aad));
    if (!der) {
        return fail(ErrorCode::internal,
                    "key '{}' cannot be unsealed: wrong master key or damaged record", id);
    }
    return private_key_from_der(der->view());
}

Result<StoredKeyInfo> SoftwareKeyStore::info(std::string_view id) {
    auto rec = SELO_TRY(repo_.find(id));
    if (!rec) {
        return fail(ErrorCode::not_found, "no key '{}' in the key store", id);
    }
    auto type = SELO_TRY(key_type_from_name(rec->type));
    return StoredKeyInfo{rec->id, type, rec->public_key_der};
}

Result<void> SoftwareKeyStore::destroy_private_key(std::string_view id) {
    // The record's sealed blob is the store's copy. Copies of it in backups or in database
    // pages SQLite has freed but not yet reused remain sealed under the master key.
    return repo_.take_offline(id);
}

}  // namespace selo::crypto
