#include "store/sql_keys.hpp"

#include "store/sql_util.hpp"

namespace selo::store {

using sql::at;
using sql::blob;
using sql::secs;

namespace {

// A key whose private part has left this store (a ceremony's old root): `forget` clears what
// pointed at it, and the row stays, backend 'offline', for the certificates that name the key.
Result<void> take_key_offline(Database& db, std::string_view id, std::string_view backend,
                              std::string_view forget, std::string_view where) {
    auto n = SELO_TRY(db.execute(
        fmt::format("UPDATE keys SET {}, backend = 'offline' WHERE id = ? AND backend = '{}'", forget, backend),
        {std::string(id)}));
    if (n != 1) {
        return fail(ErrorCode::not_found, "no key '{}' in {}", id, where);
    }
    return {};
}

}  // namespace

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
    return take_key_offline(db_, id, "software", "sealed_private_key = X''", "the key store");
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
    return take_key_offline(db_, id, "pkcs11", "token_object_id = NULL", "the token's records");
}

}  // namespace selo::store
