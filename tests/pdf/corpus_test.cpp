// Signs the shared corpus of real-world PDFs, when it exists (SELO_CORPUS_DIR; never copied into
// the project). Requirement: at least 95% of the unencrypted files that `qpdf --check` accepts
// sign and validate; every refusal names its reason.

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "pdf/signature.hpp"
#include "pdf/test_support.hpp"

namespace selo::pdf {
namespace {

namespace fs = std::filesystem;

const fs::path corpus_dir{SELO_CORPUS_DIR};

struct CorpusFile {
    std::string file;
    int qpdf_check_rc = 0;  // as recorded in MANIFEST.tsv: 0 ok, 3 warnings, 2 errors
    std::string features;

    [[nodiscard]] bool encrypted() const { return features.find("encrypt") != std::string::npos; }
    // "qpdf --check accepts": no errors (warnings are fine).
    [[nodiscard]] bool accepted() const { return qpdf_check_rc == 0 || qpdf_check_rc == 3; }
};

std::vector<CorpusFile> manifest() {
    std::vector<CorpusFile> files;
    std::ifstream in(corpus_dir / "MANIFEST.tsv");
    std::string line;
    std::getline(in, line);  // header
    while (std::getline(in, line)) {
        std::istringstream fields(line);
        CorpusFile f;
        std::string bytes, version, rc;
        if (std::getline(fields, f.file, '\t') && std::getline(fields, bytes, '\t') &&
            std::getline(fields, version, '\t') && std::getline(fields, rc, '\t') &&
            std::getline(fields, f.features, '\t')) {
            f.qpdf_check_rc = std::stoi(rc);
            files.push_back(f);
        }
    }
    return files;
}

// Accepted files we refuse on purpose, with the reason; everything else accepted must sign.
const std::map<std::string, std::string> deliberate_refusals = {
    // qpdf finds no object 2 (the page tree) even after reconstruction; poppler neither
    // ("Top-level pages object is wrong type (null)"): no page to put the widget on.
    {"poppler-395-0-fuzzed.pdf", "no pages"},
    // After reconstruction the catalog's /Pages is null for qpdf ("operation for dictionary
    // attempted on object of type null") and for poppler ("Top-level pages object is wrong
    // type"): no reader shows a page, so there is nothing to sign visibly or invisibly.
    {"issue9418.pdf", "no pages"},
};

std::vector<std::string> corpus_names() {
    std::vector<std::string> names;
    for (const auto& f : manifest()) {
        names.push_back(f.file);
    }
    if (names.empty()) {
        names.push_back("none");  // the corpus is absent: one test that skips
    }
    return names;
}

class SignsCorpusFile : public ::testing::TestWithParam<std::string> {};

TEST_P(SignsCorpusFile, OrRefusesWithAReason) {
    if (!fs::exists(corpus_dir / "MANIFEST.tsv")) {
        GTEST_SKIP() << "no corpus at " << corpus_dir;
    }
    CorpusFile entry;
    for (const auto& f : manifest()) {
        if (f.file == GetParam()) {
            entry = f;
        }
    }
    ASSERT_FALSE(entry.file.empty());
    const auto input = corpus_dir / entry.file;
    const auto pdf = selo::test::read_file(input);
    auto signed_pdf = test::sign_in_memory(pdf, test::default_options());
    if (!signed_pdf) {
        const auto& e = signed_pdf.error();
        ASSERT_FALSE(e.message.empty());
        if (entry.encrypted()) {
            EXPECT_EQ(e.code, ErrorCode::unsupported) << e.message;
            EXPECT_NE(e.message.find("encrypted"), std::string::npos) << e.message;
            return;
        }
        if (!entry.accepted()) {
            // qpdf --check reports errors: refusing is fine as long as it says why.
            EXPECT_TRUE(e.code == ErrorCode::malformed || e.code == ErrorCode::unsupported)
                << e.message;
            return;
        }
        auto it = deliberate_refusals.find(entry.file);
        ASSERT_NE(it, deliberate_refusals.end())
            << entry.file << " (accepted by qpdf) refused: " << e.message;
        EXPECT_NE(e.message.find(it->second), std::string::npos) << e.message;
        return;
    }
    ASSERT_FALSE(entry.encrypted()) << "an encrypted file was signed";
    const auto dir = test::scratch_dir();
    const auto& prepared = signed_pdf->prepared;
    selo::test::write_file(dir / "signed.pdf", signed_pdf->pdf);
    EXPECT_TRUE(test::verify_signed(input, dir / "signed.pdf", prepared));

    // From the file, without loading it: the same update.
    auto from_file = prepare_signature_file(input, test::default_options());
    ASSERT_TRUE(from_file) << from_file.error().message;
    EXPECT_EQ(from_file->digest(pdf, crypto::DigestAlgorithm::sha256).value(),
              prepared.digest(pdf, crypto::DigestAlgorithm::sha256).value());
}

INSTANTIATE_TEST_SUITE_P(Corpus, SignsCorpusFile, ::testing::ValuesIn(corpus_names()),
                         [](const auto& param_info) {
                             std::string name = param_info.param;
                             for (char& c : name) {
                                 if (!std::isalnum(static_cast<unsigned char>(c))) {
                                     c = '_';
                                 }
                             }
                             return name;
                         });

// The project's acceptance figure, with the list of refusals and their reasons.
TEST(Corpus, SignsAtLeast95PercentOfTheFilesQpdfAccepts) {
    if (!fs::exists(corpus_dir / "MANIFEST.tsv")) {
        GTEST_SKIP() << "no corpus at " << corpus_dir;
    }
    int eligible = 0, signed_ok = 0;
    std::ostringstream refusals, repaired;
    for (const auto& f : manifest()) {
        const auto pdf = selo::test::read_file(corpus_dir / f.file);
        auto r = prepare_signature(pdf, test::default_options());
        if (!r) {
            refusals << "  " << f.file << " (qpdf rc " << f.qpdf_check_rc
                     << "): " << to_string(r.error().code) << ": " << r.error().message << "\n";
        } else if (r->xref_reconstructed()) {
            repaired << " " << f.file;
        }
        if (f.encrypted()) {
            EXPECT_FALSE(r) << f.file << ": encrypted, but prepared";
            continue;
        }
        if (!f.accepted()) {
            continue;
        }
        ++eligible;
        if (r) {
            ++signed_ok;
        }
    }
    ASSERT_GT(eligible, 0);
    const double rate = 100.0 * signed_ok / eligible;
    RecordProperty("signed", signed_ok);
    RecordProperty("eligible", eligible);
    std::cout << "corpus: " << signed_ok << " of " << eligible << " eligible files sign (" << rate
              << "%)\nsigned with a complete xref after qpdf's repair:" << repaired.str()
              << "\nrefusals:\n"
              << refusals.str();
    EXPECT_GE(rate, 95.0);
}

}  // namespace
}  // namespace selo::pdf
