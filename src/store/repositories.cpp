#include "store/repositories.hpp"

namespace selo::store {
namespace {

std::int64_t secs(TimePoint t) { return unix_seconds(t); }
TimePoint at(std::int64_t s) { return from_unix_seconds(s); }
Bytes blob(ByteView v) { return Bytes(v.begin(), v.end()); }

std::string_view digest_label(crypto::DigestAlgorithm a) {
    switch (a) {
        case crypto::DigestAlgorithm::sha1: return "sha1";
        case crypto::DigestAlgorithm::sha256: return "sha256";
        case crypto::DigestAlgorithm::sha384: return "sha384";
        case crypto::DigestAlgorithm::sha512: return "sha512";
    }
    return "sha256";
}

Result<crypto::DigestAlgorithm> digest_from_label(std::string_view s) {
    for (auto a : {crypto::DigestAlgorithm::sha1, crypto::DigestAlgorithm::sha256,
                   crypto::DigestAlgorithm::sha384, crypto::DigestAlgorithm::sha512}) {
        if (digest_label(a) == s) {
            return a;
        }
    }
    return fail(ErrorCode::internal, "unknown digest label '{}' in the database", s);
}

}  // namespace

// ---- keys ----------------------------------------------------------------------------------

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
        "SELECT id, type, public_key, sealed_private_key FROM keys WHERE id = ?", {std::string(id)}));
    if (!row) {
        return std::optional<Record>{};
    }
    return std::optional<Record>(Record{row->text(0), row->text(1), row->blob(2), row->blob(3)});
}

// ---- certificate authorities ---------------------------------------------------------------

Result<void> SqlCaRepository::insert(const pki::CaRecord& ca) {
    Value parent = Null{};
    if (ca.parent) {
        parent = *ca.parent;
    }
    SELO_TRY(db_.execute(
        "INSERT INTO certificate_authorities (name, role, parent, key_id, certificate, created_at) "
        "VALUES (?,?,?,?,?,?)",
        {ca.name, ca.role, parent, ca.key_id, ca.certificate_der, secs(ca.created_at)}));
    return {};
}

namespace {
pki::CaRecord ca_from_row(const Row& r) {
    return pki::CaRecord{r.text(0), r.text(1), r.optional_text(2), r.text(3), r.blob(4),
                         at(r.integer(5))};
}
}  // namespace

Result<std::optional<pki::CaRecord>> SqlCaRepository::find(std::string_view name) {
    auto row = SELO_TRY(db_.query_one(
        "SELECT name, role, parent, key_id, certificate, created_at FROM certificate_authorities "
        "WHERE name = ?",
        {std::string(name)}));
    if (!row) {
        return std::optional<pki::CaRecord>{};
    }
    return std::optional<pki::CaRecord>(ca_from_row(*row));
}

Result<std::vector<pki::CaRecord>> SqlCaRepository::list() {
    auto rows = SELO_TRY(db_.query(
        "SELECT name, role, parent, key_id, certificate, created_at FROM certificate_authorities "
        "ORDER BY created_at, name"));
    std::vector<pki::CaRecord> out;
    for (const auto& r : rows) {
        out.push_back(ca_from_row(r));
    }
    return out;
}

// ---- certificates --------------------------------------------------------------------------

Result<void> SqlCertificateRepository::insert(const pki::CertificateRecord& c) {
    auto rc = db_.execute(
        "INSERT INTO certificates (issuer, serial, subject, profile, not_before, not_after, der, "
        "issued_at, status) VALUES (?,?,?,?,?,?,?,?,?)",
        {c.issuer, c.serial_hex, c.subject, c.profile, secs(c.not_before), secs(c.not_after), c.der,
         secs(c.issued_at), c.status});
    if (!rc) {
        return std::unexpected(rc.error());
    }
    return {};
}

Result<std::optional<pki::CertificateRecord>> SqlCertificateRepository::find(
    std::string_view issuer, std::string_view serial_hex) {
    auto row = SELO_TRY(db_.query_one(
        "SELECT issuer, serial, subject, profile, not_before, not_after, der, issued_at, status "
        "FROM certificates WHERE issuer = ? AND serial = ?",
        {std::string(issuer), std::string(serial_hex)}));
    if (!row) {
        return std::optional<pki::CertificateRecord>{};
    }
    const Row& r = *row;
    return std::optional<pki::CertificateRecord>(pki::CertificateRecord{
        r.text(0), r.text(1), r.text(2), r.text(3), at(r.integer(4)), at(r.integer(5)), r.blob(6),
        at(r.integer(7)), r.text(8)});
}

// ---- accounts ------------------------------------------------------------------------------

Result<void> SqlAccountRepository::insert(const account::Account& a) {
    const auto& p = a.person;
    Value last = Null{};
    if (a.totp_last_step) {
        last = static_cast<std::int64_t>(*a.totp_last_step);
    }
    auto rc = db_.execute(
        "INSERT INTO accounts (id, username, name, latin_name, given_name, surname, id_type, "
        "id_country, id_number, email, password_hash, totp_secret_sealed, totp_last_step, "
        "created_at) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
        {a.id, a.username, p.name, p.latin_name, p.given_name, p.surname,
         std::string(account::identity_document_name(p.id_type)), p.id_country, p.id_number,
         p.email, a.password_hash, a.totp_secret_sealed, last, secs(a.created_at)});
    if (!rc) {
        if (rc.error().code == ErrorCode::conflict) {
            return fail(ErrorCode::conflict, "this identity document or username is already registered");
        }
        return std::unexpected(rc.error());
    }
    return {};
}

Result<std::optional<account::Account>> SqlAccountRepository::find_where(std::string_view column,
                                                                         std::string_view value) {
    std::string sql = fmt::format(
        "SELECT id, username, name, latin_name, given_name, surname, id_type, id_country, "
        "id_number, email, password_hash, totp_secret_sealed, totp_last_step, created_at "
        "FROM accounts WHERE {} = ?",
        column);
    auto row = SELO_TRY(db_.query_one(sql, {std::string(value)}));
    if (!row) {
        return std::optional<account::Account>{};
    }
    const Row& r = *row;
    account::Account a;
    a.id = r.text(0);
    a.username = r.text(1);
    a.person.name = r.text(2);
    a.person.latin_name = r.text(3);
    a.person.given_name = r.text(4);
    a.person.surname = r.text(5);
    a.person.id_type = SELO_TRY(account::identity_document_from_name(r.text(6)));
    a.person.id_country = r.text(7);
    a.person.id_number = r.text(8);
    a.person.email = r.text(9);
    a.password_hash = r.text(10);
    a.totp_secret_sealed = r.blob(11);
    if (auto s = r.optional_integer(12)) {
        a.totp_last_step = static_cast<std::uint64_t>(*s);
    }
    a.created_at = at(r.integer(13));
    return std::optional<account::Account>(std::move(a));
}

Result<std::optional<account::Account>> SqlAccountRepository::find_by_id(std::string_view id) {
    return find_where("id", id);
}

Result<std::optional<account::Account>> SqlAccountRepository::find_by_username(
    std::string_view username) {
    return find_where("username", username);
}

Result<bool> SqlAccountRepository::identity_registered(account::IdentityDocument type,
                                                       std::string_view country,
                                                       std::string_view number) {
    auto row = SELO_TRY(db_.query_one(
        "SELECT 1 FROM accounts WHERE id_type = ? AND id_country = ? AND id_number = ?",
        {std::string(account::identity_document_name(type)), std::string(country),
         std::string(number)}));
    return row.has_value();
}

Result<bool> SqlAccountRepository::username_taken(std::string_view username) {
    auto row = SELO_TRY(db_.query_one("SELECT 1 FROM accounts WHERE username = ?",
                                      {std::string(username)}));
    return row.has_value();
}

Result<bool> SqlAccountRepository::claim_totp_step(std::string_view account_id, std::uint64_t step) {
    auto changed = SELO_TRY(db_.execute(
        "UPDATE accounts SET totp_last_step = ? WHERE id = ? AND "
        "(totp_last_step IS NULL OR totp_last_step < ?)",
        {static_cast<std::int64_t>(step), std::string(account_id), static_cast<std::int64_t>(step)}));
    return changed == 1;
}

// ---- credentials ---------------------------------------------------------------------------

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
    c.id = r.text(0);
    c.account_id = r.text(1);
    c.ca_name = r.text(2);
    c.certificate_serial = r.text(3);
    c.certificate_der = r.blob(4);
    c.key_type = SELO_TRY(crypto::key_type_from_name(r.text(5)));
    c.sealed_private_key = r.blob(6);
    c.pin_salt = r.blob(7);
    c.pin_kdf.memory_kib = static_cast<std::uint32_t>(r.integer(8));
    c.pin_kdf.iterations = static_cast<std::uint32_t>(r.integer(9));
    c.pin_kdf.parallelism = static_cast<std::uint32_t>(r.integer(10));
    c.status = r.text(11) == "enabled" ? cloudsign::CredentialStatus::enabled
                                       : cloudsign::CredentialStatus::disabled;
    c.created_at = at(r.integer(12));
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

// ---- sessions ------------------------------------------------------------------------------

Result<void> SqlSessionRepository::insert(const cloudsign::Session& s) {
    SELO_TRY(db_.execute(
        "INSERT INTO sessions (token_hash, account_id, expires_at, created_at) VALUES (?,?,?,?)",
        {s.token_hash, s.account_id, secs(s.expires_at), secs(s.created_at)}));
    return {};
}

Result<std::optional<cloudsign::Session>> SqlSessionRepository::find(ByteView token_hash) {
    auto row = SELO_TRY(db_.query_one(
        "SELECT token_hash, account_id, expires_at, created_at FROM sessions WHERE token_hash = ?",
        {blob(token_hash)}));
    if (!row) {
        return std::optional<cloudsign::Session>{};
    }
    return std::optional<cloudsign::Session>(
        cloudsign::Session{row->blob(0), row->text(1), at(row->integer(2)), at(row->integer(3))});
}

Result<void> SqlSessionRepository::remove_expired(TimePoint now) {
    SELO_TRY(db_.execute("DELETE FROM sessions WHERE expires_at <= ?", {secs(now)}));
    return {};
}

// ---- signature activations -----------------------------------------------------------------

Result<void> SqlActivationRepository::insert(const cloudsign::SignatureActivation& a) {
    return db_.transaction([&]() -> Result<void> {
        SELO_TRY(db_.execute(
            "INSERT INTO signature_activations (id, account_id, credential_id, hash_algorithm, "
            "expires_at, sealed_pin_key, created_at) VALUES (?,?,?,?,?,?,?)",
            {a.id, a.account_id, a.credential_id, std::string(digest_label(a.hash_algorithm)),
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
    a.id = row->blob(0);
    a.account_id = row->text(1);
    a.credential_id = row->text(2);
    a.hash_algorithm = SELO_TRY(digest_from_label(row->text(3)));
    a.expires_at = at(row->integer(4));
    a.sealed_pin_key = row->blob(5);
    a.created_at = at(row->integer(6));
    auto hashes = SELO_TRY(db_.query(
        "SELECT hash FROM signature_activation_hashes WHERE activation_id = ? ORDER BY position",
        {a.id}));
    for (const auto& h : hashes) {
        a.hashes.push_back(h.blob(0));
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

Result<void> append_audit(Database& db, TimePoint when, std::string_view actor,
                          std::string_view action, std::string_view subject,
                          std::string_view detail) {
    SELO_TRY(db.execute(
        "INSERT INTO audit_log (at, actor, action, subject, detail) VALUES (?,?,?,?,?)",
        {secs(when), std::string(actor), std::string(action), std::string(subject),
         std::string(detail)}));
    return {};
}

}  // namespace selo::store
