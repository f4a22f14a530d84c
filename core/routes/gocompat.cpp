#include "core/routes/gocompat.hpp"

#include <algorithm>

namespace certroute::routes::gocompat {

namespace {

bool name_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
}

// Go's number of a group name: digits only, below 1e8, no leading zero; else -1.
int group_number(std::string_view name) {
  int num = 0;
  for (char c : name) {
    if (c < '0' || c > '9' || num >= 100000000) return -1;
    num = num * 10 + (c - '0');
  }
  if (name.size() > 1 && name.front() == '0') return -1;
  return num;
}

}  // namespace

std::vector<TemplatePart> split_go_template(std::string_view repl) {
  std::vector<TemplatePart> parts;
  auto literal = [&](std::string_view s) {
    if (s.empty()) return;
    if (parts.empty() || parts.back().group) parts.push_back({});
    parts.back().text += s;
  };
  while (!repl.empty()) {
    auto dollar = repl.find('$');
    literal(repl.substr(0, dollar));
    if (dollar == std::string_view::npos) break;
    repl.remove_prefix(dollar + 1);
    if (!repl.empty() && repl.front() == '$') {  // "$$" is "$"
      literal("$");
      repl.remove_prefix(1);
      continue;
    }
    // Go's extract(): the name, braced or not.
    bool brace = !repl.empty() && repl.front() == '{';
    std::size_t start = brace ? 1 : 0, end = start;
    while (end < repl.size() && name_char(repl[end])) ++end;
    bool ok = end > start && (!brace || (end < repl.size() && repl[end] == '}'));
    if (!ok) {  // malformed: the '$' is literal, the rest read on
      literal("$");
      continue;
    }
    std::string_view name = repl.substr(start, end - start);
    parts.push_back({true, std::string(name), group_number(name)});
    repl.remove_prefix(brace ? end + 1 : end);
  }
  return parts;
}

std::optional<std::string> go_template_to_backrefs(std::string_view repl, const BackrefOptions& opts) {
  std::string out;
  for (const auto& p : split_go_template(repl)) {
    if (!p.group) {
      for (char c : p.text) {
        if (c == '\\') out += '\\';
        out += c;
      }
      continue;
    }
    int n = p.number;
    if (n < 0) {
      if (!opts.named) return std::nullopt;
      n = opts.named(p.text);
      if (n < 0) continue;  // Go replaces an unknown group with nothing
    }
    if (opts.groups >= 0 && n > opts.groups) continue;
    n += opts.shift;
    if (n > 9) {
      if (opts.drop_above_nine) continue;
      return std::nullopt;
    }
    out += '\\';
    out += std::to_string(n);
  }
  return out;
}

namespace {

// Go's crypto/tls suite names (the ones Traefik accepts), in the order the
// proxy lists them in its diagnostics.
constexpr CipherSuite kCipherSuites[] = {
    {"TLS_RSA_WITH_RC4_128_SHA", "RC4-SHA", false, true},
    {"TLS_RSA_WITH_3DES_EDE_CBC_SHA", "DES-CBC3-SHA", false, true},
    {"TLS_RSA_WITH_AES_128_CBC_SHA", "AES128-SHA", false, false},
    {"TLS_RSA_WITH_AES_256_CBC_SHA", "AES256-SHA", false, false},
    {"TLS_RSA_WITH_AES_128_CBC_SHA256", "AES128-SHA256", false, false},
    {"TLS_RSA_WITH_AES_128_GCM_SHA256", "AES128-GCM-SHA256", false, false},
    {"TLS_RSA_WITH_AES_256_GCM_SHA384", "AES256-GCM-SHA384", false, false},
    {"TLS_ECDHE_ECDSA_WITH_RC4_128_SHA", "ECDHE-ECDSA-RC4-SHA", false, true},
    {"TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA", "ECDHE-ECDSA-AES128-SHA", false, false},
    {"TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA", "ECDHE-ECDSA-AES256-SHA", false, false},
    {"TLS_ECDHE_RSA_WITH_RC4_128_SHA", "ECDHE-RSA-RC4-SHA", false, true},
    {"TLS_ECDHE_RSA_WITH_3DES_EDE_CBC_SHA", "ECDHE-RSA-DES-CBC3-SHA", false, true},
    {"TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA", "ECDHE-RSA-AES128-SHA", false, false},
    {"TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA", "ECDHE-RSA-AES256-SHA", false, false},
    {"TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256", "ECDHE-ECDSA-AES128-SHA256", false, false},
    {"TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256", "ECDHE-RSA-AES128-SHA256", false, false},
    {"TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256", "ECDHE-RSA-AES128-GCM-SHA256", false, false},
    {"TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256", "ECDHE-ECDSA-AES128-GCM-SHA256", false, false},
    {"TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384", "ECDHE-RSA-AES256-GCM-SHA384", false, false},
    {"TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384", "ECDHE-ECDSA-AES256-GCM-SHA384", false, false},
    {"TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305", "ECDHE-RSA-CHACHA20-POLY1305", false, false},
    {"TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256", "ECDHE-RSA-CHACHA20-POLY1305", false, false},
    {"TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305", "ECDHE-ECDSA-CHACHA20-POLY1305", false, false},
    {"TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256", "ECDHE-ECDSA-CHACHA20-POLY1305", false, false},
    {"TLS_AES_128_GCM_SHA256", "TLS_AES_128_GCM_SHA256", true, false},
    {"TLS_AES_256_GCM_SHA384", "TLS_AES_256_GCM_SHA384", true, false},
    {"TLS_CHACHA20_POLY1305_SHA256", "TLS_CHACHA20_POLY1305_SHA256", true, false},
    {"TLS_FALLBACK_SCSV", "", false, false},
};

constexpr Curve kCurves[] = {
    {"CurveP256", "P-256", false}, {"secp256r1", "P-256", false}, {"CurveP384", "P-384", false},
    {"secp384r1", "P-384", false}, {"CurveP521", "P-521", false}, {"secp521r1", "P-521", false},
    {"X25519", "X25519", false},   {"x25519", "X25519", false},   {"X25519MLKEM768", "X25519MLKEM768", true},
};

template <typename T, std::size_t N>
const T* find_go(const T (&table)[N], std::string_view go) {
  auto it = std::find_if(std::begin(table), std::end(table), [&](const T& e) { return e.go == go; });
  return it == std::end(table) ? nullptr : &*it;
}

}  // namespace

std::span<const CipherSuite> cipher_suites() { return kCipherSuites; }
const CipherSuite* find_cipher_suite(std::string_view go) { return find_go(kCipherSuites, go); }

std::span<const Curve> curves() { return kCurves; }
const Curve* find_curve(std::string_view go) { return find_go(kCurves, go); }

}  // namespace certroute::routes::gocompat
