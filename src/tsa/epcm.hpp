#pragma once
// The Electronic Postal Certification Mark (UPU S43): postmarks over document digests. A
// postmark transaction starts with Postmark (a digest, optionally the submitter's CMS signature,
// which is validated) and collects further events (LogEvent). Each event gets a receipt: plain
// canonical text (receipt_text) time-stamped by the TSA, so that anyone can check a receipt
// offline with `openssl ts -verify -data receipt.txt -in receipt.tst -token_in ...`. Every
// receipt is appended to the transparency log ("postmark" / "epcm-event").

#include <array>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "core/bytes.hpp"
#include "core/clock.hpp"
#include "core/error.hpp"
#include "core/evidence.hpp"
#include "core/rng.hpp"
#include "crypto/digest.hpp"
#include "pki/certificate.hpp"
#include "pki/repository.hpp"
#include "tsa/chain_status.hpp"
#include "tsa/verify.hpp"

namespace selo::tsa {

// What was found of the submitter's signature.
struct SignatureValidation {
    // "none", "valid", "invalid"; "indeterminate" when the signer's certificate status could not
    // be read, "unusable" when the signature is over the document's digest in another algorithm
    // than the one given (validate_cms_signature only: a postmark is refused then, never
    // receipted so).
    std::string status = "none";
    std::string detail;  // the signer, or why the signature is invalid
};

struct EpcmEvent {
    std::string id;              // the receipt id (32 hex digits)
    std::string transaction_id;  // the id of the transaction's first (Postmark) receipt
    std::uint32_t sequence = 0;  // 0 for the postmark
    std::string event;           // "postmark", or the LogEvent name ("delivered", ...)
    std::string submitter;       // account id
    crypto::DigestAlgorithm algorithm = crypto::DigestAlgorithm::sha256;
    Bytes digest;
    std::string details;         // LogEvent's free text
    SignatureValidation validation;
    TimePoint time;              // genTime of the token
    Bytes receipt;               // the canonical text that was time-stamped
    Bytes token;                 // RFC 3161 TimeStampToken over SHA-256(receipt)
};

class EpcmRepository {
public:
    virtual ~EpcmRepository() = default;
    virtual Result<void> insert(const EpcmEvent& event) = 0;
    virtual Result<std::optional<EpcmEvent>> find(std::string_view id) = 0;
    // The events of a transaction, in sequence order.
    virtual Result<std::vector<EpcmEvent>> transaction(std::string_view transaction_id) = 0;
};

// The canonical receipt text of an event (everything but receipt and token filled in, time
// excepted: the receipt states the time the service took; the token proves it).
[[nodiscard]] std::string receipt_text(const EpcmEvent& e, TimePoint stated_time);

// Validates a detached CMS signature (DER) whose messageDigest must be `digest`; `anchors` are
// the roots a trusted signer chains to, at time `at`. Every certificate of the chain below the
// root must be one `status` knows and not revoked or suspended at `at`: a signer that does not
// is invalid; one whose status cannot be read (or with no `status`) is indeterminate.
[[nodiscard]] SignatureValidation validate_cms_signature(ByteView cms_der, crypto::DigestAlgorithm algorithm,
                                                         ByteView digest, const TrustAnchors& anchors,
                                                         const CertificateStatusLookup& status, TimePoint at);

// The document a receipt is checked against: its digest, under `algorithm` or, when that is
// not given, under the algorithm the receipt itself names.
struct DocumentDigest {
    std::optional<crypto::DigestAlgorithm> algorithm;
    Bytes digest;
};

struct IntegrityResult {
    bool valid = false;             // the receipt is genuine and, when checked, the document matches
    bool document_checked = false;  // false: no digest was given, only the receipt was checked
    std::string reason;             // why not
    std::optional<EpcmEvent> event;
    std::optional<TimePoint> proven_time;
};

// Every certificate (DER) the time-stamping unit that stamps receipts has had: a receipt must be
// signed under one of them, not merely under a time-stamping certificate Selo's CA issued.
using ReceiptSigners = std::function<Result<std::vector<Bytes>>()>;

class PostmarkService {
public:
    // `status`: what Selo's certificate store says of the certificates that chain to `anchors`
    // (all issued by Selo's CAs), for validating submitters' signatures.
    PostmarkService(EpcmRepository& repo, TimeStamper& stamper, TrustLog* log, TrustAnchors anchors,
                    CertificateStatusLookup status, ReceiptSigners signers, const Clock& clock, Rng& rng)
        : repo_(repo), stamper_(stamper), log_(log), anchors_(std::move(anchors)), status_(std::move(status)),
          signers_(std::move(signers)), clock_(clock), rng_(rng) {}

    // S43 Postmark. `signature`: an optional detached CMS signature by the submitter.
    Result<EpcmEvent> postmark(std::string_view submitter, crypto::DigestAlgorithm algorithm, Bytes digest,
                               std::optional<Bytes> signature);
    // S43 LogEvent: another event in a transaction, itself receipted and time-stamped.
    Result<EpcmEvent> log_event(std::string_view transaction_id, std::string_view submitter,
                                std::string_view event, std::string_view details);
    // S43 Verify / CheckIntegrity: does the receipt's token verify over the receipt, and, when
    // a document is given, does its digest match the receipt's? A receipt is given by id, or by
    // its text and token. A digest whose length does not fit its algorithm is
    // ErrorCode::invalid_argument, not a mismatch.
    Result<IntegrityResult> check_integrity(std::string_view receipt_id, std::optional<DocumentDigest> document);
    Result<IntegrityResult> check_receipt(ByteView receipt, ByteView token,
                                          const std::optional<DocumentDigest>& document);
    // S43 RetrieveResults. Each event is what its signed receipt states: one whose stored fields
    // say otherwise (an edited record) is ErrorCode::internal, never served as it is.
    Result<std::vector<EpcmEvent>> events(std::string_view transaction_id);
    Result<std::optional<EpcmEvent>> find(std::string_view id);

private:
    Result<EpcmEvent> seal(EpcmEvent e, std::string_view log_type);
    // `e` as stored, when its fields are those its receipt states and its token is over that
    // receipt, at its time.
    static Result<EpcmEvent> checked(EpcmEvent e);

    EpcmRepository& repo_;
    TimeStamper& stamper_;
    TrustLog* log_;
    TrustAnchors anchors_;
    CertificateStatusLookup status_;
    ReceiptSigners signers_;
    const Clock& clock_;
    Rng& rng_;
    // LogEvent reads a transaction's last sequence number, then seals (and logs) and stores the
    // next one; two events of one transaction doing so at once would take the same number, and
    // the loser would be in the log but not in the store. The server is the store's only
    // writer, so serialising per transaction here suffices; striped so that unrelated
    // transactions seldom wait on each other.
    std::array<std::mutex, 64> transaction_locks_;
};

}  // namespace selo::tsa
