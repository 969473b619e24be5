#pragma once
// SQL repository: eSignCloud credentials, sessions and signature activations.

#include "cloudsign/credential.hpp"
#include "store/database.hpp"

namespace selo::store {

class SqlCredentialRepository final : public cloudsign::CredentialRepository {
public:
    explicit SqlCredentialRepository(Database& db) : db_(db) {}
    Result<void> insert(const cloudsign::Credential& c) override;
    Result<std::optional<cloudsign::Credential>> find(std::string_view id) override;
    Result<std::vector<cloudsign::Credential>> list_for_account(std::string_view account_id) override;
    Result<void> set_status(std::string_view id, cloudsign::CredentialStatus status) override;

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

}  // namespace selo::store
