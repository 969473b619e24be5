#include <gtest/gtest.h>

#include "core/config.hpp"

namespace selo {
namespace {

TEST(Config, DefaultsRoundTripThroughRenderedToml) {
    Config c;
    c.server.public_url = "https://selo.example.mo";
    c.pki.organization = "Correios \"de\" Macau";
    c.pki.authorities = {{"root", "root", "", "Root CA", "ec-p384", {}},
                         {"people", "issuing", "root", "People CA", "ec-p256",
                          {"natural-person-signing", "natural-person-authentication"}}};
    auto parsed = parse_config(render_config(c), "test");
    ASSERT_TRUE(parsed.has_value()) << parsed.error().message;
    EXPECT_EQ(parsed->server.public_url, "https://selo.example.mo");
    EXPECT_EQ(parsed->pki.organization, "Correios \"de\" Macau");
    ASSERT_EQ(parsed->pki.authorities.size(), 2u);
    EXPECT_EQ(parsed->pki.authorities[1].parent, "root");
    EXPECT_EQ(parsed->pki.authorities[1].key, "ec-p256");
    EXPECT_EQ(parsed->pki.authorities[1].profiles.size(), 2u);
    EXPECT_EQ(parsed->cloudsign.sad_lifetime_seconds, 300u);
}

TEST(Config, RefusesUnknownKeys) {
    auto parsed = parse_config("[server]\nlisten = \"127.0.0.1:1\"\nlisen = 3\n", "test");
    ASSERT_FALSE(parsed.has_value());
    EXPECT_NE(parsed.error().message.find("lisen"), std::string::npos);
}

TEST(Config, RefusesABrokenHierarchy) {
    auto orphan = parse_config(
        "[[pki.authority]]\nname = \"a\"\nrole = \"issuing\"\nparent = \"root\"\ncommon_name = \"A\"\n", "t");
    ASSERT_FALSE(orphan.has_value());
    EXPECT_NE(orphan.error().message.find("parent"), std::string::npos);
    EXPECT_FALSE(parse_config("[[pki.authority]]\nname = \"Bad Name\"\nrole = \"root\"\ncommon_name = \"x\"\n", "t"));
    EXPECT_FALSE(parse_config("[[pki.authority]]\nname = \"r\"\nrole = \"root\"\ncommon_name = \"x\"\ncolour = 1\n", "t"));
}

TEST(Config, RefusesWrongTypesAndSyntax) {
    EXPECT_FALSE(parse_config("[server]\nlisten = 3\n", "t").has_value());
    EXPECT_FALSE(parse_config("[http]\nmax_body_bytes = -1\n", "t").has_value());
    EXPECT_FALSE(parse_config("[server\n", "t").has_value());
    EXPECT_FALSE(parse_config("[cloudsign]\nsad_lifetime_seconds = 3600\n", "t").has_value());
}

}  // namespace
}  // namespace selo
