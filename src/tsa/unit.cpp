#include "tsa/unit.hpp"

#include <openssl/objects.h>

namespace selo::tsa {

Result<Unit> ensure_unit(const UnitSpec& spec, UnitRepository& units, crypto::KeyStore& keys,
                         pki::CertificateAuthority& issuer, const Clock& clock) {
    if (auto found = SELO_TRY(units.find(spec.name))) {
        auto cert = SELO_TRY(pki::Certificate::from_der(found->certificate_der));
        auto key = SELO_TRY(keys.signing_key(found->key_id));
        return Unit{std::move(cert), std::move(key)};
    }
    std::string key_id = fmt::format("tsa/{}/1", spec.name);
    SELO_TRY(keys.generate(key_id, spec.key));
    auto key = SELO_TRY(keys.signing_key(key_id));
    pki::DistinguishedName dn;
    dn.add(NID_countryName, spec.country)
        .add(NID_organizationName, spec.organization)
        .add(NID_commonName, spec.common_name);
    auto cert = SELO_TRY(issuer.issue({std::string(pki::kProfileTsa), dn, key.get(), std::nullopt, {}, {}}));
    SELO_TRY_VOID(units.insert({spec.name, key_id, cert.der(), clock.now()}));
    return Unit{std::move(cert), std::move(key)};
}

}  // namespace selo::tsa
