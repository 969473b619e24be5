#include "cli/data_dir.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>

#include "core/log.hpp"
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

Result<void> check_url(std::string_view url) {
    if (!(url.starts_with("http://") || url.starts_with("https://")) || url.size() < 10 ||
        url.find_first_of(" \t\r\n\"<>") != std::string_view::npos) {
        return fail(ErrorCode::invalid_argument,
                    "--public-url '{}' must be an absolute http:// or https:// URL", url);
    }
    return {};
}

}  // namespace

bool is_data_directory(const fs::path& dir) {
    std::error_code ec;
    return fs::exists(dir / kConfigFile, ec);
}

Result<void> initialise_data_directory(const fs::path& dir, const InitOptions& options,
                                       const Clock& clock, Rng& rng) {
    SELO_TRY_VOID(check_url(options.public_url));
    std::error_code ec;
    Config config;
    if (is_data_directory(dir) || fs::exists(dir / config.keys.master_key_file, ec) ||
        fs::exists(dir / config.database.path, ec)) {
        return fail(ErrorCode::conflict,
                    "{} already holds a Selo data directory; refusing to touch it (use another "
                    "directory, or `selo serve --data {}` to run it)",
                    dir.string(), dir.string());
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
    config.pki.organization = options.organization;
    config.pki.country = options.country;
    for (const auto& a : pki::default_authorities(config.pki.organization)) {
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
        store::SqlSealedKeyRepository sealed(*db, clock);
        store::SqlCaRepository cas(*db);
        store::SqlCertificateRepository certs(*db);
        crypto::SoftwareKeyStore keys(sealed, master, rng);
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
        return write_file_atomically(dir / kConfigFile, render_config(config), 0600);
    };
    auto r = build();
    if (!r) {
        cleanup();
        return r;
    }
    return {};
}

Result<pki::HierarchySpec> hierarchy_of(const Config& config) {
    pki::HierarchySpec spec{config.pki.country, config.pki.organization, config.server.public_url, {}};
    if (config.pki.authorities.empty()) {
        spec.authorities = pki::default_authorities(config.pki.organization);
        return spec;
    }
    for (const auto& a : config.pki.authorities) {
        auto key = SELO_TRY(crypto::key_type_from_name(a.key));
        for (const auto& p : a.profiles) {
            SELO_TRY(pki::find_profile(p));
        }
        spec.authorities.push_back({a.name, a.role, a.parent, a.common_name, key, a.profiles});
    }
    return spec;
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
      clock_(clock), rng_(rng), sealed_keys_(*db_, clock), cas_(*db_), certificates_(*db_),
      account_repo_(*db_), credentials_(*db_), sessions_(*db_), activations_(*db_),
      keys_(sealed_keys_, master_, rng) {}

Result<std::unique_ptr<Runtime>> Runtime::open(const fs::path& dir, const Clock& clock, Rng& rng) {
    if (!is_data_directory(dir)) {
        return fail(ErrorCode::not_found,
                    "{} is not a Selo data directory (no {}); create one with `selo init --data {}`",
                    dir.string(), kConfigFile, dir.string());
    }
    auto config = SELO_TRY(load_config(dir / kConfigFile));
    auto master = SELO_TRY(crypto::MasterKey::load(dir / config.keys.master_key_file));
    auto db = SELO_TRY(store::open_sqlite(dir / config.database.path));
    SELO_TRY_VOID(store::migrate(*db));
    std::unique_ptr<Runtime> rt(
        new Runtime(dir, std::move(config), std::move(master), std::move(db), clock, rng));

    // CAs added to the configuration since the last start are created now.
    auto spec = SELO_TRY(hierarchy_of(rt->config_));
    SELO_TRY_VOID(rt->db_->transaction([&]() -> Result<void> {
        return pki::ensure_hierarchy(spec, rt->keys_, rt->cas_, rt->certificates_, clock, rng);
    }));
    for (const auto& a : spec.authorities) {
        auto rec = SELO_TRY(rt->cas_.find(a.name));
        if (!rec) {
            return fail(ErrorCode::internal, "CA '{}' is missing from the database", a.name);
        }
        rt->authorities_.emplace(
            a.name, SELO_TRY(pki::CertificateAuthority::load(
                        *rec, pki::CaContext{rt->keys_, rt->certificates_, clock, rng,
                                             rt->config_.server.public_url},
                        a.role == "root" ? std::vector<std::string>{std::string(pki::kProfileIssuingCa)}
                                         : a.profiles)));
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

    rt->accounts_ = std::make_unique<account::AccountService>(rt->account_repo_, rt->sessions_,
                                                              rt->master_, clock, rng);
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
    return rt;
}

}  // namespace selo::cli
