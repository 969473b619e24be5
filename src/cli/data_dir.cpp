#include "cli/data_dir.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>

#include <boost/url/parse.hpp>
#include <signal.h>

#include "cli/ceremony.hpp"
#include "core/log.hpp"
#include "pki/revocation.hpp"
#include "store/sqlite/sqlite_database.hpp"

namespace selo::cli {
namespace fs = std::filesystem;

namespace {

// Writes a file through a temporary name and rename(2), so it either exists whole or not at all.
Result<void> write_file_atomically(const fs::path& file, std::string_view content, mode_t mode) {
    fs::path tmp = file;
    tmp += ".tmp";
    int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
    if (fd < 0) {
        return fail(ErrorCode::internal, "cannot create {}: {}", tmp.string(), std::strerror(errno));
    }
    bool ok = ::write(fd, content.data(), content.size()) == static_cast<ssize_t>(content.size()) &&
              ::fsync(fd) == 0;
    ::close(fd);
    if (!ok || ::rename(tmp.c_str(), file.c_str()) != 0) {
        ::unlink(tmp.c_str());
        return fail(ErrorCode::internal, "cannot write {}: {}", file.string(), std::strerror(errno));
    }
    return {};
}

// The base URL goes into every certificate (AIA, OCSP and CRL URLs) and cannot change
// afterwards: accept only http(s)://host[:port][/path], nothing that would make those URLs odd.
Result<void> check_url(std::string_view url) {
    auto u = boost::urls::parse_absolute_uri(url);
    auto bad = [&](std::string_view why) {
        return fail(ErrorCode::invalid_argument, "--public-url '{}': {}", url, why);
    };
    if (!u) {
        return bad("not an absolute URL");
    }
    if (u->scheme() != "http" && u->scheme() != "https") {
        return bad("the scheme must be http or https");
    }
    if (u->host().empty()) {
        return bad("it has no host");
    }
    if (u->has_userinfo()) {
        return bad("user names and passwords do not belong in it");
    }
    if (u->has_query() || u->has_fragment()) {
        return bad("it must not have a query or a fragment");
    }
    if (u->has_port()) {
        std::string_view port = u->port();
        unsigned long value = 0;
        bool digits = !port.empty() && port.size() <= 5 &&
                      port.find_first_not_of("0123456789") == std::string_view::npos;
        if (digits) {
            value = std::stoul(std::string(port));
        }
        if (!digits || value == 0 || value > 65535) {
            return bad("the port must be 1-65535");
        }
    }
    std::string host = std::string(u->host());
    if (host == "0.0.0.0" || host == "[::]" || host == "::") {
        return bad("0.0.0.0 is a listen address, not a name relying parties can reach");
    }
    return {};
}

}  // namespace

// [server] repository_url / repository_listen for a new directory. Relying parties such as NSS
// cannot fetch OCSP or CRLs over https, so an https public URL gets a plain-http status
// listener by default: the listen port + 1 (80 when it is 443), at the public URL's host.
static Result<void> choose_repository(ServerConfig& server, const InitOptions& options) {
    server.repository_url = options.repository_url;
    while (server.repository_url.size() > 7 && server.repository_url.back() == '/') {
        server.repository_url.pop_back();
    }
    server.repository_listen = options.repository_listen;
    if (server.repository_url.empty() && server.repository_listen.empty() && !server.tls) {
        return {};  // everything is http already
    }
    std::size_t colon = server.listen.rfind(':');
    unsigned listen_port = 0;
    if (colon == std::string::npos ||
        std::sscanf(server.listen.c_str() + colon + 1, "%u", &listen_port) != 1) {
        return fail(ErrorCode::invalid_argument, "--listen '{}': expected HOST:PORT", server.listen);
    }
    std::string port_text;
    if (server.repository_listen.empty()) {
        unsigned port = listen_port == 443 ? 80 : listen_port + 1;
        if (listen_port == 0 || port > 65535) {
            return fail(ErrorCode::invalid_argument,
                        "cannot choose a port for the plain-http status listener next to --listen {}: "
                        "give --repository-listen HOST:PORT and --repository-url", server.listen);
        }
        port_text = std::to_string(port);
        server.repository_listen = server.listen.substr(0, colon + 1) + port_text;
    } else {
        port_text = server.repository_listen.substr(server.repository_listen.rfind(':') + 1);
    }
    if (server.repository_url.empty()) {
        auto u = boost::urls::parse_absolute_uri(server.public_url);
        if (!u) {
            return fail(ErrorCode::invalid_argument, "--public-url '{}': not an absolute URL",
                        server.public_url);
        }
        server.repository_url = "http://" + std::string(u->encoded_host()) +
                                (port_text == "80" ? "" : ":" + port_text);
    }
    return {};
}

bool is_data_directory(const fs::path& dir) {
    std::error_code ec;
    return fs::exists(dir / kConfigFile, ec);
}

Result<void> initialise_data_directory(const fs::path& dir, const InitOptions& options,
                                       const Clock& clock, Rng& rng) {
    if (dir.empty()) {
        return fail(ErrorCode::invalid_argument, "--data needs a directory");
    }
    SELO_TRY_VOID(check_url(options.public_url));
    auto org = std::string_view(options.organization);
    if (org.find_first_not_of(' ') == std::string_view::npos || org.size() > 40) {
        return fail(ErrorCode::invalid_argument,
                    "--organization must be 1 to 40 characters (it goes into CA names such as "
                    "\"<organization> Natural Persons CA\", at most 64)");
    }
    std::error_code ec;
    Config config;
    if (is_data_directory(dir)) {
        return fail(ErrorCode::conflict,
                    "{} already holds a Selo data directory; refusing to touch it (use another "
                    "directory, or `selo serve --data {}` to run it)",
                    dir.string(), dir.string());
    }
    if (fs::exists(dir / config.keys.master_key_file, ec) || fs::exists(dir / config.database.path, ec)) {
        // An init stopped by a crash or power loss before it wrote the configuration: nothing
        // was published from this directory yet, but deleting key material is the operator's call.
        return fail(ErrorCode::conflict,
                    "{} holds a master key or database but no {}: an earlier `selo init` did not "
                    "finish. Nothing was issued from it; remove {}, {} and {}-* and run init again",
                    dir.string(), kConfigFile, (dir / config.keys.master_key_file).string(),
                    (dir / config.database.path).string(), (dir / config.database.path).string());
    }
    bool created_dir = false;
    if (fs::exists(dir, ec)) {
        if (!fs::is_directory(dir, ec)) {
            return fail(ErrorCode::conflict, "{} exists and is not a directory", dir.string());
        }
        if (!fs::is_empty(dir, ec)) {
            return fail(ErrorCode::conflict,
                        "{} is not empty; a data directory must start empty", dir.string());
        }
    } else {
        if (!fs::create_directories(dir, ec)) {
            return fail(ErrorCode::internal, "cannot create {}: {}", dir.string(), ec.message());
        }
        created_dir = true;
    }
    ::chmod(dir.c_str(), 0700);

    config.server.public_url = options.public_url;
    while (config.server.public_url.size() > 8 && config.server.public_url.back() == '/') {
        config.server.public_url.pop_back();
    }
    config.server.listen = options.listen;
    // An https public URL: Selo speaks TLS itself (set tls = false behind a terminating proxy).
    config.server.tls = config.server.public_url.starts_with("https://");
    config.pki.organization = options.organization;
    config.pki.organization_identifier = options.organization_identifier;
    config.pki.country = options.country;
    config.keys.backend = options.keys.backend;
    config.keys.pkcs11_module = options.keys.pkcs11_module;
    config.keys.pkcs11_token_label = options.keys.pkcs11_token_label;
    config.keys.pkcs11_pin_source = options.keys.pkcs11_pin_source;
    config.pki.offline_root = options.offline_root;
    SELO_TRY_VOID(choose_repository(config.server, options));
    // The same checks as loading the configuration later, before anything is written.
    SELO_TRY(parse_config(render_config(config), "the new configuration"));
    SELO_TRY_VOID(install_configured_profiles(config, "the new configuration"));
    for (const auto& a : pki::default_authorities(config.pki.organization)) {
        if (options.offline_root && a.role != "root") {
            continue;
        }
        AuthorityConfig ac{a.name, a.role, a.parent, a.common_name,
                           std::string(crypto::key_type_name(a.key)), a.profiles};
        config.pki.authorities.push_back(std::move(ac));
    }

    auto cleanup = [&]() {
        std::error_code ignored;
        for (const auto& name : {std::string(kConfigFile), config.keys.master_key_file,
                                 config.database.path, config.database.path + "-wal",
                                 config.database.path + "-shm"}) {
            fs::remove(dir / name, ignored);
        }
        if (created_dir) {
            fs::remove(dir, ignored);
        }
    };
    auto build = [&]() -> Result<void> {
        auto master = SELO_TRY(crypto::MasterKey::create(dir / config.keys.master_key_file, rng));
        auto db = SELO_TRY(store::open_sqlite(dir / config.database.path));
        // Owner only, like the key file; SQLite gives its -wal and -shm files the same mode.
        ::chmod((dir / config.database.path).c_str(), 0600);
        SELO_TRY_VOID(store::migrate(*db));
        store::SqlCaRepository cas(*db);
        store::SqlCertificateRepository plain_certs(*db);
        store::SqlLogRepository log_repo(*db);
        translog::TransparencyLog log(log_repo, store::transact_with(*db), clock, nullptr);
        translog::LoggedCertificateRepository certs(plain_certs, log, store::transact_with(*db));
        auto backend = SELO_TRY(KeyBackend::open(config, dir, *db, master, clock, rng));
        crypto::KeyStore& keys = backend->store();
        auto spec = SELO_TRY(hierarchy_of(config));
        SELO_TRY_VOID(db->transaction([&]() -> Result<void> {
            SELO_TRY_VOID(pki::ensure_hierarchy(spec, keys, cas, certs, clock, rng));
            std::string names;
            for (const auto& a : spec.authorities) {
                names += (names.empty() ? "" : ", ") + a.name;
            }
            return store::append_audit(*db, clock.now(), "selo init", "ca.hierarchy.create",
                                       names, "data directory initialised");
        }));
        // The configuration is written last: its presence marks a complete data directory.
        return write_file_atomically(dir / kConfigFile,
                                     render_config(config) + pki::commented_profiles(pki::active_profiles()),
                                     0600);
    };
    // Ctrl-C or a TERM signal during init would leave half a directory behind: hold them until
    // the directory is complete or cleaned up (init takes about a second).
    sigset_t block, previous;
    sigemptyset(&block);
    sigaddset(&block, SIGINT);
    sigaddset(&block, SIGTERM);
    sigaddset(&block, SIGHUP);
    ::pthread_sigmask(SIG_BLOCK, &block, &previous);
    auto r = build();
    if (!r) {
        cleanup();
    }
    ::pthread_sigmask(SIG_SETMASK, &previous, nullptr);
    return r;
}

Result<void> install_configured_profiles(const Config& config, std::string_view source) {
    pki::install_profiles(SELO_TRY(pki::ProfileCatalogue::from_config(config.pki, source)));
    // An authority naming a profile that does not exist is refused here too, with the file.
    for (const auto& a : config.pki.authorities) {
        for (const auto& p : a.profiles) {
            if (!pki::find_profile(p)) {
                return fail(ErrorCode::invalid_argument, "{}: [[pki.authority]] '{}' profiles: {}", source,
                            a.name, pki::find_profile(p).error().message);
            }
        }
    }
    return {};
}

Result<pki::HierarchySpec> hierarchy_of(const Config& config) {
    pki::HierarchySpec spec{config.pki.country, config.pki.organization, status_base_url(config.server), {}};
    if (config.pki.authorities.empty()) {
        spec.authorities = pki::default_authorities(config.pki.organization);
        return spec;
    }
    for (const auto& a : config.pki.authorities) {
        auto key = SELO_TRY(crypto::key_type_from_name(a.key));
        for (const auto& p : a.profiles) {
            auto found = pki::find_profile(p);
            if (!found) {
                return fail(ErrorCode::invalid_argument, "[[pki.authority]] '{}' profiles: {}", a.name,
                            found.error().message);
            }
            if ((*found)->ca) {
                return fail(ErrorCode::invalid_argument,
                            "[[pki.authority]] '{}' profiles: '{}' is a CA profile; list the end-entity "
                            "profiles the CA issues",
                            a.name, p);
            }
        }
        spec.authorities.push_back({a.name, a.role, a.parent, a.common_name, key, a.profiles});
    }
    return spec;
}

Result<std::unique_ptr<Runtime>> Runtime::create(const fs::path& dir, const InitOptions& options, const Clock& clock,
                                                 Rng& rng, SystemPost* post) {
    SELO_TRY_VOID(initialise_data_directory(dir, options, clock, rng));
    return open(dir, clock, rng, post);
}

Result<pki::CertificateAuthority*> Runtime::authority(std::string_view name) {
    auto it = authorities_.find(name);
    if (it == authorities_.end()) {
        return fail(ErrorCode::not_found, "no CA named '{}'", name);
    }
    return &it->second;
}

Runtime::Runtime(const fs::path& dir, Config config, crypto::MasterKey master,
                 std::unique_ptr<store::Database> db, const Clock& clock, Rng& rng)
    : dir_(dir), config_(std::move(config)), master_(std::move(master)), db_(std::move(db)),
      clock_(clock), rng_(rng), cas_(*db_), certificates_(*db_),
      crl_repo_(*db_), responders_(*db_),
      account_repo_(*db_), credentials_(*db_), sessions_(*db_), activations_(*db_),
      audit_(*db_, clock), failures_(*db_), api_clients_(*db_), enrolments_(*db_), sepbox_repo_(*db_),
      tsa_units_(*db_), log_repo_(*db_), epcm_repo_(*db_) {
    log_ = std::make_unique<translog::TransparencyLog>(log_repo_, store::transact_with(*db_), clock_, nullptr);
    logged_certificates_ = std::make_unique<translog::LoggedCertificateRepository>(
        certificates_, *log_, store::transact_with(*db_));
}

namespace {
// cloudsign's CertificateRevoker over the CAs of this runtime.
class AuthorityRevoker final : public cloudsign::CertificateRevoker {
public:
    explicit AuthorityRevoker(Runtime& rt) : rt_(rt) {}
    Result<void> revoke(std::string_view ca_name, std::string_view serial_hex,
                        std::string_view reason) override {
        auto* ca = SELO_TRY(rt_.authority(ca_name));
        auto why = SELO_TRY(pki::revocation_reason_from_name(reason));
        SELO_TRY(ca->revoke(serial_hex, why, std::nullopt,
                            pki::Actor{"esigncloud:recovery", "eSignCloud credential retired: " + std::string(reason)}));
        return {};
    }

private:
    Runtime& rt_;
};

}  // namespace

Result<std::unique_ptr<Runtime>> Runtime::open(const fs::path& dir, const Clock& clock, Rng& rng,
                                               SystemPost* post) {
    if (!is_data_directory(dir)) {
        return fail(ErrorCode::not_found,
                    "{} is not a Selo data directory (no {}); create one with `selo init --data {}`",
                    dir.string(), kConfigFile, dir.string());
    }
    auto config = SELO_TRY(load_config(dir / kConfigFile));
    SELO_TRY_VOID(install_configured_profiles(config, (dir / kConfigFile).string()));
    if (config.pki.offline_root) {
        return fail(ErrorCode::forbidden,
                    "{} holds an offline root CA (made by `selo ca ceremony init-root`): it only "
                    "signs issuing-CA requests with `selo ca ceremony sign` and is never served "
                    "or used online",
                    dir.string());
    }
    auto master = SELO_TRY(crypto::MasterKey::load(dir / config.keys.master_key_file));
    const fs::path db_file = dir / config.database.path;
    struct stat st {};
    if (::stat(db_file.c_str(), &st) != 0) {
        return fail(ErrorCode::not_found, "the database {} is missing", db_file.string());
    }
    if ((st.st_mode & 077) != 0) {
        return fail(ErrorCode::forbidden,
                    "the database {} is accessible by group or others (mode {:o}); run chmod 600",
                    db_file.string(), st.st_mode & 0777);
    }
    auto db = SELO_TRY(store::open_sqlite(db_file));
    SELO_TRY_VOID(store::migrate(*db));
    std::unique_ptr<Runtime> rt(
        new Runtime(dir, std::move(config), std::move(master), std::move(db), clock, rng));
    rt->key_backend_ = SELO_TRY(
        KeyBackend::open(rt->config_, dir, *rt->db_, rt->master_, clock, rng));

    // CAs added to the configuration since the last start are created now.
    auto spec = SELO_TRY(hierarchy_of(rt->config_));
    for (const auto& a : spec.authorities) {
        if (a.role != "issuing" || SELO_TRY(rt->cas_.find(a.name))) {
            continue;
        }
        auto parent = SELO_TRY(rt->cas_.find(a.parent));
        if (parent && SELO_TRY(key_is_offline(*rt->db_, parent->key_id))) {
            return fail(ErrorCode::invalid_argument,
                        "CA '{}' is new in {} but its parent '{}' is an offline root, which "
                        "cannot certify it here; adding CAs under an offline root is not supported "
                        "yet (remove it from the configuration)",
                        a.name, (dir / kConfigFile).string(), a.parent);
        }
    }
    SELO_TRY_VOID(rt->db_->transaction([&]() -> Result<void> {
        return pki::ensure_hierarchy(spec, rt->keys(), rt->cas_, *rt->logged_certificates_, clock, rng);
    }));
    for (const auto& a : spec.authorities) {
        auto rec = SELO_TRY(rt->cas_.find(a.name));
        if (!rec) {
            return fail(ErrorCode::internal, "CA '{}' is missing from the database", a.name);
        }
        // A root whose key is offline (after `selo ca ceremony import`) only has its
        // certificate here: it is published and chained to, but it signs nothing online.
        if (SELO_TRY(key_is_offline(*rt->db_, rec->key_id))) {
            continue;
        }
        // Fail at start-up, not at first use, when the master key (or the token) is not this
        // directory's.
        if (auto key = rt->keys().signing_key(rec->key_id); !key) {
            if (rt->key_backend_->is_pkcs11()) {
                return fail(key.error().code, "CA '{}': its key cannot be used: {}", a.name,
                            key.error().message);
            }
            return fail(ErrorCode::forbidden,
                        "{} does not open the keys of this data directory (CA '{}'): it is not "
                        "the master key they were sealed with",
                        (dir / rt->config_.keys.master_key_file).string(), a.name);
        }
        store::Database* database = rt->db_.get();
        pki::CaContext ca_context{rt->keys(), *rt->logged_certificates_, clock, rng,
                                  status_base_url(rt->config_.server), &rt->audit_,
                                  [database](const std::function<Result<void>()>& fn) { return database->transaction(fn); },
                                  [database] { return database->in_transaction(); }};
        rt->authorities_.emplace(
            a.name, SELO_TRY(pki::CertificateAuthority::load(
                        *rec, std::move(ca_context),
                        a.role == "root" ? std::vector<std::string>{std::string(pki::kProfileIssuingCa)}
                                         : a.profiles)));
    }
    // The TSA and the transparency log, then SEPBox (its evidence is time-stamped and logged);
    // both before the services built below, which may post through SEPBox (SystemPost).
    SELO_TRY_VOID(rt->open_time_stamping());
    SELO_TRY_VOID(rt->open_sepbox());
    // Status publication: responses are valid for a day and re-signed at half-time; the same
    // for CRLs (RFC 5019 §2.2.4, RFC 5280 §5.1.2.5).
    rt->ocsp_ = std::make_unique<pki::OcspResponder>(rt->certificates_, rt->responders_, rt->keys(),
                                                     clock, rng, pki::OcspOptions{});
    // Precomputed answers are checked against the CAs' status versions through a connection of
    // their own, which learns of any process's commit from PRAGMA data_version.
    rt->status_versions_ = std::make_unique<store::WatchedStatusVersions>(
        SELO_TRY(store::open_sqlite_commit_watch(db_file)));
    rt->ocsp_->set_status_versions(rt->status_versions_.get());
    rt->crl_publisher_ = std::make_unique<pki::CrlPublisher>(
        rt->certificates_, rt->crl_repo_, rt->keys(), clock, std::chrono::hours(24));
    for (auto& [name, ca] : rt->authorities_) {
        SELO_TRY_VOID(rt->ocsp_->add(ca));
        rt->crl_publisher_->add(ca);
    }
    auto* signing_ca = SELO_TRY(rt->authority(rt->config_.cloudsign.signing_ca));
    // The chain a relying party needs: every CA from the signing CA up to the root.
    std::vector<pki::Certificate> chain;
    for (std::string name = signing_ca->name(); !name.empty();) {
        auto rec = SELO_TRY(rt->cas_.find(name));
        if (!rec) {
            return fail(ErrorCode::internal, "CA '{}' is missing from the database", name);
        }
        chain.push_back(SELO_TRY(pki::Certificate::from_der(rec->certificate_der)));
        name = rec->parent.value_or("");
    }

    const auto& ac = rt->config_.accounts;
    account::AccountServiceOptions account_opts;
    account_opts.lockout = {ac.lockout_threshold, std::chrono::seconds(ac.lockout_first_seconds),
                            std::chrono::seconds(ac.lockout_longest_seconds)};
    if (!ac.common_passwords.empty()) {
        account_opts.password_policy = SELO_TRY(account::PasswordPolicy::load(ac.common_passwords));
    }
    rt->accounts_ = std::make_unique<account::AccountService>(
        rt->account_repo_, rt->sessions_, rt->audit_, rt->master_, clock, rng,
        std::move(account_opts), &rt->failures_, &rt->api_clients_);
    const auto& cs = rt->config_.cloudsign;
    cloudsign::CloudSignOptions opts;
    opts.sad_lifetime = std::chrono::seconds(cs.sad_lifetime_seconds);
    opts.max_signatures_per_sad = cs.max_signatures_per_sad;
    opts.access_token_lifetime = std::chrono::seconds(cs.access_token_lifetime_seconds);
    opts.certificate_validity = std::chrono::days(cs.certificate_validity_days);
    opts.pin_kdf = {cs.pin_kdf.memory_kib, cs.pin_kdf.iterations, cs.pin_kdf.parallelism};
    rt->cloudsign_ = std::make_unique<cloudsign::CloudSignService>(
        *rt->accounts_, rt->credentials_, rt->activations_, *signing_ca,
        std::move(chain), rt->master_, clock, rng, opts);
    // Enrolment, activation and reminders post through SEPBox (same database, so its writes
    // join the enrolment transaction); tests may pass their own SystemPost.
    rt->post_ = post != nullptr ? post : rt->sepbox_.get();
    // Forgotten-PIN recovery revokes through the CA's revocation service (CRL and OCSP see it).
    rt->revoker_ = std::make_unique<AuthorityRevoker>(*rt);
    account::Transaction transaction = [db = rt->db_.get()](const std::function<Result<void>()>& fn) {
        return db->transaction(fn);
    };
    account::EnrolmentOptions enrol_opts;
    enrol_opts.slip_window = std::chrono::seconds(ac.slip_window_seconds);
    enrol_opts.activation_lifetime = std::chrono::days(ac.activation_code_days);
    enrol_opts.activation_attempts = ac.activation_code_attempts;
    enrol_opts.service_name = rt->config_.pki.organization;
    rt->enrolment_ = std::make_unique<account::EnrolmentService>(
        *rt->accounts_, rt->enrolments_, *rt->post_, transaction, rt->master_, clock, rng, enrol_opts);
    rt->activation_ = std::make_unique<cloudsign::ActivationService>(
        *rt->enrolment_, *rt->cloudsign_, rt->credentials_, transaction, rt->revoker_.get());
    rt->institution_repo_ = std::make_unique<store::SqlInstitutionRepository>(*rt->db_);
    rt->institutions_ = std::make_unique<account::InstitutionService>(
        *rt->accounts_, rt->account_repo_, *rt->institution_repo_, *rt->post_, rt->audit_, transaction, clock);
    rt->cloudsign_->set_subscription_check(
        [e = rt->enrolment_.get()](std::string_view account_id) { return e->check_subscription(account_id); });
    return rt;
}

Result<void> Runtime::open_sepbox() {
    const auto& sc = config_.sepbox;
    auto seal_ca_found = authority(sc.seal_ca);
    if (!seal_ca_found ||
        std::find((*seal_ca_found)->profiles().begin(), (*seal_ca_found)->profiles().end(),
                  pki::kProfileLegalPersonSeal) == (*seal_ca_found)->profiles().end()) {
        return fail(ErrorCode::invalid_argument,
                    "the SEPBox seal needs a CA that issues {} certificates: [sepbox] seal_ca = '{}' "
                    "in {} names none",
                    pki::kProfileLegalPersonSeal, sc.seal_ca, (dir_ / kConfigFile).string());
    }
    auto* seal_ca = *seal_ca_found;
    std::vector<pki::Certificate> chain;
    for (std::string name = seal_ca->name(); !name.empty();) {
        auto rec = SELO_TRY(cas_.find(name));
        if (!rec) {
            return fail(ErrorCode::internal, "CA '{}' is missing from the database", name);
        }
        chain.push_back(SELO_TRY(pki::Certificate::from_der(rec->certificate_der)));
        name = rec->parent.value_or("");
    }
    sepbox::SealOptions seal;
    seal.country = config_.pki.country;
    seal.organization = config_.pki.organization;
    seal.organization_identifier = config_.pki.organization_identifier;
    sepbox_seal_ = std::make_unique<sepbox::Seal>(keys(), *seal_ca, std::move(chain), sepbox_repo_,
                                                  clock_, rng_, seal);
    // Every evidence is time-stamped by the TSA and appended to the transparency log.
    sepbox_evidence_ = std::make_unique<sepbox::EvidenceMaker>(*sepbox_seal_, &*tsa_, log_.get(),
                                                               config_.server.public_url);
    sepbox::SepboxOptions opts;
    opts.max_message_bytes = sc.max_message_bytes;
    opts.max_attachments = sc.max_attachments;
    opts.max_recipients = sc.max_recipients;
    opts.public_url = config_.server.public_url;
    opts.system_sender_name = config_.pki.organization;
    sepbox_ = std::make_unique<sepbox::SepboxService>(sepbox_repo_, account_repo_, audit_,
                                                      *sepbox_evidence_, master_, clock_, rng_, opts);
    return {};
}

namespace {
// The public TSA ("tsa") and the transparency log's unit ("log").
Result<std::pair<tsa::UnitSpec, tsa::UnitSpec>> unit_specs(const Config& config) {
    auto key_type = SELO_TRY(crypto::key_type_from_name(config.tsa.key));
    return std::pair{tsa::UnitSpec{"tsa", config.pki.country, config.pki.organization,
                                   config.pki.organization + " Time-Stamping Unit", key_type},
                     tsa::UnitSpec{"log", config.pki.country, config.pki.organization,
                                   config.pki.organization + " Transparency Log", key_type}};
}
}  // namespace

Result<std::optional<tsa::ChainProblem>> Runtime::signing_problem(std::span<const pki::Certificate* const> chain,
                                                                  TimePoint at) {
    auto problem = tsa::chain_problem(chain, certificate_status_, at, tsa::ChainUse::signature);
    if (problem && problem->indeterminate) {
        return fail(ErrorCode::unavailable, "{}{}", problem->why,
                    problem->store_error.empty() ? "" : ": " + problem->store_error);
    }
    return problem;
}

Result<unsigned> Runtime::check_time_stamping_units() {
    auto specs = SELO_TRY(unit_specs(config_));
    const TimePoint now = clock_.now();
    unsigned replaced = 0;
    std::string errors;
    const std::array<std::pair<const tsa::UnitSpec*, tsa::TimeStampAuthority*>, 2> units{
        std::pair{&specs.first, &*tsa_}, std::pair{&specs.second, &*log_unit_}};
    for (std::size_t i = 0; i < units.size(); ++i) {
        auto [spec, unit] = units[i];
        auto r = check_unit(*spec, *unit, unit_watch_[i], now);
        if (!r) {
            errors += fmt::format("{}unit '{}': {}", errors.empty() ? "" : "; ", spec->name, r.error().message);
        } else if (*r) {
            ++replaced;
        }
    }
    if (!errors.empty()) {
        return fail(ErrorCode::unavailable, "{}", errors);
    }
    return replaced;
}

Result<bool> Runtime::check_unit(const tsa::UnitSpec& spec, tsa::TimeStampAuthority& unit, UnitWatch& watch,
                                 TimePoint now) {
    const std::string& name = spec.name;
    const std::shared_ptr<const pki::Certificate> held = unit.current_certificate();
    const pki::Certificate& current = *held;
    // A certificate and the CAs above it, as relying parties build the path.
    std::vector<const pki::Certificate*> chain{&current};
    for (const auto& c : tsa_chain_) {
        chain.push_back(&c);
    }
    const std::span<const pki::Certificate* const> above = std::span(chain).subspan(1);
    auto* issuer = SELO_TRY(authority(config_.tsa.issuer));
    auto problem = SELO_TRY(signing_problem(chain, now));
    if (!problem) {
        // Withdrawn for a CA above it that is in force again (its hold lifted): its own
        // certificate never stopped being so.
        if (unit.withdrawn()) {
            unit.reinstate();
            log::warn("time-stamping unit '{}' back in service: its certificate {} and the CAs above it are in "
                      "force again",
                      name, current.serial_hex());
        }
        // Renewed well before it expires; on failure the old certificate stays and renewal is
        // tried again a minute later.
        if (current.not_after() - now > tsa::kRenewUnitBefore || now < watch.next_renewal) {
            return false;
        }
        watch.next_renewal = now + std::chrono::minutes(1);
        std::optional<tsa::Unit> next;
        SELO_TRY_VOID(db_->transaction([&]() -> Result<void> {
            next = SELO_TRY(tsa::renew_unit(spec, current, tsa::kRenewUnitBefore, tsa_units_, keys(), *issuer, clock_));
            return {};
        }));
        if (!next) {
            return false;
        }
        const std::string serial = next->certificate.serial_hex();
        const auto until = format_utc(next->certificate.not_after());
        SELO_TRY_VOID(unit.use(std::move(next->certificate), std::move(next->key)));
        watch.next_renewal = TimePoint{};
        log::info("time-stamping unit '{}': certificate renewed, now {} valid until {}", name, serial, until);
        return true;
    }
    const bool ca_at_fault = problem->position > 0;
    // Withdrawn, or withdrawn again when the reason changed (its own certificate revoked while a
    // CA above it was on hold): the log and callers see the current one.
    if (unit.withdrawn() != problem->why) {
        unit.withdraw(problem->why);
        log::error("time-stamping unit '{}' taken out of service: {}; {}", name, problem->why,
                   ca_at_fault ? "it signs nothing while that CA is not in force"
                               : "it signs nothing more with that key");
    }
    // A new certificate is only worth having from a CA in force: with a CA above the unit at
    // fault (or the unit's own certificate revoked while its CA is on hold), it waits.
    std::optional<tsa::ChainProblem> ca_problem;
    if (ca_at_fault) {
        ca_problem = problem;
    } else if (above.size() > 1) {
        ca_problem = SELO_TRY(signing_problem(above, now));
    }
    if (ca_problem) {
        if (now >= watch.next_notice) {
            log::error("time-stamping unit '{}' stays out of service: a new certificate from CA '{}' would not be in "
                       "force ({}); it is back {}",
                       name, config_.tsa.issuer, ca_problem->why,
                       ca_problem->suspended ? "once that hold is lifted, or with another [tsa] issuer"
                                             : "with another [tsa] issuer");
            watch.next_notice = now + std::chrono::minutes(1);
        }
        return false;
    }
    if (now < watch.next_replacement) {
        return false;
    }
    // A failed attempt (below, by SELO_TRY) is tried again a minute later, not every check.
    watch.next_replacement = now + std::chrono::minutes(1);
    // Another process may have replaced the unit already: its certificate is taken when in force.
    tsa::UnitCertificateUsable usable = [&](const pki::Certificate& c) -> Result<bool> {
        std::vector<const pki::Certificate*> of_c{&c};
        of_c.insert(of_c.end(), above.begin(), above.end());
        return !SELO_TRY(signing_problem(of_c, now)).has_value();
    };
    std::optional<tsa::Unit> next;
    SELO_TRY_VOID(db_->transaction([&]() -> Result<void> {
        next = SELO_TRY(tsa::replace_unit(spec, current, usable, tsa_units_, keys(), *issuer, clock_));
        return {};
    }));
    const std::string serial = next->certificate.serial_hex();
    const auto until = format_utc(next->certificate.not_after());
    SELO_TRY_VOID(unit.use(std::move(next->certificate), std::move(next->key)));
    watch.next_replacement = TimePoint{};
    log::warn("time-stamping unit '{}' back in service with a new key: certificate {} valid until {}", name, serial,
              until);
    return true;
}

Result<void> Runtime::open_time_stamping() {
    const TsaConfig& tc = config_.tsa;
    auto* issuer = SELO_TRY(authority(tc.issuer));
    auto specs = SELO_TRY(unit_specs(config_));
    const tsa::UnitSpec& spec = specs.first;
    const tsa::UnitSpec& log_spec = specs.second;
    std::optional<tsa::Unit> unit;
    std::optional<tsa::Unit> log_unit;
    SELO_TRY_VOID(db_->transaction([&]() -> Result<void> {
        unit = SELO_TRY(tsa::ensure_unit(spec, tsa_units_, keys(), *issuer, clock_));
        log_unit = SELO_TRY(tsa::ensure_unit(log_spec, tsa_units_, keys(), *issuer, clock_));
        return {};
    }));
    // The chain relying parties need besides the unit's own certificate: issuer up to the root.
    tsa_chain_.clear();
    for (std::string name = issuer->name(); !name.empty();) {
        auto rec = SELO_TRY(cas_.find(name));
        if (!rec) {
            return fail(ErrorCode::internal, "CA '{}' is missing from the database", name);
        }
        tsa_chain_.push_back(SELO_TRY(pki::Certificate::from_der(rec->certificate_der)));
        name = rec->parent.value_or("");
    }
    // The policies of tree heads and EPCM receipts tell those tokens from any other: the public
    // TSA never grants them, so that no one can have a forged tree head or receipt stamped.
    for (const std::string_view reserved : {tsa::kPolicyLogTreeHead, tsa::kPolicyEpcmReceipt}) {
        if (tc.policy == reserved ||
            std::find(tc.accepted_policies.begin(), tc.accepted_policies.end(), reserved) != tc.accepted_policies.end()) {
            return fail(ErrorCode::invalid_argument, "[tsa] cannot offer policy {}: it is reserved for {}", reserved,
                        reserved == tsa::kPolicyLogTreeHead ? "the transparency log's tree heads" : "EPCM receipts");
        }
    }
    tsa::TsaOptions opts;
    opts.default_policy = tc.policy;
    opts.accepted_policies = tc.accepted_policies;
    opts.internal_policies = {std::string(tsa::kPolicyEpcmReceipt)};
    opts.accuracy = std::chrono::milliseconds(tc.accuracy_ms);
    // certReq: the unit's certificate and its issuer; the root is the relying party's anchor.
    opts.chain = {tsa_chain_.front()};
    // Tree heads are stamped by the log's own unit under their own policy, and not logged
    // themselves (a tree head is about the log; logging it would change what it describes).
    tsa::TsaOptions log_opts;
    log_opts.default_policy = std::string(tsa::kPolicyLogTreeHead);
    log_opts.accuracy = opts.accuracy;
    log_opts.chain = opts.chain;
    log_unit_.emplace(SELO_TRY(tsa::TimeStampAuthority::create(std::move(log_unit->certificate),
                                                               std::move(log_unit->key),
                                                               std::move(log_opts), clock_, rng_, nullptr)));
    log_->set_tree_head_signer(&*log_unit_);
    // Every token of the public TSA is appended to the log before it is returned.
    auto made = tsa::TimeStampAuthority::create(std::move(unit->certificate), std::move(unit->key), std::move(opts),
                                                clock_, rng_, log_.get());
    if (!made) {
        return std::unexpected(made.error().context("[tsa] in selo.toml"));
    }
    tsa_.emplace(std::move(*made));
    // Postmarks: receipts stamped by the TSA; submitters' signatures validated against the root,
    // with every CA of the hierarchy as a possible intermediate, and every certificate of the
    // chain checked against the certificates table OCSP and CRLs answer from.
    tsa::TrustAnchors anchors;
    std::vector<std::pair<std::string, pki::Certificate>> ca_certificates;
    for (const auto& rec : SELO_TRY(cas_.list())) {
        auto cert = SELO_TRY(pki::Certificate::from_der(rec.certificate_der));
        ca_certificates.emplace_back(rec.name, cert);
        (rec.role == "root" ? anchors.roots : anchors.intermediates).push_back(std::move(cert));
    }
    // Read per signature (and per check of the units), not cached: a revocation by another
    // process (`selo ca revoke`) counts from the next postmark on.
    certificate_status_ =
        [this, cas = std::move(ca_certificates)](
            const pki::Certificate& issuing_ca,
            std::string_view serial_hex) -> Result<std::optional<pki::CertificateStatus>> {
        for (const auto& [name, cert] : cas) {
            if (cert.der() == issuing_ca.der()) {
                return certificates_.status(name, serial_hex);
            }
        }
        return std::optional<pki::CertificateStatus>{};  // not issued by a CA of this instance
    };
    postmarks_ = std::make_unique<tsa::PostmarkService>(
        epcm_repo_, *tsa_, log_.get(), std::move(anchors), certificate_status_,
        [this] { return tsa_unit_certificates(); }, clock_, rng_);
    return {};
}

}  // namespace selo::cli
