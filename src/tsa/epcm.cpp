#include "tsa/epcm.hpp"

#include <openssl/cms.h>
#include <openssl/pkcs7.h>
#include <openssl/x509_vfy.h>

#include <algorithm>
#include <ctime>
#include <functional>

#include "core/log.hpp"
#include "crypto/keys.hpp"
#include "crypto/openssl.hpp"
#include "pki/certificate.hpp"
#include "pki/revocation.hpp"
#include "tsa/authority.hpp"
#include "tsa/der.hpp"

namespace selo::tsa {
namespace {

std::string rfc3339(TimePoint t) {
    std::string g = der::generalized_time_text(t);  // YYYYMMDDHHMMSS[.fff]Z
    std::string out = fmt::format("{}-{}-{}T{}:{}:{}", g.substr(0, 4), g.substr(4, 2), g.substr(6, 2),
                                  g.substr(8, 2), g.substr(10, 2), g.substr(12, 2));
    return out + g.substr(14);
}

std::string one_line(std::string_view s) {
    std::string out;
    for (char c : s) {
        out += (c == '\n' || c == '\r') ? ' ' : c;
    }
    return out;
}

// The algorithm a receipt's "digest: ALG:hex" line names (see receipt_text).
std::optional<crypto::DigestAlgorithm> receipt_algorithm(std::string_view text) {
    constexpr std::string_view kDigest = "\ndigest: ";
    auto at = text.find(kDigest);
    if (at == std::string_view::npos) {
        return std::nullopt;
    }
    std::string_view rest = text.substr(at + kDigest.size());
    std::string_view name = rest.substr(0, rest.find(':'));
    for (auto alg : {crypto::DigestAlgorithm::sha1, crypto::DigestAlgorithm::sha256, crypto::DigestAlgorithm::sha384,
                     crypto::DigestAlgorithm::sha512}) {
        if (name == crypto::digest_name(alg)) {
            return alg;
        }
    }
    return std::nullopt;
}

// A chain problem as it was found, its store error (if any) written to the server's log only:
// what a postmark or a check answers is public.
std::optional<ChainProblem> logged(std::optional<ChainProblem> problem) {
    if (problem && !problem->store_error.empty()) {
        log::error("epcm: {}: {}", problem->why, problem->store_error);
    }
    return problem;
}

}  // namespace

std::string receipt_text(const EpcmEvent& e, TimePoint stated_time) {
    // One "name: value" per line, fixed order, LF endings: readable, and hashed as it is.
    std::string out = "Selo EPCM receipt v1\n";
    out += "id: " + e.id + "\n";
    out += "transaction: " + e.transaction_id + "\n";
    out += fmt::format("sequence: {}\n", e.sequence);
    out += "event: " + one_line(e.event) + "\n";
    out += "submitter: " + one_line(e.submitter) + "\n";
    out += fmt::format("digest: {}:{}\n", crypto::digest_name(e.algorithm), hex_encode(e.digest));
    out += "signature: " + e.validation.status +
           (e.validation.detail.empty() ? "" : " (" + one_line(e.validation.detail) + ")") + "\n";
    if (!e.details.empty()) {
        out += "details: " + one_line(e.details) + "\n";
    }
    out += "time: " + rfc3339(stated_time) + "\n";
    return out;
}


SignatureValidation validate_cms_signature(ByteView cms_der, crypto::DigestAlgorithm algorithm,
                                           ByteView digest, const TrustAnchors& anchors,
                                           const CertificateStatusLookup& status, TimePoint at) {
    auto invalid = [](std::string why) { return SignatureValidation{"invalid", std::move(why)}; };
    const unsigned char* p = cms_der.data();
    crypto::CmsContentInfoPtr cms(::d2i_CMS_ContentInfo(nullptr, &p, static_cast<long>(cms_der.size())));
    if (!cms || p != cms_der.data() + cms_der.size()) {
        crypto::clear_errors();
        return invalid("not a DER CMS SignedData");
    }
    STACK_OF(CMS_SignerInfo)* signers = ::CMS_get0_SignerInfos(cms.get());
    if (signers == nullptr || sk_CMS_SignerInfo_num(signers) != 1) {
        crypto::clear_errors();
        return invalid("exactly one signer is expected");
    }
    CMS_SignerInfo* si = sk_CMS_SignerInfo_value(signers, 0);
    // The signer's certificate from the certificates the CMS carries.
    crypto::X509StackPtr certs(::CMS_get1_certs(cms.get()));
    X509* signer = nullptr;
    for (int i = 0; certs && i < sk_X509_num(certs.get()); ++i) {
        if (::CMS_SignerInfo_cert_cmp(si, sk_X509_value(certs.get(), i)) == 0) {
            signer = sk_X509_value(certs.get(), i);
        }
    }
    if (signer == nullptr) {
        crypto::clear_errors();
        return invalid("the signer's certificate is not included");
    }
    // RFC 5652 §11.2: the messageDigest attribute must be the document's digest.
    int idx = ::CMS_signed_get_attr_by_NID(si, NID_pkcs9_messageDigest, -1);
    ASN1_TYPE* md = idx >= 0 ? ::X509_ATTRIBUTE_get0_type(::CMS_signed_get_attr(si, idx), 0) : nullptr;
    if (md == nullptr || md->type != V_ASN1_OCTET_STRING) {
        crypto::clear_errors();
        return invalid("the signature has no messageDigest attribute");
    }
    X509_ALGOR* dig_alg = nullptr;
    ::CMS_SignerInfo_get0_algs(si, nullptr, nullptr, &dig_alg, nullptr);
    const ASN1_OBJECT* dig_oid = nullptr;
    ::X509_ALGOR_get0(&dig_oid, nullptr, nullptr, dig_alg);
    if (crypto::oid_text(dig_oid) != crypto::digest_oid(algorithm)) {
        // Not a verdict on the signature: it cannot be checked against a digest in another
        // algorithm than its own.
        const auto own = crypto::digest_from_oid(crypto::oid_text(dig_oid));
        if (!own || *own == crypto::DigestAlgorithm::sha1) {
            return {"unusable", fmt::format("the signature's digest algorithm {} is not accepted (SHA-256, SHA-384, "
                                            "SHA-512): sign the document with one of those",
                                            own ? crypto::digest_name(*own) : crypto::oid_text(dig_oid))};
        }
        return {"unusable", fmt::format("the signature is over the document's {} digest, the postmark gives its {}; "
                                        "postmark the {} digest with \"digest_algorithm\" to have it checked",
                                        crypto::digest_name(*own), crypto::digest_name(algorithm),
                                        crypto::digest_name(*own))};
    }
    const ASN1_OCTET_STRING* value = md->value.octet_string;
    if (static_cast<std::size_t>(::ASN1_STRING_length(value)) != digest.size() ||
        !std::equal(digest.begin(), digest.end(), ::ASN1_STRING_get0_data(value))) {
        return invalid("the signature is over another document (messageDigest differs)");
    }
    ::CMS_SignerInfo_set1_signer_cert(si, signer);
    if (::CMS_SignerInfo_verify(si) != 1) {
        crypto::clear_errors();
        return invalid("the signature value does not verify with the signer's key");
    }
    std::string who = pki::name_to_string(::X509_get_subject_name(signer));
    auto path = validated_chain(signer, certs.get(), anchors, at);
    if (!path) {
        if (path.error().code != ErrorCode::invalid_argument) {
            return invalid("cannot build a verification context");
        }
        return invalid(fmt::format("signed by {}, whose certificate does not chain to a trusted root: {}", who,
                                   path.error().message));
    }
    if (auto problem = logged(path_problem(path->chain(), status, at, ChainUse::signature))) {
        std::string why = fmt::format("signed by {}; {}", who, problem->why);
        if (problem->indeterminate) {
            return {"indeterminate", std::move(why)};
        }
        return invalid(std::move(why));
    }
    return {"valid", "signed by " + who};
}


Result<EpcmEvent> PostmarkService::seal(EpcmEvent e, std::string_view log_type) {
    std::uint8_t id[16];
    rng_.fill(id);
    e.id = hex_encode(ByteView(id, sizeof id));
    if (e.transaction_id.empty()) {
        e.transaction_id = e.id;
    }
    std::string text = receipt_text(e, clock_.now());
    e.receipt.assign(text.begin(), text.end());
    e.token = SELO_TRY(stamper_.time_stamp({std::string(crypto::digest_oid(crypto::DigestAlgorithm::sha256)),
                                            crypto::sha256(e.receipt), true, std::string(kPolicyEpcmReceipt)}));
    e.time = SELO_TRY(read_token(e.token)).gen_time;
    // The token checked as a verifier will check it: a receipt stamped under a certificate
    // revoked a moment ago (before the TSA noticed) would be born unable to prove its time.
    // Nothing is logged or stored; the client sends the postmark again.
    if (auto problem = logged(token_problem(e.token, anchors_, status_, e.time, ChainUse::token_issued))) {
        return fail(ErrorCode::unavailable, "the receipt could not be time-stamped under a certificate in force ({}); "
                    "send it again shortly", problem->indeterminate ? "its status could not be read" : problem->why);
    }
    if (log_ != nullptr) {
        // The receipt text names everything the event is about. Logged first: should storing
        // the event fail, the log holds a receipt nobody was given, never the reverse.
        SELO_TRY(log_->append(log_type, e.receipt));
    }
    SELO_TRY_VOID(repo_.insert(e));
    return e;
}

Result<EpcmEvent> PostmarkService::postmark(std::string_view submitter, crypto::DigestAlgorithm algorithm,
                                            Bytes digest, std::optional<Bytes> signature) {
    if (algorithm == crypto::DigestAlgorithm::sha1) {
        return fail(ErrorCode::invalid_argument, "SHA-1 digests are not accepted (SHA-256, SHA-384, SHA-512)");
    }
    if (digest.size() != crypto::digest_size(algorithm)) {
        return fail(ErrorCode::invalid_argument, "a {} digest is {} bytes, not {}", crypto::digest_name(algorithm),
                    crypto::digest_size(algorithm), digest.size());
    }
    EpcmEvent e;
    e.event = "postmark";
    e.submitter = std::string(submitter);
    e.algorithm = algorithm;
    e.digest = std::move(digest);
    if (signature) {
        e.validation = validate_cms_signature(*signature, algorithm, e.digest, anchors_, status_,
                                              clock_.now());
        // A receipt is permanent evidence: it must not call a signature invalid because the
        // certificate records could not be read just now. Nothing is sealed; the client retries.
        if (e.validation.status == "indeterminate") {
            return fail(ErrorCode::unavailable, "{}: no receipt was made; send the postmark again shortly",
                        e.validation.detail);
        }
        // Nor call a sound signature invalid because it is over another digest of the document.
        if (e.validation.status == "unusable") {
            return fail(ErrorCode::invalid_argument, "{}", e.validation.detail);
        }
    }
    return seal(std::move(e), "postmark");
}

Result<EpcmEvent> PostmarkService::log_event(std::string_view transaction_id, std::string_view submitter,
                                             std::string_view event, std::string_view details) {
    if (event.empty() || event.size() > 64 ||
        event.find_first_not_of("abcdefghijklmnopqrstuvwxyz0123456789-_") != std::string_view::npos) {
        return fail(ErrorCode::invalid_argument, "event must be 1-64 of [a-z0-9-_], e.g. \"delivered\"");
    }
    if (event == "postmark") {
        return fail(ErrorCode::invalid_argument, "a transaction has one postmark, its first event");
    }
    if (details.size() > 4096) {
        return fail(ErrorCode::invalid_argument, "details are limited to 4096 bytes");
    }
    // Held through seal: the sequence number taken here is the one stored (see the member).
    std::lock_guard lock(
        transaction_locks_[std::hash<std::string_view>{}(transaction_id) % transaction_locks_.size()]);
    auto events = SELO_TRY(this->events(transaction_id));
    if (events.empty()) {
        return fail(ErrorCode::not_found, "no postmark transaction {}", transaction_id);
    }
    EpcmEvent e;
    e.transaction_id = std::string(transaction_id);
    e.sequence = events.back().sequence + 1;
    e.event = std::string(event);
    e.submitter = std::string(submitter);
    e.algorithm = events.front().algorithm;
    e.digest = events.front().digest;  // the event is about the postmarked document
    e.details = std::string(details);
    const std::uint32_t sequence = e.sequence;
    auto sealed = seal(std::move(e), "epcm-event");
    if (!sealed && sealed.error().code == ErrorCode::conflict) {
        // Only another process writing the same store gets here (this one is serialised above).
        return fail(ErrorCode::conflict,
                    "another event took sequence number {} of transaction {} at the same time; send the event again",
                    sequence, transaction_id);
    }
    return sealed;
}

Result<IntegrityResult> PostmarkService::check_receipt(ByteView receipt, ByteView token,
                                                       const std::optional<DocumentDigest>& document) {
    std::string_view text(reinterpret_cast<const char*>(receipt.data()), receipt.size());
    // Without an algorithm the digest is taken to be in the receipt's own (a SHA-384 receipt is
    // checked with a SHA-384 digest), not a fixed default that would make it "differ".
    std::optional<crypto::DigestAlgorithm> algorithm;
    if (document) {
        const auto own = receipt_algorithm(text);
        if (document->algorithm && own && *document->algorithm != *own) {
            // The right document hashed another way is not "a different document".
            return fail(ErrorCode::invalid_argument,
                        "the receipt is of a {} digest; the digest given is {}: hash the document with {}",
                        crypto::digest_name(*own), crypto::digest_name(*document->algorithm),
                        crypto::digest_name(*own));
        }
        algorithm = document->algorithm ? document->algorithm : own;
        if (algorithm && document->digest.size() != crypto::digest_size(*algorithm)) {
            return fail(ErrorCode::invalid_argument, "a {} digest is {} bytes, not {}", crypto::digest_name(*algorithm),
                        crypto::digest_size(*algorithm), document->digest.size());
        }
    }
    IntegrityResult out;
    auto info = verify_token(token, crypto::DigestAlgorithm::sha256, crypto::sha256(receipt), anchors_);
    if (!info) {
        // Not genuine: the document was never compared with it.
        out.reason = "the receipt's time-stamp does not verify: " + info.error().message;
        return out;
    }
    // The public TSA stamps any text anyone sends; only the postmark service has a receipt
    // stamped under the receipts' own policy.
    if (info->policy != kPolicyEpcmReceipt) {
        out.reason = fmt::format("the time-stamp is not an EPCM receipt's: it is under policy {}, not {} (any text "
                                 "can be time-stamped at the public TSA)",
                                 info->policy, kPolicyEpcmReceipt);
        return out;
    }
    // And by Selo's own unit: another time-stamping certificate from Selo's CA does not make
    // Selo's receipts.
    auto signer = token_signer(token);
    if (!signer) {
        out.reason = "the receipt's time-stamp: " + signer.error().message;
        return out;
    }
    const auto ours = SELO_TRY(signers_ ? signers_()
                                        : Result<std::vector<Bytes>>(fail(ErrorCode::internal, "no receipt signers")));
    if (std::find(ours.begin(), ours.end(), signer->der()) == ours.end()) {
        out.reason = fmt::format("the receipt's time-stamp is signed by {} (serial {}), which is not Selo's "
                                 "time-stamping unit",
                                 signer->subject(), signer->serial_hex());
        return out;
    }
    // A token that verifies proves its time only while Selo's records let its unit's
    // certificate do so: not after a key compromise, nor for a time after a revocation.
    if (auto problem = logged(token_problem(token, anchors_, status_, info->gen_time, ChainUse::token_checked))) {
        if (problem->indeterminate) {
            return fail(ErrorCode::unavailable, "the receipt cannot be checked just now: {}", problem->why);
        }
        out.reason = "the receipt's time-stamp cannot be trusted: " + problem->why;
        return out;
    }
    if (document) {
        if (!algorithm) {
            out.reason = "the receipt names no document digest (it is not an EPCM receipt)";
            return out;
        }
        out.document_checked = true;
        std::string expected =
            fmt::format("\ndigest: {}:{}\n", crypto::digest_name(*algorithm), hex_encode(document->digest));
        if (text.find(expected) == std::string_view::npos) {
            out.reason = "the document does not match the receipt (its digest differs)";
            return out;
        }
    }
    out.valid = true;
    out.proven_time = info->gen_time;
    return out;
}

Result<EpcmEvent> PostmarkService::checked(EpcmEvent e) {
    // The receipt's last line states the time the service took; every line before it is made
    // from the stored fields.
    auto without_time = [](std::string_view text) {
        const auto at = text.rfind("\ntime: ");
        return at == std::string_view::npos ? text : text.substr(0, at);
    };
    const std::string expected = receipt_text(e, e.time);
    const auto info = read_token(e.token);
    if (without_time(expected) != without_time(as_chars(e.receipt)) || !info ||
        std::chrono::floor<std::chrono::milliseconds>(info->gen_time) !=
            std::chrono::floor<std::chrono::milliseconds>(e.time) ||
        info->digest != crypto::sha256(e.receipt)) {
        return fail(ErrorCode::internal,
                    "postmark event {} (transaction {}, sequence {}) does not match its signed receipt: its stored "
                    "record was altered",
                    e.id, e.transaction_id, e.sequence);
    }
    return e;
}

Result<std::vector<EpcmEvent>> PostmarkService::events(std::string_view transaction_id) {
    auto stored = SELO_TRY(repo_.transaction(transaction_id));
    std::vector<EpcmEvent> out;
    out.reserve(stored.size());
    for (auto& e : stored) {
        // Numbered from 0 without a gap: a missing event was deleted from the store (its receipt
        // is still in the transparency log).
        if (e.sequence != out.size()) {
            return fail(ErrorCode::internal, "transaction {} has no event {} (the next stored is {}): its stored "
                        "record was altered",
                        transaction_id, out.size(), e.sequence);
        }
        out.push_back(SELO_TRY(checked(std::move(e))));
    }
    return out;
}

Result<std::optional<EpcmEvent>> PostmarkService::find(std::string_view id) {
    auto stored = SELO_TRY(repo_.find(id));
    if (!stored) {
        return std::optional<EpcmEvent>{};
    }
    return std::optional<EpcmEvent>(SELO_TRY(checked(std::move(*stored))));
}

Result<IntegrityResult> PostmarkService::check_integrity(std::string_view receipt_id,
                                                         std::optional<DocumentDigest> document) {
    auto stored = SELO_TRY(repo_.find(receipt_id));
    if (!stored) {
        return fail(ErrorCode::not_found, "no receipt {}", receipt_id);
    }
    // The verdict is on the receipt as Selo holds it: a record that no longer says what its
    // signed receipt says is not checked as if it did.
    auto e = checked(std::move(*stored));
    if (!e) {
        log::error("epcm: {}", e.error().message);
        IntegrityResult altered;
        altered.reason = fmt::format("the stored record of receipt {} was altered: it does not match its signed "
                                     "receipt",
                                     receipt_id);
        return altered;
    }
    auto out = SELO_TRY(check_receipt(e->receipt, e->token, document));
    out.event = std::move(*e);
    return out;
}

}  // namespace selo::tsa
