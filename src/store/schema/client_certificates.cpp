// Schema of the "client_certificates" part (see store/migrations.hpp). Never edit a released
// entry: append.
#include "store/migrations.hpp"

namespace selo::store::schema {

const std::vector<std::string_view>& client_certificates() {
    static const std::vector<std::string_view> migrations = {
        R"sql(
-- Certificates bound to accounts for mutual-TLS sign-in (account/certificate_binding.hpp).
CREATE TABLE certificate_bindings (
    issuer TEXT NOT NULL,
    serial TEXT NOT NULL,
    account_id TEXT NOT NULL REFERENCES accounts(id),
    bound_by TEXT NOT NULL,
    bound_at INTEGER NOT NULL,
    PRIMARY KEY (issuer, serial),
    FOREIGN KEY (issuer, serial) REFERENCES certificates(issuer, serial)
);
CREATE INDEX certificate_bindings_by_account ON certificate_bindings(account_id);
)sql",
    };
    return migrations;
}

}  // namespace selo::store::schema
