#pragma once
// Writes a signed document file by file, for documents too large to hold in memory: the original
// is copied into a temporary file next to the output while it is hashed, the caller gets the
// digest to sign, and commit() appends the update with the CMS, syncs and renames the temporary
// file into place. The output path never holds a partial document: it is either untouched or
// complete, and an abandoned writer removes its temporary file.

#include <cstdint>
#include <filesystem>
#include <functional>
#include <utility>

#include "core/bytes.hpp"
#include "core/error.hpp"
#include "crypto/digest.hpp"
#include "pdf/signature.hpp"

namespace selo::pdf {

class SignedFileWriter {
  public:
    // Called while copying with the bytes done so far and the original's size.
    using Progress = std::function<void(std::uint64_t done, std::uint64_t total)>;

    // Copies `input` (the file `prepared` was made from) into a temporary file in the directory
    // of `output` while hashing it with `alg`; conflict if the input is not the prepared version.
    [[nodiscard]] static Result<SignedFileWriter> begin(const std::filesystem::path& input,
                                                        const std::filesystem::path& output,
                                                        PreparedSignature prepared,
                                                        crypto::DigestAlgorithm alg,
                                                        Progress progress = {});

    SignedFileWriter(SignedFileWriter&& other) noexcept;
    SignedFileWriter& operator=(SignedFileWriter&& other) noexcept;
    SignedFileWriter(const SignedFileWriter&) = delete;
    SignedFileWriter& operator=(const SignedFileWriter&) = delete;
    // Removes the temporary file unless commit() succeeded.
    ~SignedFileWriter();

    // The digest over the ByteRange, to be signed.
    [[nodiscard]] const Bytes& digest() const noexcept { return digest_; }
    [[nodiscard]] const PreparedSignature& prepared() const noexcept { return prepared_; }
    // The temporary file (for tests and diagnostics); empty once committed or abandoned.
    [[nodiscard]] const std::filesystem::path& temporary_path() const noexcept { return temp_; }

    // Puts `cms_der` into /Contents, appends the update, syncs the file and renames it to the
    // output path (then syncs the directory). After a failure the temporary file is gone and the
    // output path is as it was; the writer cannot be used again either way.
    [[nodiscard]] Result<void> commit(ByteView cms_der);
    // Removes the temporary file now.
    void abandon() noexcept;

  private:
    explicit SignedFileWriter(PreparedSignature prepared) : prepared_(std::move(prepared)) {}

    int fd_ = -1;
    std::filesystem::path temp_;
    std::filesystem::path output_;
    PreparedSignature prepared_;
    Bytes digest_;
};

}  // namespace selo::pdf
