#pragma once
// Time is injected: every component that needs "now" takes a Clock&, so expiry, OTP windows and
// CRL schedules can be tested with FakeClock.

#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <ctime>
#include <string>

namespace selo {

using TimePoint = std::chrono::system_clock::time_point;
using Seconds = std::chrono::seconds;

class Clock {
public:
    virtual ~Clock() = default;
    // The current wall-clock time (UTC).
    [[nodiscard]] virtual TimePoint now() const = 0;
};

// The real clock.
class SystemClock final : public Clock {
public:
    [[nodiscard]] TimePoint now() const override { return std::chrono::system_clock::now(); }
};

// A clock that only moves when told to; safe to read and move from several threads.
class FakeClock final : public Clock {
public:
    explicit FakeClock(TimePoint start) : nanos_(start.time_since_epoch().count()) {}
    [[nodiscard]] TimePoint now() const override {
        return TimePoint(TimePoint::duration(nanos_.load()));
    }
    void set(TimePoint t) { nanos_.store(t.time_since_epoch().count()); }
    void advance(std::chrono::nanoseconds d) {
        nanos_.fetch_add(std::chrono::duration_cast<TimePoint::duration>(d).count());
    }

private:
    std::atomic<TimePoint::rep> nanos_;
};

// Seconds since the Unix epoch.
[[nodiscard]] inline std::int64_t unix_seconds(TimePoint t) {
    return std::chrono::duration_cast<Seconds>(t.time_since_epoch()).count();
}
[[nodiscard]] inline TimePoint from_unix_seconds(std::int64_t s) { return TimePoint(Seconds(s)); }
// Whether from_unix_seconds(s) is exact: a TimePoint counts nanoseconds in 64 bits (1677-09-21
// to 2262-04-11), and beyond that the conversion wraps round to another date. Parsers of dates
// from outside check this first.
[[nodiscard]] inline bool fits_time_point(std::int64_t s) noexcept {
    using std::chrono::duration_cast;
    return s >= duration_cast<Seconds>(TimePoint::min().time_since_epoch()).count() &&
           s <= duration_cast<Seconds>(TimePoint::max().time_since_epoch()).count();
}

// RFC 3339 in UTC to the second, e.g. "2026-12-04T06:30:00Z", for people reading logs and output.
[[nodiscard]] inline std::string format_utc(TimePoint t) {
    const std::time_t secs = static_cast<std::time_t>(unix_seconds(std::chrono::floor<Seconds>(t)));
    std::tm tm{};
    char buf[32];
    if (::gmtime_r(&secs, &tm) == nullptr || std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0) {
        return std::to_string(secs) + " (Unix seconds)";
    }
    return buf;
}

// The same to the millisecond, e.g. "2026-12-04T06:30:00.250Z": the precision of time-stamp
// tokens' genTime and of log entries' times.
[[nodiscard]] inline std::string format_utc_millis(TimePoint t) {
    const auto ms = std::chrono::floor<std::chrono::milliseconds>(t);
    const auto secs = std::chrono::floor<Seconds>(ms);
    std::string out = format_utc(secs);
    if (out.empty() || out.back() != 'Z') {
        return out;  // not a date format_utc could write
    }
    char frac[8];
    std::snprintf(frac, sizeof frac, ".%03d", static_cast<int>((ms - secs).count()));
    out.insert(out.size() - 1, frac);
    return out;
}

}  // namespace selo
