// The selo command line as a user meets it: clear refusals, exit status 2 for bad usage and 1
// for failures, and nothing half-written.

#include <gtest/gtest.h>

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>

#include <chrono>
#include <thread>

#include "integration/selo_instance.hpp"

extern char** environ;

namespace selo::test {
namespace {

namespace fs = std::filesystem;

CommandResult selo(const std::string& args) { return run(shell_quote(SeloInstance::binary().string()) + " " + args); }

TEST(Cli, UnknownCommandsAndOptionsAreNamed) {
    auto r = selo("bogus");
    EXPECT_EQ(r.exit_code, 2);
    EXPECT_NE(r.output.find("bogus"), std::string::npos) << r.output;
    auto help = selo("--help");
    EXPECT_EQ(help.exit_code, 0);
    for (const char* cmd : {"init", "serve", "account", "sign"}) {
        EXPECT_NE(help.output.find(cmd), std::string::npos) << cmd;
    }
    EXPECT_EQ(selo("sign --nonsense").exit_code, 2);
}

TEST(Cli, InitRefusesBadPublicUrlsAndExistingDirectories) {
    TempDir dir;
    const std::string d = shell_quote((dir / "data").string());
    for (const char* url : {"http://h.example?x=1", "http://h.example#frag", "http://user:pw@h.example",
                            "http://h.example:99999", "ftp://h.example", "not a url", "http://0.0.0.0:8080"}) {
        auto r = selo("init --data " + d + " --public-url " + shell_quote(url));
        EXPECT_EQ(r.exit_code, 1) << url;
        EXPECT_NE(r.output.find("--public-url"), std::string::npos) << url << ": " << r.output;
        EXPECT_FALSE(fs::exists(dir / "data" / "selo.toml")) << url;
    }
    EXPECT_EQ(selo("init --data ''").exit_code, 1);
    EXPECT_EQ(selo("init --data " + d + " --organization ' '").exit_code, 1);

    auto ok = selo("init --data " + d + " --public-url https://selo.example.mo");
    ASSERT_EQ(ok.exit_code, 0) << ok.output;
    auto again = selo("init --data " + d);
    EXPECT_EQ(again.exit_code, 1);
    EXPECT_NE(again.output.find("already holds a Selo data directory"), std::string::npos) << again.output;
    // The configuration names the hierarchy and the public URL it was made with.
    auto toml = read_file(dir / "data" / "selo.toml");
    std::string text(as_chars(toml));
    EXPECT_NE(text.find("public_url = 'https://selo.example.mo'"), std::string::npos) << text;
    EXPECT_NE(text.find("[[pki.authority]]"), std::string::npos);
    // The directory is whole: the time-stamping units are made with it, and a listing writes
    // nothing (it used to make them).
    const std::string db = shell_quote((dir / "data" / "selo.db").string());
    const std::string count = "sqlite3 " + db + " 'SELECT COUNT(*) FROM tsa_units; SELECT COUNT(*) FROM log_entries'";
    const std::string made = run_stdout(count).output;
    EXPECT_EQ(made.substr(0, 2), "2\n") << made;
    auto listed = run_stdout(shell_quote(SeloInstance::binary().string()) + " ca list --data " + d);
    ASSERT_EQ(listed.exit_code, 0) << listed.output;
    EXPECT_NE(listed.output.find("Time-Stamping Unit"), std::string::npos) << listed.output;
    EXPECT_NE(listed.output.find("Transparency Log"), std::string::npos) << listed.output;
    EXPECT_EQ(run_stdout(count).output, made) << "a listing wrote to the data directory";

    write_file(dir / "plain-file", "x");
    EXPECT_EQ(selo("init --data " + shell_quote((dir / "plain-file").string())).exit_code, 1);
    fs::create_directories(dir / "busy");
    write_file(dir / "busy" / "notes.txt", "mine");
    auto busy = selo("init --data " + shell_quote((dir / "busy").string()));
    EXPECT_EQ(busy.exit_code, 1);
    EXPECT_NE(busy.output.find("not empty"), std::string::npos) << busy.output;
}

// Ctrl-C at any moment of init leaves either a complete data directory or nothing.
TEST(Cli, InterruptedInitLeavesNoHalfDirectory) {
    TempDir dir;
    int complete = 0, absent = 0;
    for (int delay_ms : {2, 8, 15, 25, 40, 70, 120, 250}) {
        fs::path data = dir / ("d" + std::to_string(delay_ms));
        std::string bin = SeloInstance::binary().string();
        std::string d = data.string();
        std::vector<char*> argv = {bin.data(), const_cast<char*>("init"), const_cast<char*>("--data"),
                                   d.data(), nullptr};
        posix_spawn_file_actions_t actions;
        ::posix_spawn_file_actions_init(&actions);
        ::posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0);
        ::posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0);
        pid_t pid = -1;
        ASSERT_EQ(::posix_spawn(&pid, bin.c_str(), &actions, nullptr, argv.data(), environ), 0);
        ::posix_spawn_file_actions_destroy(&actions);
        std::this_thread::sleep_for(std::chrono::milliseconds(delay_ms));
        ::kill(pid, SIGINT);
        int status = 0;
        ::waitpid(pid, &status, 0);
        std::error_code ec;
        bool has_config = fs::exists(data / "selo.toml", ec);
        bool has_anything = fs::exists(data, ec) && !fs::is_empty(data, ec);
        if (has_config) {
            ++complete;
            EXPECT_TRUE(fs::exists(data / "master.key")) << delay_ms;
            EXPECT_TRUE(fs::exists(data / "selo.db")) << delay_ms;
        } else {
            ++absent;
            EXPECT_FALSE(has_anything) << "interrupted after " << delay_ms << " ms left a partial directory";
        }
    }
    RecordProperty("complete", complete);
    RecordProperty("absent", absent);
}

TEST(Cli, ServeRefusesAPublicUrlItWouldIgnoreAndUnreachableOnes) {
    TempDir dir;
    const std::string d = shell_quote((dir / "data").string());
    ASSERT_EQ(selo("init --data " + d).exit_code, 0);
    auto r = selo("serve --data " + d + " --public-url http://elsewhere.example");
    EXPECT_EQ(r.exit_code, 2);
    EXPECT_NE(r.output.find("only applies when --init"), std::string::npos) << r.output;
    auto wild = selo("serve --init --data " + shell_quote((dir / "new").string()) + " --listen 0.0.0.0:0");
    EXPECT_EQ(wild.exit_code, 2);
    EXPECT_NE(wild.output.find("needs --public-url"), std::string::npos) << wild.output;
    EXPECT_FALSE(fs::exists(dir / "new"));
    auto missing = selo("serve --data " + shell_quote((dir / "nowhere").string()));
    EXPECT_EQ(missing.exit_code, 1);
    EXPECT_NE(missing.output.find("selo init"), std::string::npos) << missing.output;
}

TEST(Cli, ServeRefusesAForeignMasterKeyAndAnExposedDatabase) {
    TempDir dir;
    ASSERT_EQ(selo("init --data " + shell_quote((dir / "a").string())).exit_code, 0);
    ASSERT_EQ(selo("init --data " + shell_quote((dir / "b").string())).exit_code, 0);
    fs::copy_file(dir / "b" / "master.key", dir / "a" / "master.key", fs::copy_options::overwrite_existing);
    auto foreign = selo("serve --data " + shell_quote((dir / "a").string()) + " --listen 127.0.0.1:0");
    EXPECT_EQ(foreign.exit_code, 1);
    EXPECT_NE(foreign.output.find("not the master key"), std::string::npos) << foreign.output;
    fs::permissions(dir / "b" / "selo.db", fs::perms::others_read, fs::perm_options::add);
    auto exposed = selo("serve --data " + shell_quote((dir / "b").string()) + " --listen 127.0.0.1:0");
    EXPECT_EQ(exposed.exit_code, 1);
    EXPECT_NE(exposed.output.find("chmod 600"), std::string::npos) << exposed.output;
}

TEST(Cli, AccountCreateRefusesBadInputClearly) {
    TempDir dir;
    const std::string d = shell_quote((dir / "data").string());
    ASSERT_EQ(selo("init --data " + d).exit_code, 0);
    auto create = [&](const std::string& extra) {
        return selo("account create --data " + d + " " + extra);
    };
    const std::string base = "--name 陳大文 --latin-name 'CHAN Tai Man' --id-number '5215299(8)' ";
    struct Case {
        std::string args;
        std::string says;
    };
    for (const Case& c : std::vector<Case>{
             {base + "--email not-an-address --pin 246810", "e-mail"},
             {base + "--email a@example.mo --pin 123456", "too easy"},
             {base + "--email a@example.mo --pin 12ab56", "6 to 12 digits"},
             {"--name '' --latin-name 'CHAN Tai Man' --id-number 1 --email a@example.mo", "name is required"},
             {"--name " + shell_quote("\u202e" "evil") + " --latin-name 'EVIL Man' --id-number 2 --email a@example.mo", "invisible"},
             {"--name " + shell_quote("A\u200b" "B") + " --latin-name 'AB Cd' --id-number 4 --email a@example.mo", "invisible"},
             {"--name Иван --latin-name 'Иван ИВАНОВ' --id-number 3 --email a@example.mo", "Latin"},
             {base + "--email a@example.mo --role emperor", "unknown role"},
             {"--name x --latin-name 'X Y' --id-number 'a b;rm' --email a@example.mo", "identity document number"},
         }) {
        auto r = create(c.args);
        EXPECT_NE(r.exit_code, 0) << c.args;
        EXPECT_NE(r.output.find(c.says), std::string::npos) << c.args << "\n" << r.output;
    }
    EXPECT_EQ(create("--latin-name x").exit_code, 2) << "missing required options are usage errors";
    ASSERT_EQ(create(base + "--email a@example.mo --pin 246810").exit_code, 0);
    auto dup = create(base + "--email b@example.mo --pin 246810");
    EXPECT_EQ(dup.exit_code, 1);
    EXPECT_NE(dup.output.find("already has an account"), std::string::npos) << dup.output;
}

}  // namespace
}  // namespace selo::test
