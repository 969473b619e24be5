#include "tsa/der.hpp"

#include <openssl/objects.h>

#include <chrono>
#include <ctime>

#include "crypto/openssl.hpp"

namespace selo::tsa::der {

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

void append_tlv(Bytes& out, std::uint8_t tag, ByteView content) {
    out.push_back(tag);
    append_length(out, content.size());
    out.insert(out.end(), content.begin(), content.end());
}

Bytes tlv(std::uint8_t tag, std::initializer_list<ByteView> parts) {
    std::size_t total = 0;
    for (auto p : parts) {
        total += p.size();
    }
    Bytes out;
    out.reserve(total + 6);
    out.push_back(tag);
    append_length(out, total);
    for (auto p : parts) {
        out.insert(out.end(), p.begin(), p.end());
    }
    return out;
}

Bytes unsigned_integer(ByteView magnitude) {
    std::size_t i = 0;
    while (i + 1 < magnitude.size() && magnitude[i] == 0) {
        ++i;
    }
    Bytes content;
    if (magnitude.empty()) {
        content.push_back(0);
    } else {
        if ((magnitude[i] & 0x80) != 0) {
            content.push_back(0);
        }
        content.insert(content.end(), magnitude.begin() + static_cast<std::ptrdiff_t>(i), magnitude.end());
    }
    return tlv(kInteger, {content});
}

Bytes small_integer(std::uint64_t value) {
    Bytes be;
    for (int shift = 56; shift >= 0; shift -= 8) {
        be.push_back(static_cast<std::uint8_t>((value >> shift) & 0xff));
    }
    return unsigned_integer(be);
}

Result<Bytes> oid(std::string_view dotted) {
    // Strictly the dotted form (X.660): arcs of decimal digits without leading zeros, at least
    // two, the first 0, 1 or 2. OpenSSL's parser would also take "1.2.3." or "1.2.03" for 1.2.3,
    // and a policy compared by its text must have one spelling.
    bool ok = dotted.size() >= 3 && dotted[0] >= '0' && dotted[0] <= '2' && dotted[1] == '.';
    for (std::size_t at = 0; ok && at <= dotted.size();) {
        const std::size_t end = std::min(dotted.find('.', at), dotted.size());
        const std::string_view arc = dotted.substr(at, end - at);
        ok = !arc.empty() && arc.find_first_not_of("0123456789") == std::string_view::npos &&
             (arc.size() == 1 || arc[0] != '0');
        at = end + 1;
    }
    if (!ok) {
        return fail(ErrorCode::invalid_argument, "'{}' is not an object identifier (dotted decimal, e.g. 1.2.3)",
                    dotted);
    }
    std::string text(dotted);
    crypto::Asn1ObjectPtr obj(::OBJ_txt2obj(text.c_str(), 1));
    if (!obj) {
        crypto::clear_errors();
        return fail(ErrorCode::invalid_argument, "'{}' is not an object identifier", dotted);
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

std::size_t generalized_time_chars(TimePoint t, char (&out)[kMaxGeneralizedTimeChars]) {
    using namespace std::chrono;
    const auto ms = floor<milliseconds>(t);
    const auto day = floor<days>(ms);
    const year_month_day ymd{day};
    const hh_mm_ss hms{ms - day};
    std::size_t n = 0;
    auto put = [&](unsigned v, int digits) {
        for (int i = digits - 1; i >= 0; --i) {
            out[n + static_cast<std::size_t>(i)] = static_cast<char>('0' + v % 10);
            v /= 10;
        }
        n += static_cast<std::size_t>(digits);
    };
    put(static_cast<unsigned>(static_cast<int>(ymd.year())), 4);
    put(static_cast<unsigned>(ymd.month()), 2);
    put(static_cast<unsigned>(ymd.day()), 2);
    put(static_cast<unsigned>(hms.hours().count()), 2);
    put(static_cast<unsigned>(hms.minutes().count()), 2);
    put(static_cast<unsigned>(hms.seconds().count()), 2);
    if (auto frac = static_cast<unsigned>(hms.subseconds().count()); frac != 0) {
        // X.690 §11.7.3: trailing zeros of the fraction are not encoded.
        out[n++] = '.';
        put(frac, 3);
        while (out[n - 1] == '0') {
            --n;
        }
    }
    out[n++] = 'Z';
    return n;
}

std::string generalized_time_text(TimePoint t) {
    char buf[kMaxGeneralizedTimeChars];
    return std::string(buf, generalized_time_chars(t, buf));
}

Bytes generalized_time(TimePoint t) {
    std::string text = generalized_time_text(t);
    return tlv(kGeneralizedTime, {as_bytes(text)});
}

Bytes named_bit(unsigned bit) {
    const std::size_t bytes = bit / 8 + 1;
    Bytes content(1 + bytes, 0);
    content[0] = static_cast<std::uint8_t>(7 - bit % 8);  // unused bits in the last octet
    content[1 + bit / 8] = static_cast<std::uint8_t>(0x80u >> (bit % 8));
    return tlv(kBitString, {content});
}

Result<Tlv> read_tlv(ByteView in) {
    if (in.size() < 2) {
        return fail(ErrorCode::malformed, "truncated DER");
    }
    Tlv t;
    t.tag = in[0];
    std::size_t len = in[1];
    std::size_t header = 2;
    if ((len & 0x80) != 0) {
        std::size_t n = len & 0x7f;
        if (n == 0 || n > 4 || in.size() < 2 + n) {
            return fail(ErrorCode::malformed, "bad DER length");
        }
        len = 0;
        for (std::size_t i = 0; i < n; ++i) {
            len = (len << 8) | in[2 + i];
        }
        header += n;
    }
    if (in.size() - header < len) {
        return fail(ErrorCode::malformed, "truncated DER");
    }
    t.content = in.subspan(header, len);
    t.size = header + len;
    return t;
}

}  // namespace selo::tsa::der
