#include "pki/der.hpp"

#include <vector>

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
    std::vector<std::uint64_t> arcs;
    std::uint64_t cur = 0;
    bool have = false;
    for (char c : dotted) {
        if (c == '.') {
            if (!have) {
                return fail(ErrorCode::invalid_argument, "'{}' is not a dotted OID", dotted);
            }
            arcs.push_back(cur);
            cur = 0;
            have = false;
        } else if (c >= '0' && c <= '9') {
            if (have && cur == 0) {
                return fail(ErrorCode::invalid_argument, "'{}' has an arc with a leading zero", dotted);
            }
            if (cur > (UINT64_MAX - 9) / 10) {
                return fail(ErrorCode::invalid_argument, "OID '{}' has an arc too large", dotted);
            }
            cur = cur * 10 + static_cast<std::uint64_t>(c - '0');
            have = true;
        } else {
            return fail(ErrorCode::invalid_argument, "'{}' is not a dotted OID", dotted);
        }
    }
    if (!have) {
        return fail(ErrorCode::invalid_argument, "'{}' is not a dotted OID", dotted);
    }
    arcs.push_back(cur);
    if (arcs.size() < 2 || arcs[0] > 2 || (arcs[0] < 2 && arcs[1] > 39)) {
        return fail(ErrorCode::invalid_argument, "'{}' is not a valid OID", dotted);
    }
    Bytes content;
    auto put = [&](std::uint64_t v) {
        std::uint8_t buf[10];
        int n = 0;
        do {
            buf[n++] = static_cast<std::uint8_t>(v & 0x7f);
            v >>= 7;
        } while (v != 0);
        while (n > 0) {
            --n;
            content.push_back(static_cast<std::uint8_t>(buf[n] | (n > 0 ? 0x80 : 0)));
        }
    };
    put(arcs[0] * 40 + arcs[1]);
    for (std::size_t i = 2; i < arcs.size(); ++i) {
        put(arcs[i]);
    }
    return tlv(kOid, content);
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
    if (content.empty() || (content.back() & 0x80) != 0) {
        return fail(ErrorCode::malformed, "bad OBJECT IDENTIFIER");
    }
    std::string out;
    std::uint64_t v = 0;
    bool first = true;
    bool start = true;
    for (std::uint8_t b : content) {
        if (start && b == 0x80) {
            return fail(ErrorCode::malformed, "OBJECT IDENTIFIER arc with a leading 0x80");
        }
        start = false;
        if (v > (UINT64_MAX >> 7)) {
            return fail(ErrorCode::malformed, "OBJECT IDENTIFIER arc too large");
        }
        v = (v << 7) | (b & 0x7f);
        if ((b & 0x80) != 0) {
            continue;
        }
        if (first) {
            std::uint64_t top = v < 40 ? 0 : v < 80 ? 1 : 2;
            out = fmt::format("{}.{}", top, v - top * 40);
            first = false;
        } else {
            out += fmt::format(".{}", v);
        }
        v = 0;
        start = true;
    }
    return out;
}

}  // namespace selo::pki::der
