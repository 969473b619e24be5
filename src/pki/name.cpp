#include "pki/name.hpp"

#include <openssl/objects.h>

#include <cctype>

namespace selo::pki {

bool is_printable_string(std::string_view s) noexcept {
    for (unsigned char c : s) {
        bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                  c == ' ' || c == '\'' || c == '(' || c == ')' || c == '+' || c == ',' ||
                  c == '-' || c == '.' || c == '/' || c == ':' || c == '=' || c == '?';
        if (!ok) {
            return false;
        }
    }
    return true;
}

bool is_clean_utf8(std::string_view s) noexcept {
    std::size_t i = 0;
    while (i < s.size()) {
        auto c = static_cast<unsigned char>(s[i]);
        std::size_t len = 0;
        std::uint32_t cp = 0;
        if (c < 0x80) {
            if (c < 0x20 || c == 0x7f) {
                return false;
            }
            ++i;
            continue;
        }
        if ((c & 0xe0) == 0xc0) {
            len = 2;
            cp = c & 0x1f;
        } else if ((c & 0xf0) == 0xe0) {
            len = 3;
            cp = c & 0x0f;
        } else if ((c & 0xf8) == 0xf0) {
            len = 4;
            cp = c & 0x07;
        } else {
            return false;
        }
        if (i + len > s.size()) {
            return false;
        }
        for (std::size_t k = 1; k < len; ++k) {
            auto cc = static_cast<unsigned char>(s[i + k]);
            if ((cc & 0xc0) != 0x80) {
                return false;
            }
            cp = (cp << 6) | (cc & 0x3f);
        }
        // Overlong forms, surrogates, and beyond Unicode are not UTF-8 (RFC 3629 §3).
        if ((len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) ||
            (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff || (cp >= 0x80 && cp < 0xa0)) {
            return false;
        }
        i += len;
    }
    return true;
}

namespace {

// RFC 5280 Appendix A upper bounds, in characters.
std::size_t upper_bound_for(int nid) {
    switch (nid) {
        case NID_countryName: return 2;
        case NID_commonName: return 64;
        case NID_organizationName: return 64;
        case NID_organizationalUnitName: return 64;
        case NID_serialNumber: return 64;
        case NID_givenName:
        case NID_surname: return 32768;
        default: return 32768;
    }
}

std::size_t utf8_length(std::string_view s) {
    std::size_t n = 0;
    for (unsigned char c : s) {
        if ((c & 0xc0) != 0x80) {
            ++n;
        }
    }
    return n;
}

}  // namespace

Result<crypto::X509NamePtr> DistinguishedName::to_x509_name() const {
    crypto::X509NamePtr name(::X509_NAME_new());
    if (!name) {
        return crypto::openssl_fail("X509_NAME_new");
    }
    for (const auto& a : attributes_) {
        const char* sn = ::OBJ_nid2sn(a.nid);
        if (a.value.empty()) {
            return fail(ErrorCode::invalid_argument, "name attribute {} is empty", sn);
        }
        if (!is_clean_utf8(a.value)) {
            return fail(ErrorCode::invalid_argument,
                        "name attribute {} is not valid UTF-8 or has control characters", sn);
        }
        if (utf8_length(a.value) > upper_bound_for(a.nid)) {
            return fail(ErrorCode::invalid_argument, "name attribute {} is longer than {} characters",
                        sn, upper_bound_for(a.nid));
        }
        // Non-MBSTRING types are stored as given, so UTF8String is forced whatever OpenSSL's
        // global string mask says (RFC 5280 §4.1.2.6).
        int type = V_ASN1_UTF8STRING;
        if (a.nid == NID_countryName || a.nid == NID_serialNumber) {
            if (!is_printable_string(a.value)) {
                return fail(ErrorCode::invalid_argument,
                            "name attribute {} '{}' has characters outside PrintableString", sn,
                            a.value);
            }
            type = V_ASN1_PRINTABLESTRING;
        }
        if (a.nid == NID_countryName &&
            (a.value.size() != 2 || !std::isupper(static_cast<unsigned char>(a.value[0])) ||
             !std::isupper(static_cast<unsigned char>(a.value[1])))) {
            return fail(ErrorCode::invalid_argument, "countryName must be two upper-case letters");
        }
        if (::X509_NAME_add_entry_by_NID(name.get(), a.nid, type,
                                         reinterpret_cast<const unsigned char*>(a.value.data()),
                                         static_cast<int>(a.value.size()), -1, 0) != 1) {
            return crypto::openssl_fail(fmt::format("adding name attribute {}", sn));
        }
    }
    return name;
}

}  // namespace selo::pki
