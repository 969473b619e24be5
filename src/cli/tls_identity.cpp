#include "cli/tls_identity.hpp"

#include <arpa/inet.h>
#include <sys/stat.h>

#include <algorithm>
#include <fstream>
#include <sstream>

#include <boost/url/parse.hpp>
#include <fmt/chrono.h>
#include <openssl/crypto.h>

#include "crypto/keys.hpp"
#include "pki/name.hpp"
#include "pki/profile.hpp"

namespace selo::cli {
namespace fs = std::filesystem;

namespace {

Result<std::string> read_text(const fs::path& file) {
    std::ifstream in(file, std::ios::binary);
    if (!in) {
        return fail(ErrorCode::not_found, "cannot read {}", file.string());
    }
    std::ostringstream s;
    s << in.rdbuf();
    return s.str();
}

std::string format_time(TimePoint t) {
    return fmt::format("{:%Y-%m-%d %H:%M:%S} UTC", std::chrono::floor<std::chrono::seconds>(t));
}

bool is_ip_address(const std::string& s) {
    unsigned char buf[16];
    return ::inet_pton(AF_INET, s.c_str(), buf) == 1 || ::inet_pton(AF_INET6, s.c_str(), buf) == 1;
}

// RFC 7468 §10: "PRIVATE KEY" around the base64 of the PKCS#8 DER, 64 characters a line.
SecretBytes pkcs8_pem(const SecretBytes& der) {
    std::string b64 = base64_encode(der.view());
    std::string pem = "-----BEGIN PRIVATE KEY-----\n";
    for (std::size_t i = 0; i < b64.size(); i += 64) {
        pem.append(b64, i, 64);
        pem += '\n';
    }
    pem += "-----END PRIVATE KEY-----\n";
    SecretBytes out(as_bytes(pem));
    OPENSSL_cleanse(b64.data(), b64.size());
    OPENSSL_cleanse(pem.data(), pem.size());
    return out;
}

}  // namespace

Result<TlsIdentity> load_tls_files(const Config& config, const fs::path& dir) {
    auto resolve = [&](const std::string& f) { return fs::path(f).is_relative() ? dir / f : fs::path(f); };
    const fs::path cert_file = resolve(config.server.tls_certificate_file);
    const fs::path key_file = resolve(config.server.tls_key_file);
    struct stat st {};
    if (::stat(key_file.c_str(), &st) == 0 && (st.st_mode & 077) != 0) {
        return fail(ErrorCode::forbidden,
                    "the TLS key {} is accessible by group or others (mode {:o}); run chmod 600",
                    key_file.string(), st.st_mode & 0777);
    }
    TlsIdentity id;
    id.chain_pem = SELO_TRY(read_text(cert_file));
    auto key = SELO_TRY(read_text(key_file));
    id.key_pem = SecretBytes(as_bytes(key));
    OPENSSL_cleanse(key.data(), key.size());
    auto leaf = pki::Certificate::from_pem_or_der(as_bytes(id.chain_pem));
    if (!leaf) {
        return fail(ErrorCode::invalid_argument, "{}: {}", cert_file.string(), leaf.error().message);
    }
    id.not_after = leaf->not_after();
    id.renew_at = TimePoint::max();
    id.description = fmt::format("{} ({}, until {})", cert_file.string(), leaf->subject(),
                                 format_time(id.not_after));
    return id;
}

Result<TlsIdentity> issue_tls_identity(Runtime& runtime, const Clock& clock) {
    const Config& config = runtime.config();
    auto url = boost::urls::parse_absolute_uri(config.server.public_url);
    if (!url) {
        return fail(ErrorCode::invalid_argument, "[server] public_url is not a URL");
    }
    std::string host = url->host_address();
    std::vector<std::string> names{host};
    for (const auto& n : config.server.tls_names) {
        if (std::find(names.begin(), names.end(), n) == names.end()) {
            names.push_back(n);
        }
    }
    pki::IssuanceRequest req;
    req.profile = std::string(pki::kProfileTlsServer);
    for (const auto& n : names) {
        (is_ip_address(n) ? req.ip_addresses : req.dns_names).push_back(n);
    }
    req.subject.add(NID_countryName, config.pki.country)
        .add(NID_organizationName, config.pki.organization)
        .add(NID_commonName, host);
    req.validity = kTlsValidity;
    auto key = SELO_TRY(crypto::generate_key(crypto::KeyType::ec_p256));
    req.public_key = key.get();
    auto* ca = SELO_TRY(runtime.authority(pki::kInfrastructureCaName));
    auto cert = SELO_TRY(ca->issue(req));
    TlsIdentity id;
    id.chain_pem = cert.pem() + ca->certificate().pem();
    id.key_pem = pkcs8_pem(SELO_TRY(crypto::private_key_to_der(key.get())));
    id.not_after = cert.not_after();
    const auto issued = clock.now();
    id.renew_at = issued + (id.not_after - issued) * 2 / 3;
    std::string all;
    for (const auto& n : names) {
        all += (all.empty() ? "" : ", ") + n;
    }
    id.description = fmt::format("issued by the {} CA for {} (serial {}, until {})", ca->name(), all,
                                 cert.serial_hex(), format_time(id.not_after));
    return id;
}

Result<TlsIdentity> tls_identity(Runtime& runtime, const Clock& clock) {
    if (!runtime.config().server.tls_certificate_file.empty()) {
        return load_tls_files(runtime.config(), runtime.directory());
    }
    return issue_tls_identity(runtime, clock);
}

}  // namespace selo::cli
