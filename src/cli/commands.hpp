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
};
int run_ca(const CaArgs& args);

struct SubscriptionsRemindArgs {
    std::filesystem::path data;
};
int run_subscriptions_remind(const SubscriptionsRemindArgs& args);

// Prints "selo: <message>" to standard error.
void print_error(std::string_view message);

}  // namespace selo::cli
