#include "account/enrolment.hpp"

#include <cctype>
#include <ctime>

#include "core/log.hpp"
#include "crypto/mac.hpp"
#include "otp/otp.hpp"

namespace selo::account {
namespace {

// No 0/O, 1/I/L: a code read off a screen is typed right the first time. 12 symbols from 32:
// 60 bits, more than enough against 5 guesses, and the stored form is keyed.
constexpr std::string_view kCodeAlphabet = "ABCDEFGHJKMNPQRSTUVWXYZ23456789";

std::string generate_code(Rng& rng) {
    std::string out;
    for (int i = 0; i < 12; ++i) {
        if (i > 0 && i % 4 == 0) {
            out.push_back('-');
        }
        out.push_back(kCodeAlphabet[rng.uniform(kCodeAlphabet.size())]);
    }
    return out;
}

// "abcd efgh-jkmn" -> "ABCDEFGHJKMN"
std::string normalise_code(std::string_view code) {
    std::string out;
    for (unsigned char c : code) {
        if (c == '-' || c == ' ') {
            continue;
        }
        out.push_back(static_cast<char>(std::toupper(c)));
    }
    return out;
}

std::string date_text(TimePoint t) {
    std::time_t tt = std::chrono::system_clock::to_time_t(t);
    std::tm tm{};
    ::gmtime_r(&tt, &tm);
    return fmt::format("{:04}-{:02}-{:02}", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday);
}

bool is_leap(int y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

constexpr std::chrono::days kYear{365};

}  // namespace

std::string_view activation_purpose_name(ActivationPurpose p) noexcept {
    switch (p) {
        case ActivationPurpose::enrolment: return "enrolment";
        case ActivationPurpose::lost_phone: return "lost-phone";
        case ActivationPurpose::forgotten_pin: return "forgotten-pin";
    }
    return "enrolment";
}

Result<ActivationPurpose> activation_purpose_from_name(std::string_view s) {
    for (auto p : {ActivationPurpose::enrolment, ActivationPurpose::lost_phone,
                   ActivationPurpose::forgotten_pin}) {
        if (activation_purpose_name(p) == s) {
            return p;
        }
    }
    return fail(ErrorCode::internal, "unknown activation purpose '{}'", s);
}

Result<void> check_enrolment_fields(const EnrolmentRequest& r, TimePoint now) {
    const std::string& d = r.date_of_birth;
    int y = 0, m = 0, day = 0;
    bool shape = d.size() == 10 && d[4] == '-' && d[7] == '-' &&
                 std::all_of(d.begin(), d.end(), [](char c) { return std::isdigit(static_cast<unsigned char>(c)) || c == '-'; });
    if (shape) {
        y = std::stoi(d.substr(0, 4));
        m = std::stoi(d.substr(5, 2));
        day = std::stoi(d.substr(8, 2));
    }
    static constexpr int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (!shape || m < 1 || m > 12 || day < 1 ||
        day > kDays[m - 1] + (m == 2 && is_leap(y) ? 1 : 0) || y < 1890) {
        return fail(ErrorCode::invalid_argument, "date_of_birth '{}' is not a date (YYYY-MM-DD)", d);
    }
    if (d > date_text(now)) {
        return fail(ErrorCode::invalid_argument, "date_of_birth {} is in the future", d);
    }
    std::size_t digits = 0;
    for (unsigned char c : r.phone) {
        if (std::isdigit(c)) {
            ++digits;
        } else if (c != ' ' && c != '+' && c != '-' && c != '(' && c != ')') {
            return fail(ErrorCode::invalid_argument,
                        "phone '{}' may only hold digits, spaces and + - ( )", r.phone);
        }
    }
    if (digits < 6 || digits > 20 || r.phone.size() > 32) {
        return fail(ErrorCode::invalid_argument, "phone '{}' needs 6 to 20 digits", r.phone);
    }
    if (r.postal_address.find_first_not_of(" \n\r\t") == std::string::npos) {
        return fail(ErrorCode::invalid_argument, "postal_address is required");
    }
    if (r.postal_address.size() > 600) {
        return fail(ErrorCode::invalid_argument, "postal_address is longer than 600 bytes");
    }
    for (unsigned char c : r.postal_address) {
        if ((c < 0x20 && c != '\n') || c == 0x7f) {
            return fail(ErrorCode::invalid_argument,
                        "postal_address holds control characters (only line breaks are allowed)");
        }
    }
    if (r.esigncloud && !r.sepbox) {
        return fail(ErrorCode::invalid_argument,
                    "eSignCloud needs SEPBox: its activation code is delivered to the mailbox");
    }
    return {};
}

EnrolmentService::EnrolmentService(AccountService& accounts, EnrolmentRepository& repo,
                                   SystemPost& post, Transaction transaction,
                                   const crypto::MasterKey& master, const Clock& clock, Rng& rng,
                                   EnrolmentOptions options)
    : accounts_(accounts), repo_(repo), post_(post), transaction_(std::move(transaction)),
      clock_(clock), rng_(rng), options_(std::move(options)) {
    auto k = master.derive("selo/activation-code/v1");
    if (!k) {
        std::abort();
    }
    code_key_ = std::move(*k);
}

Bytes EnrolmentService::code_hash(std::string_view account_id, std::string_view code) const {
    std::string data = fmt::format("{}\n{}", account_id, normalise_code(code));
    return crypto::hmac(crypto::DigestAlgorithm::sha256, code_key_.view(), as_bytes(data));
}

Result<EnrolmentResult> EnrolmentService::enrol(const Account& clerk, const EnrolmentRequest& input) {
    EnrolmentRequest r = input;
    if (r.person.id_type == IdentityDocument::staff_card ||
        r.person.id_type == IdentityDocument::trade_register) {
        return fail(ErrorCode::invalid_argument,
                    "a citizen is enrolled on an identity card or passport, not a {}",
                    identity_document_name(r.person.id_type));
    }
    r.person = SELO_TRY(normalise_person(r.person));
    SELO_TRY_VOID(check_enrolment_fields(r, clock_.now()));
    EnrolmentResult out;
    NewAccount opened;
    SELO_TRY_VOID(transaction_([&]() -> Result<void> {
        opened = SELO_TRY(accounts_.open(r.person, {Role::citizen},
                                         {.with_authenticator = false, .must_change_password = true}));
        const TimePoint now = clock_.now();
        Enrolment& e = out.enrolment;
        e.id = "enr_" + hex_encode(rng_.bytes(12));
        e.account_id = opened.account.id;
        e.clerk_id = clerk.id;
        e.date_of_birth = r.date_of_birth;
        e.phone = r.phone;
        e.postal_address = r.postal_address;
        e.sepbox = r.sepbox;
        e.esigncloud = r.esigncloud;
        e.created_at = now;
        e.slip_expires_at = now + options_.slip_window;
        e.slip_password_sealed =
            SELO_TRY(accounts_.seal_for(e.account_id, "enrolment-slip", as_bytes(opened.initial_password)));
        SELO_TRY_VOID(repo_.insert(e));
        if (r.sepbox) {
            SELO_TRY_VOID(post_.ensure_mailbox(e.account_id));
        }
        if (r.esigncloud) {
            Subscription s{e.account_id, now + kYear, now};
            SELO_TRY_VOID(repo_.put_subscription(s));
            Payment p;
            p.id = "pay_" + hex_encode(rng_.bytes(12));
            p.account_id = e.account_id;
            p.amount_cents = 0;
            p.years = 1;
            p.reference = "enrolment " + e.id + ": first year free";
            p.recorded_by = clerk.id;
            p.paid_until_after = s.paid_until;
            p.created_at = now;
            SELO_TRY_VOID(repo_.insert_payment(p));
            out.subscription = s;
            out.activation_message_id = SELO_TRY(send_activation(opened.account, ActivationPurpose::enrolment));
        }
        accounts_.audit({clerk.id, "enrolment.create", e.account_id,
                         fmt::format("enrolment {}: user {}, {} {} ({}) seen; services: single account{}{}",
                                     e.id, opened.account.username,
                                     identity_document_name(r.person.id_type), r.person.id_number,
                                     r.person.id_country, r.sepbox ? ", SEPBox" : "",
                                     r.esigncloud ? ", eSignCloud (first year free)" : "")});
        return {};
    }));
    out.account = opened.account;
    return out;
}

Result<Enrolment> EnrolmentService::find(const Account& clerk, std::string_view enrolment_id) {
    auto e = SELO_TRY(repo_.find(enrolment_id));
    if (!e || e->clerk_id != clerk.id) {
        return fail(ErrorCode::not_found, "no enrolment {} of yours", enrolment_id);
    }
    return std::move(*e);
}

Result<Bytes> EnrolmentService::take_slip(const Account& clerk, std::string_view enrolment_id,
                                          const std::function<Result<Bytes>(const SlipContent&)>& render) {
    auto e = SELO_TRY(repo_.find(enrolment_id));
    if (!e || e->clerk_id != clerk.id) {
        return fail(ErrorCode::not_found, "no enrolment {} of yours", enrolment_id);
    }
    // Both answers say what to do next: the person is usually still at the counter.
    if (e->slip_password_sealed.empty()) {
        return fail(ErrorCode::expired,
                    "the slip of enrolment {} was fetched already: the initial password is shown "
                    "once. Slip lost? Ask at the counter for a password reset: the clerk checks "
                    "the identity document and prints a new slip (POST "
                    "/api/v1/accounts/{}/password-reset)",
                    enrolment_id, e->account_id);
    }
    if (clock_.now() >= e->slip_expires_at) {
        return fail(ErrorCode::expired,
                    "the slip of enrolment {} could be fetched until {}: ask at the counter for a "
                    "password reset; the clerk checks the identity document and prints a new "
                    "slip (POST /api/v1/accounts/{}/password-reset)",
                    enrolment_id, iso8601(e->slip_expires_at), e->account_id);
    }
    auto account = SELO_TRY(accounts_.find(e->account_id));
    auto password = SELO_TRY(accounts_.unseal_for(e->account_id, "enrolment-slip", e->slip_password_sealed));
    SlipContent c;
    c.enrolment_id = e->id;
    c.service_name = options_.service_name;
    c.person = account.person;
    c.username = account.username;
    c.initial_password.assign(reinterpret_cast<const char*>(password.data()), password.size());
    c.sepbox = e->sepbox;
    c.esigncloud = e->esigncloud;
    c.enrolled_at = e->created_at;
    if (e->esigncloud) {
        if (auto s = SELO_TRY(repo_.subscription(e->account_id))) {
            c.esigncloud_free_until = s->paid_until;
        }
    }
    auto document = render(c);
    OPENSSL_cleanse(c.initial_password.data(), c.initial_password.size());
    if (!document) {
        return std::unexpected(document.error());
    }
    // Consumed only once the document exists; two clerks' browsers racing: one wins.
    if (!SELO_TRY(repo_.consume_slip(e->id, clock_.now()))) {
        return fail(ErrorCode::expired, "the slip of enrolment {} was fetched already", enrolment_id);
    }
    accounts_.audit({clerk.id, "enrolment.slip", e->account_id, "slip fetched (initial password shown once)"});
    return document;
}

Result<Bytes> EnrolmentService::reset_password(const Account& clerk, std::string_view account_id,
                                               IdentityDocument seen_type, std::string_view seen_number_as_typed,
                                               const std::function<Result<Bytes>(const SlipContent&)>& render) {
    // As typed at the counter, less the surrounding blanks (which the match ignores anyway), so
    // that the audit trail shows the number itself.
    std::string_view seen_number = seen_number_as_typed;
    while (!seen_number.empty() && (seen_number.front() == ' ' || seen_number.front() == '\t')) {
        seen_number.remove_prefix(1);
    }
    while (!seen_number.empty() && (seen_number.back() == ' ' || seen_number.back() == '\t')) {
        seen_number.remove_suffix(1);
    }
    auto found = accounts_.find_by_id_or_username(account_id);
    if (!found) {
        if (found.error().code == ErrorCode::not_found) {
            return fail(ErrorCode::not_found, "no citizen account with the id or username {}", account_id);
        }
        return std::unexpected(found.error());
    }
    Account target = std::move(*found);
    if (target.is_staff()) {
        return fail(ErrorCode::invalid_argument,
                    "account {} ({}) is a staff account: its password is not reset at the "
                    "counter. An administrator handles it (README, \"At the counter\": password reset)",
                    target.id, target.username);
    }
    if (!target.has_role(Role::citizen)) {
        return fail(ErrorCode::invalid_argument,
                    "account {} ({}) is not a citizen's account: the counter resets only the "
                    "passwords of people it enrolled",
                    target.id, target.username);
    }
    auto e = SELO_TRY(repo_.find_by_account(target.id));
    if (!e) {
        return fail(ErrorCode::not_found,
                    "account {} ({}) was not enrolled at the counter: there is no enrolment "
                    "record to check the identity document against",
                    target.id, target.username);
    }
    if (!same_identity_document(target.person, seen_type, seen_number)) {
        accounts_.audit({clerk.id, "account.password_reset.identity_mismatch", target.id,
                         fmt::format("document seen {} {} does not match enrolment {}; nothing changed",
                                     identity_document_name(seen_type), seen_number, e->id)});
        return fail(ErrorCode::conflict,
                    "the identity document seen does not match the one this account was enrolled "
                    "with: nothing was changed");
    }
    Bytes document;
    SELO_TRY_VOID(transaction_([&]() -> Result<void> {
        auto reset = SELO_TRY(accounts_.reset_to_one_time_password(target.id));
        const TimePoint now = clock_.now();
        SlipContent c;
        c.enrolment_id = e->id;
        c.service_name = options_.service_name;
        c.person = target.person;
        c.username = target.username;
        c.initial_password = std::move(reset.one_time_password);
        c.sepbox = e->sepbox;
        c.esigncloud = e->esigncloud;
        c.enrolled_at = e->created_at;
        c.password_reset_at = now;
        c.authenticator_paired = target.has_authenticator();
        if (e->esigncloud) {
            if (auto s = SELO_TRY(repo_.subscription(target.id))) {
                c.esigncloud_free_until = s->paid_until;
            }
        }
        auto rendered = render(c);
        OPENSSL_cleanse(c.initial_password.data(), c.initial_password.size());
        // No slip, no reset: the transaction rolls back and the old password stays.
        document = SELO_TRY(std::move(rendered));
        accounts_.audit({clerk.id, "account.password_reset", target.id,
                         fmt::format("{} {} ({}) seen; user {}: new one-time password on a new "
                                     "slip, {} session(s) ended, lockout cleared",
                                     identity_document_name(seen_type), seen_number,
                                     target.person.id_country, target.username,
                                     reset.sessions_ended)});
        return {};
    }));
    return document;
}

Result<std::string> EnrolmentService::send_activation(const Account& account, ActivationPurpose purpose) {
    std::string message_id;
    SELO_TRY_VOID(transaction_([&]() -> Result<void> {
        SELO_TRY_VOID(repo_.void_codes(account.id));
        const TimePoint now = clock_.now();
        std::string code = generate_code(rng_);
        ActivationCode c;
        c.id = "act_" + hex_encode(rng_.bytes(12));
        c.account_id = account.id;
        c.purpose = purpose;
        c.code_hash = code_hash(account.id, code);
        c.created_at = now;
        c.expires_at = now + options_.activation_lifetime;
        SELO_TRY_VOID(post_.ensure_mailbox(account.id));
        SystemMessage m;
        m.category = "notification";
        m.sender_reference = fmt::format("esigncloud-activation:{}", c.id);
        const std::string until = iso8601(c.expires_at);
        std::string why_zh = purpose == ActivationPurpose::enrolment   ? "歡迎使用電子簽名雲服務。"
                             : purpose == ActivationPurpose::lost_phone ? "您已在櫃檯重新配對身份驗證器。"
                                                                        : "您的舊簽署密碼無法恢復，將建立新的簽署金鑰和證書。";
        std::string why_pt = purpose == ActivationPurpose::enrolment
                                 ? "Bem-vindo ao serviço eSignCloud."
                             : purpose == ActivationPurpose::lost_phone
                                 ? "Pediu ao balcão para associar de novo a aplicação de autenticação."
                                 : "O PIN antigo não pode ser recuperado: será criada uma nova chave de "
                                   "assinatura e um novo certificado.";
        m.subject = "啟用電子簽名雲 / Activação do eSignCloud";
        m.body_text = fmt::format(
            "{}\n"
            "啟用碼：{}\n"
            "請登入後在「電子簽名雲」輸入啟用碼，設定簽署密碼(PIN)，並用身份驗證器應用程式掃描二維碼。\n"
            "啟用碼有效至 {}，只可使用一次。\n\n"
            "{}\n"
            "Código de activação: {}\n"
            "Inicie sessão, introduza o código em eSignCloud, escolha o PIN de assinatura e leia o "
            "código QR com a aplicação de autenticação.\n"
            "O código é válido até {} e só pode ser usado uma vez.\n\n"
            "Activation code: {} (valid until {}, single use).\n",
            why_zh, code, until, why_pt, code, until, code, until);
        c.message_id = SELO_TRY(post_.post(account.id, m));
        SELO_TRY_VOID(repo_.insert_code(c));
        OPENSSL_cleanse(code.data(), code.size());
        message_id = c.message_id;
        accounts_.audit({"selo", "esigncloud.activation.send", account.id,
                         fmt::format("activation {} ({}) posted as message {}, valid until {}", c.id,
                                     activation_purpose_name(purpose), c.message_id, until)});
        return {};
    }));
    return message_id;
}

Result<Pairing> EnrolmentService::pairing_of(const Account& account, const ActivationCode& c) {
    auto secret = SELO_TRY(accounts_.unseal_for(account.id, "pairing-secret", c.pending_secret_sealed));
    return Pairing{c.id, c.purpose, accounts_.otpauth_uri(account, secret.view()), c.expires_at};
}

Result<Pairing> EnrolmentService::enter_code(const Account& account, std::string_view code) {
    auto open = SELO_TRY(repo_.open_code(account.id));
    if (!open) {
        return fail(ErrorCode::not_found,
                    "there is no activation code waiting for this account (a clerk can send a new one)");
    }
    ActivationCode c = std::move(*open);
    if (clock_.now() >= c.expires_at) {
        c.state = ActivationState::void_;
        SELO_TRY_VOID(repo_.update_code(c));
        return fail(ErrorCode::expired, "the activation code expired on {}; a clerk can send a new one",
                    iso8601(c.expires_at));
    }
    std::string normalised = normalise_code(code);
    if (normalised.size() != 12 || !constant_time_equal(code_hash(account.id, normalised), c.code_hash)) {
        ++c.attempts;
        const bool dead = c.attempts >= options_.activation_attempts;
        if (dead) {
            c.state = ActivationState::void_;
        }
        SELO_TRY_VOID(repo_.update_code(c));
        accounts_.audit({account.id, "esigncloud.activation.failure", c.id,
                         fmt::format("wrong activation code (attempt {}){}", c.attempts,
                                     dead ? ": the code is now void" : "")});
        if (dead) {
            return fail(ErrorCode::forbidden,
                        "the activation code was entered wrongly {} times and is now void; a clerk "
                        "can send a new one",
                        c.attempts);
        }
        return fail(ErrorCode::unauthorized, "the activation code is wrong ({} of {} attempts left)",
                    options_.activation_attempts - c.attempts, options_.activation_attempts);
    }
    // Entering the code again restarts the pairing with a new secret (a QR code scanned into
    // the wrong phone is simply replaced).
    Bytes secret = rng_.bytes(20);
    c.pending_secret_sealed = SELO_TRY(accounts_.seal_for(account.id, "pairing-secret", secret));
    c.state = ActivationState::pairing;
    SELO_TRY_VOID(repo_.update_code(c));
    accounts_.audit({account.id, "esigncloud.activation.code", c.id, "code accepted; pairing started"});
    return pairing_of(account, c);
}

Result<Pairing> EnrolmentService::current_pairing(const Account& account) {
    auto open = SELO_TRY(repo_.open_code(account.id));
    if (!open || open->state != ActivationState::pairing || clock_.now() >= open->expires_at) {
        return fail(ErrorCode::not_found, "no pairing in progress: enter the activation code first");
    }
    return pairing_of(account, *open);
}

Result<EnrolmentService::PairingProof> EnrolmentService::check_pairing(const Account& account,
                                                                      std::string_view otp) {
    auto open = SELO_TRY(repo_.open_code(account.id));
    if (!open || open->state != ActivationState::pairing || clock_.now() >= open->expires_at) {
        return fail(ErrorCode::conflict, "no pairing in progress: enter the activation code first");
    }
    PairingProof proof;
    proof.code = std::move(*open);
    proof.secret = SELO_TRY(accounts_.unseal_for(account.id, "pairing-secret", proof.code.pending_secret_sealed));
    auto step = accounts_.verify_pairing_otp(account, proof.secret.view(), otp);
    if (!step) {
        if (step.error().code == ErrorCode::forbidden) {
            return std::unexpected(step.error());
        }
        return fail(ErrorCode::unauthorized,
                    "the one-time password does not match the QR code being paired: {}",
                    step.error().message);
    }
    proof.step = *step;
    return proof;
}

Result<void> EnrolmentService::finish_pairing(const Account& account, PairingProof& proof) {
    return transaction_([&]() -> Result<void> {
        // check_pairing read the code outside this transaction: confirmations sent at once all
        // passed it with the same OTP, and each made a key pair and a certificate. Re-read in
        // the write transaction, so only the first to get here completes the pairing.
        auto current = SELO_TRY(repo_.open_code(account.id));
        if (!current || current->id != proof.code.id || current->state != ActivationState::pairing) {
            return fail(ErrorCode::conflict,
                        "this pairing was completed or cancelled meanwhile (by another "
                        "confirmation?): nothing was changed");
        }
        SELO_TRY_VOID(accounts_.set_authenticator(account.id, proof.secret.view(), proof.step));
        proof.code.state = ActivationState::completed;
        proof.code.pending_secret_sealed.clear();
        SELO_TRY_VOID(repo_.update_code(proof.code));
        accounts_.audit({account.id, "esigncloud.activation.complete", proof.code.id,
                         fmt::format("authenticator paired ({})", activation_purpose_name(proof.code.purpose))});
        return {};
    });
}

Result<void> EnrolmentService::check_subscription(std::string_view account_id) {
    auto s = SELO_TRY(repo_.subscription(account_id));
    if (s && clock_.now() >= s->paid_until) {
        return fail(ErrorCode::forbidden,
                    "the eSignCloud subscription ended on {} unpaid: signing is suspended until the "
                    "annual fee is paid (at a counter or online), and resumes at once after",
                    iso8601(s->paid_until));
    }
    return {};
}

Result<std::optional<Subscription>> EnrolmentService::subscription(std::string_view account_id) {
    return repo_.subscription(account_id);
}

Result<Payment> EnrolmentService::record_payment(const Account& recorder, std::string_view account_id,
                                                 std::int64_t amount_cents, std::string currency,
                                                 unsigned years, std::string reference) {
    if (amount_cents < 0 || years < 1 || years > 5) {
        return fail(ErrorCode::invalid_argument,
                    "a payment is a non-negative amount for 1 to 5 years");
    }
    if (currency.size() != 3 || !std::all_of(currency.begin(), currency.end(), [](char ch) {
            return std::isupper(static_cast<unsigned char>(ch)) != 0;
        })) {
        return fail(ErrorCode::invalid_argument, "currency must be an ISO 4217 code like MOP");
    }
    if (reference.empty() || reference.size() > 100) {
        return fail(ErrorCode::invalid_argument, "reference (the receipt number) needs 1 to 100 characters");
    }
    Payment p;
    SELO_TRY_VOID(transaction_([&]() -> Result<void> {
        auto target = SELO_TRY(accounts_.find(account_id));
        auto current = SELO_TRY(repo_.subscription(target.id));
        const TimePoint now = clock_.now();
        TimePoint from = current && current->paid_until > now ? current->paid_until : now;
        p.id = "pay_" + hex_encode(rng_.bytes(12));
        p.account_id = target.id;
        p.amount_cents = amount_cents;
        p.currency = std::move(currency);
        p.years = years;
        p.reference = std::move(reference);
        p.recorded_by = recorder.id;
        p.paid_until_after = from + kYear * years;
        p.created_at = now;
        SELO_TRY_VOID(repo_.insert_payment(p));
        SELO_TRY_VOID(repo_.put_subscription({target.id, p.paid_until_after, current ? current->created_at : now}));
        accounts_.audit({recorder.id, "subscription.payment", target.id,
                         fmt::format("payment {} of {}.{:02} {} for {} year(s), reference {}; paid until {}",
                                     p.id, amount_cents / 100, amount_cents % 100, p.currency, years,
                                     p.reference, iso8601(p.paid_until_after))});
        return {};
    }));
    return p;
}

Result<unsigned> EnrolmentService::send_renewal_reminders() {
    const TimePoint now = clock_.now();
    unsigned sent = 0;
    struct Due {
        std::string_view kind;
        std::chrono::days before;
    };
    for (Due due : {Due{"renewal-30d", std::chrono::days(30)}, Due{"renewal-7d", std::chrono::days(7)}}) {
        // Subscriptions that end within `before` from now and have not ended yet.
        auto ending = SELO_TRY(repo_.subscriptions_ending(now, now + due.before));
        for (const auto& s : ending) {
            if (due.kind == "renewal-30d" && s.paid_until - now <= std::chrono::days(7)) {
                continue;  // only the 7-day reminder is still useful
            }
            SELO_TRY_VOID(transaction_([&]() -> Result<void> {
                // Claimed and posted in one transaction: a crash leaves neither, a second run
                // (or another process) finds it claimed and sends nothing.
                if (!SELO_TRY(repo_.claim_reminder(s.account_id, s.paid_until, due.kind, now))) {
                    return {};
                }
                const std::string until = iso8601(s.paid_until);
                SystemMessage m;
                m.category = "bill";
                m.sender_reference = fmt::format("{}:{}", due.kind, unix_seconds(s.paid_until));
                m.subject = "電子簽名雲年費續期提示 / Renovação da assinatura eSignCloud";
                m.body_text = fmt::format(
                    "您的電子簽名雲服務有效至 {}。請於到期前在櫃檯或網上繳交年費，以免簽署功能暫停。\n\n"
                    "A sua assinatura do eSignCloud é válida até {}. Pague a anuidade ao balcão ou em "
                    "linha antes dessa data para não suspender a assinatura de documentos.\n",
                    until, until);
                SELO_TRY(post_.post(s.account_id, m));
                accounts_.audit({"selo", "subscription.reminder", s.account_id,
                                 fmt::format("{} reminder: paid until {}", due.kind, until)});
                ++sent;
                return {};
            }));
        }
    }
    return sent;
}

}  // namespace selo::account
