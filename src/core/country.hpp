#pragma once
// ISO 3166-1 alpha-2 country codes, for the countryName attribute (RFC 5280 Appendix A: "ISO 3166
// two-letter code"; ETSI EN 319 412-2 §4.2.4, -3 §4.2.1) and the country part of ETSI semantics
// identifiers (EN 319 412-1 §5.1.3, §5.1.4: IDCMO-..., NTRMO-...).

#include <string_view>

namespace selo {

// True for the 249 officially assigned codes (upper case). User-assigned codes (AA, QM-QZ,
// XA-XZ, ZZ), exceptionally reserved ones (EU, UK...) and withdrawn ones are not.
[[nodiscard]] bool is_iso3166_alpha2(std::string_view code) noexcept;

// The country of an ETSI semantics identifier of `type` ("NTR", "VAT", "IDC"...): an ISO 3166
// code, or "EL" for Greece in a VAT number (EN 319 412-1 §5.1.4: VAT numbers keep their VAT
// prefix).
[[nodiscard]] bool is_identifier_country(std::string_view type, std::string_view country) noexcept;

}  // namespace selo
