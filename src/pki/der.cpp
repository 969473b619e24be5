#include "pki/der.hpp"

#include <memory>
#include <vector>

#include <openssl/objects.h>

#include "crypto/keys.hpp"
#include "crypto/openssl.hpp"

namespace selo::pki::der {
namespace {

void append_length(Bytes& out, std::size_t n) {
    if (n < 0x80) {
        out.push_back(static_cast<std::uint8_t>(n));
        return;
    }
    std::uint8_t buf[sizeof(std::size_t)];
    int len = 0;
    for (std::size_t v = n; v != 0; v >>= 8) {
        buf[len++] = static_cast<std::uint8_t>(v & 0xff);
    }
    out.push_back(static_cast<std::uint8_t>(0x80 | len));
    while (len > 0) {
        out.push_back(buf[--len]);
    }
}

}  // namespace

Bytes tlv(std::uint8_t tag, ByteView content) {
    Bytes out;
    out.reserve(content.size() + 6);
    out.push_back(tag);
    append_length(out, content.size());
    out.insert(out.end(), content.begin(), content.end());
    return out;
}

void append(Bytes& out, ByteView encoded) { out.insert(out.end(), encoded.begin(), encoded.end()); }

Bytes integer(std::uint32_t value) {
    // Minimal two's complement of a non-negative value (X.690 §8.3.2).
    Bytes content;
    for (int shift = 24; shift >= 0; shift -= 8) {
        auto b = static_cast<std::uint8_t>((value >> shift) & 0xff);
        if (content.empty() && b == 0 && shift > 0) {
            continue;
        }
        if (content.empty() && (b & 0x80) != 0) {
            content.push_back(0);
        }
        content.push_back(b);
    }
    return tlv(kInteger, content);
}

Result<Bytes> oid(std::string_view dotted) {
    // OpenSSL's own encoder: Selo's policy arc (2.25.<UUID>) has a 128-bit arc.
    if (dotted.empty() || dotted.find_first_not_of("0123456789.") != std::string_view::npos) {
        return fail(ErrorCode::invalid_argument, "'{}' is not a dotted OID", dotted);
    }
    std::string text(dotted);
    std::unique_ptr<ASN1_OBJECT, crypto::Free<&::ASN1_OBJECT_free>> obj(::OBJ_txt2obj(text.c_str(), 1));
    if (!obj) {
        crypto::clear_errors();
        return fail(ErrorCode::invalid_argument, "'{}' is not a dotted OID", dotted);
    }
    int len = ::i2d_ASN1_OBJECT(obj.get(), nullptr);
    if (len <= 0) {
        return crypto::openssl_fail("encoding an OID");
    }
    Bytes out(static_cast<std::size_t>(len));
    unsigned char* p = out.data();
    ::i2d_ASN1_OBJECT(obj.get(), &p);
    return out;
}

bool is_oid(std::string_view dotted) { return oid(dotted).has_value(); }

Bytes printable_string(std::string_view s) { return tlv(kPrintableString, as_bytes(s)); }
Bytes ia5_string(std::string_view s) { return tlv(kIa5String, as_bytes(s)); }

Result<Tlv> read(ByteView& in) {
    if (in.size() < 2) {
        return fail(ErrorCode::malformed, "truncated DER value");
    }
    std::uint8_t tag = in[0];
    if ((tag & 0x1f) == 0x1f) {
        return fail(ErrorCode::malformed, "multi-byte DER tags are not supported");
    }
    std::size_t pos = 2;
    std::size_t len = in[1];
    if ((len & 0x80) != 0) {
        std::size_t n = len & 0x7f;
        if (n == 0 || n > sizeof(std::size_t) || in.size() < 2 + n) {
            return fail(ErrorCode::malformed, "bad DER length");
        }
        len = 0;
        for (std::size_t i = 0; i < n; ++i) {
            len = (len << 8) | in[2 + i];
        }
        // DER: the shortest form (X.690 §10.1).
        if (len < 0x80 || (n > 1 && in[2] == 0)) {
            return fail(ErrorCode::malformed, "non-minimal DER length");
        }
        pos += n;
    }
    if (len > in.size() - pos) {
        return fail(ErrorCode::malformed, "truncated DER value");
    }
    Tlv t{tag, in.subspan(pos, len)};
    in = in.subspan(pos + len);
    return t;
}

Result<std::string> oid_text(ByteView content) {
    if (content.empty() || (content.back() & 0x80) != 0 || content[0] == 0x80) {
        return fail(ErrorCode::malformed, "bad OBJECT IDENTIFIER");
    }
    Bytes whole = tlv(kOid, content);
    const unsigned char* p = whole.data();
    std::unique_ptr<ASN1_OBJECT, crypto::Free<&::ASN1_OBJECT_free>> obj(
        ::d2i_ASN1_OBJECT(nullptr, &p, static_cast<long>(whole.size())));
    if (!obj) {
        crypto::clear_errors();
        return fail(ErrorCode::malformed, "bad OBJECT IDENTIFIER");
    }
    return crypto::oid_text(obj.get());
}

}  // namespace selo::pki::der
