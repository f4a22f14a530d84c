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

TEST_CASE("worker loop runs every handler and returns when stopped", "[proxy][event_loop]") {
  asio::io_context ctx;
  auto guard = asio::make_work_guard(ctx);
  int forwarding = 0;
  int ran = 0;
  // A chain of timers that expire at once: each goes through the reactor,
  // so the loop reaches its idle point between them, while the load it sees
  // switches between plain (0) and batches (20) every 100 steps.
  asio::steady_timer t(ctx);
  std::function<void(std::error_code)> step = [&](std::error_code) {
    ++ran;
    forwarding = (ran / 100) % 2 ? 20 : 0;
    if (ran == 2000) {
      ctx.stop();
      return;
    }
    t.expires_after(std::chrono::seconds(0));
    t.async_wait(step);
  };
  t.expires_after(std::chrono::seconds(0));
  t.async_wait(step);
  run_worker_loop(ctx, forwarding);
  REQUIRE(ran == 2000);
  REQUIRE(ctx.stopped());
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
