#include "integration/selo_instance.hpp"

#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <regex>

#include "core/bytes.hpp"

namespace selo::test {
namespace fs = std::filesystem;
namespace json = boost::json;

std::string Reply::error() const {
    if (body.is_object()) {
        const auto& o = body.as_object();
        if (o.contains("error")) {
            return std::string(o.at("error").as_string()) + ": " +
                   (o.contains("error_description") ? std::string(o.at("error_description").as_string()) : "");
        }
        if (o.contains("status") && o.contains("detail")) {
            return std::to_string(o.at("status").to_number<int>()) + ": " +
                   std::string(o.at("detail").as_string());
        }
    }
    return "(no error document) " + raw;
}

fs::path SeloInstance::binary() { return fs::path(SELO_BINARY_DIR) / "src" / "cli" / "selo"; }

std::string SeloInstance::start(bool nss) {
    if (auto missing = missing_tool({"curl", "oathtool", "openssl"}); !missing.empty()) {
        return missing;
    }
    if (nss && !have_tool("certutil")) {
        return "certutil is not installed";
    }
    dir_ = std::make_unique<TempDir>();
    port_ = free_port();
    base_ = (tls ? "https://127.0.0.1:" : "http://127.0.0.1:") + std::to_string(port_);
    std::string keys;
    if (key_backend == KeyBackend::pkcs11) {
        if (std::string error = ensure_test_token(); !error.empty()) {
            return error;
        }
        // SoftHsm set SOFTHSM2_CONF for this process; the selo children inherit it and this.
        ::setenv("SELO_TEST_TOKEN_PIN", std::string(kTestTokenPin).c_str(), 1);
        keys = " --key-backend pkcs11 --pkcs11-module " +
               shell_quote(SoftHsm::instance().module().string()) + " --pkcs11-token-label " +
               shell_quote(std::string(kTestTokenLabel)) + " --pkcs11-pin-source env:SELO_TEST_TOKEN_PIN";
    }
    if (tls) {
        // Status URLs over plain http beside the TLS listener, on a port of its own.
        std::uint16_t repository = free_port();
        while (repository == port_) {
            repository = free_port();
        }
        const std::string address = "127.0.0.1:" + std::to_string(repository);
        repository_base_ = "http://" + address;
        keys += " --repository-url " + repository_base_ + " --repository-listen " + address;
    }
    auto init = selo("init --data " + shell_quote(data().string()) + " --public-url " + base_ + keys);
    if (init.exit_code != 0) {
        return "selo init failed: " + init.output;
    }
    if (!extra_config.empty()) {
        std::ofstream(data() / "selo.toml", std::ios::app) << "\n" << extra_config << "\n";
    }
    if (before_serve) {
        if (std::string error = before_serve(); !error.empty()) {
            return error;
        }
    }
    server_ = std::make_unique<ServerProcess>();
    std::string error;
    if (!server_->start(binary(), data(), port_, dir() / "server.log", error, tls)) {
        server_.reset();
        return error;
    }
    if (nss) {
        // An NSS database trusting only Selo's root, fetched from the server like a relying party.
        const std::string d = dir().string();
        auto r = run("mkdir -p " + d + "/nss && certutil -N -d sql:" + d + "/nss --empty-password" +
                     " && curl -sf" + (tls ? "k" : "") + " -o " + d + "/root.der " + base_ + "/ca/root.crt" +
                     " && openssl x509 -inform DER -in " + d + "/root.der -out " + d + "/root.pem" +
                     " && curl -sf" + (tls ? " --cacert " + d + "/root.pem" : "") + " -o " + d +
                     "/np.der " + base_ + "/ca/natural-persons.crt" +
                     " && openssl x509 -inform DER -in " + d + "/np.der -out " + d + "/np.pem" +
                     " && certutil -A -d sql:" + d + "/nss -n selo-root -t CT,C,C -i " + d + "/root.pem");
        if (r.exit_code != 0) {
            return "NSS setup failed: " + r.output;
        }
    }
    return {};
}

void SeloInstance::stop() {
    if (server_) {
        stop_status_ = server_->stop();
        server_.reset();
    }
}

CommandResult SeloInstance::selo(const std::string& args, bool stdout_only) const {
    std::string cmd = shell_quote(binary().string()) + " " + args;
    return stdout_only ? run_stdout(cmd) : run(cmd);
}

Holder SeloInstance::enrol(const std::string& name, const std::string& latin, const std::string& id,
                           const std::string& email, const std::string& pin,
                           const std::vector<std::string>& roles, const std::string& id_type,
                           bool one_time) {
    std::string args = "account create --data " + shell_quote(data().string()) + " --name " +
                       shell_quote(name) + " --latin-name " + shell_quote(latin) + " --id-number " +
                       shell_quote(id) + " --email " + shell_quote(email) + " --json" +
                       (one_time ? "" : " --permanent-password");
    if (!pin.empty()) {
        args += " --pin " + shell_quote(pin);
    }
    for (const auto& r : roles) {
        args += " --role " + shell_quote(r);
    }
    if (!id_type.empty()) {
        args += " --id-type " + shell_quote(id_type);
    }
    auto r = selo(args, true);
    Holder h;
    if (r.exit_code != 0) {
        ADD_FAILURE() << "selo account create failed: " << selo(args).output;
        return h;
    }
    auto v = json::parse(r.output).as_object();
    h.account_id = std::string(v.at("account_id").as_string());
    h.username = std::string(v.at("username").as_string());
    h.password = std::string(v.at("password").as_string());
    h.password_change_required = v.at("password_change_required").as_bool();
    if (v.contains("credential_id")) {
        h.credential = std::string(v.at("credential_id").as_string());
    }
    std::string uri(v.at("otpauth").as_string());
    EXPECT_TRUE(uri.starts_with("otpauth://totp/")) << uri;
    std::smatch m;
    EXPECT_TRUE(std::regex_search(uri, m, std::regex("[?&]secret=([A-Z2-7]+)"))) << uri;
    h.otp_secret = m[1];
    h.pin = pin;
    return h;
}

std::string SeloInstance::otp(const Holder& h, int ahead) {
    auto r = run("oathtool --totp -b " + h.otp_secret + " --now \"$(date -u -d @$(( $(date +%s) + " +
                 std::to_string(30 * ahead) + " )) '+%Y-%m-%d %H:%M:%S UTC')\"");
    EXPECT_EQ(r.exit_code, 0) << r.output;
    return r.output.substr(0, r.output.find('\n'));
}

Reply SeloInstance::request(const std::string& method, const std::string& path, const std::string& body,
                            const std::vector<std::string>& headers, const std::string& content_type) {
    int n = ++counter_;
    auto req = dir() / ("req" + std::to_string(n));
    auto resp = dir() / ("resp" + std::to_string(n));
    auto hdrs = dir() / ("hdr" + std::to_string(n));
    std::string cmd = "curl -s -o " + resp.string() + " -D " + hdrs.string() + " -w '%{http_code}' -X " +
                      method + " " + shell_quote(base_ + path);
    if (tls) {
        cmd += " --cacert " + shell_quote(root_pem().string());
    }
    if (!body.empty() || method == "POST" || method == "PUT") {
        write_file(req, body);
        cmd += " --data-binary @" + req.string();
        if (!content_type.empty()) {
            cmd += " -H " + shell_quote("Content-Type: " + content_type);
        }
    }
    for (const auto& h : headers) {
        cmd += " -H " + shell_quote(h);
    }
    auto r = run(cmd);
    Reply out;
    out.status = std::atoi(r.output.c_str());
    std::error_code ec;
    if (fs::exists(resp)) {
        out.raw = std::string(as_chars(read_file(resp)));
    }
    if (fs::exists(hdrs)) {
        out.headers = std::string(as_chars(read_file(hdrs)));
    }
    out.body = json::parse(out.raw, ec);
    if (ec) {
        out.body = nullptr;
    }
    fs::remove(req, ec);
    fs::remove(resp, ec);
    fs::remove(hdrs, ec);
    return out;
}

std::string SeloInstance::csc_login(const Holder& h) {
    std::string basic = base64_encode(as_bytes(h.username + ":" + h.password));
    auto r = post("/csc/v2/auth/login", "{}", {"Authorization: Basic " + basic});
    EXPECT_EQ(r.status, 200) << r.raw;
    return r.body.is_object() ? std::string(r.body.as_object().at("access_token").as_string()) : "";
}

std::string SeloInstance::api_login(const Holder& h, int otp_ahead) {
    json::object body{{"username", h.username}, {"password", h.password}, {"otp", otp(h, otp_ahead)}};
    auto r = post("/api/v1/auth/login", json::serialize(body));
    EXPECT_EQ(r.status, 200) << r.raw;
    return r.body.is_object() ? std::string(r.body.as_object().at("access_token").as_string()) : "";
}

std::vector<std::string> SeloInstance::valid_serials(std::string_view subject_part) const {
    auto list = selo("ca list --json --data " + shell_quote(data().string()), true);
    std::vector<std::string> out;
    if (list.exit_code != 0) {
        return out;
    }
    const boost::json::value rows = boost::json::parse(list.output);  // outlives the loop
    for (const auto& v : rows.as_array()) {
        if (std::string_view(v.at("subject").as_string()).find(subject_part) != std::string_view::npos &&
            v.at("status").as_string() == "valid") {
            out.emplace_back(v.at("serial").as_string());
        }
    }
    return out;
}

}  // namespace selo::test
