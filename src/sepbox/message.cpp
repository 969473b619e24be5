#include "sepbox/message.hpp"

#include <ctime>

#include <fmt/format.h>

namespace selo::sepbox {

std::string_view category_name(Category c) noexcept {
    switch (c) {
        case Category::notification: return "notification";
        case Category::official_letter: return "official-letter";
        case Category::bill: return "bill";
        case Category::direct_mail: return "direct-mail";
    }
    return "notification";
}

Result<Category> category_from_name(std::string_view name) {
    for (auto c : {Category::notification, Category::official_letter, Category::bill,
                   Category::direct_mail}) {
        if (category_name(c) == name) {
            return c;
        }
    }
    return fail(ErrorCode::invalid_argument,
                "unknown category '{}' (notification, official-letter, bill, direct-mail)", name);
}

std::string_view event_name(Event e) noexcept {
    switch (e) {
        case Event::submission_acceptance: return "SubmissionAcceptance";
        case Event::submission_rejection: return "SubmissionRejection";
        case Event::content_consignment: return "ContentConsignment";
        case Event::content_handover: return "ContentHandover";
        case Event::consignment_acceptance: return "ConsignmentAcceptance";
        case Event::consignment_rejection: return "ConsignmentRejection";
        case Event::acceptance_rejection_expiry: return "AcceptanceRejectionExpiry";
    }
    return "SubmissionAcceptance";
}

std::string format_time(TimePoint t) {
    std::time_t secs = static_cast<std::time_t>(unix_seconds(t));
    std::tm tm{};
    ::gmtime_r(&secs, &tm);
    return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z", tm.tm_year + 1900, tm.tm_mon + 1,
                       tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
}

Result<TimePoint> parse_time(std::string_view s) {
    auto bad = [&]() {
        return fail(ErrorCode::invalid_argument,
                    "'{}' is not an RFC 3339 date-time such as 2026-12-31T17:00:00+08:00", s);
    };
    auto digits = [&](std::size_t pos, std::size_t n, int& out) {
        if (pos + n > s.size()) {
            return false;
        }
        out = 0;
        for (std::size_t k = pos; k < pos + n; ++k) {
            if (s[k] < '0' || s[k] > '9') {
                return false;
            }
            out = out * 10 + (s[k] - '0');
        }
        return true;
    };
    int y = 0, mo = 0, d = 0, h = 0, mi = 0, sec = 0;
    if (s.size() < 20 || !digits(0, 4, y) || s[4] != '-' || !digits(5, 2, mo) || s[7] != '-' ||
        !digits(8, 2, d) || (s[10] != 'T' && s[10] != 't') || !digits(11, 2, h) || s[13] != ':' ||
        !digits(14, 2, mi) || s[16] != ':' || !digits(17, 2, sec)) {
        return bad();
    }
    static constexpr int kDays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    if (mo < 1 || mo > 12 || d < 1 || d > kDays[mo - 1] || (mo == 2 && d == 29 && !leap) ||
        h > 23 || mi > 59 || sec > 60) {
        return bad();
    }
    std::size_t i = 19;
    if (i < s.size() && s[i] == '.') {
        ++i;
        std::size_t start = i;
        while (i < s.size() && s[i] >= '0' && s[i] <= '9') {
            ++i;
        }
        if (i == start) {
            return bad();
        }
    }
    int offset = 0;
    if (i < s.size() && (s[i] == 'Z' || s[i] == 'z') && i + 1 == s.size()) {
        offset = 0;
    } else if (i + 6 == s.size() && (s[i] == '+' || s[i] == '-') && s[i + 3] == ':') {
        int oh = 0, om = 0;
        if (!digits(i + 1, 2, oh) || !digits(i + 4, 2, om) || oh > 23 || om > 59) {
            return bad();
        }
        offset = (oh * 60 + om) * 60 * (s[i] == '-' ? -1 : 1);
    } else {
        return bad();
    }
    std::tm tm{};
    tm.tm_year = y - 1900;
    tm.tm_mon = mo - 1;
    tm.tm_mday = d;
    tm.tm_hour = h;
    tm.tm_min = mi;
    tm.tm_sec = sec > 59 ? 59 : sec;
    const std::int64_t secs = static_cast<std::int64_t>(::timegm(&tm)) - offset;
    if (!fits_time_point(secs)) {
        return fail(ErrorCode::invalid_argument,
                    "'{}' is out of range: dates from 1677-09-22 to 2262-04-11 are accepted", s);
    }
    return from_unix_seconds(secs);
}

}  // namespace selo::sepbox
