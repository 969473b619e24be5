#include "store/sql_cloudsign.hpp"

#include "store/sql_util.hpp"

namespace selo::store {

using sql::at;
using sql::blob;
using sql::secs;

// ---- credentials -------------------------------------------------------------------------------

Result<void> SqlCredentialRepository::insert(const cloudsign::Credential& c) {
    SELO_TRY(db_.execute(
        "INSERT INTO credentials (id, account_id, ca_name, certificate_serial, certificate, "
        "key_type, sealed_private_key, pin_salt, pin_kdf_memory_kib, pin_kdf_iterations, "
        "pin_kdf_parallelism, status, created_at) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)",
        {c.id, c.account_id, c.ca_name, c.certificate_serial, c.certificate_der,
         std::string(crypto::key_type_name(c.key_type)), c.sealed_private_key, c.pin_salt,
         static_cast<std::int64_t>(c.pin_kdf.memory_kib),
         static_cast<std::int64_t>(c.pin_kdf.iterations),
         static_cast<std::int64_t>(c.pin_kdf.parallelism),
         std::string(c.status == cloudsign::CredentialStatus::enabled ? "enabled" : "disabled"),
         secs(c.created_at)}));
    return {};
}

namespace {
constexpr std::string_view kCredentialColumns =
    "id, account_id, ca_name, certificate_serial, certificate, key_type, sealed_private_key, "
    "pin_salt, pin_kdf_memory_kib, pin_kdf_iterations, pin_kdf_parallelism, status, created_at";

Result<cloudsign::Credential> credential_from_row(const Row& r) {
    cloudsign::Credential c;
    c.id = SELO_TRY(r.text(0));
    c.account_id = SELO_TRY(r.text(1));
    c.ca_name = SELO_TRY(r.text(2));
    c.certificate_serial = SELO_TRY(r.text(3));
    c.certificate_der = SELO_TRY(r.blob(4));
    c.key_type = SELO_TRY(crypto::key_type_from_name(SELO_TRY(r.text(5))));
    c.sealed_private_key = SELO_TRY(r.blob(6));
    c.pin_salt = SELO_TRY(r.blob(7));
    c.pin_kdf.memory_kib = static_cast<std::uint32_t>(SELO_TRY(r.integer(8)));
    c.pin_kdf.iterations = static_cast<std::uint32_t>(SELO_TRY(r.integer(9)));
    c.pin_kdf.parallelism = static_cast<std::uint32_t>(SELO_TRY(r.integer(10)));
    c.status = SELO_TRY(r.text(11)) == "enabled" ? cloudsign::CredentialStatus::enabled
                                       : cloudsign::CredentialStatus::disabled;
    c.created_at = at(SELO_TRY(r.integer(12)));
    return c;
}
}  // namespace

Result<std::optional<cloudsign::Credential>> SqlCredentialRepository::find(std::string_view id) {
    auto row = SELO_TRY(db_.query_one(
        fmt::format("SELECT {} FROM credentials WHERE id = ?", kCredentialColumns), {std::string(id)}));
    if (!row) {
        return std::optional<cloudsign::Credential>{};
    }
    return std::optional<cloudsign::Credential>(SELO_TRY(credential_from_row(*row)));
}

Result<std::vector<cloudsign::Credential>> SqlCredentialRepository::list_for_account(
    std::string_view account_id) {
    auto rows = SELO_TRY(db_.query(
        fmt::format("SELECT {} FROM credentials WHERE account_id = ? ORDER BY created_at, id",
                    kCredentialColumns),
        {std::string(account_id)}));
    std::vector<cloudsign::Credential> out;
    for (const auto& r : rows) {
        out.push_back(SELO_TRY(credential_from_row(r)));
    }
    return out;
}

Result<void> SqlCredentialRepository::set_status(std::string_view id, cloudsign::CredentialStatus status) {
    auto n = SELO_TRY(db_.execute(
        "UPDATE credentials SET status = ? WHERE id = ?",
        {std::string(status == cloudsign::CredentialStatus::enabled ? "enabled" : "disabled"),
         std::string(id)}));
    if (n != 1) {
        return fail(ErrorCode::not_found, "no credential {}", id);
    }
    return {};
}

// ---- signature activations ---------------------------------------------------------------------

Result<void> SqlActivationRepository::insert(const cloudsign::SignatureActivation& a) {
    return db_.transaction([&]() -> Result<void> {
        SELO_TRY(db_.execute(
            "INSERT INTO signature_activations (id, account_id, credential_id, hash_algorithm, "
            "expires_at, sealed_pin_key, created_at) VALUES (?,?,?,?,?,?,?)",
            {a.id, a.account_id, a.credential_id, std::string(sql::digest_label(a.hash_algorithm)),
             secs(a.expires_at), a.sealed_pin_key, secs(a.created_at)}));
        for (std::size_t i = 0; i < a.hashes.size(); ++i) {
            SELO_TRY(db_.execute(
                "INSERT INTO signature_activation_hashes (activation_id, position, hash) VALUES (?,?,?)",
                {a.id, static_cast<std::int64_t>(i), a.hashes[i]}));
        }
        return {};
    });
}

Result<std::optional<cloudsign::SignatureActivation>> SqlActivationRepository::find(ByteView id) {
    auto row = SELO_TRY(db_.query_one(
        "SELECT id, account_id, credential_id, hash_algorithm, expires_at, sealed_pin_key, "
        "created_at FROM signature_activations WHERE id = ?",
        {blob(id)}));
    if (!row) {
        return std::optional<cloudsign::SignatureActivation>{};
    }
    cloudsign::SignatureActivation a;
    a.id = SELO_TRY(row->blob(0));
    a.account_id = SELO_TRY(row->text(1));
    a.credential_id = SELO_TRY(row->text(2));
    a.hash_algorithm = SELO_TRY(sql::digest_from_label(SELO_TRY(row->text(3))));
    a.expires_at = at(SELO_TRY(row->integer(4)));
    a.sealed_pin_key = SELO_TRY(row->blob(5));
    a.created_at = at(SELO_TRY(row->integer(6)));
    auto hashes = SELO_TRY(db_.query(
        "SELECT hash FROM signature_activation_hashes WHERE activation_id = ? ORDER BY position",
        {a.id}));
    for (const auto& h : hashes) {
        a.hashes.push_back(SELO_TRY(h.blob(0)));
    }
    return std::optional<cloudsign::SignatureActivation>(std::move(a));
}

Result<bool> SqlActivationRepository::claim(ByteView id, const std::vector<Bytes>& hashes,
                                            TimePoint now) {
    bool all = true;
    auto r = db_.transaction([&]() -> Result<void> {
        for (const auto& h : hashes) {
            auto changed = SELO_TRY(db_.execute(
                "UPDATE signature_activation_hashes SET used_at = ? "
                "WHERE activation_id = ? AND hash = ? AND used_at IS NULL",
                {secs(now), blob(id), h}));
            if (changed != 1) {
                all = false;
                // Roll back the hashes already marked: all or none.
                return fail(ErrorCode::conflict, "hash already used");
            }
        }
        return {};
    });
    if (!r) {
        if (!all) {
            return false;
        }
        return std::unexpected(r.error());
    }
    return true;
}

Result<void> SqlActivationRepository::remove_expired(TimePoint now) {
    SELO_TRY(db_.execute("DELETE FROM signature_activations WHERE expires_at <= ?", {secs(now)}));
    return {};
}

}  // namespace selo::store
