#include "sepbox/service.hpp"

#include <algorithm>
#include <set>

#include <fmt/format.h>

#include "core/log.hpp"
#include "crypto/aead.hpp"
#include "crypto/digest.hpp"
#include "sepbox/sanitise.hpp"

namespace selo::sepbox {
namespace {

constexpr std::string_view kSystemSender = "selo";
constexpr std::size_t kMaxFilenameBytes = 255;
constexpr std::size_t kMaxReferenceChars = 200;

// Number of code points of well-formed UTF-8 (RFC 3629), or nullopt.
std::optional<std::size_t> utf8_length(std::string_view s) {
    std::size_t count = 0;
    for (std::size_t i = 0; i < s.size(); ++count) {
        auto c = static_cast<unsigned char>(s[i]);
        std::size_t n = c < 0x80 ? 1 : (c >> 5) == 0x6 ? 2 : (c >> 4) == 0xE ? 3 : (c >> 3) == 0x1E ? 4 : 0;
        if (n == 0 || i + n > s.size()) {
            return std::nullopt;
        }
        std::uint32_t cp = n == 1 ? c : n == 2 ? (c & 0x1F) : n == 3 ? (c & 0x0F) : (c & 0x07);
        for (std::size_t k = 1; k < n; ++k) {
            auto cc = static_cast<unsigned char>(s[i + k]);
            if ((cc & 0xC0) != 0x80) {
                return std::nullopt;
            }
            cp = (cp << 6) | (cc & 0x3F);
        }
        static constexpr std::uint32_t kMin[] = {0, 0, 0x80, 0x800, 0x10000};
        if (cp < kMin[n] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) {
            return std::nullopt;
        }
        i += n;
    }
    return count;
}

// The first code point of well-formed UTF-8 `s` that is a bidirectional or invisible formatting
// control (Unicode TR36 §2.2: "factura<U+202E>fdp.exe" displays as "facturaexe.pdf"), or 0.
char32_t invisible_format(std::string_view s) {
    for (std::size_t i = 0; i < s.size();) {
        auto c = static_cast<unsigned char>(s[i]);
        std::size_t n = c < 0x80 ? 1 : (c >> 5) == 0x6 ? 2 : (c >> 4) == 0xE ? 3 : 4;
        char32_t cp = n == 1 ? c : n == 2 ? (c & 0x1F) : n == 3 ? (c & 0x0F) : (c & 0x07);
        for (std::size_t k = 1; k < n && i + k < s.size(); ++k) {
            cp = (cp << 6) | (static_cast<unsigned char>(s[i + k]) & 0x3F);
        }
        if (cp == 0x00ad || cp == 0x061c || cp == 0x180e || (cp >= 0x200b && cp <= 0x200f) ||
            (cp >= 0x202a && cp <= 0x202e) || (cp >= 0x2060 && cp <= 0x2064) ||
            (cp >= 0x2066 && cp <= 0x2069) || cp == 0xfeff || (cp >= 0xfff9 && cp <= 0xfffb)) {
            return cp;
        }
        i += n;
    }
    return 0;
}

bool has_control(std::string_view s, bool allow_line_breaks) {
    return std::any_of(s.begin(), s.end(), [&](char c) {
        auto u = static_cast<unsigned char>(c);
        if (allow_line_breaks && (c == '\n' || c == '\r' || c == '\t')) {
            return false;
        }
        return u < 0x20 || u == 0x7F;
    });
}

std::string trimmed(std::string_view s) {
    auto b = s.find_first_not_of(" \t\r\n");
    if (b == std::string_view::npos) {
        return {};
    }
    auto e = s.find_last_not_of(" \t\r\n");
    return std::string(s.substr(b, e - b + 1));
}

std::string lower_ascii(std::string_view s) {
    std::string out(s);
    for (auto& c : out) {
        if (c >= 'A' && c <= 'Z') {
            c = static_cast<char>(c - 'A' + 'a');
        }
    }
    return out;
}

// RFC 6838 §4.2: type "/" subtype, restricted-name characters, optional parameters.
bool valid_media_type(std::string_view m) {
    std::string_view essence = m.substr(0, m.find(';'));
    auto slash = essence.find('/');
    if (slash == std::string_view::npos || slash == 0 || slash + 1 == essence.size() || m.size() > 127) {
        return false;
    }
    auto ok = [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
               std::string_view("!#$&-^_.+").find(c) != std::string_view::npos;
    };
    for (std::size_t i = 0; i < essence.size(); ++i) {
        if (i != slash && !ok(essence[i])) {
            return false;
        }
    }
    return !has_control(m, false);
}

std::string part_aad(std::string_view message_id, std::string_view part) {
    return fmt::format("selo/sepbox/part/v1/{}/{}", message_id, part);
}

constexpr std::string_view kTextPlain = "text/plain; charset=utf-8";
constexpr std::string_view kTextHtml = "text/html; charset=utf-8";

}  // namespace

SepboxService::SepboxService(SepboxRepository& repo, account::AccountRepository& accounts,
                             AuditTrail& audit, EvidenceMaker& evidence,
                             const crypto::MasterKey& master, const Clock& clock, Rng& rng,
                             SepboxOptions options)
    : repo_(repo), accounts_(accounts), audit_(audit), evidence_(evidence), clock_(clock), rng_(rng),
      options_(std::move(options)) {
    auto k = master.derive("selo/sepbox-mailbox/v1");
    if (!k) {
        throw std::runtime_error("deriving the SEPBox mailbox key: " + k.error().message);
    }
    mailbox_kek_ = std::move(*k);
}

std::string SepboxService::new_id(std::string_view prefix) {
    return fmt::format("{}{}", prefix, hex_encode(rng_.bytes(16)));
}

Result<SecretBytes> SepboxService::mailbox_key(std::string_view account_id, bool create) {
    std::string aad = fmt::format("selo/sepbox/mailbox/v1/{}", account_id);
    auto box = SELO_TRY(repo_.find_mailbox(account_id));
    if (!box) {
        if (!create) {
            return fail(ErrorCode::not_found, "this account has no SEPBox mailbox");
        }
        SecretBytes key(rng_.bytes(crypto::kAeadKeySize));
        Mailbox m{std::string(account_id),
                  SELO_TRY(crypto::aead_seal(mailbox_kek_.view(), key.view(), as_bytes(aad), rng_)),
                  clock_.now()};
        SELO_TRY_VOID(repo_.insert_mailbox(m));
        return key;
    }
    auto key = crypto::aead_open(mailbox_kek_.view(), box->sealed_key, as_bytes(aad));
    if (!key) {
        return fail(ErrorCode::internal, "the mailbox key of {} does not open: {}", account_id,
                    key.error().message);
    }
    return std::move(*key);
}

Result<void> SepboxService::ensure_mailbox(std::string_view account_id) {
    auto account = SELO_TRY(accounts_.find_by_id(account_id));
    if (!account) {
        return fail(ErrorCode::not_found, "no account {}", account_id);
    }
    return repo_.transaction([&]() -> Result<void> {
        SELO_TRY(mailbox_key(account_id, true));
        return {};
    });
}

Result<std::string> SepboxService::post(std::string_view account_id, const SystemMessage& message) {
    Submission s;
    s.sender_id = std::string(kSystemSender);
    s.recipients = {std::string(account_id)};
    s.subject = message.subject;
    s.body_text = message.body_text;
    s.category = SELO_TRY(category_from_name(message.category));
    s.sender_reference = message.sender_reference;
    auto results = SELO_TRY(submit(s));
    if (results.size() != 1 || !results[0].accepted) {
        return fail(ErrorCode::not_found, "cannot post into the mailbox of {}: {}", account_id,
                    results.empty() ? "no result" : results[0].reason);
    }
    return results[0].message_id;
}

Result<std::string> SepboxService::sender_name(std::string_view sender_id) {
    if (sender_id == kSystemSender) {
        return options_.system_sender_name;
    }
    auto sender = SELO_TRY(accounts_.find_by_id(sender_id));
    if (!sender) {
        return fail(ErrorCode::not_found, "no sender account {}", sender_id);
    }
    return sender->person.latin_name.empty() || sender->person.latin_name == sender->person.name
               ? sender->person.name
               : fmt::format("{} ({})", sender->person.name, sender->person.latin_name);
}

Result<std::vector<RecipientResult>> SepboxService::submit(const Submission& in) {
    // The whole submission first: a bad one is refused before anything is written.
    Submission s = in;
    s.subject = trimmed(s.subject);
    if (s.subject.empty()) {
        return fail(ErrorCode::invalid_argument, "'subject' must not be empty");
    }
    auto subject_len = utf8_length(s.subject);
    if (!subject_len || has_control(s.subject, false)) {
        return fail(ErrorCode::malformed, "'subject' must be UTF-8 text on one line");
    }
    if (*subject_len > options_.max_subject_chars) {
        return fail(ErrorCode::invalid_argument, "'subject' is longer than {} characters",
                    options_.max_subject_chars);
    }
    if (s.body_text.empty() && s.body_html.empty()) {
        return fail(ErrorCode::invalid_argument, "a message needs 'body_text' or 'body_html'");
    }
    for (const auto* body : {&s.body_text, &s.body_html}) {
        if (!utf8_length(*body) || body->find('\0') != std::string::npos) {
            return fail(ErrorCode::malformed, "message bodies must be UTF-8 text");
        }
    }
    if (s.body_text.empty()) {
        s.body_text = html_to_text(s.body_html);
    }
    if (!utf8_length(s.sender_reference) || has_control(s.sender_reference, false) ||
        *utf8_length(s.sender_reference) > kMaxReferenceChars) {
        return fail(ErrorCode::invalid_argument,
                    "'sender_reference' must be UTF-8 text of at most {} characters on one line",
                    kMaxReferenceChars);
    }
    const TimePoint now = clock_.now();
    if (s.reply_by && *s.reply_by <= now) {
        return fail(ErrorCode::invalid_argument, "'reply_by' ({}) is not in the future",
                    format_time(*s.reply_by));
    }
    if (s.reply_by && s.category != Category::official_letter) {
        return fail(ErrorCode::invalid_argument, "'reply_by' applies to official letters only");
    }
    if (s.recipients.empty()) {
        return fail(ErrorCode::invalid_argument, "name at least one recipient");
    }
    if (s.recipients.size() > options_.max_recipients) {
        return fail(ErrorCode::too_large, "at most {} recipients per submission (got {})",
                    options_.max_recipients, s.recipients.size());
    }
    if (s.attachments.size() > options_.max_attachments) {
        return fail(ErrorCode::too_large, "at most {} attachments per message (got {})",
                    options_.max_attachments, s.attachments.size());
    }
    std::uint64_t total = s.subject.size() + s.body_text.size() + s.body_html.size();
    for (std::size_t k = 0; k < s.attachments.size(); ++k) {
        auto& a = s.attachments[k];
        a.filename = trimmed(a.filename);
        if (a.filename.empty() || a.filename.size() > kMaxFilenameBytes || !utf8_length(a.filename) ||
            has_control(a.filename, false) || a.filename.find_first_of("/\\") != std::string::npos ||
            a.filename == "." || a.filename == "..") {
            return fail(ErrorCode::invalid_argument,
                        "attachment {}: 'filename' must be a file name (UTF-8, no / or \\, at most "
                        "{} bytes)",
                        k + 1, kMaxFilenameBytes);
        }
        if (char32_t cp = invisible_format(a.filename); cp != 0) {
            return fail(ErrorCode::invalid_argument,
                        "attachment {}: 'filename' holds an invisible formatting character "
                        "(U+{:04X}), which could make it display as another name or type",
                        k + 1, static_cast<std::uint32_t>(cp));
        }
        if (a.media_type.empty()) {
            a.media_type = "application/octet-stream";
        }
        if (!valid_media_type(a.media_type)) {
            return fail(ErrorCode::invalid_argument, "attachment {}: '{}' is not a media type", k + 1,
                        a.media_type);
        }
        if (a.content.empty()) {
            return fail(ErrorCode::invalid_argument, "attachment {} ({}) is empty", k + 1, a.filename);
        }
        total += a.content.size();
    }
    if (total > options_.max_message_bytes) {
        return fail(ErrorCode::too_large, "the message is {} bytes; at most {} bytes are accepted",
                    total, options_.max_message_bytes);
    }
    // Every recipient gets their own encrypted copy: bound what one call may write.
    if (total * s.recipients.size() > options_.max_submission_bytes) {
        return fail(ErrorCode::too_large,
                    "{} recipients × {} bytes is more than {} bytes in one submission: send it in "
                    "smaller batches",
                    s.recipients.size(), total, options_.max_submission_bytes);
    }
    std::string name = SELO_TRY(sender_name(s.sender_id));
    // Issue or renew the seal outside the transaction (its key must not roll back with a message).
    SELO_TRY_VOID(evidence_.seal().ensure_current());

    std::vector<RecipientResult> results;
    SELO_TRY_VOID(repo_.transaction([&]() -> Result<void> {
        results = SELO_TRY(deliver(s, name));
        return {};
    }));
    std::size_t accepted = std::count_if(results.begin(), results.end(),
                                         [](const auto& r) { return r.accepted; });
    if (auto a = audit_.record({s.sender_id, "sepbox.submit", s.sender_reference,
                                fmt::format("{} of {} recipients accepted, category {}", accepted,
                                            results.size(), category_name(s.category))});
        !a) {
        log::error("audit: {}", a.error().message);
    }
    return results;
}

EvidenceFacts SepboxService::facts_of(const StoredMessage& m, Event e, TimePoint at) const {
    EvidenceFacts f;
    f.event = e;
    f.message_id = m.id;
    f.at = at;
    f.sender_id = m.sender_id;
    f.sender_name = m.sender_name;
    f.recipient_id = m.recipient_id;
    f.category = m.category;
    f.sender_reference = m.sender_reference;
    f.reply_by = m.reply_by;
    for (const auto& p : m.parts) {
        f.parts.push_back({p.name, p.size, p.sha256});
    }
    return f;
}

Result<std::vector<RecipientResult>> SepboxService::deliver(const Submission& s,
                                                            std::string_view sender) {
    const TimePoint now = clock_.now();
    // The parts in plain text, with their digests: the same for every recipient.
    struct PlainPart {
        std::string name;
        std::string media_type;
        std::string filename;
        ByteView content;
    };
    std::vector<PlainPart> plain;
    plain.push_back({"subject", std::string(kTextPlain), {}, as_bytes(s.subject)});
    plain.push_back({"body_text", std::string(kTextPlain), {}, as_bytes(s.body_text)});
    if (!s.body_html.empty()) {
        plain.push_back({"body_html", std::string(kTextHtml), {}, as_bytes(s.body_html)});
    }
    for (std::size_t k = 0; k < s.attachments.size(); ++k) {
        const auto& a = s.attachments[k];
        plain.push_back({fmt::format("attachment/{}", k + 1), a.media_type, a.filename, a.content});
    }
    std::vector<Bytes> digests;
    for (const auto& p : plain) {
        digests.push_back(crypto::sha256(p.content));
    }

    std::vector<RecipientResult> results;
    std::set<std::string> seen;
    for (const auto& recipient : s.recipients) {
        RecipientResult r;
        r.recipient_id = recipient;
        r.message_id = new_id("msg_");
        StoredMessage m;
        m.id = r.message_id;
        m.recipient_id = recipient;
        m.sender_id = s.sender_id;
        m.sender_name = std::string(sender);
        m.category = s.category;
        m.sender_reference = s.sender_reference;
        m.reply_by = s.reply_by;
        m.received_at = now;
        for (std::size_t k = 0; k < plain.size(); ++k) {
            StoredPart part;
            part.position = static_cast<int>(k);
            part.name = plain[k].name;
            part.media_type = plain[k].media_type;
            part.size = plain[k].content.size();
            part.sha256 = digests[k];
            m.parts.push_back(std::move(part));
        }

        // Who may receive: an existing mailbox, or a person or institution (their box is opened
        // on first mail). Selo itself may post to any account.
        std::optional<account::Account> account;
        if (!seen.insert(recipient).second) {
            r.reason = "this recipient is listed more than once; the first entry was delivered";
        } else if (account = SELO_TRY(accounts_.find_by_id(recipient)); !account) {
            r.reason = "no account with this id";
        } else if (s.sender_id != kSystemSender && !account->has_role(account::Role::citizen) &&
                   !account->has_role(account::Role::institution) &&
                   !SELO_TRY(repo_.find_mailbox(recipient))) {
            r.reason = "this account has no SEPBox mailbox";
        }
        if (!r.reason.empty()) {
            auto f = facts_of(m, Event::submission_rejection, now);
            f.evidence_id = new_id("ev_");
            f.reason = r.reason;
            auto ev = SELO_TRY(evidence_.make(f));
            SELO_TRY_VOID(repo_.insert_evidence(ev));
            r.evidence_ids.push_back(ev.id);
            results.push_back(std::move(r));
            continue;
        }

        auto box_key = SELO_TRY(mailbox_key(recipient, true));
        SecretBytes key(rng_.bytes(crypto::kAeadKeySize));
        m.sealed_key = SELO_TRY(crypto::aead_seal(
            box_key.view(), key.view(), as_bytes(fmt::format("selo/sepbox/message-key/v1/{}", m.id)), rng_));
        for (std::size_t k = 0; k < plain.size(); ++k) {
            auto& part = m.parts[k];
            part.sealed = SELO_TRY(crypto::aead_seal(key.view(), plain[k].content,
                                                     as_bytes(part_aad(m.id, part.name)), rng_));
            if (!plain[k].filename.empty()) {
                part.sealed_filename = SELO_TRY(crypto::aead_seal(
                    key.view(), as_bytes(plain[k].filename),
                    as_bytes(part_aad(m.id, part.name + "/filename")), rng_));
            }
        }
        SELO_TRY_VOID(repo_.insert_message(m));
        // Accepted from the sender, then in the recipient's box: both happen in this transaction.
        for (Event e : {Event::submission_acceptance, Event::content_consignment}) {
            auto f = facts_of(m, e, now);
            f.evidence_id = new_id("ev_");
            auto ev = SELO_TRY(evidence_.make(f));
            SELO_TRY_VOID(repo_.insert_evidence(ev));
            r.evidence_ids.push_back(ev.id);
        }
        if (!account->person.email.empty()) {
            auto text = new_mail_notice(account->person.name, now, options_.public_url);
            SELO_TRY_VOID(repo_.insert_notice(
                {0, m.id, account->person.email, text.subject, text.body, 0, now, now}));
        }
        r.accepted = true;
        results.push_back(std::move(r));
    }
    return results;
}

Result<SepboxService::Plain> SepboxService::load(std::string_view account_id,
                                                 std::string_view message_id) {
    auto m = SELO_TRY(repo_.find_message(message_id));
    // Someone else's message is indistinguishable from none.
    if (!m || m->recipient_id != account_id) {
        return fail(ErrorCode::not_found, "no message {} in your mailbox", message_id);
    }
    auto box_key = SELO_TRY(mailbox_key(account_id, false));
    auto key = crypto::aead_open(box_key.view(), m->sealed_key,
                                 as_bytes(fmt::format("selo/sepbox/message-key/v1/{}", m->id)));
    if (!key) {
        return fail(ErrorCode::internal, "the key of message {} does not open", m->id);
    }
    return Plain{std::move(*m), std::move(*key)};
}

Result<std::string> SepboxService::open_part(const Plain& m, const StoredPart& part) {
    Bytes sealed = part.sealed;
    if (sealed.empty()) {
        auto stored = SELO_TRY(repo_.part_content(m.stored.id, part.position));
        if (!stored) {
            return fail(ErrorCode::internal, "part {} of message {} is missing", part.name, m.stored.id);
        }
        sealed = std::move(*stored);
    }
    auto plain = crypto::aead_open(m.key.view(), sealed, as_bytes(part_aad(m.stored.id, part.name)));
    if (!plain) {
        return fail(ErrorCode::internal, "part {} of message {} does not open", part.name, m.stored.id);
    }
    return std::string(as_chars(plain->view()));
}

Result<MessageView> SepboxService::view(const Plain& m, bool with_bodies) {
    const StoredMessage& s = m.stored;
    MessageView v;
    v.id = s.id;
    v.category = s.category;
    v.sender_id = s.sender_id;
    v.sender_name = s.sender_name;
    v.sender_reference = s.sender_reference;
    v.reply_by = s.reply_by;
    v.received_at = s.received_at;
    v.read = s.read_at.has_value();
    v.archived = s.archived_at.has_value();
    v.decision = s.decision;
    for (const auto& p : s.parts) {
        if (p.name == "subject") {
            v.subject = SELO_TRY(open_part(m, p));
        } else if (p.name == "body_text" && with_bodies) {
            v.body_text = SELO_TRY(open_part(m, p));
        } else if (p.name == "body_html" && with_bodies) {
            v.body_html = sanitise_html(SELO_TRY(open_part(m, p)));
        } else if (p.name.starts_with("attachment/")) {
            AttachmentInfo a;
            a.index = std::stoi(p.name.substr(11));
            auto filename = crypto::aead_open(m.key.view(), p.sealed_filename,
                                              as_bytes(part_aad(s.id, p.name + "/filename")));
            if (!filename) {
                return fail(ErrorCode::internal, "the file name of {} in {} does not open", p.name, s.id);
            }
            a.filename = std::string(as_chars(filename->view()));
            a.media_type = p.media_type;
            a.size = p.size;
            a.sha256_hex = hex_encode(p.sha256);
            v.attachments.push_back(std::move(a));
        }
    }
    return v;
}

Result<void> SepboxService::set_delegate(EvidenceFacts& f, std::string_view acting_id) {
    if (acting_id.empty() || acting_id == f.recipient_id) {
        return {};
    }
    auto who = SELO_TRY(accounts_.find_by_id(acting_id));
    if (!who) {
        return fail(ErrorCode::internal, "the acting account {} is missing", acting_id);
    }
    f.delegate_id = who->id;
    f.delegate_name = who->person.name;
    return {};
}

void SepboxService::audit_delegate(std::string_view acting_id, std::string_view action,
                                   const StoredMessage& m) {
    if (acting_id.empty() || acting_id == m.recipient_id) {
        return;
    }
    if (auto a = audit_.record({std::string(acting_id), std::string(action), m.id,
                                fmt::format("on behalf of {}", m.recipient_id)});
        !a) {
        log::error("audit: {}", a.error().message);
    }
}

Result<void> SepboxService::hand_over(Plain& m, std::string_view acting_id) {
    if (m.stored.handed_over_at) {
        return {};
    }
    SELO_TRY_VOID(evidence_.seal().ensure_current());
    const TimePoint now = clock_.now();
    SELO_TRY_VOID(repo_.transaction([&]() -> Result<void> {
        if (!SELO_TRY(repo_.mark_handed_over(m.stored.id, now))) {
            return {};  // opened at the same moment elsewhere: that one recorded it
        }
        auto f = facts_of(m.stored, Event::content_handover, now);
        f.evidence_id = new_id("ev_");
        SELO_TRY_VOID(set_delegate(f, acting_id));
        auto ev = SELO_TRY(evidence_.make(f));
        return repo_.insert_evidence(ev);
    }));
    m.stored.handed_over_at = now;
    if (!m.stored.read_at) {
        m.stored.read_at = now;
    }
    return {};
}

Result<MessagePage> SepboxService::list(std::string_view account_id, const ListQuery& q) {
    if (q.page == 0 || q.per_page == 0 || q.per_page > 100) {
        return fail(ErrorCode::invalid_argument, "'page' starts at 1 and 'per_page' is 1 to 100");
    }
    if (q.search.size() > 200 || !utf8_length(q.search)) {
        return fail(ErrorCode::invalid_argument, "'q' must be UTF-8 text of at most 200 bytes");
    }
    MessagePage page;
    auto box = SELO_TRY(repo_.find_mailbox(account_id));
    if (!box) {
        return page;  // no mail yet
    }
    auto box_key = SELO_TRY(mailbox_key(account_id, false));
    // Subjects are encrypted: a search reads the whole (filtered) mailbox; a plain listing reads
    // one page.
    const std::size_t first = (q.page - 1) * q.per_page;
    const bool searching = !q.search.empty();
    auto rows = searching ? SELO_TRY(repo_.list_messages(account_id, q.filter))
                          : SELO_TRY(repo_.list_messages(account_id, q.filter, q.per_page, first));
    if (!searching) {
        page.total = SELO_TRY(repo_.count_messages(account_id, q.filter));
    }
    std::string needle = lower_ascii(q.search);
    std::size_t matched = 0;
    for (auto& row : rows) {
        auto key = crypto::aead_open(box_key.view(), row.sealed_key,
                                     as_bytes(fmt::format("selo/sepbox/message-key/v1/{}", row.id)));
        if (!key) {
            return fail(ErrorCode::internal, "the key of message {} does not open", row.id);
        }
        Plain m{std::move(row), std::move(*key)};
        auto v = SELO_TRY(view(m, false));
        if (!searching) {
            page.messages.push_back(std::move(v));
            continue;
        }
        if (lower_ascii(v.subject).find(needle) == std::string::npos &&
            lower_ascii(v.sender_name).find(needle) == std::string::npos) {
            continue;
        }
        if (matched >= first && page.messages.size() < q.per_page) {
            page.messages.push_back(std::move(v));
        }
        ++matched;
    }
    if (searching) {
        page.total = matched;
    }
    return page;
}

Result<MessageView> SepboxService::open(std::string_view account_id, std::string_view message_id,
                                       std::string_view acting_id) {
    auto m = SELO_TRY(load(account_id, message_id));
    SELO_TRY_VOID(hand_over(m, acting_id));
    audit_delegate(acting_id, "sepbox.open", m.stored);
    return view(m, true);
}

Result<Download> SepboxService::attachment(std::string_view account_id, std::string_view message_id,
                                           int index, std::string_view acting_id) {
    auto m = SELO_TRY(load(account_id, message_id));
    std::string name = fmt::format("attachment/{}", index);
    auto it = std::find_if(m.stored.parts.begin(), m.stored.parts.end(),
                           [&](const StoredPart& p) { return p.name == name; });
    if (it == m.stored.parts.end()) {
        return fail(ErrorCode::not_found, "message {} has no attachment {}", message_id, index);
    }
    SELO_TRY_VOID(hand_over(m, acting_id));
    audit_delegate(acting_id, "sepbox.download", m.stored);
    auto content = SELO_TRY(open_part(m, *it));
    auto filename = crypto::aead_open(m.key.view(), it->sealed_filename,
                                      as_bytes(part_aad(m.stored.id, it->name + "/filename")));
    if (!filename) {
        return fail(ErrorCode::internal, "the file name of {} in {} does not open", name, message_id);
    }
    return Download{std::string(as_chars(filename->view())), it->media_type, to_bytes(content)};
}

Result<MessageView> SepboxService::mark_read(std::string_view account_id, std::string_view message_id,
                                             bool read, std::string_view acting_id) {
    auto m = SELO_TRY(load(account_id, message_id));
    std::optional<TimePoint> at;
    if (read) {
        at = m.stored.read_at.value_or(clock_.now());
    }
    SELO_TRY_VOID(repo_.set_read(m.stored.id, at));
    audit_delegate(acting_id, read ? "sepbox.read" : "sepbox.unread", m.stored);
    m.stored.read_at = at;
    return view(m, false);
}

Result<MessageView> SepboxService::archive(std::string_view account_id, std::string_view message_id,
                                           bool archived, std::string_view acting_id) {
    auto m = SELO_TRY(load(account_id, message_id));
    std::optional<TimePoint> at;
    if (archived) {
        at = m.stored.archived_at.value_or(clock_.now());
    }
    SELO_TRY_VOID(repo_.set_archived(m.stored.id, at));
    audit_delegate(acting_id, archived ? "sepbox.archive" : "sepbox.unarchive", m.stored);
    m.stored.archived_at = at;
    return view(m, false);
}

Result<EvidenceRecord> SepboxService::decide(std::string_view account_id, std::string_view message_id,
                                             bool accept, std::string_view reason,
                                             std::string_view acting_id) {
    auto m = SELO_TRY(load(account_id, message_id));
    if (m.stored.category != Category::official_letter) {
        return fail(ErrorCode::conflict, "only official letters are accepted or rejected");
    }
    if (!utf8_length(reason) || has_control(reason, false) || *utf8_length(reason) > 500) {
        return fail(ErrorCode::invalid_argument, "'reason' must be one line of at most 500 characters");
    }
    const TimePoint now = clock_.now();
    if (m.stored.decision != Decision::none) {
        return fail(ErrorCode::conflict, "this letter was already {}",
                    m.stored.decision == Decision::accepted   ? "accepted"
                    : m.stored.decision == Decision::rejected ? "rejected"
                                                              : "past its reply-by time");
    }
    if (m.stored.reply_by && *m.stored.reply_by <= now) {
        return fail(ErrorCode::expired, "the reply-by time of this letter ({}) has passed",
                    format_time(*m.stored.reply_by));
    }
    SELO_TRY_VOID(hand_over(m, acting_id));
    EvidenceRecord ev;
    SELO_TRY_VOID(repo_.transaction([&]() -> Result<void> {
        if (!SELO_TRY(repo_.record_decision(m.stored.id, accept ? Decision::accepted : Decision::rejected, now))) {
            return fail(ErrorCode::conflict, "this letter was answered already");
        }
        auto f = facts_of(m.stored, accept ? Event::consignment_acceptance : Event::consignment_rejection, now);
        f.evidence_id = new_id("ev_");
        f.reason = std::string(reason);
        SELO_TRY_VOID(set_delegate(f, acting_id));
        ev = SELO_TRY(evidence_.make(f));
        return repo_.insert_evidence(ev);
    }));
    const bool delegated = !acting_id.empty() && acting_id != account_id;
    if (auto a = audit_.record({std::string(delegated ? acting_id : account_id),
                                accept ? "sepbox.accept" : "sepbox.reject", m.stored.id,
                                delegated ? fmt::format("on behalf of {}; {}", account_id, reason)
                                          : std::string(reason)});
        !a) {
        log::error("audit: {}", a.error().message);
    }
    return ev;
}

Result<std::size_t> SepboxService::expire_overdue() {
    const TimePoint now = clock_.now();
    auto due = SELO_TRY(repo_.undecided_past(now, 500));
    if (due.empty()) {
        return 0;
    }
    SELO_TRY_VOID(evidence_.seal().ensure_current());
    std::size_t done = 0;
    for (const auto& id : due) {
        SELO_TRY_VOID(repo_.transaction([&]() -> Result<void> {
            auto m = SELO_TRY(repo_.find_message(id));
            if (!m || !SELO_TRY(repo_.record_decision(id, Decision::expired, now))) {
                return {};
            }
            auto f = facts_of(*m, Event::acceptance_rejection_expiry, now);
            f.evidence_id = new_id("ev_");
            f.reason = fmt::format("no acceptance or rejection by {}", format_time(*m->reply_by));
            auto ev = SELO_TRY(evidence_.make(f));
            SELO_TRY_VOID(repo_.insert_evidence(ev));
            ++done;
            return {};
        }));
    }
    return done;
}

Result<std::vector<EvidenceRecord>> SepboxService::evidence(std::string_view sender_id,
                                                            std::string_view message_id) {
    auto all = SELO_TRY(repo_.evidence_for(message_id));
    if (all.empty() || all.front().sender_id != sender_id) {
        return fail(ErrorCode::not_found, "no message {} sent by you", message_id);
    }
    return all;
}

NoticeText new_mail_notice(std::string_view recipient_name, TimePoint received_at,
                           std::string_view public_url) {
    std::string url = std::string(public_url);
    while (!url.empty() && url.back() == '/') {
        url.pop_back();
    }
    url += "/sepbox";
    std::string when = format_time(received_at);
    NoticeText t;
    t.subject = "SEPBox: 您有新郵件 / Tem correio novo / You have new mail";
    t.body = fmt::format(
        "{name}：\n\n"
        "您的 SEPBox 電子郵箱於 {when} 收到一封新郵件。請登入 {url} 閱讀。\n\n"
        "Recebeu correio novo na sua caixa SEPBox em {when}. Inicie sessão em {url} para o ler.\n\n"
        "A new message arrived in your SEPBox on {when}. Sign in at {url} to read it.\n\n"
        "此電郵不包含郵件內容 / Este e-mail não contém a mensagem / This e-mail does not contain "
        "the message.\n",
        fmt::arg("name", recipient_name), fmt::arg("when", when), fmt::arg("url", url));
    return t;
}

}  // namespace selo::sepbox
