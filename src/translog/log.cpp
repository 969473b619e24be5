#include "translog/log.hpp"

#include "core/log.hpp"
#include "crypto/digest.hpp"
#include "tsa/verify.hpp"

namespace selo::translog {
namespace {

void put_u64(Bytes& out, std::uint64_t v) {
    for (int shift = 56; shift >= 0; shift -= 8) {
        out.push_back(static_cast<std::uint8_t>((v >> shift) & 0xff));
    }
}

TimePoint to_millis(TimePoint t) { return std::chrono::floor<std::chrono::milliseconds>(t); }

std::uint64_t millis_since_epoch(TimePoint t) {
    return static_cast<std::uint64_t>(
        std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count());
}

}  // namespace

Bytes leaf_input(std::string_view type, TimePoint logged_at, ByteView data) {
    Bytes out;
    out.reserve(1 + 8 + 1 + type.size() + 4 + data.size());
    out.push_back(1);
    put_u64(out, millis_since_epoch(logged_at));
    out.push_back(static_cast<std::uint8_t>(type.size()));
    out.insert(out.end(), type.begin(), type.end());
    const auto n = static_cast<std::uint32_t>(data.size());
    for (int shift = 24; shift >= 0; shift -= 8) {
        out.push_back(static_cast<std::uint8_t>((n >> shift) & 0xff));
    }
    out.insert(out.end(), data.begin(), data.end());
    return out;
}

Bytes tree_head_message(std::uint64_t tree_size, const Hash& root) {
    constexpr std::string_view label = "selo-tree-head-v1";
    Bytes out(label.begin(), label.end());
    out.push_back(0);
    put_u64(out, tree_size);
    out.insert(out.end(), root.begin(), root.end());
    return out;
}

TransparencyLog::TransparencyLog(LogRepository& repo, Transact transact, const Clock& clock,
                                 TimeStamper* stamper)
    : repo_(repo), transact_(std::move(transact)), clock_(clock), stamper_(stamper) {}

LogEntry TransparencyLog::make_entry(std::uint64_t index, std::string_view type, Bytes data,
                                     TimePoint now) {
    LogEntry e;
    e.index = index;
    e.type = std::string(type);
    e.logged_at = now;
    e.data = std::move(data);
    e.leaf_hash = leaf_hash(leaf_input(type, now, e.data));
    return e;
}

Result<LogReceipt> TransparencyLog::write(std::uint64_t index, std::string_view type, ByteView data,
                                          TimePoint now) {
    LogEntry e = make_entry(index, type, Bytes(data.begin(), data.end()), now);
    SELO_TRY_VOID(repo_.insert(e));
    return LogReceipt{e.index, Bytes(e.leaf_hash.begin(), e.leaf_hash.end()), now};
}

static Result<void> check_type(std::string_view type) {
    if (type.empty() || type.size() > 64 ||
        type.find_first_not_of("abcdefghijklmnopqrstuvwxyz0123456789-.") != std::string_view::npos) {
        return fail(ErrorCode::invalid_argument, "log entry type '{}' must be 1-64 of [a-z0-9-.]", type);
    }
    return {};
}

Result<LogReceipt> TransparencyLog::append_in_transaction(std::string_view type, ByteView entry) {
    SELO_TRY_VOID(check_type(type));
    std::optional<LogReceipt> receipt;
    SELO_TRY_VOID(transact_([&]() -> Result<void> {
        receipt = SELO_TRY(write(SELO_TRY(repo_.size()), type, entry, to_millis(clock_.now())));
        return {};
    }));
    return *receipt;
}

Result<LogReceipt> TransparencyLog::append(std::string_view type, ByteView entry) {
    SELO_TRY_VOID(check_type(type));
    Pending mine{std::string(type), Bytes(entry.begin(), entry.end()), std::nullopt};
    std::unique_lock lock(queue_mutex_);
    queue_.push_back(&mine);
    while (!mine.result) {
        if (committing_) {
            queue_cv_.wait(lock);
            continue;
        }
        // This caller commits everything queued so far, its own entry included, in one
        // transaction; callers arriving meanwhile wait for the next one.
        committing_ = true;
        std::vector<Pending*> batch(queue_.begin(), queue_.end());
        queue_.clear();
        lock.unlock();
        const TimePoint now = to_millis(clock_.now());
        std::vector<LogEntry> entries;
        entries.reserve(batch.size());
        for (Pending* p : batch) {
            entries.push_back(make_entry(0, p->type, std::move(p->data), now));
        }
        auto r = transact_([&]() -> Result<void> {
            std::uint64_t next = SELO_TRY(repo_.size());
            for (LogEntry& e : entries) {
                e.index = next++;
            }
            return repo_.insert_all(entries);
        });
        lock.lock();
        for (std::size_t i = 0; i < batch.size(); ++i) {
            if (r) {
                const LogEntry& e = entries[i];
                batch[i]->result = LogReceipt{e.index, Bytes(e.leaf_hash.begin(), e.leaf_hash.end()), now};
            } else {
                batch[i]->result = std::unexpected(r.error());
            }
        }
        committing_ = false;
        queue_cv_.notify_all();
    }
    return std::move(*mine.result);
}

TransparencyLog::~TransparencyLog() {
    if (writer_.joinable()) {
        writer_.request_stop();
        async_cv_.notify_all();
        writer_.join();  // commits what is still queued first
        const auto stats = commit_stats();
        log::info("transparency log: {} entries appended in {} group commits (largest {})", stats.entries,
                  stats.commits, stats.largest);
    }
}

TransparencyLog::CommitStats TransparencyLog::commit_stats() const noexcept {
    return {commits_.load(std::memory_order_relaxed), committed_.load(std::memory_order_relaxed),
            largest_batch_.load(std::memory_order_relaxed)};
}

void TransparencyLog::append_async(std::string_view type, ByteView entry,
                                   std::function<void(Result<LogReceipt>)> done) {
    (void)enqueue(type, entry, std::move(done), true);
}

bool TransparencyLog::try_append_async(std::string_view type, ByteView entry,
                                       std::function<void(Result<LogReceipt>)> done) {
    return enqueue(type, entry, std::move(done), false);
}

bool TransparencyLog::enqueue(std::string_view type, ByteView entry,
                              std::function<void(Result<LogReceipt>)>&& done, bool wait_for_room) {
    if (auto bad = check_type(type); !bad) {
        done(std::unexpected(bad.error()));
        return true;
    }
    std::unique_lock lock(async_mutex_);
    if (wait_for_room) {
        async_room_cv_.wait(lock, [&] { return async_queue_.size() < kMaxQueuedAppends; });
    } else if (async_queue_.size() >= kMaxQueuedAppends) {
        return false;
    }
    if (!writer_.joinable()) {
        writer_ = std::jthread([this](std::stop_token stop) { write_queued(std::move(stop)); });
    }
    async_queue_.push_back({std::string(type), Bytes(entry.begin(), entry.end()), std::move(done)});
    lock.unlock();
    async_cv_.notify_one();
    return true;
}

void TransparencyLog::write_queued(std::stop_token stop) {
    std::vector<Queued> batch;
    std::vector<LogEntry> entries;
    for (;;) {
        {
            std::unique_lock lock(async_mutex_);
            async_cv_.wait(lock, stop, [&] { return !async_queue_.empty(); });
            if (async_queue_.empty()) {
                return;  // stop requested and nothing left to commit
            }
            // Everything queued meanwhile goes into this one transaction: the commit's fsync
            // is shared by every request that arrived while the last one was running.
            std::size_t n = std::min(async_queue_.size(), kMaxBatch);
            batch.assign(std::make_move_iterator(async_queue_.begin()),
                         std::make_move_iterator(async_queue_.begin() + static_cast<std::ptrdiff_t>(n)));
            async_queue_.erase(async_queue_.begin(), async_queue_.begin() + static_cast<std::ptrdiff_t>(n));
        }
        async_room_cv_.notify_all();
        const TimePoint now = to_millis(clock_.now());
        // Leaf hashes are computed once, outside the transaction; only the indices (from the
        // stored size, as another process may have appended) are assigned inside it.
        entries.clear();
        entries.reserve(batch.size());
        for (Queued& q : batch) {
            entries.push_back(make_entry(0, q.type, std::move(q.data), now));
        }
        auto r = transact_([&]() -> Result<void> {
            std::uint64_t next = SELO_TRY(repo_.size());
            for (LogEntry& e : entries) {
                e.index = next++;
            }
            return repo_.insert_all(entries);
        });
        if (r) {
            commits_.fetch_add(1, std::memory_order_relaxed);
            committed_.fetch_add(batch.size(), std::memory_order_relaxed);
            if (batch.size() > largest_batch_.load(std::memory_order_relaxed)) {
                largest_batch_.store(batch.size(), std::memory_order_relaxed);
            }
        }
        for (std::size_t i = 0; i < batch.size(); ++i) {
            if (r) {
                const LogEntry& e = entries[i];
                batch[i].done(LogReceipt{e.index, Bytes(e.leaf_hash.begin(), e.leaf_hash.end()), now});
            } else {
                batch[i].done(std::unexpected(r.error()));
            }
        }
        batch.clear();
    }
}

Result<std::uint64_t> TransparencyLog::refresh() {
    std::unique_lock lock(cache_mutex_);
    auto more = SELO_TRY(repo_.leaf_hashes(leaves_.size()));
    const std::size_t from = leaves_.size();
    leaves_.insert(leaves_.end(), more.begin(), more.end());
    index_leaves(from);
    return leaves_.size();
}

namespace {
std::size_t slot_of(const Hash& h, std::size_t mask) {
    std::uint64_t v = 0;
    for (int i = 0; i < 8; ++i) {
        v = (v << 8) | h[static_cast<std::size_t>(i)];
    }
    return static_cast<std::size_t>(v) & mask;
}
}  // namespace

void TransparencyLog::index_leaves(std::size_t from) {
    // Load at most one half: probes stay short.
    if (leaves_.size() * 2 > leaf_slots_.size()) {
        std::size_t n = std::max<std::size_t>(1024, leaf_slots_.size());
        while (leaves_.size() * 2 > n) {
            n *= 2;
        }
        leaf_slots_.assign(n, 0);
        from = 0;
    }
    const std::size_t mask = leaf_slots_.size() - 1;
    for (std::size_t i = from; i < leaves_.size(); ++i) {
        for (std::size_t s = slot_of(leaves_[i], mask);; s = (s + 1) & mask) {
            if (leaf_slots_[s] == 0) {
                leaf_slots_[s] = i + 1;
                break;
            }
            if (leaves_[leaf_slots_[s] - 1] == leaves_[i]) {
                break;  // the same leaf again: the first index is kept
            }
        }
    }
}

std::optional<std::uint64_t> TransparencyLog::find_leaf(const Hash& leaf) const {
    if (leaf_slots_.empty()) {
        return std::nullopt;
    }
    const std::size_t mask = leaf_slots_.size() - 1;
    for (std::size_t s = slot_of(leaf, mask); leaf_slots_[s] != 0; s = (s + 1) & mask) {
        if (leaves_[leaf_slots_[s] - 1] == leaf) {
            return leaf_slots_[s] - 1;
        }
    }
    return std::nullopt;
}

Result<std::pair<std::uint64_t, Hash>> TransparencyLog::current() {
    auto size = SELO_TRY(refresh());
    std::shared_lock lock(cache_mutex_);
    return std::pair{size, root_hash(std::span(leaves_).first(size))};
}

Result<Hash> TransparencyLog::root_at(std::uint64_t size) {
    auto have = SELO_TRY(refresh());
    if (size > have) {
        return fail(ErrorCode::invalid_argument, "the log has {} entries, not {}", have, size);
    }
    std::shared_lock lock(cache_mutex_);
    return root_hash(std::span(leaves_).first(size));
}

Result<TreeHead> TransparencyLog::sign_tree_head() {
    if (stamper_ == nullptr) {
        return fail(ErrorCode::unavailable, "this log has no key to sign tree heads with");
    }
    auto [size, root] = SELO_TRY(current());
    Bytes digest = crypto::sha256(tree_head_message(size, root));
    auto token = SELO_TRY(stamper_->time_stamp(
        {std::string(crypto::digest_oid(crypto::DigestAlgorithm::sha256)), digest, true}));
    auto info = SELO_TRY(tsa::read_token(token));
    TreeHead head{size, root, info.gen_time, std::move(token)};
    SELO_TRY_VOID(transact_([&]() -> Result<void> { return repo_.insert_tree_head(head); }));
    return head;
}

Result<TreeHead> TransparencyLog::latest_tree_head() {
    auto heads = SELO_TRY(repo_.tree_heads());
    if (heads.empty()) {
        return fail(ErrorCode::not_found, "no tree head has been signed yet");
    }
    return heads.back();
}

Result<InclusionProof> TransparencyLog::inclusion_proof(const Hash& leaf, std::uint64_t tree_size) {
    auto have = SELO_TRY(refresh());
    if (tree_size > have || tree_size == 0) {
        return fail(ErrorCode::invalid_argument, "tree_size must be 1 to {} (the log's size)", have);
    }
    std::shared_lock lock(cache_mutex_);
    auto index = find_leaf(leaf);
    if (!index || *index >= tree_size) {
        return fail(ErrorCode::not_found, "no entry with that leaf hash in the first {} entries", tree_size);
    }
    return InclusionProof{*index, tree_size, inclusion_path(*index, std::span(leaves_).first(tree_size))};
}

Result<std::vector<Hash>> TransparencyLog::consistency_proof(std::uint64_t first, std::uint64_t second) {
    auto have = SELO_TRY(refresh());
    if (second > have) {
        return fail(ErrorCode::invalid_argument, "the log has {} entries, not {}", have, second);
    }
    if (first == 0 || first > second) {
        return fail(ErrorCode::invalid_argument, "first must be 1 to second ({})", second);
    }
    std::shared_lock lock(cache_mutex_);
    return consistency_path(first, std::span(leaves_).first(second));
}

Result<std::vector<LogEntry>> TransparencyLog::entries(std::uint64_t begin, std::uint64_t end,
                                                       std::uint64_t limit) {
    if (end < begin) {
        return fail(ErrorCode::invalid_argument, "end ({}) is before start ({})", end, begin);
    }
    if (end - begin > limit) {
        end = begin + limit;
    }
    return repo_.entries(begin, end);
}

Result<std::optional<std::uint64_t>> TransparencyLog::first_unreadable(std::uint64_t begin) {
    constexpr std::uint64_t kChunk = 1000;
    const std::uint64_t size = SELO_TRY(repo_.size());
    for (std::uint64_t at = begin; at < size; at += kChunk) {
        const std::uint64_t end = std::min(size, at + kChunk);
        if (auto chunk = repo_.entries(at, end); chunk && chunk->size() == end - at) {
            continue;
        }
        for (std::uint64_t i = at; i < end; ++i) {
            if (auto one = repo_.entries(i, i + 1); !one || one->size() != 1) {
                return std::optional<std::uint64_t>(i);
            }
        }
    }
    return std::optional<std::uint64_t>{};
}

Result<void> LoggedCertificateRepository::insert(const pki::CertificateRecord& record) {
    return transact_([&]() -> Result<void> {
        SELO_TRY_VOID(inner_.insert(record));
        SELO_TRY(log_.append_in_transaction("certificate", record.der));
        return {};
    });
}

}  // namespace selo::translog

#include "core/log.hpp"

namespace selo::translog {

TreeHeadSchedule::TreeHeadSchedule(TransparencyLog& log, std::chrono::seconds interval)
    : log_(log), interval_(interval), thread_([this](std::stop_token st) { run(st); }) {}

TreeHeadSchedule::~TreeHeadSchedule() {
    thread_.request_stop();
    cv_.notify_all();
}

void TreeHeadSchedule::run(std::stop_token stop) {
    while (!stop.stop_requested()) {
        auto latest = log_.latest_tree_head();
        auto now = log_.current();
        if (!now) {
            log::error("transparency log: {}", now.error().message);
        } else if (!latest || latest->tree_size != now->first) {
            if (auto head = log_.sign_tree_head(); !head) {
                log::error("transparency log: signing a tree head: {}", head.error().message);
            }
        }
        std::unique_lock lock(mutex_);
        cv_.wait_for(lock, stop, interval_, [] { return false; });
    }
}

}  // namespace selo::translog
