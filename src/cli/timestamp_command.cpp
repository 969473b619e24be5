// `selo timestamp FILE -o FILE.tsr`: an RFC 3161 client. Hashes the file locally (only the hash
// is sent), asks the server's TSA with a fresh nonce and certReq, checks that the reply answers
// this request (status, imprint, nonce) and writes the TimeStampResp, which
// `openssl ts -verify -data FILE -in FILE.tsr ...` checks.

#include <openssl/rand.h>
#include <openssl/ts.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <iostream>

#include "cli/commands.hpp"
#include "crypto/digest.hpp"
#include "crypto/openssl.hpp"
#include "http/client.hpp"
#include "tsa/verify.hpp"

namespace selo::cli {
namespace {
namespace fs = std::filesystem;

using TsReqPtr = std::unique_ptr<TS_REQ, crypto::Free<&::TS_REQ_free>>;
using TsMsgImprintPtr = std::unique_ptr<TS_MSG_IMPRINT, crypto::Free<&::TS_MSG_IMPRINT_free>>;
using X509AlgorPtr = std::unique_ptr<X509_ALGOR, crypto::Free<&::X509_ALGOR_free>>;
using TsRespPtr = std::unique_ptr<TS_RESP, crypto::Free<&::TS_RESP_free>>;
using TsVerifyCtxPtr = std::unique_ptr<TS_VERIFY_CTX, crypto::Free<&::TS_VERIFY_CTX_free>>;

Result<crypto::DigestAlgorithm> algorithm_named(std::string_view name) {
    if (name == "sha256") {
        return crypto::DigestAlgorithm::sha256;
    }
    if (name == "sha384") {
        return crypto::DigestAlgorithm::sha384;
    }
    if (name == "sha512") {
        return crypto::DigestAlgorithm::sha512;
    }
    return fail(ErrorCode::invalid_argument, "--hash must be sha256, sha384 or sha512, not '{}'", name);
}

Result<Bytes> hash_file(const fs::path& file, crypto::DigestAlgorithm alg) {
    std::ifstream in(file, std::ios::binary);
    if (!in) {
        return fail(ErrorCode::not_found, "cannot read {}: {}", file.string(), std::strerror(errno));
    }
    crypto::Hasher h(alg);
    std::vector<char> buf(1 << 16);
    while (in) {
        in.read(buf.data(), static_cast<std::streamsize>(buf.size()));
        h.update(ByteView(reinterpret_cast<const std::uint8_t*>(buf.data()), static_cast<std::size_t>(in.gcount())));
    }
    if (in.bad()) {
        return fail(ErrorCode::internal, "reading {} failed", file.string());
    }
    return h.finish();
}

// A TimeStampReq (RFC 3161 §2.4.1) with a 64-bit nonce and certReq; the request and its nonce.
Result<std::pair<TsReqPtr, Bytes>> build_request(crypto::DigestAlgorithm alg, const Bytes& digest) {
    TsReqPtr req(::TS_REQ_new());
    TsMsgImprintPtr imprint(::TS_MSG_IMPRINT_new());
    X509AlgorPtr algor(::X509_ALGOR_new());
    if (!req || !imprint || !algor) {
        return crypto::openssl_fail("allocating a request");
    }
    ::X509_ALGOR_set_md(algor.get(), crypto::evp_md(alg));
    Bytes nonce_bytes(8);
    if (::RAND_bytes(nonce_bytes.data(), 8) != 1) {
        return crypto::openssl_fail("generating a nonce");
    }
    nonce_bytes[0] &= 0x7f;
    nonce_bytes[0] |= 0x01;  // eight full octets, positive
    crypto::BignumPtr bn(::BN_bin2bn(nonce_bytes.data(), 8, nullptr));
    crypto::Asn1IntegerPtr nonce(bn ? ::BN_to_ASN1_INTEGER(bn.get(), nullptr) : nullptr);
    if (!nonce || ::TS_REQ_set_version(req.get(), 1) != 1 ||
        ::TS_MSG_IMPRINT_set_algo(imprint.get(), algor.get()) != 1 ||
        ::TS_MSG_IMPRINT_set_msg(imprint.get(), const_cast<std::uint8_t*>(digest.data()),
                                 static_cast<int>(digest.size())) != 1 ||
        ::TS_REQ_set_msg_imprint(req.get(), imprint.get()) != 1 ||
        ::TS_REQ_set_nonce(req.get(), nonce.get()) != 1 || ::TS_REQ_set_cert_req(req.get(), 1) != 1) {
        return crypto::openssl_fail("building the request");
    }
    return std::pair{std::move(req), std::move(nonce_bytes)};
}

Result<void> run(const TimestampArgs& args) {
    std::error_code ec;
    // "-o -": the reply to standard output (a pipe into openssl ts, say), the report to stderr.
    const bool to_stdout = args.output == "-";
    if (!to_stdout && fs::exists(args.output, ec) && !args.force) {
        return fail(ErrorCode::conflict, "{} exists; use --force to replace it", args.output.string());
    }
    // Before anything is asked of the server: a token that cannot be saved is wasted.
    if (const fs::path dir = args.output.parent_path(); !to_stdout && !dir.empty() && !fs::is_directory(dir, ec)) {
        return fail(ErrorCode::invalid_argument, "cannot write {}: {} {}", args.output.string(), dir.string(),
                    fs::exists(dir, ec) ? "is not a directory" : "does not exist");
    }
    auto alg = SELO_TRY(algorithm_named(args.hash));
    auto digest = SELO_TRY(hash_file(args.input, alg));
    auto [req, nonce] = SELO_TRY(build_request(alg, digest));
    int len = ::i2d_TS_REQ(req.get(), nullptr);
    if (len <= 0) {
        return crypto::openssl_fail("encoding the request");
    }
    std::string der(static_cast<std::size_t>(len), '\0');
    auto* p = reinterpret_cast<unsigned char*>(der.data());
    ::i2d_TS_REQ(req.get(), &p);

    http::ClientOptions options;
    options.ca_file = args.ca_file;
    auto client = SELO_TRY(http::Client::create(args.server, options));
    auto res = SELO_TRY(client.post("/tsa", der, "application/timestamp-query"));
    if (res.result() == http::Status::not_found && std::string_view(args.server).find("/tsa") != std::string_view::npos) {
        return fail(ErrorCode::invalid_argument,
                    "{}/tsa answered HTTP 404: --server is the server's base URL (e.g. "
                    "http://127.0.0.1:8080), to which /tsa is added",
                    args.server);
    }
    if (res.result() != http::Status::ok) {
        return fail(ErrorCode::unavailable, "{}/tsa answered HTTP {}: {}", args.server, res.result_int(),
                    res.body().substr(0, 300));
    }
    const std::string& body = res.body();
    ByteView reply(reinterpret_cast<const std::uint8_t*>(body.data()), body.size());
    // Refusals: the TSA's own words (status text and failure info).
    SELO_TRY(tsa::token_of_response(reply));

    // The reply must answer this request: imprint, nonce and version (RFC 3161 §2.4.2).
    const unsigned char* q = reply.data();
    TsRespPtr resp(::d2i_TS_RESP(nullptr, &q, static_cast<long>(reply.size())));
    TsVerifyCtxPtr vctx(::TS_REQ_to_TS_VERIFY_CTX(req.get(), nullptr));
    if (!resp || !vctx) {
        return crypto::openssl_fail("reading the reply");
    }
    ::TS_VERIFY_CTX_set_flags(vctx.get(), TS_VFY_VERSION | TS_VFY_IMPRINT | TS_VFY_NONCE);
    if (::TS_RESP_verify_response(vctx.get(), resp.get()) != 1) {
        return std::unexpected(crypto::openssl_error(ErrorCode::invalid_argument,
                                                     "the reply does not answer this request"));
    }
    auto token = SELO_TRY(tsa::token_of_response(reply));
    auto info = SELO_TRY(tsa::read_token(token));

    std::ostream& report = to_stdout ? std::cerr : std::cout;
    if (to_stdout) {
        std::cout.write(body.data(), static_cast<std::streamsize>(body.size()));
        if (!std::cout.flush()) {
            return fail(ErrorCode::internal, "cannot write the reply to standard output");
        }
    }
    fs::path tmp = args.output;
    tmp += ".tmp";
    if (!to_stdout) {
        std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
        out.write(body.data(), static_cast<std::streamsize>(body.size()));
        if (!out.flush()) {
            const int err = errno;
            return fail(ErrorCode::internal, "cannot write {} (via {}): {}", args.output.string(), tmp.string(),
                        std::strerror(err));
        }
    }
    if (!to_stdout) {
        fs::rename(tmp, args.output, ec);
        if (ec) {
            return fail(ErrorCode::internal, "cannot write {}: {}", args.output.string(), ec.message());
        }
    }
    if (!args.quiet) {
        report << "Time-stamped " << args.input.string() << " (" << crypto::digest_name(alg) << " "
                  << hex_encode(digest) << ")\n  time:   " << format_utc(info.gen_time) << " (genTime " << info.gen_time_text
                  << ")\n  serial: "
                  << info.serial_hex << "\n  TSA:    " << info.signer << "\nWrote "
                  << (to_stdout ? std::string("it to standard output") : args.output.string()) << "\n";
    }
    return {};
}

}  // namespace

int run_timestamp(const TimestampArgs& args) {
    if (auto r = run(args); !r) {
        print_error(r.error().message);
        return 1;
    }
    return 0;
}

}  // namespace selo::cli
