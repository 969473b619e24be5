#pragma once
// The composition root: a data directory on disk turned into wired-up services. `selo init`
// creates one; every other command opens one (several processes may open the same one).

#include <array>
#include <filesystem>
#include <memory>
#include <map>
#include <optional>

#include "account/account_service.hpp"
#include "cli/key_backend.hpp"
#include "account/enrolment.hpp"
#include "account/institution.hpp"
#include "cloudsign/activation.hpp"
#include "core/postbox.hpp"
#include "cloudsign/service.hpp"
#include "core/clock.hpp"
#include "core/config.hpp"
#include "core/rng.hpp"
#include "crypto/key_store.hpp"
#include "crypto/master_key.hpp"
#include "pki/authority.hpp"
#include "pki/crl.hpp"
#include "pki/ocsp.hpp"
#include "sepbox/evidence.hpp"
#include "sepbox/service.hpp"
#include "store/database.hpp"
#include "store/repositories.hpp"
#include "translog/log.hpp"
#include "tsa/authority.hpp"
#include "tsa/chain_status.hpp"
#include "tsa/unit.hpp"

namespace selo::cli {

inline constexpr std::string_view kConfigFile = "selo.toml";

struct InitOptions {
    std::string public_url = "http://127.0.0.1:8080";
    std::string listen = "127.0.0.1:8080";
    std::string organization = "Selo Trust Services";
    std::string country = "MO";
    KeysConfig keys;  // [keys]: the software store, or a PKCS#11 token
    // `selo ca ceremony init-root`: only the root CA, and [pki] offline_root = true.
    bool offline_root = false;
    // [pki] organization_identifier: the operator's own, named in the SEPBox seal.
    std::string organization_identifier = "NTRMO-SELO";
    // [server] repository_url and repository_listen. Both empty with an https public URL: an
    // http listener on the listen port + 1 (80 for 443), named at the public URL's host.
    std::string repository_url;
    std::string repository_listen;
};

// Creates a data directory: configuration, master key (0600), SQLite database (WAL), and the
// CA hierarchy. Refuses a directory that already holds a Selo data directory or anything else.
// On failure, removes what it created.
Result<void> initialise_data_directory(const std::filesystem::path& dir, const InitOptions& options,
                                       const Clock& clock, Rng& rng);

// True when `dir` holds a Selo data directory (its configuration file exists).
[[nodiscard]] bool is_data_directory(const std::filesystem::path& dir);

// The hierarchy the configuration describes (the default one when it lists none).
[[nodiscard]] Result<pki::HierarchySpec> hierarchy_of(const Config& config);
// Checks the configuration's [[pki.profile]] tables and the profiles [[pki.authority]] names,
// and makes that catalogue the one this process issues and lints with; errors name `source`.
[[nodiscard]] Result<void> install_configured_profiles(const Config& config, std::string_view source);

// Everything a command needs, opened from a data directory.
class Runtime {
public:
    // `post` replaces the SEPBox the runtime wires itself (tests pass a fake).
    static Result<std::unique_ptr<Runtime>> open(const std::filesystem::path& dir, const Clock& clock,
                                                 Rng& rng, SystemPost* post = nullptr);
    // A new data directory (initialise_data_directory), opened once, which makes what is made on
    // first opening (the time-stamping units): the directory `selo init` leaves.
    static Result<std::unique_ptr<Runtime>> create(const std::filesystem::path& dir, const InitOptions& options,
                                                   const Clock& clock, Rng& rng, SystemPost* post = nullptr);

    const Config& config() const noexcept { return config_; }
    const std::filesystem::path& directory() const noexcept { return dir_; }
    store::Database& database() noexcept { return *db_; }
    pki::CaRepository& cas() noexcept { return cas_; }
    // Issued certificates; every insert is also appended to the transparency log.
    pki::CertificateRepository& certificates() noexcept { return *logged_certificates_; }
    crypto::KeyStore& keys() noexcept { return key_backend_->store(); }
    KeyBackend& key_backend() noexcept { return *key_backend_; }
    // A CA of the hierarchy by name; not_found for one the configuration does not list.
    Result<pki::CertificateAuthority*> authority(std::string_view name);
    account::AccountService& accounts() noexcept { return *accounts_; }
    account::AccountRepository& account_records() noexcept { return account_repo_; }
    cloudsign::CloudSignService& cloudsign() noexcept { return *cloudsign_; }
    AuditTrail& audit() noexcept { return audit_; }
    // Counter enrolment, activation codes and subscriptions; eSignCloud activation and recovery.
    account::EnrolmentService& enrolment() noexcept { return *enrolment_; }
    cloudsign::ActivationService& activation() noexcept { return *activation_; }
    SystemPost& system_post() noexcept { return *post_; }
    // Every CA of the hierarchy, by name.
    std::map<std::string, pki::CertificateAuthority, std::less<>>& authorities() noexcept { return authorities_; }
    // Certificate status publication for every CA: OCSP answers and CRLs.
    pki::OcspResponder& ocsp() noexcept { return *ocsp_; }
    pki::CrlPublisher& crls() noexcept { return *crl_publisher_; }
    // SEPBox, also the SystemPost through which services post Selo's own messages.
    sepbox::SepboxService& sepbox() noexcept { return *sepbox_; }
    sepbox::SepboxRepository& sepbox_repository() noexcept { return sepbox_repo_; }
    // The RFC 3161 time-stamping authority ([tsa]); its certificate chain up to the root.
    tsa::TimeStampAuthority& time_stamp_authority() noexcept { return *tsa_; }
    // Every certificate (DER) the public TSA's unit has had, oldest first: what its tokens and
    // EPCM receipts are signed under, published for relying parties to pin.
    Result<std::vector<Bytes>> tsa_unit_certificates() { return tsa_units_.certificates("tsa"); }
    const std::vector<pki::Certificate>& tsa_chain() const noexcept { return tsa_chain_; }
    // Keeps the TSA and the log's unit signing only under certificates in force; one thread
    // (selo serve's unit watch) calls it, several times a second. A unit whose certificate, or
    // that of a CA above it, is revoked or suspended in Selo's records (by this process or
    // another, e.g. `selo ca revoke`) is taken out of service at once, and given a new key and
    // certificate from its CA when that CA is itself in force; a unit in service whose
    // certificate nears its end (tsa::kRenewUnitBefore) is renewed. After a failed attempt the
    // next is a minute later. Each unit is checked whatever happened to the other; the error
    // names every unit whose check failed. Returns how many units got a new key.
    Result<unsigned> check_time_stamping_units();
    // The log's own time-stamping unit (tree heads).
    tsa::TimeStampAuthority& log_time_stamp_unit() noexcept { return *log_unit_; }
    // The transparency log over every trust event; tree heads signed by the "log" unit.
    translog::TransparencyLog& transparency_log() noexcept { return *log_; }
    // EPCM postmarks (S43), time-stamped by the TSA and logged.
    tsa::PostmarkService& postmarks() noexcept { return *postmarks_; }
    const Clock& clock() const noexcept { return clock_; }
    // Institutions (legal persons) and their members; their mailboxes are in SEPBox.
    account::InstitutionService& institutions() noexcept { return *institutions_; }

private:
    Result<void> open_time_stamping();
    // What the unit watch keeps per unit between checks.
    struct UnitWatch {
        TimePoint next_replacement{};  // no new attempt at a new key and certificate before
        TimePoint next_renewal{};      // no new attempt at renewal before
        TimePoint next_notice{};       // "stays out of service" not logged again before
    };
    // One unit's check (see check_time_stamping_units): whether it got a new key.
    Result<bool> check_unit(const tsa::UnitSpec& spec, tsa::TimeStampAuthority& unit, UnitWatch& watch,
                            TimePoint now);
    // Why `chain` (a certificate issued by the [tsa] issuer and the CAs above it) may not sign at
    // `at` by Selo's records; an error when their status cannot be read.
    Result<std::optional<tsa::ChainProblem>> signing_problem(std::span<const pki::Certificate* const> chain,
                                                             TimePoint at);
    std::array<UnitWatch, 2> unit_watch_{};  // "tsa", "log"
    Runtime(const std::filesystem::path& dir, Config config, crypto::MasterKey master,
            std::unique_ptr<store::Database> db, const Clock& clock, Rng& rng);
    Result<void> open_sepbox();

    std::filesystem::path dir_;
    Config config_;
    crypto::MasterKey master_;
    std::unique_ptr<store::Database> db_;
    const Clock& clock_;
    Rng& rng_;
    store::SqlCaRepository cas_;
    store::SqlCertificateRepository certificates_;
    store::SqlCrlRepository crl_repo_;
    store::SqlResponderRepository responders_;
    store::SqlAccountRepository account_repo_;
    store::SqlCredentialRepository credentials_;
    store::SqlSessionRepository sessions_;
    store::SqlActivationRepository activations_;
    store::SqlAuditTrail audit_;
    store::SqlFailureRepository failures_;
    store::SqlApiClientRepository api_clients_;
    std::unique_ptr<KeyBackend> key_backend_;
    store::SqlEnrolmentRepository enrolments_;
    SystemPost* post_ = nullptr;
    std::unique_ptr<cloudsign::CertificateRevoker> revoker_;
    std::unique_ptr<account::EnrolmentService> enrolment_;
    std::unique_ptr<cloudsign::ActivationService> activation_;
    std::map<std::string, pki::CertificateAuthority, std::less<>> authorities_;
    std::unique_ptr<account::AccountService> accounts_;
    std::unique_ptr<cloudsign::CloudSignService> cloudsign_;
    std::unique_ptr<store::WatchedStatusVersions> status_versions_;  // for ocsp_'s fast path
    std::unique_ptr<pki::OcspResponder> ocsp_;
    std::unique_ptr<pki::CrlPublisher> crl_publisher_;
    store::SqlSepboxRepository sepbox_repo_;
    std::unique_ptr<sepbox::Seal> sepbox_seal_;
    std::unique_ptr<sepbox::EvidenceMaker> sepbox_evidence_;
    std::unique_ptr<sepbox::SepboxService> sepbox_;
    store::SqlTsaUnitRepository tsa_units_;
    std::optional<tsa::TimeStampAuthority> tsa_;
    std::vector<pki::Certificate> tsa_chain_;
    // The status Selo's certificate store records, by issuing CA's certificate and serial.
    tsa::CertificateStatusLookup certificate_status_;
    store::SqlLogRepository log_repo_;
    std::unique_ptr<translog::TransparencyLog> log_;
    std::unique_ptr<translog::LoggedCertificateRepository> logged_certificates_;
    std::optional<tsa::TimeStampAuthority> log_unit_;
    store::SqlEpcmRepository epcm_repo_;
    std::unique_ptr<tsa::PostmarkService> postmarks_;
    std::unique_ptr<store::SqlInstitutionRepository> institution_repo_;
    std::unique_ptr<account::InstitutionService> institutions_;
};

}  // namespace selo::cli
