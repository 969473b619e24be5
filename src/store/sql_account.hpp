#pragma once
// SQL repository: Accounts.

#include "account/account.hpp"
#include "account/api_client.hpp"
#include "account/lockout.hpp"
#include "store/database.hpp"

namespace selo::store {

class SqlAccountRepository final : public account::AccountRepository {
public:
    explicit SqlAccountRepository(Database& db) : db_(db) {}
    Result<void> insert(const account::Account& a) override;
    Result<std::optional<account::Account>> find_by_id(std::string_view id) override;
    Result<std::optional<account::Account>> find_by_username(std::string_view username) override;
    Result<std::optional<account::Account>> find_by_identity(account::IdentityDocument type, std::string_view country,
                                     std::string_view number) override;
    Result<bool> username_taken(std::string_view username) override;
    Result<bool> claim_totp_step(std::string_view account_id, std::uint64_t step) override;
    Result<void> set_password(std::string_view account_id, std::string_view password_hash,
                              bool must_change) override;
    Result<void> set_authenticator(std::string_view account_id, ByteView sealed_secret,
                                   std::optional<std::uint64_t> last_step) override;

private:
    Result<std::optional<account::Account>> find_where(std::string_view column, std::string_view value);
    Result<void> insert_row(const account::Account& a);
    Database& db_;
};

class SqlSessionRepository final : public account::SessionRepository {
public:
    explicit SqlSessionRepository(Database& db) : db_(db) {}
    Result<void> insert(const account::Session& s) override;
    Result<std::optional<account::Session>> find(ByteView token_hash) override;
    Result<void> remove(ByteView token_hash) override;
    Result<void> remove_expired(TimePoint now) override;
    Result<std::size_t> remove_for_account(std::string_view account_id) override;

private:
    Database& db_;
};

class SqlFailureRepository final : public account::FailureRepository {
public:
    explicit SqlFailureRepository(Database& db) : db_(db) {}
    Result<account::FailureState> find(std::string_view subject) override;
    Result<account::FailureState> record_failure(std::string_view subject, TimePoint now,
                                                 const account::LockoutPolicy& policy) override;
    Result<void> clear(std::string_view subject) override;

private:
    Database& db_;
};

class SqlApiClientRepository final : public account::ApiClientRepository {
public:
    explicit SqlApiClientRepository(Database& db) : db_(db) {}
    Result<void> insert(const account::ApiClient& c) override;
    Result<std::optional<account::ApiClient>> find(std::string_view client_id) override;
    Result<std::vector<account::ApiClient>> list_for_account(std::string_view account_id) override;
    Result<bool> revoke(std::string_view client_id, TimePoint at) override;

private:
    Database& db_;
};

}  // namespace selo::store
