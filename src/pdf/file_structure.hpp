#pragma once
// Internal: the few facts about a PDF's byte layout that qpdf does not expose and the update
// depends on: where the header starts, whether the file ends with an EOL, and the form of the
// cross-reference section that startxref names.

#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>

#include "core/bytes.hpp"
#include "core/error.hpp"

namespace selo::pdf::detail {

enum class XrefForm { table, stream, unknown };

struct FileStructure {
    std::uint64_t size = 0;
    // Offset of "%PDF-" within the first 1024 bytes (0 if absent). qpdf and poppler read every
    // offset in the file relative to it, so the update's cross-reference offsets are too.
    std::uint64_t header_offset = 0;
    bool ends_with_eol = false;
    // The last startxref value, as written (relative to the header).
    std::optional<std::uint64_t> startxref;
    // What startxref points at: "xref" (ISO 32000-1 §7.5.4) or an object (§7.5.8).
    XrefForm last_xref = XrefForm::unknown;
    // The last bytes of the file (up to 1 KiB): a fingerprint of the version that was prepared.
    Bytes tail;
};

// Reads `n` bytes at `offset` (fewer at the end of the data).
using ReadAt = std::function<Result<Bytes>(std::uint64_t offset, std::size_t n)>;

[[nodiscard]] Result<FileStructure> inspect_structure(std::uint64_t size, const ReadAt& read);

// A ReadAt over memory.
[[nodiscard]] ReadAt memory_reader(ByteView data);

}  // namespace selo::pdf::detail
