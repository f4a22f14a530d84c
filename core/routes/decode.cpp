#include "core/routes/decode.hpp"

#include <algorithm>
#include <cmath>
#include <string>

#include "core/routes/ip.hpp"
#include "core/routes/schema.hpp"

namespace certroute::routes {
namespace {

using schema::Check;
using schema::Field;
using schema::Struct;
using schema::Type;

const char* kind_name(const DocNode& n) {
  switch (n.kind) {
    case DocNode::Kind::null: return "nothing";
    case DocNode::Kind::scalar: return "a single value";
    case DocNode::Kind::sequence: return "a list";
    case DocNode::Kind::mapping: return "a mapping";
  }
  return "a value";
}

std::string quote(std::string_view s) {
  std::string out = "'";
  for (char c : s.substr(0, 80)) out += (static_cast<unsigned char>(c) < 0x20) ? '?' : c;
  if (s.size() > 80) out += "...";
  return out + "'";
}

std::string lower(std::string_view s) {
  std::string o(s);
  for (char& c : o)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  return o;
}

std::string join(std::span<const std::string_view> v, std::size_t max = 8) {
  std::string s;
  for (std::size_t i = 0; i < v.size() && i < max; ++i) s += (i ? ", " : "") + std::string(v[i]);
  if (v.size() > max) s += ", ...";
  return s;
}

class Decoder {
 public:
  explicit Decoder(Diagnostics& diags) : diags_(diags) {}

  void root(DocNode& n) {
    if (n.is_null()) return;
    if (!n.is_mapping()) {
      diags_.add(Code::wrong_type, n.pos,
                 std::string("the file must hold a mapping (http, tcp, udp, tls), not ") + kind_name(n));
      return;
    }
    const Struct& s = schema::dynamic_configuration();
    for (auto& e : n.entries) {
      const Field* f = schema::find_field(s, e.key);
      if (!f) {
        e.valid = false;
        std::string msg = "unknown top-level key " + quote(e.written) + ": Traefik ignores it";
        std::string_view near = schema::nearest_field(s, e.key);
        if (!near.empty()) msg += " (did you mean '" + std::string(near) + "'?)";
        diags_.add(Code::unknown_top_level_key, e.key_pos, msg);
        continue;
      }
    }
    object(n, s);
  }

 private:
  // A struct: every key must be one of its fields.
  void object(DocNode& n, const Struct& s) {
    for (std::size_t i = 0; i < n.entries.size(); ++i) {
      DocEntry& e = n.entries[i];
      if (!e.valid) continue;
      const Field* f = schema::find_field(s, e.key);
      if (!f) {
        e.valid = false;
        unknown_key(e, s);
        continue;
      }
      // Keys are case-insensitive: "loadBalancer" and "loadbalancer" collide.
      bool dup = false;
      for (std::size_t j = 0; j < i; ++j) {
        const DocEntry& o = n.entries[j];
        if (o.valid && o.key == f->name) {
          diags_.add(Code::duplicate_key, e.key_pos,
                     "duplicate key " + quote(e.written) + ": same as " + quote(o.written) + " on line " +
                         std::to_string(o.key_pos.line) + " (keys are case-insensitive)");
          dup = true;
          break;
        }
      }
      if (dup) {
        e.valid = false;
        continue;
      }
      e.key = std::string(f->name);
      if (!f->deprecated.empty()) {
        diags_.add(Code::deprecated, e.key_pos,
                   quote(f->name) + " is deprecated in Traefik v3: " + std::string(f->deprecated));
      }
      if (!value(e.value, *f, e)) e.valid = false;
    }
  }

  void unknown_key(const DocEntry& e, const Struct& s) {
    std::string msg = "unknown key " + quote(e.written) + " in " + std::string(s.name);
    std::string hint;
    std::string_view near = schema::nearest_field(s, e.key);
    if (!near.empty()) {
      msg += " (did you mean '" + std::string(near) + "'?)";
    } else {
      // A key of a nested struct, written one level too high?
      for (const Field& f : s.fields) {
        if (!f.sub || !schema::find_field(*f.sub, e.key)) continue;
        std::string where = std::string(f.name) + (f.type == Type::object_map ? ".<name>" : "") +
                            (f.type == Type::object_list ? "[]" : "");
        hint = quote(schema::find_field(*f.sub, e.key)->name) + " belongs under '" + where + "': indent it there";
        break;
      }
      if (hint.empty() && s.fields.size() <= 8) {
        std::string names;
        for (const Field& f : s.fields) names += (names.empty() ? "" : ", ") + std::string(f.name);
        hint = "the keys of " + std::string(s.name) + " are: " + names;
      }
    }
    diags_.add(Code::unknown_key, e.key_pos, msg, hint);
  }

  bool type_error(const DocNode& n, const Field& f, const std::string& expected, const std::string& hint = {}) {
    std::string got = n.is_scalar() ? quote(n.text) : kind_name(n);
    diags_.add(Code::wrong_type, n.pos, quote(f.name) + " must be " + expected + ", not " + got, hint);
    return false;
  }

  bool scalar_value(DocNode& n, const Field& f) {
    if (n.is_null()) return true;
    if (!n.is_scalar()) {
      const char* what = f.type == Type::string ? "a string" : f.type == Type::integer ? "an integer"
                       : f.type == Type::boolean ? "a boolean" : "a duration";
      return type_error(n, f, what);
    }
    switch (f.type) {
      case Type::boolean:
        if (!parse_go_bool(n.text)) {
          std::string l = lower(n.text);
          std::string hint;
          if (l == "yes" || l == "on" || l == "y") hint = "write true (YAML 1.1 words like yes/on are not booleans for Traefik)";
          if (l == "no" || l == "off" || l == "n") hint = "write false (YAML 1.1 words like no/off are not booleans for Traefik)";
          return type_error(n, f, "true or false", hint);
        }
        return true;
      case Type::integer: {
        auto v = parse_go_int(n.text);
        if (!v) return type_error(n, f, "an integer");
        if (f.check == Check::non_negative && *v < 0) {
          diags_.add(Code::invalid_value, n.pos, quote(f.name) + " must not be negative");
          return false;
        }
        return true;
      }
      case Type::duration:
        if (!parse_go_duration(n.text))
          return type_error(n, f, "a duration", "use Go duration syntax such as 10s, 1m30s or 250ms, or a number of seconds");
        return true;
      default:
        return check_string(n, f, n.text);
    }
  }

  bool check_string(const DocNode& n, const Field& f, std::string_view v) {
    if (n.templated) return true;
    if (f.name != "replacement") env_placeholder(n, v);
    auto allowed = schema::allowed_values(f.check);
    auto one_of = [&](bool case_insensitive) {
      for (auto a : allowed)
        if (case_insensitive ? lower(a) == lower(v) : a == v) return true;
      return false;
    };
    switch (f.check) {
      case Check::tls_version:
        if (!v.empty() && !one_of(false)) {
          diags_.add(Code::ignored_value, n.pos,
                     "unknown TLS version " + quote(v) + ": Traefik ignores it (use one of " + join(allowed) + ")");
        }
        return true;
      case Check::same_site:
        if (!v.empty() && !one_of(true))
          diags_.add(Code::ignored_value, n.pos,
                     "unknown sameSite value " + quote(v) + ": Traefik uses the default (use " + join(allowed) + ")");
        return true;
      case Check::health_mode:
        if (!v.empty() && !one_of(false))
          diags_.add(Code::invalid_value, n.pos, "unknown health-check mode " + quote(v) + " (use " + join(allowed) + ")");
        return true;
      case Check::cipher_suite:
      case Check::curve:
      case Check::client_auth_type:
      case Check::rule_syntax:
        if (!v.empty() && !one_of(false)) {
          const char* what = f.check == Check::cipher_suite ? "cipher suite"
                           : f.check == Check::curve        ? "curve"
                           : f.check == Check::client_auth_type ? "clientAuthType"
                                                                : "rule syntax";
          diags_.add(Code::invalid_value, n.pos,
                     std::string("unknown ") + what + " " + quote(v) + " (use one of " + join(allowed) + ")");
        }
        return true;
      case Check::ip_ranges:
        if (!parse_ip_network(v)) {
          diags_.add(Code::invalid_value, n.pos, quote(v) + " is neither an IP address nor a CIDR range");
        }
        return true;
      default:
        return true;
    }
  }

  // "${NAME}" left for a shell to expand: Traefik keeps it literally.
  void env_placeholder(const DocNode& n, std::string_view v) {
    for (std::size_t i = v.find("${"); i != std::string_view::npos; i = v.find("${", i + 2)) {
      std::size_t j = i + 2;
      if (j >= v.size() || !((v[j] >= 'A' && v[j] <= 'Z') || (v[j] >= 'a' && v[j] <= 'z') || v[j] == '_')) continue;
      while (j < v.size() && ((v[j] >= 'A' && v[j] <= 'Z') || (v[j] >= 'a' && v[j] <= 'z') || (v[j] >= '0' && v[j] <= '9') ||
                              v[j] == '_'))
        ++j;
      if (j < v.size() && (v[j] == '}' || v[j] == ':' || v[j] == '-')) {
        std::string name(v.substr(i + 2, j - i - 2));
        diags_.add(Code::env_placeholder, n.pos,
                   "'${" + name + "}' is not expanded: Traefik reads environment variables only through templates",
                   "write {{ env \"" + name + "\" }} instead");
        return;
      }
    }
  }

  // Splits "a, b" into a sequence, keeping positions when the text is verbatim.
  void split_list(DocNode& n) {
    DocNode seq;
    seq.kind = DocNode::Kind::sequence;
    seq.pos = n.pos;
    std::size_t start = 0;
    while (start <= n.text.size()) {
      std::size_t comma = n.text.find(',', start);
      if (comma == std::string::npos) comma = n.text.size();
      std::size_t b = start, e = comma;
      while (b < e && (n.text[b] == ' ' || n.text[b] == '\t')) ++b;
      while (e > b && (n.text[e - 1] == ' ' || n.text[e - 1] == '\t')) --e;
      DocNode item;
      item.kind = DocNode::Kind::scalar;
      item.quoted = true;
      item.templated = n.templated;
      item.text = n.text.substr(b, e - b);
      item.pos = n.pos;
      if (n.text_offset != DocNode::no_offset) {
        item.text_offset = n.text_offset + b;
        // Code points are what columns count; commas and blanks are ASCII.
        int cols = 0;
        for (std::size_t k = 0; k < b; ++k)
          if ((static_cast<unsigned char>(n.text[k]) & 0xC0) != 0x80) ++cols;
        item.pos.column += cols + (n.quoted ? 1 : 0);
      }
      seq.items.push_back(std::move(item));
      start = comma + 1;
    }
    n = std::move(seq);
  }

  bool value(DocNode& n, const Field& f, const DocEntry&) {
    switch (f.type) {
      case Type::string:
      case Type::integer:
      case Type::boolean:
      case Type::duration:
        return scalar_value(n, f);
      case Type::string_list: {
        if (n.is_null()) return true;
        if (n.is_scalar()) {
          if (n.text.empty()) {
            n.kind = DocNode::Kind::sequence;
            return true;
          }
          split_list(n);
        }
        if (!n.is_sequence()) return type_error(n, f, "a list");
        bool ok = true;
        for (auto& item : n.items) {
          if (!item.is_scalar() && !item.is_null()) {
            diags_.add(Code::wrong_type, item.pos,
                       "the elements of " + quote(f.name) + " must be single values, not " + kind_name(item));
            ok = false;
            continue;
          }
          if (item.is_scalar()) check_string(item, f, item.text);
        }
        return ok;
      }
      case Type::string_map:
      case Type::int_map: {
        if (n.is_null()) return true;
        if (!n.is_mapping()) return type_error(n, f, "a mapping");
        bool ok = true;
        for (auto& e : n.entries) {
          if (e.value.is_null()) continue;
          if (!e.value.is_scalar()) {
            diags_.add(Code::wrong_type, e.value.pos,
                       "the values of " + quote(f.name) + " must be single values, not " + kind_name(e.value));
            e.valid = false;
            ok = false;
          } else if (f.type == Type::int_map && !parse_go_int(e.value.text)) {
            diags_.add(Code::wrong_type, e.value.pos,
                       "the values of " + quote(f.name) + " must be integers, not " + quote(e.value.text));
            e.valid = false;
            ok = false;
          }
        }
        return ok;
      }
      case Type::object:
        if (n.is_null()) return true;
        if (n.is_scalar()) {
          // "tls: true" enables the section with its defaults; false disables it.
          if (n.text.empty() || parse_go_bool(n.text)) return true;
          return type_error(n, f, "a mapping (or true)");
        }
        if (!n.is_mapping()) return type_error(n, f, "a mapping");
        object(n, *f.sub);
        return true;
      case Type::object_list: {
        if (n.is_null()) return true;
        if (!n.is_sequence()) return type_error(n, f, "a list of mappings");
        for (auto& item : n.items) {
          if (item.is_null()) continue;
          if (!item.is_mapping()) {
            diags_.add(Code::wrong_type, item.pos,
                       "the elements of " + quote(f.name) + " must be mappings, not " + kind_name(item));
            continue;
          }
          object(item, *f.sub);
        }
        return true;
      }
      case Type::object_map: {
        if (n.is_null()) return true;
        if (!n.is_mapping()) return type_error(n, f, "a mapping of names to definitions");
        for (auto& e : n.entries) {
          if (e.value.is_null()) continue;
          if (!e.value.is_mapping()) {
            diags_.add(Code::wrong_type, e.value.pos,
                       std::string(f.sub->name) + " " + quote(e.written) + " must be a mapping, not " + kind_name(e.value));
            e.valid = false;
            continue;
          }
          object(e.value, *f.sub);
        }
        return true;
      }
      case Type::any:
        return true;
    }
    return true;
  }

  Diagnostics& diags_;
};

}  // namespace

void decode_document(DocNode& root, Diagnostics& diags) {
  Decoder d(diags);
  d.root(root);
}

std::optional<bool> parse_go_bool(std::string_view s) {
  if (s == "1" || s == "t" || s == "T" || s == "TRUE" || s == "true" || s == "True") return true;
  if (s == "0" || s == "f" || s == "F" || s == "FALSE" || s == "false" || s == "False") return false;
  return std::nullopt;
}

std::optional<std::int64_t> parse_go_int(std::string_view s) {
  bool neg = false;
  if (!s.empty() && (s[0] == '+' || s[0] == '-')) {
    neg = s[0] == '-';
    s.remove_prefix(1);
  }
  if (s.empty()) return std::nullopt;
  int base = 10;
  bool prefixed = false;
  if (s.size() > 1 && s[0] == '0') {
    char p = static_cast<char>(s[1] | 0x20);
    if (p == 'x') base = 16, s.remove_prefix(2), prefixed = true;
    else if (p == 'o') base = 8, s.remove_prefix(2), prefixed = true;
    else if (p == 'b') base = 2, s.remove_prefix(2), prefixed = true;
    else base = 8, s.remove_prefix(1), prefixed = true;
  }
  if (s.empty()) return std::nullopt;
  std::uint64_t v = 0;
  const std::uint64_t limit = static_cast<std::uint64_t>(INT64_MAX) + (neg ? 1 : 0);
  bool digit_before = prefixed;  // '_' may follow a base prefix
  for (char c : s) {
    if (c == '_') {
      if (!digit_before) return std::nullopt;
      digit_before = false;
      continue;
    }
    int d;
    if (c >= '0' && c <= '9') d = c - '0';
    else if (c >= 'a' && c <= 'z') d = c - 'a' + 10;
    else if (c >= 'A' && c <= 'Z') d = c - 'A' + 10;
    else return std::nullopt;
    if (d >= base) return std::nullopt;
    if (v > (limit - static_cast<std::uint64_t>(d)) / static_cast<std::uint64_t>(base)) return std::nullopt;
    v = v * static_cast<std::uint64_t>(base) + static_cast<std::uint64_t>(d);
    digit_before = true;
  }
  if (!digit_before) return std::nullopt;
  if (neg) return v == static_cast<std::uint64_t>(INT64_MAX) + 1 ? INT64_MIN : -static_cast<std::int64_t>(v);
  return static_cast<std::int64_t>(v);
}

std::optional<std::int64_t> parse_go_duration(std::string_view s) {
  // A plain integer is a number of seconds (paerser's types.Duration).
  bool all_digits = !s.empty();
  for (std::size_t i = 0; i < s.size(); ++i)
    if (!(s[i] >= '0' && s[i] <= '9') && !(i == 0 && (s[i] == '-' || s[i] == '+') && s.size() > 1)) all_digits = false;
  if (all_digits) {
    auto v = parse_go_int(s);
    if (!v || *v > INT64_MAX / 1000000000 || *v < INT64_MIN / 1000000000) return std::nullopt;
    return *v * 1000000000;
  }
  // time.ParseDuration: [-+]?([0-9]*(\.[0-9]*)?[a-z]+)+
  bool neg = false;
  if (!s.empty() && (s[0] == '-' || s[0] == '+')) {
    neg = s[0] == '-';
    s.remove_prefix(1);
  }
  if (s == "0") return 0;
  if (s.empty()) return std::nullopt;
  long double total = 0;
  while (!s.empty()) {
    std::size_t i = 0;
    long double num = 0, frac_scale = 1;
    bool digits = false;
    while (i < s.size() && s[i] >= '0' && s[i] <= '9') num = num * 10 + (s[i++] - '0'), digits = true;
    if (i < s.size() && s[i] == '.') {
      ++i;
      while (i < s.size() && s[i] >= '0' && s[i] <= '9') {
        frac_scale /= 10;
        num += (s[i++] - '0') * frac_scale;
        digits = true;
      }
    }
    if (!digits) return std::nullopt;
    std::size_t u = i;
    while (u < s.size() && !(s[u] >= '0' && s[u] <= '9') && s[u] != '.') ++u;
    std::string_view unit = s.substr(i, u - i);
    long double scale;
    if (unit == "ns") scale = 1;
    else if (unit == "us" || unit == "\xC2\xB5s" || unit == "\xCE\xBCs") scale = 1e3L;
    else if (unit == "ms") scale = 1e6L;
    else if (unit == "s") scale = 1e9L;
    else if (unit == "m") scale = 60e9L;
    else if (unit == "h") scale = 3600e9L;
    else return std::nullopt;
    total += num * scale;
    if (total > 9.2e18L) return std::nullopt;
    s.remove_prefix(u);
  }
  auto ns = static_cast<std::int64_t>(total);
  return neg ? -ns : ns;
}

}  // namespace certroute::routes
