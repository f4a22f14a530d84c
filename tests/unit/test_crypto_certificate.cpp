#include <catch2/catch.hpp>

#include "core/crypto/certificate.hpp"
#include "testcerts.hpp"

using namespace certroute::crypto;
using namespace std::chrono_literals;

namespace {
struct Chain {
  EvpPkey root_key = testcerts::key(), inter_key = testcerts::key(), leaf_key = testcerts::key();
  X509Ptr root, inter, leaf;
  Chain(testcerts::Spec leaf_spec = {.cn = "a.example", .dns = {"a.example", "*.b.example"}, .ips = {"192.0.2.1"}}) {
    root = testcerts::make({.cn = "Root", .ca = true}, root_key.get(), root_key.get(), nullptr);
    inter = testcerts::make({.cn = "Inter", .ca = true}, inter_key.get(), root_key.get(), root.get());
    leaf = testcerts::make(leaf_spec, leaf_key.get(), inter_key.get(), inter.get());
  }
  std::string bundle() const {
    return testcerts::pem(leaf.get()) + testcerts::pem(inter.get()) + testcerts::pem(root.get());
  }
};

std::vector<std::string> messages(const std::vector<CheckFailure>& f) {
  std::vector<std::string> m;
  for (const auto& x : f) m.push_back(x.message);
  return m;
}
}  // namespace

TEST_CASE("a PEM bundle loads in order and links", "[certificate]") {
  Chain c;
  auto certs = load_certificates(c.bundle(), "fullchain.pem");
  REQUIRE(certs);
  REQUIRE(certs->size() == 3);
  auto infos = certificate_infos(*certs, std::chrono::system_clock::now());
  CHECK(infos[0].subject == "CN=a.example");
  CHECK(infos[0].issuer == "CN=Inter");
  CHECK(infos[0].dns_names == std::vector<std::string>{"a.example", "*.b.example"});
  CHECK(infos[0].ips == std::vector<std::string>{"192.0.2.1"});
  CHECK(infos[0].signed_by_next == true);
  CHECK(infos[1].signed_by_next == true);
  CHECK_FALSE(infos[2].signed_by_next.has_value());
  CHECK(infos[2].self_signed);
  CHECK_FALSE(infos[0].self_signed);
  CHECK(infos[0].days_left >= 89);
  CHECK(infos[0].days_left <= 90);
  CHECK(infos[0].key == "EC P-256");
  CHECK(infos[0].sha256_fingerprint.size() == 32 * 3 - 1);
}

TEST_CASE("a bundle in the wrong order does not link", "[certificate]") {
  Chain c;
  std::string wrong = testcerts::pem(c.leaf.get()) + testcerts::pem(c.root.get());
  auto infos = certificate_infos(*load_certificates(wrong, "x"), std::chrono::system_clock::now());
  CHECK(infos[0].signed_by_next == false);
}

TEST_CASE("DER certificates load; other input is named", "[certificate]") {
  Chain c;
  CHECK(load_certificates(testcerts::der(c.leaf.get()), "x.der")->size() == 1);
  auto key_only = load_certificates(*private_key_to_pem(c.leaf_key.get(), std::nullopt), "k.pem");
  REQUIRE_FALSE(key_only);
  CHECK_THAT(key_only.error().message(), Catch::Contains("private key but no certificate"));
  CHECK_FALSE(load_certificates("", "e"));
  CHECK_FALSE(load_certificates("nonsense", "n"));
  std::string pem = testcerts::pem(c.leaf.get());
  auto cut = load_certificates(pem.substr(0, pem.size() / 2), "cut.pem");
  REQUIRE_FALSE(cut);
  CHECK_THAT(cut.error().message(), Catch::Contains("truncated"));
}

TEST_CASE("check: expiry against --days", "[certificate]") {
  Chain c({.cn = "a.example", .dns = {"a.example"}, .not_after_offset = std::chrono::hours(24 * 10 + 1)});
  auto now = std::chrono::system_clock::now();
  CHECK(check_certificate(c.leaf.get(), {.min_days = 5}, now)->empty());
  auto f = messages(*check_certificate(c.leaf.get(), {.min_days = 30}, now));
  REQUIRE(f.size() == 1);
  CHECK_THAT(f[0], Catch::StartsWith("expires in 10 days") && Catch::Contains("not more than 30"));
  auto later = messages(*check_certificate(c.leaf.get(), {.min_days = 0}, now + std::chrono::hours(24 * 11)));
  REQUIRE(later.size() == 1);
  CHECK_THAT(later[0], Catch::StartsWith("expired on"));
  auto early = messages(*check_certificate(c.leaf.get(), {.min_days = 0}, now - std::chrono::hours(2)));
  REQUIRE(early.size() == 1);
  CHECK_THAT(early[0], Catch::StartsWith("not valid yet"));
}

TEST_CASE("check: hosts are matched as browsers do", "[certificate]") {
  Chain c;
  auto now = std::chrono::system_clock::now();
  auto fails = [&](std::vector<std::string> hosts) {
    return messages(*check_certificate(c.leaf.get(), {.min_days = 0, .hosts = hosts}, now));
  };
  CHECK(fails({"a.example", "x.b.example", "A.EXAMPLE", "192.0.2.1"}).empty());
  CHECK(fails({"b.example"}) == std::vector<std::string>{"does not cover b.example"});
  CHECK(fails({"x.y.b.example"}) == std::vector<std::string>{"does not cover x.y.b.example"});
  CHECK(fails({"192.0.2.2"}) == std::vector<std::string>{"does not cover IP address 192.0.2.2"});
  CHECK(fails({"z.example", "a.example", "q.example"}).size() == 2);
  auto bad = check_certificate(c.leaf.get(), {.hosts = {"a..b"}}, now);
  REQUIRE_FALSE(bad);
  CHECK(bad.error().kind() == certroute::util::ErrorKind::bad_input);
}

TEST_CASE("check: the key must match the certificate", "[certificate]") {
  Chain c;
  auto now = std::chrono::system_clock::now();
  CHECK(check_certificate(c.leaf.get(), {.min_days = 0, .key = c.leaf_key.get()}, now)->empty());
  auto f = messages(*check_certificate(c.leaf.get(), {.min_days = 0, .key = c.root_key.get()}, now));
  CHECK(f == std::vector<std::string>{"does not match the private key"});
}
