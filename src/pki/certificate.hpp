#pragma once
// An X.509 certificate as a value: the DER bytes plus a parsed OpenSSL object.

#include <string>
#include <vector>

#include "core/bytes.hpp"
#include "core/clock.hpp"
#include "core/error.hpp"
#include "crypto/openssl.hpp"

namespace selo::pki {

class Certificate {
public:
    // Parses DER; refuses trailing bytes.
    static Result<Certificate> from_der(ByteView der);
    // Parses one PEM block, or DER when the input does not look like PEM.
    static Result<Certificate> from_pem_or_der(ByteView data);
    static Result<Certificate> from_x509(X509* cert);

    Certificate(const Certificate& o) : der_(o.der_), x509_(::X509_dup(o.x509_.get())) {}
    Certificate& operator=(const Certificate& o) {
        if (this != &o) {
            der_ = o.der_;
            x509_.reset(::X509_dup(o.x509_.get()));
        }
        return *this;
    }
    Certificate(Certificate&&) noexcept = default;
    Certificate& operator=(Certificate&&) noexcept = default;

    [[nodiscard]] const Bytes& der() const noexcept { return der_; }
    [[nodiscard]] X509* x509() const noexcept { return x509_.get(); }
    // Serial number as lower-case hex of its magnitude (no sign byte), e.g. "4f3a...".
    [[nodiscard]] std::string serial_hex() const;
    // RFC 4514 string with UTF-8 kept intact, e.g. "CN=陳大文,serialNumber=IDCMO-...,C=MO".
    [[nodiscard]] std::string subject() const;
    [[nodiscard]] std::string issuer() const;
    [[nodiscard]] TimePoint not_before() const;
    [[nodiscard]] TimePoint not_after() const;
    [[nodiscard]] std::string pem() const;
    // SHA-256 of the DER encoding.
    [[nodiscard]] Bytes fingerprint_sha256() const;

private:
    Certificate(Bytes der, crypto::X509Ptr x) : der_(std::move(der)), x509_(std::move(x)) {}
    Bytes der_;
    crypto::X509Ptr x509_;
};

[[nodiscard]] std::string name_to_string(const X509_NAME* name);
[[nodiscard]] TimePoint asn1_time_to_timepoint(const ASN1_TIME* t);

}  // namespace selo::pki
