#include "core/util/names.hpp"

#include <arpa/inet.h>
#include <idn2.h>

namespace certroute::util {
namespace {

bool is_ascii(std::string_view s) {
  for (unsigned char c : s)
    if (c >= 0x80) return false;
  return true;
}

bool is_ldh(char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-'; }

std::string quoted(std::string_view s) { return "'" + std::string(s) + "'"; }

Result<void> check_ldh_name(std::string_view name, std::string_view shown) {
  const std::string what = "invalid domain name " + quoted(shown);
  if (name.size() > 253) return fail(ErrorKind::bad_input, what + ": longer than 253 characters");
  size_t start = 0;
  std::string_view last;
  while (true) {
    size_t dot = name.find('.', start);
    std::string_view label = name.substr(start, dot == std::string_view::npos ? std::string_view::npos : dot - start);
    if (label.empty()) return fail(ErrorKind::bad_input, what + ": empty label");
    if (label.size() > 63) return fail(ErrorKind::bad_input, what + ": label longer than 63 characters");
    for (char c : label) {
      if (c == '*') return fail(ErrorKind::bad_input, what + ": a wildcard is only allowed as the whole left-most label ('*.example.com')");
      if (c == '_')
        return fail(ErrorKind::bad_input, what + ": '_' is not allowed in a host name");
      if (!is_ldh(c)) return fail(ErrorKind::bad_input, what + ": character " + quoted(std::string(1, c)) + " is not allowed");
    }
    if (label.front() == '-' || label.back() == '-')
      return fail(ErrorKind::bad_input, what + ": a label may not start or end with '-'");
    last = label;
    if (dot == std::string_view::npos) break;
    start = dot + 1;
  }
  bool numeric = true;
  for (char c : last)
    if (c < '0' || c > '9') numeric = false;
  if (numeric) return fail(ErrorKind::bad_input, what + ": the last label is all digits");
  return {};
}

}  // namespace

bool is_ip_address(std::string_view s) {
  std::string z(s);
  unsigned char buf[16];
  return inet_pton(AF_INET, z.c_str(), buf) == 1 || inet_pton(AF_INET6, z.c_str(), buf) == 1;
}

Result<std::string> normalize_dns_name(std::string_view input, const DnsNameOptions& options) {
  if (input.empty()) return fail(ErrorKind::bad_input, "invalid domain name '': empty");
  if (is_ip_address(input))
    return fail(Error(ErrorKind::bad_input, "invalid domain name " + quoted(input) + ": it is an IP address")
                    .with_hint("use --ip for IP addresses"));
  std::string_view name = input;
  if (name.size() > 1 && name.back() == '.') name.remove_suffix(1);  // fully-qualified form

  std::string prefix;
  if (name.starts_with("*.")) {
    if (!options.allow_wildcard)
      return fail(ErrorKind::bad_input, "invalid domain name " + quoted(input) + ": wildcards are not allowed here");
    prefix = "*.";
    name.remove_prefix(2);
  }

  std::string ascii;
  if (is_ascii(name)) {
    ascii.reserve(name.size());
    for (char c : name) ascii += (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
  } else {
    if (name.find('*') != std::string_view::npos)
      return fail(ErrorKind::bad_input, "invalid domain name " + quoted(input) +
                                            ": a wildcard is only allowed as the whole left-most label ('*.example.com')");
    std::string z(name);
    char* out = nullptr;
    int rc = idn2_to_ascii_8z(z.c_str(), &out, IDN2_NONTRANSITIONAL | IDN2_NFC_INPUT);
    if (rc != IDN2_OK) {
      return fail(ErrorKind::bad_input, "invalid domain name " + quoted(input) + ": " + idn2_strerror(rc));
    }
    ascii = out;
    idn2_free(out);
  }
  if (auto ok = check_ldh_name(ascii, input); !ok) return fail(std::move(ok.error()));

  // A-labels must round-trip: reject "xn--" labels that are not valid punycode.
  size_t start = 0;
  while (start <= ascii.size()) {
    size_t dot = ascii.find('.', start);
    std::string label = ascii.substr(start, dot == std::string::npos ? std::string::npos : dot - start);
    if (label.starts_with("xn--")) {
      // Decode, then encode again under IDNA2008: a valid A-label comes back unchanged.
      char* u = nullptr;
      int rc = idn2_to_unicode_8z8z(label.c_str(), &u, 0);
      std::string back;
      if (rc == IDN2_OK && u && *u) {
        char* a = nullptr;
        rc = idn2_to_ascii_8z(u, &a, IDN2_NONTRANSITIONAL);
        if (rc == IDN2_OK) back = a;
        idn2_free(a);
      }
      idn2_free(u);
      if (back != label) {
        return fail(ErrorKind::bad_input, "invalid domain name " + quoted(input) + ": label '" + label +
                                              "' is not a valid A-label" +
                                              (rc != IDN2_OK ? std::string(" (") + idn2_strerror(rc) + ")" : ""));
      }
    } else if (label.size() >= 4 && label[2] == '-' && label[3] == '-') {
      return fail(ErrorKind::bad_input, "invalid domain name " + quoted(input) + ": label '" + label +
                                            "' has '--' in the third and fourth positions");
    }
    if (dot == std::string::npos) break;
    start = dot + 1;
  }
  std::string full = prefix + ascii;
  if (full.size() > 253)
    return fail(ErrorKind::bad_input, "invalid domain name " + quoted(input) + ": longer than 253 characters");
  return full;
}

Result<std::string> normalize_ip(std::string_view addr) {
  std::string z(addr);
  unsigned char buf[16];
  char out[INET6_ADDRSTRLEN];
  if (inet_pton(AF_INET, z.c_str(), buf) == 1) {
    inet_ntop(AF_INET, buf, out, sizeof out);
    return std::string(out);
  }
  if (inet_pton(AF_INET6, z.c_str(), buf) == 1) {
    inet_ntop(AF_INET6, buf, out, sizeof out);
    return std::string(out);
  }
  return fail(ErrorKind::bad_input, "invalid IP address " + quoted(addr) + ": not an IPv4 or IPv6 address");
}

Result<std::string> normalize_email(std::string_view email) {
  auto at = email.rfind('@');
  if (at == std::string_view::npos || at == 0 || at + 1 == email.size())
    return fail(ErrorKind::bad_input, "invalid e-mail address " + quoted(email) + ": expected local@domain");
  std::string_view local = email.substr(0, at);
  for (unsigned char c : local)
    if (c <= 0x20 || c == 0x7f || c == '@' || c >= 0x80)
      return fail(ErrorKind::bad_input, "invalid e-mail address " + quoted(email) + ": bad character in the local part");
  if (local.size() > 64)
    return fail(ErrorKind::bad_input, "invalid e-mail address " + quoted(email) + ": local part longer than 64 characters");
  auto domain = normalize_dns_name(email.substr(at + 1), {.allow_wildcard = false});
  if (!domain) return fail(std::move(domain.error()).context("invalid e-mail address " + quoted(email)));
  return std::string(local) + "@" + *domain;
}

Result<std::string> normalize_uri(std::string_view uri) {
  auto colon = uri.find(':');
  auto bad = [&](const std::string& why) { return fail(ErrorKind::bad_input, "invalid URI " + quoted(uri) + ": " + why); };
  if (colon == std::string_view::npos || colon == 0) return bad("expected scheme:rest, such as spiffe://example.org/x");
  if (!((uri[0] >= 'a' && uri[0] <= 'z') || (uri[0] >= 'A' && uri[0] <= 'Z'))) return bad("the scheme must start with a letter");
  for (size_t i = 0; i < colon; ++i) {
    char c = uri[i];
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '+' || c == '-' || c == '.';
    if (!ok) return bad("bad character in the scheme");
  }
  if (colon + 1 == uri.size()) return bad("nothing after the scheme");
  for (unsigned char c : uri)
    if (c <= 0x20 || c == 0x7f || c >= 0x80) return bad("spaces, control and non-ASCII characters must be percent-encoded");
  return std::string(uri);
}

bool dns_name_matches(std::string_view pattern, std::string_view host) {
  auto lower = [](std::string_view s) {
    std::string r(s);
    for (auto& c : r)
      if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    if (!r.empty() && r.back() == '.') r.pop_back();
    return r;
  };
  std::string p = lower(pattern), h = lower(host);
  if (p == h) return true;
  if (p.starts_with("*.")) {
    auto dot = h.find('.');
    if (dot == std::string::npos || dot == 0) return false;
    return h.substr(dot) == p.substr(1);
  }
  return false;
}

}  // namespace certroute::util
