#include "core/proxy/htpasswd.hpp"

#include <crypt.h>

#include <algorithm>
#include <array>
#include <memory>
#include <optional>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "core/util/base64.hpp"

namespace certroute::proxy {

using util::ErrorKind;
using util::fail;

namespace {

enum class Format { unknown, bcrypt, md5_crypt, sha256_crypt, sha512_crypt, apr1, sha, ssha };

struct FormatInfo {
  std::string_view prefix;
  Format format;
  std::string_view name;  // for messages
};

// The one table of formats; the order matters only in that no prefix is a
// prefix of another.
constexpr FormatInfo kFormats[] = {
    {"$2a$", Format::bcrypt, "bcrypt"},
    {"$2b$", Format::bcrypt, "bcrypt"},
    {"$2y$", Format::bcrypt, "bcrypt"},
    {"$1$", Format::md5_crypt, "MD5-crypt ($1$)"},
    {"$5$", Format::sha256_crypt, "SHA-256-crypt ($5$)"},
    {"$6$", Format::sha512_crypt, "SHA-512-crypt ($6$)"},
    {"$apr1$", Format::apr1, "Apache MD5 ($apr1$)"},
    {"{SHA}", Format::sha, "{SHA}"},
    {"{SSHA}", Format::ssha, "{SSHA}"},
};

const FormatInfo* detect(std::string_view hash) {
  for (const auto& f : kFormats)
    if (hash.starts_with(f.prefix)) return &f;
  return nullptr;
}

constexpr std::string_view kCryptAlphabet = "./0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
constexpr std::size_t kSha1Size = 20;

bool crypt_chars(std::string_view s) { return s.find_first_not_of(kCryptAlphabet) == std::string_view::npos; }

// Standard base64 (with or without padding) through the base64url decoder.
std::optional<std::string> decode_base64(std::string_view text) {
  std::string s(text);
  for (char& c : s) {
    if (c == '-' || c == '_') return std::nullopt;
    if (c == '+') c = '-';
    else if (c == '/') c = '_';
  }
  return util::base64url_decode(s);
}

// "$P$[rounds=N$]salt$digest": salt of at most max_salt characters (no '$'),
// digest of exactly digest_len crypt characters.
bool well_formed_crypt(std::string_view rest, std::size_t max_salt, std::size_t digest_len, bool rounds_allowed) {
  if (rounds_allowed && rest.starts_with("rounds=")) {
    auto end = rest.find('$');
    if (end == std::string_view::npos) return false;
    std::string_view n = rest.substr(7, end - 7);
    if (n.empty() || n.find_first_not_of("0123456789") != std::string_view::npos) return false;
    rest.remove_prefix(end + 1);
  }
  auto dollar = rest.find('$');
  if (dollar == std::string_view::npos || dollar > max_salt) return false;
  std::string_view digest = rest.substr(dollar + 1);
  return digest.size() == digest_len && crypt_chars(digest);
}

bool well_formed(const FormatInfo& f, std::string_view hash) {
  std::string_view rest = hash.substr(f.prefix.size());
  switch (f.format) {
    case Format::bcrypt: {
      // "$2y$" cost(2 digits, 04..31) "$" 22 salt + 31 hash characters.
      if (rest.size() != 56 || rest[2] != '$') return false;
      if (rest[0] < '0' || rest[0] > '3' || rest[1] < '0' || rest[1] > '9') return false;
      int cost = (rest[0] - '0') * 10 + (rest[1] - '0');
      return cost >= 4 && cost <= 31 && crypt_chars(rest.substr(3));
    }
    case Format::md5_crypt:
    case Format::apr1:
      return well_formed_crypt(rest, 8, 22, false);
    case Format::sha256_crypt:
      return well_formed_crypt(rest, 16, 43, true);
    case Format::sha512_crypt:
      return well_formed_crypt(rest, 16, 86, true);
    case Format::sha: {
      auto raw = decode_base64(rest);
      return raw && raw->size() == kSha1Size;
    }
    case Format::ssha: {
      auto raw = decode_base64(rest);
      return raw && raw->size() > kSha1Size;
    }
    case Format::unknown:
      break;
  }
  return false;
}

bool sha1(std::string_view a, std::string_view b, std::array<unsigned char, kSha1Size>& out) {
  std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx(EVP_MD_CTX_new(), &EVP_MD_CTX_free);
  unsigned len = 0;
  return ctx && EVP_DigestInit_ex(ctx.get(), EVP_sha1(), nullptr) == 1 &&
         EVP_DigestUpdate(ctx.get(), a.data(), a.size()) == 1 && EVP_DigestUpdate(ctx.get(), b.data(), b.size()) == 1 &&
         EVP_DigestFinal_ex(ctx.get(), out.data(), &len) == 1 && len == kSha1Size;
}

// {SHA}: base64(SHA-1(password)); {SSHA}: base64(SHA-1(password + salt) + salt).
bool verify_sha(std::string_view password, std::string_view encoded, bool salted) {
  auto raw = decode_base64(encoded);
  if (!raw || raw->size() < kSha1Size) return false;
  std::string_view stored(*raw);
  std::string_view salt = salted ? stored.substr(kSha1Size) : std::string_view{};
  std::array<unsigned char, kSha1Size> digest{};
  if (!sha1(password, salt, digest)) return false;
  return constant_time_equals(stored.substr(0, kSha1Size),
                              std::string_view(reinterpret_cast<const char*>(digest.data()), digest.size()));
}

bool verify_crypt(std::string_view password, std::string_view hash) {
  // crypt(3) takes C strings: a NUL inside the password would cut it short.
  if (password.find('\0') != std::string_view::npos) return false;
  auto data = std::make_unique<crypt_data>();  // ~32 KiB: on the heap, zeroed
  const std::string pw(password), setting(hash);
  // crypt_rn is libxcrypt's crypt_r with the buffer size given; it also is
  // not intercepted by AddressSanitizer, whose crypt_r interceptor cannot
  // find libxcrypt's versioned crypt_r and calls a null pointer.
  const char* out = crypt_rn(pw.c_str(), setting.c_str(), data.get(), static_cast<int>(sizeof(crypt_data)));
  // On failure it returns NULL (crypt_r: a string starting with '*'), which
  // no well-formed hash equals.
  if (!out || out[0] == '*') return false;
  return constant_time_equals(out, hash);
}

}  // namespace

bool constant_time_equals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  return CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

// Apache's variant of MD5-crypt (the FreeBSD algorithm with magic "$apr1$"):
//   digest = MD5(password + magic + salt + alternate-bytes + bit-pattern), where
//   alternate = MD5(password + salt + password) repeated to the password's length
//   and the bit pattern walks the password length's bits (1 -> NUL, 0 -> the
//   password's first byte); then 1000 rounds that mix password, salt and the
//   previous digest depending on the round number; finally the 16 bytes are
//   written in a fixed permutation as 22 crypt-base64 characters.
std::string apr1_crypt(std::string_view password, std::string_view salt) {
  constexpr std::string_view magic = "$apr1$";
  if (salt.starts_with(magic)) salt.remove_prefix(magic.size());
  salt = salt.substr(0, salt.find('$'));
  if (salt.size() > 8) salt = salt.substr(0, 8);

  std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx(EVP_MD_CTX_new(), &EVP_MD_CTX_free);
  if (!ctx) return {};
  std::array<unsigned char, 16> digest{};
  bool ok = true;
  auto begin = [&] { ok = ok && EVP_DigestInit_ex(ctx.get(), EVP_md5(), nullptr) == 1; };
  auto add = [&](const void* p, std::size_t n) { ok = ok && EVP_DigestUpdate(ctx.get(), p, n) == 1; };
  auto add_sv = [&](std::string_view s) { add(s.data(), s.size()); };
  auto finish = [&] {
    unsigned len = 0;
    ok = ok && EVP_DigestFinal_ex(ctx.get(), digest.data(), &len) == 1 && len == digest.size();
  };

  // The alternate digest.
  begin();
  add_sv(password);
  add_sv(salt);
  add_sv(password);
  finish();
  const std::array<unsigned char, 16> alternate = digest;

  begin();
  add_sv(password);
  add_sv(magic);
  add_sv(salt);
  for (std::size_t left = password.size(); left > 0; left -= std::min<std::size_t>(left, 16))
    add(alternate.data(), std::min<std::size_t>(left, 16));
  const unsigned char zero = 0;
  for (std::size_t bits = password.size(); bits != 0; bits >>= 1) {
    if (bits & 1) add(&zero, 1);
    else add(password.data(), 1);
  }
  finish();

  for (int round = 0; round < 1000; ++round) {
    const std::array<unsigned char, 16> previous = digest;
    begin();
    if (round & 1) add_sv(password);
    else add(previous.data(), previous.size());
    if (round % 3 != 0) add_sv(salt);
    if (round % 7 != 0) add_sv(password);
    if (round & 1) add(previous.data(), previous.size());
    else add_sv(password);
    finish();
  }
  if (!ok) return {};

  std::string out(magic);
  out += salt;
  out += '$';
  // Three bytes at a time become four characters, least significant six bits first.
  auto emit = [&](unsigned value, int chars) {
    for (int i = 0; i < chars; ++i) {
      out += kCryptAlphabet[value & 0x3f];
      value >>= 6;
    }
  };
  static constexpr std::array<std::array<int, 3>, 5> groups = {{{0, 6, 12}, {1, 7, 13}, {2, 8, 14}, {3, 9, 15}, {4, 10, 5}}};
  for (const auto& g : groups)
    emit((unsigned(digest[g[0]]) << 16) | (unsigned(digest[g[1]]) << 8) | digest[g[2]], 4);
  emit(digest[11], 2);
  return out;
}

bool known_hash_format(std::string_view hash) {
  const FormatInfo* f = detect(hash);
  return f && well_formed(*f, hash);
}

bool verify_password(std::string_view password, std::string_view hash) {
  const FormatInfo* f = detect(hash);
  if (!f || !well_formed(*f, hash)) return false;
  switch (f->format) {
    case Format::bcrypt:
    case Format::md5_crypt:
    case Format::sha256_crypt:
    case Format::sha512_crypt:
      return verify_crypt(password, hash);
    case Format::apr1: {
      std::string computed = apr1_crypt(password, hash.substr(f->prefix.size()));
      return !computed.empty() && constant_time_equals(computed, hash);
    }
    case Format::sha:
      return verify_sha(password, hash.substr(f->prefix.size()), false);
    case Format::ssha:
      return verify_sha(password, hash.substr(f->prefix.size()), true);
    case Format::unknown:
      break;
  }
  return false;
}

namespace {

std::string_view trim(std::string_view s) {
  constexpr std::string_view ws = " \t\r";
  auto b = s.find_first_not_of(ws);
  if (b == std::string_view::npos) return {};
  return s.substr(b, s.find_last_not_of(ws) - b + 1);
}

constexpr const char* kKnownFormats = "known formats: bcrypt ($2y$, $2b$, $2a$), $apr1$, $1$, $5$, $6$, {SHA}, {SSHA}";

}  // namespace

util::Result<HtpasswdUser> parse_htpasswd_entry(std::string_view entry) {
  entry = trim(entry);
  auto colon = entry.find(':');
  if (colon == std::string_view::npos)
    return fail(util::Error(ErrorKind::bad_input, "expected USER:HASH").with_hint("make one with 'htpasswd -nB USER'"));
  HtpasswdUser u{std::string(entry.substr(0, colon)), std::string(entry.substr(colon + 1))};
  if (u.user.empty()) return fail(ErrorKind::bad_input, "empty user name");
  const FormatInfo* f = detect(u.hash);
  if (!f) return fail(util::Error(ErrorKind::bad_input, "unknown hash format (user '" + u.user + "')").with_hint(kKnownFormats));
  if (!well_formed(*f, u.hash))
    return fail(ErrorKind::bad_input, "malformed " + std::string(f->name) + " hash (user '" + u.user + "')");
  return u;
}

util::Result<std::vector<HtpasswdUser>> parse_htpasswd(std::string_view text) {
  std::vector<HtpasswdUser> users;
  int line_no = 0;
  while (!text.empty()) {
    auto nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    text = nl == std::string_view::npos ? std::string_view{} : text.substr(nl + 1);
    ++line_no;
    line = trim(line);
    if (line.empty() || line.starts_with('#')) continue;
    auto u = parse_htpasswd_entry(line);
    if (!u) return fail_with(std::move(u), "line " + std::to_string(line_no));
    users.push_back(std::move(*u));
  }
  return users;
}

}  // namespace certroute::proxy
