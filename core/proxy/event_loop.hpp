// A worker's event loop: asio's run(), except that under load the worker
// takes its events in batches.
//
// Why: a worker that keeps up with its load sleeps in epoll_wait between
// events and is woken for nearly each one. The wake-up is then the largest
// single cost of a keep-alive request: the sleep and the switch back on this
// core, and the wake-up sent from the core that produced the event (clients
// and backends on the same machine pay that part). So when many requests
// are waiting for their upstream answers and nothing is ready, the worker
// waits a short fixed time (kHoldMicros, a timed sleep) before it blocks in
// epoll_wait, and then takes what arrived in that time together; while it is
// not blocked in epoll_wait, nobody has to wake it. Network cards do the
// same with interrupt moderation.
//
// A hold only pays when it collects several events. With a few requests in
// flight it would only add latency, so the worker holds only while at least
// kMinForwarding requests wait for upstream answers, and stops (for kBackOff
// waits) when its holds find fewer than kMinPerHold events on average. Below
// that load the loop is exactly asio's run().
//
// The hold sits where asio's reactor blocks: this module defines epoll_wait,
// which the reactor calls (asio 1.22's epoll_reactor::run), and holds there
// on a worker thread; on every other thread it is libc's call.
#pragma once

#include <cstddef>

#include <asio/io_context.hpp>

namespace certroute::proxy {

class HoldPolicy {
 public:
  static constexpr long kHoldMicros = 50;
  static constexpr int kMinForwarding = 6;
  static constexpr unsigned kMinPerHold = 3;
  static constexpr unsigned kBackOff = 1024;

  // Whether to hold before the worker blocks, given the requests waiting
  // for upstream answers.
  bool hold(int forwarding) {
    if (backoff_ != 0) {
      --backoff_;
      return false;
    }
    return forwarding >= kMinForwarding;
  }
  // The number of events a hold found ready.
  void after_hold(std::size_t events) {
    if (events > 64) events = 64;
    // Exponential moving average over about 8 holds, in sixteenths.
    average16_ = average16_ - average16_ / 8 + unsigned(events) * 2;
    if (average16_ < kMinPerHold * 16) {
      backoff_ = kBackOff;
      average16_ = kStart;
    }
  }

 private:
  // A new run of holds starts above the threshold, so that a few holds are
  // tried before they are judged.
  static constexpr unsigned kStart = kMinPerHold * 16 * 2;
  unsigned average16_ = kStart;
  unsigned backoff_ = 0;
};

struct LoopStats {
  unsigned long holds = 0;  // timed waits before blocking
};

// ctx.run(), holding as above. `forwarding` is the number of requests
// waiting for upstream answers, updated by the handlers ctx runs.
LoopStats run_worker_loop(asio::io_context& ctx, const int& forwarding);

}  // namespace certroute::proxy
