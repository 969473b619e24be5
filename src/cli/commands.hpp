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
    std::string country = "MO";
    // [keys]: "software", or "pkcs11" with the token's module, label and PIN source.
    std::string key_backend = "software";
    std::string pkcs11_module;
    std::string pkcs11_token_label;
    std::string pkcs11_pin_source;
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
};
int run_account_create(const AccountCreateArgs& args);

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
// Adds `ca` and its `ceremony` subcommands to `app`; returns the `ca` subcommand.
CLI::App* add_ca_commands(CLI::App& app, CeremonyArgs& args, const std::filesystem::path& default_data);
int run_ca_ceremony(const CeremonyArgs& args);

// Prints "selo: <message>" to standard error.
void print_error(std::string_view message);

}  // namespace selo::cli
