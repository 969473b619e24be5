#include <gtest/gtest.h>

#include "core/bytes.hpp"

namespace selo {
namespace {

TEST(Base64, EncodesRfc4648Vectors) {
    // RFC 4648 §10
    EXPECT_EQ(base64_encode(as_bytes("")), "");
    EXPECT_EQ(base64_encode(as_bytes("f")), "Zg==");
    EXPECT_EQ(base64_encode(as_bytes("fo")), "Zm8=");
    EXPECT_EQ(base64_encode(as_bytes("foo")), "Zm9v");
    EXPECT_EQ(base64_encode(as_bytes("foob")), "Zm9vYg==");
    EXPECT_EQ(base64_encode(as_bytes("fooba")), "Zm9vYmE=");
    EXPECT_EQ(base64_encode(as_bytes("foobar")), "Zm9vYmFy");
}

TEST(Base64, DecodesWhatItEncodes) {
    for (std::string s : {"", "f", "fo", "foo", "foob", "fooba", "foobar", "\xff\xfe\x00\x01"}) {
        auto d = base64_decode(base64_encode(as_bytes(s)));
        ASSERT_TRUE(d.has_value());
        EXPECT_EQ(as_chars(*d), s);
        auto u = base64url_decode(base64url_encode(as_bytes(s)));
        ASSERT_TRUE(u.has_value());
        EXPECT_EQ(as_chars(*u), s);
    }
}

TEST(Base64, RefusesMalformedInput) {
    EXPECT_FALSE(base64_decode("Zg=").has_value());      // bad length
    EXPECT_FALSE(base64_decode("Zh==").has_value());     // non-zero padding bits
    EXPECT_FALSE(base64_decode("Zm9v\n").has_value());   // whitespace
    EXPECT_FALSE(base64_decode("Zm-v").has_value());     // url alphabet in standard decoding
    EXPECT_FALSE(base64_decode("Z===").has_value());
    EXPECT_FALSE(base64url_decode("Zm9v+").has_value());
    EXPECT_TRUE(base64_decode("Zm9v").has_value());
}

TEST(Hex, RoundTripsAndRefusesGarbage) {
    auto d = hex_decode("00ff10Ab");
    ASSERT_TRUE(d.has_value());
    EXPECT_EQ(hex_encode(*d), "00ff10ab");
    EXPECT_EQ(hex_encode_upper(*d), "00FF10AB");
    EXPECT_FALSE(hex_decode("abc").has_value());
    EXPECT_FALSE(hex_decode("zz").has_value());
}

TEST(ConstantTimeEqual, ComparesContentAndLength) {
    EXPECT_TRUE(constant_time_equal(as_bytes("abc"), as_bytes("abc")));
    EXPECT_FALSE(constant_time_equal(as_bytes("abc"), as_bytes("abd")));
    EXPECT_FALSE(constant_time_equal(as_bytes("abc"), as_bytes("ab")));
}

}  // namespace
}  // namespace selo
