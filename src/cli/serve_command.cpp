#include <condition_variable>
#include <sys/resource.h>

#include <csignal>
#include <mutex>
#include <thread>
#include <iostream>


#include "api/api.hpp"
#include "api/sepbox_api.hpp"
#include "cli/client_certificates.hpp"
#include "cli/commands.hpp"
#include "cli/data_dir.hpp"
#include "cli/tls_identity.hpp"
#include "core/log.hpp"
#include "http/router.hpp"
#include "http/server.hpp"
#include "sepbox/smtp.hpp"

namespace selo::cli {
namespace {

std::atomic<http::Server*> g_server{nullptr};

// ListenOptions::name of the plain-http repository listener.
constexpr std::string_view kRepositoryListener = "repository";

// Each connection is a file descriptor: lift the soft limit to the hard one so the server's
// connection cap, not a default of 1024, decides how many clients it holds.
void raise_open_file_limit() {
    struct rlimit rl {};
    if (::getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        ::setrlimit(RLIMIT_NOFILE, &rl);
    }
}

extern "C" void on_signal(int) {
    if (auto* s = g_server.load()) {
        s->stop();
    }
}

}  // namespace

void print_error(std::string_view message) { std::cerr << "selo: " << message << std::endl; }

int run_init(const InitArgs& args) {
    SystemClock clock;
    SystemRng rng;
    InitOptions opts{args.public_url, args.listen, args.organization, args.country, {}};
    opts.organization_identifier = args.organization_identifier;
    opts.keys.backend = args.key_backend;
    opts.keys.pkcs11_module = args.pkcs11_module;
    opts.keys.pkcs11_token_label = args.pkcs11_token_label;
    opts.keys.pkcs11_pin_source = args.pkcs11_pin_source;
    opts.repository_url = args.repository_url;
    opts.repository_listen = args.repository_listen;
    // With the time-stamping units (the TSA's and the log's): the directory is whole before any
    // command reads it, and a listing (`selo ca list`) writes nothing.
    if (auto rt = Runtime::create(args.data, opts, clock, rng); !rt) {
        print_error(rt.error().message);
        return 1;
    }
    std::cout << "Created Selo data directory " << args.data.string() << "\n"
              << "  a root CA and its issuing CAs, and the time-stamping units of the TSA and of the "
                 "transparency log (`selo ca list` names them all), certificates naming "
              << args.public_url << "\n";
    if (auto cfg = load_config(args.data / kConfigFile); cfg && !cfg->server.repository_url.empty()) {
        std::cout << "  status (OCSP, CRLs, CA certificates) over plain http at "
                  << cfg->server.repository_url << ", served on " << cfg->server.repository_listen
                  << "\n";
    }
    std::cout
              << "Next: selo serve --data " << args.data.string() << "\n";
    return 0;
}

int run_serve(const ServeArgs& args) {
    SystemClock clock;
    SystemRng rng;
    const bool creating = args.init_if_missing && !is_data_directory(args.data);
    if (!args.public_url.empty() && !creating) {
        print_error(fmt::format(
            "--public-url only applies when --init creates the data directory; {} exists, so "
            "its certificates already name [server] public_url in {}",
            args.data.string(), (args.data / kConfigFile).string()));
        return 2;
    }
    if (creating) {
        std::string listen = args.listen.value_or("127.0.0.1:8080");
        auto hp = http::split_host_port(listen);
        if (!hp) {
            print_error(hp.error().message);
            return 2;
        }
        InitOptions opts;
        opts.listen = listen;
        opts.public_url = args.public_url.empty() ? "http://" + listen : args.public_url;
        if (args.public_url.empty() && (hp->host == "0.0.0.0" || hp->host == "::")) {
            print_error(fmt::format(
                "listening on {} needs --public-url: certificates must name an address relying "
                "parties can reach, e.g. --public-url http://selo.example.mo:{}",
                listen, hp->port));
            return 2;
        }
        if (auto r = initialise_data_directory(args.data, opts, clock, rng); !r) {
            print_error(r.error().message);
            return 1;
        }
        std::cout << "Initialised a new data directory at " << args.data.string() << "\n";
    }
    auto rt = Runtime::open(args.data, clock, rng);
    if (!rt) {
        print_error(rt.error().message);
        return 1;
    }
    const Config& config = (*rt)->config();
    auto listen = http::split_host_port(args.listen.value_or(config.server.listen));
    if (!listen) {
        print_error(listen.error().message);
        return 2;
    }

    http::Router router;
    api::ApiRegistry registry((*rt)->accounts());
    api::ApiContext ctx{config, (*rt)->cas(), (*rt)->cloudsign(), clock, registry};
    ctx.enrolment = &(*rt)->enrolment();
    ctx.activation = &(*rt)->activation();
    ctx.ocsp = &(*rt)->ocsp();
    ctx.crls = &(*rt)->crls();
    ctx.authorities = &(*rt)->authorities();
    ctx.certificates = &(*rt)->certificates();
    // Responder certificates and CRLs exist before the first relying party asks.
    if (auto r = (*rt)->ocsp().prepare(); !r) {
        print_error(r.error().message);
        return 1;
    }
    if (auto r = (*rt)->crls().refresh_all(); !r) {
        print_error(r.error().message);
        return 1;
    }
    ctx.sepbox = &(*rt)->sepbox();
    ctx.tsa = &(*rt)->time_stamp_authority();
    ctx.tsa_unit_certificates = [&rt] { return (*rt)->tsa_unit_certificates(); };
    ctx.log = &(*rt)->transparency_log();
    ctx.postmarks = &(*rt)->postmarks();
    ctx.institutions = &(*rt)->institutions();
    api::add_all_routes(router, ctx);
    auto limits = http::server_limits(config.http, config.server);
    if (!limits) {
        print_error(limits.error().message);
        return 1;
    }
    // signDoc carries whole documents: only a request with a valid session gets the large
    // limit, so no one can make the server buffer hundreds of megabytes without signing in.
    const std::uint64_t doc_limit = config.http.max_document_body_bytes;
    const std::uint64_t body_limit = config.http.max_body_bytes;
    account::AccountService& accounts = (*rt)->accounts();
    const std::uint64_t sepbox_limit = api::sepbox_body_limit(config.sepbox.max_message_bytes);
    limits->body_limit_for = [doc_limit, body_limit, sepbox_limit, &accounts](const http::RequestHeader& header) {
        auto path = http::target_path(header.target());
        // SEPBox submissions carry attachments (base64): their own limit, for the only callers
        // the route accepts (agencies); anyone else is refused with 403 after a small body.
        if (header.method() == http::Verb::post && path && *path == "/api/v1/sepbox/messages") {
            auto token = http::bearer_token(header);
            auto principal = token ? accounts.resolve_session(*token) : Result<account::Principal>(std::unexpected(Error{}));
            return principal && principal->account.has_role(account::Role::agency) ? std::max(sepbox_limit, body_limit)
                                                                                 : body_limit;
        }
        if (header.method() != http::Verb::post || !path || *path != "/csc/v2/signatures/signDoc") {
            return body_limit;
        }
        auto token = http::bearer_token(header);
        return token && accounts.resolve_session(*token) ? doc_limit : body_limit;
    };
    // Agencies may sign in to /api/v1 with a certificate of the institutions CA (mutual TLS).
    std::unique_ptr<ClientCertificates> client_certificates;
    if (config.server.tls) {
        auto cc = open_client_certificates(**rt);
        if (cc) {
            client_certificates = std::move(*cc);
            registry.accept_client_certificates(&client_certificates->authenticator);
        } else {
            log::warn("tls: client certificates are not accepted: {}", cc.error().message);
        }
    }
    // An agency signed in by its client certificate gets the SEPBox limit like a bearer token.
    if (client_certificates) {
        limits->body_limit_for_client = [by_header = limits->body_limit_for, body_limit, sepbox_limit,
                                         auth = &client_certificates->authenticator](
                                            const http::RequestHeader& header,
                                            const http::RequestContext& c) {
            auto path = http::target_path(header.target());
            if (header.method() == http::Verb::post && path && *path == "/api/v1/sepbox/messages" &&
                !c.client_certificate.empty() && header.find(http::Field::authorization) == header.end() &&
                header.find(http::Field::cookie) == header.end()) {
                return auth->accepts(c.client_certificate) ? std::max(sepbox_limit, body_limit) : body_limit;
            }
            return by_header(header);
        };
    }
    api::install_error_renderers(router);
    // The plain-http repository listener ([server] repository_listen) answers only the
    // repository and status routes; anything else there is 404, before any handler runs.
    std::optional<http::HostPort> repository_listen;
    if (!config.server.repository_listen.empty()) {
        auto hp = http::split_host_port(config.server.repository_listen);
        if (!hp) {
            print_error(fmt::format("[server] repository_listen: {}", hp.error().message));
            return 2;
        }
        repository_listen = *hp;
    }
    const std::string secure_base = config.server.public_url;
    auto off_repository = [secure_base](const http::Request& req, const http::RequestContext& c)
        -> std::optional<http::Response> {
        if (c.listener != kRepositoryListener || api::is_repository_request(req)) {
            return std::nullopt;
        }
        return http::text_response(
            http::Status::not_found,
            fmt::format("this plain-http listener serves only CA certificates (/ca/), CRLs (/crl/) "
                        "and OCSP (/ocsp); everything else is at {}",
                        secure_base));
    };
    http::InlineHandler inline_handler =
        [off_repository, next = router.inline_handler()](const http::Request& req,
                                                         const http::RequestContext& c)
        -> std::optional<http::Response> {
        if (auto refused = off_repository(req, c)) {
            return refused;
        }
        return next ? next(req, c) : std::nullopt;
    };
    http::Server server(*limits, router.async_handler(), std::move(inline_handler),
                        router.error_renderers());
    server.set_inline_async_handler(router.inline_async_handler());
    const std::string client_cas =
        client_certificates ? client_certificates->authenticator.acceptable_issuers_pem() : std::string();
    std::optional<TlsIdentity> tls;
    if (config.server.tls) {
        auto id = tls_identity(**rt, clock);
        if (!id) {
            print_error(fmt::format("TLS ([server] tls): {}", id.error().message));
            return 1;
        }
        if (auto r = server.use_tls(id->chain_pem, id->key_pem.view(), client_cas); !r) {
            print_error(r.error().message);
            return 1;
        }
        log::info("tls: serving a certificate {}", id->description);
        if (config.server.public_url.starts_with("http://")) {
            log::warn("tls: the listener speaks https, but [server] public_url (named in "
                      "certificates) is {}", config.server.public_url);
        }
        if (config.server.repository_url.empty()) {
            log::warn("tls: certificates name https URLs for OCSP, CRLs and CA certificates, which "
                      "NSS (pdfsig, Firefox) and many relying parties cannot fetch; set [server] "
                      "repository_url = \"http://HOST:PORT\" and repository_listen (new "
                      "certificates then name it)");
        }
        tls = std::move(*id);
    }
    auto port = server.listen(listen->host, listen->port);
    if (!port) {
        print_error(port.error().message);
        return 1;
    }
    std::optional<std::uint16_t> repository_port;
    if (repository_listen) {
        auto p = server.listen(repository_listen->host, repository_listen->port,
                               http::ListenOptions{std::string(kRepositoryListener), true});
        if (!p) {
            print_error(fmt::format("[server] repository_listen: {}", p.error().message));
            return 1;
        }
        repository_port = *p;
    }
    // A time-stamping unit whose certificate was revoked while the server was stopped signs
    // nothing: it is replaced before the first request.
    if (auto r = (*rt)->check_time_stamping_units(); !r) {
        log::error("time-stamping units: {}", r.error().message);
    }
    // Signed tree heads on a schedule (and now, for what was logged since the last one).
    translog::TreeHeadSchedule tree_heads((*rt)->transparency_log(),
                                          std::chrono::seconds(config.log.tree_head_interval_seconds));
    raise_open_file_limit();
    g_server.store(&server);
    std::signal(SIGINT, on_signal);
    std::signal(SIGTERM, on_signal);
    std::signal(SIGPIPE, SIG_IGN);

    std::string host = listen->host.find(':') != std::string::npos ? "[" + listen->host + "]" : listen->host;
    const std::string& pub = config.server.public_url;
    std::error_code ec;
    std::string self = std::filesystem::read_symlink("/proc/self/exe", ec).string();
    if (ec || self.empty()) {
        self = "selo";
    }
    std::cout << "Selo is listening on " << (tls ? "https://" : "http://") << host << ":" << *port << "  (data: "
              << args.data.string() << ")\n"
              << "  public URL: " << pub << "\n";
    if (repository_port) {
        std::cout << "Status listener (plain http; CA certificates, CRLs, OCSP only) on http://"
                  << (repository_listen->host.find(':') != std::string::npos
                          ? "[" + repository_listen->host + "]"
                          : repository_listen->host)
                  << ":" << *repository_port << "\n";
    }
    std::cout << "  status and CA certificate URLs (named in certificates): "
              << status_base_url(config.server) << "\n"
              // The status base: over https, a relying party fetching the root to trust it could not
              // check the server's certificate yet; the plain-http repository has no such loop.
              << "  CA certificates: " << status_base_url(config.server) << "/ca/root.crt, "
              << status_base_url(config.server) << "/ca/natural-persons.crt\n"
              << "  CSC API v2:      " << pub << "/csc/v2/info\n"
              << "  API and docs:    " << pub << "/api/v1/openapi.json\n"
              << "Next: open an account with\n"
              << "  " << self << " account create --data " << args.data.string()
              << " --name 陳大文 --latin-name \"CHAN Tai Man\" \\\n"
              << "      --id-number \"5215299(8)\" --email chan.taiman@example.mo --pin -\n"
              << "(--pin - reads the signing PIN from standard input), then sign a PDF with `"
              << self << " sign --help`. Stop with Ctrl-C." << std::endl;

    // Housekeeping: expired sessions and SADs (with their sealed PIN keys) are deleted.
    std::mutex mutex;
    std::condition_variable stopping;
    bool stop_requested = false;
    std::thread housekeeping([&] {
        std::unique_lock lock(mutex);
        // eSignCloud renewal reminders: hourly, the first run a minute after start. Each is
        // claimed in the database, so several nodes running this send it once.
        unsigned minutes = 59;
        while (!stopping.wait_for(lock, std::chrono::seconds(60), [&] { return stop_requested; })) {
            // The lock is for the wait alone: the other jobs' waits share it.
            lock.unlock();
            if (auto r = (*rt)->cloudsign().purge_expired(); !r) {
                log::warn("housekeeping: {}", r.error().message);
            }
            // CRLs on schedule (well before nextUpdate) and after status changes made by other
            // processes; responder certificates renewed before they expire.
            if (auto r = (*rt)->crls().refresh_all(); !r) {
                log::warn("housekeeping: CRLs: {}", r.error().message);
            }
            if (auto r = (*rt)->ocsp().prepare(); !r) {
                log::warn("housekeeping: OCSP responders: {}", r.error().message);
            }
            // The issued TLS certificate is replaced two thirds into its validity; on failure
            // the old one stays and renewal is tried again in an hour.
            if (tls && clock.now() >= tls->renew_at) {
                auto next = issue_tls_identity(**rt, clock);
                Result<void> used = next ? server.use_tls(next->chain_pem, next->key_pem.view(), client_cas)
                                         : Result<void>(std::unexpected(next.error()));
                if (used) {
                    log::info("tls: renewed: {}", next->description);
                    tls = std::move(*next);
                } else {
                    log::error("tls: renewing the certificate (valid until the old one expires) "
                               "failed: {}", used.error().message);
                    tls->renew_at = clock.now() + std::chrono::hours(1);
                }
            }
            if (++minutes >= 60) {
                minutes = 0;
                if (auto sent = (*rt)->enrolment().send_renewal_reminders(); !sent) {
                    log::warn("renewal reminders: {}", sent.error().message);
                } else if (*sent > 0) {
                    log::info("renewal reminders: {} sent", *sent);
                }
            }
            lock.lock();
        }
    });
    // SEPBox: new-mail notices from the outbox, and official letters past their reply-by time.
    std::unique_ptr<sepbox::SmtpTransport> smtp;
    std::unique_ptr<sepbox::NoticeDispatcher> notices;
    if (!config.smtp.host.empty()) {
        sepbox::SmtpOptions so{config.smtp.host, static_cast<std::uint16_t>(config.smtp.port),
                               config.smtp.from, config.smtp.helo_name,
                               std::chrono::seconds(config.smtp.timeout_seconds)};
        smtp = std::make_unique<sepbox::SmtpTransport>(so, clock, rng);
        notices = std::make_unique<sepbox::NoticeDispatcher>((*rt)->sepbox_repository(), *smtp, clock);
    }
    std::thread sepbox_jobs([&] {
        std::unique_lock lock(mutex);
        const auto interval = std::chrono::seconds(config.sepbox.notice_interval_seconds);
        do {
            lock.unlock();
            if (notices) {
                if (auto r = notices->run_once(); !r) {
                    log::warn("SEPBox notices: {}", r.error().message);
                }
            }
            if (auto r = (*rt)->sepbox().expire_overdue(); !r) {
                log::warn("SEPBox reply-by expiry: {}", r.error().message);
            }
            lock.lock();
        } while (!stopping.wait_for(lock, interval, [&] { return stop_requested; }));
    });
    // The time-stamping units' certificates, checked fifty times a second (a few indexed reads):
    // a revocation or suspension (also by another process, such as `selo ca revoke`) stops their
    // signing within that time, and they get new keys; near their end they are renewed. This
    // thread alone changes the units while serving.
    std::thread unit_watch([&] {
        std::unique_lock lock(mutex);
        // A failure that persists (the database unreadable) is logged when it changes, and
        // again each minute, not fifty times a second.
        std::string last_error;
        auto last_logged = std::chrono::steady_clock::time_point{};
        while (!stopping.wait_for(lock, std::chrono::milliseconds(20), [&] { return stop_requested; })) {
            lock.unlock();
            if (auto r = (*rt)->check_time_stamping_units(); !r) {
                const auto now = std::chrono::steady_clock::now();
                if (r.error().message != last_error || now - last_logged >= std::chrono::minutes(1)) {
                    log::warn("time-stamping units: {}", r.error().message);
                    last_error = r.error().message;
                    last_logged = now;
                }
            } else {
                last_error.clear();
            }
            lock.lock();
        }
    });
    server.run();
    {
        std::lock_guard lock(mutex);
        stop_requested = true;
    }
    stopping.notify_all();
    housekeeping.join();
    sepbox_jobs.join();
    unit_watch.join();
    g_server.store(nullptr);
    log::info("stopped");
    return 0;
}

}  // namespace selo::cli
