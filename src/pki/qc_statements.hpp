#pragma once
// The qcStatements extension (RFC 3739 §3.2.6, ETSI EN 319 412-5 §4 and its ASN.1 module
// ETSI-qcStatements-2017, EN 319 412-1 §5.1 semantics identifiers): encoded from a profile,
// decoded for the linter.

#include <optional>
#include <string>
#include <vector>

#include "core/bytes.hpp"
#include "core/error.hpp"
#include "pki/profile.hpp"

namespace selo::pki {

inline constexpr std::string_view kOidQcsCompliance = "0.4.0.1862.1.1";
inline constexpr std::string_view kOidQcsRetentionPeriod = "0.4.0.1862.1.3";
inline constexpr std::string_view kOidQcsSscd = "0.4.0.1862.1.4";
inline constexpr std::string_view kOidQcsPds = "0.4.0.1862.1.5";
inline constexpr std::string_view kOidQcsType = "0.4.0.1862.1.6";
inline constexpr std::string_view kOidQctEsign = "0.4.0.1862.1.6.1";
inline constexpr std::string_view kOidQctEseal = "0.4.0.1862.1.6.2";
inline constexpr std::string_view kOidQctWeb = "0.4.0.1862.1.6.3";
inline constexpr std::string_view kOidQcsCcLegislation = "0.4.0.1862.1.7";
inline constexpr std::string_view kOidPkixQcSyntaxV2 = "1.3.6.1.5.5.7.11.2";  // RFC 3739
inline constexpr std::string_view kOidSemanticsNatural = "0.4.0.194121.1.1";
inline constexpr std::string_view kOidSemanticsLegal = "0.4.0.194121.1.2";

// The DER of the extension value (QCStatements); empty when the profile has no statement.
[[nodiscard]] Result<Bytes> encode_qc_statements(const QcStatements& qc);

// What a qcStatements extension says.
struct ParsedQcStatements {
    std::vector<std::string> statement_ids;  // in order, repeats kept
    std::vector<std::string> types;          // QcType OIDs
    std::vector<PdsLocation> pds;
    std::optional<std::uint32_t> retention_years;
    std::vector<std::string> legislation;
    std::optional<std::string> semantics;    // semanticsIdentifier OID
    [[nodiscard]] bool has(std::string_view id) const;
};
// malformed, saying what, when the DER does not follow the ASN.1 module.
[[nodiscard]] Result<ParsedQcStatements> decode_qc_statements(ByteView der);

}  // namespace selo::pki
