#pragma once
// SEPBox: agencies send messages into the mailboxes of people and institutions; recipients list,
// read, download, mark read, archive, and accept or reject official letters. Every step of the
// delivery leaves a signed evidence (ETSI EN 319 522-2 event names), stored with the message in
// one transaction before anyone hears "accepted". Contents are encrypted at rest: each message
// under its own key, wrapped by the mailbox's key, wrapped by a master subkey.

#include <optional>
#include <string>
#include <vector>

#include "account/account.hpp"
#include "core/audit.hpp"
#include "core/clock.hpp"
#include "core/postbox.hpp"
#include "core/rng.hpp"
#include "crypto/master_key.hpp"
#include "sepbox/evidence.hpp"
#include "sepbox/message.hpp"

namespace selo::sepbox {

struct SepboxOptions {
    std::uint64_t max_message_bytes = 30ull * 1024 * 1024;  // subject, bodies and attachments
    unsigned max_attachments = 20;
    unsigned max_recipients = 1000;  // per bulk submission
    // recipients × message size: one submission is one transaction, which other writers wait for.
    std::uint64_t max_submission_bytes = 512ull * 1024 * 1024;
    std::size_t max_subject_chars = 300;
    // Where the notice e-mail points recipients to (the portal).
    std::string public_url = "http://127.0.0.1:8080";
    // Sender of Selo's own messages (SystemPost).
    std::string system_sender_name = "Selo";
};

struct Attachment {
    std::string filename;
    std::string media_type;
    Bytes content;
};

struct Submission {
    std::string sender_id;   // the agency's account id
    std::vector<std::string> recipients;
    std::string subject;
    std::string body_text;
    std::string body_html;   // optional; sanitised before display, kept as sent
    Category category = Category::notification;
    std::string sender_reference;
    std::optional<TimePoint> reply_by;
    std::vector<Attachment> attachments;
};

struct RecipientResult {
    std::string recipient_id;
    bool accepted = false;
    std::string message_id;
    std::string reason;  // why it was rejected
    std::vector<std::string> evidence_ids;
};

struct AttachmentInfo {
    int index = 0;  // 1-based, as in the download URL
    std::string filename;
    std::string media_type;
    std::uint64_t size = 0;
    std::string sha256_hex;
};

// A message as its recipient sees it.
struct MessageView {
    std::string id;
    std::string subject;
    std::string body_text;
    std::string body_html;  // sanitised; empty for plain-text messages
    Category category = Category::notification;
    std::string sender_id;
    std::string sender_name;
    std::string sender_reference;
    std::optional<TimePoint> reply_by;
    TimePoint received_at;
    bool read = false;
    bool archived = false;
    Decision decision = Decision::none;
    std::vector<AttachmentInfo> attachments;
};

struct ListQuery {
    ListFilter filter;
    std::string search;  // case-insensitive, in the subject or the sender's name
    std::size_t page = 1;
    std::size_t per_page = 20;
};

struct MessagePage {
    std::vector<MessageView> messages;  // without bodies
    std::size_t total = 0;
};

struct Download {
    std::string filename;
    std::string media_type;
    Bytes content;
};

class SepboxService final : public SystemPost {
public:
    SepboxService(SepboxRepository& repo, account::AccountRepository& accounts, AuditTrail& audit,
                  EvidenceMaker& evidence, const crypto::MasterKey& master, const Clock& clock,
                  Rng& rng, SepboxOptions options);

    // SystemPost.
    Result<void> ensure_mailbox(std::string_view account_id) override;
    Result<std::string> post(std::string_view account_id, const SystemMessage& message) override;

    // Validates the submission as a whole (a bad one is refused with nothing written), then
    // delivers it to each recipient: a message and its SubmissionAcceptance and
    // ContentConsignment evidence, or a SubmissionRejection with the reason. All in one
    // transaction, committed before this returns.
    [[nodiscard]] Result<std::vector<RecipientResult>> submit(const Submission& submission);

    [[nodiscard]] Result<MessagePage> list(std::string_view account_id, const ListQuery& query);
    // `acting_id` below: the member acting for an institution's mailbox `account_id` (checked by
    // the caller), named in the evidence and the audit trail; empty when the holder acts.
    // Opens a message; the first opening records ContentHandover. not_found for others' mail.
    [[nodiscard]] Result<MessageView> open(std::string_view account_id, std::string_view message_id,
                                           std::string_view acting_id = {});
    // An attachment's content (also a handover when the message was not opened before).
    [[nodiscard]] Result<Download> attachment(std::string_view account_id, std::string_view message_id,
                                              int index, std::string_view acting_id = {});
    [[nodiscard]] Result<MessageView> mark_read(std::string_view account_id, std::string_view message_id,
                                                bool read, std::string_view acting_id = {});
    [[nodiscard]] Result<MessageView> archive(std::string_view account_id, std::string_view message_id,
                                              bool archived, std::string_view acting_id = {});
    // The recipient's answer to an official letter: ConsignmentAcceptance / ConsignmentRejection.
    [[nodiscard]] Result<EvidenceRecord> decide(std::string_view account_id, std::string_view message_id,
                                                bool accept, std::string_view reason,
                                                std::string_view acting_id = {});
    // Records AcceptanceRejectionExpiry for official letters past their reply-by time; answers
    // how many. Run periodically.
    [[nodiscard]] Result<std::size_t> expire_overdue();

    // The evidence of a message, for its sender only (not_found for anyone else).
    [[nodiscard]] Result<std::vector<EvidenceRecord>> evidence(std::string_view sender_id,
                                                               std::string_view message_id);

    [[nodiscard]] const SepboxOptions& options() const noexcept { return options_; }

private:
    struct Plain {
        StoredMessage stored;
        SecretBytes key;
    };
    Result<SecretBytes> mailbox_key(std::string_view account_id, bool create);
    Result<std::string> sender_name(std::string_view sender_id);
    Result<Plain> load(std::string_view account_id, std::string_view message_id);
    Result<std::string> open_part(const Plain& m, const StoredPart& part);
    Result<MessageView> view(const Plain& m, bool with_bodies);
    Result<void> hand_over(Plain& m, std::string_view acting_id);
    Result<void> set_delegate(EvidenceFacts& f, std::string_view acting_id);
    void audit_delegate(std::string_view acting_id, std::string_view action, const StoredMessage& m);
    Result<std::vector<RecipientResult>> deliver(const Submission& s, std::string_view sender_name);
    EvidenceFacts facts_of(const StoredMessage& m, Event e, TimePoint at) const;
    std::string new_id(std::string_view prefix);

    SepboxRepository& repo_;
    account::AccountRepository& accounts_;
    AuditTrail& audit_;
    EvidenceMaker& evidence_;
    SecretBytes mailbox_kek_;
    const Clock& clock_;
    Rng& rng_;
    SepboxOptions options_;
};

// The notice e-mailed to a recipient when mail arrives: that something arrived, where to read
// it, and nothing of the message itself.
struct NoticeText {
    std::string subject;
    std::string body;
};
[[nodiscard]] NoticeText new_mail_notice(std::string_view recipient_name, TimePoint received_at,
                                         std::string_view public_url);

}  // namespace selo::sepbox
