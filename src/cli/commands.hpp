#pragma once
// The `selo` subcommands. Each returns the process exit status: 0 success, 1 failure (the
// message already printed), 2 bad usage.

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace selo::cli {

struct InitArgs {
    std::filesystem::path data;
    std::string public_url = "http://127.0.0.1:8080";
    std::string listen = "127.0.0.1:8080";
    std::string organization = "Selo Trust Services";
    std::string country = "MO";
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
};
int run_sign(const SignArgs& args);

struct LogVerifyArgs {
    std::string server;
    std::filesystem::path root;   // the root CA certificate (PEM) to trust; empty: the server's
    std::filesystem::path state;  // tree heads seen on earlier runs; empty: under ~/.selo/
};
int run_log_verify(const LogVerifyArgs& args);

struct TimestampArgs {
    std::string server;
    std::filesystem::path input;
    std::filesystem::path output;
    std::string hash = "sha256";
    bool quiet = false;
    bool force = false;
};
int run_timestamp(const TimestampArgs& args);

// Prints "selo: <message>" to standard error.
void print_error(std::string_view message);

}  // namespace selo::cli
