#pragma once
// A certification authority: builds a certificate from a profile, lints it, signs it once with
// the CA key from the key store, and records it durably before anyone hears of it.

#include <optional>
#include <string>

#include "core/clock.hpp"
#include "core/rng.hpp"
#include "crypto/key_store.hpp"
#include "pki/certificate.hpp"
#include "pki/name.hpp"
#include "pki/profile.hpp"
#include "pki/repository.hpp"

namespace selo::pki {

struct IssuanceRequest {
    ProfileId profile;
    DistinguishedName subject;
    EVP_PKEY* public_key = nullptr;  // the subject's key (only its public part is used)
    std::optional<std::chrono::seconds> validity;  // overrides the profile's validity
};

struct CaContext {
    crypto::KeyStore& keys;
    CertificateRepository& certificates;
    const Clock& clock;
    Rng& rng;
    std::string public_url;  // base URL named by AIA caIssuers, e.g. "http://127.0.0.1:8080"
};

class CertificateAuthority {
public:
    static Result<CertificateAuthority> load(const CaRecord& record, CaContext context);

    // Issues, lints and records a certificate. Fails (with every finding named) instead of
    // signing anything that breaks the profile.
    [[nodiscard]] Result<Certificate> issue(const IssuanceRequest& request);

    [[nodiscard]] const std::string& name() const noexcept { return name_; }
    [[nodiscard]] const Certificate& certificate() const noexcept { return certificate_; }
    // URL where this CA's certificate is published: <public_url>/ca/<name>.crt
    [[nodiscard]] std::string certificate_url() const;

private:
    CertificateAuthority(std::string name, std::string key_id, Certificate cert, CaContext ctx)
        : name_(std::move(name)), key_id_(std::move(key_id)), certificate_(std::move(cert)),
          ctx_(std::move(ctx)) {}

    std::string name_;
    std::string key_id_;
    Certificate certificate_;
    CaContext ctx_;
};

// The hierarchy `selo init` creates: a self-signed root and the natural-persons issuing CA.
struct HierarchySpec {
    std::string country;
    std::string organization;
    std::string public_url;
    crypto::KeyType root_key = crypto::KeyType::ec_p384;
    crypto::KeyType issuing_key = crypto::KeyType::ec_p384;
};

inline constexpr std::string_view kRootCaName = "root";
inline constexpr std::string_view kNaturalPersonsCaName = "natural-persons";

Result<void> create_hierarchy(const HierarchySpec& spec, crypto::KeyStore& keys,
                              CaRepository& cas, CertificateRepository& certificates,
                              const Clock& clock, Rng& rng);

// Builds the certificate URL of CA `name` under `public_url`.
[[nodiscard]] std::string ca_certificate_url(std::string_view public_url, std::string_view name);

}  // namespace selo::pki
