#pragma once
// An in-memory SystemPost for unit tests: what SEPBox would have delivered.

#include <map>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "core/postbox.hpp"

namespace selo::test {

class FakePost final : public SystemPost {
public:
    Result<void> ensure_mailbox(std::string_view account_id) override {
        std::lock_guard lock(mutex);
        mailboxes.insert(std::string(account_id));
        return {};
    }
    Result<std::string> post(std::string_view account_id, const SystemMessage& m) override {
        std::lock_guard lock(mutex);
        if (!mailboxes.contains(std::string(account_id))) {
            return fail(ErrorCode::not_found, "no mailbox for {}", account_id);
        }
        std::string id = "msg_" + std::to_string(++counter);
        messages[std::string(account_id)].push_back({id, m});
        return id;
    }
    struct Delivered {
        std::string id;
        SystemMessage message;
    };
    std::vector<Delivered> inbox(const std::string& account_id) {
        std::lock_guard lock(mutex);
        return messages[account_id];
    }

    std::mutex mutex;
    std::set<std::string> mailboxes;
    std::map<std::string, std::vector<Delivered>> messages;
    int counter = 0;
};

}  // namespace selo::test
