#pragma once
// Distinguished names built attribute by attribute with the string types the profiles demand
// (RFC 5280 §4.1.2.4, ETSI EN 319 412-1/-2): countryName and serialNumber as PrintableString,
// everything else as UTF8String so Chinese and Portuguese names stay intact.

#include <string>
#include <vector>

#include "core/error.hpp"
#include "crypto/openssl.hpp"

namespace selo::pki {

struct NameAttribute {
    int nid;  // OpenSSL NID, e.g. NID_commonName
    std::string value;
};

class DistinguishedName {
public:
    DistinguishedName& add(int nid, std::string value) {
        attributes_.push_back({nid, std::move(value)});
        return *this;
    }
    [[nodiscard]] const std::vector<NameAttribute>& attributes() const noexcept { return attributes_; }
    // Encodes the name; refuses empty values, values too long for their upper bound
    // (RFC 5280 Appendix A), and characters outside PrintableString where it is required.
    [[nodiscard]] Result<crypto::X509NamePtr> to_x509_name() const;

private:
    std::vector<NameAttribute> attributes_;
};

// True when every character is in the PrintableString repertoire (X.680 §41.4).
[[nodiscard]] bool is_printable_string(std::string_view s) noexcept;
// True when `s` is well-formed UTF-8 without control characters.
[[nodiscard]] bool is_clean_utf8(std::string_view s) noexcept;

}  // namespace selo::pki
