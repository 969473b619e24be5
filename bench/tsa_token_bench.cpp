// In-process cost of a time-stamp token (TimeStampAuthority::respond on a DER query): with no
// log, and with every token appended durably to a SQLite transparency log, on 1..N threads.
// Compare with `openssl speed ecdsap256` (bench/tsa_bench.sh prints it): without the log the
// per-thread rate should approach the raw signing rate, since nothing is shared between threads.

#include <benchmark/benchmark.h>

#include <openssl/ts.h>
#include <openssl/x509v3.h>

#include <atomic>
#include <filesystem>
#include <semaphore>

#include "core/rng.hpp"
#include "crypto/keys.hpp"
#include "store/migrations.hpp"
#include "store/repositories.hpp"
#include "store/sqlite/sqlite_database.hpp"
#include "translog/log.hpp"
#include "tsa/authority.hpp"

namespace {
using namespace selo;

// A self-signed time-stamping certificate (one critical EKU, id-kp-timeStamping).
pki::Certificate make_certificate(EVP_PKEY* key) {
    X509* x = ::X509_new();
    ::X509_set_version(x, 2);
    ::ASN1_INTEGER_set(::X509_get_serialNumber(x), 1);
    ::X509_gmtime_adj(::X509_getm_notBefore(x), -60);
    ::X509_gmtime_adj(::X509_getm_notAfter(x), 86400);
    X509_NAME* name = ::X509_get_subject_name(x);
    ::X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, reinterpret_cast<const unsigned char*>("bench TSA"), -1, -1, 0);
    ::X509_set_issuer_name(x, name);
    ::X509_set_pubkey(x, key);
    X509V3_CTX ctx;
    X509V3_set_ctx(&ctx, x, x, nullptr, nullptr, 0);
    X509_EXTENSION* ext = ::X509V3_EXT_conf_nid(nullptr, &ctx, NID_ext_key_usage, "critical,timeStamping");
    ::X509_add_ext(x, ext, -1);
    ::X509_EXTENSION_free(ext);
    ::X509_sign(x, key, ::EVP_sha256());
    auto cert = pki::Certificate::from_x509(x).value();
    ::X509_free(x);
    return cert;
}

// A DER TimeStampReq for a SHA-256 digest with certReq (what `openssl ts -query -cert` sends).
Bytes make_query() {
    Bytes digest = crypto::sha256(std::string_view("benchmark document"));
    TS_REQ* req = ::TS_REQ_new();
    TS_MSG_IMPRINT* imprint = ::TS_MSG_IMPRINT_new();
    X509_ALGOR* alg = ::X509_ALGOR_new();
    ::X509_ALGOR_set_md(alg, ::EVP_sha256());
    ::TS_MSG_IMPRINT_set_algo(imprint, alg);
    ::TS_MSG_IMPRINT_set_msg(imprint, digest.data(), static_cast<int>(digest.size()));
    ::TS_REQ_set_version(req, 1);
    ::TS_REQ_set_msg_imprint(req, imprint);
    ::TS_REQ_set_cert_req(req, 1);
    int len = ::i2d_TS_REQ(req, nullptr);
    Bytes out(static_cast<std::size_t>(len));
    unsigned char* p = out.data();
    ::i2d_TS_REQ(req, &p);
    ::X509_ALGOR_free(alg);
    ::TS_MSG_IMPRINT_free(imprint);
    ::TS_REQ_free(req);
    return out;
}

struct Setup {
    Setup() {
        dir = std::filesystem::temp_directory_path() / ("selo-tsa-bench-" + std::to_string(::getpid()));
        std::filesystem::create_directories(dir);
        db = store::open_sqlite(dir / "selo.db").value();
        store::migrate(*db).value();
        repo = std::make_unique<store::SqlLogRepository>(*db);
        log = std::make_unique<translog::TransparencyLog>(*repo, store::transact_with(*db), clock, nullptr);
        for (bool logged : {false, true}) {
            auto key = crypto::generate_key(crypto::KeyType::ec_p256).value();
            auto cert = make_certificate(key.get());
            auto made = tsa::TimeStampAuthority::create(cert, std::move(key), {}, clock, rng,
                                                        logged ? log.get() : nullptr);
            (logged ? with_log : without_log).emplace(std::move(made.value()));
        }
        query = make_query();
    }
    ~Setup() {
        std::error_code ec;
        std::filesystem::remove_all(dir, ec);
    }
    SystemClock clock;
    SystemRng rng;
    std::filesystem::path dir;
    std::unique_ptr<store::Database> db;
    std::unique_ptr<store::SqlLogRepository> repo;
    std::unique_ptr<translog::TransparencyLog> log;
    std::optional<tsa::TimeStampAuthority> without_log;
    std::optional<tsa::TimeStampAuthority> with_log;
    Bytes query;
};

Setup& setup() {
    static Setup s;
    return s;
}

void BM_TokenWithoutLog(benchmark::State& state) {
    auto& s = setup();
    for (auto _ : state) {
        auto reply = s.without_log->respond(s.query);
        if (!reply.granted) {
            state.SkipWithError("refused");
            break;
        }
        benchmark::DoNotOptimize(reply.der.data());
    }
    state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_TokenWithoutLog)->Threads(1)->Threads(2)->UseRealTime();

void BM_TokenDurablyLogged(benchmark::State& state) {
    auto& s = setup();
    for (auto _ : state) {
        auto reply = s.with_log->respond(s.query);
        if (!reply.granted) {
            state.SkipWithError("refused");
            break;
        }
        benchmark::DoNotOptimize(reply.der.data());
    }
    state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_TokenDurablyLogged)->Threads(1)->Threads(2)->Threads(8)->Threads(32)->UseRealTime();

// What POST /tsa does: respond_async with many requests in flight (as many connections would
// have), each answered when the group commit holding its entry is durable.
constexpr std::ptrdiff_t kInFlight = 64;

void BM_TokenAsyncLogged(benchmark::State& state) {
    auto& s = setup();
    std::counting_semaphore<kInFlight> room(kInFlight);
    std::atomic<bool> refused{false};
    for (auto _ : state) {
        room.acquire();
        s.with_log->respond_async(s.query, [&](tsa::TimeStampReply reply) {
            if (!reply.granted) {
                refused = true;
            }
            room.release();
        });
    }
    for (std::ptrdiff_t i = 0; i < kInFlight; ++i) {
        room.acquire();  // every answer in before the clock stops
    }
    if (refused) {
        state.SkipWithError("refused");
    }
    state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_TokenAsyncLogged)->Threads(1)->Threads(2)->UseRealTime();

// The log alone: durable group-committed appends of a token-sized entry, no signing.
void BM_LogAppendAsync(benchmark::State& state) {
    auto& s = setup();
    const Bytes entry(120, 0x5a);
    std::counting_semaphore<kInFlight> room(kInFlight);
    std::atomic<bool> failed{false};
    for (auto _ : state) {
        room.acquire();
        s.log->append_async("timestamp", entry, [&](Result<LogReceipt> r) {
            if (!r) {
                failed = true;
            }
            room.release();
        });
    }
    for (std::ptrdiff_t i = 0; i < kInFlight; ++i) {
        room.acquire();
    }
    if (failed) {
        state.SkipWithError("append failed");
    }
    state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_LogAppendAsync)->Threads(1)->UseRealTime();

}  // namespace

BENCHMARK_MAIN();
