#include "core/proxy/event_loop.hpp"

#include <ctime>

#include <sys/prctl.h>

namespace certroute::proxy {

void run_worker_loop(asio::io_context& ctx, const int& forwarding) {
  // The hold is a timed sleep: the thread's default timer slack (50 µs)
  // would double it.
  ::prctl(PR_SET_TIMERSLACK, 1000UL, 0, 0, 0);
  HoldPolicy policy;
  while (!ctx.stopped()) {
    if (!policy.hold(forwarding)) {
      if (ctx.run_one() == 0) return;
      continue;
    }
    // Batches: finish what is ready (poll ends with nothing ready), hold,
    // then handle what came meanwhile; sleep in epoll_wait only when the
    // hold found nothing.
    ctx.poll();
    while (!ctx.stopped() && policy.hold(forwarding)) {
      timespec hold{0, HoldPolicy::kHoldMicros * 1000};
      ::nanosleep(&hold, nullptr);
      std::size_t found = ctx.poll();
      policy.after_hold(found);
      if (found == 0) {
        if (ctx.run_one() == 0) return;
        ctx.poll();
      }
    }
  }
}

}  // namespace certroute::proxy
