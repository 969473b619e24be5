// The transparency log of a real `selo serve`, judged from outside: entries and proofs over
// HTTP checked with the RFC 9162 verifier of the tests (not Selo's tree code), tree head tokens
// with `openssl ts -verify`, and `selo log verify` catching rows edited in the database.

#include <gtest/gtest.h>

#include <openssl/sha.h>

#include <chrono>
#include <cstdlib>
#include <thread>

#include "integration/selo_instance.hpp"
#include "translog/rfc9162_verifier.hpp"

namespace selo::test {
namespace {

using namespace selo::translog::rfc9162;
namespace json = boost::json;

std::vector<std::uint8_t> from_hex(std::string_view h) {
    auto b = hex_decode(h).value();
    return {b.begin(), b.end()};
}
Digest digest_from_hex(std::string_view h) {
    auto v = from_hex(h);
    Digest d{};
    std::copy(v.begin(), v.end(), d.begin());
    return d;
}
std::string hex_of(const Digest& d) { return hex_encode(ByteView(d.data(), d.size())); }

// The leaf of an entry as the API documents it: 0x01, logged_at_ms (8 octets BE), type
// (1-octet length), data (4-octet length).
std::vector<std::uint8_t> leaf_bytes(const json::object& e) {
    std::vector<std::uint8_t> out{1};
    auto ms = static_cast<std::uint64_t>(e.at("logged_at_ms").to_number<std::int64_t>());
    for (int s = 56; s >= 0; s -= 8) {
        out.push_back(static_cast<std::uint8_t>(ms >> s));
    }
    std::string type(e.at("type").as_string());
    out.push_back(static_cast<std::uint8_t>(type.size()));
    out.insert(out.end(), type.begin(), type.end());
    auto data = base64_decode(std::string_view(e.at("data").as_string())).value();
    auto n = static_cast<std::uint32_t>(data.size());
    for (int s = 24; s >= 0; s -= 8) {
        out.push_back(static_cast<std::uint8_t>(n >> s));
    }
    out.insert(out.end(), data.begin(), data.end());
    return out;
}

class LogHttp : public ::testing::Test {
protected:
    void SetUp() override {
        std::string err = selo.start(false);
        ASSERT_TRUE(err.empty()) << err;
        d = shell_quote(selo.dir().string());
        auto r = run("cd " + d + " && echo 'registo' > doc.txt"
                     " && curl -sf " + selo.base() + "/ca/root.crt | openssl x509 -inform DER -out root.pem"
                     " && curl -sf " + selo.base() + "/ca/infrastructure.crt | openssl x509 -inform DER -out chain.pem");
        ASSERT_EQ(r.exit_code, 0) << r.output;
    }
    void stamp(int n) {
        for (int i = 0; i < n; ++i) {
            auto r = run_stdout("cd " + d + " && openssl ts -query -data doc.txt -sha256 2>/dev/null | curl -s -o r.tsr -w '%{http_code}' "
                                "--data-binary @- -H 'Content-Type: application/timestamp-query' " + selo.base() + "/tsa");
            ASSERT_EQ(r.output, "200");
        }
    }
    // A bearer token of a new auditor, who may sign tree heads on request.
    std::string auditor_token() {
        const int n = ++auditors;
        auto auditor = selo.enrol("Auditora Teste", "Auditora Teste", fmt::format("S-7{}", n),
                                  fmt::format("audit{}@example.mo", n), "", {"auditor"}, "staff-card");
        return selo.api_login(auditor);
    }
    json::object sign_head(const std::string& token) {
        auto r = selo.post("/api/v1/log/tree-head", "", {"Authorization: Bearer " + token});
        EXPECT_EQ(r.status, 201) << r.raw;
        return r.body.is_object() ? r.body.as_object() : json::object{};
    }
    std::vector<json::object> entries() {
        auto r = selo.get("/api/v1/log/entries?start=0&end=1000");
        EXPECT_EQ(r.status, 200) << r.raw;
        std::vector<json::object> out;
        for (const auto& e : r.body.as_object().at("entries").as_array()) {
            out.push_back(e.as_object());
        }
        return out;
    }
    CommandResult verify() {
        return selo.selo("log verify --server " + selo.base() + " --root " + d + "/root.pem --state " + d + "/heads.json");
    }
    SeloInstance selo;
    std::string d;
    int auditors = 0;
};

TEST_F(LogHttp, CertificatesAndTokensAreLoggedWithProofsAnIndependentVerifierAccepts) {
    auto auditor = selo.enrol("Auditora Teste", "Auditora Teste", "S-77", "audit@example.mo", "", {"auditor"}, "staff-card");
    std::string token = selo.api_login(auditor);
    // Reading is public; signing a tree head on request is for staff.
    EXPECT_EQ(selo.post("/api/v1/log/tree-head", "").status, 401);
    auto citizen = selo.enrol("Chan Tai Man", "Chan Tai Man", "1234567(8)", "c@example.mo", "");
    EXPECT_EQ(selo.post("/api/v1/log/tree-head", "", {"Authorization: Bearer " + selo.api_login(citizen)}).status, 403);

    stamp(3);
    auto first = sign_head(token);
    stamp(4);
    auto second = sign_head(token);
    auto list = entries();
    ASSERT_FALSE(list.empty());
    // The CA hierarchy, the two time-stamping units' certificates and the tokens are there.
    int certificates = 0, tokens = 0;
    std::vector<Digest> leaves;
    for (const auto& e : list) {
        certificates += e.at("type").as_string() == "certificate";
        tokens += e.at("type").as_string() == "timestamp";
        leaves.push_back(leaf(leaf_bytes(e)));
        EXPECT_EQ(hex_of(leaves.back()), std::string(e.at("leaf_hash").as_string()));
    }
    EXPECT_GE(certificates, 6);  // root, three issuing CAs, the TSA and log units (+ accounts')
    EXPECT_EQ(tokens, 7);
    // The newest token's TSTInfo is the last timestamp entry (its serial is in it).
    auto serial = run_stdout("cd " + d + " && openssl ts -reply -in r.tsr -text | sed -n 's/^Serial number: 0x//p'").output;
    serial.erase(serial.find_last_not_of("\n") + 1);
    std::string last_data;
    for (const auto& e : list) {
        if (e.at("type").as_string() == "timestamp") {
            last_data = hex_encode(base64_decode(std::string_view(e.at("data").as_string())).value());
        }
    }
    for (auto& c : serial) {
        c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    }
    EXPECT_NE(last_data.find(serial), std::string::npos) << serial;

    const std::uint64_t n1 = first.at("tree_size").as_int64();
    const std::uint64_t n2 = second.at("tree_size").as_int64();
    ASSERT_EQ(n2, leaves.size());
    ASSERT_LT(n1, n2);
    EXPECT_EQ(hex_of(mth(leaves, 0, n1)), std::string(first.at("root_hash").as_string()));
    EXPECT_EQ(hex_of(mth(leaves, 0, n2)), std::string(second.at("root_hash").as_string()));

    // Inclusion of every leaf in the second tree head, by leaf hash.
    const Digest root2 = digest_from_hex(second.at("root_hash").as_string());
    for (std::uint64_t i = 0; i < n2; ++i) {
        auto r = selo.get("/api/v1/log/proof/inclusion?leaf_hash=" + hex_of(leaves[i]) + "&tree_size=" + std::to_string(n2));
        ASSERT_EQ(r.status, 200) << r.raw;
        std::vector<Digest> path;
        for (const auto& h : r.body.as_object().at("inclusion_path").as_array()) {
            path.push_back(digest_from_hex(h.as_string()));
        }
        std::uint64_t index = r.body.as_object().at("leaf_index").as_int64();
        EXPECT_TRUE(rfc_verify_inclusion(index, n2, leaves[i], path, root2)) << "leaf " << i;
    }
    // Consistency between the two signed heads.
    auto c = selo.get("/api/v1/log/proof/consistency?first=" + std::to_string(n1) + "&second=" + std::to_string(n2));
    ASSERT_EQ(c.status, 200) << c.raw;
    std::vector<Digest> path;
    for (const auto& h : c.body.as_object().at("consistency_path").as_array()) {
        path.push_back(digest_from_hex(h.as_string()));
    }
    EXPECT_TRUE(rfc_verify_consistency(n1, n2, digest_from_hex(first.at("root_hash").as_string()), root2, path));
    // Bad queries are 400/404/422 problems, not crashes.
    EXPECT_EQ(selo.get("/api/v1/log/proof/inclusion?leaf_hash=zz").status, 400);
    EXPECT_EQ(selo.get("/api/v1/log/proof/inclusion?leaf_hash=" + std::string(64, '0')).status, 404);
    EXPECT_EQ(selo.get("/api/v1/log/proof/consistency?first=5").status, 400);
    EXPECT_EQ(selo.get("/api/v1/log/proof/consistency?first=1&second=999999").status, 422);

    // The tree head's token: openssl checks it over SHA-256 of the documented message.
    std::vector<std::uint8_t> msg{'s', 'e', 'l', 'o', '-', 't', 'r', 'e', 'e', '-', 'h', 'e', 'a', 'd', '-', 'v', '1', 0};
    for (int s = 56; s >= 0; s -= 8) {
        msg.push_back(static_cast<std::uint8_t>(n2 >> s));
    }
    msg.insert(msg.end(), root2.begin(), root2.end());
    Digest md{};
    ::SHA256(msg.data(), msg.size(), md.data());
    write_file(selo.dir() / "sth.tst", base64_decode(std::string_view(second.at("token").as_string())).value());
    auto v = run("cd " + d + " && openssl ts -verify -digest " + hex_of(md) +
                 " -in sth.tst -token_in -CAfile root.pem -untrusted chain.pem");
    EXPECT_NE(v.output.find("Verification: OK"), std::string::npos) << v.output;

    // The OpenAPI document lists the log's operations.
    auto api = selo.get("/api/v1/openapi.json");
    EXPECT_TRUE(api.body.as_object().at("paths").as_object().contains("/api/v1/log/proof/inclusion"));
}

TEST_F(LogHttp, VerifyFailsNamingTheFirstEditedEntry) {
    stamp(5);
    auto ok = verify();
    ASSERT_EQ(ok.exit_code, 0) << ok.output;
    EXPECT_NE(ok.output.find("OK: "), std::string::npos) << ok.output;
    auto list = entries();
    ASSERT_GT(list.size(), 8u);
    const std::string db = shell_quote((selo.data() / "selo.db").string());

    // An edited entry: its contents no longer match its leaf hash.
    auto edit = run("sqlite3 " + db + " \"DROP TRIGGER log_entries_append_only_update;"
                    " UPDATE log_entries SET data = X'00' || data WHERE idx = 7;\"");
    ASSERT_EQ(edit.exit_code, 0) << edit.output;
    auto bad = verify();
    EXPECT_EQ(bad.exit_code, 1) << bad.output;
    EXPECT_NE(bad.output.find("entry 7 ("), std::string::npos) << bad.output;
    EXPECT_NE(bad.output.find("altered"), std::string::npos) << bad.output;

    // Edited together with a recomputed leaf hash: the tree no longer has the signed root.
    auto e = list[7];
    auto data = base64_decode(std::string_view(e.at("data").as_string())).value();
    data.insert(data.begin(), 0);
    e["data"] = base64_encode(data);
    std::string new_leaf = hex_of(leaf(leaf_bytes(e)));
    auto edit2 = run("sqlite3 " + db + " \"UPDATE log_entries SET leaf_hash = X'" + new_leaf + "' WHERE idx = 7;\"");
    ASSERT_EQ(edit2.exit_code, 0) << edit2.output;
    auto bad2 = verify();
    EXPECT_EQ(bad2.exit_code, 1) << bad2.output;
    EXPECT_NE(bad2.output.find("not consistent with the tree head"), std::string::npos) << bad2.output;
}

// The state file is the client's memory of the log: a damaged one is refused, never silently
// replaced; a state file that cannot be written fails the run; a tree head of the log's size with
// another root is called a fork.
TEST_F(LogHttp, VerifyKeepsItsHistoryRefusesADamagedStateFileAndNamesAFork) {
    stamp(3);
    auto ok = verify();
    ASSERT_EQ(ok.exit_code, 0) << ok.output;
    const std::string state = d + "/heads.json";
    const auto size = selo.get("/api/v1/log/entries?start=0&end=1").body.as_object().at("tree_size").as_int64();

    for (const std::string damaged : {"garbage", R"({"tree_heads":[{"tree_size":-3,"root_hash":"00"}]})",
                                      R"({"foo":1})"}) {
        ASSERT_EQ(run("printf '%s' " + shell_quote(damaged) + " > " + state).exit_code, 0);
        auto bad = verify();
        EXPECT_EQ(bad.exit_code, 1) << damaged << "\n" << bad.output;
        EXPECT_NE(bad.output.find("state file"), std::string::npos) << bad.output;
        EXPECT_NE(bad.output.find("not replaced"), std::string::npos) << bad.output;
        EXPECT_EQ(run_stdout("cat " + state).output, damaged) << "the damaged file is left as it was";
    }

    // A --state in a directory that does not exist: the run fails at once (before the log is
    // downloaded), says so, claims nothing about the log, and creates nothing.
    auto nowhere = selo.selo("log verify --server " + selo.base() + " --root " + d + "/root.pem --state " + d +
                             "/missing/heads.json");
    EXPECT_EQ(nowhere.exit_code, 1) << nowhere.output;
    EXPECT_EQ(nowhere.output.find("OK: "), std::string::npos) << nowhere.output;
    EXPECT_NE(nowhere.output.find("missing does not exist"), std::string::npos) << nowhere.output;
    EXPECT_NE(run("test -e " + d + "/missing").exit_code, 0);

    // A state that remembers another tree of the current size: a fork.
    ASSERT_EQ(run("rm -f " + state).exit_code, 0);
    ASSERT_EQ(verify().exit_code, 0);
    const std::string forked = fmt::format(R"({{"tree_heads":[{{"tree_size":{},"root_hash":"{}","timestamp":"x"}}]}})",
                                           size, std::string(64, 'a'));
    ASSERT_EQ(run("printf '%s' " + shell_quote(forked) + " > " + d + "/forked.json").exit_code, 0);
    ASSERT_EQ(run("python3 -c " + shell_quote("import json,sys; a=json.load(open(sys.argv[1])); b=json.load(open(sys.argv[2])); "
                                               "a['tree_heads'] += b['tree_heads']; json.dump(a, open(sys.argv[1], 'w'))") +
                  " " + state + " " + d + "/forked.json").exit_code, 0);
    auto fork = verify();
    EXPECT_EQ(fork.exit_code, 1) << fork.output;
    EXPECT_NE(fork.output.find("forked"), std::string::npos) << fork.output;
    // The made-up head alone (the genuine one gone from the state): still named as a possible fork.
    ASSERT_EQ(run("cp " + d + "/forked.json " + state).exit_code, 0);
    auto alone = verify();
    EXPECT_EQ(alone.exit_code, 1) << alone.output;
    EXPECT_NE(alone.output.find("not consistent with the tree head of size " + std::to_string(size)), std::string::npos)
        << alone.output;
    EXPECT_NE(alone.output.find("forked"), std::string::npos) << alone.output;
}

// Reading past the end of the log is an empty page, as a monitor polling for new entries asks;
// a reversed range is an error; the OpenAPI document says which query parameters are required.
TEST_F(LogHttp, EntriesPastTheEndAreAnEmptyPage) {
    stamp(1);
    auto past = selo.get("/api/v1/log/entries?start=100000");
    ASSERT_EQ(past.status, 200) << past.raw;
    EXPECT_TRUE(past.body.as_object().at("entries").as_array().empty());
    EXPECT_GT(past.body.as_object().at("tree_size").as_int64(), 0);
    auto reversed = selo.get("/api/v1/log/entries?start=5&end=2");
    EXPECT_EQ(reversed.status / 100, 4) << reversed.raw;
    EXPECT_NE(reversed.raw.find("end (2) is before start (5)"), std::string::npos) << reversed.raw;

    auto api = selo.get("/api/v1/openapi.json").body.as_object().at("paths").as_object();
    auto required = [&](const char* path, const char* name) {
        for (const auto& p : api.at(path).at("get").at("parameters").as_array()) {
            if (p.at("name").as_string() == name) {
                return p.at("required").as_bool();
            }
        }
        ADD_FAILURE() << path << " has no parameter " << name;
        return false;
    };
    EXPECT_TRUE(required("/api/v1/log/proof/inclusion", "leaf_hash"));
    EXPECT_FALSE(required("/api/v1/log/proof/inclusion", "tree_size"));
    EXPECT_TRUE(required("/api/v1/log/proof/consistency", "first"));
    EXPECT_TRUE(required("/api/v1/log/proof/consistency", "second"));
    EXPECT_FALSE(required("/api/v1/log/entries", "start"));
}

// A signed tree head's record is the token's: a time edited beside it, or a head the client saw
// that is gone from the server's list, fails the run.
TEST_F(LogHttp, VerifyFailsWhenATreeHeadRecordIsEditedOrRemoved) {
    const std::string token = auditor_token();
    stamp(2);
    sign_head(token);
    stamp(2);
    sign_head(token);
    auto ok = verify();
    ASSERT_EQ(ok.exit_code, 0) << ok.output;
    const std::string db = shell_quote((selo.data() / "selo.db").string());
    const std::string second_id = run_stdout("sqlite3 " + db + " 'SELECT MAX(id) FROM log_tree_heads'").output;
    ASSERT_FALSE(second_id.empty());

    // Its time moved a minute back in the table (the token, which states the time, unchanged).
    ASSERT_EQ(run("sqlite3 " + db + " \"DROP TRIGGER log_tree_heads_append_only_update;"
                  " DROP TRIGGER log_tree_heads_append_only_delete;"
                  " UPDATE log_tree_heads SET timestamp_ms = timestamp_ms - 60000 WHERE id = " + second_id + "\"")
                  .exit_code,
              0);
    auto moved = verify();
    EXPECT_EQ(moved.exit_code, 1) << moved.output;
    EXPECT_NE(moved.output.find("but its token states"), std::string::npos) << moved.output;
    EXPECT_NE(moved.output.find("record of it was altered"), std::string::npos) << moved.output;
    ASSERT_EQ(run("sqlite3 " + db + " \"UPDATE log_tree_heads SET timestamp_ms = timestamp_ms + 60000 WHERE id = " +
                  second_id + "\"")
                  .exit_code,
              0);
    ASSERT_EQ(verify().exit_code, 0);

    // Gone from the table: this client saw it, signed, on its last run.
    ASSERT_EQ(run("sqlite3 " + db + " \"DELETE FROM log_tree_heads WHERE id = " + second_id + "\"").exit_code, 0);
    auto removed = verify();
    EXPECT_EQ(removed.exit_code, 1) << removed.output;
    EXPECT_NE(removed.output.find("no longer listed by the server"), std::string::npos) << removed.output;
}

// RFC 3161 §4 for tree heads, from the server's CRLs: the log's unit superseded, the heads it
// signed before still count; its key reported compromised, none signed with it does.
TEST_F(LogHttp, VerifyCountsNoTreeHeadSignedWithACompromisedKey) {
    const std::string token = auditor_token();
    stamp(2);
    sign_head(token);
    auto counted = [](const std::string& out) {
        auto at = out.find("consistent with ");
        return at == std::string::npos ? -1 : std::atoi(out.c_str() + at + 16);
    };
    const std::string state = d + "/heads.json";
    auto before = verify();
    ASSERT_EQ(before.exit_code, 0) << before.output;
    const int heads = counted(before.output);
    ASSERT_GE(heads, 2) << before.output;

    const std::string data = shell_quote(selo.data().string());
    auto unit = selo.valid_serials("Transparency Log");
    ASSERT_EQ(unit.size(), 1u);
    ASSERT_EQ(selo.selo("ca revoke --data " + data + " --serial " + unit[0] + " --reason superseded").exit_code, 0);
    ASSERT_EQ(run("rm -f " + state).exit_code, 0);
    auto superseded = verify();
    ASSERT_EQ(superseded.exit_code, 0) << superseded.output;
    EXPECT_EQ(counted(superseded.output), heads) << superseded.output;
    EXPECT_EQ(superseded.output.find("not counted"), std::string::npos) << superseded.output;

    // The unit's new key, used for a head, then reported compromised.
    std::vector<std::string> next;
    for (int i = 0; i < 100 && next.empty(); ++i) {
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
        next = selo.valid_serials("Transparency Log");
    }
    ASSERT_EQ(next.size(), 1u);
    sign_head(token);
    // Seen (and remembered) while the key was in good standing; counted no more once it is not.
    auto seen = verify();
    ASSERT_EQ(seen.exit_code, 0) << seen.output;
    EXPECT_EQ(counted(seen.output), heads + 1) << seen.output;
    ASSERT_EQ(selo.selo("ca revoke --data " + data + " --serial " + next[0] + " --reason keyCompromise").exit_code, 0);
    auto remembered = verify();
    ASSERT_EQ(remembered.exit_code, 0) << remembered.output;
    EXPECT_EQ(counted(remembered.output), heads) << "counted from the state file:\n" << remembered.output;
    ASSERT_EQ(run("rm -f " + state).exit_code, 0);
    auto compromised = verify();
    ASSERT_EQ(compromised.exit_code, 0) << compromised.output;
    EXPECT_EQ(counted(compromised.output), heads) << "the compromised key's head counted:\n" << compromised.output;
    EXPECT_NE(compromised.output.find("note: not counted, the tree head of size"), std::string::npos)
        << compromised.output;
    EXPECT_NE(compromised.output.find("reason keyCompromise"), std::string::npos) << compromised.output;
}

TEST_F(LogHttp, AHandEditedRowOfTheWrongTypeIsNamedNotACrash) {
    stamp(4);
    ASSERT_EQ(verify().exit_code, 0);
    const std::string db = shell_quote((selo.data() / "selo.db").string());
    // Text where an integer belongs, as a hand edit leaves it.
    auto edit = run("sqlite3 " + db + " \"DROP TRIGGER log_entries_append_only_update;"
                    " UPDATE log_entries SET logged_at_ms = 'yesterday' WHERE idx = 3;\"");
    ASSERT_EQ(edit.exit_code, 0) << edit.output;
    auto bad = verify();
    EXPECT_EQ(bad.exit_code, 1) << bad.output;
    EXPECT_NE(bad.output.find("entry 3 is damaged"), std::string::npos) << bad.output;
    // The server answers 500 with the entry named, logs why, and keeps serving.
    auto r = selo.get("/api/v1/log/entries?start=0");
    EXPECT_EQ(r.status, 500) << r.raw;
    EXPECT_EQ(r.body.as_object().at("unreadable_entry").as_int64(), 3) << r.raw;
    EXPECT_EQ(r.raw.find("logged_at_ms"), std::string::npos) << "the reason stays in the server's log";
    EXPECT_EQ(selo.get("/healthz").status, 200);
    stamp(1);
    auto log = run("cat " + shell_quote((selo.dir() / "server.log").string()));
    EXPECT_NE(log.output.find("log entry 3: stored column logged_at_ms holds text where an integer belongs"),
              std::string::npos) << log.output;
}

}  // namespace
}  // namespace selo::test
