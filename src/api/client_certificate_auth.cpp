#include "api/client_certificate_auth.hpp"

#include <openssl/err.h>
#include <openssl/x509_vfy.h>

#include "crypto/openssl.hpp"

namespace selo::api {

ClientCertificateAuthenticator::ClientCertificateAuthenticator(
    std::string issuer_name, pki::Certificate issuer, std::string root_name, pki::Certificate root,
    pki::CertificateRepository& certificates, account::CertificateBindingRepository& bindings,
    account::AccountService& accounts, const Clock& clock)
    : issuer_name_(std::move(issuer_name)), issuer_(std::move(issuer)), root_name_(std::move(root_name)),
      root_(std::move(root)), certificates_(certificates), bindings_(bindings), accounts_(accounts),
      clock_(clock) {}

Result<std::string> ClientCertificateAuthenticator::check_certificate(std::string_view der) const {
    auto cert = pki::Certificate::from_der(as_bytes(der));
    if (!cert) {
        return fail(ErrorCode::unauthorized, "the client certificate cannot be parsed: {}",
                    cert.error().message);
    }
    // RFC 5280 §6 path validation to Selo's root through the institutions CA alone: the only
    // intermediate offered is that CA, and the chain must end with it right above the leaf, so a
    // certificate of another Selo CA, or of a foreign CA, does not validate.
    crypto::X509StorePtr store(::X509_STORE_new());
    crypto::X509StoreCtxPtr ctx(::X509_STORE_CTX_new());
    STACK_OF(X509)* untrusted = sk_X509_new_null();
    if (!store || !ctx || !untrusted || ::X509_STORE_add_cert(store.get(), root_.x509()) != 1 ||
        sk_X509_push(untrusted, issuer_.x509()) <= 0 ||
        ::X509_STORE_CTX_init(ctx.get(), store.get(), cert->x509(), untrusted) != 1) {
        sk_X509_free(untrusted);
        return std::unexpected(crypto::openssl_error(ErrorCode::internal, "client certificate check"));
    }
    X509_VERIFY_PARAM* param = ::X509_STORE_CTX_get0_param(ctx.get());
    ::X509_VERIFY_PARAM_set_time(param, static_cast<time_t>(unix_seconds(clock_.now())));
    ::X509_VERIFY_PARAM_set_flags(param, X509_V_FLAG_X509_STRICT);
    ::X509_STORE_CTX_set_purpose(ctx.get(), X509_PURPOSE_SSL_CLIENT);
    int ok = ::X509_verify_cert(ctx.get());
    int code = ::X509_STORE_CTX_get_error(ctx.get());
    STACK_OF(X509)* chain = ::X509_STORE_CTX_get0_chain(ctx.get());
    bool through_issuer = ok == 1 && chain && sk_X509_num(chain) == 3 &&
                          ::X509_cmp(sk_X509_value(chain, 1), issuer_.x509()) == 0;
    sk_X509_free(untrusted);
    ::ERR_clear_error();
    if (ok != 1) {
        return fail(ErrorCode::unauthorized,
                    "the client certificate is not accepted: {} (only certificates of Selo's {} CA "
                    "are)",
                    ::X509_verify_cert_error_string(code), issuer_name_);
    }
    if (!through_issuer) {
        return fail(ErrorCode::unauthorized,
                    "the client certificate was not issued by Selo's {} CA", issuer_name_);
    }
    // RFC 5280 §6.3: no certificate of the path may be revoked, the issuing CA's included; the
    // root issued it, so the root's records hold its status.
    auto ca_status = certificates_.status(root_name_, issuer_.serial_hex());
    if (!ca_status) {
        return std::unexpected(ca_status.error());
    }
    if (!*ca_status || (*ca_status)->status != "valid") {
        return fail(ErrorCode::unauthorized,
                    "the client certificate's issuer, Selo's {} CA, has a certificate that is {}",
                    issuer_name_, *ca_status ? (*ca_status)->status : "not in Selo's records");
    }
    std::string serial = cert->serial_hex();
    auto status = certificates_.status(issuer_name_, serial);
    if (!status) {
        return std::unexpected(status.error());
    }
    if (!*status) {
        return fail(ErrorCode::unauthorized,
                    "the client certificate (serial {}) is not one Selo's {} CA has issued",
                    serial, issuer_name_);
    }
    if ((*status)->status != "valid") {
        return fail(ErrorCode::unauthorized, "the client certificate (serial {}) is {}", serial,
                    (*status)->status);
    }
    return serial;
}

Result<account::Account> ClientCertificateAuthenticator::bound_agency(const std::string& serial) {
    auto binding = SELO_TRY(bindings_.find(issuer_name_, serial));
    if (!binding) {
        return fail(ErrorCode::unauthorized,
                    "the client certificate (serial {}) is not bound to an account; an "
                    "administrator binds it with `selo account bind-certificate`",
                    serial);
    }
    auto account = accounts_.find(binding->account_id);
    if (!account) {
        if (account.error().code != ErrorCode::not_found) {
            return std::unexpected(account.error());
        }
        return fail(ErrorCode::unauthorized, "{}", account.error().message);
    }
    if (!account->has_role(account::Role::agency)) {
        return fail(ErrorCode::unauthorized,
                    "the client certificate is bound to account {}, which is not an agency: "
                    "certificates sign in agencies only",
                    account->id);
    }
    return std::move(*account);
}

bool ClientCertificateAuthenticator::accepts(std::string_view der) {
    auto serial = check_certificate(der);
    return serial && bound_agency(*serial).has_value();
}

Result<account::Principal> ClientCertificateAuthenticator::authenticate(
    std::string_view der, const http::RequestContext& context) {
    // The audit subject: "<CA name>:<serial>" for a certificate naming the institutions CA as
    // issuer (as the binding and certificate.* rows do), else "<issuer DN>:<serial>".
    std::string subject = "unparsable certificate";
    if (auto cert = pki::Certificate::from_der(as_bytes(der))) {
        subject = fmt::format("{}:{}", cert->issuer() == issuer_.subject() ? issuer_name_ : cert->issuer(),
                              cert->serial_hex());
    }
    auto refuse = [&](const Error& e) -> Result<account::Principal> {
        accounts_.audit({"anonymous", "auth.certificate.failure", subject,
                         fmt::format("from {}: {}", context.remote_address, e.message)});
        return std::unexpected(e);
    };
    auto serial = check_certificate(der);
    if (!serial) {
        if (serial.error().code != ErrorCode::unauthorized) {
            return std::unexpected(serial.error());
        }
        return refuse(serial.error());
    }
    auto account = bound_agency(*serial);
    if (!account) {
        if (account.error().code != ErrorCode::unauthorized) {
            return std::unexpected(account.error());
        }
        return refuse(account.error());
    }
    accounts_.audit({account->id, "auth.certificate", subject,
                     fmt::format("mutual TLS from {}", context.remote_address)});
    // The key behind the certificate is what the agency has: it stands in for password and OTP.
    return account::Principal{std::move(*account), true};
}

}  // namespace selo::api
