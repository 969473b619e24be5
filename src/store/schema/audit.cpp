// Schema of the "audit" part (see store/migrations.hpp). Never edit a released entry: append.
#include "store/migrations.hpp"

namespace selo::store::schema {

const std::vector<std::string_view>& audit() {
    static const std::vector<std::string_view> migrations = {
        R"sql(
-- Who did what, when and why. Append-only.
CREATE TABLE audit_log (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    at INTEGER NOT NULL,
    actor TEXT NOT NULL,
    action TEXT NOT NULL,
    subject TEXT NOT NULL,
    detail TEXT NOT NULL
);

CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'the audit log is append-only');
END;

CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'the audit log is append-only');
END;
)sql",
    };
    return migrations;
}

}  // namespace selo::store::schema
