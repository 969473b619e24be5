// Two processes issue certificates from the same data directory at once while the server runs;
// one is killed with SIGKILL mid-run. Every serial a process printed (it prints one only after
// the certificate is committed) must be in the repository, and no serial may repeat.

#include <gtest/gtest.h>

#include <boost/json.hpp>

#include <signal.h>

#include <chrono>
#include <fstream>
#include <set>
#include <thread>

#include "integration/selo_instance.hpp"
#include "support/test_support.hpp"

namespace selo::test {
namespace {

std::vector<std::string> lines_of(const std::filesystem::path& p) {
    std::vector<std::string> out;
    std::ifstream in(p);
    for (std::string line; std::getline(in, line);) {
        if (line.size() == 32) {  // a complete serial; a line cut by the kill is not one
            out.push_back(line);
        }
    }
    return out;
}

TEST(CaConcurrency, TwoIssuingProcessesAndAKillLoseNothingAcknowledged) {
    if (!have_tool("openssl")) {
        GTEST_SKIP() << "openssl missing";
    }
    SeloInstance selo;
    std::string error = selo.start(false);
    ASSERT_EQ(error, "");
    Holder h = selo.enrol("陳大文", "CHAN Tai Man", "5500001(1)", "load@example.mo", "");
    auto dir = selo.dir();
    ASSERT_EQ(run("cd " + shell_quote(dir.string()) +
                  " && openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout l.key -subj /CN=x -out l.csr")
                  .exit_code,
              0);
    const int per_process = 1500;
    auto start = [&](const std::string& name) {
        std::string cmd = shell_quote(SeloInstance::binary().string()) + " ca issue --data " +
                          shell_quote(selo.data().string()) + " --profile natural-person-signing --account " +
                          h.username + " --csr " + shell_quote((dir / "l.csr").string()) + " --count " +
                          std::to_string(per_process) + " > " + shell_quote((dir / (name + ".out")).string()) +
                          " 2> /dev/null & echo $!";
        auto r = run_stdout(cmd);
        return static_cast<pid_t>(std::stol(r.output));
    };
    pid_t a = start("a");
    pid_t b = start("b");
    // Kill A once it has acknowledged a few hundred certificates.
    for (int i = 0; i < 1200 && lines_of(dir / "a.out").size() < 300; ++i) {
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    ASSERT_EQ(::kill(a, SIGKILL), 0);
    // B runs to the end.
    for (int i = 0; i < 3000 && ::kill(b, 0) == 0 && lines_of(dir / "b.out").size() < per_process; ++i) {
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    auto acked_a = lines_of(dir / "a.out");
    auto acked_b = lines_of(dir / "b.out");
    EXPECT_GE(acked_a.size(), 300u);
    EXPECT_LT(acked_a.size(), static_cast<std::size_t>(per_process)) << "A was killed mid-run";
    EXPECT_EQ(acked_b.size(), static_cast<std::size_t>(per_process));

    auto list = selo.selo("ca list --data " + shell_quote(selo.data().string()) +
                              " --ca natural-persons --limit 100000 --json",
                          true);
    ASSERT_EQ(list.exit_code, 0) << list.output.substr(0, 500);
    std::multiset<std::string> stored;
    boost::json::value v = boost::json::parse(list.output);
    for (const auto& row : v.as_array()) {
        stored.insert(std::string(row.at("serial").as_string()));
    }
    std::set<std::string> unique(stored.begin(), stored.end());
    EXPECT_EQ(unique.size(), stored.size()) << "a serial repeats";
    std::size_t missing = 0;
    for (const auto* acked : {&acked_a, &acked_b}) {
        for (const auto& s : *acked) {
            missing += unique.count(s) == 0 ? 1 : 0;
        }
    }
    EXPECT_EQ(missing, 0u) << "acknowledged certificates missing";
    std::set<std::string> all_acked(acked_a.begin(), acked_a.end());
    all_acked.insert(acked_b.begin(), acked_b.end());
    EXPECT_EQ(all_acked.size(), acked_a.size() + acked_b.size()) << "two processes printed the same serial";
    // The server, running throughout, answers for a certificate of each process.
    auto got = selo.get("/api/v1/certificates/" + acked_a.front());
    EXPECT_EQ(got.status, 200) << got.raw;
    got = selo.get("/api/v1/certificates/" + acked_b.back());
    EXPECT_EQ(got.status, 200) << got.raw;
}

}  // namespace
}  // namespace selo::test
