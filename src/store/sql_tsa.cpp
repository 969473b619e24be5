#include "store/sql_tsa.hpp"

#include "store/sql_util.hpp"

namespace selo::store {

Result<std::optional<tsa::UnitRecord>> SqlTsaUnitRepository::find(std::string_view name) {
    auto row = SELO_TRY(db_.query_one(
        "SELECT name, key_id, certificate, created_at FROM tsa_units WHERE name = ?",
        {std::string(name)}));
    if (!row) {
        return std::optional<tsa::UnitRecord>{};
    }
    return std::optional<tsa::UnitRecord>(
        tsa::UnitRecord{SELO_TRY(row->text(0)), SELO_TRY(row->text(1)), SELO_TRY(row->blob(2)), sql::at(SELO_TRY(row->integer(3)))});
}

Result<void> SqlTsaUnitRepository::insert(const tsa::UnitRecord& r) {
    SELO_TRY(db_.execute(
        "INSERT INTO tsa_units (name, key_id, certificate, created_at) VALUES (?,?,?,?)",
        {r.name, r.key_id, r.certificate_der, sql::secs(r.created_at)}));
    return {};
}

Result<void> SqlTsaUnitRepository::replace(const tsa::UnitRecord& r) {
    auto changed = SELO_TRY(db_.execute(
        "UPDATE tsa_units SET key_id = ?, certificate = ?, created_at = ? WHERE name = ?",
        {r.key_id, r.certificate_der, sql::secs(r.created_at), r.name}));
    if (changed == 0) {
        return fail(ErrorCode::not_found, "no time-stamping unit '{}'", r.name);
    }
    return {};
}

Result<std::vector<Bytes>> SqlTsaUnitRepository::certificates(std::string_view name) {
    auto rows = SELO_TRY(db_.query("SELECT certificate FROM tsa_unit_certificates WHERE name = ? ORDER BY id",
                                   {std::string(name)}));
    std::vector<Bytes> out;
    out.reserve(rows.size());
    for (const auto& r : rows) {
        out.push_back(SELO_TRY(r.blob(0)));
    }
    return out;
}

namespace {
constexpr std::string_view kEpcmColumns =
    "id, transaction_id, sequence, event, submitter, digest_algorithm, digest, details, "
    "signature_status, signature_detail, time_ms, receipt, token";

Result<tsa::EpcmEvent> epcm_from_row(const Row& r) {
    tsa::EpcmEvent e;
    e.id = SELO_TRY(r.text(0));
    e.transaction_id = SELO_TRY(r.text(1));
    e.sequence = static_cast<std::uint32_t>(SELO_TRY(r.integer(2)));
    e.event = SELO_TRY(r.text(3));
    e.submitter = SELO_TRY(r.text(4));
    e.algorithm = SELO_TRY(sql::digest_from_label(SELO_TRY(r.text(5))));
    e.digest = SELO_TRY(r.blob(6));
    e.details = SELO_TRY(r.text(7));
    e.validation = {SELO_TRY(r.text(8)), SELO_TRY(r.text(9))};
    e.time = TimePoint(std::chrono::milliseconds(SELO_TRY(r.integer(10))));
    e.receipt = SELO_TRY(r.blob(11));
    e.token = SELO_TRY(r.blob(12));
    return e;
}
}  // namespace

Result<void> SqlEpcmRepository::insert(const tsa::EpcmEvent& e) {
    auto rc = db_.execute(
        fmt::format("INSERT INTO epcm_events ({}) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)", kEpcmColumns),
        {e.id, e.transaction_id, static_cast<std::int64_t>(e.sequence), e.event, e.submitter,
         std::string(sql::digest_label(e.algorithm)), e.digest, e.details, e.validation.status,
         e.validation.detail,
         std::chrono::duration_cast<std::chrono::milliseconds>(e.time.time_since_epoch()).count(), e.receipt,
         e.token});
    if (!rc && rc.error().code == ErrorCode::conflict) {
        // UNIQUE (transaction_id, sequence), or the id: SQLite's wording is no caller's business.
        return fail(ErrorCode::conflict, "transaction {} has an event with sequence number {} already",
                    e.transaction_id, e.sequence);
    }
    if (!rc) {
        return std::unexpected(rc.error());
    }
    return {};
}

Result<std::optional<tsa::EpcmEvent>> SqlEpcmRepository::find(std::string_view id) {
    auto row = SELO_TRY(db_.query_one(fmt::format("SELECT {} FROM epcm_events WHERE id = ?", kEpcmColumns),
                                      {std::string(id)}));
    if (!row) {
        return std::optional<tsa::EpcmEvent>{};
    }
    return std::optional<tsa::EpcmEvent>(SELO_TRY(epcm_from_row(*row)));
}

Result<std::vector<tsa::EpcmEvent>> SqlEpcmRepository::transaction(std::string_view transaction_id) {
    auto rows = SELO_TRY(db_.query(
        fmt::format("SELECT {} FROM epcm_events WHERE transaction_id = ? ORDER BY sequence", kEpcmColumns),
        {std::string(transaction_id)}));
    std::vector<tsa::EpcmEvent> out;
    for (const auto& r : rows) {
        out.push_back(SELO_TRY(epcm_from_row(r)));
    }
    return out;
}

}  // namespace selo::store
