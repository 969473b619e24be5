#pragma once
// New-mail notices by e-mail: a small SMTP client (RFC 5321) over Boost.Asio, and the outbox
// dispatcher that sends what the outbox holds and retries failures with back-off.

#include <chrono>
#include <string>
#include <vector>

#include "core/clock.hpp"
#include "core/error.hpp"
#include "core/rng.hpp"
#include "sepbox/message.hpp"

namespace selo::sepbox {

struct SmtpOptions {
    std::string host = "127.0.0.1";
    std::uint16_t port = 25;
    std::string from = "sepbox@selo.invalid";  // envelope sender and From:
    std::string helo_name = "selo.invalid";     // our name in EHLO
    std::chrono::seconds timeout{30};
};

struct MailEnvelope {
    std::string to;
    std::string subject;  // UTF-8; encoded as an RFC 2047 encoded-word when not ASCII
    std::string body;     // UTF-8 plain text
};

class MailTransport {
public:
    virtual ~MailTransport() = default;
    // Hands the mail to the relay; success means the relay accepted it (250 after DATA).
    virtual Result<void> send(const MailEnvelope& mail) = 0;
};

// RFC 5321 §3.3: EHLO, MAIL FROM, RCPT TO, DATA (dot-stuffed), QUIT, one connection per mail.
class SmtpTransport final : public MailTransport {
public:
    SmtpTransport(SmtpOptions options, const Clock& clock, Rng& rng)
        : options_(std::move(options)), clock_(clock), rng_(rng) {}
    Result<void> send(const MailEnvelope& mail) override;

private:
    SmtpOptions options_;
    const Clock& clock_;
    Rng& rng_;
};

// The message as transmitted after DATA: RFC 5322 header fields, a base64 UTF-8 text body,
// CRLF line ends, dot-stuffed (RFC 5321 §4.5.2), ending with CRLF "." CRLF.
[[nodiscard]] std::string smtp_data(const SmtpOptions& options, const MailEnvelope& mail,
                                    TimePoint date, std::string_view message_id);
// Dot-stuffing alone: a line starting with "." gets another one; line ends become CRLF.
[[nodiscard]] std::string dot_stuff(std::string_view text);
// True for an address Selo can put in RCPT TO: local@domain, printable ASCII, no spaces or <>.
[[nodiscard]] bool plausible_address(std::string_view address) noexcept;

struct DispatchOptions {
    unsigned max_attempts = 8;
    std::chrono::seconds first_retry{60};
    std::chrono::seconds max_retry{std::chrono::hours(6)};
    std::chrono::seconds lease{std::chrono::minutes(5)};  // longer than an SMTP conversation
};

// Sends due notices from the outbox: sent ones are marked, failed ones rescheduled with
// exponential back-off until max_attempts, then given up (and logged).
class NoticeDispatcher {
public:
    NoticeDispatcher(SepboxRepository& repo, MailTransport& transport, const Clock& clock,
                     DispatchOptions options = {})
        : repo_(repo), transport_(transport), clock_(clock), options_(options) {}
    // One pass; answers how many were sent.
    [[nodiscard]] Result<std::size_t> run_once(std::size_t limit = 100);

private:
    SepboxRepository& repo_;
    MailTransport& transport_;
    const Clock& clock_;
    DispatchOptions options_;
};

}  // namespace selo::sepbox
