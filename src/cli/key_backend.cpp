#include "cli/key_backend.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>

#include "core/log.hpp"

namespace selo::cli {
namespace fs = std::filesystem;

KeyBackend::KeyBackend(store::Database& db, const crypto::MasterKey& master, const Clock& clock,
                       Rng& rng)
    : sealed_(db, clock), token_(db, clock), software_(sealed_, master, rng) {}

Result<std::unique_ptr<KeyBackend>> KeyBackend::open(const Config& config, const fs::path& dir,
                                                     store::Database& db,
                                                     const crypto::MasterKey& master,
                                                     const Clock& clock, Rng& rng) {
    std::unique_ptr<KeyBackend> backend(new KeyBackend(db, master, clock, rng));
    if (config.keys.backend == "pkcs11") {
        crypto::Pkcs11Options options;
        options.module = config.keys.pkcs11_module;
        options.token_label = config.keys.pkcs11_token_label;
        options.pin = SELO_TRY(read_pkcs11_pin(config.keys, dir));
        backend->pkcs11_ = SELO_TRY(crypto::Pkcs11KeyStore::open(options, backend->token_, rng));
        log::debug("keys: CA keys in {}", backend->pkcs11_->description());
    }
    return backend;
}

crypto::KeyStore& KeyBackend::store() noexcept {
    if (pkcs11_) {
        return *pkcs11_;
    }
    return software_;
}

std::string KeyBackend::description() const {
    return pkcs11_ ? "PKCS#11 " + pkcs11_->description() : std::string("software key store");
}

Result<SecretBytes> read_pkcs11_pin(const KeysConfig& keys, const fs::path& dir) {
    const std::string& source = keys.pkcs11_pin_source;
    auto trimmed = [](std::string_view s) {
        while (!s.empty() && (s.back() == '\n' || s.back() == '\r')) {
            s.remove_suffix(1);
        }
        return s;
    };
    if (source.starts_with("env:")) {
        const std::string name = source.substr(4);
        const char* value = std::getenv(name.c_str());
        if (value == nullptr || *value == '\0') {
            return fail(ErrorCode::not_found,
                        "[keys] pkcs11_pin_source names the environment variable {}, which is not set",
                        name);
        }
        return SecretBytes(as_bytes(trimmed(value)));
    }
    if (!source.starts_with("file:")) {
        return fail(ErrorCode::invalid_argument,
                    "[keys] pkcs11_pin_source must be \"file:PATH\" or \"env:NAME\"");
    }
    fs::path file = source.substr(5);
    if (file.is_relative()) {
        file = dir / file;
    }
    int fd = ::open(file.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        return fail(ErrorCode::not_found, "cannot read the PKCS#11 PIN file {}: {}", file.string(),
                    std::strerror(errno));
    }
    struct stat st {};
    if (::fstat(fd, &st) != 0 || (st.st_mode & 077) != 0) {
        ::close(fd);
        return fail(ErrorCode::forbidden,
                    "the PKCS#11 PIN file {} is accessible by group or others; run chmod 600",
                    file.string());
    }
    SecretBytes buffer(256);
    ssize_t n = ::read(fd, buffer.data(), buffer.size());
    ::close(fd);
    if (n <= 0 || static_cast<std::size_t>(n) == buffer.size()) {
        return fail(ErrorCode::invalid_argument, "the PKCS#11 PIN file {} is empty or too long",
                    file.string());
    }
    std::string_view text(reinterpret_cast<const char*>(buffer.data()), static_cast<std::size_t>(n));
    text = trimmed(text);
    if (text.empty() || text.find('\n') != std::string_view::npos) {
        return fail(ErrorCode::invalid_argument, "the PKCS#11 PIN file {} must hold one line",
                    file.string());
    }
    return SecretBytes(as_bytes(text));
}

}  // namespace selo::cli
