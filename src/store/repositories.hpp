#pragma once
// SQL implementations of the narrow repository interfaces the domain modules declare. Written
// once against store::Database, so every back end (SQLite, later PostgreSQL) gets them.

#include <memory>

#include "account/account.hpp"
#include "cloudsign/credential.hpp"
#include "crypto/key_store.hpp"
#include "pki/repository.hpp"
#include "store/database.hpp"

namespace selo::store {

class SqlSealedKeyRepository final : public crypto::SealedKeyRepository {
public:
    SqlSealedKeyRepository(Database& db, const Clock& clock) : db_(db), clock_(clock) {}
    Result<void> insert(const Record& record) override;
    Result<std::optional<Record>> find(std::string_view id) override;

private:
    Database& db_;
    const Clock& clock_;
};

class SqlCaRepository final : public pki::CaRepository {
public:
    explicit SqlCaRepository(Database& db) : db_(db) {}
    Result<void> insert(const pki::CaRecord& ca) override;
    Result<std::optional<pki::CaRecord>> find(std::string_view name) override;
    Result<std::vector<pki::CaRecord>> list() override;

private:
    Database& db_;
};

class SqlCertificateRepository final : public pki::CertificateRepository {
public:
    explicit SqlCertificateRepository(Database& db) : db_(db) {}
    Result<void> insert(const pki::CertificateRecord& record) override;
    Result<std::optional<pki::CertificateRecord>> find(std::string_view issuer,
                                                       std::string_view serial_hex) override;

private:
    Database& db_;
};

class SqlAccountRepository final : public account::AccountRepository {
public:
    explicit SqlAccountRepository(Database& db) : db_(db) {}
    Result<void> insert(const account::Account& a) override;
    Result<std::optional<account::Account>> find_by_id(std::string_view id) override;
    Result<std::optional<account::Account>> find_by_username(std::string_view username) override;
    Result<bool> identity_registered(account::IdentityDocument type, std::string_view country,
                                     std::string_view number) override;
    Result<bool> username_taken(std::string_view username) override;
    Result<bool> claim_totp_step(std::string_view account_id, std::uint64_t step) override;

private:
    Result<std::optional<account::Account>> find_where(std::string_view column, std::string_view value);
    Database& db_;
};

class SqlCredentialRepository final : public cloudsign::CredentialRepository {
public:
    explicit SqlCredentialRepository(Database& db) : db_(db) {}
    Result<void> insert(const cloudsign::Credential& c) override;
    Result<std::optional<cloudsign::Credential>> find(std::string_view id) override;
    Result<std::vector<cloudsign::Credential>> list_for_account(std::string_view account_id) override;

private:
    Database& db_;
};

class SqlSessionRepository final : public cloudsign::SessionRepository {
public:
    explicit SqlSessionRepository(Database& db) : db_(db) {}
    Result<void> insert(const cloudsign::Session& s) override;
    Result<std::optional<cloudsign::Session>> find(ByteView token_hash) override;
    Result<void> remove_expired(TimePoint now) override;

private:
    Database& db_;
};

class SqlActivationRepository final : public cloudsign::ActivationRepository {
public:
    explicit SqlActivationRepository(Database& db) : db_(db) {}
    Result<void> insert(const cloudsign::SignatureActivation& a) override;
    Result<std::optional<cloudsign::SignatureActivation>> find(ByteView id) override;
    Result<bool> claim(ByteView id, const std::vector<Bytes>& hashes, TimePoint now) override;
    Result<void> remove_expired(TimePoint now) override;

private:
    Database& db_;
};

// Appends to the audit trail (who, what, on what, details).
Result<void> append_audit(Database& db, TimePoint at, std::string_view actor,
                          std::string_view action, std::string_view subject,
                          std::string_view detail);

}  // namespace selo::store
