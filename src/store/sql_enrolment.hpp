#pragma once
// SQL repository: counter enrolments, eSignCloud activation codes and subscriptions.

#include "account/enrolment.hpp"
#include "store/database.hpp"

namespace selo::store {

class SqlEnrolmentRepository final : public account::EnrolmentRepository {
public:
    explicit SqlEnrolmentRepository(Database& db) : db_(db) {}
    Result<void> insert(const account::Enrolment& e) override;
    Result<std::optional<account::Enrolment>> find(std::string_view id) override;
    Result<std::optional<account::Enrolment>> find_by_account(std::string_view account_id) override;
    Result<bool> consume_slip(std::string_view id, TimePoint now) override;
    Result<void> insert_code(const account::ActivationCode& c) override;
    Result<std::optional<account::ActivationCode>> open_code(std::string_view account_id) override;
    Result<void> update_code(const account::ActivationCode& c) override;
    Result<void> void_codes(std::string_view account_id) override;
    Result<std::optional<account::Subscription>> subscription(std::string_view account_id) override;
    Result<void> put_subscription(const account::Subscription& s) override;
    Result<void> insert_payment(const account::Payment& p) override;
    Result<bool> claim_reminder(std::string_view account_id, TimePoint period_end,
                                std::string_view kind, TimePoint now) override;
    Result<std::vector<account::Subscription>> subscriptions_ending(TimePoint from, TimePoint to) override;

private:
    Result<std::optional<account::Enrolment>> find_where(std::string_view column, std::string_view value);
    Database& db_;
};

}  // namespace selo::store
