#pragma once
// The interface through which services (enrolment, activation, subscription reminders) put a
// message from Selo itself into a person's secure electronic postal box, and make sure the box
// exists. SEPBox implements it; the account and enrolment code takes it as a collaborator, so it
// does not depend on the mailbox module.

#include <string>
#include <string_view>

#include "core/error.hpp"

namespace selo {

// What Selo itself sends: a plain-text message in one of SEPBox's categories.
struct SystemMessage {
    std::string subject;
    std::string body_text;                 // plain text, shown as is
    std::string category = "notification"; // notification | official-letter | bill | direct-mail
    std::string sender_reference;          // e.g. "activation", "renewal-30d"; may be empty
};

class SystemPost {
public:
    virtual ~SystemPost() = default;
    // Creates the account's mailbox when it does not exist yet; succeeds when it already does.
    virtual Result<void> ensure_mailbox(std::string_view account_id) = 0;
    // Delivers the message durably before returning; answers the new message's id.
    virtual Result<std::string> post(std::string_view account_id, const SystemMessage& message) = 0;
};

}  // namespace selo
