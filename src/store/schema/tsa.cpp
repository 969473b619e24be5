// Schema of the "tsa" part (see store/migrations.hpp). Never edit a released entry: append.
#include "store/migrations.hpp"

namespace selo::store::schema {

const std::vector<std::string_view>& tsa() {
    static const std::vector<std::string_view> migrations = {
        R"sql(
-- Time-stamping units: the key and certificate each one signs with.
CREATE TABLE tsa_units (
    name TEXT PRIMARY KEY,
    key_id TEXT NOT NULL REFERENCES keys(id),
    certificate BLOB NOT NULL,
    created_at INTEGER NOT NULL
);
)sql",
    };
    return migrations;
}

}  // namespace selo::store::schema
