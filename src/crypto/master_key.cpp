#include "crypto/master_key.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "crypto/kdf.hpp"

namespace selo::crypto {
namespace {
constexpr std::string_view kHeader = "selo-master-key-v1\n";
}

Result<MasterKey> MasterKey::create(const std::filesystem::path& file, Rng& rng) {
    SecretBytes key(kSize);
    rng.fill(key.span());
    std::string hex = hex_encode(key.view());
    std::string content = std::string(kHeader) + hex + "\n";
    secure_wipe(hex.data(), hex.size());
    int fd = ::open(file.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0) {
        return fail(ErrorCode::conflict, "cannot create master key {}: {}", file.string(),
                    std::strerror(errno));
    }
    bool ok = ::write(fd, content.data(), content.size()) == static_cast<ssize_t>(content.size()) &&
              ::fsync(fd) == 0;
    ::close(fd);
    secure_wipe(content.data(), content.size());
    if (!ok) {
        return fail(ErrorCode::internal, "cannot write master key {}", file.string());
    }
    return MasterKey(std::move(key));
}

Result<MasterKey> MasterKey::load(const std::filesystem::path& file) {
    int fd = ::open(file.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        return fail(ErrorCode::not_found, "cannot open master key {}: {}", file.string(),
                    std::strerror(errno));
    }
    struct stat st {};
    if (::fstat(fd, &st) != 0) {
        ::close(fd);
        return fail(ErrorCode::internal, "cannot stat master key {}", file.string());
    }
    if ((st.st_mode & 077) != 0) {
        ::close(fd);
        return fail(ErrorCode::forbidden,
                    "master key {} is accessible by group or others (mode {:o}); run chmod 600",
                    file.string(), st.st_mode & 0777);
    }
    std::string content(256, '\0');
    ssize_t n = ::read(fd, content.data(), content.size());
    ::close(fd);
    if (n < 0) {
        return fail(ErrorCode::internal, "cannot read master key {}", file.string());
    }
    content.resize(static_cast<std::size_t>(n));
    std::string_view v(content);
    if (!v.starts_with(kHeader)) {
        secure_wipe(content.data(), content.size());
        return fail(ErrorCode::malformed, "{} is not a Selo master key file", file.string());
    }
    v.remove_prefix(kHeader.size());
    while (!v.empty() && (v.back() == '\n' || v.back() == '\r')) {
        v.remove_suffix(1);
    }
    auto bytes = hex_decode(v);
    secure_wipe(content.data(), content.size());
    if (!bytes || bytes->size() != kSize) {
        return fail(ErrorCode::malformed, "master key {} is damaged", file.string());
    }
    SecretBytes key(*bytes);
    secure_wipe(bytes->data(), bytes->size());
    return MasterKey(std::move(key));
}

MasterKey MasterKey::from_bytes(ByteView bytes) { return MasterKey(SecretBytes(bytes)); }

Result<SecretBytes> MasterKey::derive(std::string_view purpose) const {
    return hkdf_sha256(key_.view(), as_bytes("selo master key"), as_bytes(purpose), 32);
}

}  // namespace selo::crypto
