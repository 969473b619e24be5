#include "account/lockout.hpp"

#include <ctime>

#include <fmt/format.h>

namespace selo::account {

std::optional<std::chrono::seconds> lock_duration(const LockoutPolicy& policy, unsigned failures) {
    if (policy.threshold == 0 || failures < policy.threshold) {
        return std::nullopt;
    }
    std::chrono::seconds d = policy.first_lock;
    for (unsigned i = policy.threshold; i < failures && d < policy.longest_lock; ++i) {
        d *= 2;
    }
    return std::min(d, policy.longest_lock);
}

Result<FailureState> MemoryFailureRepository::find(std::string_view subject) {
    std::lock_guard lock(mutex_);
    auto it = states_.find(subject);
    return it == states_.end() ? FailureState{} : it->second;
}

Result<FailureState> MemoryFailureRepository::record_failure(std::string_view subject,
                                                            TimePoint now,
                                                            const LockoutPolicy& policy) {
    std::lock_guard lock(mutex_);
    auto& s = states_[std::string(subject)];
    ++s.failures;
    if (auto d = lock_duration(policy, s.failures)) {
        s.locked_until = now + *d;
    }
    return s;
}

Result<void> MemoryFailureRepository::clear(std::string_view subject) {
    std::lock_guard lock(mutex_);
    if (auto it = states_.find(subject); it != states_.end()) {
        states_.erase(it);
    }
    return {};
}

std::string iso8601(TimePoint t) {
    std::time_t tt = std::chrono::system_clock::to_time_t(t);
    std::tm tm{};
    ::gmtime_r(&tt, &tm);
    return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z", tm.tm_year + 1900, tm.tm_mon + 1,
                       tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
}

}  // namespace selo::account
