#pragma once
// SQL repository: CA and certificate records.

#include "pki/repository.hpp"
#include "store/database.hpp"

namespace selo::store {

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
    Result<std::optional<pki::CertificateStatus>> status(std::string_view issuer,
                                                         std::string_view serial_hex) override;
    Result<void> update_status(std::string_view issuer, std::string_view serial_hex,
                               std::string_view expected_status,
                               const pki::CertificateStatus& status) override;
    Result<std::vector<pki::RevokedEntry>> revoked(std::string_view issuer) override;
    Result<std::int64_t> status_version(std::string_view issuer) override;
    Result<std::vector<pki::CertificateRecord>> list(const pki::CertificateFilter& filter) override;

private:
    Database& db_;
};

class SqlCrlRepository final : public pki::CrlRepository {
public:
    explicit SqlCrlRepository(Database& db) : db_(db) {}
    Result<std::optional<pki::CrlRecord>> latest(std::string_view issuer) override;
    Result<void> insert(const pki::CrlRecord& crl) override;

private:
    Database& db_;
};

class SqlResponderRepository final : public pki::ResponderRepository {
public:
    explicit SqlResponderRepository(Database& db) : db_(db) {}
    Result<void> insert(const pki::ResponderRecord& responder) override;
    Result<std::optional<pki::ResponderRecord>> latest(std::string_view issuer) override;

private:
    Database& db_;
};

}  // namespace selo::store
