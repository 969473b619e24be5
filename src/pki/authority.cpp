#include "pki/authority.hpp"

#include <arpa/inet.h>
#include <openssl/conf.h>
#include <openssl/core_names.h>
#include <openssl/objects.h>

#include <algorithm>
#include <cctype>
#include <condition_variable>
#include <deque>
#include <mutex>

#include "core/log.hpp"
#include "pki/lint.hpp"
#include "pki/qc_statements.hpp"

namespace selo::pki {
namespace {

using namespace selo::crypto;

const EVP_MD* ca_digest(EVP_PKEY* key) {
    // Match the hash to the key's strength (NIST SP 800-57): SHA-384 for P-384, else SHA-256.
    if (::EVP_PKEY_get_base_id(key) == EVP_PKEY_EC && ::EVP_PKEY_get_bits(key) >= 384) {
        return ::EVP_sha384();
    }
    return ::EVP_sha256();
}

Result<void> add_ext(X509* cert, CONF* conf, X509V3_CTX* ctx, int nid, const std::string& value) {
    X509ExtensionPtr ext(::X509V3_EXT_nconf_nid(conf, ctx, nid, value.c_str()));
    if (!ext) {
        return openssl_fail(fmt::format("building extension {} = {}", ::OBJ_nid2sn(nid), value));
    }
    if (::X509_add_ext(cert, ext.get(), -1) != 1) {
        return openssl_fail("adding extension");
    }
    return {};
}

// A positive serial of 16 octets from the CSPRNG: the top bit is cleared (positive) and the
// next one set, so the DER encoding is always exactly 16 octets with 126 random bits.
Asn1IntegerPtr random_serial(Rng& rng) {
    Bytes b = rng.bytes(16);
    b[0] = static_cast<std::uint8_t>((b[0] & 0x7f) | 0x40);
    BignumPtr bn(::BN_bin2bn(b.data(), static_cast<int>(b.size()), nullptr));
    return Asn1IntegerPtr(::BN_to_ASN1_INTEGER(bn.get(), nullptr));
}

// RFC 5280 §4.2.1.6: a dNSName is in the preferred name syntax (RFC 1034 §3.5, letters, digits
// and hyphens in labels of 1-63 octets, RFC 1123 §2.1 letting a label start with a digit), at
// most 253 octets; a wildcard only as the whole left-most label (RFC 6125 §6.4.3). Checked here
// also because the names are written into an OpenSSL configuration string, where a comma would
// start another entry of any type.
bool valid_dns_name(std::string_view name) {
    if (name.starts_with("*.")) {
        name.remove_prefix(2);
    }
    if (name.empty() || name.size() > 253) {
        return false;
    }
    std::size_t start = 0;
    while (true) {
        std::size_t dot = name.find('.', start);
        std::string_view label = name.substr(start, dot == std::string_view::npos ? name.npos : dot - start);
        if (label.empty() || label.size() > 63 || label.front() == '-' || label.back() == '-') {
            return false;
        }
        for (char c : label) {
            auto u = static_cast<unsigned char>(c);
            if (!(std::isalnum(u) != 0 && u < 0x80) && c != '-') {
                return false;
            }
        }
        if (dot == std::string_view::npos) {
            return true;
        }
        start = dot + 1;
    }
}

// An iPAddress entry: IPv4 dotted quad or IPv6 text, as inet_pton reads them.
bool valid_ip_address(const std::string& ip) {
    unsigned char buf[16];
    return ::inet_pton(AF_INET, ip.c_str(), buf) == 1 || ::inet_pton(AF_INET6, ip.c_str(), buf) == 1;
}

struct TbsInput {
    const CertificateProfile* profile;
    X509_NAME* subject;
    EVP_PKEY* public_key;
    const Certificate* issuer;  // null: self-signed
    TimePoint not_before;
    TimePoint not_after;
    std::string issuer_url;     // AIA caIssuers; empty: none
    std::string ocsp_url;       // AIA ocsp; empty: none
    std::string crl_url;        // CRL distribution point; empty: none
    std::vector<std::string> dns_names;
    std::vector<std::string> ip_addresses;
};

// The subjectPublicKeyInfo of an EC key, written into the certificate's X509_PUBKEY directly
// (RFC 5480 §2: id-ecPublicKey, the named curve, the encoded point). X509_set_pubkey gives the
// same octets, but OpenSSL 3.0 sets up an encoder and a decoder for it each time, which cost
// more than the CA's signature. false: not a named-curve EC key; use X509_set_pubkey.
bool set_ec_public_key(X509* cert, EVP_PKEY* key) {
    if (::EVP_PKEY_get_base_id(key) != EVP_PKEY_EC) {
        return false;
    }
    char group[80];
    std::size_t group_len = 0;
    if (::EVP_PKEY_get_utf8_string_param(key, OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof group, &group_len) != 1) {
        clear_errors();
        return false;
    }
    const int curve = ::OBJ_txt2nid(group);
    std::size_t point_len = 0;
    if (curve == NID_undef ||
        ::EVP_PKEY_get_octet_string_param(key, OSSL_PKEY_PARAM_ENCODED_PUBLIC_KEY, nullptr, 0, &point_len) != 1 ||
        point_len == 0) {
        clear_errors();
        return false;
    }
    auto* point = static_cast<unsigned char*>(::OPENSSL_malloc(point_len));
    if (point == nullptr ||
        ::EVP_PKEY_get_octet_string_param(key, OSSL_PKEY_PARAM_ENCODED_PUBLIC_KEY, point, point_len, &point_len) != 1 ||
        ::X509_PUBKEY_set0_param(::X509_get_X509_PUBKEY(cert), ::OBJ_nid2obj(NID_X9_62_id_ecPublicKey),
                                 V_ASN1_OBJECT, ::OBJ_nid2obj(curve), point, static_cast<int>(point_len)) != 1) {
        ::OPENSSL_free(point);
        clear_errors();
        return false;
    }
    return true;
}

Result<X509Ptr> build_certificate(const TbsInput& in, ASN1_INTEGER* serial) {
    X509Ptr cert(::X509_new());
    if (!cert || ::X509_set_version(cert.get(), X509_VERSION_3) != 1 ||
        ::X509_set_serialNumber(cert.get(), serial) != 1 ||
        ::X509_set_subject_name(cert.get(), in.subject) != 1 ||
        (!set_ec_public_key(cert.get(), in.public_key) && ::X509_set_pubkey(cert.get(), in.public_key) != 1)) {
        return openssl_fail("building certificate");
    }
    X509_NAME* issuer_name =
        in.issuer != nullptr ? ::X509_get_subject_name(in.issuer->x509()) : in.subject;
    if (::X509_set_issuer_name(cert.get(), issuer_name) != 1) {
        return openssl_fail("setting issuer");
    }
    // ASN1_TIME_set picks UTCTime through 2049 and GeneralizedTime from 2050 (RFC 5280 §4.1.2.5).
    Asn1TimePtr nb(::ASN1_TIME_set(nullptr, std::chrono::system_clock::to_time_t(in.not_before)));
    Asn1TimePtr na(::ASN1_TIME_set(nullptr, std::chrono::system_clock::to_time_t(in.not_after)));
    if (!nb || !na || ::X509_set1_notBefore(cert.get(), nb.get()) != 1 ||
        ::X509_set1_notAfter(cert.get(), na.get()) != 1) {
        return openssl_fail("setting validity");
    }
    X509V3_CTX ctx;
    ::X509V3_set_ctx(&ctx, in.issuer != nullptr ? in.issuer->x509() : cert.get(), cert.get(),
                     nullptr, nullptr, 0);
    // Extensions parsed by r2i methods (certificatePolicies) insist on a configuration
    // database even when they need no section from it: give them an empty one.
    std::unique_ptr<CONF, Free<&::NCONF_free>> conf(::NCONF_new(nullptr));
    ::X509V3_set_nconf(&ctx, conf.get());
    const CertificateProfile& p = *in.profile;
    std::string bc = p.ca ? (p.path_length ? fmt::format("critical,CA:TRUE,pathlen:{}", *p.path_length)
                                           : std::string("critical,CA:TRUE"))
                          : std::string("critical,CA:FALSE");
    SELO_TRY_VOID(add_ext(cert.get(), conf.get(), &ctx, NID_basic_constraints, bc));
    SELO_TRY_VOID(add_ext(cert.get(), conf.get(), &ctx, NID_key_usage, key_usage_text(p.key_usage)));
    if (!p.extended_key_usage.empty()) {
        std::string eku = p.extended_key_usage_critical ? "critical" : "";
        for (const auto& e : p.extended_key_usage) {
            eku += (eku.empty() ? "" : ",") + e;
        }
        SELO_TRY_VOID(add_ext(cert.get(), conf.get(), &ctx, NID_ext_key_usage, eku));
    }
    SELO_TRY_VOID(add_ext(cert.get(), conf.get(), &ctx, NID_subject_key_identifier, "hash"));
    SELO_TRY_VOID(add_ext(cert.get(), conf.get(), &ctx, NID_authority_key_identifier, "keyid:always"));
    if (!p.policies.empty()) {
        std::string list;
        for (const auto& oid : p.policies) {
            list += (list.empty() ? "" : ",") + oid;
        }
        SELO_TRY_VOID(add_ext(cert.get(), conf.get(), &ctx, NID_certificate_policies, list));
    }
    {
        std::string aia;
        if (p.aia_ocsp && !in.ocsp_url.empty()) {
            aia = "OCSP;URI:" + in.ocsp_url;
        }
        if (p.aia_ca_issuers && !in.issuer_url.empty()) {
            aia += (aia.empty() ? "" : ",") + ("caIssuers;URI:" + in.issuer_url);
        }
        if (!aia.empty()) {
            SELO_TRY_VOID(add_ext(cert.get(), conf.get(), &ctx, NID_info_access, aia));
        }
    }
    if (p.crl_distribution_point && !in.crl_url.empty()) {
        SELO_TRY_VOID(add_ext(cert.get(), conf.get(), &ctx, NID_crl_distribution_points,
                              "URI:" + in.crl_url));
    }
    if (p.qc.any()) {
        // ETSI EN 319 412-5: OpenSSL has no builder for qcStatements; the DER is Selo's own.
        Bytes qc = SELO_TRY(encode_qc_statements(p.qc));
        Asn1OctetStringPtr value(::ASN1_OCTET_STRING_new());
        if (!value || ::ASN1_OCTET_STRING_set(value.get(), qc.data(), static_cast<int>(qc.size())) != 1) {
            return openssl_fail("building qcStatements");
        }
        X509ExtensionPtr ext(::X509_EXTENSION_create_by_NID(nullptr, NID_qcStatements, 0, value.get()));
        if (!ext || ::X509_add_ext(cert.get(), ext.get(), -1) != 1) {
            return openssl_fail("adding qcStatements");
        }
    }
    if (p.ocsp_no_check) {
        // RFC 6960 §4.2.2.2.1: the extension's value is NULL; OpenSSL's syntax wants any word.
        SELO_TRY_VOID(add_ext(cert.get(), conf.get(), &ctx, NID_id_pkix_OCSP_noCheck, "ignored"));
    }
    if (!in.dns_names.empty() || !in.ip_addresses.empty()) {
        std::string san;
        for (const auto& d : in.dns_names) {
            san += (san.empty() ? "" : ",") + ("DNS:" + d);
        }
        for (const auto& ip : in.ip_addresses) {
            san += (san.empty() ? "" : ",") + ("IP:" + ip);
        }
        SELO_TRY_VOID(add_ext(cert.get(), conf.get(), &ctx, NID_subject_alt_name, san));
    } else if (p.subject_alt_names) {
        return fail(ErrorCode::invalid_argument, "profile {} needs at least one DNS name or IP address",
                    p.name);
    }
    return cert;
}

// The key that signs the lint copy: the same algorithm as the CA key, so the encoding the
// linter sees differs from the final one only in the signature value.
Result<EvpPkeyPtr> lint_key_like(EVP_PKEY* ca_key) {
    if (::EVP_PKEY_get_base_id(ca_key) == EVP_PKEY_EC) {
        return generate_key(::EVP_PKEY_get_bits(ca_key) >= 384 ? KeyType::ec_p384 : KeyType::ec_p256);
    }
    return generate_key(KeyType::rsa_2048);
}

Result<Certificate> lint_and_sign(X509* cert, EVP_PKEY* ca_key, const CertificateProfile& prof,
                                  const Certificate* issuer, EVP_PKEY* lint_key_in = nullptr) {
    // Sign with the throwaway key first; signing again with the CA key below replaces only the
    // signature, since both keys have the same algorithm and digest.
    EvpPkeyPtr made;
    if (lint_key_in == nullptr) {
        made = SELO_TRY(lint_key_like(ca_key));
        lint_key_in = made.get();
    }
    if (::X509_sign(cert, lint_key_in, ca_digest(ca_key)) <= 0) {
        return openssl_fail("signing lint copy");
    }
    auto parsed = SELO_TRY(Certificate::from_x509(cert));
    auto findings = lint_certificate(parsed, prof, issuer);
    if (!findings.empty()) {
        return fail(ErrorCode::invalid_argument, "certificate refused by lint: {}", describe(findings));
    }
    if (::X509_sign(cert, ca_key, ca_digest(ca_key)) <= 0) {
        return openssl_fail("signing certificate");
    }
    return Certificate::from_x509(cert);
}

TimePoint whole_seconds(TimePoint t) { return std::chrono::floor<std::chrono::seconds>(t); }

}  // namespace

// Issuances waiting for the durable commit that records them. Whoever finds no commit running
// takes everything queued so far into one transaction (one fsync for the lot, as the
// transparency log does for its appends); the others wait for it, and each caller hears of its
// certificate only once the commit that holds it has returned.
struct CertificateAuthority::GroupCommit {
    struct Pending {
        const CertificateRecord* record;
        std::optional<Result<void>> result;
    };
    std::mutex mutex;
    std::condition_variable done;
    std::deque<Pending*> queue;
    bool committing = false;
};

std::string ca_certificate_url(std::string_view public_url, std::string_view name) {
    std::string base(public_url);
    while (!base.empty() && base.back() == '/') {
        base.pop_back();
    }
    return fmt::format("{}/ca/{}.crt", base, name);
}

namespace {
// Whether the certificate (DER) is for time-stamping: id-kp-timeStamping among its purposes.
bool is_time_stamping(ByteView der) {
    auto cert = Certificate::from_der(der);
    if (!cert) {
        return false;
    }
    X509* x = cert->x509();
    return (::X509_get_extension_flags(x) & EXFLAG_XKUSAGE) != 0 && (::X509_get_extended_key_usage(x) & XKU_TIMESTAMP) != 0;
}

std::string trimmed(std::string_view url) {
    std::string base(url);
    while (!base.empty() && base.back() == '/') {
        base.pop_back();
    }
    return base;
}
}  // namespace

std::string ca_crl_url(std::string_view public_url, std::string_view name) {
    return fmt::format("{}/crl/{}.crl", trimmed(public_url), name);
}

std::string ocsp_responder_url(std::string_view public_url) {
    return trimmed(public_url) + "/ocsp";
}

std::string CertificateAuthority::crl_url() const { return ca_crl_url(ctx_.public_url, name_); }

std::string CertificateAuthority::ocsp_url() const { return ocsp_responder_url(ctx_.public_url); }

Result<CertificateAuthority> CertificateAuthority::load(const CaRecord& record, CaContext context,
                                                        std::vector<std::string> profiles) {
    auto cert = SELO_TRY(Certificate::from_der(record.certificate_der));
    for (const auto& p : profiles) {
        SELO_TRY(find_profile(p));
    }
    CertificateAuthority ca(record.name, record.key_id, std::move(cert), std::move(context),
                            std::move(profiles));
    auto key = SELO_TRY(ca.ctx_.keys.signing_key(ca.key_id_));
    auto lint_key = SELO_TRY(lint_key_like(key.get()));
    ca.ca_key_ = std::shared_ptr<EVP_PKEY>(key.release(), ::EVP_PKEY_free);
    ca.lint_key_ = std::shared_ptr<EVP_PKEY>(lint_key.release(), ::EVP_PKEY_free);
    ca.group_ = std::make_shared<GroupCommit>();
    return ca;
}

std::string CertificateAuthority::certificate_url() const {
    return ca_certificate_url(ctx_.public_url, name_);
}

Result<Certificate> CertificateAuthority::issue(const IssuanceRequest& request) {
    const CertificateProfile& prof = *SELO_TRY(find_profile(request.profile));
    if (std::find(profiles_.begin(), profiles_.end(), prof.name) == profiles_.end()) {
        return fail(ErrorCode::forbidden, "CA '{}' does not issue {} certificates", name_, prof.name);
    }
    return issue_with(prof, request);
}

Result<Certificate> CertificateAuthority::issue_responder(EVP_PKEY* public_key) {
    const CertificateProfile& prof = *SELO_TRY(find_profile(kProfileOcspResponder));
    // The CA's own subject attributes (C, O) and a CN naming what this is.
    DistinguishedName dn;
    X509_NAME* ca_name = ::X509_get_subject_name(certificate_.x509());
    std::string cn;
    for (int nid : {NID_countryName, NID_organizationName, NID_commonName}) {
        int idx = ::X509_NAME_get_index_by_NID(ca_name, nid, -1);
        if (idx < 0) {
            continue;
        }
        const ASN1_STRING* v = ::X509_NAME_ENTRY_get_data(::X509_NAME_get_entry(ca_name, idx));
        std::string text(reinterpret_cast<const char*>(::ASN1_STRING_get0_data(v)),
                         static_cast<std::size_t>(::ASN1_STRING_length(v)));
        if (nid == NID_commonName) {
            cn = text;
        } else {
            dn.add(nid, text);
        }
    }
    // "… Natural Persons CA" -> "… Natural Persons CA OCSP Responder", kept within 64 characters.
    std::string responder_cn = cn.size() + 15 <= 64 ? cn + " OCSP Responder" : "OCSP Responder " + name_;
    dn.add(NID_commonName, responder_cn);
    return issue_with(prof, {prof.name, dn, public_key, std::nullopt, {}, {}});
}

Result<Certificate> CertificateAuthority::issue_with(const CertificateProfile& prof,
                                                     const IssuanceRequest& request) {
    if (request.public_key == nullptr) {
        return fail(ErrorCode::invalid_argument, "issuance request has no public key");
    }
    for (const auto& d : request.dns_names) {
        if (!valid_dns_name(d)) {
            return fail(ErrorCode::invalid_argument,
                        "subjectAltName dNSName '{}' is not a host name (letters, digits and - in "
                        "dot-separated labels, optionally '*.' first; RFC 5280 §4.2.1.6)",
                        d);
        }
    }
    for (const auto& ip : request.ip_addresses) {
        if (!valid_ip_address(ip)) {
            return fail(ErrorCode::invalid_argument,
                        "subjectAltName iPAddress '{}' is not an IPv4 or IPv6 address", ip);
        }
    }
    auto subject = SELO_TRY(request.subject.to_x509_name());
    // Backdate slightly so that a relying party whose clock lags a little still accepts it.
    TimePoint now = whole_seconds(ctx_.clock.now());
    TimePoint not_before = now - std::chrono::minutes(5);
    TimePoint not_after = now + (request.validity ? *request.validity
                                                  : std::chrono::duration_cast<std::chrono::seconds>(prof.validity));
    if (not_after > certificate_.not_after()) {
        return fail(ErrorCode::conflict,
                    "CA '{}' expires before the requested validity ends; renew the CA first", name_);
    }
    // The issued certificate's status lives with this CA: its CRL and the OCSP responder.
    TbsInput in{&prof,          subject.get(),     request.public_key,
                &certificate_,  not_before,        not_after,
                certificate_url(), ocsp_url(),     crl_url(),
                request.dns_names, request.ip_addresses};
    // A repeated serial is refused by the repository (unique per issuer); draw again then.
    for (int attempt = 0; attempt < 4; ++attempt) {
        auto serial = random_serial(ctx_.rng);
        auto tbs = SELO_TRY(build_certificate(in, serial.get()));
        auto cert = SELO_TRY(lint_and_sign(tbs.get(), ca_key_.get(), prof, &certificate_, lint_key_.get()));
        CertificateRecord rec{name_,          cert.serial_hex(), cert.subject(),
                              prof.name,      cert.not_before(), cert.not_after(),
                              cert.der(),     ctx_.clock.now(),  "valid", std::nullopt,
                              std::nullopt};
        auto stored = record(rec);
        if (stored) {
            log::info("ca {}: issued {} serial {} to {}", name_, prof.name, rec.serial_hex,
                      rec.subject);
            return cert;
        }
        if (stored.error().code != ErrorCode::conflict) {
            return std::unexpected(stored.error().context("recording certificate"));
        }
    }
    return fail(ErrorCode::internal, "could not draw a unique serial number");
}

Result<void> CertificateAuthority::record(const CertificateRecord& rec) {
    // Inside the caller's transaction the record joins it, on the caller's thread: another
    // thread's commit must never carry it, nor its own commit carry another's.
    if (!group_ || !ctx_.transaction || !ctx_.in_transaction || ctx_.in_transaction()) {
        return ctx_.certificates.insert(rec);
    }
    GroupCommit& g = *group_;
    GroupCommit::Pending mine{&rec, std::nullopt};
    std::unique_lock lock(g.mutex);
    g.queue.push_back(&mine);
    while (!mine.result) {
        if (g.committing) {
            g.done.wait(lock);
            continue;
        }
        g.committing = true;
        std::vector<GroupCommit::Pending*> batch(g.queue.begin(), g.queue.end());
        g.queue.clear();
        lock.unlock();
        std::vector<Result<void>> results;
        auto all = ctx_.transaction([&]() -> Result<void> {
            for (auto* p : batch) {
                SELO_TRY_VOID(ctx_.certificates.insert(*p->record));
            }
            return {};
        });
        if (all || batch.size() == 1) {
            results.assign(batch.size(), all);
        } else {
            // One record's failure (a serial drawn twice) must not fail the others: each alone.
            for (auto* p : batch) {
                results.push_back(ctx_.transaction([&] { return ctx_.certificates.insert(*p->record); }));
            }
        }
        lock.lock();
        for (std::size_t i = 0; i < batch.size(); ++i) {
            batch[i]->result = std::move(results[i]);
        }
        g.committing = false;
        g.done.notify_all();
    }
    return std::move(*mine.result);
}

Result<CertificateRecord> CertificateAuthority::change_status(
    std::string_view serial_hex, std::string_view action,
    const std::function<Result<CertificateStatus>(const CertificateRecord&)>& next,
    const Actor& actor) {
    if (serial_hex.empty() || serial_hex.size() > 40 ||
        serial_hex.find_first_not_of("0123456789abcdef") != std::string_view::npos) {
        return fail(ErrorCode::invalid_argument,
                    "'{}' is not a serial number (lower-case hex, at most 20 octets)", serial_hex);
    }
    if (actor.id.empty()) {
        return fail(ErrorCode::invalid_argument, "a status change needs the officer who makes it");
    }
    std::optional<CertificateRecord> result;
    auto body = [&]() -> Result<void> {
        auto rec = SELO_TRY(ctx_.certificates.find(name_, serial_hex));
        if (!rec) {
            return fail(ErrorCode::not_found, "CA '{}' has issued no certificate with serial {}",
                        name_, serial_hex);
        }
        auto st = SELO_TRY(next(*rec));
        SELO_TRY_VOID(ctx_.certificates.update_status(name_, serial_hex, rec->status, st));
        std::string detail = fmt::format("{} -> {}", rec->status, st.status);
        if (st.revocation_reason && st.status == kStatusRevoked) {
            detail += fmt::format(
                ", reason {}", revocation_reason_name(static_cast<RevocationReason>(*st.revocation_reason)));
        }
        if (st.revoked_at) {
            detail += fmt::format(", effective {}", unix_seconds(*st.revoked_at));
        }
        if (!actor.reason.empty()) {
            detail += "; " + actor.reason;
        }
        if (ctx_.audit != nullptr) {
            SELO_TRY_VOID(ctx_.audit->record(
                {actor.id, std::string(action), fmt::format("{}/{}", name_, serial_hex), detail}));
        }
        rec->status = st.status;
        rec->revoked_at = st.revoked_at;
        rec->revocation_reason = st.revocation_reason;
        result = std::move(*rec);
        return {};
    };
    SELO_TRY_VOID(ctx_.transaction ? ctx_.transaction(body) : body());
    log::info("ca {}: {} {} by {}", name_, action, serial_hex, actor.id);
    return std::move(*result);
}

Result<CertificateRecord> CertificateAuthority::revoke(std::string_view serial_hex,
                                                       RevocationReason reason,
                                                       std::optional<TimePoint> when,
                                                       const Actor& actor) {
    if (reason == RevocationReason::certificate_hold) {
        return suspend(serial_hex, actor);
    }
    if (reason == RevocationReason::remove_from_crl) {
        return resume(serial_hex, actor);
    }
    const TimePoint now = whole_seconds(ctx_.clock.now());
    return change_status(
        serial_hex, "certificate.revoke",
        [&](const CertificateRecord& rec) -> Result<CertificateStatus> {
            if (rec.status == kStatusRevoked) {
                return fail(ErrorCode::conflict, "certificate {} is already revoked", serial_hex);
            }
            // RFC 3161 §4: the reason decides what becomes of the tokens the key signed, and
            // "unspecified" is published with no reason code at all (RFC 5280 §5.3.1), which
            // voids every one of them; an officer says so explicitly (keyCompromise) or not.
            if (reason == RevocationReason::unspecified && is_time_stamping(rec.der)) {
                return fail(ErrorCode::invalid_argument,
                            "certificate {} is for time-stamping: name the reason, which decides what becomes of "
                            "the tokens it signed (RFC 3161 §4): superseded, cessationOfOperation or "
                            "affiliationChanged leave those signed before the revocation valid, keyCompromise "
                            "voids them all",
                            serial_hex);
            }
            TimePoint effective = when ? whole_seconds(*when) : now;
            if (effective > now) {
                return fail(ErrorCode::invalid_argument,
                            "a revocation cannot take effect in the future");
            }
            if (effective < rec.not_before) {
                return fail(ErrorCode::invalid_argument,
                            "the revocation time is before the certificate was valid");
            }
            // A suspended certificate revoked for good keeps the time it was first put on hold
            // unless the officer names another.
            if (!when && rec.status == kStatusSuspended && rec.revoked_at) {
                effective = *rec.revoked_at;
            }
            return CertificateStatus{std::string(kStatusRevoked), effective,
                                     static_cast<int>(reason), rec.not_after};
        },
        actor);
}

Result<CertificateRecord> CertificateAuthority::suspend(std::string_view serial_hex,
                                                        const Actor& actor) {
    const TimePoint now = whole_seconds(ctx_.clock.now());
    return change_status(
        serial_hex, "certificate.suspend",
        [&](const CertificateRecord& rec) -> Result<CertificateStatus> {
            if (rec.status != kStatusValid) {
                return fail(ErrorCode::conflict, "certificate {} is {}, not valid", serial_hex,
                            rec.status);
            }
            if (rec.not_after <= now) {
                return fail(ErrorCode::conflict, "certificate {} has expired", serial_hex);
            }
            return CertificateStatus{std::string(kStatusSuspended), now,
                                     static_cast<int>(RevocationReason::certificate_hold),
                                     rec.not_after};
        },
        actor);
}

Result<CertificateRecord> CertificateAuthority::resume(std::string_view serial_hex,
                                                       const Actor& actor) {
    return change_status(
        serial_hex, "certificate.resume",
        [&](const CertificateRecord& rec) -> Result<CertificateStatus> {
            if (rec.status != kStatusSuspended) {
                return fail(ErrorCode::conflict, "certificate {} is {}, not suspended", serial_hex,
                            rec.status);
            }
            return CertificateStatus{std::string(kStatusValid), std::nullopt, std::nullopt,
                                     rec.not_after};
        },
        actor);
}

// The root keeps P-384 (it signs rarely and lives longest); the issuing CAs sign every
// certificate, CRL and (through their responders) OCSP answer, and use P-256 with SHA-256, which
// ETSI TS 119 312 equally recommends and OpenSSL signs about thirty times faster.
std::vector<AuthoritySpec> default_authorities(std::string_view organization) {
    std::string org(organization);
    return {
        {std::string(kRootCaName), "root", "", org + " Root CA", KeyType::ec_p384, {}},
        {std::string(kNaturalPersonsCaName), "issuing", std::string(kRootCaName),
         org + " Natural Persons CA", KeyType::ec_p256,
         {std::string(kProfileNaturalPersonSigning), std::string(kProfileNaturalPersonAuthentication)}},
        {std::string(kInstitutionsCaName), "issuing", std::string(kRootCaName),
         org + " Institutions CA", KeyType::ec_p256,
         {std::string(kProfileLegalPersonSeal), std::string(kProfileGovernmentEntitySigning)}},
        {std::string(kInfrastructureCaName), "issuing", std::string(kRootCaName),
         org + " Infrastructure CA", KeyType::ec_p256,
         {std::string(kProfileOcspResponder), std::string(kProfileTsa), std::string(kProfileTlsServer)}},
    };
}

namespace {

Result<Certificate> create_root(const HierarchySpec& spec, const AuthoritySpec& a,
                                crypto::KeyStore& keys, const std::string& key_id,
                                const Clock& clock, Rng& rng) {
    TimePoint now = whole_seconds(clock.now());
    SELO_TRY(keys.generate(key_id, a.key));
    auto key = SELO_TRY(keys.signing_key(key_id));
    DistinguishedName dn;
    dn.add(NID_countryName, spec.country)
        .add(NID_organizationName, spec.organization)
        .add(NID_commonName, a.common_name);
    auto name = SELO_TRY(dn.to_x509_name());
    const CertificateProfile& prof = *SELO_TRY(find_profile(kProfileRootCa));
    TbsInput in{&prof, name.get(), key.get(), nullptr, now - std::chrono::minutes(5),
                now + prof.validity, "", "", "", {}, {}};
    auto serial = random_serial(rng);
    auto tbs = SELO_TRY(build_certificate(in, serial.get()));
    return lint_and_sign(tbs.get(), key.get(), prof, nullptr);
}

}  // namespace

Result<void> ensure_hierarchy(const HierarchySpec& spec, crypto::KeyStore& keys, CaRepository& cas,
                              CertificateRepository& certificates, const Clock& clock, Rng& rng) {
    for (const auto& a : spec.authorities) {
        if (SELO_TRY(cas.find(a.name))) {
            continue;
        }
        const std::string key_id = fmt::format("ca/{}/1", a.name);
        if (a.role == "root") {
            // Self-signed, linted against the root profile like any other certificate.
            auto cert = SELO_TRY(create_root(spec, a, keys, key_id, clock, rng));
            const CertificateProfile& prof = *SELO_TRY(find_profile(kProfileRootCa));
            SELO_TRY_VOID(certificates.insert({a.name, cert.serial_hex(), cert.subject(), prof.name,
                                               cert.not_before(), cert.not_after(), cert.der(),
                                               clock.now(), "valid", std::nullopt, std::nullopt}));
            SELO_TRY_VOID(cas.insert({a.name, "root", std::nullopt, key_id, cert.der(), clock.now()}));
            log::info("ca {}: created root {}", a.name, cert.subject());
            continue;
        }
        if (a.role != "issuing") {
            return fail(ErrorCode::invalid_argument, "CA '{}' has role '{}' (root or issuing)", a.name, a.role);
        }
        auto parent = SELO_TRY(cas.find(a.parent));
        if (!parent) {
            return fail(ErrorCode::invalid_argument,
                        "CA '{}' names parent '{}', which is not created before it", a.name, a.parent);
        }
        // Certified by its parent through the ordinary issue() path.
        auto parent_ca = SELO_TRY(CertificateAuthority::load(
            *parent, CaContext{keys, certificates, clock, rng, spec.public_url},
            {std::string(kProfileIssuingCa)}));
        auto info = SELO_TRY(keys.generate(key_id, a.key));
        auto pub = SELO_TRY(public_key_from_der(info.public_key_der));
        DistinguishedName dn;
        dn.add(NID_countryName, spec.country)
            .add(NID_organizationName, spec.organization)
            .add(NID_commonName, a.common_name);
        auto cert = SELO_TRY(parent_ca.issue({std::string(kProfileIssuingCa), dn, pub.get(), std::nullopt, {}, {}}));
        SELO_TRY_VOID(cas.insert({a.name, "issuing", a.parent, key_id, cert.der(), clock.now()}));
        log::info("ca {}: created, certified by {}", a.name, a.parent);
    }
    return {};
}

}  // namespace selo::pki
