#pragma once
// SQL repository: SEPBox mailboxes, messages, parts, evidence, seals and the notice outbox.

#include "sepbox/message.hpp"
#include "store/database.hpp"

namespace selo::store {

class SqlSepboxRepository final : public sepbox::SepboxRepository {
public:
    explicit SqlSepboxRepository(Database& db) : db_(db) {}

    Result<void> transaction(const std::function<Result<void>()>& fn) override;
    Result<std::optional<sepbox::Mailbox>> find_mailbox(std::string_view account_id) override;
    Result<void> insert_mailbox(const sepbox::Mailbox& mailbox) override;
    Result<void> insert_message(const sepbox::StoredMessage& message) override;
    Result<std::optional<sepbox::StoredMessage>> find_message(std::string_view id) override;
    Result<std::optional<Bytes>> part_content(std::string_view message_id, int position) override;
    Result<std::vector<sepbox::StoredMessage>> list_messages(std::string_view recipient_id,
                                                             const sepbox::ListFilter& filter) override;
    Result<bool> mark_handed_over(std::string_view id, TimePoint at) override;
    Result<void> set_read(std::string_view id, std::optional<TimePoint> at) override;
    Result<void> set_archived(std::string_view id, std::optional<TimePoint> at) override;
    Result<bool> record_decision(std::string_view id, sepbox::Decision decision, TimePoint at) override;
    Result<std::vector<std::string>> undecided_past(TimePoint now, std::size_t limit) override;
    Result<void> insert_evidence(const sepbox::EvidenceRecord& evidence) override;
    Result<std::vector<sepbox::EvidenceRecord>> evidence_for(std::string_view message_id) override;
    Result<std::optional<sepbox::SealRecord>> latest_seal() override;
    Result<void> insert_seal(const sepbox::SealRecord& seal) override;
    Result<void> insert_notice(const sepbox::Notice& notice) override;
    Result<std::vector<sepbox::Notice>> due_notices(TimePoint now, std::size_t limit) override;
    Result<bool> claim_notice(std::int64_t id, TimePoint now, TimePoint lease_until) override;
    Result<void> notice_sent(std::int64_t id, TimePoint at) override;
    Result<void> notice_failed(std::int64_t id, int attempts, std::optional<TimePoint> next,
                               std::string_view error) override;

private:
    Result<std::vector<sepbox::StoredPart>> parts_of(std::string_view message_id, bool subject_content);
    Database& db_;
};

}  // namespace selo::store
