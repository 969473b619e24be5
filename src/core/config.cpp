#include "core/config.hpp"

#include <fstream>
#include <set>
#include <sstream>

#include <toml++/toml.h>

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
        if constexpr (std::is_same_v<T, std::string>) {
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
    const auto& http = section_of(root, "http");
    SELO_TRY_VOID(r.get(http, "http", "max_header_bytes", c.http.max_header_bytes));
    SELO_TRY_VOID(r.get(http, "http", "max_body_bytes", c.http.max_body_bytes));
    SELO_TRY_VOID(r.get(http, "http", "max_document_body_bytes", c.http.max_document_body_bytes));
    SELO_TRY_VOID(r.get(http, "http", "header_timeout_seconds", c.http.header_timeout_seconds));
    SELO_TRY_VOID(r.get(http, "http", "body_timeout_seconds", c.http.body_timeout_seconds));
    SELO_TRY_VOID(r.get(http, "http", "idle_timeout_seconds", c.http.idle_timeout_seconds));
    SELO_TRY_VOID(r.get(http, "http", "max_keepalive_requests", c.http.max_keepalive_requests));
    const auto& db = section_of(root, "database");
    SELO_TRY_VOID(r.get(db, "database", "backend", c.database.backend));
    SELO_TRY_VOID(r.get(db, "database", "path", c.database.path));
    const auto& keys = section_of(root, "keys");
    SELO_TRY_VOID(r.get(keys, "keys", "backend", c.keys.backend));
    SELO_TRY_VOID(r.get(keys, "keys", "master_key_file", c.keys.master_key_file));
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
    const auto& ca = section_of(root, "ca");
    SELO_TRY_VOID(r.get(ca, "ca", "country", c.ca.country));
    SELO_TRY_VOID(r.get(ca, "ca", "organization", c.ca.organization));
    SELO_TRY_VOID(r.check_unknown(root));

    if (c.database.backend != "sqlite") {
        return fail(ErrorCode::unsupported, "{}: [database] backend '{}' is not supported (sqlite)",
                    source_name, c.database.backend);
    }
    if (c.keys.backend != "software") {
        return fail(ErrorCode::unsupported, "{}: [keys] backend '{}' is not supported (software)",
                    source_name, c.keys.backend);
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
    if (c.ca.country.size() != 2) {
        return fail(ErrorCode::invalid_argument, "{}: [ca] country must be a 2-letter ISO 3166 code",
                    source_name);
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

[http]
max_header_bytes = {}
max_body_bytes = {}
# signatures/signDoc carries whole documents, so it has its own limit.
max_document_body_bytes = {}
header_timeout_seconds = {}
body_timeout_seconds = {}
idle_timeout_seconds = {}
max_keepalive_requests = {}

[database]
backend = {}
path = {}

[keys]
backend = {}
# 32 random bytes, readable by the owner only. Without it no key in this directory can be used.
master_key_file = {}

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

[ca]
country = {}
organization = {}
)",
        q(c.server.listen), q(c.server.public_url), c.server.io_threads, c.server.worker_threads,
        c.http.max_header_bytes, c.http.max_body_bytes, c.http.max_document_body_bytes,
        c.http.header_timeout_seconds, c.http.body_timeout_seconds, c.http.idle_timeout_seconds,
        c.http.max_keepalive_requests, q(c.database.backend), q(c.database.path),
        q(c.keys.backend), q(c.keys.master_key_file), c.cloudsign.sad_lifetime_seconds,
        c.cloudsign.max_signatures_per_sad, c.cloudsign.access_token_lifetime_seconds,
        c.cloudsign.certificate_validity_days, c.cloudsign.pin_kdf.memory_kib,
        c.cloudsign.pin_kdf.iterations, c.cloudsign.pin_kdf.parallelism, q(c.ca.country),
        q(c.ca.organization));
}

}  // namespace selo
