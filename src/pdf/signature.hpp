#pragma once
// PAdES signature preparation: an incremental update (ISO 32000-1 §7.5.6) that adds a signature
// dictionary and an invisible signature field to an existing PDF, leaving the original bytes
// untouched so that earlier signatures stay valid.
//
// Design:
// - qpdf parses the document (lazily: from a file it reads only the cross-reference data and the
//   objects we touch). We never let qpdf write: the update is laid out here, and only objects we
//   change are re-serialised, each with qpdf's unparse() so indirect references stay "n g R".
// - The update is laid out once with fixed-width placeholders (/ByteRange numbers padded to 20
//   characters, /Contents zero-filled to its capacity), so filling them never shifts an offset.
//   The caller hashes the ByteRange (digest(), hash_update() or SignedFileWriter), builds the
//   CMS (/SubFilter /ETSI.CAdES.detached: ISO 32000-2 §12.8.3.4, ETSI EN 319 142-1) and hands
//   it to set_contents().
// - The new cross-reference section has the form of the file's last one, so that any reader
//   that could read the original can read the update (cross-reference streams need PDF 1.5,
//   ISO 32000-1 §7.5.8): a classic table after a table, also for hybrid files (§7.5.8.4) but
//   without carrying /XRefStm, as the hybrid section stays reachable via /Prev; an xref stream
//   after an xref stream. Offsets in it are relative to the "%PDF-" header, the convention qpdf
//   and poppler both use for files with leading junk; /ByteRange offsets are file offsets.
// - Damaged cross-reference data: if qpdf had to reconstruct the table, the original /Prev chain
//   leads to garbage, and each validator would repair it with its own heuristics. The update then
//   carries a complete cross-reference section (every object at the offset qpdf found) and no
//   /Prev, so readers never need the broken part. The original bytes are still untouched.
// - Refused, with the reason in the message: encrypted documents (unsupported), documents qpdf
//   cannot open (malformed), no pages (malformed), DocMDP P=1 certification (conflict).
// Nothing here does cryptography except hashing.

#include <array>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "core/bytes.hpp"
#include "core/clock.hpp"
#include "core/error.hpp"
#include "crypto/digest.hpp"

namespace selo::pdf {

// What the signature field and dictionary say.
struct SignatureFieldOptions {
    // Partial name /T of the new field; empty: the first "Signature<N>" no existing field uses.
    std::string field_name;
    // /Name, /Reason, /Location (UTF-8, written as PDF text strings); empty ones are omitted.
    std::string signer_name;
    std::string reason;
    std::string location;
    // /M, the signing time claimed by the signer (ISO 32000-1 §12.8.1, §7.9.4).
    TimePoint signing_time;
    // Bytes of DER the /Contents hex string can hold (it has twice as many hex digits).
    std::size_t contents_capacity = 32768;
};

// The largest /Contents capacity accepted (a CMS with a long chain and a timestamp token is
// a few tens of kilobytes; this only guards against nonsense).
inline constexpr std::size_t max_contents_capacity = 8 * 1024 * 1024;

// An incremental update laid out for one signature, waiting for its CMS.
class PreparedSignature {
  public:
    // Size of the original document.
    [[nodiscard]] std::uint64_t original_size() const noexcept { return original_size_; }
    // Size of the signed document: original plus update.
    [[nodiscard]] std::uint64_t total_size() const noexcept {
        return original_size_ + update_.size();
    }
    // [0, a, b, c]: everything except the /Contents hex string including its delimiters.
    [[nodiscard]] std::array<std::uint64_t, 4> byte_range() const noexcept { return byte_range_; }
    // The digest over the ByteRange, given the original document; refuses a document of another
    // size than the one prepared.
    [[nodiscard]] Result<Bytes> digest(ByteView original, crypto::DigestAlgorithm alg) const;
    // Feeds the parts of the update covered by the ByteRange into `hasher`, which must already
    // have been fed the original document.
    void hash_update(crypto::Hasher& hasher) const;
    // Puts the DER-encoded CMS into /Contents (hex, zero-padded); too_large if it does not fit.
    [[nodiscard]] Result<void> set_contents(ByteView cms_der);
    // The bytes to append to the original document (placeholder /Contents until set_contents).
    [[nodiscard]] ByteView update_bytes() const noexcept { return update_; }

    // The partial name of the new signature field.
    [[nodiscard]] const std::string& field_name() const noexcept { return field_name_; }
    [[nodiscard]] std::size_t contents_capacity() const noexcept { return contents_capacity_; }
    // Object number of the new signature dictionary.
    [[nodiscard]] int signature_object() const noexcept { return signature_object_; }
    // True if qpdf had to reconstruct the cross-reference table (see the design note above).
    [[nodiscard]] bool xref_reconstructed() const noexcept { return xref_reconstructed_; }
    // What qpdf warned about while reading the document (for logs; never printed by qpdf).
    [[nodiscard]] const std::vector<std::string>& warnings() const noexcept { return warnings_; }
    // The original's last bytes (up to 1 KiB), to notice a file that changed since preparation.
    [[nodiscard]] ByteView original_tail() const noexcept { return original_tail_; }

  private:
    friend class UpdateBuilder;
    PreparedSignature() = default;

    std::uint64_t original_size_ = 0;
    Bytes update_;
    std::size_t contents_offset_ = 0;  // offset of '<' in update_
    std::size_t contents_capacity_ = 0;
    std::array<std::uint64_t, 4> byte_range_{};
    std::string field_name_;
    int signature_object_ = 0;
    bool xref_reconstructed_ = false;
    std::vector<std::string> warnings_;
    Bytes original_tail_;
};

// Prepares a signature for a document held in memory.
[[nodiscard]] Result<PreparedSignature> prepare_signature(ByteView pdf,
                                                          const SignatureFieldOptions& options);
// Prepares a signature for a document in a file, reading only what is needed (qpdf reads
// objects lazily), so that very large files need little memory.
[[nodiscard]] Result<PreparedSignature> prepare_signature_file(
    const std::filesystem::path& pdf, const SignatureFieldOptions& options);

}  // namespace selo::pdf
