// /api/v1 sign-in and the role checks every route goes through, over HTTP with curl.

#include <gtest/gtest.h>

#include "integration/selo_instance.hpp"

namespace selo::test {
namespace {

namespace json = boost::json;

class ApiV1 : public ::testing::Test {
protected:
    static void SetUpTestSuite() {
        selo = new SeloInstance();
        error = new std::string(selo->start(false));
    }
    static void TearDownTestSuite() {
        delete selo;
        delete error;
    }
    void SetUp() override {
        if (!error->empty()) {
            GTEST_SKIP() << *error;
        }
    }
    static inline SeloInstance* selo = nullptr;
    static inline std::string* error = nullptr;
};

TEST_F(ApiV1, OfficerSignsInWithPasswordAndOtpAndSeesTheirRoles) {
    Holder officer = selo->enrol("梁文華", "LEUNG Man Wa", "S-0001", "leung@selo.example.mo", "",
                                 {"ca-officer"}, "staff-card");
    ASSERT_TRUE(officer.credential.empty()) << "no PIN, no signing credential";
    json::object body{{"username", officer.username},
                      {"password", officer.password},
                      {"otp", SeloInstance::otp(officer)}};
    auto login = selo->post("/api/v1/auth/login", json::serialize(body));
    ASSERT_EQ(login.status, 200) << login.raw;
    const auto& o = login.body.as_object();
    EXPECT_EQ(o.at("token_type").as_string(), "Bearer");
    EXPECT_EQ(o.at("roles").as_array(), json::array{"ca-officer"});
    std::string token(o.at("access_token").as_string());
    EXPECT_NE(login.headers.find("HttpOnly"), std::string::npos) << login.headers;
    EXPECT_NE(login.headers.find("SameSite=Strict"), std::string::npos) << login.headers;

    auto me = selo->get("/api/v1/me", {"Authorization: Bearer " + token});
    ASSERT_EQ(me.status, 200) << me.raw;
    EXPECT_EQ(me.body.as_object().at("username").as_string(), officer.username);
    EXPECT_EQ(me.body.as_object().at("name").as_string(), "梁文華");
    // The browser cookie works the same way.
    auto cookie = selo->get("/api/v1/me", {"Cookie: other=1; selo_session=" + token});
    EXPECT_EQ(cookie.status, 200) << cookie.raw;

    // The same OTP again is refused (replay), and so is a wrong one.
    auto replay = selo->post("/api/v1/auth/login", json::serialize(body));
    EXPECT_EQ(replay.status, 401) << replay.raw;
    EXPECT_NE(replay.error().find("already been used"), std::string::npos) << replay.error();
    body["otp"] = "000000";
    body["password"] = "wrong";
    auto wrong = selo->post("/api/v1/auth/login", json::serialize(body));
    EXPECT_EQ(wrong.status, 401);
    EXPECT_NE(wrong.headers.find("application/problem+json"), std::string::npos) << wrong.headers;

    // Logging out ends the session.
    auto out = selo->post("/api/v1/auth/logout", "", {"Authorization: Bearer " + token});
    EXPECT_EQ(out.status, 204) << out.raw;
    EXPECT_EQ(selo->get("/api/v1/me", {"Authorization: Bearer " + token}).status, 401);
}

TEST_F(ApiV1, RefusesMissingTokensAndPasswordOnlySessions) {
    auto none = selo->get("/api/v1/me");
    EXPECT_EQ(none.status, 401);
    EXPECT_NE(none.headers.find("application/problem+json"), std::string::npos);
    EXPECT_NE(none.headers.find("WWW-Authenticate: Bearer"), std::string::npos) << none.headers;
    EXPECT_EQ(selo->get("/api/v1/me", {"Authorization: Bearer forged"}).status, 401);
    EXPECT_EQ(selo->get("/api/v1/me", {"Authorization: Basic eDp5"}).status, 401);

    // A CSC auth/login token was made with the password alone: not enough for /api/v1.
    Holder citizen = selo->enrol("陳小明", "CHAN Siu Ming", "6000001(1)", "ming@example.mo", "");
    std::string csc = selo->csc_login(citizen);
    auto r = selo->get("/api/v1/me", {"Authorization: Bearer " + csc});
    EXPECT_EQ(r.status, 401);
    EXPECT_NE(r.error().find("password alone"), std::string::npos) << r.error();

    auto bad_json = selo->post("/api/v1/auth/login", "{\"username\":");
    EXPECT_EQ(bad_json.status, 400) << bad_json.raw;
    auto missing = selo->post("/api/v1/auth/login", "{\"username\":\"x\"}");
    EXPECT_EQ(missing.status, 400) << missing.raw;
    EXPECT_NE(missing.error().find("'password' is required"), std::string::npos) << missing.error();
}

TEST_F(ApiV1, OpenApiDocumentDescribesTheRoutesAndWhoMayCallThem) {
    auto r = selo->get("/api/v1/openapi.json");
    ASSERT_EQ(r.status, 200) << r.raw;
    const auto& doc = r.body.as_object();
    EXPECT_EQ(doc.at("openapi").as_string(), "3.0.3");
    const auto& paths = doc.at("paths").as_object();
    for (const char* p : {"/api/v1/auth/login", "/api/v1/auth/logout", "/api/v1/me", "/api/v1/openapi.json"}) {
        EXPECT_TRUE(paths.contains(p)) << p;
    }
    const auto& me = paths.at("/api/v1/me").as_object().at("get").as_object();
    EXPECT_EQ(me.at("x-roles").as_array(), json::array{"any"});
    EXPECT_TRUE(me.at("responses").as_object().contains("401"));
    const auto& login = paths.at("/api/v1/auth/login").as_object().at("post").as_object();
    EXPECT_EQ(login.at("x-roles").as_array(), json::array{"public"});
    EXPECT_TRUE(login.contains("requestBody"));
}

}  // namespace
}  // namespace selo::test
