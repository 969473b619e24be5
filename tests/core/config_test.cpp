#include <gtest/gtest.h>

#include "core/config.hpp"

namespace selo {
namespace {

TEST(Config, DefaultsRoundTripThroughRenderedToml) {
    Config c;
    c.server.public_url = "https://selo.example.mo";
    c.ca.organization = "Correios \"de\" Macau";
    auto parsed = parse_config(render_config(c), "test");
    ASSERT_TRUE(parsed.has_value()) << parsed.error().message;
    EXPECT_EQ(parsed->server.public_url, "https://selo.example.mo");
    EXPECT_EQ(parsed->ca.organization, "Correios \"de\" Macau");
    EXPECT_EQ(parsed->cloudsign.sad_lifetime_seconds, 300u);
}

TEST(Config, RefusesUnknownKeys) {
    auto parsed = parse_config("[server]\nlisten = \"127.0.0.1:1\"\nlisen = 3\n", "test");
    ASSERT_FALSE(parsed.has_value());
    EXPECT_NE(parsed.error().message.find("lisen"), std::string::npos);
}

TEST(Config, RefusesWrongTypesAndSyntax) {
    EXPECT_FALSE(parse_config("[server]\nlisten = 3\n", "t").has_value());
    EXPECT_FALSE(parse_config("[http]\nmax_body_bytes = -1\n", "t").has_value());
    EXPECT_FALSE(parse_config("[server\n", "t").has_value());
    EXPECT_FALSE(parse_config("[cloudsign]\nsad_lifetime_seconds = 3600\n", "t").has_value());
}

}  // namespace
}  // namespace selo
