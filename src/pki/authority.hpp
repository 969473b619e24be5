#pragma once
// A certification authority: builds a certificate from a profile, lints it, signs it once with
// the CA key from the key store, and records it durably before anyone hears of it.

#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "core/audit.hpp"

#include "core/clock.hpp"
#include "core/rng.hpp"
#include "crypto/key_store.hpp"
#include "pki/certificate.hpp"
#include "pki/name.hpp"
#include "pki/profile.hpp"
#include "pki/repository.hpp"
#include "pki/revocation.hpp"

namespace selo::pki {

struct IssuanceRequest {
    std::string profile;             // a profile name, e.g. "natural-person-signing"
    DistinguishedName subject;
    EVP_PKEY* public_key = nullptr;  // the subject's key (only its public part is used)
    std::optional<std::chrono::seconds> validity;  // overrides the profile's validity
    std::vector<std::string> dns_names;            // subjectAltName dNSName entries
    std::vector<std::string> ip_addresses;         // subjectAltName iPAddress entries
};

struct CaContext {
    crypto::KeyStore& keys;
    CertificateRepository& certificates;
    const Clock& clock;
    Rng& rng;
    std::string public_url;  // base URL named by AIA caIssuers, e.g. "http://127.0.0.1:8080"
    // Status changes are recorded here (who, when, why); null: not recorded (unit tests).
    AuditTrail* audit = nullptr;
    // Runs `fn` as one durable transaction (the status change and its audit record commit
    // together); empty: fn runs as it is.
    std::function<Result<void>(const std::function<Result<void>()>&)> transaction;
    // True when the calling thread is inside a transaction of that database. Given (with
    // `transaction`), concurrent issuances outside any transaction share one durable commit;
    // empty: every certificate is recorded on its own.
    std::function<bool()> in_transaction;
};

// Who asks for a life-cycle change, and why: it goes into the audit trail.
struct Actor {
    std::string id;      // an account id, or "cli:<user>"
    std::string reason;  // free text for the audit record
};

class CertificateAuthority {
public:
    // `profiles`: the names of the profiles this CA may issue (from the hierarchy's config).
    static Result<CertificateAuthority> load(const CaRecord& record, CaContext context,
                                             std::vector<std::string> profiles);

    // Issues, lints and records a certificate. Fails (with every finding named) instead of
    // signing anything that breaks the profile.
    [[nodiscard]] Result<Certificate> issue(const IssuanceRequest& request);

    // A delegated OCSP responder certificate for `public_key` (profile ocsp-responder): issued by
    // every CA for itself, whatever profiles it lists (RFC 6960 §4.2.2.2 wants the responder
    // certificate issued by the CA whose certificates it answers for).
    [[nodiscard]] Result<Certificate> issue_responder(EVP_PKEY* public_key);

    // Revokes a certificate of this CA with an RFC 5280 reason, effective at `when` (default:
    // now; not in the future, not before the certificate's notBefore). A suspended certificate
    // may be revoked; a revoked one stays revoked (conflict). certificateHold is suspend();
    // removeFromCRL is resume().
    [[nodiscard]] Result<CertificateRecord> revoke(std::string_view serial_hex, RevocationReason reason,
                                                   std::optional<TimePoint> when, const Actor& actor);
    // Suspends a valid certificate (certificateHold).
    [[nodiscard]] Result<CertificateRecord> suspend(std::string_view serial_hex, const Actor& actor);
    // Lifts a suspension: the certificate is valid again (and leaves the next CRL).
    [[nodiscard]] Result<CertificateRecord> resume(std::string_view serial_hex, const Actor& actor);

    [[nodiscard]] const std::string& name() const noexcept { return name_; }
    [[nodiscard]] const std::string& key_id() const noexcept { return key_id_; }
    [[nodiscard]] const std::vector<std::string>& profiles() const noexcept { return profiles_; }
    [[nodiscard]] const Certificate& certificate() const noexcept { return certificate_; }
    // URL where this CA's certificate is published: <public_url>/ca/<name>.crt
    [[nodiscard]] std::string certificate_url() const;
    // This CA's CRL: <public_url>/crl/<name>.crl
    [[nodiscard]] std::string crl_url() const;
    // The OCSP responder: <public_url>/ocsp
    [[nodiscard]] std::string ocsp_url() const;
    [[nodiscard]] const CaContext& context() const noexcept { return ctx_; }

private:
    Result<Certificate> issue_with(const CertificateProfile& profile, const IssuanceRequest& request);
    // Records an issued certificate durably before returning (group commit with concurrent
    // callers when the context allows it).
    Result<void> record(const CertificateRecord& record);
    struct GroupCommit;
    Result<CertificateRecord> change_status(std::string_view serial_hex, std::string_view action,
                                            const std::function<Result<CertificateStatus>(
                                                const CertificateRecord&)>& next,
                                            const Actor& actor);

    CertificateAuthority(std::string name, std::string key_id, Certificate cert, CaContext ctx,
                         std::vector<std::string> profiles)
        : name_(std::move(name)), key_id_(std::move(key_id)), certificate_(std::move(cert)),
          ctx_(std::move(ctx)), profiles_(std::move(profiles)) {}
    // The CA key handle from the key store, and the throwaway key that signs lint copies (same
    // algorithm), both obtained once at load: signing with an EVP_PKEY from several threads at
    // once is safe in OpenSSL 3.
    std::shared_ptr<EVP_PKEY> ca_key_;
    std::shared_ptr<EVP_PKEY> lint_key_;
    std::shared_ptr<GroupCommit> group_;

    std::string name_;
    std::string key_id_;
    Certificate certificate_;
    CaContext ctx_;
    std::vector<std::string> profiles_;
};

// One CA of the hierarchy, as the configuration describes it.
struct AuthoritySpec {
    std::string name;                   // URL-safe: "root", "natural-persons", ...
    std::string role;                   // "root" or "issuing"
    std::string parent;                 // issuing CAs: the CA that certifies them
    std::string common_name;
    crypto::KeyType key = crypto::KeyType::ec_p384;
    std::vector<std::string> profiles;  // what an issuing CA may issue
};

struct HierarchySpec {
    std::string country;
    std::string organization;
    std::string public_url;
    std::vector<AuthoritySpec> authorities;  // parents before children
};

// The default hierarchy: a root, and issuing CAs for natural persons, institutions (legal
// persons and government entities) and infrastructure (OCSP, TSA, TLS).
[[nodiscard]] std::vector<AuthoritySpec> default_authorities(std::string_view organization);

inline constexpr std::string_view kRootCaName = "root";
inline constexpr std::string_view kNaturalPersonsCaName = "natural-persons";
inline constexpr std::string_view kInstitutionsCaName = "institutions";
inline constexpr std::string_view kInfrastructureCaName = "infrastructure";

// Creates every CA of `spec` that the repository does not hold yet (keys in the key store,
// certificates recorded), in order. CAs that exist are left as they are.
Result<void> ensure_hierarchy(const HierarchySpec& spec, crypto::KeyStore& keys,
                              CaRepository& cas, CertificateRepository& certificates,
                              const Clock& clock, Rng& rng);

// Builds the certificate URL of CA `name` under `public_url`.
[[nodiscard]] std::string ca_certificate_url(std::string_view public_url, std::string_view name);
// <public_url>/crl/<name>.crl and <public_url>/ocsp.
[[nodiscard]] std::string ca_crl_url(std::string_view public_url, std::string_view name);
[[nodiscard]] std::string ocsp_responder_url(std::string_view public_url);

}  // namespace selo::pki
