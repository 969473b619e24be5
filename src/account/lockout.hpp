#pragma once
// Lockout with exponential back-off after repeated failures of a secret (password, OTP, signing
// PIN, API client secret). Failures are counted in the database per subject ("password:<account>",
// "otp:<account>", "pin:<credential>", "client:<client id>"), so the count holds across processes
// and nodes; a success resets it.

#include <chrono>
#include <map>
#include <mutex>
#include <optional>
#include <string>

#include "core/clock.hpp"
#include "core/error.hpp"

namespace selo::account {

struct LockoutPolicy {
    unsigned threshold = 5;                    // consecutive failures before the first lock
    std::chrono::seconds first_lock{60};       // doubled by each further failure
    std::chrono::seconds longest_lock{24 * 3600};
};

struct FailureState {
    unsigned failures = 0;                    // consecutive failures so far
    std::optional<TimePoint> locked_until;    // set once failures >= threshold
};

// How long the lock lasts after `failures` consecutive failures: none below the threshold, then
// first_lock, 2 x first_lock, 4 x ... up to longest_lock.
[[nodiscard]] std::optional<std::chrono::seconds> lock_duration(const LockoutPolicy& policy,
                                                                unsigned failures);

class FailureRepository {
public:
    virtual ~FailureRepository() = default;
    virtual Result<FailureState> find(std::string_view subject) = 0;
    // Counts one more failure and sets the lock from the policy, atomically (one write
    // transaction), so concurrent failures on several nodes are all counted.
    virtual Result<FailureState> record_failure(std::string_view subject, TimePoint now,
                                                const LockoutPolicy& policy) = 0;
    virtual Result<void> clear(std::string_view subject) = 0;
};

// A process-local FailureRepository, for services built without a database (unit tests).
class MemoryFailureRepository final : public FailureRepository {
public:
    Result<FailureState> find(std::string_view subject) override;
    Result<FailureState> record_failure(std::string_view subject, TimePoint now,
                                        const LockoutPolicy& policy) override;
    Result<void> clear(std::string_view subject) override;

private:
    std::mutex mutex_;
    std::map<std::string, FailureState, std::less<>> states_;
};

// "2026-12-03T16:31:00Z"
[[nodiscard]] std::string iso8601(TimePoint t);

}  // namespace selo::account
