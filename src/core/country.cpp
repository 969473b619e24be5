#include "core/country.hpp"

#include <algorithm>
#include <array>

namespace selo {
namespace {

// The officially assigned codes, sorted (tests compare them with Debian's iso-codes data).
constexpr std::string_view kAssigned =
    "AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ BA BB BD BE BF BG BH BI BJ BL BM BN BO BQ BR BS "
    "BT BV BW BY BZ CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ DE DJ DK DM DO DZ EC EE "
    "EG EH ER ES ET FI FJ FK FM FO FR GA GB GD GE GF GG GH GI GL GM GN GP GQ GR GS GT GU GW GY HK HM "
    "HN HR HT HU ID IE IL IM IN IO IQ IR IS IT JE JM JO JP KE KG KH KI KM KN KP KR KW KY KZ LA LB LC "
    "LI LK LR LS LT LU LV LY MA MC MD ME MF MG MH MK ML MM MN MO MP MQ MR MS MT MU MV MW MX MY MZ NA "
    "NC NE NF NG NI NL NO NP NR NU NZ OM PA PE PF PG PH PK PL PM PN PR PS PT PW PY QA RE RO RS RU RW "
    "SA SB SC SD SE SG SH SI SJ SK SL SM SN SO SR SS ST SV SX SY SZ TC TD TF TG TH TJ TK TL TM TN TO "
    "TR TT TV TW TZ UA UG UM US UY UZ VA VC VE VG VI VN VU WF WS YE YT ZA ZM ZW";

constexpr std::size_t kCount = (kAssigned.size() + 1) / 3;
static_assert(kCount == 249);

// One bit per possible code (26 x 26), built at compile time.
constexpr std::array<bool, 26 * 26> kTable = [] {
    std::array<bool, 26 * 26> t{};
    for (std::size_t i = 0; i < kCount; ++i) {
        t[static_cast<std::size_t>((kAssigned[3 * i] - 'A') * 26 + (kAssigned[3 * i + 1] - 'A'))] = true;
    }
    return t;
}();

}  // namespace

bool is_iso3166_alpha2(std::string_view code) noexcept {
    if (code.size() != 2 || code[0] < 'A' || code[0] > 'Z' || code[1] < 'A' || code[1] > 'Z') {
        return false;
    }
    return kTable[static_cast<std::size_t>((code[0] - 'A') * 26 + (code[1] - 'A'))];
}

bool is_identifier_country(std::string_view type, std::string_view country) noexcept {
    return is_iso3166_alpha2(country) || (type == "VAT" && country == "EL");
}

}  // namespace selo
