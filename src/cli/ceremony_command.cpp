// `selo ca ceremony ...`: the root key ceremony (see cli/ceremony.hpp).

#include <CLI/CLI.hpp>

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <iostream>
#include <iterator>

#include "cli/ceremony.hpp"
#include "cli/commands.hpp"

namespace selo::cli {
namespace fs = std::filesystem;

namespace {

Result<Bytes> read_input(const fs::path& file, std::string_view what) {
    std::ifstream in(file, std::ios::binary);
    if (!in) {
        return fail(ErrorCode::not_found, "cannot read {} {}", what, file.string());
    }
    std::string s((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    if (s.size() > 1 << 20) {
        return fail(ErrorCode::invalid_argument, "{} {} is larger than 1 MiB", what, file.string());
    }
    return Bytes(s.begin(), s.end());
}

// Writes a new file (refusing to replace one) and syncs it.
Result<void> write_output(const fs::path& file, std::string_view content) {
    int fd = ::open(file.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (fd < 0) {
        return fail(ErrorCode::conflict, "cannot create {}: {}", file.string(), std::strerror(errno));
    }
    bool ok = ::write(fd, content.data(), content.size()) == static_cast<ssize_t>(content.size()) &&
              ::fsync(fd) == 0;
    ::close(fd);
    if (!ok) {
        ::unlink(file.c_str());
        return fail(ErrorCode::internal, "cannot write {}", file.string());
    }
    return {};
}

std::string fingerprint(const pki::Certificate& c) {
    std::string hex = hex_encode_upper(c.fingerprint_sha256());
    std::string out;
    for (std::size_t i = 0; i < hex.size(); i += 2) {
        out += (out.empty() ? "" : ":") + hex.substr(i, 2);
    }
    return out;
}

int report(const Result<void>& r) {
    if (!r) {
        print_error(r.error().message);
        return 1;
    }
    return 0;
}

}  // namespace

CLI::App* add_ceremony_commands(CLI::App& ca, CeremonyArgs& a, const fs::path& default_data) {
    auto* ceremony = ca.add_subcommand(
        "ceremony", "Root key ceremony: keep the root CA offline and certify the online issuing "
                    "CAs with it (init-root, csr, sign, import)");
    ceremony->require_subcommand(1);
    a.data = default_data;
    a.init.data = default_data;

    a.init_root = ceremony->add_subcommand(
        "init-root", "On the offline machine: create a data directory holding only a root CA (its "
                     "own master key or token); writes the root certificate");
    a.init_root->add_option("--data", a.init.data, "Offline data directory to create")->required();
    a.init_root->add_option("--public-url", a.init.public_url,
                            "The online server's base URL (AIA caIssuers of the certificates the "
                            "root issues names <url>/ca/root.crt)")
        ->required();
    a.init_root->add_option("--organization", a.init.organization, "Organisation named in the root")
        ->capture_default_str();
    a.init_root->add_option("--country", a.init.country, "ISO 3166 country of the CA")->capture_default_str();
    a.init_root->add_option("--key-backend", a.init.key_backend, "software or pkcs11")
        ->check(CLI::IsMember({"software", "pkcs11"}))
        ->capture_default_str();
    a.init_root->add_option("--pkcs11-module", a.init.pkcs11_module, "With pkcs11: the token's library");
    a.init_root->add_option("--pkcs11-token-label", a.init.pkcs11_token_label, "With pkcs11: the token's label");
    a.init_root->add_option("--pkcs11-pin-source", a.init.pkcs11_pin_source,
                            "With pkcs11: file:PATH or env:NAME holding the user PIN");
    a.init_root->add_option("-o,--output", a.output, "Root certificate (PEM) to write")->required();

    a.csr_cmd = ceremony->add_subcommand(
        "csr", "On the online machine: export a PKCS#10 request for an issuing CA's existing key");
    a.csr_cmd->add_option("--data", a.data, "Online data directory")->capture_default_str();
    a.csr_cmd->add_option("--ca", a.ca, "Issuing CA, e.g. natural-persons")->required();
    a.csr_cmd->add_option("-o,--output", a.output, "Request (PEM) to write")->required();

    a.sign_cmd = ceremony->add_subcommand(
        "sign", "On the offline machine: check a request and issue an issuing-CA certificate");
    a.sign_cmd->add_option("--data", a.data, "Offline root's data directory")->required();
    a.sign_cmd->add_option("--csr", a.csr, "Request from `selo ca ceremony csr` (PEM or DER)")
        ->required();
    a.sign_cmd->add_option("-o,--output", a.output, "Certificate (PEM) to write")->required();

    a.import_cmd = ceremony->add_subcommand(
        "import", "On the online machine: install the offline root and the issuing-CA "
                  "certificates it signed (each matched to the CA whose key it certifies)");
    a.import_cmd->add_option("--data", a.data, "Online data directory")->capture_default_str();
    a.import_cmd->add_option("--root", a.root, "The offline root's certificate")->required();
    a.import_cmd->add_option("--certificate", a.certificates,
                             "An issuing-CA certificate from `selo ca ceremony sign` (repeatable; "
                             "a new root needs one for every CA the current root certifies)")
        ->required();
    return ceremony;
}

int run_ca_ceremony(const CeremonyArgs& a) {
    SystemClock clock;
    SystemRng rng;
    if (a.init_root->parsed()) {
        if (fs::exists(a.output)) {
            print_error(fmt::format("{} exists; refusing to replace it", a.output.string()));
            return 1;
        }
        InitOptions opts{a.init.public_url, "127.0.0.1:8080", a.init.organization, a.init.country, {}};
        opts.keys.backend = a.init.key_backend;
        opts.keys.pkcs11_module = a.init.pkcs11_module;
        opts.keys.pkcs11_token_label = a.init.pkcs11_token_label;
        opts.keys.pkcs11_pin_source = a.init.pkcs11_pin_source;
        auto root = ceremony_init_root(a.init.data, opts, clock, rng);
        if (!root) {
            print_error(root.error().message);
            return 1;
        }
        if (report(write_output(a.output, root->pem())) != 0) {
            return 1;
        }
        std::cout << "Created offline root " << root->subject() << " in " << a.init.data.string()
                  << "\nSHA-256 fingerprint " << fingerprint(*root) << "\nCertificate written to "
                  << a.output.string() << "\n";
        return 0;
    }
    if (a.sign_cmd->parsed()) {
        auto csr = read_input(a.csr, "request");
        if (!csr) {
            print_error(csr.error().message);
            return 1;
        }
        auto cert = ceremony_sign(a.data, *csr, clock, rng);
        if (!cert) {
            print_error(cert.error().message);
            return 1;
        }
        if (report(write_output(a.output, cert->pem())) != 0) {
            return 1;
        }
        std::cout << "Issued " << cert->subject() << " (serial " << cert->serial_hex() << ")\n"
                  << "Certificate written to " << a.output.string() << "\n";
        return 0;
    }
    auto rt = Runtime::open(a.data, clock, rng);
    if (!rt) {
        print_error(rt.error().message);
        return 1;
    }
    if (a.csr_cmd->parsed()) {
        if (fs::exists(a.output)) {
            print_error(fmt::format("{} exists; refusing to replace it", a.output.string()));
            return 1;
        }
        auto pem = ceremony_csr(**rt, a.ca);
        if (!pem) {
            print_error(pem.error().message);
            return 1;
        }
        if (report(write_output(a.output, *pem)) != 0) {
            return 1;
        }
        std::cout << "Request for CA '" << a.ca << "' written to " << a.output.string() << "\n";
        return 0;
    }
    auto root = read_input(a.root, "root certificate");
    if (!root) {
        print_error(root.error().message);
        return 1;
    }
    std::vector<Bytes> certs;
    for (const auto& f : a.certificates) {
        auto c = read_input(f, "certificate");
        if (!c) {
            print_error(c.error().message);
            return 1;
        }
        certs.push_back(std::move(*c));
    }
    auto imported = ceremony_import(**rt, *root, certs);
    if (!imported) {
        print_error(imported.error().message);
        return 1;
    }
    for (const auto& n : imported->cas) {
        std::cout << "CA '" << n << "' is now certified by the offline root\n";
    }
    if (!imported->destroyed_key.empty()) {
        std::cout << "The old online root key '" << imported->destroyed_key << "' is destroyed\n";
    }
    std::cout << "Restart `selo serve` to serve the new chain\n";
    if (imported->destroy_failure) {
        print_error("the import is done, but the old online root key could not be destroyed: " +
                    imported->destroy_failure->message);
        return 1;
    }
    return 0;
}

}  // namespace selo::cli
