#include "store/sql_keys.hpp"

#include "store/sql_util.hpp"

namespace selo::store {

using sql::at;
using sql::blob;
using sql::secs;

// ---- keys --------------------------------------------------------------------------------------

Result<void> SqlSealedKeyRepository::insert(const Record& r) {
    auto rc = db_.execute(
        "INSERT INTO keys (id, type, public_key, sealed_private_key, created_at) VALUES (?,?,?,?,?)",
        {r.id, r.type, r.public_key_der, r.sealed_private_key, secs(clock_.now())});
    if (!rc) {
        return std::unexpected(rc.error().context(fmt::format("storing key '{}'", r.id)));
    }
    return {};
}

Result<std::optional<crypto::SealedKeyRepository::Record>> SqlSealedKeyRepository::find(
    std::string_view id) {
    auto row = SELO_TRY(db_.query_one(
        "SELECT id, type, public_key, sealed_private_key FROM keys WHERE id = ? AND backend = 'software'",
        {std::string(id)}));
    if (!row) {
        return std::optional<Record>{};
    }
    return std::optional<Record>(Record{SELO_TRY(row->text(0)), SELO_TRY(row->text(1)), SELO_TRY(row->blob(2)), SELO_TRY(row->blob(3))});
}

Result<void> SqlSealedKeyRepository::take_offline(std::string_view id) {
    auto n = SELO_TRY(db_.execute(
        "UPDATE keys SET sealed_private_key = X'', backend = 'offline' WHERE id = ? AND backend = 'software'",
        {std::string(id)}));
    if (n != 1) {
        return fail(ErrorCode::not_found, "no key '{}' in the key store", id);
    }
    return {};
}

// ---- keys in a PKCS#11 token -------------------------------------------------------------------

Result<void> SqlTokenKeyRepository::insert(const Record& r) {
    auto rc = db_.execute(
        "INSERT INTO keys (id, type, public_key, sealed_private_key, created_at, backend, "
        "token_object_id) VALUES (?,?,?,?,?,'pkcs11',?)",
        {r.id, r.type, r.public_key_der, Bytes{}, secs(clock_.now()), r.object_id});
    if (!rc) {
        return std::unexpected(rc.error().context(fmt::format("storing key '{}'", r.id)));
    }
    return {};
}

Result<std::optional<crypto::TokenKeyRepository::Record>> SqlTokenKeyRepository::find(
    std::string_view id) {
    auto row = SELO_TRY(db_.query_one(
        "SELECT id, type, public_key, token_object_id FROM keys WHERE id = ? AND backend = 'pkcs11'",
        {std::string(id)}));
    if (!row) {
        return std::optional<Record>{};
    }
    return std::optional<Record>(Record{SELO_TRY(row->text(0)), SELO_TRY(row->text(1)), SELO_TRY(row->blob(2)), SELO_TRY(row->blob(3))});
}

Result<void> SqlTokenKeyRepository::take_offline(std::string_view id) {
    auto n = SELO_TRY(db_.execute(
        "UPDATE keys SET token_object_id = NULL, backend = 'offline' WHERE id = ? AND backend = 'pkcs11'",
        {std::string(id)}));
    if (n != 1) {
        return fail(ErrorCode::not_found, "no key '{}' in the token's records", id);
    }
    return {};
}

}  // namespace selo::store
