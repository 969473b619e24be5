#include "tsa/request.hpp"

#include <algorithm>
#include <array>

namespace selo::tsa {
namespace {

// DER contents of the digest OIDs (NIST CSOR 2.16.840.1.101.3.4.2.{1,2,3}).
constexpr std::array<std::uint8_t, 9> kSha256 = {0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01};
constexpr std::array<std::uint8_t, 9> kSha384 = {0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x02};
constexpr std::array<std::uint8_t, 9> kSha512 = {0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x03};

bool equal(ByteView a, std::span<const std::uint8_t, 9> b) {
    return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin());
}

// Reads DER elements from the front of a view. Every method fails (returns false) on anything
// outside strict DER with one-octet tags and lengths below 64 KiB.
class Reader {
public:
    explicit Reader(ByteView in) : in_(in) {}
    [[nodiscard]] bool empty() const noexcept { return in_.empty(); }
    [[nodiscard]] bool next_is(std::uint8_t tag) const noexcept { return !in_.empty() && in_[0] == tag; }

    // One element with this tag: its whole encoding and its contents.
    bool read(std::uint8_t tag, ByteView& whole, ByteView& content) {
        if (in_.size() < 2 || in_[0] != tag) {
            return false;
        }
        std::size_t len = in_[1];
        std::size_t header = 2;
        if (len == 0x81) {  // X.690 §10.1: the long form only for 128 and more
            if (in_.size() < 3 || in_[2] < 0x80) {
                return false;
            }
            len = in_[2];
            header = 3;
        } else if (len == 0x82) {
            if (in_.size() < 4 || in_[2] == 0) {
                return false;
            }
            len = (std::size_t{in_[2]} << 8) | in_[3];
            header = 4;
        } else if (len >= 0x80) {
            return false;  // indefinite (BER), or longer than a request can be
        }
        if (in_.size() - header < len) {
            return false;
        }
        whole = in_.first(header + len);
        content = in_.subspan(header, len);
        in_ = in_.subspan(header + len);
        return true;
    }
    bool read(std::uint8_t tag, ByteView& content) {
        ByteView whole;
        return read(tag, whole, content);
    }

private:
    ByteView in_;
};

constexpr std::uint8_t kBoolean = 0x01;
constexpr std::uint8_t kInteger = 0x02;
constexpr std::uint8_t kOctetString = 0x04;
constexpr std::uint8_t kNull = 0x05;
constexpr std::uint8_t kOid = 0x06;
constexpr std::uint8_t kSequence = 0x30;

// X.690 §8.19: every subidentifier in the fewest octets (no leading 0x80), the last one ended.
bool minimal_oid(ByteView content) {
    if (content.empty() || (content.back() & 0x80) != 0) {
        return false;
    }
    bool start = true;
    for (std::uint8_t b : content) {
        if (start && b == 0x80) {
            return false;
        }
        start = (b & 0x80) == 0;
    }
    return true;
}

}  // namespace

std::optional<CanonicalRequest> read_canonical_request(ByteView der, std::span<const ByteView> policies,
                                                       std::size_t max_nonce_octets) {
    Reader outer(der);
    ByteView body;
    if (!outer.read(kSequence, body) || !outer.empty()) {
        return std::nullopt;
    }
    Reader req(body);
    CanonicalRequest out;
    ByteView version;
    if (!req.read(kInteger, version) || version.size() != 1 || version[0] != 1) {
        return std::nullopt;
    }
    ByteView imprint_body;
    if (!req.read(kSequence, out.imprint, imprint_body)) {
        return std::nullopt;
    }
    Reader imprint(imprint_body);
    ByteView alg_body;
    if (!imprint.read(kSequence, alg_body) || !imprint.read(kOctetString, out.digest) || !imprint.empty()) {
        return std::nullopt;
    }
    Reader alg(alg_body);
    ByteView oid;
    if (!alg.read(kOid, oid)) {
        return std::nullopt;
    }
    if (equal(oid, kSha256)) {
        out.algorithm = crypto::DigestAlgorithm::sha256;
    } else if (equal(oid, kSha384)) {
        out.algorithm = crypto::DigestAlgorithm::sha384;
    } else if (equal(oid, kSha512)) {
        out.algorithm = crypto::DigestAlgorithm::sha512;
    } else {
        return std::nullopt;
    }
    if (!alg.empty()) {
        ByteView params;
        if (!alg.read(kNull, params) || !params.empty() || !alg.empty()) {
            return std::nullopt;
        }
    }
    if (out.digest.size() != crypto::digest_size(out.algorithm)) {
        return std::nullopt;
    }
    if (req.next_is(kOid)) {
        ByteView content;
        if (!req.read(kOid, out.policy, content) || !minimal_oid(content)) {
            return std::nullopt;
        }
        const bool offered = std::any_of(policies.begin(), policies.end(), [&](ByteView p) {
            return std::equal(p.begin(), p.end(), out.policy.begin(), out.policy.end());
        });
        if (!offered) {
            return std::nullopt;
        }
    }
    if (req.next_is(kInteger)) {
        ByteView n;
        if (!req.read(kInteger, out.nonce, n) || n.empty() || (n[0] & 0x80) != 0) {
            return std::nullopt;  // empty, or negative
        }
        if (n.size() > 1 && n[0] == 0 && (n[1] & 0x80) == 0) {
            return std::nullopt;  // X.690 §8.3.2: not in the fewest octets
        }
        const std::size_t magnitude = n.size() > 1 && n[0] == 0 ? n.size() - 1 : n.size();
        if (magnitude > max_nonce_octets) {
            return std::nullopt;
        }
    }
    if (req.next_is(kBoolean)) {
        ByteView b;
        // X.690 §11.5: a DEFAULT value is never encoded, so only TRUE (0xFF, §11.1) appears.
        if (!req.read(kBoolean, b) || b.size() != 1 || b[0] != 0xff) {
            return std::nullopt;
        }
        out.cert_req = true;
    }
    if (!req.empty()) {
        return std::nullopt;  // extensions, or elements out of order
    }
    return out;
}

}  // namespace selo::tsa
