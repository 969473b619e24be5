#include "cloudsign/activation.hpp"

#include <algorithm>

#include "core/log.hpp"

namespace selo::cloudsign {

ActivationService::ActivationService(account::EnrolmentService& enrolment, CloudSignService& cloudsign,
                                     CredentialRepository& credentials,
                                     account::Transaction transaction, CertificateRevoker* revoker)
    : enrolment_(enrolment), cloudsign_(cloudsign), credentials_(credentials),
      transaction_(std::move(transaction)), revoker_(revoker) {}

Result<ActivationOutcome> ActivationService::confirm(const account::Account& account,
                                                     std::string_view pin, std::string_view otp) {
    auto pairing = SELO_TRY(enrolment_.current_pairing(account));
    const bool needs_credential = pairing.purpose != account::ActivationPurpose::lost_phone;
    if (needs_credential) {
        if (pin.empty()) {
            return fail(ErrorCode::invalid_argument, "choose a signing PIN (6 to 12 digits)");
        }
        SELO_TRY_VOID(check_pin_policy(pin));
    }
    auto proof = SELO_TRY(enrolment_.check_pairing(account, otp));
    ActivationOutcome out{pairing.purpose, std::nullopt};
    // One transaction: the authenticator, the completed code and the credential (key pair and
    // certificate) exist together or not at all.
    SELO_TRY_VOID(transaction_([&]() -> Result<void> {
        SELO_TRY_VOID(enrolment_.finish_pairing(account, proof));
        if (needs_credential) {
            out.credential = SELO_TRY(cloudsign_.create_credential(account, pin));
        }
        return {};
    }));
    return out;
}

Result<account::Account> ActivationService::check_identity(const account::Account& clerk,
                                                           std::string_view account_id,
                                                           account::IdentityDocument seen_type,
                                                           std::string_view seen_number,
                                                           std::string_view what) {
    auto& accounts = enrolment_.accounts();
    auto target = accounts.find(account_id);
    if (!target || !target->has_role(account::Role::citizen)) {
        return fail(ErrorCode::not_found, "no citizen account {}", account_id);
    }
    if (!account::same_identity_document(target->person, seen_type, seen_number)) {
        accounts.audit({clerk.id, "recovery.identity.mismatch", target->id,
                        fmt::format("{}: document seen {} {} does not match the account", what,
                                    account::identity_document_name(seen_type), seen_number)});
        return fail(ErrorCode::conflict,
                    "the identity document seen does not match the one this account was opened with");
    }
    return std::move(*target);
}

Result<std::string> ActivationService::lost_phone(const account::Account& clerk,
                                                  std::string_view account_id,
                                                  account::IdentityDocument seen_type,
                                                  std::string_view seen_number) {
    auto target = SELO_TRY(check_identity(clerk, account_id, seen_type, seen_number, "lost phone"));
    std::string message_id;
    SELO_TRY_VOID(transaction_([&]() -> Result<void> {
        // A lost-phone activation keeps the credential and only pairs a new app. A citizen who
        // has none (the enrolment code was voided or expired before activation) would end with
        // an app and nothing to sign with: send them the first activation again instead.
        auto creds = SELO_TRY(credentials_.list_for_account(target.id));
        const bool has_key = std::any_of(creds.begin(), creds.end(), [](const Credential& c) {
            return c.status == CredentialStatus::enabled;
        });
        SELO_TRY_VOID(enrolment_.accounts().set_authenticator(target.id, {}, std::nullopt));
        message_id = SELO_TRY(enrolment_.send_activation(
            target, has_key ? account::ActivationPurpose::lost_phone : account::ActivationPurpose::enrolment));
        enrolment_.accounts().audit({clerk.id, "recovery.lost_phone", target.id,
                                     fmt::format("{} {} seen; authenticator void; activation message {}",
                                                 account::identity_document_name(seen_type),
                                                 seen_number, message_id)});
        return {};
    }));
    return message_id;
}

Result<std::string> ActivationService::forgotten_pin(const account::Account& clerk,
                                                     std::string_view account_id,
                                                     account::IdentityDocument seen_type,
                                                     std::string_view seen_number) {
    auto target = SELO_TRY(check_identity(clerk, account_id, seen_type, seen_number, "forgotten PIN"));
    if (revoker_ == nullptr) {
        return fail(ErrorCode::unavailable,
                    "certificate revocation is not available in this build: the credential cannot "
                    "be retired");
    }
    std::string message_id;
    SELO_TRY_VOID(transaction_([&]() -> Result<void> {
        auto creds = SELO_TRY(credentials_.list_for_account(target.id));
        std::string retired;
        for (const auto& c : creds) {
            if (c.status != CredentialStatus::enabled) {
                continue;
            }
            SELO_TRY_VOID(credentials_.set_status(c.id, CredentialStatus::disabled));
            SELO_TRY_VOID(revoker_->revoke(c.ca_name, c.certificate_serial, "superseded"));
            retired += (retired.empty() ? "" : ", ") + c.id + " (certificate " + c.certificate_serial + ")";
        }
        message_id = SELO_TRY(enrolment_.send_activation(target, account::ActivationPurpose::forgotten_pin));
        enrolment_.accounts().audit({clerk.id, "recovery.forgotten_pin", target.id,
                                     fmt::format("{} {} seen; retired and revoked: {}; activation message {}",
                                                 account::identity_document_name(seen_type), seen_number,
                                                 retired.empty() ? "none" : retired, message_id)});
        return {};
    }));
    return message_id;
}

}  // namespace selo::cloudsign
