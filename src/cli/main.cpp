// `selo`: one binary for every Selo service and its administration.

#include <CLI/CLI.hpp>

#include <cstdlib>
#include <iostream>

#include "cli/commands.hpp"

namespace {

std::filesystem::path default_data_dir() {
    if (const char* env = std::getenv("SELO_DATA"); env != nullptr && *env != '\0') {
        return env;
    }
    return "selo-data";
}

std::string env_or(const char* name, std::string fallback) {
    const char* v = std::getenv(name);
    return v != nullptr ? std::string(v) : std::move(fallback);
}

}  // namespace

int main(int argc, char** argv) {
    using namespace selo::cli;
    CLI::App app{
        "Selo: certification authority, remote signing (eSignCloud), time-stamping and secure "
        "electronic post, in one binary.\n\n"
        "Start here:\n"
        "  selo serve --init                 create ./selo-data on first run and serve it\n"
        "  selo account create --help        open an account with a signing credential\n"
        "  selo sign --help                  sign a PDF through a Selo server\n"
        "  selo timestamp --help             time-stamp a file (RFC 3161)\n"
        "  selo log verify --help            check the transparency log\n",
        "selo"};
    // Not require_subcommand(1): with it an unknown word is reported as a missing subcommand
    // rather than as what it is.
    app.require_subcommand(0, 1);
    app.set_version_flag("--version", "selo 0.1.0");
    app.footer("Environment: SELO_DATA is the default data directory (else ./selo-data).");

    InitArgs init;
    auto* init_cmd = app.add_subcommand("init", "Create a data directory: configuration, master "
                                                "key, database and the CA hierarchy");
    init.data = default_data_dir();
    init_cmd->add_option("--data", init.data, "Data directory to create")->capture_default_str();
    init_cmd->add_option("--public-url", init.public_url,
                         "Base URL that certificates name (AIA caIssuers, OCSP and CRL, unless --repository-url)")
        ->capture_default_str();
    init_cmd->add_option("--listen", init.listen, "Default listen address for `selo serve`")
        ->capture_default_str();
    init_cmd->add_option("--repository-url", init.repository_url,
                         "http:// base URL certificates name for OCSP, CRLs and CA certificates "
                         "(default with an https public URL: http://<public host>:<listen port + 1>)");
    init_cmd->add_option("--repository-listen", init.repository_listen,
                         "HOST:PORT of the plain-http listener serving only those (default with "
                         "--repository-url or an https public URL: <listen host>:<its port>)");
    init_cmd->add_option("--organization", init.organization, "Organisation named in CA certificates")
        ->capture_default_str();
    init_cmd->add_option("--organization-identifier", init.organization_identifier,
                         "The operator's organizationIdentifier (NTR + country + '-' + trade-register "
                         "number, EN 319 412-1), named in the SEPBox seal certificate")
        ->capture_default_str();
    init_cmd->add_option("--country", init.country, "ISO 3166 country of the CA")->capture_default_str();
    init_cmd->add_option("--key-backend", init.key_backend,
                         "Where CA keys are generated: software (sealed under the master key) or "
                         "pkcs11 (inside a token, never extractable)")
        ->check(CLI::IsMember({"software", "pkcs11"}))
        ->capture_default_str();
    init_cmd->add_option("--pkcs11-module", init.pkcs11_module,
                         "With --key-backend pkcs11: the token's PKCS#11 library, e.g. "
                         "/usr/lib/softhsm/libsofthsm2.so");
    init_cmd->add_option("--pkcs11-token-label", init.pkcs11_token_label,
                         "With --key-backend pkcs11: the token's label");
    init_cmd->add_option("--pkcs11-pin-source", init.pkcs11_pin_source,
                         "With --key-backend pkcs11: file:PATH (owner-only, relative to the data "
                         "directory) or env:NAME holding the token's user PIN");

    ServeArgs serve;
    serve.data = default_data_dir();
    auto* serve_cmd = app.add_subcommand("serve", "Run every Selo service: one HTTP(S) listener, and a plain-http one for OCSP, CRLs and CA certificates when configured");
    serve_cmd->add_option("--data", serve.data, "Data directory")->capture_default_str();
    serve_cmd->add_option("--listen", serve.listen,
                          "HOST:PORT to listen on (default: the configuration's, 127.0.0.1:8080)");
    serve_cmd->add_flag("--init", serve.init_if_missing,
                        "Create the data directory first if it does not exist yet");
    serve_cmd->add_option("--public-url", serve.public_url,
                          "With --init: base URL certificates name (default http://<listen>)");

    auto* subscriptions_cmd = app.add_subcommand("subscriptions", "Operator: eSignCloud subscriptions");
    subscriptions_cmd->require_subcommand(1);
    SubscriptionsRemindArgs remind;
    remind.data = default_data_dir();
    auto* remind_cmd = subscriptions_cmd->add_subcommand(
        "remind", "Post the renewal reminders due (30 and 7 days before the end); each goes out once");
    remind_cmd->add_option("--data", remind.data, "Data directory (default $SELO_DATA or ./selo-data)");

    auto* account_cmd = app.add_subcommand("account", "Counter clerk: manage accounts");
    account_cmd->require_subcommand(1);
    AccountCreateArgs acc;
    acc.data = default_data_dir();
    auto* create_cmd = account_cmd->add_subcommand(
        "create", "Open an account (with --pin: and an eSignCloud signing credential, key pair "
                  "and certificate); prints the username, a one-time initial password (to be changed "
                  "at first sign-in) and the otpauth URI");
    create_cmd->add_option("--data", acc.data, "Data directory")->capture_default_str();
    create_cmd->add_option("--name", acc.name, "Name as in the identity document, e.g. 陳大文")->required();
    create_cmd->add_option("--latin-name", acc.latin_name, "Name in Latin script, e.g. \"CHAN Tai Man\"")
        ->required();
    create_cmd->add_option("--given-name", acc.given_name,
                           "Given name(s) in Latin script (default: derived from --latin-name)");
    create_cmd->add_option("--surname", acc.surname,
                           "Surname in Latin script (default: the capitalised word, else the last)");
    create_cmd->add_option("--id-type", acc.id_type, "identity-card, passport, or staff-card (staff)")
        ->capture_default_str();
    create_cmd->add_option("--id-number", acc.id_number, "Identity document number, e.g. 5215299(8)")
        ->required();
    create_cmd->add_option("--id-country", acc.id_country, "Country that issued the document")
        ->capture_default_str();
    create_cmd->add_option("--email", acc.email, "E-mail address")->required();
    create_cmd->add_option("--pin", acc.pin,
                           "Signing PIN, 6-12 digits (\"-\" reads it from standard input); "
                           "without it no signing credential is created");
    create_cmd->add_option("--role", acc.roles,
                           "Role of the account, repeatable: citizen, institution, agency, clerk, "
                           "ca-officer, auditor, administrator")
        ->capture_default_str();
    create_cmd->add_flag("--json", acc.json, "Print the result as JSON");
    create_cmd->add_flag("--permanent-password", acc.permanent_password,
                         "Do not require the generated password to be changed at first sign-in "
                         "(test fixtures and service accounts only; recorded in the audit trail)");

    BindCertificateArgs bind;
    bind.data = default_data_dir();
    auto* bind_cmd = account_cmd->add_subcommand(
        "bind-certificate",
        "Administrator: let an agency account sign in to /api/v1 with a client certificate "
        "(mutual TLS) of the institutions CA");
    bind_cmd->add_option("--data", bind.data, "Data directory")->capture_default_str();
    bind_cmd->add_option("--account", bind.account, "The agency's account id")->required();
    bind_cmd->add_option("--cert", bind.certificate,
                         "The certificate (PEM or DER), issued by the institutions CA and valid")
        ->required();

    SignArgs sign;
    auto* sign_cmd = app.add_subcommand(
        "sign", "Sign a PDF (PAdES B-B) through a Selo server's CSC API. The document never "
                "leaves this machine: only its hash is sent");
    sign.server = env_or("SELO_SERVER", "http://127.0.0.1:8080");
    sign_cmd->add_option("--server", sign.server, "Selo server base URL (env SELO_SERVER)")
        ->capture_default_str();
    sign_cmd->add_option("--ca-file", sign.ca_file,
                         "PEM file of the CA certificate(s) to trust for an https server, e.g. "
                         "Selo's root (default: the system's CA store)");
    sign_cmd->add_flag("--allow-http", sign.allow_http,
                       "Allow plain http to a server on another machine (the password, PIN and "
                       "OTP then travel in clear)");
    sign.user = env_or("SELO_USER", "");
    sign.password = env_or("SELO_PASSWORD", "");
    sign_cmd->add_option("--user", sign.user, "Username (env SELO_USER)");
    sign_cmd->add_option("--password", sign.password,
                         "Password (env SELO_PASSWORD; \"-\" reads it from standard input)");
    sign_cmd->add_option("--pin", sign.pin,
                         "Signing PIN (\"-\" reads it from standard input, after the password "
                         "when both are \"-\")")
        ->required();
    sign_cmd->add_option("--otp", sign.otp, "Current code from the authenticator app")->required();
    sign_cmd->add_option("--credential", sign.credential, "Credential ID (default: the account's)");
    sign_cmd->add_option("--reason", sign.reason, "Reason for signing (/Reason)");
    sign_cmd->add_option("--location", sign.location, "Place of signing (/Location)");
    sign_cmd->add_flag("-q,--quiet", sign.quiet, "No progress output");
    sign_cmd->add_flag("-f,--force", sign.force, "Replace the output file if it exists");
    sign_cmd->add_option("input", sign.input, "PDF to sign")->required()->check(CLI::ExistingFile);
    sign_cmd->add_option("-o,--output", sign.output, "Signed PDF to write")->required();

    auto* ca_cmd = app.add_subcommand("ca", "CA officer: issue, list, revoke, suspend, resume and renew certificates; the root key ceremony");
    ca_cmd->require_subcommand(1);
    CaArgs ca;
    ca.data = default_data_dir();
    std::vector<CLI::App*> ca_cmds;
    for (auto [action, help] : std::initializer_list<std::pair<const char*, const char*>>{
             {"list", "List issued certificates, newest first"},
             {"show", "Print a certificate (PEM, or JSON with --json)"},
             {"revoke", "Revoke a certificate with an RFC 5280 reason (final)"},
             {"suspend", "Suspend a certificate (certificateHold)"},
             {"resume", "Lift a suspension"},
             {"issue", "Issue a certificate to a registered subject, from a CSR or a key made here"},
             {"renew", "Issue a new certificate with the same subject and profile, for a new key"}}) {
        auto* c = ca_cmd->add_subcommand(action, help);
        c->add_option("--data", ca.data, "Data directory")->capture_default_str();
        c->add_option("--ca", ca.ca, "CA name (default: the CA that issued --serial; list: all)");
        c->add_flag("--json", ca.json, "Print JSON");
        const bool issuing = std::string_view(action) == "issue" || std::string_view(action) == "renew";
        if (issuing) {
            c->add_option("--csr", ca.csr, "PKCS#10 request (PEM or DER) holding the subject's key")
                ->check(CLI::ExistingFile);
            c->add_flag("--generate-key", ca.generate_key, "Make the key pair here (see --key-out)");
            c->add_option("--key-type", ca.key_type, "With --generate-key: ec-p256, ec-p384, rsa-2048, rsa-3072")
                ->capture_default_str();
            c->add_option("--key-out", ca.key_out, "With --generate-key: file for the private key (PKCS#8 PEM, mode 0600)");
            c->add_option("-o,--out", ca.out, "Certificate file (PEM; default: standard output)");
        }
        if (std::string_view(action) == "issue") {
            c->add_option("--profile", ca.profile, "Certificate profile, e.g. natural-person-signing")->required();
            c->add_option("--account", ca.account, "Registered account (id or username): natural persons");
            c->add_option("--common-name", ca.common_name, "CN: infrastructure profiles (TSA, TLS server)");
            c->add_option("--organization", ca.organization, "O: legal-person profiles");
            c->add_option("--organization-identifier", ca.organization_identifier,
                          "organizationIdentifier (NTRMO-...): legal-person profiles");
            c->add_option("--dns", ca.dns_names, "subjectAltName dNSName (TLS server), repeatable");
            c->add_option("--ip", ca.ip_addresses, "subjectAltName iPAddress (TLS server), repeatable");
            c->add_option("--count", ca.count,
                          "With --csr: issue this many certificates, printing each serial once it is durable")
                ->check(CLI::Range(1u, 1000000u));
            ca_cmds.push_back(c);
            continue;
        }
        if (std::string_view(action) == "list") {
            c->add_option("--status", ca.status, "Only certificates with this status: valid, revoked, suspended");
            c->add_option("--serial", ca.serial, "Only this serial (hex)");
            c->add_option("--limit", ca.limit, "At most this many")->capture_default_str();
        } else {
            c->add_option("--serial", ca.serial, "Serial number (hex)")->required();
        }
        if (std::string_view(action) == "revoke") {
            c->add_option("--reason", ca.reason,
                          "unspecified, keyCompromise, cACompromise, affiliationChanged, superseded, "
                          "cessationOfOperation, privilegeWithdrawn, aACompromise (final); certificateHold "
                          "suspends as `ca suspend` does, removeFromCRL resumes as `ca resume` does. A "
                          "time-stamping certificate needs a reason other than unspecified: superseded, "
                          "cessationOfOperation or affiliationChanged leave the tokens it signed before valid, "
                          "any other voids them all (RFC 3161 §4)")
                ->capture_default_str();
            c->add_option("--time", ca.time, "When it takes effect: YYYY-MM-DDTHH:MM:SSZ (default now)");
        }
        if (std::string_view(action) != "list" && std::string_view(action) != "show") {
            c->add_option("--comment", ca.comment, "Why, for the audit trail");
        }
        ca_cmds.push_back(c);
    }

    LintArgs lint;
    auto* lint_cmd = app.add_subcommand(
        "lint", "Check certificates and CRLs (PEM or DER) against Selo's profiles and RFC 5280, as the "
                "CA does before signing; exit status 1 when anything is found");
    lint_cmd->add_option("--issuer", lint.issuer, "The issuing CA's certificate (PEM or DER)")
        ->check(CLI::ExistingFile);
    lint_cmd->add_option("--profile", lint.profile, "Check against this profile (default: recognised)");
    lint_cmd->add_option("--data", lint.data,
                         "A data directory whose configured profiles ([[pki.profile]]) to check against");
    lint_cmd->add_option("files", lint.files, "Certificates and CRLs")->required();

    CeremonyArgs ceremony;
    auto* ceremony_cmd = add_ceremony_commands(*ca_cmd, ceremony, default_data_dir());
    TimestampArgs ts;
    auto* ts_cmd = app.add_subcommand(
        "timestamp", "Time-stamp a file with a Selo server's RFC 3161 TSA (only its hash is sent); "
                     "check the result with openssl ts -verify");
    ts.server = env_or("SELO_SERVER", "http://127.0.0.1:8080");
    ts_cmd->add_option("--server", ts.server, "Selo server base URL (env SELO_SERVER)")->capture_default_str();
    ts_cmd->add_option("--ca-file", ts.ca_file,
                       "PEM file of the CA certificate(s) to trust for an https server, e.g. "
                       "Selo's root (default: the system's CA store)")
        ->check(CLI::ExistingFile);
    ts_cmd->add_option("--hash", ts.hash, "sha256, sha384 or sha512")->capture_default_str();
    ts_cmd->add_flag("-q,--quiet", ts.quiet, "No output but errors");
    ts_cmd->add_flag("-f,--force", ts.force, "Replace the output file if it exists");
    ts_cmd->add_option("input", ts.input, "File to time-stamp")->required()->check(CLI::ExistingFile);
    ts_cmd->add_option("-o,--output", ts.output, "TimeStampResp (.tsr) to write; - for standard output")->required();

    auto* log_cmd = app.add_subcommand("log", "The transparency log");
    log_cmd->require_subcommand(1);
    LogVerifyArgs log_verify;
    auto* log_verify_cmd = log_cmd->add_subcommand(
        "verify", "Recompute a server's log from its entries and check every signed tree head, "
                  "and every tree seen on earlier runs, against it (exit 1 naming the first altered "
                  "entry, or the entries between two tree heads it lies in when its leaf hash was "
                  "rewritten too, or the tree head whose record was altered or removed); heads signed "
                  "with a key the server's CRLs show compromised are not counted");
    log_verify.server = env_or("SELO_SERVER", "http://127.0.0.1:8080");
    log_verify_cmd->add_option("--server", log_verify.server, "Selo server base URL (env SELO_SERVER)")
        ->capture_default_str();
    log_verify_cmd->add_option("--root", log_verify.root, "Root CA certificate to trust (default: the server's)")
        ->check(CLI::ExistingFile);
    log_verify_cmd->add_option("--state", log_verify.state,
                               "File of tree heads seen before, updated after each good run; its directory "
                               "must exist (default: ~/.selo/tree-heads-<server>.json)");

    try {
        app.parse(argc, argv);
    } catch (const CLI::CallForHelp& e) {
        return app.exit(e);
    } catch (const CLI::CallForAllHelp& e) {
        return app.exit(e);
    } catch (const CLI::CallForVersion& e) {
        return app.exit(e);
    } catch (const CLI::ParseError& e) {
        app.exit(e);
        return 2;
    }

    if (*init_cmd) {
        return run_init(init);
    }
    if (*serve_cmd) {
        return run_serve(serve);
    }
    if (*create_cmd) {
        return run_account_create(acc);
    }
    if (*bind_cmd) {
        return run_account_bind_certificate(bind);
    }
    if (*ceremony_cmd) {
        return run_ca_ceremony(ceremony);
    }
    if (*lint_cmd) {
        return run_lint(lint);
    }
    for (auto* c : ca_cmds) {
        if (*c) {
            ca.action = c->get_name();
            return run_ca(ca);
        }
    }
    if (*remind_cmd) {
        return run_subscriptions_remind(remind);
    }
    if (*sign_cmd) {
        if (sign.user.empty() || sign.password.empty()) {
            print_error("sign needs --user and --password (or SELO_USER and SELO_PASSWORD)");
            return 2;
        }
        return run_sign(sign);
    }
    if (*ts_cmd) {
        return run_timestamp(ts);
    }
    if (*log_verify_cmd) {
        return run_log_verify(log_verify);
    }
    std::cerr << app.help() << std::endl;
    return 2;
}
