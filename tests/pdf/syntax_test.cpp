#include "pdf/syntax.hpp"

#include <gtest/gtest.h>

namespace selo::pdf {
namespace {

TEST(PdfTextString, WritesAsciiAsLiteralString) {
    EXPECT_EQ(text_string("Macau").value(), "(Macau)");
    EXPECT_EQ(text_string("").value(), "()");
}

TEST(PdfTextString, EscapesDelimitersAndControlCharacters) {
    // ISO 32000-1 §7.3.4.2: \( \) \\ and octal escapes; a raw CR would be read as LF.
    EXPECT_EQ(text_string("a(b)c\\d\r\n").value(), "(a\\(b\\)c\\\\d\\015\\012)");
}

TEST(PdfTextString, WritesControlCodesThatPdfDocEncodingRedefinesAsUtf16Be) {
    // 0x18 is a breve in PDFDocEncoding (ISO 32000-1 Annex D), not CAN.
    EXPECT_EQ(text_string("a\x18").value(), "<FEFF00610018>");
}

TEST(PdfTextString, WritesChineseAsUtf16BeWithByteOrderMark) {
    // 陳 U+9673, 大 U+5927, 文 U+6587.
    EXPECT_EQ(text_string("陳大文").value(), "<FEFF967359276587>");
}

TEST(PdfTextString, WritesPortugueseAsUtf16Be) {
    EXPECT_EQ(text_string("João Conceição").value(),
              "<FEFF004A006F00E3006F00200043006F006E00630065006900E700E3006F>");
}

TEST(PdfTextString, WritesSupplementaryCharactersAsSurrogatePairs) {
    // U+20BB7 (𠮷, used in Hong Kong and Macau names) is D842 DFB7 in UTF-16.
    EXPECT_EQ(text_string("\xF0\xA0\xAE\xB7").value(), "<FEFFD842DFB7>");
}

TEST(PdfTextString, RefusesMalformedUtf8) {
    for (std::string_view bad : {"\xC3", "\xC0\xAF", "\xED\xA0\x80", "\xF4\x90\x80\x80", "\xFF"}) {
        auto r = text_string(bad);
        ASSERT_FALSE(r) << "accepted " << bad;
        EXPECT_EQ(r.error().code, ErrorCode::invalid_argument);
    }
}

TEST(PdfLiteralString, KeepsBytesVerbatimBehindEscapes) {
    EXPECT_EQ(literal_string(std::string_view("\x00\xff", 2)), "(\\000\\377)");
}

TEST(PdfDate, FormatsUtcWithZ) {
    // 2024-06-01T12:34:56Z
    EXPECT_EQ(pdf_date(from_unix_seconds(1'717'245'296)).value(), "D:20240601123456Z");
    EXPECT_EQ(pdf_date(from_unix_seconds(0)).value(), "D:19700101000000Z");
    // Sub-second precision is dropped, not rounded.
    EXPECT_EQ(pdf_date(from_unix_seconds(59) + std::chrono::milliseconds(999)).value(),
              "D:19700101000059Z");
}

TEST(PdfDate, FormatsTimesBeforeTheEpoch) {
    // Flooring, not truncation towards zero: half a second before 1970 is still 1969.
    EXPECT_EQ(pdf_date(from_unix_seconds(0) - std::chrono::milliseconds(500)).value(),
              "D:19691231235959Z");
}

TEST(PdfFieldName, RefusesPeriodsAndEmptyNames) {
    EXPECT_TRUE(check_field_name("Signature1"));
    EXPECT_TRUE(check_field_name("Assinatura João"));
    EXPECT_EQ(check_field_name("a.b").error().code, ErrorCode::invalid_argument);
    EXPECT_EQ(check_field_name("").error().code, ErrorCode::invalid_argument);
    EXPECT_EQ(check_field_name("\xC3").error().code, ErrorCode::invalid_argument);
}

}  // namespace
}  // namespace selo::pdf
