#include "cloudsign/service.hpp"

#include <openssl/objects.h>

#include <algorithm>
#include <set>

#include "core/log.hpp"
#include "crypto/aead.hpp"
#include "crypto/digest.hpp"
#include "crypto/kdf.hpp"
#include "crypto/keys.hpp"
#include "pdf/signature.hpp"
#include "sig/cades.hpp"

namespace selo::cloudsign {
namespace {

constexpr std::size_t kSadBytes = 32;
constexpr std::size_t kPinKeyBytes = 32;

std::string new_credential_id(Rng& rng) { return "cred_" + hex_encode(rng.bytes(12)); }

Result<SecretBytes> sad_key(ByteView sad_bytes) {
    return crypto::hkdf_sha256(sad_bytes, {}, as_bytes("selo/sad/v1"), 32);
}

}  // namespace

Result<void> check_pin_policy(std::string_view pin) {
    if (pin.size() < 6 || pin.size() > 12 ||
        pin.find_first_not_of("0123456789") != std::string_view::npos) {
        return fail(ErrorCode::invalid_argument, "the signing PIN must be 6 to 12 digits");
    }
    std::set<char> digits(pin.begin(), pin.end());
    bool up = true, down = true;
    for (std::size_t i = 1; i < pin.size(); ++i) {
        // Runs wrap around the keypad: 7890123 counts as one.
        int d = pin[i] - '0', prev = pin[i - 1] - '0';
        up = up && d == (prev + 1) % 10;
        down = down && d == (prev + 9) % 10;
    }
    // A PIN made of one block repeated (123123, 121212, 777777).
    bool repeated = false;
    for (std::size_t block = 1; block <= pin.size() / 2 && !repeated; ++block) {
        if (pin.size() % block != 0) {
            continue;
        }
        repeated = true;
        for (std::size_t i = block; i < pin.size(); ++i) {
            repeated = repeated && pin[i] == pin[i - block];
        }
    }
    if (digits.size() < 3 || up || down || repeated) {
        return fail(ErrorCode::invalid_argument,
                    "the signing PIN is too easy to guess (a run like 123456, a repeated pattern "
                    "like 121212, or fewer than three different digits)");
    }
    return {};
}

CloudSignService::CloudSignService(account::AccountService& accounts,
                                   CredentialRepository& credentials,
                                   ActivationRepository& activations,
                                   pki::CertificateAuthority& signing_ca,
                                   std::vector<pki::Certificate> ca_chain,
                                   const crypto::MasterKey& master, const Clock& clock, Rng& rng,
                                   CloudSignOptions options)
    : accounts_(accounts), credentials_(credentials), activations_(activations), signing_ca_(signing_ca), ca_chain_(std::move(ca_chain)),
      clock_(clock), rng_(rng), options_(options) {
    auto k = master.derive("selo/credential-kek/v1");
    if (!k) {
        std::abort();
    }
    credential_master_subkey_ = std::move(*k);
}

Result<SecretBytes> CloudSignService::credential_kek(const Credential& credential,
                                                     ByteView pin_key) {
    // Both halves are needed: the master subkey (what the operator holds) and the PIN-derived
    // key (what only the citizen knows). HKDF over their concatenation binds them together.
    SecretBytes ikm(credential_master_subkey_.size() + pin_key.size());
    std::copy(credential_master_subkey_.view().begin(), credential_master_subkey_.view().end(),
              ikm.data());
    std::copy(pin_key.begin(), pin_key.end(), ikm.data() + credential_master_subkey_.size());
    std::string info = "selo/credential-key/v1/" + credential.id;
    return crypto::hkdf_sha256(ikm.view(), credential.pin_salt, as_bytes(info), 32);
}

Result<Credential> CloudSignService::create_credential(const account::Account& account,
                                                       std::string_view pin) {
    SELO_TRY_VOID(check_pin_policy(pin));
    const account::Person& p = account.person;
    if (p.id_type == account::IdentityDocument::staff_card ||
        p.id_type == account::IdentityDocument::trade_register) {
        return fail(ErrorCode::invalid_argument,
                    "a signing certificate names an identity card or passport, not a {}",
                    account::identity_document_name(p.id_type));
    }
    auto key = SELO_TRY(crypto::generate_key(crypto::KeyType::ec_p256));

    // ETSI EN 319 412-1 §5.1.3: serialNumber = type (IDC/PAS) + country + "-" + identifier.
    std::string serial_number = fmt::format("{}{}-{}", account::etsi_identity_type(p.id_type),
                                            p.id_country, p.id_number);
    pki::DistinguishedName dn;
    dn.add(NID_countryName, p.id_country)
        .add(NID_givenName, p.given_name)
        .add(NID_surname, p.surname)
        .add(NID_serialNumber, serial_number)
        .add(NID_commonName, p.name);
    pki::IssuanceRequest req{std::string(pki::kProfileNaturalPersonSigning), dn, key.get(),
                             options_.certificate_validity, {}, {}};

    Credential c;
    c.id = new_credential_id(rng_);
    c.account_id = account.id;
    c.ca_name = signing_ca_.name();
    c.key_type = crypto::KeyType::ec_p256;
    c.pin_salt = rng_.bytes(16);
    c.pin_kdf = options_.pin_kdf;
    c.created_at = clock_.now();
    auto pin_key = SELO_TRY(crypto::argon2id_raw(pin, c.pin_salt, c.pin_kdf, kPinKeyBytes));
    auto kek = SELO_TRY(credential_kek(c, pin_key.view()));
    auto pkcs8 = SELO_TRY(crypto::private_key_to_der(key.get()));
    std::string aad = "selo/credential/v1/" + c.id;
    c.sealed_private_key = SELO_TRY(crypto::aead_seal(kek.view(), pkcs8.view(), as_bytes(aad), rng_));

    auto cert = SELO_TRY(signing_ca_.issue(req));
    c.certificate_der = cert.der();
    c.certificate_serial = cert.serial_hex();
    SELO_TRY_VOID(credentials_.insert(c));
    accounts_.audit({account.id, "credential.create", c.id,
                     fmt::format("certificate {} from CA {}", c.certificate_serial, c.ca_name)});
    log::info("credential {} created for account {} (certificate {})", c.id, account.id,
              c.certificate_serial);
    return c;
}

Result<AccessGrant> CloudSignService::login(std::string_view username, std::string_view password) {
    auto account = SELO_TRY(accounts_.authenticate(username, password));
    // A one-time initial password opens nothing but the password change (/api/v1/auth/password).
    if (account.must_change_password) {
        return fail(ErrorCode::forbidden,
                    "the initial password is one-time: change it first (POST /api/v1/auth/password)");
    }
    // CSC auth/login is HTTP Basic: a password-only session. Signing still needs PIN and OTP.
    auto grant = SELO_TRY(accounts_.start_session(account, false, options_.access_token_lifetime));
    return AccessGrant{std::move(grant.access_token), grant.expires_in};
}

Result<std::string> CloudSignService::authenticate(std::string_view access_token) {
    auto principal = SELO_TRY(accounts_.resolve_session(access_token));
    return principal.account.id;
}

Result<void> CloudSignService::purge_expired() {
    SELO_TRY_VOID(accounts_.purge_expired_sessions());
    return activations_.remove_expired(clock_.now());
}

Result<CredentialView> CloudSignService::view_of(Credential credential) {
    auto cert = SELO_TRY(pki::Certificate::from_der(credential.certificate_der));
    EVP_PKEY* pub = ::X509_get0_pubkey(cert.x509());
    auto key = SELO_TRY(crypto::describe_key(pub));
    std::string status = clock_.now() >= cert.not_after()   ? "expired"
                         : clock_.now() < cert.not_before() ? "expired"
                                                            : "valid";
    return CredentialView{std::move(credential), std::move(cert), ca_chain_, std::move(key), status};
}

Result<std::vector<CredentialView>> CloudSignService::list(std::string_view account_id) {
    auto creds = SELO_TRY(credentials_.list_for_account(account_id));
    std::vector<CredentialView> out;
    for (auto& c : creds) {
        out.push_back(SELO_TRY(view_of(std::move(c))));
    }
    return out;
}

Result<CredentialView> CloudSignService::info(std::string_view account_id,
                                              std::string_view credential_id) {
    auto c = SELO_TRY(credentials_.find(credential_id));
    // Another account's credential is reported exactly like a missing one.
    if (!c || c->account_id != account_id) {
        return fail(ErrorCode::not_found, "Invalid parameter credentialID");
    }
    return view_of(std::move(*c));
}

Result<Activation> CloudSignService::authorize(const AuthorizeRequest& r) {
    auto view = SELO_TRY(info(r.account_id, r.credential_id));
    if (subscription_check_) {
        SELO_TRY_VOID(subscription_check_(r.account_id));
    }
    const Credential& c = view.credential;
    if (c.status != CredentialStatus::enabled) {
        return fail(ErrorCode::forbidden, "The credential identified by credentialID is disabled");
    }
    if (view.certificate_status != "valid") {
        return fail(ErrorCode::expired, "Signing certificate is expired");
    }
    if (r.num_signatures < 1) {
        return fail(ErrorCode::invalid_argument, "Invalid value for parameter numSignatures");
    }
    if (r.num_signatures > options_.max_signatures_per_sad) {
        return fail(ErrorCode::invalid_argument, "Numbers of signatures is too high (at most {})",
                    options_.max_signatures_per_sad);
    }
    // SCAL2: the SAD is bound to the hashes, so exactly numSignatures distinct hashes.
    if (r.hashes.size() != r.num_signatures) {
        return fail(ErrorCode::invalid_argument,
                    "numSignatures ({}) must equal the number of hashes ({})", r.num_signatures,
                    r.hashes.size());
    }
    std::set<Bytes> distinct;
    for (const auto& h : r.hashes) {
        if (h.size() != crypto::digest_size(r.hash_algorithm)) {
            return fail(ErrorCode::invalid_argument, "Invalid digest value length");
        }
        if (!distinct.insert(h).second) {
            return fail(ErrorCode::invalid_argument, "hashes must not repeat");
        }
    }
    // Counted per credential in the database: 5 wrong PINs in a row lock it, with back-off.
    // A locked PIN is refused before the OTP is consumed.
    const std::string pin_subject = "pin:" + c.id;
    if (auto locked = accounts_.check_lock(pin_subject, "The PIN"); !locked) {
        return std::unexpected(locked.error());
    }
    auto account = SELO_TRY(accounts_.find(r.account_id));
    // The OTP first: every PIN guess then costs the attacker a fresh code from the phone.
    if (auto otp = accounts_.verify_otp(account, r.otp); !otp) {
        if (otp.error().code == ErrorCode::unauthorized || otp.error().code == ErrorCode::malformed) {
            return fail(ErrorCode::unauthorized, "The OTP is invalid: {}", otp.error().message);
        }
        return std::unexpected(otp.error());
    }
    auto wrong_pin = [&]() -> std::unexpected<Error> {
        accounts_.record_failure(pin_subject, "The PIN", r.account_id, "credential.authorize.failure",
                                 "wrong PIN");
        if (auto wait = accounts_.retry_after(pin_subject)) {
            return fail(ErrorCode::unauthorized,
                        "The PIN is invalid; the PIN is now locked after too many failed attempts: "
                        "try again in {} seconds",
                        wait->count());
        }
        return fail(ErrorCode::unauthorized, "The PIN is invalid");
    };
    if (r.pin.empty() || r.pin.size() > 64) {
        return wrong_pin();
    }
    auto pin_key = SELO_TRY(crypto::argon2id_raw(r.pin, c.pin_salt, c.pin_kdf, kPinKeyBytes));
    auto kek = SELO_TRY(credential_kek(c, pin_key.view()));
    std::string aad = "selo/credential/v1/" + c.id;
    if (auto opened = crypto::aead_open(kek.view(), c.sealed_private_key, as_bytes(aad)); !opened) {
        return wrong_pin();
    }
    accounts_.record_success(pin_subject);

    Bytes sad = rng_.bytes(kSadBytes);
    auto key = SELO_TRY(sad_key(sad));
    SignatureActivation a;
    a.id = crypto::sha256(sad);
    a.account_id = r.account_id;
    a.credential_id = r.credential_id;
    a.hash_algorithm = r.hash_algorithm;
    a.hashes = r.hashes;
    a.created_at = clock_.now();
    a.expires_at = a.created_at + options_.sad_lifetime;
    a.sealed_pin_key = SELO_TRY(crypto::aead_seal(key.view(), pin_key.view(), a.id, rng_));
    SELO_TRY_VOID(activations_.insert(a));
    std::string digests;
    for (const auto& h : r.hashes) {
        digests += (digests.empty() ? "" : ",") + hex_encode(h);
    }
    accounts_.audit({r.account_id, "credential.authorize", c.id,
                     fmt::format("{} signature(s), {}: {}", r.hashes.size(),
                                 crypto::digest_name(r.hash_algorithm), digests)});
    return Activation{base64url_encode(sad), options_.sad_lifetime};
}

Result<SignatureActivation> CloudSignService::check_activation(
    std::string_view account_id, std::string_view credential_id, std::string_view sad,
    const std::vector<Bytes>& hashes, crypto::DigestAlgorithm alg, Bytes& sad_bytes) {
    auto decoded = base64url_decode(sad);
    if (!decoded || decoded->size() != kSadBytes) {
        return fail(ErrorCode::not_found, "Invalid parameter SAD");
    }
    sad_bytes = std::move(*decoded);
    auto a = SELO_TRY(activations_.find(crypto::sha256(sad_bytes)));
    // A SAD of another account or for another credential is as unknown as a forged one.
    if (!a || a->account_id != account_id || a->credential_id != credential_id) {
        return fail(ErrorCode::not_found, "Invalid parameter SAD");
    }
    if (clock_.now() >= a->expires_at) {
        return fail(ErrorCode::expired, "SAD expired");
    }
    if (a->hash_algorithm != alg) {
        return fail(ErrorCode::invalid_argument,
                    "Invalid parameter hashAlgorithmOID: the SAD was granted for {}",
                    crypto::digest_name(a->hash_algorithm));
    }
    if (hashes.empty()) {
        return fail(ErrorCode::invalid_argument, "Empty hash array");
    }
    std::set<Bytes> authorised(a->hashes.begin(), a->hashes.end());
    std::set<Bytes> seen;
    for (const auto& h : hashes) {
        if (h.size() != crypto::digest_size(alg)) {
            return fail(ErrorCode::invalid_argument, "Invalid digest value length");
        }
        if (!authorised.contains(h)) {
            return fail(ErrorCode::forbidden, "Hash is not authorized by the SAD");
        }
        if (!seen.insert(h).second) {
            return fail(ErrorCode::forbidden, "Hash is not authorized by the SAD: it repeats");
        }
    }
    return std::move(*a);
}

Result<crypto::EvpPkeyPtr> CloudSignService::unlock_with_sad(const Credential& c,
                                                             const SignatureActivation& a,
                                                             ByteView sad_bytes) {
    auto key = SELO_TRY(sad_key(sad_bytes));
    auto pin_key = crypto::aead_open(key.view(), a.sealed_pin_key, a.id);
    if (!pin_key) {
        return fail(ErrorCode::not_found, "Invalid parameter SAD");
    }
    auto kek = SELO_TRY(credential_kek(c, pin_key->view()));
    std::string aad = "selo/credential/v1/" + c.id;
    auto pkcs8 = crypto::aead_open(kek.view(), c.sealed_private_key, as_bytes(aad));
    if (!pkcs8) {
        return fail(ErrorCode::internal, "credential {} cannot be unsealed", c.id);
    }
    return crypto::private_key_from_der(pkcs8->view());
}

Result<std::vector<Bytes>> CloudSignService::sign_hashes(const SignHashRequest& r) {
    auto view = SELO_TRY(info(r.account_id, r.credential_id));
    if (view.credential.status != CredentialStatus::enabled) {
        return fail(ErrorCode::forbidden, "The credential identified by credentialID is disabled");
    }
    if (subscription_check_) {
        SELO_TRY_VOID(subscription_check_(r.account_id));
    }
    if (view.certificate_status != "valid") {
        return fail(ErrorCode::expired, "Signing certificate is expired");
    }
    Bytes sad_bytes;
    auto a = SELO_TRY(check_activation(r.account_id, r.credential_id, r.sad, r.hashes,
                                       r.hash_algorithm, sad_bytes));
    auto key = SELO_TRY(unlock_with_sad(view.credential, a, sad_bytes));
    // Claimed before signing: two concurrent requests (on any node) cannot both sign a hash.
    if (!SELO_TRY(activations_.claim(a.id, r.hashes, clock_.now()))) {
        return fail(ErrorCode::forbidden,
                    "Hash is not authorized by the SAD: it was already signed with this SAD");
    }
    std::vector<Bytes> out;
    out.reserve(r.hashes.size());
    for (const auto& h : r.hashes) {
        out.push_back(SELO_TRY(crypto::sign_digest(key.get(), r.hash_algorithm, h)));
    }
    accounts_.audit({r.account_id, "signature.sign_hash", r.credential_id,
                     fmt::format("{} hash(es) signed", out.size())});
    return out;
}

Result<std::vector<Bytes>> CloudSignService::sign_documents(const SignDocRequest& r) {
    auto view = SELO_TRY(info(r.account_id, r.credential_id));
    if (view.credential.status != CredentialStatus::enabled) {
        return fail(ErrorCode::forbidden, "The credential identified by credentialID is disabled");
    }
    if (subscription_check_) {
        SELO_TRY_VOID(subscription_check_(r.account_id));
    }
    if (view.certificate_status != "valid") {
        return fail(ErrorCode::expired, "Signing certificate is expired");
    }
    if (r.documents.empty()) {
        return fail(ErrorCode::invalid_argument, "Empty documentDigests and documents objects");
    }
    std::vector<Bytes> doc_hashes;
    doc_hashes.reserve(r.documents.size());
    for (const auto& d : r.documents) {
        doc_hashes.push_back(crypto::sha256(d));
    }
    Bytes sad_bytes;
    auto checked = check_activation(r.account_id, r.credential_id, r.sad, doc_hashes,
                                    crypto::DigestAlgorithm::sha256, sad_bytes);
    if (!checked) {
        if (checked.error().code == ErrorCode::forbidden) {
            return fail(ErrorCode::forbidden, "documentDigests or documents are not authorized by the SAD");
        }
        return std::unexpected(checked.error());
    }
    auto account = SELO_TRY(accounts_.find(r.account_id));

    // Prepare every document first: an unsignable one refuses the request before any hash
    // of the SAD is consumed.
    const TimePoint now = clock_.now();
    pdf::SignatureFieldOptions opts;
    opts.signer_name = account.person.name;
    opts.signing_time = now;
    std::vector<pdf::PreparedSignature> prepared;
    prepared.reserve(r.documents.size());
    for (std::size_t i = 0; i < r.documents.size(); ++i) {
        auto p = pdf::prepare_signature(r.documents[i], opts);
        if (!p) {
            return std::unexpected(p.error().context(fmt::format("document {}", i)));
        }
        prepared.push_back(std::move(*p));
    }
    auto key = SELO_TRY(unlock_with_sad(view.credential, *checked, sad_bytes));
    if (!SELO_TRY(activations_.claim(checked->id, doc_hashes, now))) {
        return fail(ErrorCode::forbidden,
                    "documentDigests or documents are not authorized by the SAD: already signed");
    }
    std::vector<Bytes> out;
    out.reserve(r.documents.size());
    for (std::size_t i = 0; i < r.documents.size(); ++i) {
        auto content_digest = SELO_TRY(prepared[i].digest(r.documents[i], r.signature_digest));
        auto cms = SELO_TRY(sig::sign_cades_detached(view.certificate, view.chain, key.get(),
                                                     r.signature_digest, content_digest));
        SELO_TRY_VOID(prepared[i].set_contents(cms));
        ByteView update = prepared[i].update_bytes();
        Bytes signed_pdf;
        signed_pdf.reserve(r.documents[i].size() + update.size());
        signed_pdf.insert(signed_pdf.end(), r.documents[i].begin(), r.documents[i].end());
        signed_pdf.insert(signed_pdf.end(), update.begin(), update.end());
        out.push_back(std::move(signed_pdf));
    }
    std::string digests;
    for (const auto& h : doc_hashes) {
        digests += (digests.empty() ? "" : ",") + hex_encode(h);
    }
    accounts_.audit({r.account_id, "signature.sign_doc", r.credential_id,
                     fmt::format("{} PDF(s) signed, SHA-256 as submitted: {}", out.size(), digests)});
    return out;
}

}  // namespace selo::cloudsign
