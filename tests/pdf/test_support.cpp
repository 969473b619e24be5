#include "pdf/test_support.hpp"

#include <algorithm>
#include <fstream>
#include <map>

#include <fmt/format.h>
#include <openssl/cms.h>
#include <openssl/ec.h>
#include <openssl/objects.h>
#include <openssl/x509.h>

#include "crypto/openssl.hpp"

namespace selo::pdf::test {

namespace fs = std::filesystem;
using selo::test::read_file;
using selo::test::run;
using selo::test::shell_quote;
using selo::test::write_file;

selo::test::TempDir scratch_dir() {
    return selo::test::TempDir(selo::test::TempDirOptions{
        .parent = fs::path(SELO_BINARY_DIR) / "test-tmp" / "pdf", .keep_on_failure = true});
}

struct TestSigner::Impl {
    crypto::EvpPkeyPtr key;
    crypto::X509Ptr cert;
};

TestSigner::TestSigner() : impl_(std::make_shared<Impl>()) {
    impl_->key.reset(::EVP_EC_gen("P-256"));
    impl_->cert.reset(::X509_new());
    X509* c = impl_->cert.get();
    ::X509_set_version(c, 2);
    ::ASN1_INTEGER_set(::X509_get_serialNumber(c), 1);
    ::X509_gmtime_adj(::X509_getm_notBefore(c), -3600);
    ::X509_gmtime_adj(::X509_getm_notAfter(c), 3600L * 24 * 365);
    X509_NAME* name = ::X509_get_subject_name(c);
    ::X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8,
                                 reinterpret_cast<const unsigned char*>("Selo PDF test signer"), -1,
                                 -1, 0);
    ::X509_set_issuer_name(c, name);
    ::X509_set_pubkey(c, impl_->key.get());
    ::X509_sign(c, impl_->key.get(), ::EVP_sha256());
}

TestSigner& TestSigner::instance() {
    static TestSigner signer;
    return signer;
}

Bytes TestSigner::cms_for_digest(ByteView digest, crypto::DigestAlgorithm alg) {
    // A remote signer's view: only the digest is known, so the signed attributes are built
    // here (RFC 5652 §5.3: contentType and messageDigest) and then signed.
    const unsigned flags = CMS_PARTIAL | CMS_DETACHED | CMS_BINARY;
    crypto::CmsContentInfoPtr cms(::CMS_sign(nullptr, nullptr, nullptr, nullptr, flags));
    CMS_SignerInfo* si = ::CMS_add1_signer(cms.get(), impl_->cert.get(), impl_->key.get(),
                                           crypto::evp_md(alg), flags | CMS_NOSMIMECAP | CMS_CADES);
    if (si == nullptr) {
        ADD_FAILURE() << "CMS_add1_signer: " << crypto::drain_errors();
        return {};
    }
    ::CMS_signed_add1_attr_by_NID(si, NID_pkcs9_contentType, V_ASN1_OBJECT,
                                  ::OBJ_nid2obj(NID_pkcs7_data), -1);
    ::CMS_signed_add1_attr_by_NID(si, NID_pkcs9_messageDigest, V_ASN1_OCTET_STRING, digest.data(),
                                  static_cast<int>(digest.size()));
    if (::CMS_SignerInfo_sign(si) != 1) {
        ADD_FAILURE() << "CMS_SignerInfo_sign: " << crypto::drain_errors();
        return {};
    }
    unsigned char* der = nullptr;
    const int len = ::i2d_CMS_ContentInfo(cms.get(), &der);
    if (len <= 0) {
        ADD_FAILURE() << "i2d_CMS_ContentInfo: " << crypto::drain_errors();
        return {};
    }
    Bytes out(der, der + len);
    ::OPENSSL_free(der);
    return out;
}

SignatureFieldOptions default_options() {
    SignatureFieldOptions o;
    o.signer_name = "陳大文";
    o.reason = "Aprovação do contrato";
    o.location = "Macau";
    o.signing_time = from_unix_seconds(1'717'243'200);  // 2024-06-01T12:00:00Z
    o.contents_capacity = 8192;
    return o;
}

Result<SignedDocument> sign_in_memory(ByteView pdf, const SignatureFieldOptions& options) {
    auto prepared = SELO_TRY(prepare_signature(pdf, options));
    const auto digest = SELO_TRY(prepared.digest(pdf, crypto::DigestAlgorithm::sha256));
    const auto cms = TestSigner::instance().cms_for_digest(digest, crypto::DigestAlgorithm::sha256);
    SELO_TRY_VOID(prepared.set_contents(cms));
    Bytes out(pdf.begin(), pdf.end());
    const auto update = prepared.update_bytes();
    out.insert(out.end(), update.begin(), update.end());
    return SignedDocument{std::move(out), std::move(prepared)};
}

namespace {

// The length of the DER TLV at the start of `der` (0 if it is not one).
std::size_t der_length(ByteView der) {
    if (der.size() < 2) {
        return 0;
    }
    std::size_t len = der[1];
    std::size_t header = 2;
    if (len & 0x80) {
        const std::size_t n = len & 0x7F;
        if (n == 0 || n > 4 || der.size() < 2 + n) {
            return 0;
        }
        len = 0;
        for (std::size_t i = 0; i < n; ++i) {
            len = (len << 8) | der[2 + i];
        }
        header += n;
    }
    return header + len <= der.size() ? header + len : 0;
}

}  // namespace

::testing::AssertionResult verify_signed(const fs::path& original_path, const fs::path& signed_path,
                                         const PreparedSignature& prepared) {
    const auto original = read_file(original_path);
    const auto out = read_file(signed_path);
    if (out.size() != prepared.total_size() || original.size() != prepared.original_size()) {
        return ::testing::AssertionFailure()
               << "sizes: " << out.size() << " vs " << prepared.total_size();
    }
    if (!std::equal(original.begin(), original.end(), out.begin())) {
        return ::testing::AssertionFailure() << "the original is not a prefix of the output";
    }

    // ByteRange: [0 a b c] covers everything except "<hex>".
    const auto br = prepared.byte_range();
    if (br[0] != 0 || br[1] >= br[2] || br[2] + br[3] != out.size() || out[br[1]] != '<' ||
        out[br[2] - 1] != '>') {
        return ::testing::AssertionFailure() << "ByteRange does not frame /Contents";
    }
    const std::string expected_br =
        fmt::format("/ByteRange [0 {:<20} {:<20} {:<20}]", br[1], br[2], br[3]);
    const std::string_view text(reinterpret_cast<const char*>(out.data()), out.size());
    if (text.find(expected_br, original.size()) == std::string_view::npos) {
        return ::testing::AssertionFailure() << "ByteRange not written as " << expected_br;
    }

    // qpdf must not like the file less than before.
    const auto check_before = selo::test::run_qpdf_check(original_path);
    const auto check_after = selo::test::run_qpdf_check(signed_path);
    if (selo::test::qpdf_rank(check_after.exit_code) >
        selo::test::qpdf_rank(check_before.exit_code)) {
        return ::testing::AssertionFailure() << "qpdf --check got worse: " << check_before.exit_code
                                             << " -> " << check_after.exit_code << "\n"
                                             << check_after.output;
    }
    // Readers must find every object through the update's cross-reference data without
    // repairing the file: always after a repaired original (the update lists everything), and
    // otherwise whenever the original itself needed no repair.
    const bool repaired_before = check_before.output.find("reconstruct") != std::string::npos;
    if ((prepared.xref_reconstructed() || !repaired_before) &&
        check_after.output.find("reconstruct") != std::string::npos) {
        return ::testing::AssertionFailure() << "qpdf reconstructs the signed file's xref:\n"
                                             << check_after.output;
    }
    const auto poppler_before = selo::test::run_pdfsig(original_path);
    const auto poppler_after = selo::test::run_pdfsig(signed_path);
    if ((prepared.xref_reconstructed() ||
         poppler_before.output.find("reconstruct") == std::string::npos) &&
        poppler_after.output.find("reconstruct") != std::string::npos) {
        return ::testing::AssertionFailure() << "poppler reconstructs the signed file's xref:\n"
                                             << poppler_after.output;
    }

    // pdfsig: one more signature, ours covers the whole document and is valid; the earlier
    // ones validate as they did.
    const auto before = selo::test::parse_pdfsig(poppler_before.output);
    const auto after = selo::test::parse_pdfsig(poppler_after.output);
    if (after.size() != before.size() + 1) {
        return ::testing::AssertionFailure()
               << "pdfsig lists " << after.size() << " signatures, expected " << before.size() + 1
               << "\n"
               << poppler_after.output;
    }
    std::map<std::string, std::string> earlier;
    for (const auto& s : before) {
        earlier[s.field] = s.validation;
    }
    bool found = false;
    for (const auto& s : after) {
        if (s.field == prepared.field_name()) {
            found = true;
            if (!s.total || s.validation != "Signature is Valid.") {
                return ::testing::AssertionFailure()
                       << "pdfsig on the new signature: total=" << s.total << " validation='"
                       << s.validation << "'\n"
                       << poppler_after.output;
            }
        } else if (earlier.contains(s.field) && earlier[s.field] != s.validation) {
            return ::testing::AssertionFailure()
                   << "earlier signature " << s.field << " changed from '" << earlier[s.field]
                   << "' to '" << s.validation << "'";
        }
    }
    if (!found) {
        return ::testing::AssertionFailure()
               << "pdfsig does not list field " << prepared.field_name() << "\n"
               << poppler_after.output;
    }

    // openssl cms -verify over the ByteRange, with the DER cut from /Contents.
    auto der = hex_decode(text.substr(br[1] + 1, br[2] - br[1] - 2));
    if (!der) {
        return ::testing::AssertionFailure() << "/Contents is not hex";
    }
    const auto der_len = der_length(*der);
    if (der_len == 0) {
        return ::testing::AssertionFailure() << "/Contents holds no DER";
    }
    const auto dir = signed_path.parent_path();
    const auto sig_file = dir / (signed_path.filename().string() + ".p7s");
    const auto data_file = dir / (signed_path.filename().string() + ".signed-data");
    write_file(sig_file, ByteView(der->data(), der_len));
    {
        std::ofstream data(data_file, std::ios::binary | std::ios::trunc);
        data.write(reinterpret_cast<const char*>(out.data()), static_cast<std::streamsize>(br[1]));
        data.write(reinterpret_cast<const char*>(out.data() + br[2]),
                   static_cast<std::streamsize>(br[3]));
    }
    const auto v = run("openssl cms -verify -binary -inform DER -noverify -in " +
                       shell_quote(sig_file.string()) + " -content " +
                       shell_quote(data_file.string()) + " -out /dev/null");
    fs::remove(sig_file);
    fs::remove(data_file);
    if (v.exit_code != 0) {
        return ::testing::AssertionFailure() << "openssl cms -verify: " << v.output;
    }
    return ::testing::AssertionSuccess();
}

}  // namespace selo::pdf::test
