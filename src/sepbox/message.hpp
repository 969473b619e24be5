#pragma once
// SEPBox, the secure electronic postal box: what a mailbox, a message, its parts and its
// registered-delivery evidence are, and the narrow storage interface the service writes through.

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "core/bytes.hpp"
#include "core/clock.hpp"
#include "core/error.hpp"

namespace selo::sepbox {

// What kind of mail a message is (the four SEPBox services).
enum class Category { notification, official_letter, bill, direct_mail };

[[nodiscard]] std::string_view category_name(Category c) noexcept;  // e.g. "official-letter"
[[nodiscard]] Result<Category> category_from_name(std::string_view name);

// Registered-delivery events, named as in ETSI EN 319 522-2 (evidence semantics).
enum class Event {
    submission_acceptance,
    submission_rejection,
    content_consignment,
    content_handover,
    consignment_acceptance,
    consignment_rejection,
    acceptance_rejection_expiry,
};

[[nodiscard]] std::string_view event_name(Event e) noexcept;  // e.g. "SubmissionAcceptance"

// RFC 3339 UTC with seconds, e.g. "2026-12-03T16:30:00Z".
[[nodiscard]] std::string format_time(TimePoint t);
// Accepts RFC 3339 date-times with "Z" or a numeric offset (fractions of seconds are dropped).
[[nodiscard]] Result<TimePoint> parse_time(std::string_view text);

// A person's or institution's box: its key (random, sealed under a master subkey).
struct Mailbox {
    std::string account_id;
    Bytes sealed_key;
    TimePoint created_at;
};

// One stored part of a message: the subject, the bodies, each attachment. `sealed` holds the
// content under the message key; digest and size are of the plaintext.
struct StoredPart {
    int position = 0;
    std::string name;        // "subject", "body_text", "body_html", "attachment/1", ...
    std::string media_type;  // e.g. "text/plain; charset=utf-8", "application/pdf"
    Bytes sealed_filename;   // attachments: the file name, sealed; empty otherwise
    std::uint64_t size = 0;
    Bytes sha256;
    Bytes sealed;            // may be left empty by listings
};

enum class Decision { none, accepted, rejected, expired };

struct StoredMessage {
    std::string id;
    std::string recipient_id;
    std::string sender_id;
    std::string sender_name;
    Category category = Category::notification;
    std::string sender_reference;
    std::optional<TimePoint> reply_by;
    TimePoint received_at;
    std::optional<TimePoint> read_at;
    std::optional<TimePoint> archived_at;
    std::optional<TimePoint> handed_over_at;
    Decision decision = Decision::none;
    std::optional<TimePoint> decided_at;
    Bytes sealed_key;  // the message key, sealed under the mailbox key
    std::vector<StoredPart> parts;  // in position order; `sealed` empty unless asked for
};

// A signed registered-delivery evidence, as kept and handed to the sender.
struct EvidenceRecord {
    std::string id;
    std::string message_id;
    std::string sender_id;
    std::string recipient_id;
    Event event = Event::submission_acceptance;
    TimePoint at;
    Bytes canonical;        // the evidence document (canonical JSON, see docs/sepbox.md)
    Bytes cms;              // DER CMS SignedData encapsulating `canonical`
    Bytes timestamp_token;  // RFC 3161 token over SHA-256(cms); empty without a TSA
    std::optional<std::uint64_t> log_index;  // transparency log leaf; none without a log
};

// The SEPBox seal: a key in the key store and its legal-person-seal certificate.
struct SealRecord {
    std::string key_id;
    Bytes certificate_der;
    TimePoint not_before;
    TimePoint not_after;
    TimePoint created_at;
};

// A new-mail notice waiting to go out by e-mail (the outbox survives restarts).
struct Notice {
    std::int64_t id = 0;
    std::string message_id;
    std::string to_address;
    std::string subject;
    std::string body;
    int attempts = 0;
    TimePoint next_attempt_at;
    TimePoint created_at;
};

struct ListFilter {
    std::optional<Category> category;
    bool unread_only = false;
    bool archived = false;  // false: the inbox; true: the archive
};

class SepboxRepository {
public:
    virtual ~SepboxRepository() = default;

    // Runs `fn` in one write transaction: every call made inside joins it; all or nothing.
    virtual Result<void> transaction(const std::function<Result<void>()>& fn) = 0;

    virtual Result<std::optional<Mailbox>> find_mailbox(std::string_view account_id) = 0;
    // ErrorCode::conflict when the account already has one.
    virtual Result<void> insert_mailbox(const Mailbox& mailbox) = 0;

    // Stores the message with all its parts.
    virtual Result<void> insert_message(const StoredMessage& message) = 0;
    // The message with its parts' metadata (not their content).
    virtual Result<std::optional<StoredMessage>> find_message(std::string_view id) = 0;
    // The sealed content of one part.
    virtual Result<std::optional<Bytes>> part_content(std::string_view message_id, int position) = 0;
    // A mailbox's messages matching the filter, newest first, with the subject part's content.
    virtual Result<std::vector<StoredMessage>> list_messages(std::string_view recipient_id,
                                                             const ListFilter& filter) = 0;

    // First opening: sets handed_over_at (and read_at) when not set yet; false when it was.
    virtual Result<bool> mark_handed_over(std::string_view id, TimePoint at) = 0;
    virtual Result<void> set_read(std::string_view id, std::optional<TimePoint> at) = 0;
    virtual Result<void> set_archived(std::string_view id, std::optional<TimePoint> at) = 0;
    // Records the recipient's decision when none is recorded yet; false when one was.
    virtual Result<bool> record_decision(std::string_view id, Decision decision, TimePoint at) = 0;
    // Official letters past their reply-by time without a decision.
    virtual Result<std::vector<std::string>> undecided_past(TimePoint now, std::size_t limit) = 0;

    virtual Result<void> insert_evidence(const EvidenceRecord& evidence) = 0;
    virtual Result<std::vector<EvidenceRecord>> evidence_for(std::string_view message_id) = 0;

    virtual Result<std::optional<SealRecord>> latest_seal() = 0;
    virtual Result<void> insert_seal(const SealRecord& seal) = 0;

    virtual Result<void> insert_notice(const Notice& notice) = 0;
    virtual Result<std::vector<Notice>> due_notices(TimePoint now, std::size_t limit) = 0;
    // Claims a due notice for one sender until `lease_until`, so that two processes sharing the
    // database do not both send it; false when another one claimed it first.
    virtual Result<bool> claim_notice(std::int64_t id, TimePoint now, TimePoint lease_until) = 0;
    virtual Result<void> notice_sent(std::int64_t id, TimePoint at) = 0;
    // Another attempt later (attempts counted), or given up when `next` is empty.
    virtual Result<void> notice_failed(std::int64_t id, int attempts, std::optional<TimePoint> next,
                                       std::string_view error) = 0;
};

}  // namespace selo::sepbox
