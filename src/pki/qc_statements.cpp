#include "pki/qc_statements.hpp"

#include <algorithm>

#include "pki/der.hpp"

namespace selo::pki {
namespace {

Bytes statement(ByteView id, ByteView info = {}) {
    Bytes content(id.begin(), id.end());
    der::append(content, info);
    return der::sequence(content);
}

}  // namespace

Result<Bytes> encode_qc_statements(const QcStatements& qc) {
    if (!qc.any()) {
        return Bytes{};
    }
    Bytes all;
    if (qc.compliance) {
        der::append(all, statement(SELO_TRY(der::oid(kOidQcsCompliance))));
    }
    if (!qc.legislation.empty()) {
        // QcCClegislation ::= SEQUENCE OF CountryName (PrintableString SIZE (2))
        Bytes list;
        for (const auto& c : qc.legislation) {
            der::append(list, der::printable_string(c));
        }
        der::append(all, statement(SELO_TRY(der::oid(kOidQcsCcLegislation)), der::sequence(list)));
    }
    if (qc.sscd) {
        der::append(all, statement(SELO_TRY(der::oid(kOidQcsSscd))));
    }
    if (qc.retention_years) {
        // QcEuRetentionPeriod ::= INTEGER (years)
        der::append(all, statement(SELO_TRY(der::oid(kOidQcsRetentionPeriod)), der::integer(*qc.retention_years)));
    }
    if (!qc.pds.empty()) {
        // QcEuPDS ::= PdsLocations; PdsLocation ::= SEQUENCE { url IA5String, language
        // PrintableString (SIZE(2)) }
        Bytes list;
        for (const auto& l : qc.pds) {
            Bytes loc = der::ia5_string(l.url);
            der::append(loc, der::printable_string(l.language));
            der::append(list, der::sequence(loc));
        }
        der::append(all, statement(SELO_TRY(der::oid(kOidQcsPds)), der::sequence(list)));
    }
    if (qc.type != QcType::none) {
        // QcType ::= SEQUENCE OF OBJECT IDENTIFIER
        std::string_view t = qc.type == QcType::esign ? kOidQctEsign : qc.type == QcType::eseal ? kOidQctEseal : kOidQctWeb;
        der::append(all, statement(SELO_TRY(der::oid(kOidQcsType)), der::sequence(SELO_TRY(der::oid(t)))));
    }
    if (qc.semantics != QcSemantics::none) {
        // RFC 3739 SemanticsInformation ::= SEQUENCE { semanticsIdentifier OBJECT IDENTIFIER
        // OPTIONAL, nameRegistrationAuthorities OPTIONAL }
        std::string_view s = qc.semantics == QcSemantics::natural ? kOidSemanticsNatural : kOidSemanticsLegal;
        der::append(all, statement(SELO_TRY(der::oid(kOidPkixQcSyntaxV2)), der::sequence(SELO_TRY(der::oid(s)))));
    }
    return der::sequence(all);
}

bool ParsedQcStatements::has(std::string_view id) const {
    return std::find(statement_ids.begin(), statement_ids.end(), id) != statement_ids.end();
}

Result<ParsedQcStatements> decode_qc_statements(ByteView in) {
    ParsedQcStatements out;
    auto top = SELO_TRY(der::read(in));
    if (top.tag != der::kSequence || !in.empty()) {
        return fail(ErrorCode::malformed, "QCStatements is not one SEQUENCE");
    }
    ByteView list = top.content;
    while (!list.empty()) {
        auto st = SELO_TRY(der::read(list));
        if (st.tag != der::kSequence) {
            return fail(ErrorCode::malformed, "a QCStatement is not a SEQUENCE");
        }
        ByteView body = st.content;
        auto id_tlv = SELO_TRY(der::read(body));
        if (id_tlv.tag != der::kOid) {
            return fail(ErrorCode::malformed, "a QCStatement does not start with its statementId");
        }
        std::string id = SELO_TRY(der::oid_text(id_tlv.content));
        out.statement_ids.push_back(id);
        std::optional<der::Tlv> info;
        if (!body.empty()) {
            info = SELO_TRY(der::read(body));
            if (!body.empty()) {
                return fail(ErrorCode::malformed, "QCStatement {} has data after its statementInfo", id);
            }
        }
        auto sequence_of = [&](std::uint8_t tag, const char* what) -> Result<std::vector<ByteView>> {
            if (!info || info->tag != der::kSequence || info->content.empty()) {
                return fail(ErrorCode::malformed, "{} needs a non-empty SEQUENCE OF {}", id, what);
            }
            std::vector<ByteView> items;
            ByteView rest = info->content;
            while (!rest.empty()) {
                auto item = SELO_TRY(der::read(rest));
                if (item.tag != tag) {
                    return fail(ErrorCode::malformed, "{} holds something other than {}", id, what);
                }
                items.push_back(item.content);
            }
            return items;
        };
        if (id == kOidQcsCompliance || id == kOidQcsSscd) {
            if (info) {
                return fail(ErrorCode::malformed, "{} takes no statementInfo", id);
            }
        } else if (id == kOidQcsType) {
            for (auto v : SELO_TRY(sequence_of(der::kOid, "OBJECT IDENTIFIER"))) {
                out.types.push_back(SELO_TRY(der::oid_text(v)));
            }
        } else if (id == kOidQcsCcLegislation) {
            for (auto v : SELO_TRY(sequence_of(der::kPrintableString, "PrintableString"))) {
                if (v.size() != 2) {
                    return fail(ErrorCode::malformed, "QcCClegislation country is not 2 characters");
                }
                out.legislation.emplace_back(as_chars(v));
            }
        } else if (id == kOidQcsPds) {
            for (auto v : SELO_TRY(sequence_of(der::kSequence, "PdsLocation"))) {
                auto url = SELO_TRY(der::read(v));
                auto lang = SELO_TRY(der::read(v));
                if (url.tag != der::kIa5String || lang.tag != der::kPrintableString || lang.content.size() != 2 ||
                    !v.empty()) {
                    return fail(ErrorCode::malformed,
                                "PdsLocation is not SEQUENCE {{ IA5String url, PrintableString (SIZE(2)) language }}");
                }
                out.pds.push_back({std::string(as_chars(url.content)), std::string(as_chars(lang.content))});
            }
        } else if (id == kOidQcsRetentionPeriod) {
            if (!info || info->tag != der::kInteger || info->content.empty() || info->content.size() > 4 ||
                (info->content[0] & 0x80) != 0) {
                return fail(ErrorCode::malformed, "QcRetentionPeriod is not a non-negative INTEGER");
            }
            std::uint32_t years = 0;
            for (auto b : info->content) {
                years = (years << 8) | b;
            }
            out.retention_years = years;
        } else if (id == kOidPkixQcSyntaxV2) {
            if (info) {
                if (info->tag != der::kSequence) {
                    return fail(ErrorCode::malformed, "SemanticsInformation is not a SEQUENCE");
                }
                ByteView rest = info->content;
                if (rest.empty()) {
                    return fail(ErrorCode::malformed, "SemanticsInformation is empty (RFC 3739 §3.2.6.1)");
                }
                auto first = SELO_TRY(der::read(rest));
                if (first.tag == der::kOid) {
                    out.semantics = SELO_TRY(der::oid_text(first.content));
                }
            }
        }
    }
    if (out.statement_ids.empty()) {
        return fail(ErrorCode::malformed, "QCStatements is empty");
    }
    return out;
}

}  // namespace selo::pki
