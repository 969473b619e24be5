#include "pdf/signed_file_writer.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <random>
#include <utility>

namespace selo::pdf {

namespace {

constexpr std::size_t copy_chunk = 1024 * 1024;

std::unexpected<Error> io_fail(std::string_view what, const std::filesystem::path& path, int err) {
    ErrorCode code = ErrorCode::internal;
    switch (err) {
        case ENOENT:
            code = ErrorCode::not_found;
            break;
        case EACCES:
        case EPERM:
        case EROFS:
            code = ErrorCode::forbidden;
            break;
        case ENOSPC:
        case EDQUOT:
        case EIO:
            code = ErrorCode::unavailable;
            break;
        default:
            break;
    }
    return fail(code, "{} {}: {}", what, path.string(), std::strerror(err));
}

Result<void> write_all(int fd, ByteView data, const std::filesystem::path& path) {
    while (!data.empty()) {
        const auto n = ::write(fd, data.data(), data.size());
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n < 0) {
            return io_fail("writing", path, errno);
        }
        data = data.subspan(static_cast<std::size_t>(n));
    }
    return {};
}

// A fresh file in the output's directory, so that rename(2) is atomic (same file system).
// O_EXCL with a random name rather than mkstemp: the mode then follows the umask like any
// file the user creates, instead of mkstemp's 0600.
Result<std::pair<int, std::filesystem::path>> create_temporary(
    const std::filesystem::path& output) {
    auto dir = output.parent_path();
    if (dir.empty()) {
        dir = ".";
    }
    std::random_device rd;
    for (int attempt = 0; attempt < 100; ++attempt) {
        auto name = fmt::format(".{}.{:08x}.tmp", output.filename().string(), rd());
        auto path = dir / name;
        const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
        if (fd >= 0) {
            return std::pair{fd, path};
        }
        if (errno != EEXIST) {
            return io_fail("creating", path, errno);
        }
    }
    return fail(ErrorCode::internal, "cannot create a temporary file in {}", dir.string());
}

}  // namespace

Result<SignedFileWriter> SignedFileWriter::begin(const std::filesystem::path& input,
                                                 const std::filesystem::path& output,
                                                 PreparedSignature prepared,
                                                 crypto::DigestAlgorithm alg, Progress progress) {
    const int in = ::open(input.c_str(), O_RDONLY | O_CLOEXEC);
    if (in < 0) {
        return io_fail("opening", input, errno);
    }
    struct Closer {
        int fd;
        ~Closer() { ::close(fd); }
    } in_closer{in};
    struct stat st {};
    if (::fstat(in, &st) != 0) {
        return io_fail("reading", input, errno);
    }
    const auto total = prepared.original_size();
    if (static_cast<std::uint64_t>(st.st_size) != total) {
        return fail(ErrorCode::conflict,
                    "{} has {} bytes, but the signature was prepared for {}: it changed",
                    input.string(), st.st_size, total);
    }
    ::posix_fadvise(in, 0, 0, POSIX_FADV_SEQUENTIAL);

    SignedFileWriter writer(std::move(prepared));
    auto [fd, temp] = SELO_TRY(create_temporary(output));
    writer.fd_ = fd;
    writer.temp_ = std::move(temp);
    writer.output_ = output;

    crypto::Hasher hasher(alg);
    Bytes buf(copy_chunk);
    std::uint64_t done = 0;
    // The last bytes copied, to compare with the fingerprint taken when preparing.
    const std::size_t tail_len = writer.prepared_.original_tail().size();
    Bytes tail;
    while (done < total) {
        const auto n = ::read(in, buf.data(), buf.size());
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n < 0) {
            return io_fail("reading", input, errno);
        }
        if (n == 0) {
            return fail(ErrorCode::conflict, "{} became shorter while it was copied",
                        input.string());
        }
        const auto got = static_cast<std::size_t>(
            std::min<std::uint64_t>(static_cast<std::uint64_t>(n), total - done));
        const ByteView chunk(buf.data(), got);
        hasher.update(chunk);
        SELO_TRY_VOID(write_all(writer.fd_, chunk, writer.temp_));
        if (got >= tail_len) {
            tail.assign(chunk.end() - static_cast<std::ptrdiff_t>(tail_len), chunk.end());
        } else {
            tail.insert(tail.end(), chunk.begin(), chunk.end());
            if (tail.size() > tail_len) {
                tail.erase(tail.begin(),
                           tail.begin() + static_cast<std::ptrdiff_t>(tail.size() - tail_len));
            }
        }
        done += got;
        if (progress) {
            progress(done, total);
        }
    }
    const ByteView expected_tail = writer.prepared_.original_tail();
    if (!std::equal(tail.begin(), tail.end(), expected_tail.begin(), expected_tail.end())) {
        return fail(ErrorCode::conflict, "{} changed since the signature was prepared",
                    input.string());
    }
    writer.prepared_.hash_update(hasher);
    writer.digest_ = hasher.finish();
    return writer;
}

SignedFileWriter::SignedFileWriter(SignedFileWriter&& other) noexcept
    : fd_(std::exchange(other.fd_, -1)),
      temp_(std::exchange(other.temp_, {})),
      output_(std::move(other.output_)),
      prepared_(std::move(other.prepared_)),
      digest_(std::move(other.digest_)) {}

SignedFileWriter& SignedFileWriter::operator=(SignedFileWriter&& other) noexcept {
    if (this != &other) {
        abandon();
        fd_ = std::exchange(other.fd_, -1);
        temp_ = std::exchange(other.temp_, {});
        output_ = std::move(other.output_);
        prepared_ = std::move(other.prepared_);
        digest_ = std::move(other.digest_);
    }
    return *this;
}

SignedFileWriter::~SignedFileWriter() {
    abandon();
}

void SignedFileWriter::abandon() noexcept {
    if (fd_ >= 0) {
        ::close(fd_);
        fd_ = -1;
    }
    if (!temp_.empty()) {
        ::unlink(temp_.c_str());
        temp_.clear();
    }
}

Result<void> SignedFileWriter::commit(ByteView cms_der) {
    if (fd_ < 0 || temp_.empty()) {
        return fail(ErrorCode::conflict, "this signed file was already committed or abandoned");
    }
    // Whatever happens below, the writer is finished; on failure nothing is left behind.
    struct AbandonOnFailure {
        SignedFileWriter& w;
        bool ok = false;
        ~AbandonOnFailure() {
            if (!ok) {
                w.abandon();
            }
        }
    } guard{*this};

    SELO_TRY_VOID(prepared_.set_contents(cms_der));
    SELO_TRY_VOID(write_all(fd_, prepared_.update_bytes(), temp_));
    // Data first, then the name: after a crash the output is the old one or the whole new one.
    if (::fsync(fd_) != 0) {
        return io_fail("syncing", temp_, errno);
    }
    const int fd = std::exchange(fd_, -1);
    if (::close(fd) != 0) {
        return io_fail("closing", temp_, errno);
    }
    if (::rename(temp_.c_str(), output_.c_str()) != 0) {
        return io_fail("renaming to", output_, errno);
    }
    temp_.clear();
    guard.ok = true;
    // The rename itself is durable only once the directory is synced.
    auto dir = output_.parent_path();
    if (dir.empty()) {
        dir = ".";
    }
    const int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd >= 0) {
        const int rc = ::fsync(dfd);
        const int err = errno;
        ::close(dfd);
        if (rc != 0) {
            return io_fail("syncing directory", dir, err);
        }
    }
    return {};
}

}  // namespace selo::pdf
