#include "sepbox/smtp.hpp"

#include <algorithm>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/streambuf.hpp>
#include <boost/asio/write.hpp>
#include <fmt/format.h>

#include "core/log.hpp"

namespace selo::sepbox {
namespace asio = boost::asio;
using tcp = asio::ip::tcp;

namespace {

std::string rfc5322_date(TimePoint t) {
    static constexpr const char* kDays[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
    static constexpr const char* kMonths[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                              "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    std::time_t secs = static_cast<std::time_t>(unix_seconds(t));
    std::tm tm{};
    ::gmtime_r(&secs, &tm);
    return fmt::format("{}, {:02} {} {:04} {:02}:{:02}:{:02} +0000", kDays[tm.tm_wday], tm.tm_mday,
                       kMonths[tm.tm_mon], tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
}

bool is_ascii_printable(std::string_view s) {
    return std::all_of(s.begin(), s.end(), [](char c) { return c >= 0x20 && c < 0x7F; });
}

// RFC 2047 §4.1 "B" encoded-words, split so each stays within 75 characters and no UTF-8
// sequence is cut.
std::string encode_header_text(std::string_view text) {
    if (is_ascii_printable(text)) {
        return std::string(text);
    }
    std::string out;
    std::size_t i = 0;
    while (i < text.size()) {
        std::size_t end = std::min(text.size(), i + 45);  // 45 bytes -> 60 base64 characters
        while (end < text.size() && (static_cast<unsigned char>(text[end]) & 0xC0) == 0x80) {
            --end;
        }
        if (!out.empty()) {
            out += "\r\n ";
        }
        out += "=?UTF-8?B?" + base64_encode(as_bytes(text.substr(i, end - i))) + "?=";
        i = end;
    }
    return out;
}

// An SMTP conversation with a deadline on every step (async operations run for at most the
// timeout; a step that does not finish closes the connection).
class Conversation {
public:
    Conversation(const SmtpOptions& o) : options_(o), socket_(io_) {}

    Result<void> connect() {
        tcp::resolver resolver(io_);
        boost::system::error_code ec;
        auto endpoints = resolver.resolve(options_.host, std::to_string(options_.port), ec);
        if (ec) {
            return fail(ErrorCode::unavailable, "SMTP relay {}: {}", options_.host, ec.message());
        }
        bool done = false;
        asio::async_connect(socket_, endpoints, [&](boost::system::error_code e, const tcp::endpoint&) {
            ec = e;
            done = true;
        });
        SELO_TRY_VOID(wait(done, "connecting"));
        if (ec) {
            return fail(ErrorCode::unavailable, "SMTP relay {}:{}: {}", options_.host, options_.port,
                        ec.message());
        }
        return {};
    }

    // Reads one reply (possibly multi-line, RFC 5321 §4.2.1) and checks its code class.
    Result<std::string> expect(int want, std::string_view step) {
        std::string reply;
        for (;;) {
            boost::system::error_code ec;
            bool done = false;
            asio::async_read_until(socket_, buffer_, "\r\n", [&](boost::system::error_code e, std::size_t) {
                ec = e;
                done = true;
            });
            SELO_TRY_VOID(wait(done, step));
            if (ec) {
                return fail(ErrorCode::unavailable, "SMTP {}: {}", step, ec.message());
            }
            std::istream in(&buffer_);
            std::string line;
            std::getline(in, line);
            if (!line.empty() && line.back() == '\r') {
                line.pop_back();
            }
            if (line.size() < 3 || reply.size() > 64 * 1024) {
                return fail(ErrorCode::unavailable, "SMTP {}: malformed reply '{}'", step, line);
            }
            reply += line + "\n";
            if (line.size() == 3 || line[3] != '-') {
                int code = std::atoi(line.substr(0, 3).c_str());
                if (code / 100 != want / 100) {
                    return fail(code >= 500 ? ErrorCode::invalid_argument : ErrorCode::unavailable,
                                "SMTP {}: the relay answered {}", step, line);
                }
                return reply;
            }
        }
    }

    Result<void> send(std::string_view data, std::string_view step) {
        boost::system::error_code ec;
        bool done = false;
        asio::async_write(socket_, asio::buffer(data.data(), data.size()),
                          [&](boost::system::error_code e, std::size_t) {
                              ec = e;
                              done = true;
                          });
        SELO_TRY_VOID(wait(done, step));
        if (ec) {
            return fail(ErrorCode::unavailable, "SMTP {}: {}", step, ec.message());
        }
        return {};
    }

    Result<std::string> command(std::string_view line, int want, std::string_view step) {
        SELO_TRY_VOID(send(fmt::format("{}\r\n", line), step));
        return expect(want, step);
    }

private:
    Result<void> wait(bool& done, std::string_view step) {
        io_.restart();
        io_.run_for(options_.timeout);
        if (!done) {
            boost::system::error_code ignored;
            socket_.close(ignored);
            io_.restart();
            io_.run();
            return fail(ErrorCode::unavailable, "SMTP {}: no answer within {} s", step,
                        options_.timeout.count());
        }
        return {};
    }

    const SmtpOptions& options_;
    asio::io_context io_;
    tcp::socket socket_;
    asio::streambuf buffer_;
};

}  // namespace

bool plausible_address(std::string_view a) noexcept {
    auto at = a.rfind('@');
    if (at == std::string_view::npos || at == 0 || at + 1 == a.size() || a.size() > 254) {
        return false;
    }
    return std::all_of(a.begin(), a.end(), [](char c) {
        return c > 0x20 && c < 0x7F && c != '<' && c != '>' && c != '(' && c != ')' && c != ',' &&
               c != ';' && c != '"' && c != '\\';
    });
}

std::string dot_stuff(std::string_view text) {
    std::string out;
    out.reserve(text.size() + text.size() / 64 + 8);
    bool line_start = true;
    for (std::size_t i = 0; i < text.size(); ++i) {
        char c = text[i];
        if (c == '\r' && i + 1 < text.size() && text[i + 1] == '\n') {
            continue;  // the LF that follows ends the line
        }
        if (c == '\n' || c == '\r') {
            out += "\r\n";
            line_start = true;
            continue;
        }
        if (line_start && c == '.') {
            out += '.';  // RFC 5321 §4.5.2
        }
        out += c;
        line_start = false;
    }
    return out;
}

std::string smtp_data(const SmtpOptions& o, const MailEnvelope& mail, TimePoint date,
                      std::string_view message_id) {
    std::string domain = o.from.substr(o.from.rfind('@') + 1);
    std::string body64;
    std::string encoded = base64_encode(as_bytes(mail.body));
    for (std::size_t i = 0; i < encoded.size(); i += 76) {
        body64 += encoded.substr(i, 76) + "\n";
    }
    std::string message = fmt::format(
        "From: {}\n"
        "To: {}\n"
        "Subject: {}\n"
        "Date: {}\n"
        "Message-ID: <{}@{}>\n"
        "Auto-Submitted: auto-generated\n"
        "MIME-Version: 1.0\n"
        "Content-Type: text/plain; charset=utf-8\n"
        "Content-Transfer-Encoding: base64\n"
        "\n"
        "{}",
        o.from, mail.to, encode_header_text(mail.subject), rfc5322_date(date), message_id, domain,
        body64);
    std::string out = dot_stuff(message);
    if (!out.ends_with("\r\n")) {
        out += "\r\n";
    }
    out += ".\r\n";
    return out;
}

Result<void> SmtpTransport::send(const MailEnvelope& mail) {
    if (!plausible_address(mail.to)) {
        return fail(ErrorCode::invalid_argument, "'{}' is not an e-mail address", mail.to);
    }
    if (!plausible_address(options_.from)) {
        return fail(ErrorCode::invalid_argument, "[smtp] from '{}' is not an e-mail address", options_.from);
    }
    Conversation c(options_);
    SELO_TRY_VOID(c.connect());
    SELO_TRY(c.expect(220, "greeting"));
    SELO_TRY(c.command(fmt::format("EHLO {}", options_.helo_name), 250, "EHLO"));
    SELO_TRY(c.command(fmt::format("MAIL FROM:<{}>", options_.from), 250, "MAIL FROM"));
    SELO_TRY(c.command(fmt::format("RCPT TO:<{}>", mail.to), 250, "RCPT TO"));
    SELO_TRY(c.command("DATA", 354, "DATA"));
    std::string id = hex_encode(rng_.bytes(12));
    SELO_TRY_VOID(c.send(smtp_data(options_, mail, clock_.now(), id), "message"));
    SELO_TRY(c.expect(250, "end of data"));
    // The relay has the mail; a failed QUIT changes nothing.
    (void)c.command("QUIT", 221, "QUIT");
    return {};
}

Result<std::size_t> NoticeDispatcher::run_once(std::size_t limit) {
    const TimePoint now = clock_.now();
    auto due = SELO_TRY(repo_.due_notices(now, limit));
    std::size_t sent = 0;
    for (const auto& n : due) {
        // Held for a while, so another process skips it; a crash before the result is recorded
        // lets the lease run out and the notice go again (at least once, never lost).
        if (!SELO_TRY(repo_.claim_notice(n.id, clock_.now(), clock_.now() + options_.lease))) {
            continue;
        }
        auto r = transport_.send({n.to_address, n.subject, n.body});
        if (r) {
            SELO_TRY_VOID(repo_.notice_sent(n.id, clock_.now()));
            ++sent;
            continue;
        }
        int attempts = n.attempts + 1;
        // A permanent refusal (5xx, a bad address) is not retried.
        bool permanent = r.error().code == ErrorCode::invalid_argument;
        std::optional<TimePoint> next;
        if (!permanent && static_cast<unsigned>(attempts) < options_.max_attempts) {
            auto delay = options_.first_retry * (1LL << std::min(attempts - 1, 20));
            next = clock_.now() + std::min<std::chrono::seconds>(delay, options_.max_retry);
        }
        log::warn("SEPBox notice {} to {}: {}{}", n.id, n.to_address, r.error().message,
                  next ? fmt::format(" (attempt {}, retrying at {})", attempts, format_time(*next))
                       : " (given up)");
        SELO_TRY_VOID(repo_.notice_failed(n.id, attempts, next, r.error().message));
    }
    return sent;
}

}  // namespace selo::sepbox
