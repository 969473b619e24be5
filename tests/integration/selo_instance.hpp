#pragma once
// One `selo serve` for an integration test suite, driven only through its CLI and over HTTP
// with curl, plus the things a real user would do with it (open accounts, compute OTPs with
// oathtool, sign in).

#include <boost/json.hpp>

#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include "support/softhsm.hpp"
#include "support/test_support.hpp"

namespace selo::test {

struct Reply {
    int status = 0;
    boost::json::value body;  // null when the body is not JSON
    std::string raw;
    std::string headers;      // the response header block, as received

    // "error: error_description" of a CSC error, "status: detail" of a problem document.
    [[nodiscard]] std::string error() const;
};

// An account as `selo account create --json` printed it.
struct Holder {
    std::string account_id;
    std::string username;
    std::string password;
    std::string otp_secret;  // base32, from the otpauth URI
    std::string credential;  // empty without a PIN
    std::string pin;
    bool password_change_required = false;  // the CLI printed a one-time password
};

class SeloInstance {
public:
    // The path of the selo binary under test.
    static std::filesystem::path binary();

    // Checks the tools, initialises a data directory, starts the server on a free port, and
    // (with `nss`) builds an NSS database trusting only Selo's root. Returns "" or the reason.
    std::string start(bool nss = true);
    void stop();
    ~SeloInstance() { stop(); }

    // Run after `selo init` (and extra_config) and before the server starts, e.g. a root key
    // ceremony on data(); returns "" or the reason start() fails (set before start()).
    std::function<std::string()> before_serve;
    // Extra settings appended to selo.toml before the server starts (set before start()).
    std::string extra_config;
    // Where the CA keys live (set before start()): with pkcs11, `selo init --key-backend pkcs11`
    // on the process's private SoftHSM2 token, its PIN from the environment.
    KeyBackend key_backend = KeyBackend::software;
    // HTTPS (set before start()): the public URL is https://127.0.0.1:PORT, so the server
    // serves a certificate from its infrastructure CA; root.pem (fetched once without checking,
    // as a relying party gets a root out of band) is what curl and clients then trust.
    bool tls = false;
    // The root CA certificate (PEM), after start().
    [[nodiscard]] std::filesystem::path root_pem() const { return dir() / "root.pem"; }

    [[nodiscard]] const std::filesystem::path& dir() const { return dir_->path(); }
    [[nodiscard]] std::filesystem::path data() const { return dir() / "data"; }
    [[nodiscard]] std::filesystem::path nss() const { return dir() / "nss"; }
    [[nodiscard]] const std::string& base() const { return base_; }
    [[nodiscard]] std::uint16_t port() const { return port_; }
    // With tls: the plain-http repository listener ([server] repository_listen and
    // repository_url, given to `selo init`), http://127.0.0.1:PORT; empty without tls.
    [[nodiscard]] const std::string& repository_base() const { return repository_base_; }
    [[nodiscard]] int stop_status() const { return stop_status_; }

    // Runs `selo ARGS` (ARGS already shell-quoted), capturing stdout only or both.
    CommandResult selo(const std::string& args, bool stdout_only = false) const;

    // `selo account create --permanent-password`: a fixture account whose generated password
    // works without the first-sign-in change (one_time: the operator's default, a one-time one).
    Holder enrol(const std::string& name, const std::string& latin, const std::string& id,
                 const std::string& email, const std::string& pin,
                 const std::vector<std::string>& roles = {}, const std::string& id_type = {},
                 bool one_time = false);
    // The code the holder's authenticator app shows `ahead` time steps from now (oathtool).
    static std::string otp(const Holder& h, int ahead = 0);

    Reply request(const std::string& method, const std::string& path, const std::string& body = {},
                  const std::vector<std::string>& headers = {},
                  const std::string& content_type = "application/json");
    Reply post(const std::string& path, const std::string& body,
               const std::vector<std::string>& headers = {}) {
        return request("POST", path, body, headers);
    }
    Reply get(const std::string& path, const std::vector<std::string>& headers = {}) {
        return request("GET", path, {}, headers, {});
    }

    // CSC auth/login (HTTP Basic): a bearer token for /csc/v2.
    std::string csc_login(const Holder& h);
    // /api/v1/auth/login with password and OTP: a bearer token for /api/v1.
    std::string api_login(const Holder& h, int otp_ahead = 0);

    // The serials of valid certificates whose subject contains `subject_part`, from
    // `selo ca list --json` (empty when it fails).
    [[nodiscard]] std::vector<std::string> valid_serials(std::string_view subject_part) const;

private:
    std::unique_ptr<TempDir> dir_;
    std::unique_ptr<ServerProcess> server_;
    std::string base_;
    std::uint16_t port_ = 0;
    std::string repository_base_;
    int counter_ = 0;
    int stop_status_ = -1;
};

}  // namespace selo::test
