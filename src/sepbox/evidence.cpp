#include "sepbox/evidence.hpp"

#include <map>

#include <fmt/format.h>

#include "core/log.hpp"
#include "crypto/digest.hpp"
#include "crypto/keys.hpp"
#include "pki/profile.hpp"

namespace selo::sepbox {
namespace {

void json_string(std::string& out, std::string_view s) {
    out += '"';
    for (char c : s) {
        auto u = static_cast<unsigned char>(c);
        if (c == '"' || c == '\\') {
            out += '\\';
            out += c;
        } else if (u < 0x20) {
            out += fmt::format("\\u{:04x}", u);
        } else {
            out += c;
        }
    }
    out += '"';
}

// A minimal JSON value for the canonical writer: strings, integers, arrays and objects whose
// members std::map keeps sorted by byte order.
struct Value {
    enum class Kind { string, integer, array, object } kind = Kind::string;
    std::string s;
    std::int64_t i = 0;
    std::vector<Value> a;
    std::map<std::string, Value> o;

    static Value str(std::string v) { return Value{Kind::string, std::move(v), 0, {}, {}}; }
    static Value num(std::int64_t v) { return Value{Kind::integer, {}, v, {}, {}}; }
    static Value arr() { return Value{Kind::array, {}, 0, {}, {}}; }
    static Value obj() { return Value{Kind::object, {}, 0, {}, {}}; }
};

void write(std::string& out, const Value& v) {
    switch (v.kind) {
        case Value::Kind::string: json_string(out, v.s); break;
        case Value::Kind::integer: out += std::to_string(v.i); break;
        case Value::Kind::array: {
            out += '[';
            for (std::size_t k = 0; k < v.a.size(); ++k) {
                if (k > 0) {
                    out += ',';
                }
                write(out, v.a[k]);
            }
            out += ']';
            break;
        }
        case Value::Kind::object: {
            out += '{';
            bool first = true;
            for (const auto& [name, member] : v.o) {
                if (!first) {
                    out += ',';
                }
                first = false;
                json_string(out, name);
                out += ':';
                write(out, member);
            }
            out += '}';
            break;
        }
    }
}

}  // namespace

std::string canonical_evidence(const EvidenceFacts& f, std::string_view issuer) {
    Value doc = Value::obj();
    doc.o["version"] = Value::num(1);
    doc.o["type"] = Value::str("selo-sepbox-evidence");
    doc.o["issuer"] = Value::str(std::string(issuer));
    doc.o["event"] = Value::str(std::string(event_name(f.event)));
    doc.o["evidence_id"] = Value::str(f.evidence_id);
    doc.o["message_id"] = Value::str(f.message_id);
    doc.o["time"] = Value::str(format_time(f.at));
    Value sender = Value::obj();
    sender.o["account_id"] = Value::str(f.sender_id);
    sender.o["name"] = Value::str(f.sender_name);
    doc.o["sender"] = std::move(sender);
    Value recipient = Value::obj();
    recipient.o["account_id"] = Value::str(f.recipient_id);
    if (!f.delegate_id.empty()) {
        // A member who acted for the recipient institution (ETSI EN 319 522-1 recipient's delegate).
        Value delegate = Value::obj();
        delegate.o["account_id"] = Value::str(f.delegate_id);
        delegate.o["name"] = Value::str(f.delegate_name);
        recipient.o["delegate"] = std::move(delegate);
    }
    doc.o["recipient"] = std::move(recipient);
    doc.o["category"] = Value::str(std::string(category_name(f.category)));
    if (!f.sender_reference.empty()) {
        doc.o["sender_reference"] = Value::str(f.sender_reference);
    }
    if (f.reply_by) {
        doc.o["reply_by"] = Value::str(format_time(*f.reply_by));
    }
    if (!f.reason.empty()) {
        doc.o["reason"] = Value::str(f.reason);
    }
    Value parts = Value::arr();
    for (const auto& p : f.parts) {
        Value part = Value::obj();
        part.o["name"] = Value::str(p.name);
        part.o["size"] = Value::num(static_cast<std::int64_t>(p.size));
        part.o["sha256"] = Value::str(hex_encode(p.sha256));
        parts.a.push_back(std::move(part));
    }
    doc.o["parts"] = std::move(parts);
    std::string out;
    write(out, doc);
    return out;
}

// ---- the seal ---------------------------------------------------------------------------------

Seal::Seal(crypto::KeyStore& keys, pki::CertificateAuthority& issuer,
           std::vector<pki::Certificate> issuer_chain, SepboxRepository& repo, const Clock& clock,
           Rng& rng, SealOptions options)
    : keys_(keys), issuer_(issuer), chain_(std::move(issuer_chain)), repo_(repo), clock_(clock),
      rng_(rng), options_(std::move(options)) {}

Result<void> Seal::ensure_current() {
    std::lock_guard lock(mutex_);
    return ensure_locked();
}

Result<void> Seal::ensure_locked() {
    const TimePoint now = clock_.now();
    auto fresh = [&](const pki::Certificate& c) {
        return c.not_before() <= now && c.not_after() - options_.renew_before > now;
    };
    if (current_ && fresh(current_->certificate)) {
        return {};
    }
    // Another process may have renewed it already.
    if (auto stored = SELO_TRY(repo_.latest_seal())) {
        auto cert = SELO_TRY(pki::Certificate::from_der(stored->certificate_der));
        if (fresh(cert)) {
            auto key = SELO_TRY(keys_.signing_key(stored->key_id));
            current_ = Current{std::move(cert), std::move(key)};
            return {};
        }
    }
    // Key, certificate and seal record commit together: a failure leaves no half-made seal.
    std::optional<pki::Certificate> issued;
    std::string key_id = fmt::format("sepbox/seal/{}-{}", unix_seconds(now), hex_encode(rng_.bytes(4)));
    SELO_TRY_VOID(repo_.transaction([&]() -> Result<void> {
        auto info = SELO_TRY(keys_.generate(key_id, crypto::KeyType::ec_p256));
        auto public_key = SELO_TRY(crypto::public_key_from_der(info.public_key_der));
        pki::DistinguishedName dn;
        dn.add(NID_countryName, options_.country)
            .add(NID_organizationName, options_.organization)
            .add(NID_commonName, options_.common_name);
        pki::IssuanceRequest req{std::string(pki::kProfileLegalPersonSeal), dn, public_key.get(), {}, {}, {}};
        auto cert = SELO_TRY(issuer_.issue(req));
        SELO_TRY_VOID(repo_.insert_seal({key_id, cert.der(), cert.not_before(), cert.not_after(), now}));
        issued = std::move(cert);
        return {};
    }));
    log::info("SEPBox seal issued: certificate {} from CA {}, valid until {}", issued->serial_hex(),
              issuer_.name(), format_time(issued->not_after()));
    auto key = SELO_TRY(keys_.signing_key(key_id));
    current_ = Current{std::move(*issued), std::move(key)};
    return {};
}

Result<pki::Certificate> Seal::certificate() {
    std::lock_guard lock(mutex_);
    SELO_TRY_VOID(ensure_locked());
    return current_->certificate;
}

Result<Bytes> Seal::sign(ByteView content) {
    // Take references under the lock, sign outside it: signing threads do not queue up.
    std::optional<pki::Certificate> cert;
    crypto::EvpPkeyPtr key;
    {
        std::lock_guard lock(mutex_);
        SELO_TRY_VOID(ensure_locked());
        cert = current_->certificate;
        if (::EVP_PKEY_up_ref(current_->key.get()) != 1) {
            return crypto::openssl_fail("referencing the seal key");
        }
        key.reset(current_->key.get());
    }
    crypto::clear_errors();
    crypto::X509StackPtr certs(sk_X509_new_null());
    if (!certs) {
        return crypto::openssl_fail("allocating a certificate stack");
    }
    for (const auto& c : chain_) {
        if (sk_X509_push(certs.get(), ::X509_dup(c.x509())) <= 0) {
            return crypto::openssl_fail("adding the issuer chain");
        }
    }
    crypto::BioPtr in(::BIO_new_mem_buf(content.data(), static_cast<int>(content.size())));
    if (!in) {
        return crypto::openssl_fail("wrapping the evidence");
    }
    // RFC 5652 §5: encapsulated id-data content, signed attributes (content type, message digest,
    // signing time), the seal certificate and its issuers in `certificates`.
    crypto::CmsContentInfoPtr cms(
        ::CMS_sign(cert->x509(), key.get(), certs.get(), in.get(), CMS_BINARY | CMS_NOSMIMECAP));
    if (!cms) {
        return crypto::openssl_fail("signing the evidence");
    }
    int n = ::i2d_CMS_ContentInfo(cms.get(), nullptr);
    if (n <= 0) {
        return crypto::openssl_fail("encoding the evidence signature");
    }
    Bytes der(static_cast<std::size_t>(n));
    unsigned char* p = der.data();
    ::i2d_CMS_ContentInfo(cms.get(), &p);
    return der;
}

// ---- evidence ---------------------------------------------------------------------------------

Result<EvidenceRecord> EvidenceMaker::make(const EvidenceFacts& facts) {
    EvidenceRecord r;
    r.id = facts.evidence_id;
    r.message_id = facts.message_id;
    r.sender_id = facts.sender_id;
    r.recipient_id = facts.recipient_id;
    r.event = facts.event;
    r.at = facts.at;
    r.canonical = to_bytes(canonical_evidence(facts, issuer_));
    r.cms = SELO_TRY(seal_.sign(r.canonical));
    if (stamper_ != nullptr) {
        TimeStampRequest req{std::string(crypto::digest_oid(crypto::DigestAlgorithm::sha256)),
                             crypto::sha256(r.cms), true};
        auto token = stamper_->time_stamp(req);
        if (!token) {
            return std::unexpected(token.error().context("time-stamping the evidence"));
        }
        r.timestamp_token = std::move(*token);
    }
    if (log_ != nullptr) {
        auto receipt = log_->append("delivery-evidence", r.cms);
        if (!receipt) {
            return std::unexpected(receipt.error().context("logging the evidence"));
        }
        r.log_index = receipt->index;
    }
    return r;
}

}  // namespace selo::sepbox
