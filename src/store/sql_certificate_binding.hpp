#pragma once
// SQL storage of client-certificate bindings (account/certificate_binding.hpp).

#include "account/certificate_binding.hpp"
#include "store/database.hpp"

namespace selo::store {

class SqlCertificateBindingRepository final : public account::CertificateBindingRepository {
public:
    explicit SqlCertificateBindingRepository(Database& db) : db_(db) {}
    Result<void> insert(const account::CertificateBinding& binding) override;
    Result<std::optional<account::CertificateBinding>> find(std::string_view issuer,
                                                            std::string_view serial_hex) override;

private:
    Database& db_;
};

}  // namespace selo::store
