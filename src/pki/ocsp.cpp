#include "pki/ocsp.hpp"

#include <openssl/ocsp.h>
#include <openssl/x509v3.h>

#include "core/log.hpp"
#include "crypto/digest.hpp"
#include "crypto/keys.hpp"
#include "pki/authority.hpp"
#include "pki/lint.hpp"
#include "pki/revocation.hpp"

namespace selo::pki {
namespace {

using namespace selo::crypto;
using OcspRequestPtr = std::unique_ptr<OCSP_REQUEST, Free<&::OCSP_REQUEST_free>>;
using OcspBasicRespPtr = std::unique_ptr<OCSP_BASICRESP, Free<&::OCSP_BASICRESP_free>>;
using OcspResponsePtr = std::unique_ptr<OCSP_RESPONSE, Free<&::OCSP_RESPONSE_free>>;
using GeneralizedTimePtr = std::unique_ptr<ASN1_GENERALIZEDTIME, Free<&::ASN1_GENERALIZEDTIME_free>>;

// RFC 8954 §2.1: a nonce is 1 to 32 octets.
constexpr int kMaxNonce = 32;
constexpr std::size_t kMaxRequestBytes = 16 * 1024;

Bytes response_der(OCSP_RESPONSE* resp) {
    unsigned char* out = nullptr;
    int len = ::i2d_OCSP_RESPONSE(resp, &out);
    if (len <= 0) {
        return {};
    }
    Bytes der(out, out + len);
    ::OPENSSL_free(out);
    return der;
}

const EVP_MD* signing_digest(EVP_PKEY* key) {
    if (::EVP_PKEY_get_base_id(key) == EVP_PKEY_EC && ::EVP_PKEY_get_bits(key) >= 384) {
        return ::EVP_sha384();
    }
    return ::EVP_sha256();
}

Bytes octets(const ASN1_STRING* s) {
    const unsigned char* d = ::ASN1_STRING_get0_data(s);
    return Bytes(d, d + ::ASN1_STRING_length(s));
}

// The serial of a CertID as the repository spells it (lower-case hex magnitude); empty for a
// negative one, which no certificate of Selo's has.
std::string serial_of(const ASN1_INTEGER* serial) {
    if (::ASN1_STRING_type(serial) == V_ASN1_NEG_INTEGER) {
        return {};
    }
    BignumPtr bn(::ASN1_INTEGER_to_BN(serial, nullptr));
    if (!bn) {
        return {};
    }
    Bytes mag(static_cast<std::size_t>(BN_num_bytes(bn.get())));
    ::BN_bn2bin(bn.get(), mag.data());
    return mag.empty() ? std::string("00") : hex_encode(mag);
}

TimePoint whole(TimePoint t) { return std::chrono::floor<std::chrono::seconds>(t); }

GeneralizedTimePtr gtime(TimePoint t) {
    return GeneralizedTimePtr(
        ::ASN1_GENERALIZEDTIME_set(nullptr, std::chrono::system_clock::to_time_t(t)));
}

}  // namespace

struct OcspResponder::Served {
    struct Hashes {
        int digest_nid;
        Bytes name_hash;
        Bytes key_hash;
    };
    struct Signer {
        Certificate certificate;
        EvpPkeyPtr key;
        bool is_ca = false;
    };
    CertificateAuthority* ca = nullptr;
    std::string name;
    Certificate certificate;
    std::vector<Hashes> hashes;
    std::shared_ptr<const Signer> signer;  // guarded by signer_mutex_
};

struct OcspResponder::Cached {
    CertificateStatus status;
    TimePoint refresh_at;
    OcspReply reply;
};

struct OcspResponder::Precomputed {
    const Served* ca;
    std::int64_t status_version;  // the CA's, read before the status the answer gives
    TimePoint refresh_at;
    std::shared_ptr<const OcspReply> reply;
};

Result<std::int64_t> OcspResponder::status_version(const Served& ca) {
    return versions_ != nullptr ? versions_->version(ca.name) : certificates_.status_version(ca.name);
}

std::shared_ptr<const OcspReply> OcspResponder::precomputed(ByteView in) {
    if (in.empty() || in.size() > kMaxRequestBytes) {
        return nullptr;
    }
    std::shared_ptr<const Precomputed> entry;
    {
        std::shared_lock lock(precomputed_mutex_);
        auto it = precomputed_.find(std::string(reinterpret_cast<const char*>(in.data()), in.size()));
        if (it == precomputed_.end()) {
            return nullptr;
        }
        entry = it->second;
    }
    const TimePoint now = clock_.now();
    if (now >= entry->refresh_at || now < entry->reply->this_update) {
        return nullptr;
    }
    auto version = status_version(*entry->ca);
    if (!version || *version != entry->status_version) {
        return nullptr;
    }
    return entry->reply;
}

OcspResponder::OcspResponder(CertificateRepository& certificates, ResponderRepository& responders,
                             crypto::KeyStore& keys, const Clock& clock, Rng& rng,
                             OcspOptions options)
    : certificates_(certificates), responders_(responders), keys_(keys), clock_(clock), rng_(rng),
      options_(options) {
    // RFC 6960 §4.2.1: error responses carry no responseBytes and no signature.
    for (int status : {OCSP_RESPONSE_STATUS_MALFORMEDREQUEST, OCSP_RESPONSE_STATUS_INTERNALERROR,
                       OCSP_RESPONSE_STATUS_TRYLATER, OCSP_RESPONSE_STATUS_UNAUTHORIZED}) {
        OcspResponsePtr resp(::OCSP_response_create(status, nullptr));
        OcspReply r;
        r.der = std::make_shared<const Bytes>(resp ? response_der(resp.get()) : Bytes{});
        errors_[status] = std::move(r);
    }
}

OcspResponder::~OcspResponder() = default;

OcspReply OcspResponder::error_reply(int status) const { return errors_.at(status); }

Result<void> OcspResponder::add(CertificateAuthority& ca) {
    auto served = std::make_unique<Served>(Served{&ca, ca.name(), ca.certificate(), {}, nullptr});
    X509* x = served->certificate.x509();
    const unsigned char* name_der = nullptr;
    std::size_t name_len = 0;
    if (::X509_NAME_get0_der(::X509_get_subject_name(x), &name_der, &name_len) != 1) {
        return openssl_fail("reading CA name");
    }
    // RFC 6960 §4.1.1: issuerNameHash over the DER of the issuer's name, issuerKeyHash over the
    // value of its subjectPublicKey BIT STRING, with the CertID's own hash algorithm.
    const ASN1_BIT_STRING* key_bits = ::X509_get0_pubkey_bitstr(x);
    for (auto alg : {DigestAlgorithm::sha1, DigestAlgorithm::sha256, DigestAlgorithm::sha384,
                     DigestAlgorithm::sha512}) {
        served->hashes.push_back({::EVP_MD_get_type(evp_md(alg)),
                                  digest(alg, ByteView(name_der, name_len)),
                                  digest(alg, ByteView(::ASN1_STRING_get0_data(key_bits),
                                                       static_cast<std::size_t>(::ASN1_STRING_length(key_bits))))});
    }
    cas_.push_back(std::move(served));
    return {};
}

Result<void> OcspResponder::prepare() {
    for (auto& ca : cas_) {
        SELO_TRY_VOID(ensure_signer(*ca));
    }
    return {};
}

Result<void> OcspResponder::ensure_signer(Served& ca) {
    std::lock_guard lock(signer_mutex_);
    const TimePoint now = clock_.now();
    if (ca.signer && (ca.signer->is_ca || ca.signer->certificate.not_after() - now > options_.rotate_before)) {
        return {};
    }
    if (!options_.delegated && (::X509_get_key_usage(ca.certificate.x509()) & KU_DIGITAL_SIGNATURE) != 0) {
        auto key = SELO_TRY(keys_.signing_key(ca.ca->key_id()));
        ca.signer = std::make_shared<const Served::Signer>(Served::Signer{ca.certificate, std::move(key), true});
        return {};
    }
    // The newest responder certificate, when it is still valid long enough (another process may
    // have issued it).
    if (auto rec = SELO_TRY(responders_.latest(ca.name))) {
        auto cert_rec = SELO_TRY(certificates_.find(ca.name, rec->serial_hex));
        if (cert_rec && cert_rec->status == kStatusValid &&
            cert_rec->not_after - now > options_.rotate_before) {
            auto cert = SELO_TRY(Certificate::from_der(cert_rec->der));
            auto key = SELO_TRY(keys_.signing_key(rec->key_id));
            ca.signer = std::make_shared<const Served::Signer>(Served::Signer{std::move(cert), std::move(key), false});
            return {};
        }
    }
    // A new responder: key in the key store, certificate from the CA itself.
    const std::string key_id = fmt::format("ocsp/{}/{}", ca.name, hex_encode(rng_.bytes(8)));
    std::optional<Certificate> issued;
    auto create = [&]() -> Result<void> {
        auto info = SELO_TRY(keys_.generate(key_id, options_.responder_key));
        auto pub = SELO_TRY(public_key_from_der(info.public_key_der));
        issued = SELO_TRY(ca.ca->issue_responder(pub.get()));
        return responders_.insert({ca.name, issued->serial_hex(), key_id, now});
    };
    const auto& tx = ca.ca->context().transaction;
    SELO_TRY_VOID(tx ? tx(create) : create());
    auto key = SELO_TRY(keys_.signing_key(key_id));
    log::info("ca {}: new OCSP responder certificate {}, valid until {}", ca.name,
              issued->serial_hex(), format_utc(issued->not_after()));
    ca.signer = std::make_shared<const Served::Signer>(Served::Signer{std::move(*issued), std::move(key), false});
    return {};
}

OcspReply OcspResponder::respond(ByteView in) {
    if (in.empty() || in.size() > kMaxRequestBytes) {
        return error_reply(OCSP_RESPONSE_STATUS_MALFORMEDREQUEST);
    }
    const unsigned char* p = in.data();
    OcspRequestPtr req(::d2i_OCSP_REQUEST(nullptr, &p, static_cast<long>(in.size())));
    if (!req || p != in.data() + in.size()) {
        clear_errors();
        return error_reply(OCSP_RESPONSE_STATUS_MALFORMEDREQUEST);
    }
    const int count = ::OCSP_request_onereq_count(req.get());
    if (count <= 0 || static_cast<std::size_t>(count) > options_.max_cert_ids) {
        return error_reply(OCSP_RESPONSE_STATUS_MALFORMEDREQUEST);
    }
    const int nonce_at = ::OCSP_REQUEST_get_ext_by_NID(req.get(), NID_id_pkix_OCSP_Nonce, -1);
    const bool has_nonce = nonce_at >= 0;
    if (has_nonce) {
        if (::OCSP_REQUEST_get_ext_by_NID(req.get(), NID_id_pkix_OCSP_Nonce, nonce_at) >= 0) {
            return error_reply(OCSP_RESPONSE_STATUS_MALFORMEDREQUEST);
        }
        // RFC 6960 §4.4.1: the extnValue holds the nonce as a DER OCTET STRING; some clients
        // send the bare octets, which count as the nonce itself.
        const ASN1_OCTET_STRING* v = ::X509_EXTENSION_get_data(::OCSP_REQUEST_get_ext(req.get(), nonce_at));
        const unsigned char* q = ::ASN1_STRING_get0_data(v);
        const int vlen = ::ASN1_STRING_length(v);
        Asn1OctetStringPtr inner(::d2i_ASN1_OCTET_STRING(nullptr, &q, vlen));
        const int len = inner && q == ::ASN1_STRING_get0_data(v) + vlen ? ::ASN1_STRING_length(inner.get()) : vlen;
        clear_errors();
        if (len <= 0 || len > kMaxNonce) {
            return error_reply(OCSP_RESPONSE_STATUS_MALFORMEDREQUEST);
        }
    }

    // Every CertID must name a CA served here, and one CA: one signer answers for it.
    Served* ca = nullptr;
    std::vector<OCSP_CERTID*> ids;
    std::vector<std::string> serials;
    for (int i = 0; i < count; ++i) {
        OCSP_CERTID* cid = ::OCSP_onereq_get0_id(::OCSP_request_onereq_get0(req.get(), i));
        ASN1_OCTET_STRING* name_hash = nullptr;
        ASN1_OCTET_STRING* key_hash = nullptr;
        ASN1_OBJECT* md = nullptr;
        ASN1_INTEGER* serial = nullptr;
        if (cid == nullptr || ::OCSP_id_get0_info(&name_hash, &md, &key_hash, &serial, cid) != 1) {
            return error_reply(OCSP_RESPONSE_STATUS_MALFORMEDREQUEST);
        }
        const int nid = ::OBJ_obj2nid(md);
        Bytes nh = octets(name_hash);
        Bytes kh = octets(key_hash);
        Served* match = nullptr;
        for (auto& c : cas_) {
            for (const auto& h : c->hashes) {
                if (h.digest_nid == nid && h.name_hash == nh && h.key_hash == kh) {
                    match = c.get();
                }
            }
        }
        if (match == nullptr || (ca != nullptr && ca != match)) {
            return error_reply(OCSP_RESPONSE_STATUS_UNAUTHORIZED);
        }
        ca = match;
        ids.push_back(cid);
        serials.push_back(serial_of(serial));
    }

    // A plain request's answer is kept for precomputed(), under the CA's status version read
    // before the status: a change committed in between makes the version newer than the entry.
    std::optional<std::int64_t> version_before;
    if (count == 1 && !has_nonce) {
        if (auto v = status_version(*ca)) {
            version_before = *v;
        }
    }
    std::vector<std::optional<CertificateStatus>> statuses;
    for (const auto& s : serials) {
        if (s.empty()) {
            statuses.emplace_back();
            continue;
        }
        auto st = certificates_.status(ca->name, s);
        if (!st) {
            log::error("ocsp: reading status of {}/{}: {}", ca->name, s, st.error().message);
            return error_reply(OCSP_RESPONSE_STATUS_TRYLATER);
        }
        statuses.push_back(*st);
    }

    const TimePoint now = whole(clock_.now());
    // RFC 5019 §2.1.1: a request for one certificate without a nonce gets a pre-signed answer.
    std::string cache_key;
    const bool reusable = count == 1 && !has_nonce && statuses[0].has_value();
    if (reusable) {
        unsigned char* out = nullptr;
        int len = ::i2d_OCSP_CERTID(ids[0], &out);
        if (len > 0) {
            cache_key.assign(reinterpret_cast<char*>(out), static_cast<std::size_t>(len));
        }
        ::OPENSSL_free(out);
        std::shared_ptr<const Cached> hit;
        {
            std::shared_lock lock(cache_mutex_);
            auto it = cache_.find(cache_key);
            if (it != cache_.end() && it->second->status == *statuses[0] && now < it->second->refresh_at &&
                now >= it->second->reply.this_update) {
                hit = it->second;
            }
        }
        if (hit) {
            remember(in, *ca, version_before, hit->refresh_at, hit->reply);
            return hit->reply;
        }
    }

    if (auto r = ensure_signer(*ca); !r) {
        log::error("ocsp: no signer for CA {}: {}", ca->name, r.error().message);
        return error_reply(OCSP_RESPONSE_STATUS_TRYLATER);
    }
    std::shared_ptr<const Served::Signer> signer;
    {
        std::lock_guard lock(signer_mutex_);
        signer = ca->signer;
    }

    const TimePoint next = now + options_.validity;
    OcspBasicRespPtr bs(::OCSP_BASICRESP_new());
    auto this_update = gtime(now);
    auto next_update = gtime(next);
    if (!bs || !this_update || !next_update) {
        return error_reply(OCSP_RESPONSE_STATUS_INTERNALERROR);
    }
    for (std::size_t i = 0; i < ids.size(); ++i) {
        int status = V_OCSP_CERTSTATUS_UNKNOWN;  // never issued: unknown, never good
        int reason = OCSP_REVOKED_STATUS_NOSTATUS;
        GeneralizedTimePtr revoked_at;
        if (statuses[i]) {
            const auto& st = *statuses[i];
            if (st.status == kStatusValid) {
                status = V_OCSP_CERTSTATUS_GOOD;
            } else {
                // Suspended: revoked with reason certificateHold (RFC 6960 §2.2).
                status = V_OCSP_CERTSTATUS_REVOKED;
                revoked_at = gtime(st.revoked_at.value_or(now));
                int r = st.revocation_reason.value_or(0);
                reason = r == static_cast<int>(RevocationReason::unspecified) ? OCSP_REVOKED_STATUS_NOSTATUS : r;
            }
        }
        if (::OCSP_basic_add1_status(bs.get(), ids[i], status, reason, revoked_at.get(),
                                     this_update.get(), next_update.get()) == nullptr) {
            log::error("ocsp: {}", openssl_error(ErrorCode::internal, "adding status").message);
            return error_reply(OCSP_RESPONSE_STATUS_INTERNALERROR);
        }
    }
    if (has_nonce && ::OCSP_copy_nonce(bs.get(), req.get()) != 1) {
        return error_reply(OCSP_RESPONSE_STATUS_INTERNALERROR);
    }
    // producedAt from the injected clock: OCSP_NOTIME keeps OpenSSL from reading the system's.
    auto* produced = const_cast<ASN1_GENERALIZEDTIME*>(::OCSP_resp_get0_produced_at(bs.get()));
    if (produced == nullptr ||
        ::ASN1_GENERALIZEDTIME_set(produced, std::chrono::system_clock::to_time_t(now)) == nullptr) {
        return error_reply(OCSP_RESPONSE_STATUS_INTERNALERROR);
    }
    // Lint, then sign once.
    auto findings = lint_ocsp_response(bs.get(), signer->certificate, ca->certificate, now);
    if (!findings.empty()) {
        log::error("ocsp: response refused by lint: {}", describe(findings));
        return error_reply(OCSP_RESPONSE_STATUS_INTERNALERROR);
    }
    EvpMdCtxPtr mctx(::EVP_MD_CTX_new());
    // RFC 5019 §2.2.3 and §4: ResponderID byKey; the delegated certificate goes along so that
    // the client can check it, the CA's own certificate the client has already.
    unsigned long flags = OCSP_NOTIME | OCSP_RESPID_KEY | (signer->is_ca ? OCSP_NOCERTS : 0);
    if (!mctx ||
        ::EVP_DigestSignInit(mctx.get(), nullptr, signing_digest(signer->key.get()), nullptr,
                             signer->key.get()) != 1 ||
        ::OCSP_basic_sign_ctx(bs.get(), signer->certificate.x509(), mctx.get(), nullptr, flags) != 1) {
        log::error("ocsp: {}", openssl_error(ErrorCode::internal, "signing response").message);
        return error_reply(OCSP_RESPONSE_STATUS_INTERNALERROR);
    }
    OcspResponsePtr resp(::OCSP_response_create(OCSP_RESPONSE_STATUS_SUCCESSFUL, bs.get()));
    if (!resp) {
        return error_reply(OCSP_RESPONSE_STATUS_INTERNALERROR);
    }
    OcspReply reply;
    reply.der = std::make_shared<const Bytes>(response_der(resp.get()));
    reply.this_update = now;
    reply.next_update = next;
    reply.produced_at = now;
    reply.cacheable = !has_nonce;
    if (reply.cacheable) {
        reply.etag = "\"" + hex_encode(sha256(*reply.der)).substr(0, 32) + "\"";
    }
    if (reusable && !cache_key.empty()) {
        auto entry = std::make_shared<const Cached>(Cached{*statuses[0], now + options_.validity / 2, reply});
        std::unique_lock lock(cache_mutex_);
        if (cache_.size() >= options_.max_cached) {
            cache_.clear();
        }
        cache_[cache_key] = std::move(entry);
        lock.unlock();
        remember(in, *ca, version_before, now + options_.validity / 2, reply);
    }
    return reply;
}

void OcspResponder::remember(ByteView request, const Served& ca, std::optional<std::int64_t> version,
                             TimePoint refresh_at, const OcspReply& reply) {
    if (!version) {
        return;
    }
    auto entry = std::make_shared<const Precomputed>(
        Precomputed{&ca, *version, refresh_at, std::make_shared<const OcspReply>(reply)});
    std::unique_lock lock(precomputed_mutex_);
    if (precomputed_.size() >= options_.max_cached) {
        precomputed_.clear();
    }
    precomputed_.insert_or_assign(std::string(reinterpret_cast<const char*>(request.data()), request.size()),
                                  std::move(entry));
}

}  // namespace selo::pki
