#include "store/sql_pki.hpp"

#include "store/sql_util.hpp"

namespace selo::store {

using sql::at;
using sql::blob;
using sql::secs;

// ---- certificate authorities -------------------------------------------------------------------

Result<void> SqlCaRepository::insert(const pki::CaRecord& ca) {
    Value parent = Null{};
    if (ca.parent) {
        parent = *ca.parent;
    }
    SELO_TRY(db_.execute(
        "INSERT INTO certificate_authorities (name, role, parent, key_id, certificate, created_at) "
        "VALUES (?,?,?,?,?,?)",
        {ca.name, ca.role, parent, ca.key_id, ca.certificate_der, secs(ca.created_at)}));
    return {};
}

namespace {
Result<pki::CaRecord> ca_from_row(const Row& r) {
    return pki::CaRecord{SELO_TRY(r.text(0)), SELO_TRY(r.text(1)), SELO_TRY(r.optional_text(2)), SELO_TRY(r.text(3)), SELO_TRY(r.blob(4)),
                         at(SELO_TRY(r.integer(5)))};
}
}  // namespace

Result<std::optional<pki::CaRecord>> SqlCaRepository::find(std::string_view name) {
    auto row = SELO_TRY(db_.query_one(
        "SELECT name, role, parent, key_id, certificate, created_at FROM certificate_authorities "
        "WHERE name = ?",
        {std::string(name)}));
    if (!row) {
        return std::optional<pki::CaRecord>{};
    }
    return std::optional<pki::CaRecord>(SELO_TRY(ca_from_row(*row)));
}

Result<std::vector<pki::CaRecord>> SqlCaRepository::list() {
    auto rows = SELO_TRY(db_.query(
        "SELECT name, role, parent, key_id, certificate, created_at FROM certificate_authorities "
        "ORDER BY created_at, name"));
    std::vector<pki::CaRecord> out;
    for (const auto& r : rows) {
        out.push_back(SELO_TRY(ca_from_row(r)));
    }
    return out;
}

Result<void> SqlCaRepository::replace_certificate(std::string_view name, std::string_view key_id,
                                                 ByteView certificate_der) {
    auto changed = SELO_TRY(db_.execute(
        "UPDATE certificate_authorities SET key_id = ?, certificate = ? WHERE name = ?",
        {std::string(key_id), Bytes(certificate_der.begin(), certificate_der.end()),
         std::string(name)}));
    if (changed != 1) {
        return fail(ErrorCode::not_found, "no CA named '{}'", name);
    }
    return {};
}

// ---- certificates ------------------------------------------------------------------------------

Result<void> SqlCertificateRepository::insert(const pki::CertificateRecord& c) {
    auto rc = db_.execute(
        "INSERT INTO certificates (issuer, serial, subject, profile, not_before, not_after, der, "
        "issued_at, status, revoked_at, revocation_reason) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
        {c.issuer, c.serial_hex, c.subject, c.profile, secs(c.not_before), secs(c.not_after), c.der,
         secs(c.issued_at), c.status,
         c.revoked_at ? Value(secs(*c.revoked_at)) : Value(Null{}),
         c.revocation_reason ? Value(static_cast<std::int64_t>(*c.revocation_reason)) : Value(Null{})});
    if (!rc) {
        return std::unexpected(rc.error());
    }
    return {};
}

namespace {

constexpr std::string_view kCertificateColumns =
    "issuer, serial, subject, profile, not_before, not_after, der, issued_at, status, revoked_at, "
    "revocation_reason";

Result<pki::CertificateRecord> certificate_from_row(const Row& r) {
    pki::CertificateRecord c{SELO_TRY(r.text(0)), SELO_TRY(r.text(1)), SELO_TRY(r.text(2)), SELO_TRY(r.text(3)), at(SELO_TRY(r.integer(4))),
                             at(SELO_TRY(r.integer(5))), SELO_TRY(r.blob(6)), at(SELO_TRY(r.integer(7))), SELO_TRY(r.text(8)),
                             std::nullopt, std::nullopt};
    if (auto t = SELO_TRY(r.optional_integer(9))) {
        c.revoked_at = at(*t);
    }
    if (auto reason = SELO_TRY(r.optional_integer(10))) {
        c.revocation_reason = static_cast<int>(*reason);
    }
    return c;
}

}  // namespace

Result<std::optional<pki::CertificateRecord>> SqlCertificateRepository::find(
    std::string_view issuer, std::string_view serial_hex) {
    auto row = SELO_TRY(db_.query_one(
        fmt::format("SELECT {} FROM certificates WHERE issuer = ? AND serial = ?", kCertificateColumns),
        {std::string(issuer), std::string(serial_hex)}));
    if (!row) {
        return std::optional<pki::CertificateRecord>{};
    }
    return std::optional<pki::CertificateRecord>(SELO_TRY(certificate_from_row(*row)));
}

Result<std::optional<pki::CertificateStatus>> SqlCertificateRepository::status(
    std::string_view issuer, std::string_view serial_hex) {
    auto row = SELO_TRY(db_.query_one(
        "SELECT status, revoked_at, revocation_reason, not_after FROM certificates "
        "WHERE issuer = ? AND serial = ?",
        {std::string(issuer), std::string(serial_hex)}));
    if (!row) {
        return std::optional<pki::CertificateStatus>{};
    }
    pki::CertificateStatus st{SELO_TRY(row->text(0)), std::nullopt, std::nullopt, at(SELO_TRY(row->integer(3)))};
    if (auto t = SELO_TRY(row->optional_integer(1))) {
        st.revoked_at = at(*t);
    }
    if (auto reason = SELO_TRY(row->optional_integer(2))) {
        st.revocation_reason = static_cast<int>(*reason);
    }
    return std::optional<pki::CertificateStatus>(st);
}

Result<void> SqlCertificateRepository::update_status(std::string_view issuer,
                                                     std::string_view serial_hex,
                                                     std::string_view expected_status,
                                                     const pki::CertificateStatus& st) {
    return db_.transaction([&]() -> Result<void> {
        auto changed = SELO_TRY(db_.execute(
            "UPDATE certificates SET status = ?, revoked_at = ?, revocation_reason = ? "
            "WHERE issuer = ? AND serial = ? AND status = ?",
            {st.status, st.revoked_at ? Value(secs(*st.revoked_at)) : Value(Null{}),
             st.revocation_reason ? Value(static_cast<std::int64_t>(*st.revocation_reason))
                                  : Value(Null{}),
             std::string(issuer), std::string(serial_hex), std::string(expected_status)}));
        if (changed != 1) {
            return fail(ErrorCode::conflict, "certificate {} of CA '{}' is no longer {}", serial_hex,
                        issuer, expected_status);
        }
        SELO_TRY(db_.execute(
            "INSERT INTO certificate_status_versions (issuer, version) VALUES (?, 1) "
            "ON CONFLICT (issuer) DO UPDATE SET version = version + 1",
            {std::string(issuer)}));
        return {};
    });
}

Result<std::vector<pki::RevokedEntry>> SqlCertificateRepository::revoked(std::string_view issuer) {
    auto rows = SELO_TRY(db_.query(
        "SELECT serial, revoked_at, revocation_reason FROM certificates "
        "WHERE issuer = ? AND status != 'valid'",
        {std::string(issuer)}));
    std::vector<pki::RevokedEntry> out;
    out.reserve(rows.size());
    for (const auto& r : rows) {
        out.push_back({SELO_TRY(r.text(0)), at(SELO_TRY(r.optional_integer(1)).value_or(0)),
                       static_cast<int>(SELO_TRY(r.optional_integer(2)).value_or(0))});
    }
    return out;
}

Result<std::int64_t> SqlCertificateRepository::status_version(std::string_view issuer) {
    auto row = SELO_TRY(db_.query_one(
        "SELECT version FROM certificate_status_versions WHERE issuer = ?", {std::string(issuer)}));
    return row ? SELO_TRY(row->integer(0)) : std::int64_t{0};
}

Result<std::int64_t> WatchedStatusVersions::version(std::string_view issuer) {
    std::lock_guard lock(mutex_);
    // A commit between the check and the read is read too, and seen again next time: the
    // versions are never older than the last commit before the call.
    if (SELO_TRY(watch_->changed()) || stale_) {
        stale_ = true;
        auto rows = SELO_TRY(watch_->connection().query("SELECT issuer, version FROM certificate_status_versions", {}));
        versions_.clear();
        for (const auto& r : rows) {
            versions_.emplace(SELO_TRY(r.text(0)), SELO_TRY(r.integer(1)));
        }
        stale_ = false;
    }
    auto it = versions_.find(issuer);
    return it == versions_.end() ? std::int64_t{0} : it->second;
}

Result<std::vector<pki::CertificateRecord>> SqlCertificateRepository::list(
    const pki::CertificateFilter& f) {
    std::string sql = fmt::format("SELECT {} FROM certificates WHERE 1 = 1", kCertificateColumns);
    std::vector<Value> params;
    if (!f.issuer.empty()) {
        sql += " AND issuer = ?";
        params.emplace_back(f.issuer);
    }
    if (!f.status.empty()) {
        sql += " AND status = ?";
        params.emplace_back(f.status);
    }
    if (!f.serial_hex.empty()) {
        sql += " AND serial = ?";
        params.emplace_back(f.serial_hex);
    }
    sql += " ORDER BY issued_at DESC, serial LIMIT ?";
    params.emplace_back(static_cast<std::int64_t>(f.limit));
    auto rows = SELO_TRY(db_.query(sql, params));
    std::vector<pki::CertificateRecord> out;
    out.reserve(rows.size());
    for (const auto& r : rows) {
        out.push_back(SELO_TRY(certificate_from_row(r)));
    }
    return out;
}

// ---- CRLs and OCSP responders ------------------------------------------------------------------

Result<std::optional<pki::CrlRecord>> SqlCrlRepository::latest(std::string_view issuer) {
    auto row = SELO_TRY(db_.query_one(
        "SELECT issuer, number, this_update, next_update, status_version, der FROM crls "
        "WHERE issuer = ? ORDER BY number DESC LIMIT 1",
        {std::string(issuer)}));
    if (!row) {
        return std::optional<pki::CrlRecord>{};
    }
    const Row& r = *row;
    return std::optional<pki::CrlRecord>(pki::CrlRecord{
        SELO_TRY(r.text(0)), SELO_TRY(r.integer(1)), at(SELO_TRY(r.integer(2))), at(SELO_TRY(r.integer(3))), SELO_TRY(r.integer(4)), SELO_TRY(r.blob(5))});
}

Result<void> SqlCrlRepository::insert(const pki::CrlRecord& c) {
    auto rc = db_.execute(
        "INSERT INTO crls (issuer, number, this_update, next_update, status_version, der) "
        "VALUES (?,?,?,?,?,?)",
        {c.issuer, c.number, secs(c.this_update), secs(c.next_update), c.status_version, c.der});
    if (!rc) {
        return std::unexpected(rc.error());
    }
    return {};
}

Result<void> SqlResponderRepository::insert(const pki::ResponderRecord& r) {
    SELO_TRY(db_.execute(
        "INSERT INTO ocsp_responders (issuer, serial, key_id, created_at) VALUES (?,?,?,?)",
        {r.issuer, r.serial_hex, r.key_id, secs(r.created_at)}));
    return {};
}

Result<std::optional<pki::ResponderRecord>> SqlResponderRepository::latest(std::string_view issuer) {
    auto row = SELO_TRY(db_.query_one(
        "SELECT issuer, serial, key_id, created_at FROM ocsp_responders WHERE issuer = ? "
        "ORDER BY created_at DESC, rowid DESC LIMIT 1",
        {std::string(issuer)}));
    if (!row) {
        return std::optional<pki::ResponderRecord>{};
    }
    return std::optional<pki::ResponderRecord>(
        pki::ResponderRecord{SELO_TRY(row->text(0)), SELO_TRY(row->text(1)), SELO_TRY(row->text(2)), at(SELO_TRY(row->integer(3)))});
}

}  // namespace selo::store
