#pragma once
// SQL repository: CA and certificate records.

#include <map>
#include <memory>
#include <mutex>

#include "pki/repository.hpp"
#include "store/database.hpp"
#include "store/sqlite/sqlite_database.hpp"

namespace selo::store {

class SqlCaRepository final : public pki::CaRepository {
public:
    explicit SqlCaRepository(Database& db) : db_(db) {}
    Result<void> insert(const pki::CaRecord& ca) override;
    Result<std::optional<pki::CaRecord>> find(std::string_view name) override;
    Result<std::vector<pki::CaRecord>> list() override;
    // The root key ceremony: a CA re-certified (same name, maybe another key id); not_found when
    // there is no such CA.
    Result<void> replace_certificate(std::string_view name, std::string_view key_id,
                                     ByteView certificate_der);

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

// The status versions read through a CommitWatch: PRAGMA data_version once per call, the
// versions table again only when some connection committed since.
class WatchedStatusVersions final : public pki::StatusVersions {
public:
    explicit WatchedStatusVersions(std::unique_ptr<CommitWatch> watch) : watch_(std::move(watch)) {}
    Result<std::int64_t> version(std::string_view issuer) override;

private:
    std::mutex mutex_;
    std::unique_ptr<CommitWatch> watch_;
    std::map<std::string, std::int64_t, std::less<>> versions_;
    bool stale_ = false;  // a re-read failed: read again whatever the watch says
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
