// Schema of the "keys" part (see store/migrations.hpp). Never edit a released entry: append.
#include "store/migrations.hpp"

namespace selo::store::schema {

const std::vector<std::string_view>& keys() {
    static const std::vector<std::string_view> migrations = {
        R"sql(
CREATE TABLE keys (
    id TEXT PRIMARY KEY,
    type TEXT NOT NULL,
    public_key BLOB NOT NULL,
    sealed_private_key BLOB NOT NULL,
    created_at INTEGER NOT NULL
);
)sql",
    };
    return migrations;
}

}  // namespace selo::store::schema
