#include <catch2/catch.hpp>

#include "core/crypto/der.hpp"
#include "core/crypto/ossl.hpp"

using namespace certroute::crypto;

static std::string h(const std::string& s) {
  return hex(reinterpret_cast<const unsigned char*>(s.data()), s.size());
}

TEST_CASE("DER primitives encode as X.690 says", "[der]") {
  CHECK(h(der::small_integer(0)) == "020100");
  CHECK(h(der::small_integer(127)) == "02017f");
  CHECK(h(der::small_integer(128)) == "02020080");
  CHECK(h(der::small_integer(256)) == "02020100");
  CHECK(h(der::integer(std::string("\x00\x00\x01", 3))) == "020101");
  CHECK(h(der::null()) == "0500");
  CHECK(h(der::octet_string("ab")) == "04026162");
  CHECK(h(der::bit_string("\xff")) == "030200ff");
  CHECK(h(der::oid("1.2.840.10045.2.1")) == "06072a8648ce3d0201");
  CHECK(h(der::oid("1.3.101.112")) == "06032b6570");
  CHECK(h(der::explicit_tag(1, der::null())) == "a1020500");
}

TEST_CASE("DER lengths use the long form from 128 bytes", "[der]") {
  CHECK(h(der::octet_string(std::string(127, 'x'))).substr(0, 4) == "047f");
  CHECK(h(der::octet_string(std::string(128, 'x'))).substr(0, 6) == "048180");
  CHECK(h(der::octet_string(std::string(300, 'x'))).substr(0, 8) == "0482012c");
}
