// SEPBox costs: one submission to one recipient (the baseline) against bulk submissions, where
// each recipient costs an encrypted copy and two signed evidences; and listing a large mailbox
// by page against searching it (subjects are encrypted, so a search reads them all).
//
//   build/release/bench/selo_sepbox_bench
// Compare the per-recipient time of BM_Submit/100 with BM_Submit/1.

#include <benchmark/benchmark.h>

#include <cstdlib>
#include <filesystem>

#include "cli/data_dir.hpp"
#include "core/log.hpp"

namespace {

using namespace selo;

template <typename T>
T must(Result<T> r) {
    if (!r) {
        fmt::print(stderr, "setting up: {}\n", r.error().message);
        std::exit(1);
    }
    return std::move(*r);
}

struct World {
    World() {
        char tmpl[] = "/tmp/selo-sepbox-bench-XXXXXX";
        dir = ::mkdtemp(tmpl);
        if (!cli::initialise_data_directory(dir / "data", {}, clock, rng)) {
            std::abort();
        }
        rt = std::move(cli::Runtime::open(dir / "data", clock, rng).value());
        account::Person agency{"澳門財政局", "Direccao dos Servicos de Financas", "", "", account::IdentityDocument::staff_card, "AG-1", "MO", "dsf@gov.mo"};
        sender = must(rt->accounts().open(agency, {account::Role::agency})).account.id;
        for (int i = 0; i < 100; ++i) {
            account::Person p{"陳大文", "CHAN Tai Man", "", "", account::IdentityDocument::identity_card,
                              fmt::format("{:07}(1)", i), "MO", fmt::format("p{}@example.mo", i)};
            recipients.push_back(must(rt->accounts().open(p)).account.id);
        }
    }
    ~World() {
        rt.reset();
        std::error_code ec;
        std::filesystem::remove_all(dir, ec);
    }
    sepbox::Submission letter(std::size_t n) {
        sepbox::Submission s;
        s.sender_id = sender;
        s.recipients.assign(recipients.begin(), recipients.begin() + static_cast<std::ptrdiff_t>(n));
        s.subject = fmt::format("Factura {}", counter++);
        s.body_text = std::string(2000, 'x');
        s.category = sepbox::Category::bill;
        s.attachments.push_back({"factura.pdf", "application/pdf", Bytes(100 * 1024, 0x25)});
        return s;
    }
    SystemClock clock;
    SystemRng rng;
    std::filesystem::path dir;
    std::unique_ptr<cli::Runtime> rt;
    std::string sender;
    std::vector<std::string> recipients;
    int counter = 0;
};

World& world() {
    static World w;
    return w;
}

void BM_Submit(benchmark::State& state) {
    auto& w = world();
    const auto n = static_cast<std::size_t>(state.range(0));
    for (auto _ : state) {
        auto r = w.rt->sepbox().submit(w.letter(n));
        if (!r) {
            state.SkipWithError(r.error().message.c_str());
            break;
        }
    }
    state.SetItemsProcessed(state.iterations() * state.range(0));
    // Seconds per recipient (the inverse of items_per_second).
    state.counters["s_per_recipient"] = benchmark::Counter(
        static_cast<double>(state.iterations() * state.range(0)),
        benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
}
BENCHMARK(BM_Submit)->Arg(1)->Arg(10)->Arg(100)->Unit(benchmark::kMillisecond)->UseRealTime();

// recipients[0] has received every BM_Submit message by now (a few hundred at least).
void BM_ListFirstPage(benchmark::State& state) {
    auto& w = world();
    sepbox::ListQuery q;
    for (auto _ : state) {
        auto page = w.rt->sepbox().list(w.recipients[0], q);
        benchmark::DoNotOptimize(page);
        state.counters["mailbox"] = static_cast<double>(page->total);
    }
}
BENCHMARK(BM_ListFirstPage)->Unit(benchmark::kMillisecond)->UseRealTime();

void BM_SearchMailbox(benchmark::State& state) {
    auto& w = world();
    sepbox::ListQuery q;
    q.search = "factura 7";
    for (auto _ : state) {
        auto page = w.rt->sepbox().list(w.recipients[0], q);
        benchmark::DoNotOptimize(page);
    }
}
BENCHMARK(BM_SearchMailbox)->Unit(benchmark::kMillisecond)->UseRealTime();

}  // namespace

int main(int argc, char** argv) {
    selo::log::set_level(selo::log::Level::warn);
    benchmark::Initialize(&argc, argv);
    benchmark::RunSpecifiedBenchmarks();
    benchmark::Shutdown();
    return 0;
}
