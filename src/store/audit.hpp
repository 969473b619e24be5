#pragma once
// The append-only audit trail: who did what, to what, when and why.

#include <string_view>

#include "core/audit.hpp"
#include "core/clock.hpp"
#include "store/database.hpp"

namespace selo::store {

class SqlAuditTrail final : public AuditTrail {
public:
    SqlAuditTrail(Database& db, const Clock& clock) : db_(db), clock_(clock) {}
    Result<void> record(const AuditEvent& event) override;

private:
    Database& db_;
    const Clock& clock_;
};

Result<void> append_audit(Database& db, TimePoint at, std::string_view actor,
                          std::string_view action, std::string_view subject,
                          std::string_view detail);

}  // namespace selo::store
