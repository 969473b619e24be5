#include "pdf/signed_file_writer.hpp"

#include <sys/resource.h>

#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <fstream>

#include "pdf/test_support.hpp"

namespace selo::pdf {
namespace {

namespace fs = std::filesystem;
using crypto::DigestAlgorithm;
using selo::test::read_file;
using test::default_options;
using test::scratch_dir;
using test::TestSigner;

fs::path fixture(const std::string& name) {
    return fs::path(SELO_TEST_DATA) / "pdf" / name;
}

// Files in `dir` (to see that no temporary file is left behind).
std::size_t entries_in(const fs::path& dir) {
    return static_cast<std::size_t>(std::distance(fs::directory_iterator(dir), {}));
}

TEST(SignedFileWriter, WritesAValidSignedFileAndReportsProgress) {
    const auto dir = scratch_dir();
    const auto input = dir / "in.pdf";
    fs::copy_file(fixture("linearized-objstm.pdf"), input);
    const auto output = dir / "out.pdf";
    auto prepared = prepare_signature_file(input, default_options()).value();
    const auto expected_digest = prepared.digest(read_file(input), DigestAlgorithm::sha256).value();

    std::uint64_t last_done = 0, last_total = 0;
    bool monotonic = true;
    auto writer = SignedFileWriter::begin(input, output, prepared, DigestAlgorithm::sha256,
                                          [&](std::uint64_t done, std::uint64_t total) {
                                              monotonic = monotonic && done >= last_done;
                                              last_done = done;
                                              last_total = total;
                                          });
    ASSERT_TRUE(writer) << writer.error().message;
    EXPECT_EQ(writer->digest(), expected_digest);
    EXPECT_TRUE(monotonic);
    EXPECT_EQ(last_done, prepared.original_size());
    EXPECT_EQ(last_total, prepared.original_size());
    EXPECT_FALSE(fs::exists(output));
    EXPECT_TRUE(fs::exists(writer->temporary_path()));
    EXPECT_EQ(writer->temporary_path().parent_path(), dir.path());

    const auto cms =
        TestSigner::instance().cms_for_digest(writer->digest(), DigestAlgorithm::sha256);
    ASSERT_TRUE(writer->commit(cms));
    EXPECT_EQ(entries_in(dir.path()), 2u);  // in.pdf, out.pdf
    auto committed = writer->prepared();
    EXPECT_TRUE(test::verify_signed(input, output, committed));
    // A second commit is refused.
    EXPECT_EQ(writer->commit(cms).error().code, ErrorCode::conflict);
}

TEST(SignedFileWriter, LeavesNothingWhenNeverCommitted) {
    const auto dir = scratch_dir();
    const auto input = dir / "in.pdf";
    fs::copy_file(fixture("classic.pdf"), input);
    const auto output = dir / "out.pdf";
    {
        auto prepared = prepare_signature_file(input, default_options()).value();
        auto writer = SignedFileWriter::begin(input, output, prepared, DigestAlgorithm::sha256);
        ASSERT_TRUE(writer);
        EXPECT_EQ(entries_in(dir.path()), 2u);  // in.pdf and the temporary file
    }
    EXPECT_FALSE(fs::exists(output));
    EXPECT_EQ(entries_in(dir.path()), 1u);
}

TEST(SignedFileWriter, LeavesTheOutputUntouchedWhenTheCmsDoesNotFit) {
    const auto dir = scratch_dir();
    const auto input = dir / "in.pdf";
    fs::copy_file(fixture("classic.pdf"), input);
    const auto output = dir / "out.pdf";
    { std::ofstream(output) << "previous contents"; }
    auto o = default_options();
    o.contents_capacity = 64;
    auto prepared = prepare_signature_file(input, o).value();
    auto writer = SignedFileWriter::begin(input, output, prepared, DigestAlgorithm::sha256);
    ASSERT_TRUE(writer);
    auto r = writer->commit(Bytes(65, 0x30));
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, ErrorCode::too_large);
    EXPECT_EQ(entries_in(dir.path()), 2u);  // in.pdf, out.pdf: the temporary file is gone
    EXPECT_EQ(std::string(as_chars(read_file(output))), "previous contents");
}

TEST(SignedFileWriter, RefusesAnInputThatChangedSincePreparation) {
    const auto dir = scratch_dir();
    const auto input = dir / "in.pdf";
    fs::copy_file(fixture("classic.pdf"), input);
    const auto output = dir / "out.pdf";
    auto prepared = prepare_signature_file(input, default_options()).value();

    // Same size, different last bytes.
    auto bytes = read_file(input);
    bytes[bytes.size() - 3] = 'X';
    selo::test::write_file(input, bytes);
    auto r = SignedFileWriter::begin(input, output, prepared, DigestAlgorithm::sha256);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, ErrorCode::conflict);

    // Another size.
    bytes.push_back('\n');
    selo::test::write_file(input, bytes);
    r = SignedFileWriter::begin(input, output, prepared, DigestAlgorithm::sha256);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, ErrorCode::conflict);
    EXPECT_FALSE(fs::exists(output));
    EXPECT_EQ(entries_in(dir.path()), 1u);
}

TEST(SignedFileWriter, RefusesAMissingInputOrOutputDirectory) {
    const auto dir = scratch_dir();
    auto prepared = prepare_signature_file(fixture("classic.pdf"), default_options()).value();
    auto r = SignedFileWriter::begin(dir / "missing.pdf", dir / "out.pdf", prepared,
                                     DigestAlgorithm::sha256);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, ErrorCode::not_found);
    r = SignedFileWriter::begin(fixture("classic.pdf"), dir / "no" / "such" / "dir" / "out.pdf",
                                prepared, DigestAlgorithm::sha256);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, ErrorCode::not_found);
}

// SHA-256 of the first `n` bytes of a file, read in chunks.
Bytes file_digest(const fs::path& path, std::uint64_t n) {
    std::ifstream in(path, std::ios::binary);
    crypto::Hasher h(DigestAlgorithm::sha256);
    std::vector<char> buf(1 << 20);
    while (n > 0 && in) {
        in.read(buf.data(), static_cast<std::streamsize>(std::min<std::uint64_t>(n, buf.size())));
        const auto got = static_cast<std::size_t>(in.gcount());
        h.update(as_bytes(std::string_view(buf.data(), got)));
        n -= got;
    }
    return h.finish();
}

std::uint64_t max_rss_bytes() {
    struct rusage ru {};
    ::getrusage(RUSAGE_SELF, &ru);
    return static_cast<std::uint64_t>(ru.ru_maxrss) * 1024;  // Linux: kilobytes
}

// Writes a PDF whose one big stream (`stream_bytes` of data) comes first, so that every object
// the signer touches sits beyond it: with more than 1 GB, 10-digit offsets everywhere.
void write_big_pdf(const fs::path& path, std::uint64_t stream_bytes) {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    std::vector<std::uint64_t> offsets(7, 0);
    std::uint64_t pos = 0;
    auto put = [&](std::string_view s) {
        out.write(s.data(), static_cast<std::streamsize>(s.size()));
        pos += s.size();
    };
    put("%PDF-1.7\n%\xe2\xe3\xcf\xd3\n");
    offsets[1] = pos;
    put(fmt::format("1 0 obj\n<< /Type /EmbeddedFile /Length {} >>\nstream\n", stream_bytes));
    std::string chunk(1 << 20, '\0');
    for (std::size_t i = 0; i < chunk.size(); ++i) {
        chunk[i] = static_cast<char>((i * 2654435761u) >> 13);
    }
    for (std::uint64_t left = stream_bytes; left > 0;) {
        const auto n = std::min<std::uint64_t>(left, chunk.size());
        put(std::string_view(chunk.data(), n));
        left -= n;
    }
    put("\nendstream\nendobj\n");
    const std::string_view objs[] = {
        "",
        "",
        "<< /Type /Catalog /Pages 3 0 R /Names << /EmbeddedFiles << /Names [ (big.bin) "
        "<< /Type /Filespec /F (big.bin) /EF << /F 1 0 R >> >> ] >> >> >>",
        "<< /Type /Pages /Kids [ 4 0 R ] /Count 1 >>",
        "<< /Type /Page /Parent 3 0 R /MediaBox [ 0 0 612 792 ] /Contents 5 0 R >>",
        "<< /Length 0 >>\nstream\n\nendstream",
    };
    for (int n = 2; n <= 5; ++n) {
        offsets[n] = pos;
        put(fmt::format("{} 0 obj\n{}\nendobj\n", n, objs[n]));
    }
    const auto xref = pos;
    put("xref\n0 6\n0000000000 65535 f\r\n");
    for (int n = 1; n <= 5; ++n) {
        put(fmt::format("{:010} 00000 n\r\n", offsets[n]));
    }
    put(fmt::format("trailer\n<< /Size 6 /Root 2 0 R >>\nstartxref\n{}\n%%EOF\n", xref));
}

// A document over 1 GB, signed with little memory: prepare reads only what it needs and the
// writer streams. Label "slow" (tests/pdf/CMakeLists.txt); part of the full suite.
TEST(SignedFileWriter, SignsAFileOver1GBInLittleMemory) {
    const auto dir = scratch_dir();
    const auto input = dir / "big.pdf";
    const auto output = dir / "big-signed.pdf";
    write_big_pdf(input, 1'100'000'000ULL);
    ASSERT_GT(fs::file_size(input), 1'100'000'000ULL);

    const auto rss_before = max_rss_bytes();
    auto prepared = prepare_signature_file(input, default_options());
    ASSERT_TRUE(prepared) << prepared.error().message;
    const auto br = prepared->byte_range();
    EXPECT_GT(br[1], 1'000'000'000ULL);
    std::uint64_t calls = 0;
    auto writer = SignedFileWriter::begin(input, output, *prepared, DigestAlgorithm::sha256,
                                          [&](std::uint64_t, std::uint64_t) { ++calls; });
    ASSERT_TRUE(writer) << writer.error().message;
    EXPECT_GT(calls, 100u);
    const auto cms =
        TestSigner::instance().cms_for_digest(writer->digest(), DigestAlgorithm::sha256);
    ASSERT_TRUE(writer->commit(cms));
    const auto growth = max_rss_bytes() - rss_before;
    EXPECT_LT(growth, 100ULL * 1024 * 1024) << "resident memory grew by " << growth << " bytes";
    // The original is a prefix of the output (compared streaming, as everything here).
    EXPECT_EQ(file_digest(input, prepared->original_size()),
              file_digest(output, prepared->original_size()));
    fs::remove(input);

    // Independent validators, on the real file (no whole-file reads into this process).
    EXPECT_EQ(selo::test::qpdf_check(output), 0) << selo::test::run_qpdf_check(output).output;
    const auto sigs = selo::test::pdfsig(output);
    ASSERT_EQ(sigs.size(), 1u) << selo::test::run_pdfsig(output).output;
    EXPECT_TRUE(sigs[0].total);
    EXPECT_EQ(sigs[0].validation, "Signature is Valid.");
    const std::string br_text =
        fmt::format("/ByteRange [0 {:<20} {:<20} {:<20}]", br[1], br[2], br[3]);
    const auto update = writer->prepared().update_bytes();
    EXPECT_NE(as_chars(update).find(br_text), std::string_view::npos);
    EXPECT_EQ(fs::file_size(output), prepared->total_size());
}

}  // namespace
}  // namespace selo::pdf
