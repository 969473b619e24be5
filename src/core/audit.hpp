#pragma once
// The audit trail: who did what, to what, and the details that matter later. Domain services
// record through this interface; the store appends to a table no one can update or delete.

#include <string>

#include "core/error.hpp"

namespace selo {

struct AuditEvent {
    std::string actor;    // an account id, "cli:<command>", or "anonymous"
    std::string action;   // dotted, stable: "auth.password.failure", "credential.authorize"
    std::string subject;  // what it was done to: an account, credential, certificate serial
    std::string detail;   // free text, never a secret
};

class AuditTrail {
public:
    virtual ~AuditTrail() = default;
    virtual Result<void> record(const AuditEvent& event) = 0;
};

}  // namespace selo
