#include "store/sql_sepbox.hpp"

#include "store/sql_util.hpp"

namespace selo::store {

using sql::at;
using sql::secs;

namespace {

constexpr std::string_view kMessageColumns =
    "id, recipient_id, sender_id, sender_name, category, sender_reference, reply_by, received_at, "
    "read_at, archived_at, handed_over_at, decision, decided_at, sealed_key";

Value optional_time(const std::optional<TimePoint>& t) {
    if (t) {
        return secs(*t);
    }
    return Null{};
}

Result<std::optional<TimePoint>> time_or_none(const Row& r, std::size_t i) {
    if (auto v = SELO_TRY(r.optional_integer(i))) {
        return std::optional<TimePoint>(at(*v));
    }
    return std::optional<TimePoint>{};
}

std::string_view decision_label(sepbox::Decision d) {
    switch (d) {
        case sepbox::Decision::accepted: return "accepted";
        case sepbox::Decision::rejected: return "rejected";
        case sepbox::Decision::expired: return "expired";
        case sepbox::Decision::none: break;
    }
    return "";
}

Result<sepbox::Decision> decision_from(const std::optional<std::string>& s) {
    if (!s) {
        return sepbox::Decision::none;
    }
    for (auto d : {sepbox::Decision::accepted, sepbox::Decision::rejected, sepbox::Decision::expired}) {
        if (decision_label(d) == *s) {
            return d;
        }
    }
    return fail(ErrorCode::internal, "unknown decision '{}' in the database", *s);
}

Result<sepbox::Event> event_from(std::string_view s) {
    for (auto e : {sepbox::Event::submission_acceptance, sepbox::Event::submission_rejection,
                   sepbox::Event::content_consignment, sepbox::Event::content_handover,
                   sepbox::Event::consignment_acceptance, sepbox::Event::consignment_rejection,
                   sepbox::Event::acceptance_rejection_expiry}) {
        if (sepbox::event_name(e) == s) {
            return e;
        }
    }
    return fail(ErrorCode::internal, "unknown evidence event '{}' in the database", s);
}

Result<sepbox::StoredMessage> message_from(const Row& r) {
    sepbox::StoredMessage m;
    m.id = SELO_TRY(r.text(0));
    m.recipient_id = SELO_TRY(r.text(1));
    m.sender_id = SELO_TRY(r.text(2));
    m.sender_name = SELO_TRY(r.text(3));
    m.category = SELO_TRY(sepbox::category_from_name(SELO_TRY(r.text(4))));
    m.sender_reference = SELO_TRY(r.text(5));
    m.reply_by = SELO_TRY(time_or_none(r, 6));
    m.received_at = at(SELO_TRY(r.integer(7)));
    m.read_at = SELO_TRY(time_or_none(r, 8));
    m.archived_at = SELO_TRY(time_or_none(r, 9));
    m.handed_over_at = SELO_TRY(time_or_none(r, 10));
    m.decision = SELO_TRY(decision_from(SELO_TRY(r.optional_text(11))));
    m.decided_at = SELO_TRY(time_or_none(r, 12));
    m.sealed_key = SELO_TRY(r.blob(13));
    return m;
}

}  // namespace

Result<void> SqlSepboxRepository::transaction(const std::function<Result<void>()>& fn) {
    return db_.transaction(fn);
}

Result<std::optional<sepbox::Mailbox>> SqlSepboxRepository::find_mailbox(std::string_view account_id) {
    auto row = SELO_TRY(db_.query_one(
        "SELECT account_id, sealed_key, created_at FROM sepbox_mailboxes WHERE account_id = ?",
        {std::string(account_id)}));
    if (!row) {
        return std::optional<sepbox::Mailbox>{};
    }
    return std::optional<sepbox::Mailbox>(sepbox::Mailbox{SELO_TRY(row->text(0)), SELO_TRY(row->blob(1)), at(SELO_TRY(row->integer(2)))});
}

Result<void> SqlSepboxRepository::insert_mailbox(const sepbox::Mailbox& m) {
    SELO_TRY(db_.execute("INSERT INTO sepbox_mailboxes (account_id, sealed_key, created_at) VALUES (?,?,?)",
                         {m.account_id, m.sealed_key, secs(m.created_at)}));
    return {};
}

Result<void> SqlSepboxRepository::insert_message(const sepbox::StoredMessage& m) {
    return db_.transaction([&]() -> Result<void> {
        SELO_TRY(db_.execute(
            fmt::format("INSERT INTO sepbox_messages ({}) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)", kMessageColumns),
            {m.id, m.recipient_id, m.sender_id, m.sender_name,
             std::string(sepbox::category_name(m.category)), m.sender_reference,
             optional_time(m.reply_by), secs(m.received_at), optional_time(m.read_at),
             optional_time(m.archived_at), optional_time(m.handed_over_at),
             m.decision == sepbox::Decision::none ? Value(Null{}) : Value(std::string(decision_label(m.decision))),
             optional_time(m.decided_at), m.sealed_key}));
        for (const auto& p : m.parts) {
            SELO_TRY(db_.execute(
                "INSERT INTO sepbox_parts (message_id, position, name, media_type, sealed_filename, "
                "size, sha256, sealed) VALUES (?,?,?,?,?,?,?,?)",
                {m.id, static_cast<std::int64_t>(p.position), p.name, p.media_type,
                 p.sealed_filename.empty() ? Value(Null{}) : Value(p.sealed_filename),
                 static_cast<std::int64_t>(p.size), p.sha256, p.sealed}));
        }
        return {};
    });
}

Result<std::vector<sepbox::StoredPart>> SqlSepboxRepository::parts_of(std::string_view message_id,
                                                                      bool subject_content) {
    auto rows = SELO_TRY(db_.query(
        "SELECT position, name, media_type, sealed_filename, size, sha256, "
        "CASE WHEN ? = 1 AND name = 'subject' THEN sealed ELSE NULL END "
        "FROM sepbox_parts WHERE message_id = ? ORDER BY position",
        {static_cast<std::int64_t>(subject_content ? 1 : 0), std::string(message_id)}));
    std::vector<sepbox::StoredPart> parts;
    for (const auto& r : rows) {
        sepbox::StoredPart p;
        p.position = static_cast<int>(SELO_TRY(r.integer(0)));
        p.name = SELO_TRY(r.text(1));
        p.media_type = SELO_TRY(r.text(2));
        if (!r.is_null(3)) {
            p.sealed_filename = SELO_TRY(r.blob(3));
        }
        p.size = static_cast<std::uint64_t>(SELO_TRY(r.integer(4)));
        p.sha256 = SELO_TRY(r.blob(5));
        if (!r.is_null(6)) {
            p.sealed = SELO_TRY(r.blob(6));
        }
        parts.push_back(std::move(p));
    }
    return parts;
}

Result<std::optional<sepbox::StoredMessage>> SqlSepboxRepository::find_message(std::string_view id) {
    auto row = SELO_TRY(db_.query_one(
        fmt::format("SELECT {} FROM sepbox_messages WHERE id = ?", kMessageColumns), {std::string(id)}));
    if (!row) {
        return std::optional<sepbox::StoredMessage>{};
    }
    auto m = SELO_TRY(message_from(*row));
    m.parts = SELO_TRY(parts_of(m.id, true));
    return std::optional<sepbox::StoredMessage>(std::move(m));
}

Result<std::optional<Bytes>> SqlSepboxRepository::part_content(std::string_view message_id, int position) {
    auto row = SELO_TRY(db_.query_one("SELECT sealed FROM sepbox_parts WHERE message_id = ? AND position = ?",
                                      {std::string(message_id), static_cast<std::int64_t>(position)}));
    if (!row) {
        return std::optional<Bytes>{};
    }
    return std::optional<Bytes>(SELO_TRY(row->blob(0)));
}

namespace {
std::string mailbox_where(const sepbox::ListFilter& f, std::string_view recipient_id, std::vector<Value>& params) {
    std::string sql = fmt::format(" WHERE recipient_id = ? AND archived_at IS {}", f.archived ? "NOT NULL" : "NULL");
    params.emplace_back(std::string(recipient_id));
    if (f.category) {
        sql += " AND category = ?";
        params.emplace_back(std::string(sepbox::category_name(*f.category)));
    }
    if (f.unread_only) {
        sql += " AND read_at IS NULL";
    }
    return sql;
}
}  // namespace

Result<std::vector<sepbox::StoredMessage>> SqlSepboxRepository::list_messages(
    std::string_view recipient_id, const sepbox::ListFilter& f, std::size_t limit, std::size_t offset) {
    std::vector<Value> params;
    std::string sql = fmt::format("SELECT {} FROM sepbox_messages", kMessageColumns) +
                      mailbox_where(f, recipient_id, params) + " ORDER BY received_at DESC, rowid DESC";
    if (limit > 0) {
        sql += " LIMIT ? OFFSET ?";
        params.emplace_back(static_cast<std::int64_t>(limit));
        params.emplace_back(static_cast<std::int64_t>(offset));
    }
    auto rows = SELO_TRY(db_.query(sql, params));
    std::vector<sepbox::StoredMessage> out;
    out.reserve(rows.size());
    for (const auto& r : rows) {
        auto m = SELO_TRY(message_from(r));
        m.parts = SELO_TRY(parts_of(m.id, true));
        out.push_back(std::move(m));
    }
    return out;
}

Result<std::size_t> SqlSepboxRepository::count_messages(std::string_view recipient_id,
                                                        const sepbox::ListFilter& f) {
    std::vector<Value> params;
    auto row = SELO_TRY(db_.query_one("SELECT COUNT(*) FROM sepbox_messages" + mailbox_where(f, recipient_id, params),
                                      params));
    return static_cast<std::size_t>(row ? SELO_TRY(row->integer(0)) : 0);
}

Result<bool> SqlSepboxRepository::mark_handed_over(std::string_view id, TimePoint t) {
    auto n = SELO_TRY(db_.execute(
        "UPDATE sepbox_messages SET handed_over_at = ?, read_at = COALESCE(read_at, ?) "
        "WHERE id = ? AND handed_over_at IS NULL",
        {secs(t), secs(t), std::string(id)}));
    return n == 1;
}

Result<void> SqlSepboxRepository::set_read(std::string_view id, std::optional<TimePoint> t) {
    SELO_TRY(db_.execute("UPDATE sepbox_messages SET read_at = ? WHERE id = ?", {optional_time(t), std::string(id)}));
    return {};
}

Result<void> SqlSepboxRepository::set_archived(std::string_view id, std::optional<TimePoint> t) {
    SELO_TRY(db_.execute("UPDATE sepbox_messages SET archived_at = ? WHERE id = ?",
                         {optional_time(t), std::string(id)}));
    return {};
}

Result<bool> SqlSepboxRepository::record_decision(std::string_view id, sepbox::Decision d, TimePoint t) {
    auto n = SELO_TRY(db_.execute(
        "UPDATE sepbox_messages SET decision = ?, decided_at = ? WHERE id = ? AND decision IS NULL",
        {std::string(decision_label(d)), secs(t), std::string(id)}));
    return n == 1;
}

Result<std::vector<std::string>> SqlSepboxRepository::undecided_past(TimePoint now, std::size_t limit) {
    auto rows = SELO_TRY(db_.query(
        "SELECT id FROM sepbox_messages WHERE decision IS NULL AND reply_by IS NOT NULL AND "
        "reply_by <= ? AND category = 'official-letter' ORDER BY reply_by LIMIT ?",
        {secs(now), static_cast<std::int64_t>(limit)}));
    std::vector<std::string> ids;
    for (const auto& r : rows) {
        ids.push_back(SELO_TRY(r.text(0)));
    }
    return ids;
}

Result<void> SqlSepboxRepository::insert_evidence(const sepbox::EvidenceRecord& e) {
    Value log_index = Null{};
    if (e.log_index) {
        log_index = static_cast<std::int64_t>(*e.log_index);
    }
    SELO_TRY(db_.execute(
        "INSERT INTO sepbox_evidence (id, message_id, sender_id, recipient_id, event, at, canonical, "
        "cms, timestamp_token, log_index, seq) VALUES (?,?,?,?,?,?,?,?,?,?, "
        "(SELECT COALESCE(MAX(seq), 0) + 1 FROM sepbox_evidence))",
        {e.id, e.message_id, e.sender_id, e.recipient_id, std::string(sepbox::event_name(e.event)),
         secs(e.at), e.canonical, e.cms,
         e.timestamp_token.empty() ? Value(Null{}) : Value(e.timestamp_token), log_index}));
    return {};
}

Result<std::vector<sepbox::EvidenceRecord>> SqlSepboxRepository::evidence_for(std::string_view message_id) {
    auto rows = SELO_TRY(db_.query(
        "SELECT id, message_id, sender_id, recipient_id, event, at, canonical, cms, timestamp_token, "
        "log_index FROM sepbox_evidence WHERE message_id = ? ORDER BY seq",
        {std::string(message_id)}));
    std::vector<sepbox::EvidenceRecord> out;
    for (const auto& r : rows) {
        sepbox::EvidenceRecord e;
        e.id = SELO_TRY(r.text(0));
        e.message_id = SELO_TRY(r.text(1));
        e.sender_id = SELO_TRY(r.text(2));
        e.recipient_id = SELO_TRY(r.text(3));
        e.event = SELO_TRY(event_from(SELO_TRY(r.text(4))));
        e.at = at(SELO_TRY(r.integer(5)));
        e.canonical = SELO_TRY(r.blob(6));
        e.cms = SELO_TRY(r.blob(7));
        if (!r.is_null(8)) {
            e.timestamp_token = SELO_TRY(r.blob(8));
        }
        if (auto i = SELO_TRY(r.optional_integer(9))) {
            e.log_index = static_cast<std::uint64_t>(*i);
        }
        out.push_back(std::move(e));
    }
    return out;
}

Result<std::optional<sepbox::SealRecord>> SqlSepboxRepository::latest_seal() {
    auto row = SELO_TRY(db_.query_one(
        "SELECT key_id, certificate, not_before, not_after, created_at FROM sepbox_seals "
        "ORDER BY not_after DESC, rowid DESC LIMIT 1"));
    if (!row) {
        return std::optional<sepbox::SealRecord>{};
    }
    return std::optional<sepbox::SealRecord>(sepbox::SealRecord{
        SELO_TRY(row->text(0)), SELO_TRY(row->blob(1)), at(SELO_TRY(row->integer(2))), at(SELO_TRY(row->integer(3))), at(SELO_TRY(row->integer(4)))});
}

Result<void> SqlSepboxRepository::insert_seal(const sepbox::SealRecord& s) {
    SELO_TRY(db_.execute(
        "INSERT INTO sepbox_seals (key_id, certificate, not_before, not_after, created_at) VALUES (?,?,?,?,?)",
        {s.key_id, s.certificate_der, secs(s.not_before), secs(s.not_after), secs(s.created_at)}));
    return {};
}

Result<void> SqlSepboxRepository::insert_notice(const sepbox::Notice& n) {
    SELO_TRY(db_.execute(
        "INSERT INTO sepbox_outbox (message_id, to_address, subject, body, attempts, next_attempt_at, "
        "created_at) VALUES (?,?,?,?,?,?,?)",
        {n.message_id, n.to_address, n.subject, n.body, static_cast<std::int64_t>(n.attempts),
         secs(n.next_attempt_at), secs(n.created_at)}));
    return {};
}

Result<std::vector<sepbox::Notice>> SqlSepboxRepository::due_notices(TimePoint now, std::size_t limit) {
    auto rows = SELO_TRY(db_.query(
        "SELECT id, message_id, to_address, subject, body, attempts, next_attempt_at, created_at "
        "FROM sepbox_outbox WHERE sent_at IS NULL AND next_attempt_at IS NOT NULL AND "
        "next_attempt_at <= ? ORDER BY next_attempt_at, id LIMIT ?",
        {secs(now), static_cast<std::int64_t>(limit)}));
    std::vector<sepbox::Notice> out;
    for (const auto& r : rows) {
        out.push_back({SELO_TRY(r.integer(0)), SELO_TRY(r.text(1)), SELO_TRY(r.text(2)), SELO_TRY(r.text(3)), SELO_TRY(r.text(4)),
                       static_cast<int>(SELO_TRY(r.integer(5))), at(SELO_TRY(r.integer(6))), at(SELO_TRY(r.integer(7)))});
    }
    return out;
}

Result<bool> SqlSepboxRepository::claim_notice(std::int64_t id, TimePoint now, TimePoint lease_until) {
    auto n = SELO_TRY(db_.execute(
        "UPDATE sepbox_outbox SET next_attempt_at = ? WHERE id = ? AND sent_at IS NULL AND "
        "next_attempt_at IS NOT NULL AND next_attempt_at <= ?",
        {secs(lease_until), id, secs(now)}));
    return n == 1;
}

Result<void> SqlSepboxRepository::notice_sent(std::int64_t id, TimePoint t) {
    SELO_TRY(db_.execute("UPDATE sepbox_outbox SET sent_at = ?, attempts = attempts + 1, "
                         "next_attempt_at = NULL, last_error = NULL WHERE id = ?",
                         {secs(t), id}));
    return {};
}

Result<void> SqlSepboxRepository::notice_failed(std::int64_t id, int attempts,
                                                std::optional<TimePoint> next, std::string_view error) {
    SELO_TRY(db_.execute("UPDATE sepbox_outbox SET attempts = ?, next_attempt_at = ?, last_error = ? WHERE id = ?",
                         {static_cast<std::int64_t>(attempts), optional_time(next), std::string(error), id}));
    return {};
}

}  // namespace selo::store
