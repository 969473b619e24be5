#pragma once
// Helpers for the pdf tests: a throwaway signer (OpenSSL), the independent checkers (qpdf,
// pdfsig, openssl cms) and scratch directories.

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "core/bytes.hpp"
#include "crypto/digest.hpp"
#include "pdf/signature.hpp"

namespace selo::pdf::test {

struct CommandResult {
    int rc = -1;
    std::string output;  // stdout and stderr
};
// Runs a shell command.
CommandResult run(const std::string& command);
// Quotes for the shell.
std::string sh_quote(const std::string& s);

Bytes read_file(const std::filesystem::path& path);
void write_file(const std::filesystem::path& path, ByteView data);

// A directory for one test, removed when the test ends (kept if it failed, for inspection).
class ScratchDir {
  public:
    ScratchDir();
    ~ScratchDir();
    ScratchDir(const ScratchDir&) = delete;
    ScratchDir& operator=(const ScratchDir&) = delete;
    [[nodiscard]] const std::filesystem::path& path() const { return path_; }
    [[nodiscard]] std::filesystem::path operator/(const std::string& name) const {
        return path_ / name;
    }

  private:
    std::filesystem::path path_;
};

// `qpdf --check` exit code: 0 fine, 3 warnings, 2 errors.
int qpdf_check(const std::filesystem::path& pdf);
// Orders qpdf exit codes from best to worst: 0 < 3 < 2.
int qpdf_badness(int rc);

struct PdfsigSignature {
    std::string field;
    std::string validation;  // "Signature is Valid.", "Digest Mismatch.", ...
    bool total = false;      // "Total document signed"
};
// The signatures pdfsig (poppler) lists, without certificate validation.
std::vector<PdfsigSignature> pdfsig(const std::filesystem::path& pdf);

// A throwaway EC P-256 key and self-signed certificate, made once per process.
class TestSigner {
  public:
    static TestSigner& instance();
    // A detached CMS SignedData (CAdES: signed attributes with the messageDigest and the
    // signing-certificate-v2) over content with the given digest.
    Bytes cms_for_digest(ByteView digest, crypto::DigestAlgorithm alg);

  private:
    TestSigner();
    struct Impl;
    std::shared_ptr<Impl> impl_;
};

// Options the tests use unless they say otherwise.
SignatureFieldOptions default_options();

struct SignedDocument {
    Bytes pdf;
    PreparedSignature prepared;
};
// prepare_signature + digest + CMS + set_contents.
Result<SignedDocument> sign_in_memory(ByteView pdf, const SignatureFieldOptions& options);

// Everything an independent validator can say about a signed file made from `original`:
// prefix, ByteRange shape, qpdf --check not worse, pdfsig one more signature that covers the
// whole file and is valid, earlier signatures unchanged, openssl cms -verify over the ByteRange.
::testing::AssertionResult verify_signed(const std::filesystem::path& original,
                                         const std::filesystem::path& signed_pdf,
                                         const PreparedSignature& prepared);

}  // namespace selo::pdf::test
