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
    // Check the PIN before any work, so a bad one costs nothing.
    if (auto p = cloudsign::check_pin_policy(pin); !p) {
        print_error(p.error().message);
        return 1;
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
        opened = SELO_TRY((*rt)->accounts().open(person));
        credential = SELO_TRY((*rt)->cloudsign().create_credential(opened.account, pin));
        return store::append_audit((*rt)->database(), clock.now(), "cli:account create",
                                   "account.create", opened.account.id,
                                   fmt::format("user {} credential {} certificate {}",
                                               opened.account.username, credential.id,
                                               credential.certificate_serial));
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
        out["otpauth"] = opened.otpauth_uri;
        out["credential_id"] = credential.id;
        out["certificate_serial"] = credential.certificate_serial;
        std::cout << boost::json::serialize(out) << std::endl;
    } else {
        std::cout << "Account opened for " << opened.account.person.name << " ("
                  << opened.account.person.latin_name << ")\n"
                  << "  username:         " << opened.account.username << "\n"
                  << "  initial password: " << opened.initial_password << "\n"
                  << "  authenticator:    " << opened.otpauth_uri << "\n"
                  << "  credential:       " << credential.id << " (certificate "
                  << credential.certificate_serial << ")\n"
                  << "Give the password and the authenticator URI to the account holder only."
                  << std::endl;
    }
    return 0;
}

}  // namespace selo::cli
