#include "pdf/signature.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <regex>
#include <set>
#include <string>

#include "pdf/test_support.hpp"

namespace selo::pdf {
namespace {

namespace fs = std::filesystem;
using selo::test::read_file;
using selo::test::write_file;
using test::default_options;
using test::scratch_dir;
using test::sign_in_memory;
using test::verify_signed;

fs::path fixture(const std::string& name) {
    return fs::path(SELO_TEST_DATA) / "pdf" / name;
}

std::string update_text(const PreparedSignature& p) {
    return std::string(as_chars(p.update_bytes()));
}

// Object numbers the update (re)defines.
std::set<int> objects_in(const PreparedSignature& p) {
    std::set<int> nums;
    const auto text = update_text(p);
    static const std::regex obj_re(R"((?:^|\n)(\d+) \d+ obj\n)");
    for (auto it = std::sregex_iterator(text.begin(), text.end(), obj_re);
         it != std::sregex_iterator(); ++it) {
        nums.insert(std::stoi((*it)[1]));
    }
    return nums;
}

Result<PreparedSignature> prepare_fixture(const std::string& name,
                                          const SignatureFieldOptions& o = default_options()) {
    const auto pdf = read_file(fixture(name));
    return prepare_signature(pdf, o);
}

// Each fixture is signed twice (the second signature on top of the first), and both results
// are checked with qpdf, pdfsig and openssl; the in-memory and file preparations must agree.
class SignsFixture : public ::testing::TestWithParam<std::string> {};

TEST_P(SignsFixture, AndIndependentValidatorsAccept) {
    const auto input = fixture(GetParam());
    ASSERT_TRUE(fs::exists(input)) << input;
    const auto dir = scratch_dir();
    const auto pdf = read_file(input);

    auto signed1 = sign_in_memory(pdf, default_options());
    ASSERT_TRUE(signed1) << signed1.error().message;
    const auto& first = signed1->prepared;
    write_file(dir / "signed1.pdf", signed1->pdf);
    EXPECT_TRUE(verify_signed(input, dir / "signed1.pdf", first));

    auto from_file = prepare_signature_file(input, default_options());
    ASSERT_TRUE(from_file) << from_file.error().message;
    EXPECT_EQ(from_file->digest(pdf, crypto::DigestAlgorithm::sha256).value(),
              first.digest(pdf, crypto::DigestAlgorithm::sha256).value())
        << "memory and file preparations differ";

    auto signed2 = sign_in_memory(signed1->pdf, default_options());
    ASSERT_TRUE(signed2) << signed2.error().message;
    const auto& second = signed2->prepared;
    EXPECT_NE(second.field_name(), first.field_name());
    write_file(dir / "signed2.pdf", signed2->pdf);
    EXPECT_TRUE(verify_signed(dir / "signed1.pdf", dir / "signed2.pdf", second));
    // The second update follows a clean file of ours: never a reconstruction.
    EXPECT_FALSE(second.xref_reconstructed());
}

INSTANTIATE_TEST_SUITE_P(
    Fixtures, SignsFixture,
    ::testing::Values("classic.pdf", "xref-stream.pdf", "hybrid.pdf", "linearized.pdf",
                      "linearized-objstm.pdf", "linearized-incremental.pdf", "incremental.pdf",
                      "incremental-xref-stream.pdf", "junk-header.pdf",
                      "junk-header-xref-stream.pdf", "no-final-eol.pdf", "acroform-fields.pdf",
                      "acroform-objstm.pdf", "direct-acroform.pdf", "indirect-fields.pdf",
                      "indirect-annots.pdf", "docmdp-p2.pdf", "nonzero-generation.pdf",
                      "understated-size.pdf", "nested-pages.pdf", "broken-startxref.pdf",
                      "custom-trailer.pdf", "field-lock-p1-unsigned.pdf",
                      "truncated-after-trailer.pdf"),
    [](const auto& param_info) {
        std::string name = param_info.param;
        for (char& c : name) {
            if (!std::isalnum(static_cast<unsigned char>(c))) {
                c = '_';
            }
        }
        return name;
    });

struct Refusal {
    std::string file;
    ErrorCode code;
    std::string reason;  // a part of the message
};

class RefusesFixture : public ::testing::TestWithParam<Refusal> {};

TEST_P(RefusesFixture, NamingTheReason) {
    const auto& c = GetParam();
    auto r = prepare_fixture(c.file);
    ASSERT_FALSE(r) << c.file << " was accepted";
    EXPECT_EQ(r.error().code, c.code) << r.error().message;
    EXPECT_NE(r.error().message.find(c.reason), std::string::npos) << r.error().message;
    auto f = prepare_signature_file(fixture(c.file), default_options());
    ASSERT_FALSE(f);
    EXPECT_EQ(f.error().code, c.code) << f.error().message;
}

INSTANTIATE_TEST_SUITE_P(
    Fixtures, RefusesFixture,
    ::testing::Values(
        Refusal{"encrypted.pdf", ErrorCode::unsupported, "encrypted PDFs are not supported yet"},
        Refusal{"encrypted-no-password.pdf", ErrorCode::unsupported,
                "encrypted PDFs are not supported yet"},
        Refusal{"docmdp-p1.pdf", ErrorCode::conflict, "DocMDP permissions P=1"},
        Refusal{"field-lock-p1.pdf", ErrorCode::conflict, "field 'Approval' locks the document"},
        Refusal{"no-pages.pdf", ErrorCode::malformed, "no pages"},
        Refusal{"truncated.pdf", ErrorCode::malformed, "damaged beyond recovery"},
        Refusal{"damaged.pdf", ErrorCode::malformed, "damaged beyond recovery"}),
    [](const auto& param_info) {
        std::string name = param_info.param.file;
        for (char& c : name) {
            if (!std::isalnum(static_cast<unsigned char>(c))) {
                c = '_';
            }
        }
        return name;
    });

TEST(PrepareSignature, WritesTheSignatureDictionaryFields) {
    auto p = prepare_fixture("classic.pdf").value();
    const auto text = update_text(p);
    EXPECT_NE(text.find("/Type /Sig /Filter /Adobe.PPKLite /SubFilter /ETSI.CAdES.detached"),
              std::string::npos);
    EXPECT_NE(text.find("/M (D:20240601120000Z)"), std::string::npos);
    EXPECT_NE(text.find("/Name <FEFF967359276587>"), std::string::npos);
    EXPECT_NE(text.find("/Location (Macau)"), std::string::npos);
    EXPECT_NE(text.find("/FT /Sig /T (Signature1)"), std::string::npos);
    EXPECT_NE(text.find("/F 132 /Rect [ 0 0 0 0 ] /P 5 0 R"), std::string::npos);
    EXPECT_EQ(p.field_name(), "Signature1");
}

TEST(PrepareSignature, ByteRangeLeavesOutExactlyTheContentsString) {
    auto o = default_options();
    o.contents_capacity = 1000;
    auto p = prepare_fixture("classic.pdf", o).value();
    const auto br = p.byte_range();
    EXPECT_EQ(br[0], 0u);
    EXPECT_EQ(br[2] - br[1], 2u * 1000 + 2);
    EXPECT_EQ(br[2] + br[3], p.total_size());
    EXPECT_EQ(p.total_size(), p.original_size() + p.update_bytes().size());
}

TEST(PrepareSignature, SetContentsRefusesTooLargeAndAcceptsExactFit) {
    auto o = default_options();
    o.contents_capacity = 16;
    auto p = prepare_fixture("classic.pdf", o).value();
    const auto before =
        p.digest(read_file(fixture("classic.pdf")), crypto::DigestAlgorithm::sha256).value();
    auto big = p.set_contents(Bytes(17, 0xAB));
    ASSERT_FALSE(big);
    EXPECT_EQ(big.error().code, ErrorCode::too_large);
    ASSERT_TRUE(p.set_contents(Bytes(16, 0xAB)));
    const auto text = update_text(p);
    EXPECT_NE(text.find("/Contents <ABABABABABABABABABABABABABABABAB>"), std::string::npos);
    ASSERT_TRUE(p.set_contents(Bytes(2, 0x30)));
    EXPECT_NE(update_text(p).find("/Contents <30300000000000000000000000000000>"),
              std::string::npos);
    // /Contents is outside the ByteRange: the digest does not move.
    EXPECT_EQ(p.digest(read_file(fixture("classic.pdf")), crypto::DigestAlgorithm::sha256).value(),
              before);
}

TEST(PrepareSignature, DigestRefusesAnotherDocument) {
    auto p = prepare_fixture("classic.pdf").value();
    auto d = p.digest(read_file(fixture("incremental.pdf")), crypto::DigestAlgorithm::sha256);
    ASSERT_FALSE(d);
    EXPECT_EQ(d.error().code, ErrorCode::invalid_argument);
}

TEST(PrepareSignature, HashUpdateMatchesDigest) {
    const auto pdf = read_file(fixture("xref-stream.pdf"));
    auto p = prepare_signature(pdf, default_options()).value();
    crypto::Hasher h(crypto::DigestAlgorithm::sha384);
    h.update(pdf);
    p.hash_update(h);
    EXPECT_EQ(h.finish(), p.digest(pdf, crypto::DigestAlgorithm::sha384).value());
}

TEST(PrepareSignature, RefusesBadOptions) {
    auto o = default_options();
    o.contents_capacity = 0;
    EXPECT_EQ(prepare_fixture("classic.pdf", o).error().code, ErrorCode::invalid_argument);
    o = default_options();
    o.field_name = "a.b";
    EXPECT_EQ(prepare_fixture("classic.pdf", o).error().code, ErrorCode::invalid_argument);
    o = default_options();
    o.signer_name = "\xC3";
    EXPECT_EQ(prepare_fixture("classic.pdf", o).error().code, ErrorCode::invalid_argument);
}

TEST(PrepareSignature, UsesTheGivenFieldNameAndRefusesAnExistingOne) {
    auto o = default_options();
    o.field_name = "Assinatura do João";
    auto p = prepare_fixture("acroform-fields.pdf", o).value();
    EXPECT_EQ(p.field_name(), "Assinatura do João");
    EXPECT_NE(update_text(p).find("/T <FEFF"), std::string::npos);
    o.field_name = "Name";
    auto r = prepare_fixture("acroform-fields.pdf", o);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, ErrorCode::conflict);
    // A nested field's partial name is not a root field's name.
    o.field_name = "a";
    EXPECT_TRUE(prepare_fixture("acroform-fields.pdf", o));
}

TEST(PrepareSignature, PicksAnUnusedSignatureName) {
    EXPECT_EQ(prepare_fixture("acroform-fields.pdf").value().field_name(), "Signature2");
    EXPECT_EQ(prepare_fixture("acroform-objstm.pdf").value().field_name(), "Signature2");
}

TEST(PrepareSignature, AddsAnAcroFormToTheCatalogWhenThereIsNone) {
    auto p = prepare_fixture("classic.pdf").value();
    // Signature 9, widget 10, AcroForm 11; catalog 1 and first page 5 rewritten.
    EXPECT_EQ(objects_in(p), (std::set<int>{1, 5, 9, 10, 11}));
    const auto text = update_text(p);
    EXPECT_NE(text.find("<< /Fields [ 10 0 R ] /SigFlags 3 >>"), std::string::npos);
    EXPECT_NE(text.find("/AcroForm 11 0 R"), std::string::npos);
    EXPECT_NE(text.find("/Annots [ 10 0 R ]"), std::string::npos);
}

TEST(PrepareSignature, RewritesAnIndirectAcroFormButNotTheCatalog) {
    auto p = prepare_fixture("acroform-fields.pdf").value();
    // AcroForm 20 (direct /Fields, no /SigFlags) and page 5; not the catalog.
    EXPECT_EQ(objects_in(p), (std::set<int>{5, 20, 26, 27}));
    const auto text = update_text(p);
    EXPECT_NE(text.find("/Fields [ 21 0 R 22 0 R 25 0 R 27 0 R ] /SigFlags 3"), std::string::npos);
    EXPECT_NE(text.find("/Annots [ 21 0 R 23 0 R 24 0 R 25 0 R 27 0 R ]"), std::string::npos);
}

TEST(PrepareSignature, RewritesTheCatalogForADirectAcroForm) {
    auto p = prepare_fixture("direct-acroform.pdf").value();
    EXPECT_EQ(objects_in(p), (std::set<int>{1, 5, 22, 23}));
    EXPECT_NE(update_text(p).find("/Fields [ 21 0 R 23 0 R ] /SigFlags 3 >>"), std::string::npos);
}

TEST(PrepareSignature, RewritesOnlyAnIndirectFieldsArray) {
    auto p = prepare_fixture("indirect-fields.pdf").value();
    // /SigFlags is already 3: AcroForm 20 and the catalog stay; the array 26 and page 5 change.
    EXPECT_EQ(objects_in(p), (std::set<int>{5, 26, 27, 28}));
    EXPECT_NE(update_text(p).find("26 0 obj\n[ 21 0 R 28 0 R ]\nendobj"), std::string::npos);
}

TEST(PrepareSignature, RewritesAnIndirectAnnotsArrayAndNotThePage) {
    auto p = prepare_fixture("indirect-annots.pdf").value();
    EXPECT_EQ(objects_in(p), (std::set<int>{1, 30, 32, 33, 34}));
    EXPECT_NE(update_text(p).find("30 0 obj\n[ 31 0 R 33 0 R ]\nendobj"), std::string::npos);
}

TEST(PrepareSignature, KeepsTheGenerationOfRewrittenObjects) {
    auto p = prepare_fixture("nonzero-generation.pdf").value();
    const auto text = update_text(p);
    EXPECT_NE(text.find("\n5 3 obj\n"), std::string::npos);
    EXPECT_NE(text.find("/P 5 3 R"), std::string::npos);
    EXPECT_NE(text.find(" 00003 n\r\n"), std::string::npos);
}

TEST(PrepareSignature, NumbersNewObjectsAboveAnUnderstatedSize) {
    auto p = prepare_fixture("understated-size.pdf").value();
    EXPECT_EQ(p.signature_object(), 9);
    EXPECT_NE(update_text(p).find("/Size 12 "), std::string::npos);
}

TEST(PrepareSignature, FindsTheFirstPageDeepInTheTree) {
    auto p = prepare_fixture("nested-pages.pdf").value();
    EXPECT_NE(update_text(p).find("/P 5 0 R"), std::string::npos);
}

TEST(PrepareSignature, WritesAClassicTableAfterAClassicTable) {
    const auto pdf = read_file(fixture("incremental.pdf"));
    auto p = prepare_signature(pdf, default_options()).value();
    const auto text = update_text(p);
    const std::string s(as_chars(pdf));
    const auto prev = s.substr(s.rfind("startxref") + 10);
    EXPECT_NE(text.find("\nxref\n"), std::string::npos);
    EXPECT_NE(text.find("/Prev " + prev.substr(0, prev.find('\n')) + " >>"), std::string::npos);
    EXPECT_EQ(text.find("/XRef"), std::string::npos);
    EXPECT_NE(text.find("/ID [ <5e105e105e105e105e105e105e105e10>"), std::string::npos);
}

TEST(PrepareSignature, CarriesOverTheTrailerEntries) {
    auto p = prepare_fixture("custom-trailer.pdf").value();
    EXPECT_NE(update_text(p).find("/DocChecksum /0123456789ABCDEF0123"), std::string::npos);
}

TEST(PrepareSignature, WritesAnXrefStreamAfterAnXrefStream) {
    auto p = prepare_fixture("incremental-xref-stream.pdf").value();
    const auto text = update_text(p);
    EXPECT_NE(text.find("/Type /XRef"), std::string::npos);
    // The previous stream's own keys are not carried over.
    const auto xref_dict = text.substr(text.find("/Type /XRef"));
    EXPECT_EQ(xref_dict.find("/Filter"), std::string::npos);
    EXPECT_EQ(xref_dict.find("/DecodeParms"), std::string::npos);
    EXPECT_EQ(xref_dict.find("/W "), xref_dict.rfind("/W "));
    EXPECT_EQ(text.find("\nxref\n"), std::string::npos);
    EXPECT_EQ(text.find("trailer"), std::string::npos);
}

TEST(PrepareSignature, WritesAClassicTableWithoutXRefStmForAHybridFile) {
    auto p = prepare_fixture("hybrid.pdf").value();
    const auto text = update_text(p);
    EXPECT_NE(text.find("\nxref\n"), std::string::npos);
    EXPECT_EQ(text.find("/XRefStm"), std::string::npos);
    // The first page lives in an object stream; it is rewritten as a plain object.
    EXPECT_TRUE(objects_in(p).contains(5));
}

TEST(PrepareSignature, AddsAnEolWhenTheFileLacksOne) {
    auto p = prepare_fixture("no-final-eol.pdf").value();
    EXPECT_EQ(p.update_bytes()[0], '\n');
    auto q = prepare_fixture("classic.pdf").value();
    EXPECT_NE(q.update_bytes()[0], '\n');
}

TEST(PrepareSignature, CountsXrefOffsetsFromTheHeaderAfterJunk) {
    const auto pdf = read_file(fixture("junk-header.pdf"));
    const std::string s(as_chars(pdf));
    const auto junk = s.find("%PDF-");
    ASSERT_GT(junk, 0u);
    auto p = prepare_signature(pdf, default_options()).value();
    const auto text = update_text(p);
    const auto sx = text.rfind("startxref\n");
    const auto xref_at = std::stoull(text.substr(sx + 10));
    EXPECT_EQ(text.substr(xref_at + junk - pdf.size(), 5), "xref\n");
}

TEST(PrepareSignature, WritesACompleteTableWithoutPrevAfterReconstruction) {
    for (const auto* name : {"broken-startxref.pdf", "truncated-after-trailer.pdf"}) {
        auto p = prepare_fixture(name).value();
        EXPECT_TRUE(p.xref_reconstructed()) << name;
        EXPECT_FALSE(p.warnings().empty()) << name;
        const auto text = update_text(p);
        EXPECT_EQ(text.find("/Prev"), std::string::npos) << name;
        EXPECT_NE(text.find("0 12\n0000000000 65535 f\r\n"), std::string::npos) << name;
    }
}

TEST(PrepareSignature, RefusesAMissingFile) {
    auto r = prepare_signature_file(fixture("no-such-file.pdf"), default_options());
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, ErrorCode::not_found);
}

TEST(PrepareSignature, RefusesEmptyAndNonPdfInput) {
    EXPECT_EQ(prepare_signature(ByteView{}, default_options()).error().code, ErrorCode::malformed);
    EXPECT_EQ(prepare_signature(as_bytes("hello, world"), default_options()).error().code,
              ErrorCode::malformed);
}

}  // namespace
}  // namespace selo::pdf
