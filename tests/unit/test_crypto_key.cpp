#include <catch2/catch.hpp>

#include <openssl/pem.h>

#include "core/crypto/key.hpp"
#include "testcerts.hpp"

using namespace certroute::crypto;
using certroute::util::ErrorKind;

static std::string openssl_pkcs8_der(EVP_PKEY* k) {
  Bio b(BIO_new(BIO_s_mem()));
  REQUIRE(i2d_PKCS8PrivateKey_bio(b.get(), k, nullptr, nullptr, 0, nullptr, nullptr));
  return bio_to_string(b.get());
}

static std::string openssl_spki_der(EVP_PKEY* k) {
  unsigned char* p = nullptr;
  int n = i2d_PUBKEY(k, &p);
  REQUIRE(n > 0);
  std::string r(reinterpret_cast<char*>(p), static_cast<size_t>(n));
  OPENSSL_free(p);
  return r;
}

TEST_CASE("key type table round-trips names", "[key]") {
  REQUIRE(key_types().size() == 6);
  for (const auto& k : key_types()) CHECK(parse_key_type(k.name) == k.type);
  CHECK_FALSE(parse_key_type("dsa-1024"));
  CHECK(key_type_name(default_key_type) == "ec-p256");
}

TEST_CASE("our DER encoding of keys equals OpenSSL's, byte for byte", "[key]") {
  // RSA-4096 is slow to generate and adds nothing the 2048 case does not test.
  auto type = GENERATE(KeyType::ec_p256, KeyType::ec_p384, KeyType::rsa_2048, KeyType::ed25519);
  INFO(key_type_name(type));
  auto key = generate_key(type);
  REQUIRE(key);
  auto enc = key_encoding(key->get(), true);
  REQUIRE(enc);
  CHECK(pkcs8_der(*enc) == openssl_pkcs8_der(key->get()));
  CHECK(spki_der(*enc) == openssl_spki_der(key->get()));

  auto info = key_info(key->get());
  CHECK(info.type_name == key_type_name(type));
}

TEST_CASE("keys survive PEM round trips, plain and encrypted", "[key]") {
  auto key = generate_key(KeyType::ec_p256);
  REQUIRE(key);
  auto plain = private_key_to_pem(key->get(), std::nullopt);
  REQUIRE(plain);
  CHECK(plain->starts_with("-----BEGIN PRIVATE KEY-----\n"));
  auto back = load_private_key(*plain, "k.pem", std::nullopt);
  REQUIRE(back);
  CHECK(EVP_PKEY_eq(back->get(), key->get()) == 1);

  auto enc = private_key_to_pem(key->get(), std::string("pw"));
  REQUIRE(enc);
  CHECK(enc->starts_with("-----BEGIN ENCRYPTED PRIVATE KEY-----"));
  auto ok = load_private_key(*enc, "k.pem", std::string("pw"));
  REQUIRE(ok);
  CHECK(EVP_PKEY_eq(ok->get(), key->get()) == 1);

  auto none = load_private_key(*enc, "k.pem", std::nullopt);
  REQUIRE_FALSE(none);
  CHECK(none.error().kind() == ErrorKind::bad_input);
  CHECK_THAT(none.error().message(), Catch::Contains("k.pem") && Catch::Contains("encrypted"));
  CHECK_THAT(none.error().hint(), Catch::Contains("--passphrase-file"));

  auto wrong = load_private_key(*enc, "k.pem", std::string("nope"));
  REQUIRE_FALSE(wrong);
  CHECK_THAT(wrong.error().message(), Catch::Contains("wrong passphrase"));
}

TEST_CASE("keys load from DER", "[key]") {
  auto key = generate_key(KeyType::ed25519);
  auto der = pkcs8_der(*key_encoding(key->get(), true));
  auto back = load_private_key(der, "k.der", std::nullopt);
  REQUIRE(back);
  CHECK(EVP_PKEY_eq(back->get(), key->get()) == 1);
}

TEST_CASE("a key is found after a certificate in a combined bundle", "[key]") {
  auto key = testcerts::key();
  auto cert = testcerts::make({.cn = "x"}, key.get(), key.get(), nullptr);
  std::string bundle = testcerts::pem(cert.get()) + *private_key_to_pem(key.get(), std::nullopt);
  auto back = load_private_key(bundle, "combined.pem", std::nullopt);
  REQUIRE(back);
  CHECK(EVP_PKEY_eq(back->get(), key.get()) == 1);
}

TEST_CASE("things that are not keys are named as what they are", "[key]") {
  auto key = testcerts::key();
  auto cert = testcerts::make({.cn = "x"}, key.get(), key.get(), nullptr);
  auto msg = [](std::string_view data) {
    auto r = load_private_key(data, "in", std::nullopt);
    REQUIRE_FALSE(r);
    CHECK(r.error().kind() == ErrorKind::bad_input);
    return r.error().message();
  };
  CHECK_THAT(msg(testcerts::pem(cert.get())), Catch::Contains("is a certificate, not a private key"));
  CHECK_THAT(msg(testcerts::der(cert.get())), Catch::Contains("is a certificate, not a private key"));
  CHECK_THAT(msg(""), Catch::Contains("empty"));
  CHECK_THAT(msg("hello world\n"), Catch::Contains("not a private key"));
  std::string pem = *private_key_to_pem(key.get(), std::nullopt);
  CHECK_THAT(msg(pem.substr(0, pem.size() / 2)), Catch::Contains("damaged or truncated"));
}
