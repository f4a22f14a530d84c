#include "core/routes/render/common.hpp"

#include <cctype>

#include "core/routes/decode.hpp"
#include "core/routes/render/analysis.hpp"

namespace certroute::routes::render::common {

const DocNode* child(const DocNode* n, std::string_view key) { return n && n->is_mapping() ? n->find(key) : nullptr; }

bool truthy(const DocNode* n, std::string_view key) {
  const DocNode* v = child(n, key);
  return v && v->is_scalar() && parse_go_bool(v->text).value_or(false);
}

std::vector<std::string> strings(const DocNode* n) {
  std::vector<std::string> out;
  if (n && n->is_sequence())
    for (const auto& i : n->items)
      if (i.is_scalar()) out.push_back(i.text);
  return out;
}

std::string join(const std::vector<std::string>& v, std::string_view sep) {
  std::string out;
  for (std::size_t i = 0; i < v.size(); ++i) out += (i ? std::string(sep) : "") + v[i];
  return out;
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::string one_line(std::string_view s) {
  std::string out;
  for (char c : s) out += (c == '\n' || c == '\r') ? ' ' : c;
  return out;
}

int capture_groups(std::string_view re) {
  int n = 0;
  bool in_class = false;
  for (std::size_t i = 0; i < re.size(); ++i) {
    char c = re[i];
    if (c == '\\') {
      ++i;
      continue;
    }
    if (in_class) {
      if (c == ']') in_class = false;
      continue;
    }
    if (c == '[') {
      in_class = true;
      if (i + 1 < re.size() && re[i + 1] == ']') ++i;
      continue;
    }
    if (c == '(') {
      if (i + 1 < re.size() && re[i + 1] == '?') {
        if (i + 2 < re.size() && (re[i + 2] == 'P' || re[i + 2] == '<')) ++n;  // named group
        continue;
      }
      ++n;
    }
  }
  return n;
}

Url parse_url(std::string_view s) {
  Url u;
  auto colon = s.find("://");
  if (colon == std::string_view::npos) return u;
  u.scheme = lower(s.substr(0, colon));
  std::string_view rest = s.substr(colon + 3);
  auto slash = rest.find_first_of("/?#");
  std::string_view authority = rest.substr(0, slash);
  u.path = slash == std::string_view::npos ? "" : std::string(rest.substr(slash));
  if (auto at = authority.rfind('@'); at != std::string_view::npos) authority = authority.substr(at + 1);
  std::string_view port;
  if (!authority.empty() && authority.front() == '[') {
    auto close = authority.find(']');
    if (close == std::string_view::npos) return u;
    u.host = std::string(authority.substr(0, close + 1));
    if (close + 1 < authority.size() && authority[close + 1] == ':') port = authority.substr(close + 2);
  } else {
    auto c = authority.rfind(':');
    u.host = std::string(authority.substr(0, c));
    if (c != std::string_view::npos) port = authority.substr(c + 1);
  }
  if (!port.empty()) {
    auto p = parse_go_int(port);
    if (!p || *p < 1 || *p > 65535) return u;
    u.port = static_cast<int>(*p);
  } else {
    u.port = u.scheme == "https" ? 443 : 80;
  }
  u.ok = !u.host.empty() && (u.scheme == "http" || u.scheme == "https" || u.scheme == "h2c");
  return u;
}

std::string listen_address(const EntryPoint& ep) {
  std::string a = ep.address;
  if (a.find(':') != std::string::npos) a = "[" + a + "]";  // IPv6 literal
  return a + ":" + std::to_string(ep.port);
}

std::vector<std::string> basic_auth_users(const Middleware& m, const DocNode* n, Diagnostics& diags) {
  std::vector<std::string> users = strings(child(n, "users"));
  if (std::string file = field(n, {"usersFile"}); !file.empty()) {
    std::string err;
    if (auto text = file_or_content(file, err)) {
      std::size_t start = 0;
      while (start <= text->size()) {
        auto nl = text->find('\n', start);
        std::string line = text->substr(start, nl == std::string::npos ? std::string::npos : nl - start);
        if (!line.empty() && line.back() == '\r') line.pop_back();
        if (!line.empty() && line[0] != '#') users.push_back(line);
        if (nl == std::string::npos) break;
        start = nl + 1;
      }
    } else {
      diags.add(Code::unsupported_by_target, m.pos,
                "middleware '" + m.name + "' (basicAuth): usersFile " + file + ": " + err + "; its users are left out");
    }
  }
  return users;
}

std::string ascii_lower(std::string_view s) {
  std::string o(s);
  for (char& c : o)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  return o;
}

bool valid_hostname(std::string_view h) {
  if (h.empty() || h.size() > 253) return false;
  bool all_digits_or_dots = true;
  std::size_t label = 0;
  for (std::size_t i = 0; i < h.size(); ++i) {
    char c = h[i];
    if (c == '.') {
      if (label == 0 || h[i - 1] == '-') return false;
      label = 0;
      continue;
    }
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-')) return false;
    if (label == 0 && c == '-') return false;
    if (++label > 63) return false;
    if (!(c >= '0' && c <= '9')) all_digits_or_dots = false;
  }
  return label > 0 && h.back() != '-' && !all_digits_or_dots;
}

std::optional<std::string> host_regexp_wildcard(std::string_view re, std::initializer_list<std::string_view> heads) {
  for (std::string_view head : heads) {
    if (!re.starts_with(head) || !re.ends_with("$")) continue;
    std::string_view rest = re.substr(head.size(), re.size() - head.size() - 1);
    std::string domain;
    for (std::size_t i = 0; i < rest.size(); ++i) {
      if (rest[i] == '\\' && i + 1 < rest.size() && rest[i + 1] == '.') {
        domain += '.';
        ++i;
      } else if ((rest[i] >= 'a' && rest[i] <= 'z') || (rest[i] >= '0' && rest[i] <= '9') || rest[i] == '-') {
        domain += rest[i];
      } else {
        return std::nullopt;
      }
    }
    if (valid_hostname(domain)) return "*." + domain;
  }
  return std::nullopt;
}

}  // namespace certroute::routes::render::common
