// `selo sign`: a CSC API v2 client. It prepares the PDF and hashes it on this machine, sends
// only the hash of the CMS signed attributes to signHash, and writes the signed PDF atomically.

#include <boost/json.hpp>
#include <boost/url/parse.hpp>
#include <unistd.h>

#include <cstdio>
#include <iostream>

#include "cli/commands.hpp"
#include "crypto/digest.hpp"
#include "http/client.hpp"
#include "http/response.hpp"
#include "pdf/signature.hpp"
#include "pdf/signed_file_writer.hpp"
#include "pki/certificate.hpp"
#include "sig/cades.hpp"

namespace selo::cli {
namespace {

namespace json = boost::json;

class CscClient {
public:
    explicit CscClient(http::Client client) : client_(std::move(client)) {}

    Result<void> login(std::string_view user, std::string_view password) {
        std::string basic = base64_encode(as_bytes(fmt::format("{}:{}", user, password)));
        auto out = SELO_TRY(call("auth/login", json::object{}, {{"Authorization", "Basic " + basic}}));
        const json::value* token = out.if_contains("access_token");
        if (token == nullptr || !token->is_string()) {
            return fail(ErrorCode::malformed, "auth/login answered without an access_token");
        }
        token_ = std::string(token->as_string());
        return {};
    }

    Result<json::object> call(std::string_view method, const json::object& body,
                              http::Headers headers = {}) {
        if (!token_.empty()) {
            headers.emplace_back("Authorization", "Bearer " + token_);
        }
        auto res = client_.post(fmt::format("/csc/v2/{}", method), json::serialize(body),
                                http::kApplicationJson, headers);
        if (!res) {
            return std::unexpected(res.error().context(fmt::format("{} {}", client_.base_url(), method)));
        }
        auto parsed = http::parse_json_object(res->body());
        if (res->result() != http::Status::ok) {
            if (parsed && parsed->contains("error")) {
                auto text = [&](std::string_view k) -> std::string {
                    const json::value* v = parsed->if_contains(k);
                    return v != nullptr && v->is_string() ? std::string(v->as_string()) : "";
                };
                return fail(res->result_int() == 401 ? ErrorCode::unauthorized : ErrorCode::invalid_argument,
                            "{}: {} ({})", method, text("error_description"), text("error"));
            }
            return fail(ErrorCode::unavailable, "{}: HTTP {} from the server", method, res->result_int());
        }
        if (!parsed) {
            return fail(ErrorCode::malformed, "{}: the server did not answer JSON", method);
        }
        return std::move(*parsed);
    }

private:
    http::Client client_;
    std::string token_;
};

Result<std::string> string_field(const json::object& o, std::string_view k) {
    const json::value* v = o.if_contains(k);
    if (v == nullptr || !v->is_string()) {
        return fail(ErrorCode::malformed, "the server's answer lacks '{}'", k);
    }
    return std::string(v->as_string());
}

Result<std::string> read_secret(const std::string& value, std::string_view what) {
    if (value != "-") {
        return value;
    }
    std::string line;
    if (!std::getline(std::cin, line)) {
        return fail(ErrorCode::invalid_argument, "no {} on standard input", what);
    }
    while (!line.empty() && (line.back() == '\r' || line.back() == '\n')) {
        line.pop_back();
    }
    return line;
}

// Everything that can be checked before anything is sent: a refusal after the server signed
// would have spent the holder's one-time code for nothing.
Result<void> check_paths(const SignArgs& args) {
    namespace fs = std::filesystem;
    std::error_code ec;
    if (args.output == "-") {
        return fail(ErrorCode::invalid_argument, "the signed PDF cannot go to standard output; give -o FILE");
    }
    auto in_status = fs::status(args.input, ec);
    if (ec || !fs::is_regular_file(in_status)) {
        return fail(ErrorCode::invalid_argument, "{} is not a regular file", args.input.string());
    }
    fs::path parent = args.output.parent_path().empty() ? fs::path(".") : args.output.parent_path();
    if (!fs::is_directory(parent, ec)) {
        return fail(ErrorCode::invalid_argument, "the output directory {} does not exist", parent.string());
    }
    auto out_status = fs::symlink_status(args.output, ec);
    if (!ec && fs::exists(out_status)) {
        if (!fs::is_regular_file(out_status)) {
            return fail(ErrorCode::invalid_argument,
                        "{} exists and is not a regular file; choose another output", args.output.string());
        }
        if (fs::equivalent(args.input, args.output, ec)) {
            return fail(ErrorCode::invalid_argument,
                        "the output must not be the input: the original must stay intact");
        }
        if (!args.force) {
            return fail(ErrorCode::conflict, "{} exists; use --force to replace it", args.output.string());
        }
    }
    return {};
}

Result<void> check_pin_format(std::string_view pin) {
    if (pin.size() < 6 || pin.size() > 12 || pin.find_first_not_of("0123456789") != std::string_view::npos) {
        return fail(ErrorCode::invalid_argument, "the signing PIN is 6 to 12 digits");
    }
    return {};
}

// "CN" of a certificate's subject, for the signature dictionary's /Name.
std::string common_name(const pki::Certificate& cert) {
    X509_NAME* name = ::X509_get_subject_name(cert.x509());
    int idx = ::X509_NAME_get_index_by_NID(name, NID_commonName, -1);
    if (idx < 0) {
        return {};
    }
    ASN1_STRING* s = ::X509_NAME_ENTRY_get_data(::X509_NAME_get_entry(name, idx));
    unsigned char* utf8 = nullptr;
    int len = ::ASN1_STRING_to_UTF8(&utf8, s);
    if (len < 0) {
        return {};
    }
    std::string out(reinterpret_cast<char*>(utf8), static_cast<std::size_t>(len));
    ::OPENSSL_free(utf8);
    return out;
}

// The password, PIN and OTP go to the server: over https, or plain http only to this machine
// (or with --allow-http, for a network the user vouches for).
Result<void> check_transport(const SignArgs& args) {
    auto url = boost::urls::parse_absolute_uri(args.server);
    if (!url || (url->scheme() != "http" && url->scheme() != "https")) {
        return fail(ErrorCode::invalid_argument, "--server {}: not an http(s):// URL", args.server);
    }
    if (!args.ca_file.empty() && url->scheme() != "https") {
        return fail(ErrorCode::invalid_argument, "--ca-file is for https:// servers; --server is {}",
                    args.server);
    }
    if (url->scheme() == "https" || args.allow_http) {
        return {};
    }
    const std::string host = url->host_address();
    if (host == "localhost" || host == "::1" || host.starts_with("127.")) {
        return {};
    }
    return fail(ErrorCode::invalid_argument,
                "--server {} is plain http to another machine: the password, PIN and OTP would "
                "travel in clear. Use https:// (with --ca-file for Selo's root), or --allow-http "
                "on a network you trust",
                args.server);
}

Result<void> sign(const SignArgs& args) {
    const bool show_progress = !args.quiet && ::isatty(STDERR_FILENO) == 1;
    SELO_TRY_VOID(check_paths(args));
    auto password = SELO_TRY(read_secret(args.password, "password"));
    auto pin = SELO_TRY(read_secret(args.pin, "PIN"));
    SELO_TRY_VOID(check_pin_format(pin));
    if (args.otp.size() != 6 || args.otp.find_first_not_of("0123456789") != std::string::npos) {
        return fail(ErrorCode::invalid_argument, "--otp is the 6-digit code from the authenticator app");
    }
    SELO_TRY_VOID(check_transport(args));
    http::ClientOptions client_options;
    client_options.ca_file = args.ca_file;
    CscClient csc(SELO_TRY(http::Client::create(args.server, client_options)));
    SELO_TRY_VOID(csc.login(args.user, password));

    std::string credential_id = args.credential;
    if (credential_id.empty()) {
        auto list = SELO_TRY(csc.call("credentials/list", json::object{{"onlyValid", true}}));
        const json::value* ids = list.if_contains("credentialIDs");
        if (ids == nullptr || !ids->is_array() || ids->as_array().empty()) {
            return fail(ErrorCode::not_found, "the account has no usable signing credential");
        }
        if (!ids->as_array().front().is_string()) {
            return fail(ErrorCode::malformed, "credentials/list answered a non-string ID");
        }
        credential_id = std::string(ids->as_array().front().as_string());
    }
    auto info = SELO_TRY(csc.call("credentials/info", json::object{{"credentialID", credential_id},
                                                                    {"certificates", "chain"},
                                                                    {"certInfo", true}}));
    const json::value* cert_obj = info.if_contains("cert");
    const json::value* certs = cert_obj != nullptr && cert_obj->is_object()
                                   ? cert_obj->as_object().if_contains("certificates")
                                   : nullptr;
    if (certs == nullptr || !certs->is_array() || certs->as_array().empty()) {
        return fail(ErrorCode::malformed, "credentials/info returned no certificates");
    }
    std::vector<pki::Certificate> chain;
    for (const auto& c : certs->as_array()) {
        if (!c.is_string()) {
            return fail(ErrorCode::malformed, "credentials/info returned a non-string certificate");
        }
        auto der = SELO_TRY(base64_decode(c.as_string()));
        chain.push_back(SELO_TRY(pki::Certificate::from_der(der)));
    }
    pki::Certificate signer = chain.front();
    chain.erase(chain.begin());

    // Prepared before credentials/authorize, which spends the one-time code: an unsignable
    // file costs the holder nothing.
    pdf::SignatureFieldOptions opts;
    opts.signer_name = common_name(signer);
    opts.reason = args.reason;
    opts.location = args.location;
    opts.signing_time = std::chrono::system_clock::now();
    auto prepared = SELO_TRY(pdf::prepare_signature_file(args.input, opts));
    std::uint64_t last_percent = 101;
    auto progress = [&](std::uint64_t done, std::uint64_t total) {
        if (!show_progress || total == 0) {
            return;
        }
        std::uint64_t percent = done * 100 / total;
        if (percent != last_percent) {
            last_percent = percent;
            std::fprintf(stderr, "\rhashing %s: %3u%% (%llu of %llu MiB)", args.input.filename().c_str(),
                         static_cast<unsigned>(percent),
                         static_cast<unsigned long long>(done >> 20),
                         static_cast<unsigned long long>(total >> 20));
        }
    };
    auto writer = SELO_TRY(pdf::SignedFileWriter::begin(args.input, args.output, std::move(prepared),
                                                        crypto::DigestAlgorithm::sha256, progress));
    if (show_progress) {
        std::fprintf(stderr, "\n");
    }
    auto cades = SELO_TRY(sig::PreparedCades::prepare(signer, chain, crypto::DigestAlgorithm::sha256,
                                                      writer.digest()));
    std::string hash_b64 = base64_encode(cades.to_be_signed_digest());
    std::string sha256_oid(crypto::digest_oid(crypto::DigestAlgorithm::sha256));
    auto auth = SELO_TRY(csc.call(
        "credentials/authorize",
        json::object{{"credentialID", credential_id},
                     {"numSignatures", 1},
                     {"hashes", json::array{hash_b64}},
                     {"hashAlgorithmOID", sha256_oid},
                     {"authData", json::array{json::object{{"id", "PIN"}, {"value", pin}},
                                              json::object{{"id", "OTP"}, {"value", args.otp}}}}}));
    auto sad = SELO_TRY(string_field(auth, "SAD"));
    auto signed_hash = SELO_TRY(csc.call("signatures/signHash",
                                         json::object{{"credentialID", credential_id},
                                                      {"SAD", sad},
                                                      {"hashes", json::array{hash_b64}},
                                                      {"hashAlgorithmOID", sha256_oid},
                                                      {"signAlgo", "1.2.840.10045.4.3.2"}}));
    const json::value* sigs = signed_hash.if_contains("signatures");
    if (sigs == nullptr || !sigs->is_array() || sigs->as_array().size() != 1 ||
        !sigs->as_array().front().is_string()) {
        return fail(ErrorCode::malformed, "signHash did not return exactly one signature");
    }
    auto signature = SELO_TRY(base64_decode(sigs->as_array().front().as_string()));
    auto cms = SELO_TRY(cades.finish(signature));
    SELO_TRY_VOID(writer.commit(cms));
    return {};
}

}  // namespace

int run_sign(const SignArgs& args) {
    auto r = sign(args);
    if (!r) {
        print_error(r.error().message);
        return 1;
    }
    if (!args.quiet) {
        std::cerr << "signed " << args.input.string() << " -> " << args.output.string() << std::endl;
    }
    return 0;
}

}  // namespace selo::cli
