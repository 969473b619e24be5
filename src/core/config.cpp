#include "core/config.hpp"

#include <algorithm>
#include <fstream>
#include <limits>
#include <set>
#include <sstream>

#include <toml++/toml.h>

#include "core/country.hpp"

namespace selo {
namespace {

class Reader {
public:
    explicit Reader(std::string_view source) : source_(source) {}

    template <typename T>
    Result<void> get(const toml::table& t, std::string_view section, std::string_view key, T& out) {
        seen_.insert(fmt::format("{}.{}", section, key));
        const toml::node* n = t.get(key);
        if (n == nullptr) {
            return {};
        }
        if constexpr (std::is_same_v<T, bool>) {
            if (auto v = n->value<bool>()) {
                out = *v;
                return {};
            }
            return fail(ErrorCode::invalid_argument, "{}: [{}] {} must be true or false", source_,
                        section, key);
        } else if constexpr (std::is_same_v<T, std::string>) {
            if (auto v = n->value<std::string>()) {
                out = *v;
                return {};
            }
            return fail(ErrorCode::invalid_argument, "{}: [{}] {} must be a string", source_,
                        section, key);
        } else {
            auto v = n->value<std::int64_t>();
            if (!v || *v < 0 ||
                static_cast<std::uint64_t>(*v) > static_cast<std::uint64_t>(std::numeric_limits<T>::max())) {
                return fail(ErrorCode::invalid_argument,
                            "{}: [{}] {} must be a non-negative integer in range", source_, section,
                            key);
            }
            out = static_cast<T>(*v);
            return {};
        }
    }

    void mark(std::string name) { seen_.insert(std::move(name)); }

    Result<void> get_strings(const toml::table& t, std::string_view section, std::string_view key,
                             std::vector<std::string>& out) {
        seen_.insert(fmt::format("{}.{}", section, key));
        const toml::node* n = t.get(key);
        if (n == nullptr) {
            return {};
        }
        const toml::array* arr = n->as_array();
        if (arr == nullptr) {
            return fail(ErrorCode::invalid_argument, "{}: [{}] {} must be a list of strings", source_,
                        section, key);
        }
        out.clear();
        for (const auto& item : *arr) {
            auto v = item.value<std::string>();
            if (!v) {
                return fail(ErrorCode::invalid_argument, "{}: [{}] {} must be a list of strings",
                            source_, section, key);
            }
            out.push_back(*v);
        }
        return {};
    }

    // Unknown keys inside one table of an array of tables.
    Result<void> check_unknown_in(const toml::table& t, std::string_view section) {
        for (auto&& [key, value] : t) {
            (void)value;
            if (!seen_.contains(fmt::format("{}.{}", section, key.str()))) {
                return fail(ErrorCode::invalid_argument, "{}: unknown setting [{}] {}", source_,
                            section, key.str());
            }
        }
        return {};
    }

    Result<void> check_unknown(const toml::table& root) {
        for (auto&& [section, node] : root) {
            const auto* t = node.as_table();
            if (t == nullptr) {
                return fail(ErrorCode::invalid_argument, "{}: top-level key '{}' is not a section",
                            source_, section.str());
            }
            for (auto&& [key, value] : *t) {
                (void)value;
                std::string name = fmt::format("{}.{}", section.str(), key.str());
                if (!seen_.contains(name)) {
                    return fail(ErrorCode::invalid_argument, "{}: unknown setting [{}] {}",
                                source_, section.str(), key.str());
                }
            }
        }
        return {};
    }

private:
    std::string source_;
    std::set<std::string> seen_;
};

const toml::table& section_of(const toml::table& root, std::string_view name) {
    static const toml::table empty;
    if (const auto* t = root.get_as<toml::table>(name)) {
        return *t;
    }
    return empty;
}

// One [[pki.profile]] table: every value optional, its type checked, unknown keys refused;
// messages name the profile and the key.
class ProfileReader {
public:
    ProfileReader(const toml::table& t, std::string_view source, std::string_view name)
        : t_(t), where_(fmt::format("{}: [[pki.profile]] '{}'", source, name)) {}

    Result<void> text(std::string_view key, std::optional<std::string>& out) {
        const toml::node* n = node(key);
        if (n == nullptr) {
            return {};
        }
        if (!n->is_string()) {
            return bad(key, "must be a string");
        }
        out = *n->value<std::string>();
        return {};
    }
    Result<void> flag(std::string_view key, std::optional<bool>& out) {
        const toml::node* n = node(key);
        if (n == nullptr) {
            return {};
        }
        if (!n->is_boolean()) {
            return bad(key, "must be true or false");
        }
        out = *n->value<bool>();
        return {};
    }
    Result<void> number(std::string_view key, std::optional<std::uint32_t>& out) {
        const toml::node* n = node(key);
        if (n == nullptr) {
            return {};
        }
        auto v = n->value<std::int64_t>();
        if (!n->is_integer() || !v || *v < 0 || *v > std::numeric_limits<std::uint32_t>::max()) {
            return bad(key, "must be a non-negative integer");
        }
        out = static_cast<std::uint32_t>(*v);
        return {};
    }
    Result<void> list(std::string_view key, std::optional<std::vector<std::string>>& out) {
        const toml::node* n = node(key);
        if (n == nullptr) {
            return {};
        }
        const toml::array* arr = n->as_array();
        if (arr == nullptr) {
            return bad(key, "must be a list of strings");
        }
        std::vector<std::string> values;
        for (const auto& item : *arr) {
            if (!item.is_string()) {
                return bad(key, "must be a list of strings");
            }
            values.push_back(*item.value<std::string>());
        }
        out = std::move(values);
        return {};
    }
    Result<void> pds(std::string_view key, std::optional<std::vector<ProfilePdsConfig>>& out) {
        const toml::node* n = node(key);
        if (n == nullptr) {
            return {};
        }
        const toml::array* arr = n->as_array();
        if (arr == nullptr) {
            return bad(key, "must be a list of { url = \"https://...\", language = \"en\" }");
        }
        std::vector<ProfilePdsConfig> values;
        for (const auto& item : *arr) {
            const toml::table* t = item.as_table();
            if (t == nullptr) {
                return bad(key, "must be a list of { url = \"https://...\", language = \"en\" }");
            }
            ProfilePdsConfig p;
            for (auto&& [k, v] : *t) {
                if (k.str() == "url" && v.is_string()) {
                    p.url = *v.value<std::string>();
                } else if (k.str() == "language" && v.is_string()) {
                    p.language = *v.value<std::string>();
                } else {
                    return bad(key, fmt::format("has '{}': each entry has only url and language (strings)",
                                                k.str()));
                }
            }
            if (p.url.empty() || p.language.empty()) {
                return bad(key, "entries need both url and language");
            }
            values.push_back(std::move(p));
        }
        out = std::move(values);
        return {};
    }
    Result<void> check_unknown() {
        for (auto&& [key, value] : t_) {
            (void)value;
            if (!seen_.contains(std::string(key.str()))) {
                return fail(ErrorCode::invalid_argument, "{}: unknown setting {}", where_, key.str());
            }
        }
        return {};
    }

private:
    const toml::node* node(std::string_view key) {
        seen_.insert(std::string(key));
        return t_.get(key);
    }
    std::unexpected<Error> bad(std::string_view key, std::string_view what) {
        return fail(ErrorCode::invalid_argument, "{} {} {}", where_, key, what);
    }
    const toml::table& t_;
    std::string where_;
    std::set<std::string> seen_;
};

Result<ProfileConfig> read_profile(const toml::table& t, std::string_view source) {
    ProfileConfig p;
    const toml::node* name = t.get("name");
    if (name == nullptr || !name->is_string() || name->value<std::string>()->empty()) {
        return fail(ErrorCode::invalid_argument, "{}: [[pki.profile]] needs a name (a string)", source);
    }
    p.name = *name->value<std::string>();
    if (p.name.find_first_not_of("abcdefghijklmnopqrstuvwxyz0123456789-") != std::string::npos) {
        return fail(ErrorCode::invalid_argument,
                    "{}: [[pki.profile]] name '{}' must be lower-case letters, digits and -", source, p.name);
    }
    ProfileReader r(t, source, p.name);
    std::optional<std::string> ignored, base;
    SELO_TRY_VOID(r.text("name", ignored));
    SELO_TRY_VOID(r.text("base", base));
    p.base = base.value_or("");
    SELO_TRY_VOID(r.list("subject_required", p.subject_required));
    SELO_TRY_VOID(r.list("subject_allowed", p.subject_allowed));
    SELO_TRY_VOID(r.list("serial_number_forms", p.serial_number_forms));
    SELO_TRY_VOID(r.list("organization_identifier_forms", p.organization_identifier_forms));
    SELO_TRY_VOID(r.list("key_usage", p.key_usage));
    SELO_TRY_VOID(r.list("extended_key_usage", p.extended_key_usage));
    SELO_TRY_VOID(r.flag("extended_key_usage_critical", p.extended_key_usage_critical));
    SELO_TRY_VOID(r.list("policies", p.policies));
    SELO_TRY_VOID(r.flag("qc_compliance", p.qc_compliance));
    SELO_TRY_VOID(r.flag("qc_sscd", p.qc_sscd));
    SELO_TRY_VOID(r.text("qc_type", p.qc_type));
    SELO_TRY_VOID(r.pds("qc_pds", p.qc_pds));
    SELO_TRY_VOID(r.number("qc_retention_years", p.qc_retention_years));
    SELO_TRY_VOID(r.list("qc_legislation", p.qc_legislation));
    SELO_TRY_VOID(r.text("qc_semantics", p.qc_semantics));
    SELO_TRY_VOID(r.flag("aia_ca_issuers", p.aia_ca_issuers));
    SELO_TRY_VOID(r.flag("aia_ocsp", p.aia_ocsp));
    SELO_TRY_VOID(r.flag("crl_distribution_point", p.crl_distribution_point));
    SELO_TRY_VOID(r.number("validity_days", p.validity_days));
    SELO_TRY_VOID(r.check_unknown());
    return p;
}

}  // namespace

Result<Config> parse_config(std::string_view toml_text, std::string_view source_name) {
    toml::table root;
    try {
        root = toml::parse(toml_text, source_name);
    } catch (const toml::parse_error& e) {
        return fail(ErrorCode::malformed, "{}:{}:{}: {}", source_name, e.source().begin.line,
                    e.source().begin.column, e.description());
    }
    Config c;
    Reader r(source_name);
    const auto& server = section_of(root, "server");
    SELO_TRY_VOID(r.get(server, "server", "listen", c.server.listen));
    SELO_TRY_VOID(r.get(server, "server", "public_url", c.server.public_url));
    SELO_TRY_VOID(r.get(server, "server", "io_threads", c.server.io_threads));
    SELO_TRY_VOID(r.get(server, "server", "worker_threads", c.server.worker_threads));
    SELO_TRY_VOID(r.get(server, "server", "tls", c.server.tls));
    SELO_TRY_VOID(r.get(server, "server", "tls_certificate_file", c.server.tls_certificate_file));
    SELO_TRY_VOID(r.get(server, "server", "tls_key_file", c.server.tls_key_file));
    SELO_TRY_VOID(r.get_strings(server, "server", "tls_names", c.server.tls_names));
    SELO_TRY_VOID(r.get(server, "server", "repository_listen", c.server.repository_listen));
    SELO_TRY_VOID(r.get(server, "server", "repository_url", c.server.repository_url));
    const auto& http = section_of(root, "http");
    SELO_TRY_VOID(r.get(http, "http", "max_header_bytes", c.http.max_header_bytes));
    SELO_TRY_VOID(r.get(http, "http", "max_body_bytes", c.http.max_body_bytes));
    SELO_TRY_VOID(r.get(http, "http", "max_document_body_bytes", c.http.max_document_body_bytes));
    SELO_TRY_VOID(r.get(http, "http", "header_timeout_seconds", c.http.header_timeout_seconds));
    SELO_TRY_VOID(r.get(http, "http", "body_timeout_seconds", c.http.body_timeout_seconds));
    SELO_TRY_VOID(r.get(http, "http", "idle_timeout_seconds", c.http.idle_timeout_seconds));
    SELO_TRY_VOID(r.get(http, "http", "max_keepalive_requests", c.http.max_keepalive_requests));
    SELO_TRY_VOID(r.get(http, "http", "large_body_bytes", c.http.large_body_bytes));
    SELO_TRY_VOID(r.get(http, "http", "max_concurrent_large_bodies", c.http.max_concurrent_large_bodies));
    const auto& db = section_of(root, "database");
    SELO_TRY_VOID(r.get(db, "database", "backend", c.database.backend));
    SELO_TRY_VOID(r.get(db, "database", "path", c.database.path));
    const auto& keys = section_of(root, "keys");
    SELO_TRY_VOID(r.get(keys, "keys", "backend", c.keys.backend));
    SELO_TRY_VOID(r.get(keys, "keys", "master_key_file", c.keys.master_key_file));
    SELO_TRY_VOID(r.get(keys, "keys", "pkcs11_module", c.keys.pkcs11_module));
    SELO_TRY_VOID(r.get(keys, "keys", "pkcs11_token_label", c.keys.pkcs11_token_label));
    SELO_TRY_VOID(r.get(keys, "keys", "pkcs11_pin_source", c.keys.pkcs11_pin_source));
    const auto& cs = section_of(root, "cloudsign");
    SELO_TRY_VOID(r.get(cs, "cloudsign", "sad_lifetime_seconds", c.cloudsign.sad_lifetime_seconds));
    SELO_TRY_VOID(r.get(cs, "cloudsign", "max_signatures_per_sad", c.cloudsign.max_signatures_per_sad));
    SELO_TRY_VOID(r.get(cs, "cloudsign", "access_token_lifetime_seconds",
                        c.cloudsign.access_token_lifetime_seconds));
    SELO_TRY_VOID(r.get(cs, "cloudsign", "certificate_validity_days",
                        c.cloudsign.certificate_validity_days));
    SELO_TRY_VOID(r.get(cs, "cloudsign", "pin_kdf_memory_kib", c.cloudsign.pin_kdf.memory_kib));
    SELO_TRY_VOID(r.get(cs, "cloudsign", "pin_kdf_iterations", c.cloudsign.pin_kdf.iterations));
    SELO_TRY_VOID(r.get(cs, "cloudsign", "pin_kdf_parallelism", c.cloudsign.pin_kdf.parallelism));
    SELO_TRY_VOID(r.get(cs, "cloudsign", "signing_ca", c.cloudsign.signing_ca));
    const auto& acc = section_of(root, "accounts");
    SELO_TRY_VOID(r.get(acc, "accounts", "common_passwords", c.accounts.common_passwords));
    SELO_TRY_VOID(r.get(acc, "accounts", "lockout_threshold", c.accounts.lockout_threshold));
    SELO_TRY_VOID(r.get(acc, "accounts", "lockout_first_seconds", c.accounts.lockout_first_seconds));
    SELO_TRY_VOID(r.get(acc, "accounts", "lockout_longest_seconds", c.accounts.lockout_longest_seconds));
    SELO_TRY_VOID(r.get(acc, "accounts", "slip_window_seconds", c.accounts.slip_window_seconds));
    SELO_TRY_VOID(r.get(acc, "accounts", "activation_code_days", c.accounts.activation_code_days));
    SELO_TRY_VOID(r.get(acc, "accounts", "activation_code_attempts", c.accounts.activation_code_attempts));
    if (c.accounts.lockout_threshold == 0 || c.accounts.lockout_first_seconds == 0 ||
        c.accounts.lockout_longest_seconds < c.accounts.lockout_first_seconds) {
        return fail(ErrorCode::invalid_argument,
                    "{}: [accounts] lockout_threshold and lockout_first_seconds must be at least 1, "
                    "lockout_longest_seconds at least lockout_first_seconds",
                    source_name);
    }
    if (c.accounts.slip_window_seconds == 0 || c.accounts.activation_code_days == 0 ||
        c.accounts.activation_code_attempts == 0) {
        return fail(ErrorCode::invalid_argument,
                    "{}: [accounts] slip_window_seconds, activation_code_days and "
                    "activation_code_attempts must be at least 1",
                    source_name);
    }
    const auto& pki = section_of(root, "pki");
    SELO_TRY_VOID(r.get(pki, "pki", "country", c.pki.country));
    SELO_TRY_VOID(r.get(pki, "pki", "organization", c.pki.organization));
    SELO_TRY_VOID(r.get(pki, "pki", "organization_identifier", c.pki.organization_identifier));
    {
        const std::string& oi = c.pki.organization_identifier;
        bool shape = oi.size() >= 7 && oi[5] == '-' &&
                     std::all_of(oi.begin(), oi.begin() + 3, [](char ch) { return ch >= 'A' && ch <= 'Z'; }) &&
                     is_identifier_country(std::string_view(oi).substr(0, 3), std::string_view(oi).substr(3, 2)) &&
                     std::all_of(oi.begin() + 6, oi.end(), [](unsigned char ch) { return ch > 0x20 && ch < 0x7f; });
        if (!shape) {
            return fail(ErrorCode::invalid_argument,
                        "{}: [pki] organization_identifier '{}' is not type + country + '-' + "
                        "identifier (e.g. NTRMO-12345, EN 319 412-1 §5.1.4)",
                        source_name, oi);
        }
    }
    SELO_TRY_VOID(r.get(pki, "pki", "offline_root", c.pki.offline_root));
    r.mark("pki.authority");
    if (const toml::node* list = pki.get("authority")) {
        const toml::array* arr = list->as_array();
        if (arr == nullptr || !arr->is_array_of_tables()) {
            return fail(ErrorCode::invalid_argument, "{}: [[pki.authority]] must be tables", source_name);
        }
        std::set<std::string> names;
        for (const auto& item : *arr) {
            const toml::table& t = *item.as_table();
            AuthorityConfig a;
            Reader ar(source_name);
            SELO_TRY_VOID(ar.get(t, "pki.authority", "name", a.name));
            SELO_TRY_VOID(ar.get(t, "pki.authority", "role", a.role));
            SELO_TRY_VOID(ar.get(t, "pki.authority", "parent", a.parent));
            SELO_TRY_VOID(ar.get(t, "pki.authority", "common_name", a.common_name));
            SELO_TRY_VOID(ar.get(t, "pki.authority", "key", a.key));
            SELO_TRY_VOID(ar.get_strings(t, "pki.authority", "profiles", a.profiles));
            SELO_TRY_VOID(ar.check_unknown_in(t, "pki.authority"));
            if (a.name.empty() || a.name.find_first_not_of("abcdefghijklmnopqrstuvwxyz0123456789-") != std::string::npos) {
                return fail(ErrorCode::invalid_argument,
                            "{}: [[pki.authority]] name '{}' must be lower-case letters, digits and -",
                            source_name, a.name);
            }
            if (a.role != "root" && a.role != "issuing") {
                return fail(ErrorCode::invalid_argument, "{}: CA '{}' role must be root or issuing",
                            source_name, a.name);
            }
            if (a.role == "issuing" && !names.contains(a.parent)) {
                return fail(ErrorCode::invalid_argument,
                            "{}: CA '{}' needs a parent listed before it (got '{}')", source_name,
                            a.name, a.parent);
            }
            if (a.common_name.empty()) {
                return fail(ErrorCode::invalid_argument, "{}: CA '{}' needs a common_name", source_name, a.name);
            }
            if (!names.insert(a.name).second) {
                return fail(ErrorCode::invalid_argument, "{}: CA '{}' is listed twice", source_name, a.name);
            }
            c.pki.authorities.push_back(std::move(a));
        }
    }
    r.mark("pki.profile");
    if (const toml::node* list = pki.get("profile")) {
        const toml::array* arr = list->as_array();
        if (arr == nullptr || !arr->is_array_of_tables()) {
            return fail(ErrorCode::invalid_argument, "{}: [[pki.profile]] must be tables", source_name);
        }
        std::set<std::string> names;
        for (const auto& item : *arr) {
            auto p = SELO_TRY(read_profile(*item.as_table(), source_name));
            if (!names.insert(p.name).second) {
                return fail(ErrorCode::invalid_argument, "{}: [[pki.profile]] '{}' is listed twice",
                            source_name, p.name);
            }
            c.pki.profiles.push_back(std::move(p));
        }
    }
    const auto& sb = section_of(root, "sepbox");
    SELO_TRY_VOID(r.get(sb, "sepbox", "max_message_bytes", c.sepbox.max_message_bytes));
    SELO_TRY_VOID(r.get(sb, "sepbox", "max_attachments", c.sepbox.max_attachments));
    SELO_TRY_VOID(r.get(sb, "sepbox", "max_recipients", c.sepbox.max_recipients));
    SELO_TRY_VOID(r.get(sb, "sepbox", "notice_interval_seconds", c.sepbox.notice_interval_seconds));
    SELO_TRY_VOID(r.get(sb, "sepbox", "seal_ca", c.sepbox.seal_ca));
    const auto& smtp = section_of(root, "smtp");
    SELO_TRY_VOID(r.get(smtp, "smtp", "host", c.smtp.host));
    SELO_TRY_VOID(r.get(smtp, "smtp", "port", c.smtp.port));
    SELO_TRY_VOID(r.get(smtp, "smtp", "from", c.smtp.from));
    SELO_TRY_VOID(r.get(smtp, "smtp", "helo_name", c.smtp.helo_name));
    SELO_TRY_VOID(r.get(smtp, "smtp", "timeout_seconds", c.smtp.timeout_seconds));
    const auto& tsa = section_of(root, "tsa");
    SELO_TRY_VOID(r.get(tsa, "tsa", "policy", c.tsa.policy));
    SELO_TRY_VOID(r.get_strings(tsa, "tsa", "accepted_policies", c.tsa.accepted_policies));
    SELO_TRY_VOID(r.get(tsa, "tsa", "accuracy_ms", c.tsa.accuracy_ms));
    SELO_TRY_VOID(r.get(tsa, "tsa", "key", c.tsa.key));
    SELO_TRY_VOID(r.get(tsa, "tsa", "issuer", c.tsa.issuer));
    const auto& log_section = section_of(root, "log");
    SELO_TRY_VOID(r.get(log_section, "log", "tree_head_interval_seconds", c.log.tree_head_interval_seconds));
    SELO_TRY_VOID(r.check_unknown(root));
    if (c.sepbox.max_message_bytes == 0 || c.sepbox.max_message_bytes > 1024ull * 1024 * 1024 ||
        c.sepbox.max_recipients == 0 || c.sepbox.notice_interval_seconds == 0) {
        return fail(ErrorCode::invalid_argument,
                    "{}: [sepbox] max_message_bytes must be 1 to 1 GiB, max_recipients and "
                    "notice_interval_seconds at least 1", source_name);
    }
    if (c.smtp.port == 0 || c.smtp.port > 65535 || c.smtp.timeout_seconds == 0 ||
        c.smtp.from.find('@') == std::string::npos) {
        return fail(ErrorCode::invalid_argument,
                    "{}: [smtp] needs a port 1-65535, a timeout of at least 1 s and a from address",
                    source_name);
    }

    if (c.database.backend != "sqlite") {
        return fail(ErrorCode::unsupported, "{}: [database] backend '{}' is not supported (sqlite)",
                    source_name, c.database.backend);
    }
    if (c.keys.backend != "software" && c.keys.backend != "pkcs11") {
        return fail(ErrorCode::unsupported,
                    "{}: [keys] backend '{}' is not supported (software or pkcs11)", source_name,
                    c.keys.backend);
    }
    if (c.keys.backend == "pkcs11") {
        if (c.keys.pkcs11_module.empty() || c.keys.pkcs11_token_label.empty() ||
            c.keys.pkcs11_pin_source.empty()) {
            return fail(ErrorCode::invalid_argument,
                        "{}: [keys] backend \"pkcs11\" needs pkcs11_module, pkcs11_token_label and "
                        "pkcs11_pin_source",
                        source_name);
        }
        if (!c.keys.pkcs11_pin_source.starts_with("file:") &&
            !c.keys.pkcs11_pin_source.starts_with("env:")) {
            return fail(ErrorCode::invalid_argument,
                        "{}: [keys] pkcs11_pin_source must be \"file:PATH\" or \"env:NAME\"",
                        source_name);
        }
    }
    if (c.server.tls_certificate_file.empty() != c.server.tls_key_file.empty()) {
        return fail(ErrorCode::invalid_argument,
                    "{}: [server] tls_certificate_file and tls_key_file go together", source_name);
    }
    if (!c.server.tls_certificate_file.empty()) {
        c.server.tls = true;
    }
    // Status URLs are plain http (RFC 5280 §4.2.1.13, §4.2.2.1): fetching a certificate's status
    // over TLS would need that status first. Nothing after the authority: paths are appended.
    if (const auto& u = c.server.repository_url; !u.empty()) {
        std::string_view rest = std::string_view(u).substr(std::min<std::size_t>(u.size(), 7));
        if (!u.starts_with("http://") || rest.empty() ||
            rest.find_first_of("/?#@ ") != std::string_view::npos) {
            return fail(ErrorCode::invalid_argument,
                        "{}: [server] repository_url = \"{}\": must be http://HOST[:PORT], "
                        "without a path (status URLs are plain http, RFC 5280 §4.2.1.13)",
                        source_name, u);
        }
    }
    if (const auto& l = c.server.repository_listen; !l.empty()) {
        if (l.rfind(':') == std::string::npos || l.back() == ':') {
            return fail(ErrorCode::invalid_argument,
                        "{}: [server] repository_listen = \"{}\": expected HOST:PORT", source_name, l);
        }
        if (l == c.server.listen) {
            return fail(ErrorCode::invalid_argument,
                        "{}: [server] repository_listen is the same address as listen ({})",
                        source_name, l);
        }
        if (c.server.repository_url.empty()) {
            return fail(ErrorCode::invalid_argument,
                        "{}: [server] repository_listen needs repository_url (the http:// URL "
                        "certificates name for it)", source_name);
        }
    }
    if (c.cloudsign.sad_lifetime_seconds == 0 || c.cloudsign.sad_lifetime_seconds > 300) {
        return fail(ErrorCode::invalid_argument,
                    "{}: [cloudsign] sad_lifetime_seconds must be between 1 and 300", source_name);
    }
    if (c.cloudsign.max_signatures_per_sad == 0 || c.cloudsign.max_signatures_per_sad > 1000) {
        return fail(ErrorCode::invalid_argument,
                    "{}: [cloudsign] max_signatures_per_sad must be between 1 and 1000", source_name);
    }
    if (c.cloudsign.pin_kdf.memory_kib < 8 * c.cloudsign.pin_kdf.parallelism ||
        c.cloudsign.pin_kdf.iterations == 0 || c.cloudsign.pin_kdf.parallelism == 0) {
        return fail(ErrorCode::invalid_argument, "{}: [cloudsign] PIN KDF parameters are too weak",
                    source_name);
    }
    if (!is_iso3166_alpha2(c.pki.country)) {
        return fail(ErrorCode::invalid_argument,
                    "{}: [pki] country '{}' is not an ISO 3166-1 alpha-2 code (e.g. MO)", source_name,
                    c.pki.country);
    }
    if (c.log.tree_head_interval_seconds == 0 || c.log.tree_head_interval_seconds > 86400) {
        return fail(ErrorCode::invalid_argument,
                    "{}: [log] tree_head_interval_seconds must be between 1 and 86400", source_name);
    }
    if (c.tsa.accuracy_ms > 60 * 60 * 1000) {
        return fail(ErrorCode::invalid_argument,
                    "{}: [tsa] accuracy_ms must be at most 3600000 (one hour)", source_name);
    }
    return c;
}

Result<Config> load_config(const std::filesystem::path& file) {
    std::ifstream in(file, std::ios::binary);
    if (!in) {
        return fail(ErrorCode::not_found, "cannot read configuration {}", file.string());
    }
    std::stringstream ss;
    ss << in.rdbuf();
    return parse_config(ss.str(), file.string());
}

namespace {
template <typename Quote>
std::string render_authorities(const std::vector<AuthorityConfig>& list, Quote q) {
    std::string out;
    if (!list.empty()) {
        out += "\n# The CA hierarchy, parents before children. Adding a CA here creates it (key and\n"
               "# certificate) the next time Selo starts; removing one does not delete it.\n";
    }
    for (const auto& a : list) {
        std::string profiles;
        for (const auto& p : a.profiles) {
            profiles += (profiles.empty() ? "" : ", ") + q(p);
        }
        out += fmt::format("\n[[pki.authority]]\nname = {}\nrole = {}\n", q(a.name), q(a.role));
        if (!a.parent.empty()) {
            out += fmt::format("parent = {}\n", q(a.parent));
        }
        out += fmt::format("common_name = {}\nkey = {}\nprofiles = [{}]\n", q(a.common_name),
                           q(a.key), profiles);
    }
    return out;
}
// [sepbox] and [smtp] are written as comments showing the defaults, so that a deployment (or a
// test) adds the sections it changes without redefining a table.
template <typename Quote>
std::string render_sepbox(const Config& c, Quote q) {
    return fmt::format(
        R"(
# SEPBox limits: the largest message accepted (subject, bodies and attachments together), and
# how often `selo serve` sends new-mail notices and closes official letters past reply-by.
# [sepbox]
# max_message_bytes = {}
# max_attachments = {}
# max_recipients = {}
# notice_interval_seconds = {}
# seal_ca = {}

# The relay for new-mail notices. Without a host, notices wait in the outbox until one is set.
# [smtp]
# host = "mail.example.mo"
# port = {}
# from = {}
# helo_name = {}
# timeout_seconds = {}
)",
        c.sepbox.max_message_bytes, c.sepbox.max_attachments, c.sepbox.max_recipients,
        c.sepbox.notice_interval_seconds, q(c.sepbox.seal_ca), c.smtp.port, q(c.smtp.from), q(c.smtp.helo_name),
        c.smtp.timeout_seconds);
}
// [accounts] likewise: commented defaults, to be uncommented where a deployment differs.
template <typename Quote>
std::string render_accounts(const AccountsConfig& a, Quote q) {
    return fmt::format(
        R"(
# Sign-in and counter settings: the common-password list the password policy refuses; lockout
# after lockout_threshold failures (password, OTP, PIN, client secret) for lockout_first_seconds,
# doubled per further failure up to lockout_longest_seconds; how long after enrolment the slip
# (with the one-time password) can be fetched, once; the eSignCloud activation code's lifetime
# and the wrong entries that void it.
# [accounts]
# common_passwords = {}
# lockout_threshold = {}
# lockout_first_seconds = {}
# lockout_longest_seconds = {}
# slip_window_seconds = {}
# activation_code_days = {}
# activation_code_attempts = {}
)",
        q(a.common_passwords), a.lockout_threshold, a.lockout_first_seconds, a.lockout_longest_seconds,
        a.slip_window_seconds, a.activation_code_days, a.activation_code_attempts);
}

template <typename Quote>
std::string render_tls_files(const ServerConfig& s, Quote q) {
    std::string out;
    if (!s.tls_certificate_file.empty()) {
        out += fmt::format("tls_certificate_file = {}\ntls_key_file = {}\n", q(s.tls_certificate_file),
                           q(s.tls_key_file));
    } else {
        out += "# tls_certificate_file = \"server.pem\"\n# tls_key_file = \"server.key\"\n";
    }
    std::string names;
    for (const auto& n : s.tls_names) {
        names += (names.empty() ? "" : ", ") + q(n);
    }
    out += fmt::format("tls_names = [{}]\n", names);
    out += "# Plain-http listener for CA certificates, CRLs and OCSP only (everything else: 404), and\n"
           "# the http:// base URL certificates name for them (empty: public_url).\n";
    out += fmt::format("repository_listen = {}\nrepository_url = {}", q(s.repository_listen),
                       q(s.repository_url));
    return out;
}

template <typename Quote>
std::string render_pkcs11(const KeysConfig& k, Quote q) {
    if (k.backend != "pkcs11") {
        return "# With backend = \"pkcs11\": pkcs11_module (the token's library), pkcs11_token_label,\n"
               "# and pkcs11_pin_source (\"file:PATH\", owner-only, or \"env:NAME\").";
    }
    return fmt::format("# CA and responder keys are generated inside this token and never leave it.\n"
                       "pkcs11_module = {}\npkcs11_token_label = {}\npkcs11_pin_source = {}",
                       q(k.pkcs11_module), q(k.pkcs11_token_label), q(k.pkcs11_pin_source));
}

template <typename Quote>
std::string render_tsa(const TsaConfig& t, Quote q) {
    std::string accepted;
    for (const auto& p : t.accepted_policies) {
        accepted += (accepted.empty() ? "" : ", ") + q(p);
    }
    return fmt::format(
        "\n[tsa]\n"
        "# RFC 3161 time-stamping (POST /tsa). Tokens carry this policy; a request may name it or\n"
        "# one of accepted_policies, any other policy is refused (unacceptedPolicy).\n"
        "policy = {}\naccepted_policies = [{}]\n"
        "# TSTInfo.accuracy in milliseconds (0: not stated).\naccuracy_ms = {}\n"
        "# The time-stamping unit's key type, and the CA that certifies it (profile \"tsa\").\n"
        "key = {}\nissuer = {}\n",
        q(t.policy), accepted, t.accuracy_ms, q(t.key), q(t.issuer));
}

template <typename Quote>
std::string render_profiles(const std::vector<ProfileConfig>& list, Quote q) {
    std::string out;
    auto strings = [&](const std::vector<std::string>& v) {
        std::string s;
        for (const auto& x : v) {
            s += (s.empty() ? "" : ", ") + q(x);
        }
        return "[" + s + "]";
    };
    for (const auto& p : list) {
        out += fmt::format("\n[[pki.profile]]\nname = {}\n", q(p.name));
        auto text = [&](const char* k, const std::optional<std::string>& v) {
            if (v) {
                out += fmt::format("{} = {}\n", k, q(*v));
            }
        };
        auto flag = [&](const char* k, const std::optional<bool>& v) {
            if (v) {
                out += fmt::format("{} = {}\n", k, *v ? "true" : "false");
            }
        };
        auto list_of = [&](const char* k, const std::optional<std::vector<std::string>>& v) {
            if (v) {
                out += fmt::format("{} = {}\n", k, strings(*v));
            }
        };
        auto number = [&](const char* k, const std::optional<std::uint32_t>& v) {
            if (v) {
                out += fmt::format("{} = {}\n", k, *v);
            }
        };
        if (!p.base.empty()) {
            out += fmt::format("base = {}\n", q(p.base));
        }
        list_of("subject_required", p.subject_required);
        list_of("subject_allowed", p.subject_allowed);
        list_of("serial_number_forms", p.serial_number_forms);
        list_of("organization_identifier_forms", p.organization_identifier_forms);
        list_of("key_usage", p.key_usage);
        list_of("extended_key_usage", p.extended_key_usage);
        flag("extended_key_usage_critical", p.extended_key_usage_critical);
        list_of("policies", p.policies);
        flag("qc_compliance", p.qc_compliance);
        flag("qc_sscd", p.qc_sscd);
        text("qc_type", p.qc_type);
        if (p.qc_pds) {
            std::string pds;
            for (const auto& l : *p.qc_pds) {
                pds += fmt::format("{}{{ url = {}, language = {} }}", pds.empty() ? "" : ", ", q(l.url),
                                   q(l.language));
            }
            out += fmt::format("qc_pds = [{}]\n", pds);
        }
        number("qc_retention_years", p.qc_retention_years);
        list_of("qc_legislation", p.qc_legislation);
        text("qc_semantics", p.qc_semantics);
        flag("aia_ca_issuers", p.aia_ca_issuers);
        flag("aia_ocsp", p.aia_ocsp);
        flag("crl_distribution_point", p.crl_distribution_point);
        number("validity_days", p.validity_days);
    }
    return out;
}

std::string render_log(const LogConfig& l) {
    return fmt::format(
        "\n[log]\n"
        "# The transparency log signs a tree head this often when it has grown (seconds).\n"
        "tree_head_interval_seconds = {}\n",
        l.tree_head_interval_seconds);
}
}  // namespace

const std::string& status_base_url(const ServerConfig& server) {
    return server.repository_url.empty() ? server.public_url : server.repository_url;
}

std::string render_config(const Config& c) {
    auto q = [](const std::string& s) {
        std::ostringstream o;
        o << toml::value<std::string>(s);
        return o.str();
    };
    return fmt::format(
        R"(# Selo configuration. Paths are relative to this data directory.

[server]
# Address `selo serve` listens on when --listen is not given.
listen = {}
# Base URL that issued certificates name (AIA caIssuers; later OCSP and CRL).
public_url = {}
# 0 = one thread per core.
io_threads = {}
worker_threads = {}
# HTTPS: true serves a certificate from the infrastructure CA for the public URL's host (issued
# at start-up, renewed before it expires); tls_certificate_file and tls_key_file (PEM) serve
# those instead. tls_names adds DNS names or IP addresses to the issued certificate. Set false
# behind a TLS-terminating proxy.
tls = {}
{}

[http]
max_header_bytes = {}
max_body_bytes = {}
# signatures/signDoc carries whole documents, so it has its own limit.
max_document_body_bytes = {}
header_timeout_seconds = {}
body_timeout_seconds = {}
idle_timeout_seconds = {}
max_keepalive_requests = {}
# Bodies larger than this (signDoc batches) are read at most max_concurrent_large_bodies at once.
large_body_bytes = {}
max_concurrent_large_bodies = {}

[database]
backend = {}
path = {}

[keys]
backend = {}
# 32 random bytes, readable by the owner only. Without it no key in this directory can be used.
master_key_file = {}
{}

[cloudsign]
# Lifetime of the Signature Activation Data returned by credentials/authorize (at most 300).
sad_lifetime_seconds = {}
max_signatures_per_sad = {}
access_token_lifetime_seconds = {}
certificate_validity_days = {}
# Argon2id cost of deriving a key from a signing PIN (RFC 9106).
pin_kdf_memory_kib = {}
pin_kdf_iterations = {}
pin_kdf_parallelism = {}

# The CA that certifies eSignCloud signing credentials.
signing_ca = {}

[pki]
country = {}
organization = {}
# The operator's organizationIdentifier (NTR + country + '-' + trade-register number), named in
# the SEPBox seal certificate.
organization_identifier = {}
)",
        q(c.server.listen), q(c.server.public_url), c.server.io_threads, c.server.worker_threads,
        c.server.tls ? "true" : "false", render_tls_files(c.server, q),
        c.http.max_header_bytes, c.http.max_body_bytes, c.http.max_document_body_bytes,
        c.http.header_timeout_seconds, c.http.body_timeout_seconds, c.http.idle_timeout_seconds,
        c.http.max_keepalive_requests, c.http.large_body_bytes, c.http.max_concurrent_large_bodies,
        q(c.database.backend), q(c.database.path),
        q(c.keys.backend), q(c.keys.master_key_file), render_pkcs11(c.keys, q),
        c.cloudsign.sad_lifetime_seconds,
        c.cloudsign.max_signatures_per_sad, c.cloudsign.access_token_lifetime_seconds,
        c.cloudsign.certificate_validity_days, c.cloudsign.pin_kdf.memory_kib,
        c.cloudsign.pin_kdf.iterations, c.cloudsign.pin_kdf.parallelism,
        q(c.cloudsign.signing_ca), q(c.pki.country), q(c.pki.organization),
        q(c.pki.organization_identifier)) +
        (c.pki.offline_root ? "# Offline root (selo ca ceremony): never served.\noffline_root = true\n"
                            : "") +
        render_accounts(c.accounts, q) + render_sepbox(c, q) +
        render_tsa(c.tsa, q) + render_log(c.log) + render_authorities(c.pki.authorities, q) +
        render_profiles(c.pki.profiles, q);
}

}  // namespace selo
