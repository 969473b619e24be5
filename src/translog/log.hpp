#pragma once
// The transparency log: an append-only Merkle tree (RFC 9162 hashing) over every trust event
// (issued certificates, time-stamp tokens, postmarks, ...), with signed tree heads, inclusion
// and consistency proofs, and entries by range.
//
// Appends are durable before append() returns. Concurrent appends are committed together (one
// transaction for all the callers waiting at that moment), so the log does not cap the TSA at
// one fsync per token. Indices are assigned inside the write transaction from the stored size,
// so several processes can append to one database.
//
// A tree head is signed as an RFC 3161 time-stamp token (by the log's own time-stamping unit)
// over SHA-256 of tree_head_message(size, root): its genTime is the tree head's time, and anyone
// can check it with `openssl ts -verify -digest`.

#include <atomic>
#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <span>
#include <stop_token>
#include <thread>
#include <string>
#include <vector>

#include "core/bytes.hpp"
#include "core/clock.hpp"
#include "core/error.hpp"
#include "core/evidence.hpp"
#include "pki/repository.hpp"
#include "translog/merkle.hpp"

namespace selo::translog {

struct LogEntry {
    std::uint64_t index = 0;
    std::string type;
    TimePoint logged_at;  // millisecond precision
    Bytes data;
    Hash leaf_hash{};     // as stored
};

struct TreeHead {
    std::uint64_t tree_size = 0;
    Hash root_hash{};
    TimePoint timestamp;  // the token's genTime
    Bytes token;          // RFC 3161 TimeStampToken over SHA-256(tree_head_message(...))
};

// The canonical bytes of a leaf (RFC 9162 leaves are opaque): version 1, logged_at in
// milliseconds (8 octets big-endian), the type (1 octet length), the data (4 octets length).
[[nodiscard]] Bytes leaf_input(std::string_view type, TimePoint logged_at, ByteView data);
// What a tree head token time-stamps the SHA-256 of: "selo-tree-head-v1" 0x00, the size (8
// octets big-endian), the root hash.
[[nodiscard]] Bytes tree_head_message(std::uint64_t tree_size, const Hash& root);

// Persistence. Implemented in store/.
class LogRepository {
public:
    virtual ~LogRepository() = default;
    // The number of entries (the next index).
    virtual Result<std::uint64_t> size() = 0;
    virtual Result<void> insert(const LogEntry& entry) = 0;
    // Entries with consecutive indices, in one go (the group commit's batch).
    virtual Result<void> insert_all(std::span<const LogEntry> entries) = 0;
    // Entries [begin, end) in order.
    virtual Result<std::vector<LogEntry>> entries(std::uint64_t begin, std::uint64_t end) = 0;
    // Stored leaf hashes from `begin` on, in order.
    virtual Result<std::vector<Hash>> leaf_hashes(std::uint64_t begin) = 0;
    virtual Result<void> insert_tree_head(const TreeHead& head) = 0;
    // Every signed tree head, oldest first.
    virtual Result<std::vector<TreeHead>> tree_heads() = 0;
};

// Runs a function in one write transaction (joining the caller's ambient one, if any).
using Transact = std::function<Result<void>(const std::function<Result<void>()>&)>;

struct InclusionProof {
    std::uint64_t leaf_index = 0;
    std::uint64_t tree_size = 0;
    std::vector<Hash> path;
};

class TransparencyLog final : public TrustLog {
public:
    // `stamper` signs tree heads (null: the log cannot sign them, e.g. during `selo init`).
    TransparencyLog(LogRepository& repo, Transact transact, const Clock& clock, TimeStamper* stamper);

    // The unit that signs tree heads, when it exists only after the log (it is certified by a
    // CA whose certificates the log records). Set before serving.
    void set_tree_head_signer(TimeStamper* stamper) noexcept { stamper_ = stamper; }

    // TrustLog: durable on return; concurrent callers share one commit. Do not call it inside
    // a database transaction (use append_in_transaction there).
    Result<LogReceipt> append(std::string_view type, ByteView entry) override;
    // TrustLog: queued for the log's writer thread, which commits everything queued at once in
    // one durable transaction and then calls each `done` (on the writer thread: keep it short,
    // and never call append() from it). A failed commit fails every entry of that batch. The
    // queue holds at most kMaxQueuedAppends entries; beyond that the caller waits for room
    // (back-pressure reaches the callers instead of memory growing without bound).
    void append_async(std::string_view type, ByteView entry,
                      std::function<void(Result<LogReceipt>)> done) override;
    // TrustLog: as append_async, but false at once when the queue is full.
    bool try_append_async(std::string_view type, ByteView entry,
                          std::function<void(Result<LogReceipt>)> done) override;
    static constexpr std::size_t kMaxQueuedAppends = 8192;
    // Entries per transaction at most.
    static constexpr std::size_t kMaxBatch = 4096;

    // Group commits of append_async so far: how many, the entries in them, the largest.
    struct CommitStats {
        std::uint64_t commits = 0;
        std::uint64_t entries = 0;
        std::uint64_t largest = 0;
    };
    [[nodiscard]] CommitStats commit_stats() const noexcept;

    ~TransparencyLog() override;

    // Appends within the caller's transaction (or its own), on the calling thread.
    Result<LogReceipt> append_in_transaction(std::string_view type, ByteView entry);

    // The current size and root, from the stored leaves.
    Result<std::pair<std::uint64_t, Hash>> current();
    // Signs, stores and returns a tree head for the current tree.
    Result<TreeHead> sign_tree_head();
    // The newest signed tree head; not_found when none was signed yet.
    Result<TreeHead> latest_tree_head();
    Result<std::vector<TreeHead>> tree_heads() { return repo_.tree_heads(); }
    // not_found for a leaf hash not in the first `tree_size` entries; invalid_argument for a
    // tree size beyond the log.
    Result<InclusionProof> inclusion_proof(const Hash& leaf, std::uint64_t tree_size);
    Result<std::vector<Hash>> consistency_proof(std::uint64_t first, std::uint64_t second);
    // Entries [begin, end), at most `limit` of them.
    Result<std::vector<LogEntry>> entries(std::uint64_t begin, std::uint64_t end, std::uint64_t limit);
    // Root of the first `size` leaves.
    Result<Hash> root_at(std::uint64_t size);
    // After a failure to read the log: the first index from `begin` on whose stored entry is
    // missing or cannot be read (a row damaged by hand), or nullopt when every one reads.
    Result<std::optional<std::uint64_t>> first_unreadable(std::uint64_t begin);

private:
    struct Pending {
        std::string type;
        Bytes data;
        std::optional<Result<LogReceipt>> result;
    };
    Result<LogReceipt> write(std::uint64_t index, std::string_view type, ByteView data, TimePoint now);
    // The entry to store at `index`, its leaf hash computed.
    static LogEntry make_entry(std::uint64_t index, std::string_view type, Bytes data, TimePoint now);
    // Loads leaf hashes appended (by anyone) since the last call; returns the size.
    Result<std::uint64_t> refresh();

    LogRepository& repo_;
    Transact transact_;
    const Clock& clock_;
    TimeStamper* stamper_;

    std::mutex queue_mutex_;
    std::condition_variable queue_cv_;
    std::deque<Pending*> queue_;
    bool committing_ = false;

    struct Queued {
        std::string type;
        Bytes data;
        std::function<void(Result<LogReceipt>)> done;
    };
    void write_queued(std::stop_token stop);
    // append_async and try_append_async: false (nothing queued, `done` not called) only when the
    // queue is full and `wait_for_room` is false.
    bool enqueue(std::string_view type, ByteView entry, std::function<void(Result<LogReceipt>)>&& done,
                 bool wait_for_room);
    std::mutex async_mutex_;
    std::condition_variable_any async_cv_;     // the writer waits for work
    std::condition_variable async_room_cv_;    // producers wait for room
    std::deque<Queued> async_queue_;
    std::atomic<std::uint64_t> commits_{0};
    std::atomic<std::uint64_t> committed_{0};
    std::atomic<std::uint64_t> largest_batch_{0};
    std::jthread writer_;                      // started by the first append_async

    std::shared_mutex cache_mutex_;
    std::vector<Hash> leaves_;  // committed leaf hashes, a prefix of the stored log
    // Leaf hash -> first index, for inclusion proofs by leaf hash: an open-addressing table of
    // index + 1 (0: empty) keyed by the hash's first octets, over leaves_. Kept here rather than
    // as a database index, which cost the group commit a random B-tree insert per entry.
    std::vector<std::uint64_t> leaf_slots_;
    void index_leaves(std::size_t from);                       // cache_mutex_ held exclusively
    [[nodiscard]] std::optional<std::uint64_t> find_leaf(const Hash& leaf) const;  // held shared
};

// Wraps a CertificateRepository so that every certificate recorded is also appended to the
// log ("certificate", its DER), in the same transaction.
class LoggedCertificateRepository final : public pki::CertificateRepository {
public:
    LoggedCertificateRepository(pki::CertificateRepository& inner, TransparencyLog& log, Transact transact)
        : inner_(inner), log_(log), transact_(std::move(transact)) {}
    Result<void> insert(const pki::CertificateRecord& record) override;
    Result<std::optional<pki::CertificateRecord>> find(std::string_view issuer,
                                                       std::string_view serial_hex) override {
        return inner_.find(issuer, serial_hex);
    }
    // Status changes and reads pass through: the log records issuance.
    Result<std::optional<pki::CertificateStatus>> status(std::string_view issuer,
                                                         std::string_view serial_hex) override {
        return inner_.status(issuer, serial_hex);
    }
    Result<void> update_status(std::string_view issuer, std::string_view serial_hex,
                               std::string_view expected_status,
                               const pki::CertificateStatus& status) override {
        return inner_.update_status(issuer, serial_hex, expected_status, status);
    }
    Result<std::vector<pki::RevokedEntry>> revoked(std::string_view issuer) override {
        return inner_.revoked(issuer);
    }
    Result<std::int64_t> status_version(std::string_view issuer) override {
        return inner_.status_version(issuer);
    }
    Result<std::vector<pki::CertificateRecord>> list(const pki::CertificateFilter& filter) override {
        return inner_.list(filter);
    }

private:
    pki::CertificateRepository& inner_;
    TransparencyLog& log_;
    Transact transact_;
};

}  // namespace selo::translog

#include <stop_token>
#include <thread>

namespace selo::translog {

// Signs a tree head at start and then every `interval` when the log has grown since the last
// one, on its own thread, until destroyed.
class TreeHeadSchedule {
public:
    TreeHeadSchedule(TransparencyLog& log, std::chrono::seconds interval);
    ~TreeHeadSchedule();
    TreeHeadSchedule(const TreeHeadSchedule&) = delete;
    TreeHeadSchedule& operator=(const TreeHeadSchedule&) = delete;

private:
    void run(std::stop_token stop);
    TransparencyLog& log_;
    std::chrono::seconds interval_;
    std::mutex mutex_;
    std::condition_variable_any cv_;
    std::jthread thread_;
};

}  // namespace selo::translog
