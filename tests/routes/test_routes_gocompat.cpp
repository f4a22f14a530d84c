// Go spellings shared by the render targets and the proxy: replacement
// templates and crypto/tls names.
#include <catch2/catch.hpp>

#include <map>

#include "core/routes/gocompat.hpp"

using namespace certroute::routes::gocompat;

namespace {
// A template as "literal|<group:number>|..." to compare in one string.
std::string show(std::string_view repl) {
  std::string out;
  for (const auto& p : split_go_template(repl)) {
    if (!out.empty()) out += '|';
    out += p.group ? "<" + p.text + ":" + std::to_string(p.number) + ">" : p.text;
  }
  return out;
}
}  // namespace

TEST_CASE("gocompat: templates split as Go's Regexp.Expand reads them", "[gocompat]") {
  CHECK(show("/new/$1/${2}x") == "/new/|<1:1>|/|<2:2>|x");
  CHECK(show("$$1 costs $$") == "$1 costs $");
  CHECK(show("${name}-$name_2") == "<name:-1>|-|<name_2:-1>");
  CHECK(show("$1x") == "<1x:-1>");  // the group named "1x"
  CHECK(show("$01") == "<01:-1>");  // no leading zeros in Go's numbers
  CHECK(show("$0") == "<0:0>");
  CHECK(show("$123456789") == "<123456789:123456789>");
  CHECK(show("$1234567890") == "<1234567890:-1>");  // from 1e8 on, a name
  // Malformed references: the '$' is literal.
  CHECK(show("a$") == "a$");
  CHECK(show("$-x") == "$-x");
  CHECK(show("${}") == "${}");
  CHECK(show("${1") == "${1");
  CHECK(show("${a-b}") == "${a-b}");
  CHECK(show("") == "");
}

TEST_CASE("gocompat: back-references for HAProxy (shift, no named groups)", "[gocompat]") {
  CHECK(go_template_to_backrefs("/new/$1/${2}") == "/new/\\1/\\2");
  CHECK(go_template_to_backrefs("/x/$1-$2", {.shift = 1}) == "/x/\\2-\\3");
  CHECK(go_template_to_backrefs("a\\b$$") == "a\\\\b$");
  CHECK(go_template_to_backrefs("${1") == "${1");
  CHECK_FALSE(go_template_to_backrefs("/p/${id}"));
  CHECK_FALSE(go_template_to_backrefs("$1x"));
  CHECK_FALSE(go_template_to_backrefs("$10"));
  CHECK_FALSE(go_template_to_backrefs("$9", {.shift = 1}));
  CHECK(go_template_to_backrefs("$8", {.shift = 1}) == "\\9");
}

TEST_CASE("gocompat: back-references for RE2 (named groups, unknown groups empty)", "[gocompat]") {
  std::map<std::string, int, std::less<>> names{{"year", 1}, {"id", 2}};
  BackrefOptions o;
  o.groups = 2;
  o.named = [&](std::string_view n) {
    auto it = names.find(n);
    return it == names.end() ? -1 : it->second;
  };
  o.drop_above_nine = true;
  CHECK(go_template_to_backrefs("/p/${id}/$year", o) == "/p/\\2/\\1");
  CHECK(go_template_to_backrefs("/p/$nope-$3-$0", o) == "/p/--\\0");  // unknown groups: nothing
  CHECK(go_template_to_backrefs("$1x", o) == "");
  o.groups = 12;
  CHECK(go_template_to_backrefs("[$10]", o) == "[]");  // RE2 stops at \9
}

TEST_CASE("gocompat: cipher suites and curves by Go name", "[gocompat]") {
  const auto* c = find_cipher_suite("TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256");
  REQUIRE(c);
  CHECK(c->openssl == "ECDHE-RSA-AES128-GCM-SHA256");
  CHECK_FALSE(c->tls13);
  CHECK_FALSE(c->legacy);
  REQUIRE(find_cipher_suite("TLS_AES_256_GCM_SHA384"));
  CHECK(find_cipher_suite("TLS_AES_256_GCM_SHA384")->tls13);
  REQUIRE(find_cipher_suite("TLS_RSA_WITH_RC4_128_SHA"));
  CHECK(find_cipher_suite("TLS_RSA_WITH_RC4_128_SHA")->legacy);
  REQUIRE(find_cipher_suite("TLS_FALLBACK_SCSV"));
  CHECK(find_cipher_suite("TLS_FALLBACK_SCSV")->openssl.empty());
  CHECK_FALSE(find_cipher_suite("ECDHE-RSA-AES128-GCM-SHA256"));
  CHECK(cipher_suites().size() == 28);

  REQUIRE(find_curve("CurveP256"));
  CHECK(find_curve("CurveP256")->openssl == "P-256");
  CHECK(find_curve("secp384r1")->openssl == "P-384");
  CHECK(find_curve("x25519")->openssl == "X25519");
  CHECK(find_curve("X25519MLKEM768")->hybrid);
  CHECK_FALSE(find_curve("P-256"));
  for (const auto& k : curves()) CHECK(find_curve(k.go) == &k);
}
