#pragma once
// The OCSP responder (RFC 6960, with the RFC 5019 profile for high-volume use): answers status
// requests for the certificates of every CA it serves, signed by a delegated responder
// certificate each CA issues for itself (or by the CA key). The signed answer to a plain
// (nonce-less, one-certificate) request is kept and handed out again until the status changes
// or half its validity has passed: precomputed() finds it by the request's encoding without
// reading the status, as long as the CA's status version (bumped with every status change, in
// any process) is the one it was made under; respond() reads the status itself. So a
// revocation by any process is visible at once.

#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "core/clock.hpp"
#include "core/rng.hpp"
#include "crypto/key_store.hpp"
#include "pki/certificate.hpp"
#include "pki/repository.hpp"

namespace selo::pki {

class CertificateAuthority;

struct OcspOptions {
    std::chrono::seconds validity{std::chrono::hours(24)};  // nextUpdate - thisUpdate
    // true: a delegated responder certificate per CA (RFC 6960 §4.2.2.2); false: the CA key
    // signs, where its keyUsage allows (a root without digitalSignature keeps a responder).
    bool delegated = true;
    std::chrono::seconds rotate_before{std::chrono::hours(24 * 30)};  // new responder when less is left
    crypto::KeyType responder_key = crypto::KeyType::ec_p256;
    std::size_t max_cached = 200'000;  // signed answers kept
    std::size_t max_cert_ids = 32;     // CertIDs one request may ask about
};

// A DER OCSPResponse and what HTTP caching needs to know about it.
struct OcspReply {
    std::shared_ptr<const Bytes> der;
    bool cacheable = false;  // a successful answer that any client may reuse (RFC 5019 §6)
    TimePoint this_update;
    TimePoint next_update;
    TimePoint produced_at;
    std::string etag;  // quoted, for cacheable replies
};

class OcspResponder {
public:
    OcspResponder(CertificateRepository& certificates, ResponderRepository& responders,
                  crypto::KeyStore& keys, const Clock& clock, Rng& rng, OcspOptions options);
    ~OcspResponder();

    // Answers for `ca`'s certificates. The CA must outlive the responder.
    Result<void> add(CertificateAuthority& ca);
    // Makes sure every CA has a current responder certificate (issuing and rotating them).
    Result<void> prepare();

    // Answers one DER OCSPRequest. Never fails: garbage gets malformedRequest, an issuer Selo
    // does not serve unauthorized, a storage failure tryLater (RFC 6960 §4.2.1).
    [[nodiscard]] OcspReply respond(ByteView request);

    // Where the CAs' status versions are read cheaply (null: from the certificate repository).
    // Set before serving; it must outlive the responder.
    void set_status_versions(StatusVersions* versions) noexcept { versions_ = versions; }
    // The answer respond() gave to exactly these request octets (plain requests only), while it
    // is current and its CA's status version has not moved; null otherwise (call respond()).
    // Signs nothing and reads no status: cheap enough for an I/O thread.
    [[nodiscard]] std::shared_ptr<const OcspReply> precomputed(ByteView request);

    [[nodiscard]] const OcspOptions& options() const noexcept { return options_; }

private:
    struct Served;
    struct Cached;
    struct Precomputed;
    Result<std::int64_t> status_version(const Served& ca);
    void remember(ByteView request, const Served& ca, std::optional<std::int64_t> version,
                  TimePoint refresh_at, const OcspReply& reply);
    Result<void> ensure_signer(Served& ca);
    OcspReply error_reply(int status) const;

    CertificateRepository& certificates_;
    ResponderRepository& responders_;
    crypto::KeyStore& keys_;
    const Clock& clock_;
    Rng& rng_;
    OcspOptions options_;
    std::vector<std::unique_ptr<Served>> cas_;
    std::mutex signer_mutex_;
    mutable std::shared_mutex cache_mutex_;
    std::unordered_map<std::string, std::shared_ptr<const Cached>> cache_;
    std::map<int, OcspReply> errors_;
    StatusVersions* versions_ = nullptr;
    mutable std::shared_mutex precomputed_mutex_;
    std::unordered_map<std::string, std::shared_ptr<const Precomputed>> precomputed_;
};

}  // namespace selo::pki
