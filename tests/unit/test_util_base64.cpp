#include <catch2/catch.hpp>

#include "core/util/base64.hpp"

using namespace certroute::util;

TEST_CASE("base64url follows RFC 4648 §5 without padding", "[base64]") {
  CHECK(base64url_encode("") == "");
  CHECK(base64url_encode("f") == "Zg");
  CHECK(base64url_encode("fo") == "Zm8");
  CHECK(base64url_encode("foo") == "Zm9v");
  CHECK(base64url_encode("\xfb\xff") == "-_8");
  CHECK(base64_encode("\xfb\xff") == "+/8=");
  CHECK(*base64url_decode("Zm9vYg") == "foob");
  CHECK(*base64url_decode("Zm9vYg==") == "foob");
  CHECK(*base64url_decode("-_8") == "\xfb\xff");
  CHECK_FALSE(base64url_decode("Zm9v+g"));
  CHECK_FALSE(base64url_decode("Z"));
  CHECK_FALSE(base64url_decode("not base64!"));
}
