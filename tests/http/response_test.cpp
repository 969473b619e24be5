#include <gtest/gtest.h>

#include <boost/json/parse.hpp>

#include "http/response.hpp"

namespace selo::http {
namespace {

Request json_request(std::string body, std::string_view content_type = "application/json") {
    Request req{Verb::post, "/x", 11};
    if (!content_type.empty()) {
        req.set(Field::content_type, content_type);
    }
    req.body() = std::move(body);
    return req;
}

TEST(Response, JsonResponseHasJsonContentType) {
    auto res = json_response(Status::ok, boost::json::object{{"name", "陳大文"}, {"n", 1}});
    EXPECT_EQ(res.result(), Status::ok);
    EXPECT_EQ(res[Field::content_type], "application/json");
    auto parsed = boost::json::parse(res.body());
    EXPECT_EQ(parsed.at("name").as_string(), "陳大文");  // UTF-8 kept, not mangled
    EXPECT_EQ(parsed.at("n").as_int64(), 1);
}

TEST(Response, BinaryResponseKeepsBytes) {
    Bytes der{0x30, 0x00, 0xff, 0x0a};
    auto res = binary_response(Status::ok, der, "application/pkix-cert");
    EXPECT_EQ(res[Field::content_type], "application/pkix-cert");
    EXPECT_EQ(res.body(), std::string("\x30\x00\xff\x0a", 4));
}

TEST(Response, TextResponseEndsWithNewline) {
    EXPECT_EQ(text_response(Status::not_found, "gone").body(), "gone\n");
    EXPECT_EQ(text_response(Status::ok, "x\n").body(), "x\n");
}

TEST(Response, ProblemDetailsFollowRfc9457) {
    Problem p;
    p.status = Status::forbidden;
    p.type = "https://selo.example/problems/out-of-credit";
    p.title = "You do not have enough credit.";
    p.detail = "Your current balance is 30, but that costs 50.";
    p.instance = "/account/12345/msgs/abc";
    p.extensions["balance"] = 30;
    p.extensions["status"] = 999;  // may not override a standard member
    auto res = problem_response(p);
    EXPECT_EQ(res.result(), Status::forbidden);
    EXPECT_EQ(res[Field::content_type], "application/problem+json");
    auto doc = boost::json::parse(res.body()).as_object();
    EXPECT_EQ(doc.at("type").as_string(), p.type);
    EXPECT_EQ(doc.at("title").as_string(), p.title);
    EXPECT_EQ(doc.at("status").as_int64(), 403);
    EXPECT_EQ(doc.at("detail").as_string(), p.detail);
    EXPECT_EQ(doc.at("instance").as_string(), p.instance);
    EXPECT_EQ(doc.at("balance").as_int64(), 30);
}

TEST(Response, AboutBlankProblemUsesReasonPhrase) {
    auto doc = boost::json::parse(problem_response(Status::not_found, "no such mailbox").body())
                   .as_object();
    EXPECT_EQ(doc.at("type").as_string(), "about:blank");
    EXPECT_EQ(doc.at("title").as_string(), "Not Found");
    EXPECT_EQ(doc.at("detail").as_string(), "no such mailbox");
}

TEST(Response, ProblemFromErrorMapsCodeAndHidesInternalDetail) {
    auto res = problem_response(Error{ErrorCode::conflict, "certificate already revoked"});
    EXPECT_EQ(res.result(), Status::conflict);
    auto doc = boost::json::parse(res.body()).as_object();
    EXPECT_EQ(doc.at("detail").as_string(), "certificate already revoked");
    EXPECT_EQ(doc.at("code").as_string(), "conflict");

    auto internal = problem_response(Error{ErrorCode::internal, "sqlite3_step: disk I/O error"});
    EXPECT_EQ(internal.result(), Status::internal_server_error);
    EXPECT_EQ(internal.body().find("sqlite"), std::string::npos);
}

TEST(Response, StatusForEveryCode) {
    EXPECT_EQ(status_for(ErrorCode::malformed), Status::bad_request);
    EXPECT_EQ(status_for(ErrorCode::invalid_argument), Status::unprocessable_entity);
    EXPECT_EQ(status_for(ErrorCode::unauthorized), Status::unauthorized);
    EXPECT_EQ(status_for(ErrorCode::forbidden), Status::forbidden);
    EXPECT_EQ(status_for(ErrorCode::not_found), Status::not_found);
    EXPECT_EQ(status_for(ErrorCode::conflict), Status::conflict);
    EXPECT_EQ(status_for(ErrorCode::expired), Status::bad_request);
    EXPECT_EQ(status_for(ErrorCode::unsupported), Status::not_implemented);
    EXPECT_EQ(status_for(ErrorCode::too_large), Status::payload_too_large);
    EXPECT_EQ(status_for(ErrorCode::unavailable), Status::service_unavailable);
    EXPECT_EQ(status_for(ErrorCode::internal), Status::internal_server_error);
}

TEST(ParseJsonObject, AcceptsJsonWithOrWithoutCharset) {
    for (std::string_view type :
         {"application/json", "application/json; charset=utf-8",
          "Application/JSON;charset=\"UTF-8\"", "application/merge-patch+json"}) {
        auto obj = parse_json_object(json_request(R"({"credentialID":"abc"})", type));
        ASSERT_TRUE(obj.has_value()) << type << ": " << obj.error().message;
        EXPECT_EQ(obj->at("credentialID").as_string(), "abc");
    }
}

TEST(ParseJsonObject, RefusesOtherMediaTypesAndCharsets) {
    auto missing = parse_json_object(json_request("{}", ""));
    ASSERT_FALSE(missing);
    EXPECT_EQ(missing.error().code, ErrorCode::malformed);
    EXPECT_NE(missing.error().message.find("Content-Type"), std::string::npos);
    EXPECT_FALSE(parse_json_object(json_request("{}", "text/plain")));
    EXPECT_FALSE(parse_json_object(json_request("{}", "application/x-www-form-urlencoded")));
    EXPECT_FALSE(parse_json_object(json_request("{}", "application/json; charset=iso-8859-1")));
    EXPECT_FALSE(parse_json_object(json_request("{}", "application/jsonp")));
}

TEST(ParseJsonObject, SyntaxErrorSaysWhere) {
    auto r = parse_json_object(json_request("{\n  \"a\": 1,\n  \"b\": tru\n}"));
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, ErrorCode::malformed);
    EXPECT_NE(r.error().message.find("line 3"), std::string::npos) << r.error().message;

    auto truncated = parse_json_object(json_request("{\"a\": [1, 2"));
    ASSERT_FALSE(truncated);
    EXPECT_NE(truncated.error().message.find("byte 11"), std::string::npos)
        << truncated.error().message;
}

TEST(ParseJsonObject, RefusesNonObjectsEmptyBodiesAndBadUtf8) {
    auto arr = parse_json_object(json_request("[1,2]"));
    ASSERT_FALSE(arr);
    EXPECT_NE(arr.error().message.find("an array"), std::string::npos);
    EXPECT_FALSE(parse_json_object(json_request("\"text\"")));
    auto empty = parse_json_object(json_request("  "));
    ASSERT_FALSE(empty);
    EXPECT_NE(empty.error().message.find("empty"), std::string::npos);
    EXPECT_FALSE(parse_json_object(json_request("{\"a\":\"\xff\xfe\"}")));
    EXPECT_FALSE(parse_json_object(json_request("{} trailing")));
    std::string deep(100, '[');
    EXPECT_FALSE(parse_json_object(json_request("{\"a\":" + deep)));
}

TEST(ParseJsonObject, RefusesDuplicateKeysNamingKeyAndPosition) {
    // The smuggling shape from the security review: Boost.JSON alone keeps the last one.
    auto r = parse_json_object(json_request(R"({"credentialID":"a","credentialID":"b"})"));
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, ErrorCode::malformed);
    EXPECT_NE(r.error().message.find("duplicate member name \"credentialID\""), std::string::npos)
        << r.error().message;
    // The position is the duplicate name's opening quote.
    EXPECT_NE(r.error().message.find("line 1, column 21 (byte 20)"), std::string::npos)
        << r.error().message;
    auto escaped = parse_json_object(json_request(R"({"a\"b":1, "a\"b":2})"));
    ASSERT_FALSE(escaped);
    EXPECT_NE(escaped.error().message.find("(byte 11)"), std::string::npos)
        << escaped.error().message;

    auto multiline = parse_json_object(json_request("{\n  \"a\": 1,\n  \"a\": 2\n}"));
    ASSERT_FALSE(multiline);
    EXPECT_NE(multiline.error().message.find("line 3, column 3"), std::string::npos)
        << multiline.error().message;
}

TEST(ParseJsonObject, RefusesDuplicateKeysAtEveryDepth) {
    for (std::string_view doc : {
             R"({"a":{"b":1,"b":2}})",
             R"({"a":[{"x":1},{"y":1,"y":2}]})",
             R"({"a":{"b":{"c":{"d":1,"e":2,"d":3}}}})",
             // Names compare after unescaping (RFC 8259 §8.3).
             R"({"a":1,"\u0061":2})",
             R"({"k\n":1,"k\u000a":2})",
         }) {
        auto r = parse_json_object(json_request(std::string(doc)));
        ASSERT_FALSE(r) << doc;
        EXPECT_NE(r.error().message.find("duplicate member name"), std::string::npos)
            << doc << ": " << r.error().message;
    }
}

TEST(ParseJsonObject, SameKeyInSiblingObjectsIsFine) {
    auto r = parse_json_object(json_request(
        R"({"a":{"id":1},"b":{"id":2},"list":[{"id":3},{"id":4}],"id":{"id":{"id":5}}})"));
    ASSERT_TRUE(r) << r.error().message;
    EXPECT_EQ(r->at("list").as_array().at(1).as_object().at("id").as_int64(), 4);
    EXPECT_EQ(r->at("id").at("id").at("id").as_int64(), 5);
    // Case matters: "A" and "a" are different names.
    EXPECT_TRUE(parse_json_object(json_request(R"({"a":1,"A":2})")));
}

TEST(ParseJsonObject, QuotesALongOrControlCharacterKeySafely) {
    std::string key(200, 'k');
    auto r = parse_json_object(json_request("{\"" + key + "\":1,\"" + key + "\":2}"));
    ASSERT_FALSE(r);
    EXPECT_LT(r.error().message.size(), 200u) << r.error().message;
    EXPECT_NE(r.error().message.find("kkk\"..."), std::string::npos) << r.error().message;
    // A control character in the name comes back escaped, never raw.
    auto ctl = parse_json_object(json_request(R"({"\u0001":1,"\u0001":2})"));
    ASSERT_FALSE(ctl);
    EXPECT_EQ(ctl.error().message.find('\x01'), std::string::npos);
    EXPECT_NE(ctl.error().message.find(R"("\u0001")"), std::string::npos) << ctl.error().message;
}

TEST(ParseJsonObject, KeepsEveryValueKindAndLargeStrings) {
    // Values go through the same value_stack as boost::json::parse: check the result is equal.
    std::string big(3 * 1024 * 1024, 'A');  // several parser buffers long
    std::string doc = R"({"s":")" + big + R"(","esc":"a\"b\\c\u00e9","i":-5,"u":18446744073709551615,)"
                      R"("d":1.5,"t":true,"f":false,"n":null,"arr":[1,[2,{}],[]],"o":{}})";
    auto r = parse_json_object(json_request(doc));
    ASSERT_TRUE(r) << r.error().message;
    EXPECT_EQ(boost::json::value(*r), boost::json::parse(doc));
    EXPECT_EQ(r->at("s").as_string().size(), big.size());
    EXPECT_EQ(r->at("esc").as_string(), "a\"b\\c\xc3\xa9");
}

TEST(HttpDate, IsImfFixdate) {
    // RFC 9110 §5.6.7's own example.
    EXPECT_EQ(format_http_date(from_unix_seconds(784111777)), "Sun, 06 Nov 1994 08:49:37 GMT");
}

}  // namespace
}  // namespace selo::http
