#pragma once
// SQL repository: Sealed key store records (the software key store).

#include "core/clock.hpp"
#include "crypto/key_store.hpp"
#include "crypto/pkcs11.hpp"
#include "store/database.hpp"

namespace selo::store {

class SqlSealedKeyRepository final : public crypto::SealedKeyRepository {
public:
    SqlSealedKeyRepository(Database& db, const Clock& clock) : db_(db), clock_(clock) {}
    Result<void> insert(const Record& record) override;
    Result<std::optional<Record>> find(std::string_view id) override;
    Result<void> take_offline(std::string_view id) override;

private:
    Database& db_;
    const Clock& clock_;
};

// Keys in a PKCS#11 token: the same table, backend 'pkcs11', the token object's CKA_ID instead
// of a sealed private key.
class SqlTokenKeyRepository final : public crypto::TokenKeyRepository {
public:
    SqlTokenKeyRepository(Database& db, const Clock& clock) : db_(db), clock_(clock) {}
    Result<void> insert(const Record& record) override;
    Result<std::optional<Record>> find(std::string_view id) override;
    Result<void> take_offline(std::string_view id) override;

private:
    Database& db_;
    const Clock& clock_;
};

}  // namespace selo::store
