#include <fmt/format.h>
#include <gtest/gtest.h>

#include <sstream>

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

// The commented [accounts] block shows every key with its default: uncommented, it parses
// (unknown keys would be refused) and changes nothing.
TEST(Config, CommentedAccountsSectionIsValidWhenUncommented) {
    Config c;
    c.accounts.slip_window_seconds = 1200;
    const std::string text = render_config(c);
    const auto at = text.find("# [accounts]\n");
    ASSERT_NE(at, std::string::npos) << text;
    std::string out = text.substr(0, at);
    std::istringstream rest(text.substr(at));
    std::string line;
    bool in_block = true;
    while (std::getline(rest, line)) {
        if (in_block && line.rfind("# ", 0) == 0) {
            line = line.substr(2);
        } else {
            in_block = false;
        }
        out += line + "\n";
    }
    auto parsed = parse_config(out, "test");
    ASSERT_TRUE(parsed.has_value()) << parsed.error().message << "\n" << out;
    EXPECT_EQ(parsed->accounts.slip_window_seconds, 1200u);
    EXPECT_EQ(parsed->accounts.lockout_threshold, 5u);
    EXPECT_EQ(parsed->accounts.activation_code_days, 30u);
}

TEST(Config, OfflineRootFlagRoundTrips) {
    Config c;
    auto plain = parse_config(render_config(c), "test");
    ASSERT_TRUE(plain.has_value()) << plain.error().message;
    EXPECT_FALSE(plain->pki.offline_root);
    c.pki.offline_root = true;
    c.pki.authorities = {{"root", "root", "", "Root CA", "ec-p384", {}}};
    auto parsed = parse_config(render_config(c), "test");
    ASSERT_TRUE(parsed.has_value()) << parsed.error().message;
    EXPECT_TRUE(parsed->pki.offline_root);
    EXPECT_FALSE(parse_config("[pki]\noffline_root = \"yes\"\n", "test").has_value());
}

TEST(Config, OrganizationIdentifierRoundTripsAndBadFormsAreRefused) {
    Config c;
    c.pki.organization_identifier = "NTRMO-12345";
    auto parsed = parse_config(render_config(c), "test");
    ASSERT_TRUE(parsed.has_value()) << parsed.error().message;
    EXPECT_EQ(parsed->pki.organization_identifier, "NTRMO-12345");
    for (const char* bad : {"12345", "NTRMO12345", "ntrmo-1", "NTRMO-", "NTRMO-12 45", "NTRZZ-12345"}) {
        auto r = parse_config(fmt::format("[pki]\norganization_identifier = \"{}\"\n", bad), "test");
        ASSERT_FALSE(r.has_value()) << bad;
        EXPECT_NE(r.error().message.find("organization_identifier"), std::string::npos) << r.error().message;
    }
    // [pki] country, named in QcCClegislation: an assigned ISO 3166 code.
    for (const char* bad : {"ZZ", "mo", "MAC"}) {
        auto r = parse_config(fmt::format("[pki]\ncountry = \"{}\"\n", bad), "test");
        ASSERT_FALSE(r.has_value()) << bad;
        EXPECT_NE(r.error().message.find("ISO 3166-1"), std::string::npos) << r.error().message;
    }
    EXPECT_TRUE(parse_config("[pki]\ncountry = \"PT\"\n", "test").has_value());
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

TEST(Config, KeysAndTlsSettingsRoundTripAndAreChecked) {
    Config c;
    c.server.tls = true;
    c.server.tls_names = {"selo.example.mo", "10.0.0.5"};
    c.keys.backend = "pkcs11";
    c.keys.pkcs11_module = "/usr/lib/softhsm/libsofthsm2.so";
    c.keys.pkcs11_token_label = "selo";
    c.keys.pkcs11_pin_source = "file:token.pin";
    auto parsed = parse_config(render_config(c), "test");
    ASSERT_TRUE(parsed.has_value()) << parsed.error().message;
    EXPECT_TRUE(parsed->server.tls);
    EXPECT_EQ(parsed->server.tls_names, c.server.tls_names);
    EXPECT_EQ(parsed->keys.backend, "pkcs11");
    EXPECT_EQ(parsed->keys.pkcs11_token_label, "selo");
    EXPECT_EQ(parsed->keys.pkcs11_pin_source, "file:token.pin");

    // A PKCS#11 store needs its module, token and PIN source; the PIN comes from a file or the
    // environment, never from the configuration itself.
    auto incomplete = parse_config("[keys]\nbackend = \"pkcs11\"\npkcs11_module = \"m.so\"\n", "t");
    ASSERT_FALSE(incomplete.has_value());
    EXPECT_NE(incomplete.error().message.find("pkcs11_token_label"), std::string::npos);
    EXPECT_FALSE(parse_config("[keys]\nbackend = \"pkcs11\"\npkcs11_module = \"m.so\"\n"
                              "pkcs11_token_label = \"t\"\npkcs11_pin_source = \"1234\"\n", "t"));
    EXPECT_FALSE(parse_config("[keys]\nbackend = \"kms\"\n", "t"));

    // Certificate and key files go together, and turn TLS on.
    EXPECT_FALSE(parse_config("[server]\ntls_certificate_file = \"a.pem\"\n", "t"));
    auto files = parse_config("[server]\ntls_certificate_file = \"a.pem\"\ntls_key_file = \"a.key\"\n", "t");
    ASSERT_TRUE(files.has_value()) << files.error().message;
    EXPECT_TRUE(files->server.tls);
    EXPECT_FALSE(parse_config("[server]\ntls = \"yes\"\n", "t"));
}

TEST(Config, TimeStampingAndLogSettingsRoundTripAndAreChecked) {
    Config c;
    c.tsa.policy = "1.3.6.1.4.1.99999.7";
    c.tsa.accepted_policies = {"1.3.6.1.4.1.99999.8"};
    c.tsa.accuracy_ms = 250;
    c.log.tree_head_interval_seconds = 60;
    std::string text = render_config(c);
    EXPECT_NE(text.find("[tsa]"), std::string::npos);
    EXPECT_NE(text.find("[log]"), std::string::npos);
    auto parsed = parse_config(text, "test");
    ASSERT_TRUE(parsed.has_value()) << parsed.error().message;
    EXPECT_EQ(parsed->tsa.policy, "1.3.6.1.4.1.99999.7");
    ASSERT_EQ(parsed->tsa.accepted_policies.size(), 1u);
    EXPECT_EQ(parsed->tsa.accuracy_ms, 250u);
    EXPECT_EQ(parsed->tsa.key, "ec-p256");
    EXPECT_EQ(parsed->tsa.issuer, "infrastructure");
    EXPECT_EQ(parsed->log.tree_head_interval_seconds, 60u);
    // Defaults when the sections are absent: accuracy 1 s.
    EXPECT_EQ(parse_config("", "t")->tsa.accuracy_ms, 1000u);
    EXPECT_FALSE(parse_config("[tsa]\npolicy_oid = \"1.2\"\n", "t").has_value());
    EXPECT_FALSE(parse_config("[tsa]\naccuracy_ms = 3600001\n", "t").has_value());
    EXPECT_FALSE(parse_config("[tsa]\naccepted_policies = \"1.2\"\n", "t").has_value());
    EXPECT_FALSE(parse_config("[log]\ntree_head_interval_seconds = 0\n", "t").has_value());
}

TEST(Config, RepositoryListenerRoundTripsAndIsChecked) {
    Config c;
    c.server.public_url = "https://selo.example.mo";
    c.server.tls = true;
    c.server.repository_listen = "0.0.0.0:80";
    c.server.repository_url = "http://status.example.mo";
    auto parsed = parse_config(render_config(c), "test");
    ASSERT_TRUE(parsed.has_value()) << parsed.error().message;
    EXPECT_EQ(parsed->server.repository_listen, "0.0.0.0:80");
    EXPECT_EQ(status_base_url(parsed->server), "http://status.example.mo");
    EXPECT_EQ(status_base_url(Config{}.server), Config{}.server.public_url);
    for (const char* bad : {"https://status.example.mo", "http://", "http://h/path", "ftp://h",
                            "http://user@h", "status.example.mo"}) {
        auto r = parse_config(std::string("[server]\nrepository_url = \"") + bad + "\"\n", "t");
        ASSERT_FALSE(r.has_value()) << bad;
        EXPECT_NE(r.error().message.find("repository_url"), std::string::npos) << r.error().message;
    }
    auto alone = parse_config("[server]\nrepository_listen = \"127.0.0.1:8081\"\n", "t");
    ASSERT_FALSE(alone.has_value());
    EXPECT_NE(alone.error().message.find("needs repository_url"), std::string::npos);
    EXPECT_FALSE(parse_config("[server]\nrepository_listen = \"8081\"\nrepository_url = \"http://h:8081\"\n", "t"));
    EXPECT_FALSE(parse_config("[server]\nlisten = \"127.0.0.1:8080\"\nrepository_listen = \"127.0.0.1:8080\"\n"
                              "repository_url = \"http://h:8080\"\n", "t"));
}

}  // namespace
}  // namespace selo
