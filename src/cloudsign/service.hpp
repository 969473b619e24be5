#pragma once
// eSignCloud: remote signing with sole control (ETSI EN 419 241-1 SCAL2 in spirit). A citizen's
// key can only be used with their signing PIN and a fresh OTP; the authorisation (SAD) is bound
// to the account, the credential, the exact hashes and their count, expires within minutes, is
// single-use per hash, and can be honoured by any node sharing the database.
//
// Messages of the errors returned here follow the Cloud Signature Consortium API v2 wording
// where it defines one, so the HTTP edge can pass them through as `error_description`.

#include <functional>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "account/account_service.hpp"
#include "cloudsign/credential.hpp"
#include "core/clock.hpp"
#include "core/rng.hpp"
#include "crypto/master_key.hpp"
#include "pki/authority.hpp"
#include "pki/certificate.hpp"

namespace selo::cloudsign {

struct CloudSignOptions {
    std::chrono::seconds sad_lifetime{300};
    unsigned max_signatures_per_sad = 100;
    std::chrono::seconds access_token_lifetime{3600};
    std::chrono::seconds certificate_validity{std::chrono::days(3 * 365 + 1)};
    crypto::Argon2Params pin_kdf;
};

struct AccessGrant {
    std::string access_token;
    std::chrono::seconds expires_in;
};

struct Activation {
    std::string sad;
    std::chrono::seconds expires_in;
};

struct AuthorizeRequest {
    std::string account_id;
    std::string credential_id;
    unsigned num_signatures = 0;
    std::vector<Bytes> hashes;
    crypto::DigestAlgorithm hash_algorithm = crypto::DigestAlgorithm::sha256;
    std::string pin;
    std::string otp;
};

struct SignHashRequest {
    std::string account_id;
    std::string credential_id;
    std::string sad;
    std::vector<Bytes> hashes;
    crypto::DigestAlgorithm hash_algorithm = crypto::DigestAlgorithm::sha256;
};

struct SignDocRequest {
    std::string account_id;
    std::string credential_id;
    std::string sad;
    std::vector<Bytes> documents;  // whole PDFs
    crypto::DigestAlgorithm signature_digest = crypto::DigestAlgorithm::sha256;
};

struct CredentialView {
    Credential credential;
    pki::Certificate certificate;
    std::vector<pki::Certificate> chain;  // issuing CA first, root last
    crypto::KeyDescription key;
    std::string certificate_status;  // "valid" or "expired"
};

// A PDF that cannot be signed: which one (index in the request) and why.
struct DocumentRefusal {
    std::size_t index;
    Error error;
};

class CloudSignService {
public:
    CloudSignService(account::AccountService& accounts, CredentialRepository& credentials,
                     ActivationRepository& activations,
                     pki::CertificateAuthority& signing_ca, std::vector<pki::Certificate> ca_chain,
                     const crypto::MasterKey& master, const Clock& clock, Rng& rng,
                     CloudSignOptions options);

    // Generates the key pair, has the CA certify it, and seals the key under the PIN.
    [[nodiscard]] Result<Credential> create_credential(const account::Account& account,
                                                       std::string_view pin);

    // CSC auth/login (HTTP Basic): a bearer token for the API.
    [[nodiscard]] Result<AccessGrant> login(std::string_view username, std::string_view password);
    // The account behind a bearer token; ErrorCode::unauthorized or expired otherwise.
    [[nodiscard]] Result<std::string> authenticate(std::string_view access_token);

    [[nodiscard]] Result<std::vector<CredentialView>> list(std::string_view account_id);
    // ErrorCode::not_found for an unknown credential or one of another account.
    [[nodiscard]] Result<CredentialView> info(std::string_view account_id,
                                              std::string_view credential_id);

    // CSC credentials/authorize: checks OTP, then PIN, and grants a SAD for exactly `hashes`.
    [[nodiscard]] Result<Activation> authorize(const AuthorizeRequest& request);
    // CSC signatures/signHash: raw signatures, in the order of `hashes`.
    [[nodiscard]] Result<std::vector<Bytes>> sign_hashes(const SignHashRequest& request);
    // CSC signatures/signDoc with PAdES B-B: the signed PDFs, in request order. The SAD must
    // authorise the SHA-256 digest of each document as submitted. All documents are checked
    // before anything is consumed, so one unsignable file leaves the SAD intact.
    [[nodiscard]] Result<std::vector<Bytes>> sign_documents(const SignDocRequest& request);

    // Deletes expired sessions and signature activations (their sealed PIN keys with them).
    [[nodiscard]] Result<void> purge_expired();

    // Refuses authorize and signing for an account whose subscription has ended unpaid
    // (account::EnrolmentService::check_subscription); none is checked until it is set.
    void set_subscription_check(std::function<Result<void>(std::string_view account_id)> check) {
        subscription_check_ = std::move(check);
    }

    [[nodiscard]] const CloudSignOptions& options() const noexcept { return options_; }
    [[nodiscard]] account::AccountService& accounts() noexcept { return accounts_; }

private:
    struct UnlockedKey;
    Result<CredentialView> view_of(Credential credential);
    Result<SignatureActivation> check_activation(std::string_view account_id,
                                                 std::string_view credential_id,
                                                 std::string_view sad,
                                                 const std::vector<Bytes>& hashes,
                                                 crypto::DigestAlgorithm alg, Bytes& sad_bytes);
    Result<crypto::EvpPkeyPtr> unlock_with_sad(const Credential& credential,
                                               const SignatureActivation& activation,
                                               ByteView sad_bytes);
    Result<SecretBytes> credential_kek(const Credential& credential, ByteView pin_key);

    account::AccountService& accounts_;
    CredentialRepository& credentials_;
    ActivationRepository& activations_;
    pki::CertificateAuthority& signing_ca_;
    std::vector<pki::Certificate> ca_chain_;
    SecretBytes credential_master_subkey_;
    const Clock& clock_;
    Rng& rng_;
    CloudSignOptions options_;
    std::function<Result<void>(std::string_view)> subscription_check_;
};

// Signing PIN policy: 6 to 12 digits, not one repeated digit, not a run like 123456 / 987654.
[[nodiscard]] Result<void> check_pin_policy(std::string_view pin);

}  // namespace selo::cloudsign
