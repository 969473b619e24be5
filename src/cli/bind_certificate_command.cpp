// `selo account bind-certificate`: an administrator binds a certificate of the institutions CA
// to an agency account, for mutual-TLS sign-in to /api/v1.

#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <iostream>
#include <iterator>

#include "cli/client_certificates.hpp"
#include "cli/commands.hpp"
#include "store/audit.hpp"

namespace selo::cli {

int run_account_bind_certificate(const BindCertificateArgs& args) {
    SystemClock clock;
    SystemRng rng;
    std::ifstream in(args.certificate, std::ios::binary);
    if (!in) {
        print_error(fmt::format("cannot read {}", args.certificate.string()));
        return 1;
    }
    std::string data((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    auto cert = pki::Certificate::from_pem_or_der(as_bytes(data));
    if (!cert) {
        print_error(fmt::format("{}: {}", args.certificate.string(), cert.error().message));
        return 1;
    }
    auto rt = Runtime::open(args.data, clock, rng);
    if (!rt) {
        print_error(rt.error().message);
        return 1;
    }
    auto cc = open_client_certificates(**rt);
    if (!cc) {
        print_error(cc.error().message);
        return 1;
    }
    const Bytes& der = cert->der();
    auto serial = (*cc)->authenticator.check_certificate(
        std::string_view(reinterpret_cast<const char*>(der.data()), der.size()));
    if (!serial) {
        print_error(fmt::format("{}: {}", args.certificate.string(), serial.error().message));
        return 1;
    }
    auto account = (*rt)->accounts().find(args.account);
    if (!account) {
        print_error(account.error().message);
        return 1;
    }
    if (!account->has_role(account::Role::agency)) {
        print_error(fmt::format("account {} ({}) is not an agency: only agencies sign in with a "
                                "certificate", account->id, account->username));
        return 1;
    }
    const char* user = std::getenv("USER");
    std::string actor =
        fmt::format("cli:{}", user != nullptr && *user != '\0' ? user : std::to_string(::getuid()));
    std::string issuer = (*cc)->authenticator.issuer_name();
    auto done = (*rt)->database().transaction([&]() -> Result<void> {
        SELO_TRY_VOID((*cc)->bindings.insert({issuer, *serial, account->id, actor, clock.now()}));
        return (*rt)->audit().record({actor, "certificate.bind", issuer + ":" + *serial,
                                      fmt::format("bound to agency account {} ({}); subject {}",
                                                  account->id, account->username,
                                                  cert->subject())});
    });
    if (!done) {
        print_error(done.error().message);
        return 1;
    }
    std::cout << "Bound certificate " << *serial << " (" << cert->subject() << ") of the " << issuer
              << " CA to agency account " << account->id << " (" << account->username << ")\n";
    return 0;
}

}  // namespace selo::cli
