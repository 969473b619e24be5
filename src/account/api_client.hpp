#pragma once
// API clients: machines (an agency's mail system, a payment provider) that call /api/v1 as an
// account with an OAuth 2.0 client_credentials grant (RFC 6749 §4.4). The secret is shown once
// when an administrator issues it; only its Argon2id verifier is stored.

#include <optional>
#include <string>
#include <vector>

#include "core/clock.hpp"
#include "core/error.hpp"

namespace selo::account {

struct ApiClient {
    std::string client_id;    // "cli_" + 24 hex digits
    std::string account_id;   // the account it acts as (its roles apply)
    std::string secret_hash;  // Argon2id PHC string
    std::string created_by;   // the administrator's account id
    TimePoint created_at;
    std::optional<TimePoint> revoked_at;
};

class ApiClientRepository {
public:
    virtual ~ApiClientRepository() = default;
    virtual Result<void> insert(const ApiClient& client) = 0;
    virtual Result<std::optional<ApiClient>> find(std::string_view client_id) = 0;
    virtual Result<std::vector<ApiClient>> list_for_account(std::string_view account_id) = 0;
    // False when there is no such client or it was revoked already. Ends the sessions the
    // client opened in the same transaction.
    virtual Result<bool> revoke(std::string_view client_id, TimePoint at) = 0;
};

}  // namespace selo::account
