// renew::decide() and renew::ari_renewal_point(): which certificates are due,
// over an injected clock (DueInput::now), so every branch runs without waiting.
#include <catch2/catch.hpp>

#include <set>
#include <string>

#include "core/renew/plan.hpp"

using namespace certroute::renew;

namespace {
constexpr long kDay = 86400;
constexpr long kHour = 3600;
// A fixed "now": 2030-01-01T00:00:00Z. Nothing below reads the real clock.
constexpr long kNow = 1893456000;

// A certificate issued `age` seconds before kNow with the given lifetime.
DueInput cert(long lifetime, long age) {
  DueInput in;
  in.now = kNow;
  in.not_before = kNow - age;
  in.not_after = in.not_before + lifetime;
  in.ari_seed = "www.example.com|0a1b2c3d";
  return in;
}
// A certificate with `left` seconds of its lifetime left at kNow.
DueInput cert_left(long lifetime, long left) { return cert(lifetime, lifetime - left); }
}  // namespace

// ---------------------------------------------------------------- lifetime rule, no ARI

TEST_CASE("90-day certificate: due when less than a third of the lifetime is left", "[renew][plan]") {
  const long life = 90 * kDay;  // a third = 30 days
  SECTION("fresh: not due") {
    auto d = decide(cert_left(life, 89 * kDay));
    CHECK_FALSE(d.due);
    CHECK_THAT(d.reason, Catch::Contains("89 days left"));
  }
  SECTION("31 days left: not due") { CHECK_FALSE(decide(cert_left(life, 31 * kDay)).due); }
  SECTION("one hour more than a third left: not due") { CHECK_FALSE(decide(cert_left(life, 30 * kDay + kHour)).due); }
  SECTION("one hour less than a third left: due, the reason says a third") {
    auto d = decide(cert_left(life, 30 * kDay - kHour));
    CHECK(d.due);
    CHECK_THAT(d.reason, Catch::Contains("a third"));
    CHECK_THAT(d.reason, Catch::Contains("29 days left"));
  }
  SECTION("1 day left: due") { CHECK(decide(cert_left(life, kDay)).due); }
  SECTION("a few hours left: due, reason in hours") {
    auto d = decide(cert_left(life, 5 * kHour));
    CHECK(d.due);
    CHECK_THAT(d.reason, Catch::Contains("5 hours left"));
  }
}

TEST_CASE("45-day and 5-year lifetimes use a third too", "[renew][plan]") {
  CHECK_FALSE(decide(cert_left(45 * kDay, 16 * kDay)).due);  // third = 15 days
  CHECK(decide(cert_left(45 * kDay, 14 * kDay)).due);
  const long five_years = 1826 * kDay;  // pebble's default validity
  CHECK_FALSE(decide(cert_left(five_years, 1825 * kDay)).due);
  CHECK_FALSE(decide(cert_left(five_years, five_years / 3 + kDay)).due);
  CHECK(decide(cert_left(five_years, five_years / 3 - kDay)).due);
}

TEST_CASE("short-lived certificate (< 10 days): due when less than half is left", "[renew][plan]") {
  const long life = 6 * kDay + 16 * kHour;  // 160 hours (Let's Encrypt's short-lived profile); half = 80 h
  SECTION("81 hours left: not due (a third would say the same)") { CHECK_FALSE(decide(cert_left(life, 81 * kHour)).due); }
  SECTION("79 hours left: due, though more than a third is left") {
    auto d = decide(cert_left(life, 79 * kHour));
    CHECK(d.due);
    CHECK_THAT(d.reason, Catch::Contains("half"));
  }
  SECTION("6 hours left: due") { CHECK(decide(cert_left(life, 6 * kHour)).due); }
  SECTION("1-day certificate, 11 hours left: due; 13 hours left: not due") {
    CHECK(decide(cert_left(kDay, 11 * kHour)).due);
    CHECK_FALSE(decide(cert_left(kDay, 13 * kHour)).due);
  }
}

TEST_CASE("lifetime of exactly 10 days is not short-lived: a third applies", "[renew][plan]") {
  const long life = 10 * kDay;  // third = 3 d 8 h, half = 5 d
  auto d = decide(cert_left(life, 4 * kDay));  // under half, over a third
  CHECK_FALSE(d.due);
  CHECK(decide(cert_left(life, 3 * kDay)).due);
  // Just under 10 days is short-lived: 4 days left of 9 d 23 h is under half.
  CHECK(decide(cert_left(life - kHour, 4 * kDay)).due);
}

// ---------------------------------------------------------------- --days

TEST_CASE("days option (--days N) replaces the lifetime rule", "[renew][plan]") {
  const long life = 90 * kDay;
  SECTION("fewer than N days left: due, the reason names N") {
    auto in = cert_left(life, 29 * kDay);
    in.days = 30;
    auto d = decide(in);
    CHECK(d.due);
    CHECK_THAT(d.reason, Catch::Contains("30"));
  }
  SECTION("more than N days left: not due") {
    auto in = cert_left(life, 31 * kDay);
    in.days = 30;
    CHECK_FALSE(decide(in).due);
  }
  SECTION("N above the lifetime rule: due although two thirds are left") {
    auto in = cert_left(life, 60 * kDay);
    CHECK_FALSE(decide(in).due);
    in.days = 61;
    CHECK(decide(in).due);
  }
  SECTION("N below the lifetime rule: not due although less than a third is left") {
    auto in = cert_left(life, 20 * kDay);
    CHECK(decide(in).due);
    in.days = 10;
    CHECK_FALSE(decide(in).due);
  }
  SECTION("--days 0: never due while valid") {
    auto in = cert_left(life, kHour);
    in.days = 0;
    CHECK_FALSE(decide(in).due);
  }
  SECTION("short-lived certificate: --days still wins") {
    auto in = cert_left(6 * kDay, 2 * kDay);  // half would say due
    in.days = 1;
    CHECK_FALSE(decide(in).due);
    in.days = 3;
    CHECK(decide(in).due);
  }
}

// ---------------------------------------------------------------- force, expired

TEST_CASE("force option (--force) is always due with reason 'forced'", "[renew][plan]") {
  auto in = cert_left(90 * kDay, 89 * kDay);
  in.force = true;
  auto d = decide(in);
  CHECK(d.due);
  CHECK(d.reason == "forced");
  SECTION("even with --days 0 and an ARI window far in the future") {
    in.days = 0;
    in.ari = AriWindow{kNow + 50 * kDay, kNow + 52 * kDay, ""};
    CHECK(decide(in).due);
  }
  SECTION("and for an expired certificate") {
    auto ex = cert(90 * kDay, 100 * kDay);
    ex.force = true;
    CHECK(decide(ex).due);
  }
}

TEST_CASE("an expired certificate is always due", "[renew][plan]") {
  auto in = cert(90 * kDay, 91 * kDay);  // expired a day ago
  REQUIRE(in.not_after < in.now);
  auto d = decide(in);
  CHECK(d.due);
  CHECK_THAT(d.reason, Catch::Contains("expired"));
  SECTION("expiring exactly now counts as expired") {
    auto x = cert(90 * kDay, 90 * kDay);
    REQUIRE(x.not_after == x.now);
    CHECK(decide(x).due);
  }
  SECTION("whatever --days says") {
    in.days = 0;
    CHECK(decide(in).due);
  }
  SECTION("whatever the ARI window says") {
    in.ari = AriWindow{kNow + 10 * kDay, kNow + 12 * kDay, ""};
    CHECK(decide(in).due);
  }
  SECTION("short-lived too") { CHECK(decide(cert(6 * kDay, 7 * kDay)).due); }
}

// ---------------------------------------------------------------- ARI

TEST_CASE("ARI window in the past: due", "[renew][plan][ari]") {
  auto in = cert_left(90 * kDay, 60 * kDay);  // the lifetime rule alone says not due
  REQUIRE_FALSE(decide(in).due);
  in.ari = AriWindow{kNow - 3 * kDay, kNow - kDay, "https://ca.example/incident"};
  auto d = decide(in);
  CHECK(d.due);
  CHECK_THAT(d.reason, Catch::Contains("window"));
}

TEST_CASE("ARI window in the future: not due even when the lifetime rule would say due", "[renew][plan][ari]") {
  auto in = cert_left(90 * kDay, 20 * kDay);  // less than a third left
  REQUIRE(decide(in).due);
  in.ari = AriWindow{kNow + 2 * kDay, kNow + 4 * kDay, ""};
  auto d = decide(in);
  CHECK_FALSE(d.due);
  CHECK_THAT(d.reason, Catch::Contains("window opens"));
}

TEST_CASE("ARI window absent: the lifetime rule decides", "[renew][plan][ari]") {
  auto in = cert_left(90 * kDay, 20 * kDay);
  REQUIRE_FALSE(in.ari.has_value());
  CHECK(decide(in).due);
  in = cert_left(90 * kDay, 40 * kDay);
  CHECK_FALSE(decide(in).due);
}

TEST_CASE("ARI window around now: due exactly from the renewal point on", "[renew][plan][ari]") {
  AriWindow w{kNow - kDay, kNow + kDay, ""};
  for (std::string seed : {"a.example|01", "b.example|02", "c.example|03", "d.example|ff"}) {
    auto in = cert_left(90 * kDay, 40 * kDay);
    in.ari = w;
    in.ari_seed = seed;
    long point = ari_renewal_point(w, seed);
    REQUIRE(point >= w.start);
    REQUIRE(point <= w.end);
    in.now = point - 1;
    CHECK_FALSE(decide(in).due);
    in.now = point;
    CHECK(decide(in).due);
    in.now = point + 1;
    CHECK(decide(in).due);
  }
}

TEST_CASE("ari_renewal_point lies inside the window and is stable for a seed", "[renew][plan][ari]") {
  AriWindow w{kNow, kNow + 2 * kDay, ""};
  std::set<long> points;
  long lower_half = 0, upper_half = 0;
  for (int i = 0; i < 200; ++i) {
    std::string seed = "cert" + std::to_string(i) + ".example|" + std::to_string(1000 + i * 7);
    long p = ari_renewal_point(w, seed);
    CHECK(p >= w.start);
    CHECK(p <= w.end);
    CHECK(ari_renewal_point(w, seed) == p);          // same seed, same point
    CHECK(ari_renewal_point(AriWindow{w.start, w.end, "https://other"}, seed) == p);  // explanation is irrelevant
    points.insert(p);
    (p < w.start + kDay ? lower_half : upper_half)++;
  }
  // Spread: different certificates pick (almost always) different points, in both halves.
  CHECK(points.size() >= 190);
  CHECK(lower_half >= 60);
  CHECK(upper_half >= 60);

  SECTION("a moved window gives a point inside the new window") {
    AriWindow moved{kNow + 10 * kDay, kNow + 11 * kDay, ""};
    long p = ari_renewal_point(moved, "www.example.com|0a1b2c3d");
    CHECK(p >= moved.start);
    CHECK(p <= moved.end);
  }
  SECTION("an empty or inverted window renews at its start") {
    CHECK(ari_renewal_point(AriWindow{kNow, kNow, ""}, "x") == kNow);
    CHECK(ari_renewal_point(AriWindow{kNow + 5, kNow, ""}, "x") == kNow + 5);
  }
  SECTION("a one-second window") {
    long p = ari_renewal_point(AriWindow{kNow, kNow + 1, ""}, "x");
    CHECK(p >= kNow);
    CHECK(p <= kNow + 1);
  }
}

TEST_CASE("decide() with ARI is stable: the same input gives the same answer", "[renew][plan][ari]") {
  auto in = cert_left(90 * kDay, 40 * kDay);
  in.ari = AriWindow{kNow - kDay, kNow + kDay, ""};
  auto first = decide(in);
  for (int i = 0; i < 10; ++i) {
    auto again = decide(in);
    CHECK(again.due == first.due);
    CHECK(again.reason == first.reason);
  }
}

// ---------------------------------------------------------------- format_days

TEST_CASE("format_days", "[renew][plan]") {
  CHECK(format_days(61 * kDay + 5 * kHour) == "61 days");
  CHECK(format_days(kDay) == "1 day");
  CHECK(format_days(5 * kHour) == "5 hours");
  CHECK(format_days(kHour) == "1 hour");
  CHECK(format_days(0) == "0 hours");
}
