#pragma once
// The key store a data directory's configuration chooses for CA and responder keys ([keys]
// backend): the software store (sealed under the master key in the database) or a PKCS#11
// token. The CA code sees only crypto::KeyStore.

#include <filesystem>
#include <memory>
#include <string>

#include "core/clock.hpp"
#include "core/config.hpp"
#include "core/rng.hpp"
#include "crypto/key_store.hpp"
#include "crypto/master_key.hpp"
#include "crypto/pkcs11.hpp"
#include "store/database.hpp"
#include "store/sql_keys.hpp"

namespace selo::cli {

class KeyBackend {
public:
    // Opens the configured store; for PKCS#11 loads the module, finds the token and logs in.
    static Result<std::unique_ptr<KeyBackend>> open(const Config& config,
                                                    const std::filesystem::path& dir,
                                                    store::Database& db,
                                                    const crypto::MasterKey& master,
                                                    const Clock& clock, Rng& rng);

    [[nodiscard]] crypto::KeyStore& store() noexcept;
    // "software key store" or the token's description, for logs and the ceremony's record.
    [[nodiscard]] std::string description() const;
    [[nodiscard]] bool is_pkcs11() const noexcept { return pkcs11_ != nullptr; }

private:
    KeyBackend(store::Database& db, const crypto::MasterKey& master, const Clock& clock, Rng& rng);

    store::SqlSealedKeyRepository sealed_;
    store::SqlTokenKeyRepository token_;
    crypto::SoftwareKeyStore software_;
    std::unique_ptr<crypto::Pkcs11KeyStore> pkcs11_;
};

// The token's user PIN from [keys] pkcs11_pin_source: "file:PATH" (relative to `dir`; must be
// readable by its owner only; one line) or "env:NAME".
[[nodiscard]] Result<SecretBytes> read_pkcs11_pin(const KeysConfig& keys,
                                                  const std::filesystem::path& dir);

}  // namespace selo::cli
