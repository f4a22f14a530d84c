#include <catch2/catch.hpp>

#include "core/proxy/htpasswd.hpp"

using namespace certroute::proxy;
using certroute::util::ErrorKind;

// The vectors were made with real tools when this test was written:
//   openssl passwd -apr1 -salt SALT PW, openssl passwd -1/-5/-6 -salt SALT PW,
//   python3 crypt.crypt(PW, crypt.mksalt(crypt.METHOD_BLOWFISH, rounds=16)) (and
//   fixed salts for $2y$/$2b$), base64(hashlib.sha1(...)) for {SHA}/{SSHA}.

TEST_CASE("apr1_crypt matches openssl passwd -apr1", "[htpasswd]") {
  CHECK(apr1_crypt("secret", "r31.....") == "$apr1$r31.....$G/cElGhD0cboYkZN5h5Ne/");
  CHECK(apr1_crypt("pässwörd", "abcdefgh") == "$apr1$abcdefgh$030j6I3f1zNCF9tihqdd11");
  CHECK(apr1_crypt("", "x") == "$apr1$x$tMwYqBfQwi3FYAr0aJc8M/");
  CHECK(apr1_crypt("a-much-longer-password-over-sixteen-chars-long-yes", "Zz9") == "$apr1$Zz9$JgXYnRfL0uQo7n62sLYaR/");
  // A whole hash (or "$apr1$salt") works as the salt argument; salts stop at 8 characters.
  CHECK(apr1_crypt("secret", "$apr1$r31.....$G/cElGhD0cboYkZN5h5Ne/") == "$apr1$r31.....$G/cElGhD0cboYkZN5h5Ne/");
  CHECK(apr1_crypt("secret", "r31.....tail") == "$apr1$r31.....$G/cElGhD0cboYkZN5h5Ne/");
}

TEST_CASE("verify_password checks each format with the right and a wrong password", "[htpasswd]") {
  struct Vector {
    const char* password;
    const char* hash;
  };
  const Vector vectors[] = {
      {"secret", "$apr1$r31.....$G/cElGhD0cboYkZN5h5Ne/"},
      {"", "$apr1$x$tMwYqBfQwi3FYAr0aJc8M/"},
      {"secret", "$1$saltsalt$9xy1btjgzLYfb7hivXtC//"},
      {"secret", "$5$saltsaltsalt$TihBZCRsJxAxHgKub.mCOdu9X7QLi980jJxe7T2aZg7"},
      {"secret", "$5$rounds=10000$abc$gUo9vV4010PnKoHeufFmcisGRhIGjG9FW.7eJKux.1/"},
      {"secret",
       "$6$sixsalt$5uSYjBkHTX/TgOmsyKZICQbrnzFdV9sZYrmKXRaff7Sm3cV4p.8JxXso3T6I5MeFlLf0pOia8rraCiQTDXiu2/"},
      {"secret", "$2a$04$im2vQBUnob6xSLrgyEbdAOtDsOQKl9yac5MBLFy3pdEMNsKgxNPke"},
      {"secret", "$2b$04$/V9qlhaUEfHdUKcQAtekSepIue7npCYl.iODTcJS9jE6oi.yCL1H2"},
      {"secret", "$2y$05$abcdefghijklmnopqrstuuOQiyCxlgf/oeuTqixKmWdcYUh4Hjl0a"},
      {"correct horse", "$2b$04$0123456789ABCDEFGHIJK.lFcSvZ8ho73rYGVlk5mSK.OAYv7TNKm"},
      {"secret", "{SHA}5en6G6MezRroT3XKqkdPOmY/BfQ="},
      {"secret", "{SSHA}wO7LpWB6wU0XyN5z6C5W8pVCW1QBAnNhbHT/"},
  };
  for (const auto& v : vectors) {
    INFO(v.hash);
    CHECK(known_hash_format(v.hash));
    CHECK(verify_password(v.password, v.hash));
    CHECK_FALSE(verify_password(std::string(v.password) + "x", v.hash));
    CHECK_FALSE(verify_password("Secret", v.hash));
    CHECK_FALSE(verify_password(std::string(v.password) + '\0', v.hash));
  }
}

TEST_CASE("verify_password refuses unknown and malformed hashes", "[htpasswd]") {
  CHECK_FALSE(verify_password("secret", "secret"));  // plain text is not a format
  CHECK_FALSE(verify_password("", ""));
  CHECK_FALSE(verify_password("secret", "$apr1$r31.....$G/cElGhD0cboYkZN5h5Ne"));  // digest one short
  CHECK_FALSE(verify_password("secret", "$2y$05$abcdefghijklmnopqrstuuOQiyCxlgf/oeuTqixKmWdcYUh4Hjl0"));
  CHECK_FALSE(verify_password("secret", "$2y$03$abcdefghijklmnopqrstuuOQiyCxlgf/oeuTqixKmWdcYUh4Hjl0a"));  // cost < 4
  CHECK_FALSE(verify_password("secret", "{SHA}5en6G6MezRroT3XKqkdPOmY/Bf=="));  // 19 bytes
  CHECK_FALSE(verify_password("secret", "{SHA}5en6G6MezRroT3XKqkdPOmY_BfQ="));  // base64url is not base64
  CHECK_FALSE(verify_password("secret", "{SSHA}5en6G6MezRroT3XKqkdPOmY/BfQ="));  // no salt
  CHECK_FALSE(verify_password("secret", "$3$whatever"));
  CHECK_FALSE(known_hash_format("$apr1$toolongsalt$G/cElGhD0cboYkZN5h5Ne/"));
  CHECK_FALSE(known_hash_format("$5$rounds=x$abc$gUo9vV4010PnKoHeufFmcisGRhIGjG9FW.7eJKux.1/"));
  CHECK_FALSE(known_hash_format("$6$sixsalt$short"));
  CHECK_FALSE(known_hash_format("{sha}5en6G6MezRroT3XKqkdPOmY/BfQ="));  // the prefix is case-sensitive
}

TEST_CASE("constant_time_equals compares bytes and lengths", "[htpasswd]") {
  CHECK(constant_time_equals("", ""));
  CHECK(constant_time_equals("abc", "abc"));
  CHECK_FALSE(constant_time_equals("abc", "abd"));
  CHECK_FALSE(constant_time_equals("abc", "abcd"));
  CHECK_FALSE(constant_time_equals("abc", ""));
  CHECK(constant_time_equals(std::string_view("a\0b", 3), std::string_view("a\0b", 3)));
  CHECK_FALSE(constant_time_equals(std::string_view("a\0b", 3), std::string_view("a\0c", 3)));
}

TEST_CASE("parse_htpasswd reads users, skipping comments and blank lines", "[htpasswd]") {
  auto users = parse_htpasswd(
      "# users for the dashboard\n"
      "\n"
      "alice:$apr1$r31.....$G/cElGhD0cboYkZN5h5Ne/\r\n"
      "   \t\n"
      "  # an indented comment\n"
      "bob:{SHA}5en6G6MezRroT3XKqkdPOmY/BfQ=\n"
      "carol:$2y$05$abcdefghijklmnopqrstuuOQiyCxlgf/oeuTqixKmWdcYUh4Hjl0a");  // no final newline
  REQUIRE(users);
  REQUIRE(users->size() == 3);
  CHECK((*users)[0].user == "alice");
  CHECK((*users)[0].hash == "$apr1$r31.....$G/cElGhD0cboYkZN5h5Ne/");
  CHECK((*users)[1].user == "bob");
  CHECK((*users)[1].hash == "{SHA}5en6G6MezRroT3XKqkdPOmY/BfQ=");
  CHECK((*users)[2].user == "carol");
  CHECK(verify_password("secret", (*users)[2].hash));

  auto empty = parse_htpasswd("");
  REQUIRE(empty);
  CHECK(empty->empty());
  auto only_comments = parse_htpasswd("# nothing\n\n#\n");
  REQUIRE(only_comments);
  CHECK(only_comments->empty());
}

TEST_CASE("parse_htpasswd names the line of a bad entry", "[htpasswd]") {
  auto check = [](std::string_view text, const std::string& message) {
    auto r = parse_htpasswd(text);
    REQUIRE_FALSE(r);
    CHECK(r.error().kind() == ErrorKind::bad_input);
    CHECK(r.error().message() == message);
  };
  check("# c\n\nalice:plaintext\n", "line 3: unknown hash format (user 'alice')");
  check("alice:{SHA}5en6G6MezRroT3XKqkdPOmY/BfQ=\nbob\n", "line 2: expected USER:HASH");
  check("\n\n\n\n:{SHA}5en6G6MezRroT3XKqkdPOmY/BfQ=\n", "line 5: empty user name");
  check("dave:$apr1$r31.....$short\n", "line 1: malformed Apache MD5 ($apr1$) hash (user 'dave')");
  check("a:$1$saltsalt$9xy1btjgzLYfb7hivXtC//\r\nb:$2y$99$x\r\n", "line 2: malformed bcrypt hash (user 'b')");

  auto r = parse_htpasswd("alice:nope\n");
  REQUIRE_FALSE(r);
  CHECK_THAT(r.error().hint(), Catch::Contains("$apr1$"));
}

TEST_CASE("parse_htpasswd_entry splits at the first colon", "[htpasswd]") {
  auto u = parse_htpasswd_entry("test:$apr1$H6uskkkW$IgXLP6ewTrSuBkTrqE8wj/");
  REQUIRE(u);
  CHECK(u->user == "test");
  CHECK(u->hash == "$apr1$H6uskkkW$IgXLP6ewTrSuBkTrqE8wj/");
  // The example from Traefik's basicAuth documentation, password "test".
  CHECK(verify_password("test", u->hash));

  auto bad = parse_htpasswd_entry("no-colon");
  REQUIRE_FALSE(bad);
  CHECK(bad.error().message() == "expected USER:HASH");
  auto unknown = parse_htpasswd_entry("u:md5:abc");
  REQUIRE_FALSE(unknown);
  CHECK(unknown.error().message() == "unknown hash format (user 'u')");
}
