#include "store/migrations.hpp"

#include "store/database.hpp"

namespace selo::store {

const std::vector<SchemaPart>& schema_parts() {
    static const std::vector<SchemaPart> parts = {
        {"keys", schema::keys()},
        {"audit", schema::audit()},
        {"pki", schema::pki()},
        {"account", schema::account()},
        {"cloudsign", schema::cloudsign()},
        {"sepbox", schema::sepbox()},
        {"tsa", schema::tsa()},
        {"translog", schema::translog()},
        {"institution", schema::institution()},
        {"client_certificates", schema::client_certificates()},
    };
    return parts;
}

Result<void> migrate(Database& db) {
    return db.transaction([&]() -> Result<void> {
        SELO_TRY(db.execute(
            "CREATE TABLE IF NOT EXISTS schema_versions (part TEXT PRIMARY KEY, version INTEGER NOT NULL)"));
        for (const auto& part : schema_parts()) {
            auto row = SELO_TRY(db.query_one("SELECT version FROM schema_versions WHERE part = ?",
                                             {std::string(part.name)}));
            std::int64_t version = row ? SELO_TRY(row->integer(0)) : 0;
            if (version > static_cast<std::int64_t>(part.migrations.size())) {
                return fail(ErrorCode::conflict,
                            "the database's '{}' schema is at version {}, newer than this Selo "
                            "knows ({}): upgrade Selo",
                            part.name, version, part.migrations.size());
            }
            for (auto v = static_cast<std::size_t>(version); v < part.migrations.size(); ++v) {
                SELO_TRY_VOID(db.with_connection(
                    [&](Connection& c) { return c.execute_script(part.migrations[v]); }));
            }
            SELO_TRY(db.execute(
                "INSERT INTO schema_versions (part, version) VALUES (?, ?) "
                "ON CONFLICT (part) DO UPDATE SET version = excluded.version",
                {std::string(part.name), static_cast<std::int64_t>(part.migrations.size())}));
        }
        return {};
    });
}

}  // namespace selo::store
