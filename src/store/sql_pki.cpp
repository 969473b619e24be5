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
pki::CaRecord ca_from_row(const Row& r) {
    return pki::CaRecord{r.text(0), r.text(1), r.optional_text(2), r.text(3), r.blob(4),
                         at(r.integer(5))};
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
    return std::optional<pki::CaRecord>(ca_from_row(*row));
}

Result<std::vector<pki::CaRecord>> SqlCaRepository::list() {
    auto rows = SELO_TRY(db_.query(
        "SELECT name, role, parent, key_id, certificate, created_at FROM certificate_authorities "
        "ORDER BY created_at, name"));
    std::vector<pki::CaRecord> out;
    for (const auto& r : rows) {
        out.push_back(ca_from_row(r));
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
        "issued_at, status) VALUES (?,?,?,?,?,?,?,?,?)",
        {c.issuer, c.serial_hex, c.subject, c.profile, secs(c.not_before), secs(c.not_after), c.der,
         secs(c.issued_at), c.status});
    if (!rc) {
        return std::unexpected(rc.error());
    }
    return {};
}

Result<std::optional<pki::CertificateRecord>> SqlCertificateRepository::find(
    std::string_view issuer, std::string_view serial_hex) {
    auto row = SELO_TRY(db_.query_one(
        "SELECT issuer, serial, subject, profile, not_before, not_after, der, issued_at, status "
        "FROM certificates WHERE issuer = ? AND serial = ?",
        {std::string(issuer), std::string(serial_hex)}));
    if (!row) {
        return std::optional<pki::CertificateRecord>{};
    }
    const Row& r = *row;
    return std::optional<pki::CertificateRecord>(pki::CertificateRecord{
        r.text(0), r.text(1), r.text(2), r.text(3), at(r.integer(4)), at(r.integer(5)), r.blob(6),
        at(r.integer(7)), r.text(8)});
}

}  // namespace selo::store
