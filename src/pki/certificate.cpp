#include "pki/certificate.hpp"

#include <openssl/pem.h>

#include "crypto/digest.hpp"

namespace selo::pki {

using namespace selo::crypto;

Result<Certificate> Certificate::from_der(ByteView der) {
    const unsigned char* p = der.data();
    X509Ptr x(::d2i_X509(nullptr, &p, static_cast<long>(der.size())));
    if (!x) {
        return openssl_fail("certificate does not parse as DER", ErrorCode::malformed);
    }
    if (p != der.data() + der.size()) {
        return fail(ErrorCode::malformed, "certificate has {} trailing bytes",
                    der.data() + der.size() - p);
    }
    return Certificate(Bytes(der.begin(), der.end()), std::move(x));
}

Result<Certificate> Certificate::from_pem_or_der(ByteView data) {
    std::string_view text = as_chars(data);
    if (text.find("-----BEGIN") == std::string_view::npos) {
        return from_der(data);
    }
    BioPtr bio(::BIO_new_mem_buf(data.data(), static_cast<int>(data.size())));
    X509Ptr x(::PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
    if (!x) {
        return openssl_fail("certificate does not parse as PEM", ErrorCode::malformed);
    }
    return from_x509(x.get());
}

Result<Certificate> Certificate::from_x509(X509* cert) {
    int len = ::i2d_X509(cert, nullptr);
    if (len <= 0) {
        return openssl_fail("certificate encoding");
    }
    Bytes der(static_cast<std::size_t>(len));
    unsigned char* p = der.data();
    ::i2d_X509(cert, &p);
    return from_der(der);
}

std::string Certificate::serial_hex() const {
    const ASN1_INTEGER* serial = ::X509_get0_serialNumber(x509_.get());
    BignumPtr bn(::ASN1_INTEGER_to_BN(serial, nullptr));
    if (!bn) {
        return {};
    }
    Bytes mag(static_cast<std::size_t>(BN_num_bytes(bn.get())));
    ::BN_bn2bin(bn.get(), mag.data());
    return mag.empty() ? std::string("00") : hex_encode(mag);
}

std::string name_to_string(const X509_NAME* name) {
    BioPtr bio(::BIO_new(::BIO_s_mem()));
    // RFC 2253 order reversed to RFC 4514's, UTF-8 kept as is rather than escaped.
    constexpr unsigned long flags = XN_FLAG_RFC2253 & ~ASN1_STRFLGS_ESC_MSB;
    if (::X509_NAME_print_ex(bio.get(), name, 0, flags) < 0) {
        clear_errors();
        return {};
    }
    char* data = nullptr;
    long len = ::BIO_get_mem_data(bio.get(), &data);
    return std::string(data, static_cast<std::size_t>(len));
}

std::string Certificate::subject() const { return name_to_string(::X509_get_subject_name(x509_.get())); }
std::string Certificate::issuer() const { return name_to_string(::X509_get_issuer_name(x509_.get())); }

TimePoint asn1_time_to_timepoint(const ASN1_TIME* t) {
    std::tm tm{};
    if (::ASN1_TIME_to_tm(t, &tm) != 1) {
        return TimePoint{};
    }
    return std::chrono::system_clock::from_time_t(::timegm(&tm));
}

TimePoint Certificate::not_before() const { return asn1_time_to_timepoint(::X509_get0_notBefore(x509_.get())); }
TimePoint Certificate::not_after() const { return asn1_time_to_timepoint(::X509_get0_notAfter(x509_.get())); }

std::string Certificate::pem() const {
    BioPtr bio(::BIO_new(::BIO_s_mem()));
    ::PEM_write_bio_X509(bio.get(), x509_.get());
    char* data = nullptr;
    long len = ::BIO_get_mem_data(bio.get(), &data);
    return std::string(data, static_cast<std::size_t>(len));
}

Bytes Certificate::fingerprint_sha256() const { return crypto::sha256(der_); }

}  // namespace selo::pki
