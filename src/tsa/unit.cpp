#include "tsa/unit.hpp"

#include <openssl/objects.h>

namespace selo::tsa {
namespace {

// A new key in `keys` under `key_id`, certified by `issuer` with the "tsa" profile.
Result<Unit> certify(const UnitSpec& spec, const std::string& key_id, crypto::KeyStore& keys,
                     pki::CertificateAuthority& issuer) {
    SELO_TRY(keys.generate(key_id, spec.key));
    auto key = SELO_TRY(keys.signing_key(key_id));
    pki::DistinguishedName dn;
    dn.add(NID_countryName, spec.country)
        .add(NID_organizationName, spec.organization)
        .add(NID_commonName, spec.common_name);
    auto cert = SELO_TRY(issuer.issue({std::string(pki::kProfileTsa), dn, key.get(), std::nullopt, {}, {}}));
    return Unit{std::move(cert), std::move(key)};
}

// A new key with each certificate, as for OCSP responders, recorded in place of the unit's
// old one; the old key stays in the key store (tokens signed with it remain verifiable from
// their own certificates).
Result<Unit> certify_anew(const UnitSpec& spec, UnitRepository& units, crypto::KeyStore& keys,
                          pki::CertificateAuthority& issuer, TimePoint now) {
    // Named by the second, with a suffix when a key was made for the unit in that second already
    // (a replacement right after a renewal).
    const std::string base = fmt::format("tsa/{}/{}", spec.name, unix_seconds(now));
    std::string key_id = base;
    for (int n = 2; keys.info(key_id).has_value(); ++n) {
        key_id = fmt::format("{}-{}", base, n);
    }
    auto unit = SELO_TRY(certify(spec, key_id, keys, issuer));
    SELO_TRY_VOID(units.replace({spec.name, key_id, unit.certificate.der(), now}));
    return unit;
}

}  // namespace

Result<Unit> ensure_unit(const UnitSpec& spec, UnitRepository& units, crypto::KeyStore& keys,
                         pki::CertificateAuthority& issuer, const Clock& clock) {
    if (auto found = SELO_TRY(units.find(spec.name))) {
        auto cert = SELO_TRY(pki::Certificate::from_der(found->certificate_der));
        auto key = SELO_TRY(keys.signing_key(found->key_id));
        return Unit{std::move(cert), std::move(key)};
    }
    std::string key_id = fmt::format("tsa/{}/1", spec.name);
    auto unit = SELO_TRY(certify(spec, key_id, keys, issuer));
    SELO_TRY_VOID(units.insert({spec.name, key_id, unit.certificate.der(), clock.now()}));
    return unit;
}

Result<std::optional<Unit>> renew_unit(const UnitSpec& spec, const pki::Certificate& current,
                                       std::chrono::seconds renew_before, UnitRepository& units,
                                       crypto::KeyStore& keys, pki::CertificateAuthority& issuer,
                                       const Clock& clock) {
    const TimePoint now = clock.now();
    if (current.not_after() - now > renew_before) {
        return std::optional<Unit>{};
    }
    auto found = SELO_TRY(units.find(spec.name));
    if (!found) {
        return fail(ErrorCode::not_found, "time-stamping unit '{}' is not in the database", spec.name);
    }
    // Another process sharing the database may have renewed the unit already: use its
    // certificate rather than issue a second one.
    auto stored = SELO_TRY(pki::Certificate::from_der(found->certificate_der));
    if (stored.der() != current.der() && stored.not_after() - now > renew_before) {
        auto key = SELO_TRY(keys.signing_key(found->key_id));
        return std::optional<Unit>(Unit{std::move(stored), std::move(key)});
    }
    return std::optional<Unit>(SELO_TRY(certify_anew(spec, units, keys, issuer, now)));
}

Result<Unit> replace_unit(const UnitSpec& spec, const pki::Certificate& current,
                          const UnitCertificateUsable& usable, UnitRepository& units, crypto::KeyStore& keys,
                          pki::CertificateAuthority& issuer, const Clock& clock) {
    auto found = SELO_TRY(units.find(spec.name));
    if (!found) {
        return fail(ErrorCode::not_found, "time-stamping unit '{}' is not in the database", spec.name);
    }
    auto stored = SELO_TRY(pki::Certificate::from_der(found->certificate_der));
    if (stored.der() != current.der() && SELO_TRY(usable(stored))) {
        auto key = SELO_TRY(keys.signing_key(found->key_id));
        return Unit{std::move(stored), std::move(key)};
    }
    return certify_anew(spec, units, keys, issuer, clock.now());
}

}  // namespace selo::tsa
