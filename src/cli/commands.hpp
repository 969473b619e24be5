#pragma once
// The `selo` subcommands. Each returns the process exit status: 0 success, 1 failure (the
// message already printed), 2 bad usage.

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace CLI {
class App;
}

namespace selo::cli {

struct InitArgs {
    std::filesystem::path data;
    std::string public_url = "http://127.0.0.1:8080";
    std::string listen = "127.0.0.1:8080";
    std::string organization = "Selo Trust Services";
    std::string organization_identifier = "NTRMO-SELO";
    std::string country = "MO";
    // [keys]: "software", or "pkcs11" with the token's module, label and PIN source.
    std::string key_backend = "software";
    std::string pkcs11_module;
    std::string pkcs11_token_label;
    std::string pkcs11_pin_source;
    // [server] repository_url / repository_listen (plain-http status listener).
    std::string repository_url;
    std::string repository_listen;
};
int run_init(const InitArgs& args);

struct ServeArgs {
    std::filesystem::path data;
    std::optional<std::string> listen;
    bool init_if_missing = false;
    std::string public_url;  // for --init
};
int run_serve(const ServeArgs& args);

struct AccountCreateArgs {
    std::filesystem::path data;
    std::string name;
    std::string latin_name;
    std::string given_name;
    std::string surname;
    std::string id_type = "identity-card";
    std::string id_number;
    std::string id_country = "MO";
    std::string email;
    std::string pin;  // "-": read one line from standard input; empty: no signing credential
    std::vector<std::string> roles = {"citizen"};
    bool json = false;
    // The generated password stays valid without a change at first sign-in (test fixtures,
    // service accounts whose holder gets it through a trusted channel); audited as such.
    bool permanent_password = false;
};
int run_account_create(const AccountCreateArgs& args);

// selo account bind-certificate: mutual-TLS sign-in of an agency with this certificate.
struct BindCertificateArgs {
    std::filesystem::path data;
    std::string account;                 // the agency's account id
    std::filesystem::path certificate;   // PEM or DER, issued by the institutions CA
};
int run_account_bind_certificate(const BindCertificateArgs& args);

struct SignArgs {
    std::string server;
    std::string user;
    std::string password;
    std::string pin;
    std::string otp;
    std::string credential;  // empty: the account's only (or first valid) credential
    std::filesystem::path input;
    std::filesystem::path output;
    std::string reason;
    std::string location;
    bool quiet = false;
    bool force = false;  // replace an existing output file
    std::filesystem::path ca_file;  // https: trust these CA certificates instead of the system's
    bool allow_http = false;        // plain http to a host other than this machine
};
int run_sign(const SignArgs& args);

// `selo ca list|show|revoke|suspend|resume`.
struct CaArgs {
    std::string action;  // list, show, revoke, suspend, resume
    std::filesystem::path data;
    std::string ca;      // CA name; empty: the one that issued the serial (list: every CA)
    std::string serial;  // hex
    std::string reason = "unspecified";  // revoke: RFC 5280 reason
    std::string time;    // revoke: when it takes effect (default now)
    std::string comment;  // for the audit trail
    std::string status;  // list: only this status
    std::size_t limit = 1000;
    bool json = false;
    // issue / renew
    std::string profile;
    std::filesystem::path csr;       // the subject's PKCS#10 request
    bool generate_key = false;       // or a key made here, written to key_out
    std::string key_type = "ec-p256";
    std::filesystem::path key_out;
    std::string account;             // issue: the registered account (id or username)
    std::string common_name;         // infrastructure profiles
    std::string organization;        // legal-person profiles
    std::string organization_identifier;  // legal-person profiles: NTRMO-...
    std::vector<std::string> dns_names;
    std::vector<std::string> ip_addresses;
    std::filesystem::path out;       // certificate file (PEM); empty: standard output
    unsigned count = 1;              // issue: this many certificates for the CSR's key (load tests)
};
int run_ca(const CaArgs& args);

// `selo lint [--issuer CA] [--profile P] FILE...`: exit 0 clean, 1 findings, 2 unreadable input.
struct LintArgs {
    std::vector<std::filesystem::path> files;
    std::filesystem::path issuer;  // the CA certificate (certificates: AKI, issuer DN; CRLs: signer)
    std::string profile;           // default: recognised from the certificate's policies
    std::filesystem::path data;    // a data directory: its selo.toml's profiles ([[pki.profile]])
};
int run_lint(const LintArgs& args);
// `selo ca ceremony init-root | csr | sign | import` (cli/ceremony_command.cpp).
struct CeremonyArgs {
    InitArgs init;  // init-root: the offline directory's settings
    std::filesystem::path data;
    std::string ca;
    std::filesystem::path csr;
    std::filesystem::path root;
    std::vector<std::filesystem::path> certificates;
    std::filesystem::path output;
    CLI::App* init_root = nullptr;
    CLI::App* csr_cmd = nullptr;
    CLI::App* sign_cmd = nullptr;
    CLI::App* import_cmd = nullptr;
};
// Adds the `ceremony` subcommands to the `ca` command; returns the `ceremony` subcommand.
CLI::App* add_ceremony_commands(CLI::App& ca, CeremonyArgs& args, const std::filesystem::path& default_data);
int run_ca_ceremony(const CeremonyArgs& args);
struct LogVerifyArgs {
    std::string server;
    std::filesystem::path root;   // the root CA certificate (PEM) to trust; empty: the server's
    std::filesystem::path state;  // tree heads seen on earlier runs; empty: under ~/.selo/
};
int run_log_verify(const LogVerifyArgs& args);

struct TimestampArgs {
    std::string server;
    std::filesystem::path ca_file;  // CA certificate(s) to trust for an https server
    std::filesystem::path input;
    std::filesystem::path output;
    std::string hash = "sha256";
    bool quiet = false;
    bool force = false;
};
int run_timestamp(const TimestampArgs& args);

struct SubscriptionsRemindArgs {
    std::filesystem::path data;
};
int run_subscriptions_remind(const SubscriptionsRemindArgs& args);

// Prints "selo: <message>" to standard error.
void print_error(std::string_view message);

}  // namespace selo::cli
