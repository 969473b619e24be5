#pragma once
// The time-stamping authority (RFC 3161, RFC 5816): answers TimeStampReq DER with TimeStampResp
// DER, and time-stamps digests for in-process callers (CSC signatures/timestamp, postmarks, the
// transparency log's tree heads) through core's TimeStamper interface.
//
// Tokens are CMS SignedData (RFC 5652) over a TSTInfo, with the signed attributes contentType,
// messageDigest and signingCertificateV2 (RFC 5035 ESSCertIDv2, SHA-256, with issuerSerial).
// Everything that does not change per token is encoded once at construction, so a token costs
// one digest, one signature and a few copies, and any number of threads may call in at once
// without a lock. Every token's TSTInfo is appended to the transparency log (when one is given)
// before the token is returned.

#include <atomic>
#include <chrono>
#include <memory>
#include <mutex>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "core/bytes.hpp"
#include "core/clock.hpp"
#include "core/error.hpp"
#include "core/evidence.hpp"
#include "core/rng.hpp"
#include "crypto/digest.hpp"
#include "crypto/openssl.hpp"
#include "pki/certificate.hpp"

namespace selo::tsa {

// Selo's time-stamping policies, under its own OID arc (pki/profile.hpp).
inline constexpr std::string_view kPolicyTimeStamping = "2.25.213343623855697146825054647424244362817.2.1";
// Tree heads of the transparency log, stamped by the log's own unit (never by the public TSA).
inline constexpr std::string_view kPolicyLogTreeHead = "2.25.213343623855697146825054647424244362817.2.2";
// EPCM receipts (tsa/epcm.hpp), stamped by the TSA's unit in process, never for a request over
// RFC 3161: anyone can have any text time-stamped, but only Selo's postmark service has it
// stamped under this policy.
inline constexpr std::string_view kPolicyEpcmReceipt = "2.25.213343623855697146825054647424244362817.2.3";

// RFC 3161 §2.4.2 PKIFailureInfo bits.
enum class FailureInfo : unsigned {
    bad_alg = 0,
    bad_request = 2,
    bad_data_format = 5,
    time_not_available = 14,
    unaccepted_policy = 15,
    unaccepted_extension = 16,
    add_info_not_available = 17,
    system_failure = 25,
};

struct TsaOptions {
    // The policy of tokens issued when a request names none; requests naming another policy in
    // `accepted_policies` get that one, any other policy is unacceptedPolicy.
    std::string default_policy = std::string(kPolicyTimeStamping);
    std::vector<std::string> accepted_policies;  // besides default_policy
    // Policies only in-process callers may name (TimeStampRequest::policy), never an RFC 3161
    // request: one named there is refused with unacceptedPolicy like any policy not offered.
    std::vector<std::string> internal_policies;
    std::chrono::milliseconds accuracy{1000};    // 0: no accuracy field
    // Certificates sent with certReq: the TSA's, then these (its issuing CA).
    std::vector<pki::Certificate> chain;
    std::string log_type = "timestamp";  // type of the log entries for this unit's tokens
};

// The answer to an RFC 3161 request.
struct TimeStampReply {
    Bytes der;                        // TimeStampResp
    bool granted = false;
    std::optional<FailureInfo> failure;
    std::string status_text;          // why a request was refused
    // Nothing was issued and `der` is empty: the log's queue was full (QueueFull::busy). Not a
    // verdict on the request: the client may send it again shortly (HTTP 503, Retry-After).
    bool busy = false;
    // Refused (systemFailure) because the unit is withdrawn: logged once, at the withdrawal,
    // not per request.
    bool out_of_service = false;
};

// What respond_async does when the log's queue of appends is full (its disk is behind).
enum class QueueFull {
    wait,  // wait for room (back-pressure reaches the caller's thread)
    busy,  // answer at once with TimeStampReply::busy: for a caller that must not block
};

class TimeStampAuthority final : public TimeStamper {
public:
    // `key` signs (its certificate must be a TSA certificate for it); `log` may be null.
    static Result<TimeStampAuthority> create(pki::Certificate certificate, crypto::EvpPkeyPtr key,
                                             TsaOptions options, const Clock& clock, Rng& rng,
                                             TrustLog* log);

    TimeStampAuthority(TimeStampAuthority&&) noexcept = default;
    TimeStampAuthority& operator=(TimeStampAuthority&&) noexcept = default;

    // RFC 3161 §2.4: any input gets a TimeStampResp; malformed input and refused requests get
    // status rejection with the PKIFailureInfo bit that says why. Never fails.
    [[nodiscard]] TimeStampReply respond(ByteView request_der);
    // The same without waiting for the log: the token is signed on the calling thread, and
    // `done` gets the reply once its log entry is durable (from the log's writer thread, see
    // TrustLog::append_async), or systemFailure when the commit failed. Refusals, and every
    // reply when there is no log, are given before this returns. `request_der` is read only
    // during the call. `when_full`: see QueueFull.
    void respond_async(ByteView request_der, std::function<void(TimeStampReply)> done,
                       QueueFull when_full = QueueFull::wait);

    // TimeStamper: a TimeStampToken (ContentInfo DER) over a digest. Errors: invalid_argument
    // for an unsupported algorithm or a digest of the wrong length; what logging or signing
    // reports otherwise.
    Result<Bytes> time_stamp(const TimeStampRequest& request) override;
    // The same with a nonce (a big-endian magnitude, at most 64 octets) echoed in the token, as
    // CSC signatures/timestamp asks for.
    Result<Bytes> time_stamp(const TimeStampRequest& request, ByteView nonce);
    // The same without waiting on the calling thread: `done` gets the token once its log entry
    // is durable (on the log's writer thread, as for respond_async), or the error; refusals,
    // and every token when there is no log, are given before this returns.
    void time_stamp_async(const TimeStampRequest& request, ByteView nonce,
                          std::function<void(Result<Bytes>)> done);

    // Replaces the unit's certificate and key (renewal); tokens signed from then on carry the
    // new certificate's ESSCertIDv2. Safe while other threads are signing. invalid_argument
    // for a key that does not match or a certificate that is not for time-stamping.
    Result<void> use(pki::Certificate certificate, crypto::EvpPkeyPtr key);

    // Takes the unit out of service: until use() gives it another certificate and key, every
    // request is refused with systemFailure and every in-process caller gets `unavailable`
    // (for a certificate that was revoked or suspended: tokens under it would not validate,
    // and after a key compromise must not exist). `why` is for the server's log and callers'
    // errors; requests are told only that the unit is out of service.
    void withdraw(std::string why);
    // Why the unit is out of service, or nullopt while it signs.
    [[nodiscard]] std::optional<std::string> withdrawn() const;
    // Back in service with the certificate and key it had (a CA above it was suspended and is
    // in force again).
    void reinstate();

    // The certificate tokens are signed under now (or were, before a withdrawal).
    [[nodiscard]] pki::Certificate certificate() const;
    // The same without a copy (a certificate's copy is a full re-parse); it stays valid while held.
    [[nodiscard]] std::shared_ptr<const pki::Certificate> current_certificate() const;
    [[nodiscard]] const TsaOptions& options() const noexcept { return options_; }

private:
    // A signed token: `der` holds the TimeStampResp around it (for HTTP replies) or the token
    // alone (for in-process callers); the token and its TSTInfo are ranges of it.
    struct Issued {
        Bytes der;
        std::size_t token_offset = 0;
        std::size_t tst_info_offset = 0;
        std::size_t tst_info_size = 0;
        [[nodiscard]] ByteView tst_info() const noexcept {
            return ByteView(der).subspan(tst_info_offset, tst_info_size);
        }
    };
    // What depends on the unit's certificate and key: replaced as a whole on renewal, while
    // signing threads keep the one they loaded.
    struct Signer {
        std::uint64_t id = 0;  // unique per signer, for the per-thread signing contexts
        pki::Certificate certificate;
        crypto::EvpPkeyPtr key;
        crypto::DigestAlgorithm digest = crypto::DigestAlgorithm::sha256;
        Bytes certificates;         // [0] IMPLICIT CertificateSet
        Bytes signer_identifier;    // IssuerAndSerialNumber
        Bytes digest_algorithm;     // AlgorithmIdentifier of digest
        Bytes signature_algorithm;
        // The signed attributes as a DER SET OF (contentType, messageDigest,
        // signingCertificateV2, in the order X.690 §11.6 gives them), with the messageDigest
        // value left as zeros at `message_digest_offset`: a token copies it and fills that in.
        Bytes signed_attrs;
        std::size_t message_digest_offset = 0;
        std::size_t signature_size = 0;
    };
    // The signature over a digest with the unit's key, into `out` (signature_size octets);
    // returns its length.
    static Result<std::size_t> sign_with(const Signer& signer, ByteView digest, std::uint8_t* out);
    // What tokens are signed with now: the signer, or why the unit is out of service. One
    // atomic load per token gives both, so a token never pairs a replaced (revoked) key with a
    // withdrawal already lifted. Writers (use, withdraw, reinstate) are serialised.
    struct Serving {
        std::shared_ptr<const Signer> signer;
        std::optional<std::string> withdrawn;
    };
    struct SignerSlot {
        std::atomic<std::shared_ptr<const Serving>> current;
        std::mutex writer;
    };
    // Replaces what is served, with the writers' lock held.
    void serve(std::shared_ptr<const Signer> signer, std::optional<std::string> withdrawn);
    TimeStampAuthority() = default;
    static Result<std::shared_ptr<const Signer>> make_signer(pki::Certificate certificate,
                                                             crypto::EvpPkeyPtr key,
                                                             const std::vector<pki::Certificate>& chain);
    // An in-process request read: its MessageImprint DER, policy (DER OID) and nonce (an
    // INTEGER, or empty).
    struct InProcess {
        Bytes imprint;
        ByteView policy;
        Bytes nonce;
    };
    Result<InProcess> read_in_process(const TimeStampRequest& request, ByteView nonce) const;
    // Builds, signs and logs one token. `imprint_der` is the MessageImprint to copy,
    // `policy_der` one of the precomputed policy OIDs, `nonce_der` an INTEGER or empty.
    Result<Bytes> issue(ByteView imprint_der, ByteView policy_der, ByteView nonce_der,
                        bool with_certificates);
    // The same without logging; with `as_response`, wrapped in a granted TimeStampResp.
    Result<Issued> sign(ByteView imprint_der, ByteView policy_der, ByteView nonce_der,
                        bool with_certificates, bool as_response);
    // respond(); with `unlogged`, a grant is signed but not logged, returned there, and the
    // reply's der is left empty.
    TimeStampReply answer(ByteView request_der, Issued* unlogged);
    // answer() for what read_canonical_request did not take: OpenSSL's general decoder.
    TimeStampReply answer_decoded(ByteView request_der, Issued* unlogged);
    // Signs (and, without `unlogged`, logs) a request that passed every check.
    TimeStampReply grant(ByteView imprint_der, ByteView policy_der, ByteView nonce_der,
                         bool cert_req, Issued* unlogged);

    std::unique_ptr<SignerSlot> signer_;  // a pointer, so that the authority stays movable
    TsaOptions options_;
    const Clock* clock_ = nullptr;
    Rng* rng_ = nullptr;
    TrustLog* log_ = nullptr;
    // Precomputed encodings.
    std::vector<std::pair<std::string, Bytes>> policies_;  // dotted, DER OID; [0] is the default
    std::vector<std::pair<std::string, Bytes>> internal_policies_;  // in-process callers' only
    std::vector<ByteView> policy_ders_;  // views of policies_' encodings (moved with it)
    Bytes accuracy_;
    Bytes tst_info_oid_;
    Bytes signed_data_oid_;
};

// The PKIFailureInfo name used by RFC 3161 (e.g. "badAlg").
[[nodiscard]] std::string_view failure_name(FailureInfo f) noexcept;

}  // namespace selo::tsa
