#include <catch2/catch.hpp>

#include "core/util/names.hpp"

using namespace certroute::util;

static std::string ok(std::string_view s) {
  auto r = normalize_dns_name(s);
  INFO(s << ": " << (r ? "" : r.error().message()));
  REQUIRE(r);
  return *r;
}

static std::string bad(std::string_view s) {
  auto r = normalize_dns_name(s);
  INFO(s << " unexpectedly gave " << (r ? *r : ""));
  REQUIRE_FALSE(r);
  CHECK(r.error().kind() == ErrorKind::bad_input);
  return r.error().message();
}

TEST_CASE("DNS names are lower-cased and lose a trailing dot", "[names]") {
  CHECK(ok("Example.COM") == "example.com");
  CHECK(ok("example.com.") == "example.com");
  CHECK(ok("a-b.c0.example") == "a-b.c0.example");
  CHECK(ok("localhost") == "localhost");
}

TEST_CASE("Unicode names become A-labels (IDNA2008)", "[names]") {
  CHECK(ok("bücher.example") == "xn--bcher-kva.example");
  CHECK(ok("BÜCHER.example") == "xn--bcher-kva.example");
  CHECK(ok("*.bücher.example") == "*.xn--bcher-kva.example");
  CHECK(ok("xn--bcher-kva.example") == "xn--bcher-kva.example");
  CHECK(ok("例え.テスト") == "xn--r8jz45g.xn--zckzah");
}

TEST_CASE("Wildcards only as the whole left-most label", "[names]") {
  CHECK(ok("*.example.com") == "*.example.com");
  CHECK_THAT(bad("*.*.example.com"), Catch::Contains("wildcard"));
  CHECK_THAT(bad("foo.*.example.com"), Catch::Contains("wildcard"));
  CHECK_THAT(bad("f*o.example.com"), Catch::Contains("wildcard"));
  CHECK_THAT(bad("*example.com"), Catch::Contains("wildcard"));
  auto r = normalize_dns_name("*.example.com", {.allow_wildcard = false});
  CHECK_FALSE(r);
}

TEST_CASE("Malformed names are rejected with the reason", "[names]") {
  CHECK_THAT(bad(""), Catch::Contains("empty"));
  CHECK_THAT(bad("a..b"), Catch::Contains("empty label"));
  CHECK_THAT(bad(".example.com"), Catch::Contains("empty label"));
  CHECK_THAT(bad("-a.example"), Catch::Contains("start or end with '-'"));
  CHECK_THAT(bad("a-.example"), Catch::Contains("start or end with '-'"));
  CHECK_THAT(bad("a_b.example"), Catch::Contains("'_'"));
  CHECK_THAT(bad("a b.example"), Catch::Contains("not allowed"));
  CHECK_THAT(bad(std::string(64, 'a') + ".example"), Catch::Contains("63"));
  CHECK(ok(std::string(63, 'a') + ".example").size() == 71);
  CHECK_THAT(bad("ab--cd.example"), Catch::Contains("third and fourth"));
  CHECK_THAT(bad("xn--a.example"), Catch::Contains("A-label"));
  CHECK_THAT(bad("xn--55555.example"), Catch::Contains("A-label"));
  CHECK_THAT(bad("xn--a-ecp.example"), Catch::Contains("A-label"));  // a⒈: disallowed by IDNA2008
}

TEST_CASE("Name length limit is 253 octets", "[names]") {
  // 4 labels of 63 = 252 + 3 dots = 255: too long. Build exactly 253 and 254.
  std::string l63(63, 'a');
  std::string n253 = l63 + "." + l63 + "." + l63 + "." + std::string(61, 'b');
  REQUIRE(n253.size() == 253);
  CHECK(ok(n253) == n253);
  std::string n254 = l63 + "." + l63 + "." + l63 + "." + std::string(62, 'b');
  REQUIRE(n254.size() == 254);
  CHECK_THAT(bad(n254), Catch::Contains("253"));
}

TEST_CASE("IP addresses are not DNS names", "[names]") {
  CHECK_THAT(bad("192.0.2.1"), Catch::Contains("IP address"));
  auto r = normalize_dns_name("192.0.2.1");
  CHECK_THAT(r.error().hint(), Catch::Contains("--ip"));
  CHECK_THAT(bad("999.1.1.1"), Catch::Contains("all digits"));
  CHECK_THAT(bad("::1"), Catch::Contains("IP address"));
}

TEST_CASE("IP addresses are parsed and canonicalised", "[names]") {
  CHECK(*normalize_ip("192.0.2.1") == "192.0.2.1");
  CHECK(*normalize_ip("2001:DB8:0:0::1") == "2001:db8::1");
  CHECK_FALSE(normalize_ip("999.1.1.1"));
  CHECK_FALSE(normalize_ip("1.2.3"));
  CHECK_FALSE(normalize_ip(""));
  CHECK_FALSE(normalize_ip("example.com"));
  CHECK_FALSE(normalize_ip("::g"));
}

TEST_CASE("E-mail addresses and URIs", "[names]") {
  CHECK(*normalize_email("Admin@Bücher.example") == "Admin@xn--bcher-kva.example");
  CHECK_FALSE(normalize_email("no-at.example"));
  CHECK_FALSE(normalize_email("@example.com"));
  CHECK_FALSE(normalize_email("a b@example.com"));
  CHECK_FALSE(normalize_email("a@a..b"));
  CHECK(*normalize_uri("spiffe://example.org/ns/x") == "spiffe://example.org/ns/x");
  CHECK_FALSE(normalize_uri("no-scheme"));
  CHECK_FALSE(normalize_uri("1http://x"));
  CHECK_FALSE(normalize_uri("http://a b"));
  CHECK_FALSE(normalize_uri("http:"));
}

TEST_CASE("Host matching follows browsers' wildcard rules", "[names]") {
  CHECK(dns_name_matches("example.com", "example.com"));
  CHECK(dns_name_matches("Example.com", "example.COM."));
  CHECK(dns_name_matches("*.example.com", "a.example.com"));
  CHECK_FALSE(dns_name_matches("*.example.com", "example.com"));
  CHECK_FALSE(dns_name_matches("*.example.com", "a.b.example.com"));
  CHECK_FALSE(dns_name_matches("*.example.com", ".example.com"));
  CHECK(dns_name_matches("*.example.com", "*.example.com"));
  CHECK_FALSE(dns_name_matches("a.example.com", "b.example.com"));
}
