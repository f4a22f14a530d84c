// Password checks for the basicAuth middleware: the htpasswd formats Traefik
// accepts. bcrypt ($2a$, $2b$, $2y$) and the crypt(3) schemes ($1$, $5$, $6$)
// go through libcrypt's crypt_r; Apache's "$apr1$" MD5, "{SHA}" (base64 SHA-1)
// and "{SSHA}" are computed here with OpenSSL's digests. Comparisons are
// constant-time.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "core/util/error.hpp"

namespace certroute::proxy {

struct HtpasswdUser {
  std::string user;
  std::string hash;  // as written after the first ':'
};

// Parses "user:hash" entries: one per line (a usersFile) or one per string
// (the `users` list). Blank lines and lines starting with '#' are skipped. An
// entry without ':' or with an empty user or a hash in no known format is a
// bad_input error naming the line number: "line 3: unknown hash format".
util::Result<std::vector<HtpasswdUser>> parse_htpasswd(std::string_view text);
util::Result<HtpasswdUser> parse_htpasswd_entry(std::string_view entry);

// True when the hash is in a format verify_password understands.
bool known_hash_format(std::string_view hash);

// True when password matches hash. Unknown formats never match.
bool verify_password(std::string_view password, std::string_view hash);

// Constant-time equality (the time depends only on the lengths).
bool constant_time_equals(std::string_view a, std::string_view b);

// The "$apr1$salt$hash" string for a password and salt (tests, and users who
// want to make one).
std::string apr1_crypt(std::string_view password, std::string_view salt);

}  // namespace certroute::proxy
