#include <boost/json.hpp>

#include <iostream>

#include "cli/commands.hpp"
#include "cli/data_dir.hpp"
#include "store/repositories.hpp"

namespace selo::cli {

namespace {
Result<std::string> read_secret_line(std::string_view what) {
    std::string line;
    if (!std::getline(std::cin, line)) {
        return fail(ErrorCode::invalid_argument, "no {} on standard input", what);
    }
    while (!line.empty() && (line.back() == '\r' || line.back() == '\n')) {
        line.pop_back();
    }
    return line;
}
}  // namespace

int run_account_create(const AccountCreateArgs& args) {
    SystemClock clock;
    SystemRng rng;
    std::string pin = args.pin;
    if (pin == "-") {
        auto line = read_secret_line("PIN");
        if (!line) {
            print_error(line.error().message);
            return 2;
        }
        pin = *line;
    }
    auto id_type = account::identity_document_from_name(args.id_type);
    if (!id_type) {
        print_error(id_type.error().message);
        return 2;
    }
    std::vector<account::Role> roles;
    for (const auto& name : args.roles) {
        auto r = account::role_from_name(name);
        if (!r) {
            print_error(r.error().message);
            return 2;
        }
        roles.push_back(*r);
    }
    // Check the PIN before any work, so a bad one costs nothing.
    if (!pin.empty()) {
        if (auto p = cloudsign::check_pin_policy(pin); !p) {
            print_error(p.error().message);
            return 1;
        }
    }
    auto rt = Runtime::open(args.data, clock, rng);
    if (!rt) {
        print_error(rt.error().message);
        return 1;
    }
    account::Person person;
    person.name = args.name;
    person.latin_name = args.latin_name;
    person.given_name = args.given_name;
    person.surname = args.surname;
    person.id_type = *id_type;
    person.id_number = args.id_number;
    person.id_country = args.id_country;
    person.email = args.email;

    account::NewAccount opened;
    cloudsign::Credential credential;
    // One transaction: the account and its credential exist together or not at all.
    auto done = (*rt)->database().transaction([&]() -> Result<void> {
        // Like counter enrolment: the generated password is one-time unless the operator says
        // otherwise.
        opened = SELO_TRY((*rt)->accounts().open(
            person, roles, {.with_authenticator = true, .must_change_password = !args.permanent_password}));
        if (!pin.empty()) {
            credential = SELO_TRY((*rt)->cloudsign().create_credential(opened.account, pin));
        }
        std::string role_list;
        for (auto r : opened.account.roles) {
            role_list += (role_list.empty() ? "" : ",") + std::string(account::role_name(r));
        }
        return store::append_audit((*rt)->database(), clock.now(), "cli:account create",
                                   "account.create", opened.account.id,
                                   fmt::format("user {} roles {} password {} credential {} certificate {}",
                                               opened.account.username, role_list,
                                               args.permanent_password ? "permanent" : "one-time",
                                               credential.id.empty() ? "-" : credential.id,
                                               credential.certificate_serial.empty() ? "-" : credential.certificate_serial));
    });
    if (!done) {
        print_error(done.error().message);
        return 1;
    }
    if (args.json) {
        boost::json::object out;
        out["account_id"] = opened.account.id;
        out["username"] = opened.account.username;
        out["password"] = opened.initial_password;
        out["password_change_required"] = opened.account.must_change_password;
        out["otpauth"] = opened.otpauth_uri;
        boost::json::array role_names;
        for (auto r : opened.account.roles) {
            role_names.emplace_back(std::string(account::role_name(r)));
        }
        out["roles"] = std::move(role_names);
        if (!credential.id.empty()) {
            out["credential_id"] = credential.id;
            out["certificate_serial"] = credential.certificate_serial;
        }
        std::cout << boost::json::serialize(out) << std::endl;
    } else {
        std::cout << "Account opened for " << opened.account.person.name << " ("
                  << opened.account.person.latin_name << ")\n"
                  << "  username:         " << opened.account.username << "\n"
                  << "  initial password: " << opened.initial_password << "\n"
                  << "  authenticator:    " << opened.otpauth_uri << "\n";
        if (!credential.id.empty()) {
            std::cout << "  credential:       " << credential.id << " (certificate "
                      << credential.certificate_serial << ")\n";
        }
        if (opened.account.must_change_password) {
            std::cout << "The initial password works once: it must be changed at first sign-in.\n";
        }
        std::cout << "Give the password and the authenticator URI to the account holder only."
                  << std::endl;
    }
    return 0;
}

}  // namespace selo::cli
