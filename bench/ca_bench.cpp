// CA figures, each next to a baseline measured in the same run on the same machine:
//   - certificates issued per second, recorded durably in SQLite (one caller: one commit per
//     certificate; concurrent callers: group commit; batched commits), against `openssl speed`
//     signatures per second for the CA key type;
//   - CRL generation at 100,000 entries (repository read, build, lint, sign);
//   - OCSP answers per second from the responder in-process (fresh signatures and reused ones).
// The HTTP figure (wrk against `selo serve` and `openssl ocsp -index`) is bench/ocsp_http.sh.
#include <openssl/objects.h>
#include <openssl/ocsp.h>
#include <openssl/x509.h>

#include <atomic>

#include <chrono>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <iostream>
#include <string>
#include <thread>
#include <vector>

#include "crypto/key_store.hpp"
#include "crypto/keys.hpp"
#include "pki/authority.hpp"
#include "pki/crl.hpp"
#include "pki/ocsp.hpp"
#include "store/repositories.hpp"
#include "store/sql_translog.hpp"
#include "translog/log.hpp"
#include "store/sqlite/sqlite_database.hpp"

using namespace selo;
using Clk = std::chrono::steady_clock;

namespace {

double seconds_since(Clk::time_point t) { return std::chrono::duration<double>(Clk::now() - t).count(); }

// CPU seconds this process used so far (all threads): on a shared machine the rate per CPU
// second says what the code costs, the rate per wall second what the machine gave it.
double cpu_seconds() {
    timespec ts{};
    ::clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) / 1e9;
}

std::string shell(const std::string& cmd) {
    std::string out;
    FILE* p = ::popen(cmd.c_str(), "r");
    if (p == nullptr) {
        return out;
    }
    char buf[4096];
    while (std::fgets(buf, sizeof buf, p) != nullptr) {
        out += buf;
    }
    ::pclose(p);
    return out;
}

template <class T>
T must(Result<T> r, const char* what) {
    if (!r) {
        std::cerr << what << ": " << r.error().message << "\n";
        std::exit(1);
    }
    return std::move(*r);
}

}  // namespace

int main(int argc, char** argv) {
    const int n = argc > 1 ? std::atoi(argv[1]) : 2000;
    auto dir = std::filesystem::temp_directory_path() / ("selo-ca-bench-" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir);
    SystemClock clock;
    SystemRng rng;
    auto db = must(store::open_sqlite(dir / "selo.db"), "open");
    if (auto r = store::migrate(*db); !r) {
        std::cerr << r.error().message << "\n";
        return 1;
    }
    store::SqlSealedKeyRepository sealed(*db, clock);
    store::SqlCaRepository cas(*db);
    store::SqlCertificateRepository certs(*db);
    store::SqlCrlRepository crls(*db);
    store::SqlResponderRepository responders(*db);
    auto master = crypto::MasterKey::from_bytes(Bytes(32, 1));
    crypto::SoftwareKeyStore keys(sealed, master, rng);
    pki::HierarchySpec spec{"MO", "Selo Bench", "http://127.0.0.1:8080", pki::default_authorities("Selo Bench")};
    if (auto r = db->transaction([&] { return pki::ensure_hierarchy(spec, keys, cas, certs, clock, rng); }); !r) {
        std::cerr << r.error().message << "\n";
        return 1;
    }
    auto rec = must(cas.find(pki::kNaturalPersonsCaName), "ca");
    store::Database* dbp = db.get();
    // As in selo serve: every issued certificate is appended to the transparency log in the
    // transaction that records it.
    store::SqlLogRepository log_repo(*db);
    translog::TransparencyLog trust_log(log_repo, store::transact_with(*db), clock, nullptr);
    translog::LoggedCertificateRepository logged(certs, trust_log, store::transact_with(*db));
    pki::CaContext ctx{keys, logged, clock, rng, "http://127.0.0.1:8080", nullptr,
                       [dbp](const std::function<Result<void>()>& fn) { return dbp->transaction(fn); },
                       [dbp] { return dbp->in_transaction(); }};
    auto ca = must(pki::CertificateAuthority::load(*rec, ctx, {std::string(pki::kProfileNaturalPersonSigning)}), "load");
    auto subject_key = must(crypto::generate_key(crypto::KeyType::ec_p256), "key");
    pki::DistinguishedName dn;
    dn.add(NID_countryName, "MO").add(NID_givenName, "Tai Man").add(NID_surname, "CHAN")
        .add(NID_serialNumber, "IDCMO-5215299(8)").add(NID_commonName, "陳大文");
    pki::IssuanceRequest req{std::string(pki::kProfileNaturalPersonSigning), dn, subject_key.get(), std::nullopt, {}, {}};

    const bool p384 = ::EVP_PKEY_get_bits(::X509_get0_pubkey(ca.certificate().x509())) >= 384;
    const std::string curve = p384 ? "384" : "256";
    std::cout << "== certificates issued per second (CA key EC P-" << curve << ", ECDSA-SHA" << curve
              << "; the lint copy is signed too, with a throwaway key of the same type; each certificate "
                 "recorded and appended to the transparency log durably before it is returned)\n";
    std::string speed = shell("openssl speed -seconds 2 ecdsap" + curve + " 2>/dev/null | grep '" + curve + " bits ecdsa'");
    std::cout << "baseline openssl speed ecdsap" << curve << " (sign/s, verify/s):" << speed;
    auto t = Clk::now();
    double cpu = cpu_seconds();
    for (int i = 0; i < n / 4; ++i) {
        must(ca.issue(req), "issue");
    }
    double one = seconds_since(t);
    std::printf("selo, one caller, one durable commit each:        %8.0f certificates/s (%d issued; %.0f per CPU second)\n",
                (n / 4) / one, n / 4, (n / 4) / (cpu_seconds() - cpu));
    // Concurrent callers, as the API's workers are: their certificates share durable commits.
    for (int threads : {2, 8, 32}) {
        std::vector<std::jthread> pool;
        std::atomic<int> failed{0};
        t = Clk::now();
        cpu = cpu_seconds();
        for (int k = 0; k < threads; ++k) {
            pool.emplace_back([&, k] {
                for (int i = k; i < n; i += threads) {
                    if (!ca.issue(req)) {
                        ++failed;
                    }
                }
            });
        }
        pool.clear();
        double conc = seconds_since(t);
        if (failed.load() != 0) {
            std::cerr << failed.load() << " issuances failed\n";
            return 1;
        }
        std::printf("selo, %2d concurrent callers, group commit:       %8.0f certificates/s (%d issued; %.0f per CPU second)\n",
                    threads, n / conc, n, n / (cpu_seconds() - cpu));
    }
    t = Clk::now();
    cpu = cpu_seconds();
    const int batch = 100;
    for (int done = 0; done < n;) {
        if (auto r = db->transaction([&]() -> Result<void> {
                for (int j = 0; j < batch && done < n; ++j, ++done) {
                    SELO_TRY(ca.issue(req));
                }
                return {};
            });
            !r) {
            std::cerr << r.error().message << "\n";
            return 1;
        }
    }
    double batched = seconds_since(t);
    std::printf("selo, one caller, durable commits of %d:         %8.0f certificates/s (%d issued; %.0f per CPU second)\n",
                batch, n / batched, n, n / (cpu_seconds() - cpu));

    std::cout << "== CRL generation\n";
    const int entries = 100'000;
    auto np_rec = must(cas.find(pki::kInstitutionsCaName), "ca");
    // Revoked rows written directly (the status path is measured above): 100,000 entries.
    t = Clk::now();
    if (auto r = db->transaction([&]() -> Result<void> {
            for (int i = 0; i < entries; ++i) {
                auto now = clock.now();
                SELO_TRY_VOID(certs.insert({std::string(pki::kInstitutionsCaName), fmt::format("4{:031x}", i + 1),
                                            "CN=x", "legal-person-seal", now, now + std::chrono::hours(24), Bytes{0x30, 0x00},
                                            now, "revoked", now, 1}));
            }
            return {};
        });
        !r) {
        std::cerr << r.error().message << "\n";
        return 1;
    }
    std::printf("(setup: %d revoked rows in %.2f s)\n", entries, seconds_since(t));
    pki::CrlPublisher publisher(certs, crls, keys, clock, std::chrono::hours(24));
    auto inst = must(pki::CertificateAuthority::load(*np_rec, ctx, {std::string(pki::kProfileLegalPersonSeal)}), "load");
    publisher.add(inst);
    t = Clk::now();
    double crl_cpu = cpu_seconds();
    auto crl = must(publisher.current(pki::kInstitutionsCaName), "crl");
    double crl_s = seconds_since(t);
    std::printf("CRL of %d entries: %.3f s (read, build, lint, sign, store; %.3f CPU s), %zu bytes\n", entries, crl_s,
                cpu_seconds() - crl_cpu, crl.der.size());
    // Revocation cost with a large CRL: one row and a version bump, independent of its size.
    t = Clk::now();
    auto c = must(ca.issue(req), "issue");
    auto t2 = Clk::now();
    must(ca.revoke(c.serial_hex(), pki::RevocationReason::superseded, std::nullopt, {"bench", ""}), "revoke");
    std::printf("one revocation beside %d revoked: %.2f ms\n", entries,
                std::chrono::duration<double, std::milli>(Clk::now() - t2).count());

    std::cout << "== OCSP in-process (no HTTP)\n";
    pki::OcspResponder ocsp(certs, responders, keys, clock, rng, pki::OcspOptions{});
    if (!ocsp.add(ca) || !ocsp.prepare()) {
        std::cerr << "responder setup failed\n";
        return 1;
    }
    auto good = must(ca.issue(req), "issue");
    std::unique_ptr<OCSP_REQUEST, crypto::Free<&::OCSP_REQUEST_free>> oreq(::OCSP_REQUEST_new());
    ::OCSP_request_add0_id(oreq.get(), ::OCSP_cert_to_id(nullptr, good.x509(), ca.certificate().x509()));
    unsigned char* der = nullptr;
    int len = ::i2d_OCSP_REQUEST(oreq.get(), &der);
    Bytes plain(der, der + len);
    ::OPENSSL_free(der);
    ::OCSP_request_add1_nonce(oreq.get(), nullptr, 16);
    der = nullptr;
    len = ::i2d_OCSP_REQUEST(oreq.get(), &der);
    Bytes nonced(der, der + len);
    ::OPENSSL_free(der);
    std::string speed256 = shell("openssl speed -seconds 2 ecdsap256 2>/dev/null | grep '256 bits ecdsa'");
    std::cout << "baseline openssl speed ecdsap256:   " << speed256;
    const int m = 20'000;
    t = Clk::now();
    for (int i = 0; i < m; ++i) {
        (void)ocsp.respond(plain);
    }
    std::printf("plain requests (answer reused, status read from SQLite each time): %8.0f /s\n", m / seconds_since(t));
    t = Clk::now();
    for (int i = 0; i < m * 5; ++i) {
        if (!ocsp.precomputed(plain)) {
            std::cerr << "no precomputed answer\n";
            return 1;
        }
    }
    std::printf("plain requests, precomputed (status version read from SQLite):   %8.0f /s\n", m * 5 / seconds_since(t));
    t = Clk::now();
    for (int i = 0; i < m / 10; ++i) {
        (void)ocsp.respond(nonced);
    }
    std::printf("nonce requests (signed each time, responder key P-256):         %8.0f /s\n", (m / 10) / seconds_since(t));
    std::filesystem::remove_all(dir);
    return 0;
}
