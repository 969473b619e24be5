#pragma once
// Helpers for the pdf tests: a throwaway signer (OpenSSL), a scratch directory per test and
// verify_signed, which puts a signed file through the independent checkers (qpdf, pdfsig,
// openssl cms). The generic pieces (shell, files, qpdf, pdfsig) are in support/test_support.hpp.

#include <filesystem>
#include <memory>
#include <string>

#include <gtest/gtest.h>

#include "core/bytes.hpp"
#include "crypto/digest.hpp"
#include "pdf/signature.hpp"
#include "support/test_support.hpp"

namespace selo::pdf::test {

// A directory for one test in the build tree, <build>/test-tmp/pdf/Suite.Test-PID (the 1 GB
// test writes 2.2 GB there), removed when the test ends; kept if the test failed, or with
// SELO_KEEP_TEST_FILES=1, for inspection.
selo::test::TempDir scratch_dir();

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
