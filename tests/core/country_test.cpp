// ISO 3166-1 alpha-2: the built-in list against Debian's iso-codes data, when installed.

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <string>

#include <boost/json.hpp>

#include "core/country.hpp"

namespace selo {
namespace {

TEST(Country, AssignedCodesOnly) {
    for (const char* ok : {"MO", "PT", "CN", "HK", "GB", "US", "AX", "ZW"}) {
        EXPECT_TRUE(is_iso3166_alpha2(ok)) << ok;
    }
    // User-assigned, exceptionally reserved, withdrawn, malformed.
    for (const char* bad : {"ZZ", "AA", "QM", "XK", "XX", "EU", "UK", "EL", "YU", "AN", "mo", "M", "MOO", "", "M0"}) {
        EXPECT_FALSE(is_iso3166_alpha2(bad)) << bad;
    }
}

TEST(Country, IdentifierCountriesAllowGreeceAsElInVatNumbersOnly) {
    EXPECT_TRUE(is_identifier_country("NTR", "MO"));
    EXPECT_TRUE(is_identifier_country("VAT", "EL"));
    EXPECT_TRUE(is_identifier_country("VAT", "GR"));
    EXPECT_FALSE(is_identifier_country("NTR", "EL"));
    EXPECT_FALSE(is_identifier_country("IDC", "EL"));
    EXPECT_FALSE(is_identifier_country("VAT", "ZZ"));
}

TEST(Country, AgreesWithDebiansIsoCodes) {
    const std::filesystem::path data = "/usr/share/iso-codes/json/iso_3166-1.json";
    if (!std::filesystem::exists(data)) {
        GTEST_SKIP() << data << " is not installed (Debian package iso-codes)";
    }
    std::ifstream in(data);
    std::stringstream text;
    text << in.rdbuf();
    std::set<std::string> listed;
    const boost::json::value doc = boost::json::parse(text.str());
    for (const auto& entry : doc.at("3166-1").as_array()) {
        listed.insert(std::string(entry.at("alpha_2").as_string()));
    }
    EXPECT_EQ(listed.size(), 249u);
    for (char a = 'A'; a <= 'Z'; ++a) {
        for (char b = 'A'; b <= 'Z'; ++b) {
            const std::string code{a, b};
            EXPECT_EQ(is_iso3166_alpha2(code), listed.count(code) == 1) << code;
        }
    }
}

}  // namespace
}  // namespace selo
