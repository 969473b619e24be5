#include "store/sql_certificate_binding.hpp"

#include "store/sql_util.hpp"

namespace selo::store {

Result<void> SqlCertificateBindingRepository::insert(const account::CertificateBinding& b) {
    return db_.transaction([&]() -> Result<void> {
        auto existing = SELO_TRY(find(b.issuer, b.serial_hex));
        if (existing) {
            return fail(ErrorCode::conflict, "certificate {} of CA '{}' is bound to account {} already",
                        b.serial_hex, b.issuer, existing->account_id);
        }
        SELO_TRY(db_.execute(
            "INSERT INTO certificate_bindings (issuer, serial, account_id, bound_by, bound_at) "
            "VALUES (?,?,?,?,?)",
            {b.issuer, b.serial_hex, b.account_id, b.bound_by, sql::secs(b.bound_at)}));
        return {};
    });
}

Result<std::optional<account::CertificateBinding>> SqlCertificateBindingRepository::find(
    std::string_view issuer, std::string_view serial_hex) {
    auto row = SELO_TRY(db_.query_one(
        "SELECT issuer, serial, account_id, bound_by, bound_at FROM certificate_bindings "
        "WHERE issuer = ? AND serial = ?",
        {std::string(issuer), std::string(serial_hex)}));
    if (!row) {
        return std::optional<account::CertificateBinding>{};
    }
    return std::optional<account::CertificateBinding>(account::CertificateBinding{
        SELO_TRY(row->text(0)), SELO_TRY(row->text(1)), SELO_TRY(row->text(2)), SELO_TRY(row->text(3)),
        sql::at(SELO_TRY(row->integer(4)))});
}

}  // namespace selo::store
