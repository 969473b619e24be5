#include "store/audit.hpp"

#include "store/sql_util.hpp"

namespace selo::store {

Result<void> append_audit(Database& db, TimePoint when, std::string_view actor,
                          std::string_view action, std::string_view subject,
                          std::string_view detail) {
    SELO_TRY(db.execute(
        "INSERT INTO audit_log (at, actor, action, subject, detail) VALUES (?,?,?,?,?)",
        {sql::secs(when), std::string(actor), std::string(action), std::string(subject),
         std::string(detail)}));
    return {};
}

Result<void> SqlAuditTrail::record(const AuditEvent& e) {
    return append_audit(db_, clock_.now(), e.actor, e.action, e.subject, e.detail);
}

}  // namespace selo::store
