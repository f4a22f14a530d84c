#include <catch2/catch.hpp>

#include "core/crypto/csr.hpp"
#include "core/crypto/key.hpp"

using namespace certroute::crypto;
using certroute::util::ErrorKind;

static ValidCsrRequest valid(const CsrRequest& r) {
  auto v = validate_csr_request(r);
  INFO((v ? "" : v.error().message()));
  REQUIRE(v);
  return *v;
}

TEST_CASE("CSR requests are normalised and de-duplicated", "[csr]") {
  auto v = valid({.dns_names = {"Example.COM", "bücher.example", "example.com", "*.example.com"},
                  .ips = {"2001:DB8::1", "192.0.2.1", "2001:db8:0::1"}});
  CHECK(v.dns_names == std::vector<std::string>{"example.com", "xn--bcher-kva.example", "*.example.com"});
  CHECK(v.ips == std::vector<std::string>{"2001:db8::1", "192.0.2.1"});
  REQUIRE(v.subject.size() == 1);
  CHECK(v.subject[0] == NameEntry{"CN", "example.com"});
}

TEST_CASE("CN defaults to the first name only when it fits in 64 characters", "[csr]") {
  std::string long_name = std::string(60, 'a') + ".example";  // 68 characters
  auto v = valid({.dns_names = {long_name, "b.example"}});
  CHECK(v.subject.empty());
  auto ips_only = valid({.ips = {"192.0.2.1"}});
  CHECK(ips_only.subject.empty());
}

TEST_CASE("an explicit subject is parsed and its CN wins", "[csr]") {
  auto v = valid({.dns_names = {"a.example"}, .subject = "CN=Web,O=Example\\, Inc.,C=DE"});
  CHECK(v.subject == std::vector<NameEntry>{{"CN", "Web"}, {"O", "Example, Inc."}, {"C", "DE"}});
  auto slash = valid({.dns_names = {"a.example"}, .subject = "/O=Example/C=FR"});
  CHECK(slash.subject == std::vector<NameEntry>{{"CN", "a.example"}, {"O", "Example"}, {"C", "FR"}});
}

TEST_CASE("bad subjects and names are bad input; no names is a usage error", "[csr]") {
  auto err = [](const CsrRequest& r) {
    auto v = validate_csr_request(r);
    REQUIRE_FALSE(v);
    return v.error();
  };
  CHECK(err({.dns_names = {"a.example"}, .subject = "CN"}).kind() == ErrorKind::bad_input);
  CHECK_THAT(err({.dns_names = {"a.example"}, .subject = "XX=1"}).message(), Catch::Contains("unknown attribute"));
  CHECK_THAT(err({.dns_names = {"a.example"}, .subject = "C=Germany"}).message(), Catch::Contains("two-letter"));
  CHECK_THAT(err({.dns_names = {"a..b"}}).message(), Catch::Contains("a..b"));
  CHECK_THAT(err({.ips = {"999.1.1.1"}}).message(), Catch::Contains("999.1.1.1"));
  CHECK(err({}).kind() == ErrorKind::usage);
}

TEST_CASE("built CSRs carry the names and verify", "[csr]") {
  auto type = GENERATE(KeyType::ec_p256, KeyType::ec_p384, KeyType::rsa_2048, KeyType::ed25519);
  INFO(key_type_name(type));
  auto key = generate_key(type);
  REQUIRE(key);
  auto v = valid({.dns_names = {"a.example", "*.a.example"},
                  .ips = {"192.0.2.7", "2001:db8::7"},
                  .emails = {"ops@a.example"},
                  .uris = {"spiffe://a.example/x"}});
  auto csr = build_csr(v, key->get());
  REQUIRE(csr);
  auto pem = csr_to_pem(csr->get());
  REQUIRE(pem);
  auto back = load_csr(*pem, "r.pem");
  REQUIRE(back);
  auto info = csr_info(back->get());
  CHECK(info.signature_valid);
  CHECK(info.subject == "CN=a.example");
  CHECK(info.dns_names == v.dns_names);
  CHECK(info.ips == v.ips);
  CHECK(info.emails == v.emails);
  CHECK(info.uris == v.uris);
  CHECK(info.key_type == key_type_name(type));
  if (type == KeyType::ec_p384) CHECK(info.signature_algorithm == "ecdsa-with-SHA384");
  if (type == KeyType::ec_p256) CHECK(info.signature_algorithm == "ecdsa-with-SHA256");

  auto der = csr_to_der(csr->get());
  REQUIRE(der);
  auto from_der = load_csr(*der, "r.der");
  REQUIRE(from_der);
  CHECK(csr_info(from_der->get()).signature_valid);
}

TEST_CASE("a CSR with a damaged signature is reported as invalid", "[csr]") {
  auto key = generate_key(KeyType::ec_p256);
  auto csr = build_csr(valid({.dns_names = {"a.example"}}), key->get());
  auto der = *csr_to_der(csr->get());
  // The signature is the last BIT STRING: flipping its last byte keeps the DER valid.
  der.back() = static_cast<char>(der.back() ^ 0x01);
  auto back = load_csr(der, "r.der");
  REQUIRE(back);
  CHECK_FALSE(csr_info(back->get()).signature_valid);
}

TEST_CASE("non-CSR input is named as what it is", "[csr]") {
  auto key = generate_key(KeyType::ec_p256);
  auto r = load_csr(*private_key_to_pem(key->get(), std::nullopt), "k.pem");
  REQUIRE_FALSE(r);
  CHECK_THAT(r.error().message(), Catch::Contains("is a private key"));
  CHECK_FALSE(load_csr("", "e"));
  CHECK_FALSE(load_csr("garbage", "g"));
}
