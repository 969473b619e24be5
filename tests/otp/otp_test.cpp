#include <gtest/gtest.h>

#include <cstdio>
#include <memory>

#include "otp/otp.hpp"

namespace selo::otp {
namespace {

using crypto::DigestAlgorithm;

TimePoint at(std::int64_t s) { return from_unix_seconds(s); }

TEST(Hotp, MatchesRfc4226AppendixD) {
    const std::string secret = "12345678901234567890";
    const char* expected[] = {"755224", "287082", "359152", "969429", "338314",
                              "254676", "287922", "162583", "399871", "520489"};
    for (std::uint64_t c = 0; c < 10; ++c) {
        EXPECT_EQ(hotp(as_bytes(secret), c), expected[c]) << "counter " << c;
    }
}

struct TotpVector {
    std::int64_t time;
    const char* sha1;
    const char* sha256;
    const char* sha512;
};

TEST(Totp, MatchesRfc6238AppendixB) {
    const std::string s1 = "12345678901234567890";
    const std::string s256 = "12345678901234567890123456789012";
    const std::string s512 = "1234567890123456789012345678901234567890123456789012345678901234";
    const TotpVector vectors[] = {
        {59, "94287082", "46119246", "90693936"},
        {1111111109, "07081804", "68084774", "25091201"},
        {1111111111, "14050471", "67062674", "99943326"},
        {1234567890, "89005924", "91819424", "93441116"},
        {2000000000, "69279037", "90698825", "38618901"},
        {20000000000, "65353130", "77737706", "47863826"},
    };
    for (const auto& v : vectors) {
        if (v.time > 9'000'000'000) {
            // Beyond what a nanosecond system_clock can hold (year 2262): check the counter path.
            const std::uint64_t step = static_cast<std::uint64_t>(v.time) / 30;
            EXPECT_EQ(hotp(as_bytes(s1), step, {DigestAlgorithm::sha1, 8, 30}), v.sha1);
            EXPECT_EQ(hotp(as_bytes(s256), step, {DigestAlgorithm::sha256, 8, 30}), v.sha256);
            EXPECT_EQ(hotp(as_bytes(s512), step, {DigestAlgorithm::sha512, 8, 30}), v.sha512);
            continue;
        }
        EXPECT_EQ(totp(as_bytes(s1), at(v.time), {DigestAlgorithm::sha1, 8, 30}), v.sha1);
        EXPECT_EQ(totp(as_bytes(s256), at(v.time), {DigestAlgorithm::sha256, 8, 30}), v.sha256);
        EXPECT_EQ(totp(as_bytes(s512), at(v.time), {DigestAlgorithm::sha512, 8, 30}), v.sha512);
    }
}

TEST(Totp, AcceptsOneStepEitherSideAndNoMore) {
    const Bytes secret = to_bytes("12345678901234567890");
    const TimePoint now = at(1700000000);
    const std::uint64_t step = totp_step(now);
    for (int d = -1; d <= 1; ++d) {
        auto code = hotp(secret, step + d);
        auto r = verify_totp(secret, code, now, std::nullopt);
        ASSERT_TRUE(r.has_value()) << "offset " << d;
        EXPECT_EQ(*r, step + d);
    }
    EXPECT_FALSE(verify_totp(secret, hotp(secret, step - 2), now, std::nullopt).has_value());
    EXPECT_FALSE(verify_totp(secret, hotp(secret, step + 2), now, std::nullopt).has_value());
}

TEST(Totp, RefusesReplayOfAnAcceptedStep) {
    const Bytes secret = to_bytes("12345678901234567890");
    const TimePoint now = at(1700000000);
    auto code = totp(secret, now);
    auto first = verify_totp(secret, code, now, std::nullopt);
    ASSERT_TRUE(first.has_value());
    auto again = verify_totp(secret, code, now, *first);
    ASSERT_FALSE(again.has_value());
    EXPECT_NE(again.error().message.find("already been used"), std::string::npos);
    // An older, still-in-window code is refused too once a later step was accepted.
    auto older = verify_totp(secret, hotp(secret, *first - 1), now, *first);
    EXPECT_FALSE(older.has_value());
}

TEST(Totp, RefusesMalformedCodes) {
    const Bytes secret = to_bytes("12345678901234567890");
    EXPECT_EQ(verify_totp(secret, "12345", at(0), std::nullopt).error().code, ErrorCode::malformed);
    EXPECT_EQ(verify_totp(secret, "12345a", at(0), std::nullopt).error().code, ErrorCode::malformed);
    EXPECT_EQ(verify_totp(secret, "", at(0), std::nullopt).error().code, ErrorCode::malformed);
}

TEST(Base32, MatchesRfc4648Vectors) {
    EXPECT_EQ(base32_encode(as_bytes("foobar")), "MZXW6YTBOI");
    EXPECT_EQ(base32_encode(as_bytes("f")), "MY");
    auto d = base32_decode("mzxw 6ytb oi======");
    ASSERT_TRUE(d.has_value());
    EXPECT_EQ(as_chars(*d), "foobar");
    EXPECT_FALSE(base32_decode("MZ1W").has_value());
}

TEST(OtpauthUri, CarriesSecretIssuerAndEncodedLabel) {
    auto uri = otpauth_uri("Selo eSignCloud", "陳大文", as_bytes("12345678901234567890"));
    EXPECT_EQ(uri,
              "otpauth://totp/Selo%20eSignCloud:%E9%99%B3%E5%A4%A7%E6%96%87?secret="
              "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&issuer=Selo%20eSignCloud&algorithm=SHA1&digits=6&"
              "period=30");
}

// Independent check: the codes agree with oathtool (oath-toolkit), which authenticator-compatible
// deployments use as a reference.
TEST(Totp, AgreesWithOathtool) {
    if (std::system("command -v oathtool >/dev/null 2>&1") != 0) {
        GTEST_SKIP() << "oathtool not installed";
    }
    const Bytes secret = to_bytes("selo-test-secret-0123");
    const std::string b32 = base32_encode(secret);
    for (std::int64_t t : {1700000000LL, 1800000017LL, 2000000000LL}) {
        std::string cmd = fmt::format("oathtool --totp -b {} --now '@{}' 2>&1", b32, t);
        // oathtool accepts "@seconds" through its date parser.
        std::unique_ptr<FILE, int (*)(FILE*)> p(::popen(cmd.c_str(), "r"), ::pclose);
        ASSERT_TRUE(p);
        char buf[64] = {};
        ASSERT_NE(std::fgets(buf, sizeof buf, p.get()), nullptr);
        std::string got(buf);
        while (!got.empty() && (got.back() == '\n')) {
            got.pop_back();
        }
        EXPECT_EQ(got, totp(secret, at(t))) << "at " << t;
    }
}

}  // namespace
}  // namespace selo::otp
