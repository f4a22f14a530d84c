#include "core/routes/render/analysis.hpp"

#include <algorithm>
#include <functional>
#include <set>

namespace certroute::routes::render {
namespace {

std::string strip_provider(const std::string& ref) {
  auto at = ref.find('@');
  if (at == std::string::npos) return ref;
  // Only @file refers to this configuration; other providers are foreign.
  return ref.substr(at + 1) == "file" ? ref.substr(0, at) : std::string();
}

std::vector<Conjunction> dnf(const RuleExpr& e, bool negate, bool& too_big, std::size_t limit) {
  using Op = RuleExpr::Op;
  if (too_big) return {};
  if (e.op == Op::matcher) return {Conjunction{Atom{&e, negate}}};
  if (e.op == Op::not_) return dnf(e.children.at(0), !negate, too_big, limit);
  // De Morgan: !(a && b) = !a || !b ; !(a || b) = !a && !b
  bool is_or = (e.op == Op::or_) != negate;
  auto left = dnf(e.children.at(0), negate, too_big, limit);
  auto right = dnf(e.children.at(1), negate, too_big, limit);
  if (too_big) return {};
  if (is_or) {
    left.insert(left.end(), right.begin(), right.end());
    if (left.size() > limit) too_big = true;
    return left;
  }
  if (left.size() * right.size() > limit) {
    too_big = true;
    return {};
  }
  std::vector<Conjunction> out;
  for (const auto& a : left)
    for (const auto& b : right) {
      Conjunction c = a;
      c.insert(c.end(), b.begin(), b.end());
      out.push_back(std::move(c));
    }
  return out;
}

}  // namespace

std::vector<Conjunction> to_dnf(const RuleExpr& root, bool& too_big, std::size_t limit) {
  too_big = false;
  auto r = dnf(root, false, too_big, limit);
  if (too_big) return {};
  return r;
}

std::vector<RouteEntry> routes_for_entry_point(const Config& config, Protocol protocol, const std::string& entry_point) {
  std::vector<RouteEntry> out;
  for (auto& e : compile_routes(config, protocol)) {
    if (!e.rule.ok() || !e.rule.root || e.templated) continue;
    const auto& eps = e.router->entry_points;
    bool on = eps.empty() ||
              std::any_of(eps.begin(), eps.end(), [&](const Text& t) { return t.value == entry_point; });
    if (on) out.push_back(std::move(e));
  }
  return out;
}

const Service* find_service(const Config& config, Protocol p, const std::string& ref) {
  std::string name = strip_provider(ref);
  const auto& s = config.section(p).services;
  auto it = s.find(name);
  return it == s.end() ? nullptr : &it->second;
}

const Middleware* find_middleware(const Config& config, Protocol p, const std::string& ref) {
  std::string name = strip_provider(ref);
  const auto& m = config.section(p).middlewares;
  auto it = m.find(name);
  return it == m.end() ? nullptr : &it->second;
}

std::vector<const Middleware*> expand_middlewares(const Config& config, const Router& router) {
  std::vector<const Middleware*> out;
  std::set<const Middleware*> active;
  std::function<void(const std::vector<Text>&)> walk = [&](const std::vector<Text>& refs) {
    for (const auto& r : refs) {
      const Middleware* m = find_middleware(config, router.protocol, r.value);
      if (!m || active.count(m)) continue;
      if (!m->chain.empty()) {
        active.insert(m);
        walk(m->chain);
        active.erase(m);
      } else {
        out.push_back(m);
      }
    }
  };
  walk(router.middlewares);
  return out;
}

std::string field(const DocNode* node, std::initializer_list<std::string_view> path) {
  for (auto key : path) {
    if (!node || !node->is_mapping()) return {};
    node = node->find(key);
  }
  return node && node->is_scalar() ? node->text : std::string();
}

}  // namespace certroute::routes::render

// ---- Helpers of the traefik and Kubernetes targets (see analysis.hpp). ----
#include <cstdio>

#include <nlohmann/json.hpp>
#include <re2/re2.h>

namespace certroute::routes::render {
namespace {

// A rule argument in Go syntax: a raw string unless it holds a backtick or a
// carriage return (Go drops those from raw strings).
std::string rule_arg(std::string_view v) {
  if (v.find('`') == std::string_view::npos && v.find('\r') == std::string_view::npos) return "`" + std::string(v) + "`";
  std::string o = "\"";
  for (char ch : v) {
    auto c = static_cast<unsigned char>(ch);
    switch (c) {
      case '"': o += "\\\""; break;
      case '\\': o += "\\\\"; break;
      case '\n': o += "\\n"; break;
      case '\r': o += "\\r"; break;
      case '\t': o += "\\t"; break;
      default:
        if (c < 0x20 || c == 0x7f) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\x%02x", c);
          o += buf;
        } else {
          o += ch;
        }
    }
  }
  return o + "\"";
}

std::string rule_call(std::string_view name, std::initializer_list<std::string_view> args) {
  std::string s(name);
  s += '(';
  bool first = true;
  for (auto a : args) {
    s += (first ? "" : ", ") + rule_arg(a);
    first = false;
  }
  return s + ')';
}

// A piece of a rewritten rule and how tightly it binds: 1 ||, 2 &&, 3 atom or !.
struct RulePiece {
  std::string text;
  int prec = 3;
};

RulePiece join_pieces(const std::vector<std::string>& parts, std::string_view op, int prec) {
  if (parts.size() == 1) return {parts.front(), 3};
  std::string s;
  for (std::size_t i = 0; i < parts.size(); ++i) s += (i ? " " + std::string(op) + " " : std::string()) + parts[i];
  return {s, prec};
}

std::string wrap(const RulePiece& p, int min_prec) { return p.prec >= min_prec ? p.text : "(" + p.text + ")"; }

bool has_upper(std::string_view s) {
  return std::any_of(s.begin(), s.end(), [](char c) { return c >= 'A' && c <= 'Z'; });
}

// The regular expression a v2 HostRegexp / HostSNIRegexp compiles to (see
// rule.cpp: case-insensitive, anchored); (?i) is left out when it changes
// nothing, the host being lower-cased before matching.
std::string v2_host_pattern(std::string_view value) {
  auto re = template_to_regex(value, "[^.]+");
  std::string core = "^" + (re ? *re : quote_meta(value)) + "$";
  return has_upper(core) ? "(?i)" + core : core;
}

std::string lower_ascii(std::string_view s) {
  std::string o(s);
  for (char& c : o)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  return o;
}

RulePiece v2_matcher(const Rule& rule, const RuleExpr& e) {
  std::vector<std::string> parts;
  auto each = [&](std::string_view name) {
    for (const auto& a : e.args) parts.push_back(rule_call(name, {a.value}));
    return join_pieces(parts, "||", 1);
  };
  switch (e.matcher) {
    case Matcher::host:
    case Matcher::host_header: return each("Host");
    case Matcher::method: return each("Method");
    case Matcher::client_ip: return each("ClientIP");
    case Matcher::alpn: return each("ALPN");
    case Matcher::host_regexp:
    case Matcher::host_sni_regexp:
      for (const auto& a : e.args)
        parts.push_back(rule_call(e.matcher == Matcher::host_regexp ? "HostRegexp" : "HostSNIRegexp", {v2_host_pattern(a.value)}));
      return join_pieces(parts, "||", 1);
    case Matcher::path:
    case Matcher::path_prefix: {
      const bool prefix = e.matcher == Matcher::path_prefix;
      for (const auto& a : e.args) {
        if (auto re = template_to_regex(a.value, "[^/]+"))
          parts.push_back(rule_call("PathRegexp", {"^" + *re + (prefix ? "" : "$")}));
        else
          parts.push_back(rule_call(prefix ? "PathPrefix" : "Path", {a.value}));
      }
      return join_pieces(parts, "||", 1);
    }
    case Matcher::headers:
    case Matcher::header: return {rule_call("Header", {e.args.at(0).value, e.args.at(1).value}), 3};
    case Matcher::headers_regexp:
    case Matcher::header_regexp: return {rule_call("HeaderRegexp", {e.args.at(0).value, e.args.at(1).value}), 3};
    case Matcher::query:
      for (const auto& a : e.args) {
        auto eq = a.value.find('=');
        if (eq == std::string::npos) parts.push_back(rule_call("Query", {a.value}));
        else parts.push_back(rule_call("Query", {std::string_view(a.value).substr(0, eq), std::string_view(a.value).substr(eq + 1)}));
      }
      return join_pieces(parts, "&&", 2);
    case Matcher::host_sni:
      for (const auto& a : e.args) {
        if (a.normalized.starts_with("*."))
          parts.push_back(rule_call("HostSNIRegexp", {"^[^.]*" + quote_meta(a.normalized.substr(1)) + "$"}));
        else
          parts.push_back(rule_call("HostSNI", {a.value}));
      }
      return join_pieces(parts, "||", 1);
    default: return {std::string(rule.text_of(e)), 3};
  }
}

RulePiece v2_expr(const Rule& rule, const RuleExpr& e) {
  switch (e.op) {
    case RuleExpr::Op::matcher: return v2_matcher(rule, e);
    case RuleExpr::Op::not_: return {"!" + wrap(v2_expr(rule, e.children.at(0)), 3), 3};
    case RuleExpr::Op::and_:
      return {wrap(v2_expr(rule, e.children.at(0)), 2) + " && " + wrap(v2_expr(rule, e.children.at(1)), 2), 2};
    case RuleExpr::Op::or_:
      return {v2_expr(rule, e.children.at(0)).text + " || " + v2_expr(rule, e.children.at(1)).text, 1};
  }
  return {std::string(rule.text_of(e)), 3};
}

std::uint32_t fnv1a(std::string_view s) {
  std::uint32_t h = 2166136261u;
  for (char c : s) {
    h ^= static_cast<unsigned char>(c);
    h *= 16777619u;
  }
  return h;
}

std::string trim_dashes(std::string s) {
  while (!s.empty() && s.back() == '-') s.pop_back();
  std::size_t b = 0;
  while (b < s.size() && s[b] == '-') ++b;
  return s.substr(b);
}

std::string with_suffix(std::string base, std::string_view suffix) {
  if (base.size() + suffix.size() > 63) base = trim_dashes(base.substr(0, 63 - suffix.size()));
  return base + std::string(suffix);
}

// The host a Host atom names, as compared (lower-case, no trailing dot).
std::string atom_host(const RuleArg& a) {
  std::string h = a.normalized.empty() ? lower_ascii(a.value) : a.normalized;
  if (h.size() > 1 && h.back() == '.') h.pop_back();
  return h;
}

bool same_atom(const RuleExpr& x, const RuleExpr& y) {
  if (x.matcher != y.matcher || x.args.size() != y.args.size()) return false;
  for (std::size_t i = 0; i < x.args.size(); ++i)
    if (x.args[i].value != y.args[i].value) return false;
  return true;
}

// Two positive single-argument atoms no request can satisfy together.
bool exclusive(const RuleExpr& x, const RuleExpr& y) {
  if (x.args.size() != 1 || y.args.size() != 1) return false;
  const RuleArg& a = x.args[0];
  const RuleArg& b = y.args[0];
  auto is_host = [](Matcher m) { return m == Matcher::host || m == Matcher::host_header; };
  if (is_host(x.matcher) && is_host(y.matcher)) return atom_host(a) != atom_host(b);
  if (is_host(x.matcher) && y.matcher == Matcher::host_regexp && b.regex) return !RE2::PartialMatch(atom_host(a), *b.regex);
  if (x.matcher == Matcher::method && y.matcher == Matcher::method) return a.normalized != b.normalized;
  const bool xp = x.matcher == Matcher::path && !a.regex, yp = y.matcher == Matcher::path && !b.regex;
  const bool xpp = x.matcher == Matcher::path_prefix && !a.regex, ypp = y.matcher == Matcher::path_prefix && !b.regex;
  if (xp && yp) return a.value != b.value;
  if (xp && ypp) return !a.value.starts_with(b.value);
  if (xpp && ypp) return !a.value.starts_with(b.value) && !b.value.starts_with(a.value);
  if (xp && y.matcher == Matcher::path_regexp && b.regex) return !RE2::PartialMatch(a.value, *b.regex);
  return false;
}

bool plain_ok(std::string_view s) {
  if (s.empty() || s.size() > 200) return false;
  char f = s.front();
  if (!((f >= 'a' && f <= 'z') || (f >= 'A' && f <= 'Z') || f == '/' || f == '_')) return false;
  for (char c : s)
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
          std::string_view("_./@:+=-").find(c) != std::string_view::npos))
      return false;
  if (s.back() == ':') return false;
  static constexpr std::string_view reserved[] = {"true", "false", "yes", "no", "on", "off", "y", "n", "null"};
  std::string l = lower_ascii(s);
  return std::find(std::begin(reserved), std::end(reserved), l) == std::end(reserved);
}

void yaml_tail(std::string& out, const nlohmann::ordered_json& v, int indent);

std::string pad(int n) { return std::string(static_cast<std::size_t>(n), ' '); }

bool inline_value(const nlohmann::ordered_json& v) {
  return !(v.is_object() || v.is_array()) || v.empty();
}

std::string inline_text(const nlohmann::ordered_json& v) {
  if (v.is_null()) return "null";
  if (v.is_boolean()) return v.get<bool>() ? "true" : "false";
  if (v.is_number()) return v.dump();
  if (v.is_string()) return yaml_scalar(v.get_ref<const std::string&>());
  return v.is_object() ? "{}" : "[]";
}

void yaml_map(std::string& out, const nlohmann::ordered_json& v, int indent) {
  for (auto it = v.begin(); it != v.end(); ++it) {
    out += pad(indent) + yaml_scalar(it.key()) + ":";
    yaml_tail(out, it.value(), indent);
  }
}

void yaml_seq(std::string& out, const nlohmann::ordered_json& v, int indent) {
  for (const auto& item : v) {
    out += pad(indent) + "-";
    if (inline_value(item)) {
      out += " " + inline_text(item) + "\n";
    } else if (item.is_object()) {
      bool first = true;
      for (auto it = item.begin(); it != item.end(); ++it) {
        out += (first ? std::string(" ") : pad(indent + 2)) + yaml_scalar(it.key()) + ":";
        yaml_tail(out, it.value(), indent + 2);
        first = false;
      }
    } else {
      out += "\n";
      yaml_seq(out, item, indent + 2);
    }
  }
}

// After "key:": the value inline, or on the next lines.
void yaml_tail(std::string& out, const nlohmann::ordered_json& v, int indent) {
  if (inline_value(v)) {
    out += " " + inline_text(v) + "\n";
  } else if (v.is_object()) {
    out += "\n";
    yaml_map(out, v, indent + 2);
  } else {
    out += "\n";
    yaml_seq(out, v, indent + 2);
  }
}

}  // namespace

std::string v3_rule_text(const Rule& rule) {
  if (rule.syntax == RuleSyntax::v3 || !rule.root) return rule.text;
  return v2_expr(rule, *rule.root).text;
}

std::string k8s_name(std::string_view name, bool letter_first) {
  std::string out;
  for (char c : name) {
    char l = (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
    out += ((l >= 'a' && l <= 'z') || (l >= '0' && l <= '9')) ? l : '-';
  }
  out = trim_dashes(out);
  if (letter_first && (out.empty() || !(out[0] >= 'a' && out[0] <= 'z'))) out = "s-" + out;
  if (!out.empty() && out == name && out.size() <= 63) return out;
  char hash[16];
  std::snprintf(hash, sizeof hash, "-%06x", static_cast<unsigned>(fnv1a(name) & 0xffffffu));
  out = trim_dashes(out);
  if (out.empty()) out = "x";
  return with_suffix(out, hash);
}

std::map<std::string, std::string> k8s_names(const std::vector<std::string>& names, bool letter_first) {
  std::vector<std::string> sorted(names);
  std::sort(sorted.begin(), sorted.end());
  sorted.erase(std::unique(sorted.begin(), sorted.end()), sorted.end());
  std::map<std::string, std::string> out;
  std::set<std::string> taken;
  for (const auto& n : sorted) {
    std::string k = k8s_name(n, letter_first);
    for (int i = 2; taken.count(k); ++i) k = with_suffix(k8s_name(n, letter_first), "-" + std::to_string(i));
    taken.insert(k);
    out.emplace(n, k);
  }
  return out;
}

bool may_overlap(const Conjunction& a, const Conjunction& b) {
  for (const auto& x : a)
    for (const auto& y : b) {
      if (!x.matcher || !y.matcher) continue;
      if (x.negated != y.negated) {
        if (same_atom(*x.matcher, *y.matcher)) return false;
        continue;
      }
      if (x.negated) continue;
      if (exclusive(*x.matcher, *y.matcher) || exclusive(*y.matcher, *x.matcher)) return false;
    }
  return true;
}

std::string yaml_scalar(std::string_view s) {
  if (plain_ok(s)) return std::string(s);
  bool printable = true;
  for (char ch : s) {
    auto c = static_cast<unsigned char>(ch);
    if (c < 0x20 || c == 0x7f) printable = false;
  }
  if (printable && s.find('\\') == std::string_view::npos && s.find('"') == std::string_view::npos)
    return "\"" + std::string(s) + "\"";
  if (printable && s.find('\'') == std::string_view::npos) return "'" + std::string(s) + "'";
  return nlohmann::json(std::string(s)).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

std::string to_yaml(const nlohmann::ordered_json& value, int indent) {
  std::string out;
  if (value.is_object() && !value.empty()) yaml_map(out, value, indent);
  else if (value.is_array() && !value.empty()) yaml_seq(out, value, indent);
  else out = pad(indent) + inline_text(value) + "\n";
  return out;
}

}  // namespace certroute::routes::render

// ---- Helpers of the haproxy and caddy targets (see analysis.hpp). ----
#include <numeric>

#include "core/routes/decode.hpp"
#include "core/util/file.hpp"

namespace certroute::routes::render {
namespace {

// Shares are exact fractions; weights multiplied down nested services need
// more than 64 bits. __extension__: the GCC/Clang type, without -Wpedantic's
// warning at every use.
__extension__ typedef __int128 Int128;

struct Share {
  const Service* service;
  const DocNode* node;
  const Text* address;
  Int128 num, den;  // the server's share of its group's traffic
  bool backup;
};

std::int64_t int_field(const DocNode* n, std::string_view key, std::int64_t def) {
  if (!n || !n->is_mapping()) return def;
  const DocNode* v = n->find(key);
  if (!v || !v->is_scalar()) return def;
  return parse_go_int(v->text).value_or(def);
}

Int128 gcd128(Int128 a, Int128 b) {
  if (a < 0) a = -a;
  if (b < 0) b = -b;
  while (b != 0) {
    Int128 t = a % b;
    a = b;
    b = t;
  }
  return a;
}

void reduce(Int128& num, Int128& den) {
  Int128 g = gcd128(num, den);
  if (g > 1) num /= g, den /= g;
  // Keep the numbers small: past 2^40, lose precision rather than overflow.
  while (den > (Int128(1) << 40)) num /= 2, den /= 2;
  if (den == 0) den = 1;
}

void flatten(const Config& config, Protocol p, const Service& s, Int128 num, Int128 den, bool backup, int depth,
             FlatService& out, std::vector<Share>& shares) {
  if (depth > 16) return;
  const DocNode* n = s.node;
  auto children = [&](const char* kind, std::vector<const Service*>& list) {
    list.push_back(&s);
    const DocNode* svcs = n ? n->find(kind) : nullptr;
    svcs = svcs && svcs->is_mapping() ? svcs->find("services") : nullptr;
    if (!svcs || !svcs->is_sequence()) return;
    Int128 total = 0;
    for (const auto& c : svcs->items) total += std::max<std::int64_t>(0, int_field(&c, "weight", 1));
    std::size_t i = 0;
    for (const auto& c : svcs->items) {
      if (!c.is_mapping()) continue;
      std::string name = field(&c, {"name"});
      const Service* child = name.empty() ? nullptr : find_service(config, p, name);
      if (!child) {
        for (; i < s.children.size(); ++i)
          if (s.children[i].value == name) {
            out.missing.push_back(s.children[i]);
            break;
          }
        continue;
      }
      std::int64_t w = std::max<std::int64_t>(0, int_field(&c, "weight", 1));
      Int128 cn = num * w, cd = den * (total == 0 ? 1 : total);
      reduce(cn, cd);
      flatten(config, p, *child, cn, cd, backup, depth + 1, out, shares);
    }
  };
  auto one = [&](const std::optional<Text>& ref, bool as_backup) {
    if (!ref) return;
    const Service* child = find_service(config, p, ref->value);
    if (!child) {
      out.missing.push_back(*ref);
      return;
    }
    flatten(config, p, *child, num, den, as_backup, depth + 1, out, shares);
  };
  auto text_at = [&](const char* kind, const char* key) -> std::optional<Text> {
    const DocNode* k = n ? n->find(kind) : nullptr;
    const DocNode* v = k && k->is_mapping() ? k->find(key) : nullptr;
    if (!v || !v->is_scalar() || v->text.empty()) return std::nullopt;
    return Text{v->text, v->pos, v};
  };
  if (s.load_balancer) {
    out.balancers.push_back(&s);
    const DocNode* lb = n ? n->find("loadBalancer") : nullptr;
    const DocNode* servers = lb && lb->is_mapping() ? lb->find("servers") : nullptr;
    if (!servers || !servers->is_sequence()) return;
    Int128 total = 0;
    for (const auto& srv : servers->items) total += std::max<std::int64_t>(0, int_field(&srv, "weight", 1));
    std::size_t i = 0;
    for (const auto& srv : servers->items) {
      if (!srv.is_mapping()) continue;
      const Text* addr = i < s.servers.size() ? &s.servers[i] : nullptr;
      ++i;
      if (!addr || addr->value.empty()) continue;
      std::int64_t w = std::max<std::int64_t>(0, int_field(&srv, "weight", 1));
      Int128 cn = num * w, cd = den * (total == 0 ? 1 : total);
      reduce(cn, cd);
      shares.push_back(Share{&s, &srv, addr, cn, cd, backup});
    }
  } else if (n && n->find("weighted")) {
    children("weighted", out.weighted);
  } else if (n && n->find("highestRandomWeight")) {
    children("highestRandomWeight", out.hashed);
  } else if (n && n->find("mirroring")) {
    out.mirroring.push_back(&s);
    one(text_at("mirroring", "service"), backup);
  } else if (n && n->find("failover")) {
    out.failover.push_back(&s);
    one(text_at("failover", "service"), backup);
    one(text_at("failover", "fallback"), true);
  }
}

// Integer weights for one group (primary or backup servers).
void integer_weights(std::vector<Share>& shares, bool backup, std::int64_t max_weight, FlatService& out,
                     std::vector<std::int64_t>& weights) {
  Int128 lcm = 1;
  bool overflow = false;
  for (const auto& s : shares) {
    if (s.backup != backup || s.num == 0) continue;
    Int128 g = gcd128(lcm, s.den);
    lcm = lcm / g * s.den;
    if (lcm > (Int128(1) << 62)) overflow = true;
  }
  std::vector<long double> exact(shares.size(), 0);
  for (std::size_t i = 0; i < shares.size(); ++i) {
    const auto& s = shares[i];
    if (s.backup != backup || s.num == 0) continue;
    exact[i] = overflow ? static_cast<long double>(s.num) / static_cast<long double>(s.den) * 1e12L
                        : static_cast<long double>(s.num * (lcm / s.den));
  }
  // Reduce by the common divisor (exact case), then scale down if too big.
  Int128 g = 0;
  long double biggest = 0;
  for (std::size_t i = 0; i < shares.size(); ++i) {
    if (shares[i].backup != backup || exact[i] == 0) continue;
    if (!overflow) g = gcd128(g, static_cast<Int128>(exact[i]));
    biggest = std::max(biggest, exact[i]);
  }
  if (!overflow && g > 1) {
    for (auto& e : exact) e /= static_cast<long double>(g);
    biggest /= static_cast<long double>(g);
  }
  bool scale = overflow || biggest > static_cast<long double>(max_weight);
  for (std::size_t i = 0; i < shares.size(); ++i) {
    if (shares[i].backup != backup) continue;
    if (exact[i] == 0) {
      weights[i] = 0;
      continue;
    }
    if (!scale) {
      weights[i] = static_cast<std::int64_t>(exact[i]);
      continue;
    }
    long double w = exact[i] * static_cast<long double>(max_weight) / biggest;
    auto r = static_cast<std::int64_t>(w + 0.5L);
    if (r < 1) r = 1;
    if (static_cast<long double>(r) != w) out.rounded = true;
    weights[i] = r;
  }
}

}  // namespace

FlatService flatten_service(const Config& config, Protocol p, const std::string& ref, std::int64_t max_weight) {
  FlatService out;
  const Service* s = find_service(config, p, ref);
  if (!s) return out;
  std::vector<Share> shares;
  flatten(config, p, *s, 1, 1, false, 0, out, shares);
  std::vector<std::int64_t> weights(shares.size(), 0);
  integer_weights(shares, false, max_weight, out, weights);
  integer_weights(shares, true, max_weight, out, weights);
  for (std::size_t i = 0; i < shares.size(); ++i) {
    FlatServer f;
    f.service = shares[i].service;
    f.node = shares[i].node;
    f.address = shares[i].address->value;
    f.pos = shares[i].address->pos;
    f.weight = weights[i];
    f.backup = shares[i].backup;
    out.servers.push_back(std::move(f));
  }
  return out;
}

std::optional<std::string> file_or_content(const std::string& value, std::string& error) {
  if (value.find("-----BEGIN") != std::string::npos) return value;
  auto r = util::read_file(value);
  if (!r) {
    error = r.error().message();
    return std::nullopt;
  }
  return *r;
}

}  // namespace certroute::routes::render

namespace certroute::routes::render {

int server_port(std::string_view s, std::string* scheme) {
  std::string sch;
  auto sep = s.find("://");
  if (sep != std::string_view::npos) {
    for (char c : s.substr(0, sep)) sch += (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
    s = s.substr(sep + 3);
    s = s.substr(0, s.find_first_of("/?#"));
    if (auto at = s.rfind('@'); at != std::string_view::npos) s = s.substr(at + 1);
  }
  if (scheme) *scheme = sch;
  std::string_view port;
  if (!s.empty() && s.front() == '[') {
    auto close = s.find(']');
    if (close != std::string_view::npos && close + 1 < s.size() && s[close + 1] == ':') port = s.substr(close + 2);
  } else if (auto colon = s.rfind(':'); colon != std::string_view::npos && s.find(':') == colon) {
    port = s.substr(colon + 1);
  }
  if (!port.empty()) {
    int p = 0;
    for (char c : port) {
      if (c < '0' || c > '9' || p > 65535) return 0;
      p = p * 10 + (c - '0');
    }
    return p >= 1 && p <= 65535 ? p : 0;
  }
  if (sch == "http" || sch == "h2c" || sch == "ws") return 80;
  if (sch == "https" || sch == "wss") return 443;
  return 0;
}

}  // namespace certroute::routes::render
