#include <catch2/catch.hpp>

#include <chrono>
#include <functional>
#include <system_error>

#include <asio/post.hpp>
#include <asio/steady_timer.hpp>

#include "core/proxy/event_loop.hpp"

using certroute::proxy::HoldPolicy;
using certroute::proxy::run_worker_loop;

TEST_CASE("hold policy: no holds while few requests wait for upstream answers", "[proxy][event_loop]") {
  HoldPolicy p;
  for (int i = 0; i < 10000; ++i) REQUIRE_FALSE(p.hold(HoldPolicy::kMinForwarding - 1));
  REQUIRE(p.hold(HoldPolicy::kMinForwarding));
}

TEST_CASE("hold policy: keeps holding while holds collect events", "[proxy][event_loop]") {
  HoldPolicy p;
  for (int i = 0; i < 1000; ++i) {
    REQUIRE(p.hold(32));
    p.after_hold(HoldPolicy::kMinPerHold + 1);
  }
}

TEST_CASE("hold policy: holds that find little stop holding for a while", "[proxy][event_loop]") {
  HoldPolicy p;
  int holds = 0;
  while (p.hold(32)) {
    p.after_hold(1);
    ++holds;
    REQUIRE(holds < 100);
  }
  // A few holds are tried before they are judged.
  REQUIRE(holds > 1);
  // Backed off: no hold for kBackOff handlers, even under load, then holds again.
  for (unsigned i = 1; i < HoldPolicy::kBackOff; ++i) REQUIRE_FALSE(p.hold(32));
  REQUIRE(p.hold(32));
}

namespace {

// Runs a chain of `steps` timers of 200 µs each, under the load
// `forwarding(step)`; each goes through the reactor, so the loop reaches the
// point where it would block between them. Returns the loop's stats.
certroute::proxy::LoopStats run_chain(int steps, const std::function<int(int)>& load, int& ran) {
  asio::io_context ctx;
  auto guard = asio::make_work_guard(ctx);
  int forwarding = load(0);
  asio::steady_timer t(ctx);
  std::function<void(std::error_code)> step = [&](std::error_code) {
    ++ran;
    forwarding = load(ran);
    if (ran == steps) {
      ctx.stop();
      return;
    }
    t.expires_after(std::chrono::microseconds(200));
    t.async_wait(step);
  };
  t.expires_after(std::chrono::microseconds(200));
  t.async_wait(step);
  auto stats = run_worker_loop(ctx, forwarding);
  REQUIRE(ctx.stopped());
  return stats;
}

}  // namespace

TEST_CASE("worker loop: plain run below the load that pays for holds", "[proxy][event_loop]") {
  int ran = 0;
  auto stats = run_chain(500, [](int) { return HoldPolicy::kMinForwarding - 1; }, ran);
  REQUIRE(ran == 500);
  REQUIRE(stats.holds == 0);
}

TEST_CASE("worker loop: holds under load, and stops when holds find little", "[proxy][event_loop]") {
  int ran = 0;
  // One timer at a time: each hold finds one event, below kMinPerHold, so
  // the loop tries a few holds and then backs off.
  auto stats = run_chain(500, [](int) { return 20; }, ran);
  REQUIRE(ran == 500);
  REQUIRE(stats.holds > 0);
  REQUIRE(stats.holds < 50);
}

TEST_CASE("worker loop: load switching between plain and batches runs every handler", "[proxy][event_loop]") {
  int ran = 0;
  run_chain(2000, [](int i) { return (i / 100) % 2 ? 20 : 0; }, ran);
  REQUIRE(ran == 2000);
}

TEST_CASE("worker loop returns when it runs out of work", "[proxy][event_loop]") {
  asio::io_context ctx;
  int forwarding = 50;  // holding
  bool fired = false;
  asio::steady_timer t(ctx, std::chrono::milliseconds(2));
  t.async_wait([&](std::error_code) { fired = true; });
  run_worker_loop(ctx, forwarding);
  REQUIRE(fired);
}
