// `selo subscriptions remind`: posts the eSignCloud renewal reminders that are due (30 and 7
// days before a subscription ends). `selo serve` runs the same job every hour; each reminder is
// claimed in the database, so any number of runs and processes send it once.

#include <iostream>

#include "cli/commands.hpp"
#include "cli/data_dir.hpp"

namespace selo::cli {

int run_subscriptions_remind(const SubscriptionsRemindArgs& args) {
    SystemClock clock;
    SystemRng rng;
    auto rt = Runtime::open(args.data, clock, rng);
    if (!rt) {
        print_error(rt.error().message);
        return 1;
    }
    auto sent = (*rt)->enrolment().send_renewal_reminders();
    if (!sent) {
        print_error(sent.error().message);
        return 1;
    }
    std::cout << "renewal reminders sent: " << *sent << std::endl;
    return 0;
}

}  // namespace selo::cli
