// `selo lint FILE...`: the checks the CA runs before it signs, on any certificate or CRL.
#include <openssl/pem.h>

#include <fstream>
#include <iostream>

#include "cli/commands.hpp"
#include "cli/data_dir.hpp"
#include "pki/lint.hpp"

namespace selo::cli {
namespace {

using X509CrlPtr = std::unique_ptr<X509_CRL, crypto::Free<&::X509_CRL_free>>;

Result<Bytes> read_all(const std::filesystem::path& p) {
    std::ifstream in(p, std::ios::binary);
    if (!in) {
        return fail(ErrorCode::not_found, "cannot read {}", p.string());
    }
    std::string s((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    return to_bytes(s);
}

X509CrlPtr parse_crl(ByteView data) {
    std::string_view text = as_chars(data);
    if (text.find("-----BEGIN X509 CRL-----") != std::string_view::npos) {
        crypto::BioPtr bio(::BIO_new_mem_buf(data.data(), static_cast<int>(data.size())));
        return X509CrlPtr(::PEM_read_bio_X509_CRL(bio.get(), nullptr, nullptr, nullptr));
    }
    const unsigned char* p = data.data();
    X509CrlPtr crl(::d2i_X509_CRL(nullptr, &p, static_cast<long>(data.size())));
    if (crl && p != data.data() + data.size()) {
        crl.reset();
    }
    return crl;
}

}  // namespace

int run_lint(const LintArgs& args) {
    std::optional<pki::Certificate> issuer;
    if (!args.issuer.empty()) {
        auto data = read_all(args.issuer);
        auto cert = data ? pki::Certificate::from_pem_or_der(*data)
                         : Result<pki::Certificate>(std::unexpected(data.error()));
        if (!cert) {
            print_error(fmt::format("--issuer {}: {}", args.issuer.string(), cert.error().message));
            return 2;
        }
        issuer = std::move(*cert);
    }
    if (!args.data.empty()) {
        const auto file = args.data / kConfigFile;
        auto config = load_config(file);
        auto installed = config ? install_configured_profiles(*config, file.string())
                                : Result<void>(std::unexpected(config.error()));
        if (!installed) {
            print_error(fmt::format("--data {}: {}", args.data.string(), installed.error().message));
            return 2;
        }
    }
    const pki::CertificateProfile* forced = nullptr;
    if (!args.profile.empty()) {
        auto p = pki::find_profile(args.profile);
        if (!p) {
            print_error(p.error().message);
            return 2;
        }
        forced = *p;
    }
    bool findings_seen = false;
    bool unreadable = false;
    for (const auto& file : args.files) {
        auto data = read_all(file);
        if (!data) {
            print_error(data.error().message);
            unreadable = true;
            continue;
        }
        std::vector<pki::LintFinding> findings;
        std::string_view text = as_chars(*data);
        bool pem_crl = text.find("-----BEGIN X509 CRL-----") != std::string_view::npos;
        auto cert = pem_crl ? Result<pki::Certificate>(fail(ErrorCode::malformed, "CRL"))
                            : pki::Certificate::from_pem_or_der(*data);
        if (cert) {
            const pki::CertificateProfile* profile = forced != nullptr ? forced : pki::recognise_profile(*cert);
            bool self_issued = cert->issuer() == cert->subject();
            const pki::Certificate* iss = issuer ? &*issuer : nullptr;
            if (profile == nullptr) {
                findings.push_back({"profile.unknown",
                                    "the certificate matches no Selo profile (name one with --profile)"});
            } else if (iss == nullptr && !self_issued) {
                findings.push_back({"issuer.unknown",
                                    "not self-issued: give its CA certificate with --issuer to check it fully"});
            } else {
                findings = pki::lint_certificate(*cert, *profile, iss);
            }
        } else if (auto crl = parse_crl(*data)) {
            findings = pki::lint_crl(crl.get(), issuer ? &*issuer : nullptr);
        } else {
            crypto::clear_errors();
            print_error(fmt::format("{}: neither a certificate nor a CRL (PEM or DER)", file.string()));
            unreadable = true;
            continue;
        }
        if (findings.empty()) {
            std::cout << file.string() << ": OK\n";
        }
        for (const auto& f : findings) {
            std::cout << file.string() << ": [" << f.rule << "] " << f.message << "\n";
        }
        findings_seen = findings_seen || !findings.empty();
    }
    return unreadable ? 2 : findings_seen ? 1 : 0;
}

}  // namespace selo::cli
