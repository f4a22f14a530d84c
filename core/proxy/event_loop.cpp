#include "core/proxy/event_loop.hpp"

#include <ctime>

#include <sys/epoll.h>
#include <sys/prctl.h>

namespace certroute::proxy {
namespace {

struct Holder {
  HoldPolicy policy;
  const int* forwarding;
  LoopStats stats;
};

thread_local Holder* tls_holder = nullptr;

// The reactor is about to block: asio's queue is empty.
int wait_with_hold(Holder& h, int epfd, epoll_event* events, int max, int timeout) {
  if (h.policy.hold(*h.forwarding)) {
    int n = ::epoll_pwait(epfd, events, max, 0, nullptr);
    if (n != 0) return n;  // ready already: no hold
    timespec hold{0, HoldPolicy::kHoldMicros * 1000};
    ::nanosleep(&hold, nullptr);
    ++h.stats.holds;
    n = ::epoll_pwait(epfd, events, max, 0, nullptr);
    h.policy.after_hold(n > 0 ? std::size_t(n) : 0);
    if (n != 0) return n;
  }
  return ::epoll_pwait(epfd, events, max, timeout, nullptr);
}

}  // namespace

LoopStats run_worker_loop(asio::io_context& ctx, const int& forwarding) {
  // The hold is a timed sleep: the thread's default timer slack (50 µs)
  // would double it.
  ::prctl(PR_SET_TIMERSLACK, 1000UL, 0, 0, 0);
  Holder holder{HoldPolicy(), &forwarding, {}};
  tls_holder = &holder;
  struct Reset {
    ~Reset() { tls_holder = nullptr; }
  } reset;
  ctx.run();
  return holder.stats;
}

}  // namespace certroute::proxy

// The reactor's wait (see event_loop.hpp). A definition in the program takes
// the place of libc's for the calls the program makes; libc's own callers are
// not affected. epoll_pwait with no mask is the same system call.
extern "C" int epoll_wait(int epfd, epoll_event* events, int max, int timeout) {
  using certroute::proxy::tls_holder;
  if (tls_holder != nullptr && timeout != 0) return certroute::proxy::wait_with_hold(*tls_holder, epfd, events, max, timeout);
  return ::epoll_pwait(epfd, events, max, timeout, nullptr);
}
