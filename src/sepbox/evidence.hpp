#pragma once
// Registered-delivery evidence (ETSI EN 319 522-2 event names): the canonical document, its CMS
// signature by the SEPBox seal, the optional RFC 3161 time-stamp and transparency-log entry.
// See docs/sepbox.md for the document's format.

#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "core/evidence.hpp"
#include "core/rng.hpp"
#include "crypto/key_store.hpp"
#include "pki/authority.hpp"
#include "pki/certificate.hpp"
#include "sepbox/message.hpp"

namespace selo::sepbox {

// The facts an evidence states.
struct EvidenceFacts {
    Event event = Event::submission_acceptance;
    std::string evidence_id;
    std::string message_id;
    TimePoint at;
    std::string sender_id;
    std::string sender_name;
    std::string recipient_id;
    // The member who acted for a recipient institution (handover, acceptance, rejection).
    std::string delegate_id;
    std::string delegate_name;
    Category category = Category::notification;
    std::string sender_reference;
    std::optional<TimePoint> reply_by;
    std::string reason;  // rejections, expiry: why
    struct PartDigest {
        std::string name;
        std::uint64_t size = 0;
        Bytes sha256;
    };
    std::vector<PartDigest> parts;
};

// The canonical bytes: UTF-8 JSON, object members sorted by name (byte order), no insignificant
// white space, strings escaped minimally (", \ and control characters as \u00XX).
[[nodiscard]] std::string canonical_evidence(const EvidenceFacts& facts, std::string_view issuer);

// Where the seal's certificate comes from, and how it is named.
struct SealOptions {
    std::string country = "MO";
    std::string organization = "Selo Trust Services";
    std::string common_name = "Selo SEPBox Registered Delivery";
    // A new seal is issued when the current one has less than this left.
    std::chrono::seconds renew_before{std::chrono::days(30)};
};

// The SEPBox seal: issued from the institutions CA (profile legal-person-seal, key in the key
// store) on first use, renewed before it expires. Thread-safe.
class Seal {
public:
    Seal(crypto::KeyStore& keys, pki::CertificateAuthority& issuer,
         std::vector<pki::Certificate> issuer_chain, SepboxRepository& repo, const Clock& clock,
         Rng& rng, SealOptions options);

    // Makes sure a seal valid for a while is at hand (issues or renews it). Call outside any
    // transaction whose rollback would take the new key with it.
    [[nodiscard]] Result<void> ensure_current();
    // CMS SignedData (DER) encapsulating `content`, signed with the current seal.
    [[nodiscard]] Result<Bytes> sign(ByteView content);
    // The current seal certificate.
    [[nodiscard]] Result<pki::Certificate> certificate();

private:
    struct Current {
        pki::Certificate certificate;
        crypto::EvpPkeyPtr key;
    };
    Result<void> ensure_locked();

    crypto::KeyStore& keys_;
    pki::CertificateAuthority& issuer_;
    std::vector<pki::Certificate> chain_;
    SepboxRepository& repo_;
    const Clock& clock_;
    Rng& rng_;
    SealOptions options_;
    std::mutex mutex_;
    std::optional<Current> current_;
};

// Signs, time-stamps and logs evidence; the stamper and the log are optional.
class EvidenceMaker {
public:
    EvidenceMaker(Seal& seal, TimeStamper* stamper, TrustLog* log, std::string issuer)
        : seal_(seal), stamper_(stamper), log_(log), issuer_(std::move(issuer)) {}

    [[nodiscard]] Result<EvidenceRecord> make(const EvidenceFacts& facts);
    [[nodiscard]] Seal& seal() noexcept { return seal_; }

private:
    Seal& seal_;
    TimeStamper* stamper_;
    TrustLog* log_;
    std::string issuer_;
};

}  // namespace selo::sepbox
