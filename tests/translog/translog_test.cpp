// The transparency log against a verifier written here from RFC 9162 §2.1 (its own hashing,
// MTH, and the §2.1.3.2 / §2.1.4.2 verification algorithms), not Selo's tree code; with the
// Certificate Transparency project's reference tree as known answers.

#include <gtest/gtest.h>

#include <openssl/sha.h>

#include <atomic>
#include <condition_variable>
#include <future>
#include <mutex>
#include <set>
#include <thread>

#include "store/migrations.hpp"
#include "store/repositories.hpp"
#include "store/sqlite/sqlite_database.hpp"
#include "support/test_support.hpp"
#include "translog/log.hpp"
#include "translog/rfc9162_verifier.hpp"

namespace selo::translog {
namespace {

using namespace rfc9162;

std::string hex(const Digest& d) { return hex_encode(ByteView(d.data(), d.size())); }

// ---- fixtures ---------------------------------------------------------------------------------

class TransparencyLogTest : public ::testing::Test {
protected:
    void SetUp() override {
        db = store::open_sqlite(dir / "selo.db").value();
        ASSERT_TRUE(store::migrate(*db).has_value());
        repo = std::make_unique<store::SqlLogRepository>(*db);
        log = std::make_unique<TransparencyLog>(*repo, store::transact_with(*db), clock, nullptr);
    }
    // What a client sees of entry i: its canonical leaf, recomputed from the entry's fields.
    Digest leaf_of(const LogEntry& e) {
        Bytes in = leaf_input(e.type, e.logged_at, e.data);
        return leaf(std::vector<std::uint8_t>(in.begin(), in.end()));
    }
    test::TempDir dir;
    FakeClock clock{from_unix_seconds(1'767'000'000)};
    std::unique_ptr<store::Database> db;
    std::unique_ptr<store::SqlLogRepository> repo;
    std::unique_ptr<TransparencyLog> log;
};

TEST(Merkle, MatchesTheCertificateTransparencyReferenceTree) {
    // The eight leaves of the CT project's merkle_tree test vectors and their roots.
    std::vector<Bytes> inputs = {{},
                                 {0x00},
                                 {0x10},
                                 {0x20, 0x21},
                                 {0x30, 0x31},
                                 {0x40, 0x41, 0x42, 0x43},
                                 {0x50, 0x51, 0x52, 0x53, 0x54, 0x55, 0x56, 0x57},
                                 {0x60, 0x61, 0x62, 0x63, 0x64, 0x65, 0x66, 0x67, 0x68, 0x69, 0x6a, 0x6b, 0x6c, 0x6d, 0x6e, 0x6f}};
    std::vector<Hash> leaves;
    for (const auto& in : inputs) {
        leaves.push_back(leaf_hash(in));
    }
    auto root = [&](std::size_t n) { return hex_encode(view(root_hash(std::span(leaves).first(n)))); };
    EXPECT_EQ(root(0), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    EXPECT_EQ(root(1), "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d");
    EXPECT_EQ(root(2), "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125");
    EXPECT_EQ(root(8), "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328");
}

// A group commit of any size stores every entry once, in order, with what was given: the batch
// is split into multi-row INSERTs of 64, 32, ..., 1 rows.
TEST_F(TransparencyLogTest, BatchesOfEverySizeStoreEveryEntryInOrder) {
    std::uint64_t next = 0;
    std::vector<std::size_t> sizes;
    for (std::size_t n = 0; n <= 70; ++n) {
        sizes.push_back(n);
    }
    sizes.push_back(127);
    sizes.push_back(129);
    for (std::size_t n : sizes) {
        std::vector<LogEntry> batch;
        for (std::size_t i = 0; i < n; ++i) {
            const std::uint64_t idx = next + i;
            Bytes data{static_cast<std::uint8_t>(idx), static_cast<std::uint8_t>(idx >> 8), static_cast<std::uint8_t>(n)};
            const TimePoint at(std::chrono::milliseconds(1'700'000'000'000 + static_cast<std::int64_t>(idx)));
            batch.push_back({idx, "timestamp", at, data, leaf_hash(leaf_input("timestamp", at, data))});
        }
        ASSERT_TRUE(db->transaction([&] { return repo->insert_all(batch); }).has_value()) << n;
        auto stored = repo->entries(next, next + n).value();
        ASSERT_EQ(stored.size(), n);
        for (std::size_t i = 0; i < n; ++i) {
            EXPECT_EQ(stored[i].index, batch[i].index);
            EXPECT_EQ(stored[i].data, batch[i].data) << "batch of " << n << ", entry " << i;
            EXPECT_EQ(stored[i].logged_at, batch[i].logged_at);
            EXPECT_EQ(stored[i].leaf_hash, batch[i].leaf_hash);
        }
        next += n;
        EXPECT_EQ(repo->size().value(), next);
    }
}

TEST_F(TransparencyLogTest, ProofsVerifyWithTheIndependentVerifier) {
    std::vector<Digest> expected;
    for (int i = 0; i < 37; ++i) {
        clock.advance(std::chrono::milliseconds(1234));
        std::string data = "entry " + std::to_string(i) + std::string(static_cast<std::size_t>(i), 'x');
        auto r = log->append(i % 2 ? "certificate" : "timestamp", as_bytes(data));
        ASSERT_TRUE(r.has_value()) << r.error().message;
        EXPECT_EQ(r->index, static_cast<std::uint64_t>(i));
    }
    auto entries = log->entries(0, 100, 1000).value();
    ASSERT_EQ(entries.size(), 37u);
    for (const auto& e : entries) {
        expected.push_back(leaf_of(e));
        EXPECT_EQ(hex(expected.back()), hex(e.leaf_hash)) << "entry " << e.index;
    }
    for (std::uint64_t size = 1; size <= 37; ++size) {
        Digest root = mth(expected, 0, size);
        EXPECT_EQ(hex(root), hex(log->root_at(size).value())) << size;
        for (std::uint64_t i = 0; i < size; ++i) {
            auto proof = log->inclusion_proof(expected[i], size);
            ASSERT_TRUE(proof.has_value()) << proof.error().message;
            EXPECT_EQ(proof->leaf_index, i);
            std::vector<Digest> path(proof->path.begin(), proof->path.end());
            EXPECT_TRUE(rfc_verify_inclusion(i, size, expected[i], path, root)) << i << " in " << size;
            // A wrong leaf, root or size does not verify.
            EXPECT_FALSE(rfc_verify_inclusion(i, size, expected[(i + 1) % 37], path, root) && size > 1);
            if (!path.empty()) {
                path[0][0] ^= 1;
                EXPECT_FALSE(rfc_verify_inclusion(i, size, expected[i], path, root));
            }
        }
        for (std::uint64_t first = 1; first < size; ++first) {
            auto proof = log->consistency_proof(first, size);
            ASSERT_TRUE(proof.has_value()) << proof.error().message;
            std::vector<Digest> path(proof->begin(), proof->end());
            Digest first_root = mth(expected, 0, first);
            EXPECT_TRUE(rfc_verify_consistency(first, size, first_root, root, path)) << first << " -> " << size;
            EXPECT_TRUE(verify_consistency(first, size, first_root, root, *proof));
            Digest other = first_root;
            other[5] ^= 0x40;
            EXPECT_FALSE(rfc_verify_consistency(first, size, other, root, path));
        }
    }
}

TEST_F(TransparencyLogTest, FindsLeavesAppendedByAnotherWriterAndTheFirstOfEqualOnes) {
    ASSERT_TRUE(log->append("timestamp", as_bytes(std::string_view("first"))).has_value());
    ASSERT_TRUE(log->inclusion_proof(log->entries(0, 1, 1).value()[0].leaf_hash, 1).has_value());
    // Another writer on the same database (another process, in production): group commits,
    // past the first sizes of the lookup table.
    {
        TransparencyLog other(*repo, store::transact_with(*db), clock, nullptr);
        std::promise<void> all;
        std::atomic<int> left{2999};
        for (int i = 1; i < 3000; ++i) {
            if (i % 100 == 0) {
                clock.advance(std::chrono::milliseconds(1));
            }
            other.append_async("timestamp", as_bytes(fmt::format("entry {}", i % 2000)), [&](Result<LogReceipt> r) {
                EXPECT_TRUE(r.has_value());
                if (left.fetch_sub(1) == 1) {
                    all.set_value();
                }
            });
        }
        all.get_future().wait();
    }
    auto entries = log->entries(0, 3000, 3000).value();
    ASSERT_EQ(entries.size(), 3000u);
    for (std::uint64_t i : {0u, 1u, 777u, 1999u, 2999u}) {
        auto proof = log->inclusion_proof(entries[i].leaf_hash, 3000);
        ASSERT_TRUE(proof.has_value()) << i << ": " << proof.error().message;
        // Equal entries (same type, data and millisecond) have one leaf hash: the first is named.
        std::uint64_t first = i;
        for (std::uint64_t j = 0; j < i; ++j) {
            if (entries[j].leaf_hash == entries[i].leaf_hash) {
                first = j;
                break;
            }
        }
        EXPECT_EQ(proof->leaf_index, first) << i;
        std::vector<Digest> path(proof->path.begin(), proof->path.end());
        EXPECT_TRUE(rfc_verify_inclusion(first, 3000, entries[i].leaf_hash, path, log->root_at(3000).value()));
    }
    // Not in the first 500 entries: not found there, though it is in the log.
    EXPECT_EQ(log->inclusion_proof(entries[2999].leaf_hash, 500).error().code, ErrorCode::not_found);
}

TEST_F(TransparencyLogTest, RefusesBadRequestsClearly) {
    ASSERT_TRUE(log->append("postmark", as_bytes(std::string_view("one"))).has_value());
    EXPECT_EQ(log->inclusion_proof(Hash{}, 1).error().code, ErrorCode::not_found);
    EXPECT_EQ(log->inclusion_proof(Hash{}, 5).error().code, ErrorCode::invalid_argument);
    EXPECT_EQ(log->consistency_proof(0, 1).error().code, ErrorCode::invalid_argument);
    EXPECT_EQ(log->consistency_proof(1, 2).error().code, ErrorCode::invalid_argument);
    EXPECT_FALSE(log->append("Bad Type", as_bytes(std::string_view("x"))).has_value());
    EXPECT_EQ(log->sign_tree_head().error().code, ErrorCode::unavailable);
    EXPECT_EQ(log->latest_tree_head().error().code, ErrorCode::not_found);
    // The database refuses edits of the log.
    EXPECT_FALSE(db->execute("UPDATE log_entries SET data = x'00' WHERE idx = 0").has_value());
    EXPECT_FALSE(db->execute("DELETE FROM log_entries").has_value());
}

TEST_F(TransparencyLogTest, ConcurrentAppendsAreDurableWithContiguousIndices) {
    std::vector<std::thread> threads;
    std::mutex mutex;
    std::set<std::uint64_t> indices;
    for (int t = 0; t < 8; ++t) {
        threads.emplace_back([&, t] {
            for (int i = 0; i < 50; ++i) {
                auto r = log->append("timestamp", as_bytes(fmt::format("{}-{}", t, i)));
                ASSERT_TRUE(r.has_value()) << r.error().message;
                std::lock_guard lock(mutex);
                EXPECT_TRUE(indices.insert(r->index).second);
            }
        });
    }
    for (auto& t : threads) {
        t.join();
    }
    ASSERT_EQ(indices.size(), 400u);
    EXPECT_EQ(*indices.rbegin(), 399u);
    // A second reader of the same database (another process would do the same) sees all of it.
    auto other = store::open_sqlite(dir / "selo.db").value();
    store::SqlLogRepository other_repo(*other);
    EXPECT_EQ(other_repo.size().value(), 400u);
    TransparencyLog other_log(other_repo, store::transact_with(*other), clock, nullptr);
    EXPECT_EQ(other_log.current().value().second, log->current().value().second);
}

// append_async: entries queued while a commit runs share the next one, each caller hears only
// once its entry is committed (visible to another connection), in queue order.
TEST_F(TransparencyLogTest, AsyncAppendsShareOneCommitAndAreDurableFirst) {
    std::mutex mutex;
    std::condition_variable cv;
    bool open = false;
    int transactions = 0;
    Transact inner = store::transact_with(*db);
    TransparencyLog alog(
        *repo,
        [&](const std::function<Result<void>()>& fn) -> Result<void> {
            {
                std::unique_lock lock(mutex);
                ++transactions;
                cv.wait(lock, [&] { return open; });  // holds the first commit until all queue
            }
            return inner(fn);
        },
        clock, nullptr);
    auto reader_db = store::open_sqlite(dir / "selo.db").value();
    store::SqlLogRepository reader(*reader_db);
    constexpr int kAppends = 100;
    std::vector<std::uint64_t> index(kAppends, ~std::uint64_t{0});
    std::atomic<int> done{0};
    for (int i = 0; i < kAppends; ++i) {
        alog.append_async("timestamp", as_bytes(fmt::format("e{}", i)), [&, i](Result<LogReceipt> r) {
            ASSERT_TRUE(r.has_value()) << r.error().message;
            EXPECT_GT(reader.size().value(), r->index);  // committed before we are told
            index[static_cast<std::size_t>(i)] = r->index;
            done.fetch_add(1);
        });
    }
    EXPECT_EQ(done.load(), 0);  // nothing is answered before its commit
    {
        std::lock_guard lock(mutex);
        open = true;
    }
    cv.notify_all();
    for (int spin = 0; spin < 500 && done.load() < kAppends; ++spin) {
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    ASSERT_EQ(done.load(), kAppends);
    EXPECT_LE(transactions, 2);  // the first entry alone (or a few), then all the rest at once
    for (int i = 0; i < kAppends; ++i) {
        EXPECT_EQ(index[static_cast<std::size_t>(i)], static_cast<std::uint64_t>(i));
    }
    EXPECT_EQ(reader.size().value(), static_cast<std::uint64_t>(kAppends));
}

TEST_F(TransparencyLogTest, AFailedCommitFailsEveryAppendOfItsBatch) {
    std::atomic<bool> failing{true};
    Transact inner = store::transact_with(*db);
    std::atomic<int> failed{0};
    {
        TransparencyLog alog(
            *repo,
            [&](const std::function<Result<void>()>& fn) -> Result<void> {
                if (failing.load()) {
                    return fail(ErrorCode::unavailable, "disk full");
                }
                return inner(fn);
            },
            clock, nullptr);
        for (int i = 0; i < 20; ++i) {
            alog.append_async("timestamp", as_bytes("x"), [&](Result<LogReceipt> r) {
                EXPECT_FALSE(r.has_value());
                failed.fetch_add(1);
            });
        }
        alog.append_async("Bad Type", as_bytes("x"), [&](Result<LogReceipt> r) {
            EXPECT_FALSE(r.has_value());  // refused at once, never queued
        });
    }  // the destructor commits (here: fails) what is still queued before it returns
    EXPECT_EQ(failed.load(), 20);
    EXPECT_EQ(repo->size().value(), 0u);
    failing = false;
    TransparencyLog alog(*repo, inner, clock, nullptr);
    std::promise<Result<LogReceipt>> got;
    alog.append_async("timestamp", as_bytes("y"), [&](Result<LogReceipt> r) { got.set_value(r); });
    auto r = got.get_future().get();
    ASSERT_TRUE(r.has_value()) << r.error().message;
    EXPECT_EQ(r->index, 0u);
}

}  // namespace
}  // namespace selo::translog
