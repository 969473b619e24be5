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

private:
    Database& db_;
};

}  // namespace selo::store
