#include <gtest/gtest.h>

#include <thread>

#include "store/database.hpp"
#include "store/migrations.hpp"
#include "store/repositories.hpp"
#include "store/sqlite/sqlite_database.hpp"
#include "store/sql_translog.hpp"
#include "support/test_support.hpp"

namespace selo::store {
namespace {

class StoreTest : public ::testing::Test {
protected:
    void SetUp() override {
        auto opened = open_sqlite(dir / "selo.db");
        ASSERT_TRUE(opened.has_value()) << opened.error().message;
        db = std::move(*opened);
        ASSERT_TRUE(migrate(*db).has_value());
    }
    test::TempDir dir;
    std::unique_ptr<Database> db;
};

TEST_F(StoreTest, MigrationIsIdempotentAndUsesWal) {
    ASSERT_TRUE(migrate(*db).has_value());
    auto v = db->query_one("SELECT version FROM schema_versions WHERE part = 'cloudsign'").value();
    ASSERT_TRUE(v.has_value());
    EXPECT_EQ(v->integer(0).value(), 1);
    EXPECT_EQ(db->query("SELECT part FROM schema_versions").value().size(), schema_parts().size());
    auto mode = db->query_one("PRAGMA journal_mode").value();
    EXPECT_EQ(mode->text(0).value(), "wal");
    auto sync = db->query_one("PRAGMA synchronous").value();
    EXPECT_EQ(sync->integer(0).value(), 2) << "synchronous=FULL";
}

TEST_F(StoreTest, RowAccessorsReportAWrongTypeAsAnErrorNamingTheColumn) {
    auto row = db->query_one("SELECT 'abc' AS name, 7 AS n, X'0102' AS b, NULL AS absent").value();
    ASSERT_TRUE(row.has_value());
    EXPECT_EQ(row->text(0).value(), "abc");
    EXPECT_EQ(row->integer(1).value(), 7);
    EXPECT_EQ(row->blob(2).value(), (Bytes{1, 2}));
    EXPECT_EQ(row->blob(3).value(), Bytes{}) << "NULL reads as an empty blob";
    EXPECT_EQ(row->optional_integer(3).value(), std::nullopt);
    auto wrong = row->integer(0);
    ASSERT_FALSE(wrong.has_value());
    EXPECT_EQ(wrong.error().code, ErrorCode::internal);
    EXPECT_NE(wrong.error().message.find("column name holds text where an integer belongs"), std::string::npos)
        << wrong.error().message;
    EXPECT_FALSE(row->text(1).has_value());
    EXPECT_FALSE(row->blob(1).has_value());
    EXPECT_FALSE(row->optional_text(1).has_value());
    auto past = row->text(9);
    ASSERT_FALSE(past.has_value());
    EXPECT_NE(past.error().message.find("4 columns"), std::string::npos) << past.error().message;
    EXPECT_FALSE(row->is_null(9));
}

TEST_F(StoreTest, AHandEditedLogRowIsAnErrorNamingTheEntry) {
    SqlLogRepository log(*db);
    std::vector<translog::LogEntry> entries;
    for (std::uint64_t i = 0; i < 70; ++i) {  // more than one multi-row INSERT
        entries.push_back({i, "timestamp", TimePoint(std::chrono::milliseconds(1'700'000'000'000 + i)),
                           Bytes{static_cast<std::uint8_t>(i)}, translog::leaf_hash(Bytes{static_cast<std::uint8_t>(i)})});
    }
    ASSERT_TRUE(db->transaction([&] { return log.insert_all(entries); }).has_value());
    auto all = log.entries(0, 100).value();
    ASSERT_EQ(all.size(), 70u);
    EXPECT_EQ(all[69].data, Bytes{69});
    EXPECT_EQ(all[69].leaf_hash, entries[69].leaf_hash);
    EXPECT_EQ(log.size().value(), 70u);
    db.reset();  // the sqlite3 CLI edits the file, as an operator would
    if (auto missing = test::missing_tool({"sqlite3"}); !missing.empty()) {
        GTEST_SKIP() << missing;
    }
    auto edit = test::run("sqlite3 " + test::shell_quote((dir / "selo.db").string()) +
                          " \"DROP TRIGGER log_entries_append_only_update;"
                          " UPDATE log_entries SET logged_at_ms = 'soon' WHERE idx = 42;\"");
    ASSERT_EQ(edit.exit_code, 0) << edit.output;
    db = open_sqlite(dir / "selo.db").value();
    SqlLogRepository reopened(*db);
    auto r = reopened.entries(0, 100);
    ASSERT_FALSE(r.has_value());
    EXPECT_EQ(r.error().code, ErrorCode::internal);
    EXPECT_NE(r.error().message.find("log entry 42: stored column logged_at_ms holds text where an integer belongs"),
              std::string::npos) << r.error().message;
    EXPECT_EQ(reopened.entries(0, 42).value().size(), 42u) << "the rows before it still read";
}

TEST_F(StoreTest, RefusesADatabaseFromANewerSelo) {
    ASSERT_TRUE(db->execute("UPDATE schema_versions SET version = 999 WHERE part = 'pki'").has_value());
    auto r = migrate(*db);
    ASSERT_FALSE(r.has_value());
    EXPECT_NE(r.error().message.find("newer"), std::string::npos);
}

TEST_F(StoreTest, TransactionRollsBackEverythingOnError) {
    auto r = db->transaction([&]() -> Result<void> {
        SELO_TRY(db->execute("INSERT INTO keys (id, type, public_key, sealed_private_key, created_at) "
                             "VALUES ('a', 'ec-p256', x'01', x'02', 1)"));
        // A nested call joins the outer transaction.
        SELO_TRY_VOID(db->transaction([&]() -> Result<void> {
            SELO_TRY(db->execute("INSERT INTO keys (id, type, public_key, sealed_private_key, created_at) "
                                 "VALUES ('b', 'ec-p256', x'01', x'02', 1)"));
            return {};
        }));
        return fail(ErrorCode::conflict, "abort");
    });
    ASSERT_FALSE(r.has_value());
    EXPECT_EQ(db->query("SELECT id FROM keys").value().size(), 0u);
}

TEST_F(StoreTest, IssuedCertificatesAndAuditAreAppendOnly) {
    SqlCertificateRepository certs(*db);
    pki::CertificateRecord rec{"natural-persons", "4a", "CN=x", "natural-person-signing",
                               from_unix_seconds(1), from_unix_seconds(2), Bytes{1, 2},
                               from_unix_seconds(1), "valid"};
    ASSERT_TRUE(certs.insert(rec).has_value());
    auto dup = certs.insert(rec);
    ASSERT_FALSE(dup.has_value());
    EXPECT_EQ(dup.error().code, ErrorCode::conflict) << "serial unique per issuer";
    EXPECT_FALSE(db->execute("UPDATE certificates SET der = x'00'").has_value());
    EXPECT_FALSE(db->execute("DELETE FROM certificates").has_value());
    EXPECT_TRUE(db->execute("UPDATE certificates SET status = 'revoked'").has_value());

    ASSERT_TRUE(append_audit(*db, from_unix_seconds(5), "tester", "x.test", "s", "d").has_value());
    EXPECT_FALSE(db->execute("UPDATE audit_log SET actor = 'someone else'").has_value());
    EXPECT_FALSE(db->execute("DELETE FROM audit_log").has_value());
}

TEST_F(StoreTest, ACaCertificateIsReplacedInPlace) {
    for (const char* id : {"ca/root/1", "ca/root/offline/ab"}) {
        ASSERT_TRUE(db->execute("INSERT INTO keys (id, type, public_key, sealed_private_key, created_at) "
                                "VALUES (?, 'ec-p384', x'01', x'', 1)",
                                {std::string(id)})
                        .has_value());
    }
    SqlCaRepository cas(*db);
    ASSERT_TRUE(cas.insert({"root", "root", std::nullopt, "ca/root/1", Bytes{1}, from_unix_seconds(1)}).has_value());
    auto replaced = cas.replace_certificate("root", "ca/root/offline/ab", Bytes{2, 3});
    ASSERT_TRUE(replaced.has_value()) << replaced.error().message;
    auto rec = cas.find("root").value();
    ASSERT_TRUE(rec.has_value());
    EXPECT_EQ(rec->key_id, "ca/root/offline/ab");
    EXPECT_EQ(rec->certificate_der, (Bytes{2, 3}));
    EXPECT_EQ(rec->created_at, from_unix_seconds(1));
    auto missing = cas.replace_certificate("nobody", "ca/root/1", Bytes{4});
    ASSERT_FALSE(missing.has_value());
    EXPECT_EQ(missing.error().code, ErrorCode::not_found);
}

TEST_F(StoreTest, ActivationClaimsAreAllOrNothingAndSingleUse) {
    ASSERT_TRUE(db->execute(
        "INSERT INTO accounts (id, username, name, latin_name, given_name, surname, id_type, "
        "id_country, id_number, email, password_hash, totp_secret_sealed, created_at) VALUES "
        "('acc', 'u', 'n', 'l', 'g', 's', 'identity-card', 'MO', '1', 'e@x.mo', 'h', x'00', 1)"));
    ASSERT_TRUE(db->execute(
        "INSERT INTO credentials (id, account_id, ca_name, certificate_serial, certificate, "
        "key_type, sealed_private_key, pin_salt, pin_kdf_memory_kib, pin_kdf_iterations, "
        "pin_kdf_parallelism, created_at) VALUES ('cred', 'acc', 'np', '1', x'00', 'ec-p256', "
        "x'00', x'00', 8, 1, 1, 1)"));
    SqlActivationRepository repo(*db);
    cloudsign::SignatureActivation a;
    a.id = Bytes(32, 1);
    a.account_id = "acc";
    a.credential_id = "cred";
    a.hashes = {Bytes(32, 0xaa), Bytes(32, 0xbb)};
    a.expires_at = from_unix_seconds(100);
    a.sealed_pin_key = Bytes{1};
    a.created_at = from_unix_seconds(1);
    ASSERT_TRUE(repo.insert(a).has_value());
    auto found = repo.find(a.id).value();
    ASSERT_TRUE(found.has_value());
    EXPECT_EQ(found->hashes, a.hashes);

    // One unauthorised hash: nothing is claimed.
    EXPECT_FALSE(repo.claim(a.id, {Bytes(32, 0xaa), Bytes(32, 0xcc)}, from_unix_seconds(2)).value());
    EXPECT_TRUE(repo.claim(a.id, {Bytes(32, 0xaa)}, from_unix_seconds(2)).value());
    EXPECT_FALSE(repo.claim(a.id, {Bytes(32, 0xaa)}, from_unix_seconds(2)).value()) << "single use";
    EXPECT_TRUE(repo.claim(a.id, {Bytes(32, 0xbb)}, from_unix_seconds(2)).value());
}

TEST_F(StoreTest, ConcurrentClaimsOfOneHashSucceedOnce) {
    ASSERT_TRUE(db->execute(
        "INSERT INTO accounts (id, username, name, latin_name, given_name, surname, id_type, "
        "id_country, id_number, email, password_hash, totp_secret_sealed, created_at) VALUES "
        "('acc', 'u', 'n', 'l', 'g', 's', 'identity-card', 'MO', '1', 'e@x.mo', 'h', x'00', 1)"));
    ASSERT_TRUE(db->execute(
        "INSERT INTO credentials (id, account_id, ca_name, certificate_serial, certificate, "
        "key_type, sealed_private_key, pin_salt, pin_kdf_memory_kib, pin_kdf_iterations, "
        "pin_kdf_parallelism, created_at) VALUES ('cred', 'acc', 'np', '1', x'00', 'ec-p256', "
        "x'00', x'00', 8, 1, 1, 1)"));
    SqlActivationRepository repo(*db);
    cloudsign::SignatureActivation a;
    a.id = Bytes(32, 2);
    a.account_id = "acc";
    a.credential_id = "cred";
    a.hashes = {Bytes(32, 0x11)};
    a.expires_at = from_unix_seconds(100);
    a.sealed_pin_key = Bytes{1};
    ASSERT_TRUE(repo.insert(a).has_value());
    // A second process-like opener of the same file, racing the first.
    auto other = open_sqlite(dir / "selo.db").value();
    SqlActivationRepository repo2(*other);
    std::atomic<int> wins{0};
    std::vector<std::thread> threads;
    for (int i = 0; i < 8; ++i) {
        threads.emplace_back([&, i] {
            auto& r = (i % 2 == 0) ? repo : repo2;
            if (r.claim(a.id, {Bytes(32, 0x11)}, from_unix_seconds(3)).value_or(false)) {
                ++wins;
            }
        });
    }
    for (auto& t : threads) {
        t.join();
    }
    EXPECT_EQ(wins.load(), 1);
}

TEST_F(StoreTest, WatchedStatusVersionsSeeEveryOtherConnectionsCommitAtOnce) {
    SqlCertificateRepository certs(*db);
    const auto t = from_unix_seconds(1'700'000'000);
    ASSERT_TRUE(certs.insert({"np", "4a", "CN=a", "natural-person-signing", t, t + std::chrono::hours(24),
                              Bytes{0x30, 0x00}, t, "valid", std::nullopt, std::nullopt}).has_value());
    auto watch = open_sqlite_commit_watch(dir / "selo.db");
    ASSERT_TRUE(watch.has_value()) << watch.error().message;
    WatchedStatusVersions versions(std::move(*watch));
    EXPECT_EQ(versions.version("np").value(), 0);
    // Another opener of the file (as `selo ca revoke` is) changes a status: seen on the next call.
    auto other = open_sqlite(dir / "selo.db").value();
    SqlCertificateRepository certs2(*other);
    pki::CertificateStatus revoked{"revoked", t, 1, t + std::chrono::hours(24)};
    ASSERT_TRUE(certs2.update_status("np", "4a", "valid", revoked).has_value());
    EXPECT_EQ(versions.version("np").value(), 1);
    EXPECT_EQ(versions.version("np").value(), 1);
    EXPECT_EQ(versions.version("institutions").value(), 0);
    // This process's own pooled connections too.
    pki::CertificateStatus held{"suspended", t, 6, t + std::chrono::hours(24)};
    ASSERT_TRUE(certs.insert({"np", "4b", "CN=b", "natural-person-signing", t, t + std::chrono::hours(24),
                              Bytes{0x30, 0x00}, t, "valid", std::nullopt, std::nullopt}).has_value());
    EXPECT_EQ(versions.version("np").value(), 1) << "an issuance changes no status";
    ASSERT_TRUE(certs.update_status("np", "4b", "valid", held).has_value());
    EXPECT_EQ(versions.version("np").value(), 2);
    // And another process altogether.
    if (!test::have_tool("python3")) {
        GTEST_SKIP() << "python3 missing";
    }
    auto r = test::run("python3 -c " + test::shell_quote(
        "import sqlite3; c = sqlite3.connect('" + (dir / "selo.db").string() + "'); "
        "c.execute(\"UPDATE certificate_status_versions SET version = version + 1 WHERE issuer = 'np'\"); "
        "c.commit()"));
    ASSERT_EQ(r.exit_code, 0) << r.output;
    EXPECT_EQ(versions.version("np").value(), 3);
}

}  // namespace
}  // namespace selo::store
