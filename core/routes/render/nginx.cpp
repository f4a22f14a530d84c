// routes render --to nginx: a file to include inside http {} (with
// --standalone, a whole nginx.conf).
//
// Layout. One listen socket per entry point; per socket a default_server
// (requests no router matches get 404, as in Traefik) and one server per
// group of host names that the same routers serve. Per server, a location per
// path matcher (Path: `= /x`, PathPrefix: `^~ /x`, PathRegexp: `~ re`) and
// `location /`. One upstream per service (weights, keepalive, backups).
//
// Precedence. nginx picks a server by name and then a location by its own
// rules (exact, longest ^~ prefix, regexes in order, then /), never by router
// priority. So the renderer works out, per server and location, which
// requests can reach that location, and puts there, in Traefik's priority
// order, every router whose rule (in disjunctive normal form) can match such a
// request. What the server and location do not decide by themselves (a
// Header, Method, Query or ClientIP matcher, a negation, a regex the location
// does not imply) becomes a runtime check: an `if` that jumps to the router's
// named location (`error_page 418 = @router; return 418;`). A location that a
// single router serves unconditionally gets that router's directives inline.
// Host matchers are decided statically in the servers named after them;
// HostRegexp is checked at runtime in the default server and statically in
// the named servers. The result picks the router Traefik picks for every
// request, without priority guesswork.
//
// What nginx cannot express (a matcher, a middleware, a service type, TCP
// routers) becomes a CR050 diagnostic at the router's or middleware's
// position; an unsupported matcher makes its part of the rule never match
// (the conservative choice: nothing is exposed that Traefik would not serve).
#include <re2/re2.h>

#include <algorithm>
#include <cctype>
#include <cstdint>
#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <numeric>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <string_view>
#include <tuple>
#include <vector>

#include "core/routes/decode.hpp"
#include "core/routes/gocompat.hpp"
#include "core/routes/match.hpp"
#include "core/routes/render/analysis.hpp"
#include "core/routes/render/renderer.hpp"

namespace certroute::routes::render {
namespace {

// ---- text helpers -------------------------------------------------------------

std::string lower(std::string s) {
  for (char& c : s)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  return s;
}

bool starts_with(std::string_view s, std::string_view p) { return s.substr(0, p.size()) == p; }

bool is_alnum(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'); }

// A name usable in nginx identifiers (upstreams, zones, variables, named locations).
std::string ident(std::string_view s) {
  std::string o;
  for (char c : s) o += (is_alnum(c) || c == '_') ? c : '_';
  return o.empty() ? std::string("_") : o;
}

// A quoted regular expression. nginx reads \\ as \ and \" as " in any token,
// and expands no variables in regexes.
std::string re_quote(std::string_view re) {
  std::string o = "\"";
  for (char c : re) {
    if (c == '\\' || c == '"') o += '\\';
    o += c;
  }
  return o + '"';
}

std::string join(const std::vector<std::string>& v, std::string_view sep) {
  std::string o;
  for (std::size_t i = 0; i < v.size(); ++i) {
    if (i) o += sep;
    o += v[i];
  }
  return o;
}

// An alternation of regexes, each kept whole.
std::string any_regex(const std::vector<std::string>& res) {
  if (res.size() == 1) return res.front();
  std::vector<std::string> parts;
  for (const auto& r : res) parts.push_back("(?:" + r + ")");
  return join(parts, "|");
}

// A regex matching decimal numbers (with leading zeros) greater than n.
std::string greater_than_regex(std::uint64_t n) {
  std::string s = std::to_string(n);
  std::size_t k = s.size();
  std::vector<std::string> alts{"[1-9][0-9]{" + std::to_string(k) + ",}"};
  for (std::size_t i = 0; i < k; ++i) {
    if (s[i] == '9') continue;
    char lo = static_cast<char>(s[i] + 1);
    std::string a = s.substr(0, i) + (lo == '9' ? std::string("9") : "[" + std::string(1, lo) + "-9]");
    if (k - i - 1 > 0) a += "[0-9]{" + std::to_string(k - i - 1) + "}";
    alts.push_back(a);
  }
  return "^0*(?:" + join(alts, "|") + ")\\z";
}

// The literal text every match of a regex starts with, when the regex is
// anchored at the start and has no alternation or flags; nullopt otherwise.
std::optional<std::string> literal_prefix(std::string_view re) {
  if (!starts_with(re, "^")) return std::nullopt;
  // An alternation outside groups ("^/a|/b") anchors only its first branch.
  int depth = 0;
  bool in_class = false;
  for (std::size_t i = 0; i < re.size(); ++i) {
    char c = re[i];
    if (c == '\\') {
      ++i;
    } else if (in_class) {
      if (c == ']') in_class = false;
    } else if (c == '[') {
      in_class = true;
    } else if (c == '(') {
      ++depth;
    } else if (c == ')') {
      --depth;
    } else if (c == '|' && depth == 0) {
      return std::nullopt;
    }
  }
  std::string lit;
  for (std::size_t i = 1; i < re.size(); ++i) {
    char c = re[i];
    if (c == '\\') {
      if (i + 1 < re.size() && !is_alnum(re[i + 1])) {
        char n = re[i + 1];
        if (i + 2 < re.size() && std::string_view("*?{+").find(re[i + 2]) != std::string_view::npos) break;
        lit += n;
        ++i;
        continue;
      }
      break;
    }
    if (std::string_view(".+*?()[]{}^$").find(c) != std::string_view::npos) break;
    if (i + 1 < re.size() && std::string_view("*?{+").find(re[i + 1]) != std::string_view::npos) break;
    lit += c;
  }
  return lit;
}

// nginx time and size values.
std::string nginx_time(std::int64_t ns) {
  if (ns % 1000000000 == 0) return std::to_string(ns / 1000000000) + "s";
  return std::to_string(std::max<std::int64_t>(1, ns / 1000000)) + "ms";
}

std::string pos_text(const SourceSet& sources, const Pos& pos) {
  std::string where = sources.path_of(pos);
  if (pos.line > 0) where += ":" + std::to_string(pos.line);
  return where;
}

// ---- document access ------------------------------------------------------------

const DocNode* child(const DocNode* n, std::string_view key) { return n && n->is_mapping() ? n->find(key) : nullptr; }

std::vector<const DocNode*> items_of(const DocNode* n) {
  std::vector<const DocNode*> out;
  if (n && n->is_sequence())
    for (const auto& i : n->items) out.push_back(&i);
  return out;
}

// ---- certificates: the names a PEM certificate covers ---------------------------

std::optional<std::string> base64_decode(std::string_view in) {
  auto val = [](char c) -> int {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+') return 62;
    if (c == '/') return 63;
    return -1;
  };
  std::string out;
  int bits = 0;
  std::uint32_t acc = 0;
  for (char c : in) {
    if (c == '=' || c == '\n' || c == '\r' || c == ' ' || c == '\t') continue;
    int v = val(c);
    if (v < 0) return std::nullopt;
    acc = (acc << 6) | static_cast<std::uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out += static_cast<char>((acc >> bits) & 0xff);
    }
  }
  return out;
}

struct Der {
  const unsigned char* p = nullptr;
  std::size_t n = 0;
};

// Reads one DER TLV from d; false on malformed input.
bool der_next(Der& d, unsigned char& tag, Der& value) {
  if (d.n < 2) return false;
  tag = d.p[0];
  std::size_t len = d.p[1];
  std::size_t hdr = 2;
  if (len & 0x80) {
    std::size_t nb = len & 0x7f;
    if (nb == 0 || nb > 4 || d.n < 2 + nb) return false;
    len = 0;
    for (std::size_t i = 0; i < nb; ++i) len = (len << 8) | d.p[2 + i];
    hdr += nb;
  }
  if (d.n - hdr < len) return false;
  value = {d.p + hdr, len};
  d.p += hdr + len;
  d.n -= hdr + len;
  return true;
}

// The DNS names (subject CN and SAN dNSNames, lower-cased) of the first
// certificate in a PEM text; empty when it cannot be read.
std::vector<std::string> certificate_names(const std::string& pem) {
  std::vector<std::string> names;
  auto b = pem.find("-----BEGIN CERTIFICATE-----");
  if (b == std::string::npos) return names;
  b = pem.find('\n', b);
  auto e = pem.find("-----END CERTIFICATE-----", b);
  if (b == std::string::npos || e == std::string::npos) return names;
  auto der = base64_decode(std::string_view(pem).substr(b + 1, e - b - 1));
  if (!der) return names;
  Der all{reinterpret_cast<const unsigned char*>(der->data()), der->size()};
  unsigned char tag = 0;
  Der cert, tbs;
  if (!der_next(all, tag, cert) || tag != 0x30 || !der_next(cert, tag, tbs) || tag != 0x30) return names;
  Der f;
  if (!der_next(tbs, tag, f)) return names;
  if (tag == 0xa0 && !der_next(tbs, tag, f)) return names;  // version, then serial
  Der skip;
  for (int i = 0; i < 3; ++i)  // signature, issuer, validity
    if (!der_next(tbs, tag, skip)) return names;
  Der subject;
  if (!der_next(tbs, tag, subject)) return names;
  static const unsigned char cn_oid[] = {0x55, 0x04, 0x03};
  static const unsigned char san_oid[] = {0x55, 0x1d, 0x11};
  auto oid_is = [](const Der& o, const unsigned char* want) { return o.n == 3 && std::equal(o.p, o.p + 3, want); };
  Der rdn;
  while (der_next(subject, tag, rdn)) {
    Der atv;
    while (der_next(rdn, tag, atv)) {
      Der oid, val;
      if (der_next(atv, tag, oid) && oid_is(oid, cn_oid) && der_next(atv, tag, val))
        names.push_back(lower(std::string(reinterpret_cast<const char*>(val.p), val.n)));
    }
  }
  if (!der_next(tbs, tag, skip)) return names;  // subjectPublicKeyInfo
  Der x;
  while (der_next(tbs, tag, x)) {
    if (tag != 0xa3) continue;
    Der exts, ext;
    if (!der_next(x, tag, exts)) break;
    while (der_next(exts, tag, ext)) {
      Der oid, v;
      if (!der_next(ext, tag, oid) || !oid_is(oid, san_oid)) continue;
      if (!der_next(ext, tag, v)) continue;
      if (tag == 0x01 && !der_next(ext, tag, v)) continue;  // critical flag
      Der seq, gn;
      if (!der_next(v, tag, seq)) continue;
      while (der_next(seq, tag, gn))
        if (tag == 0x82) names.push_back(lower(std::string(reinterpret_cast<const char*>(gn.p), gn.n)));
    }
  }
  return names;
}

bool cert_covers(const std::vector<std::string>& names, const std::string& host, bool wildcard) {
  for (const auto& n : names) {
    if (!wildcard && n == host) return true;
    if (wildcard && starts_with(n, "*.")) {
      auto dot = host.find('.');
      if (dot != std::string::npos && host.substr(dot) == n.substr(1)) return true;
    }
  }
  return false;
}

// ---- rule atoms ---------------------------------------------------------------------

bool is_host_matcher(Matcher m) { return m == Matcher::host || m == Matcher::host_header || m == Matcher::host_regexp; }
bool is_path_matcher(Matcher m) { return m == Matcher::path || m == Matcher::path_prefix || m == Matcher::path_regexp; }

// A literal path argument (Path or PathPrefix without a v2 template).
bool literal_arg(Matcher m, const RuleArg& a) { return m != Matcher::path_regexp && !a.regex; }

std::string arg_regex(Matcher m, const RuleArg& a) {
  if (a.regex) return a.regex->pattern();
  if (m == Matcher::path) return "^" + quote_meta(a.value) + "\\z";
  return "^" + quote_meta(a.value);  // path_prefix
}

std::string path_atom_regex(const RuleExpr& e) {
  std::vector<std::string> res;
  if (e.matcher == Matcher::path_regexp) return e.args.at(0).regex->pattern();
  for (const auto& a : e.args) res.push_back(arg_regex(e.matcher, a));
  return any_regex(res);
}

bool host_equals(const std::string& host, const std::string& want) {
  if (host == want) return true;
  return !want.empty() && want.back() == '.' && host == std::string_view(want).substr(0, want.size() - 1);
}

// Host names nginx can serve as a server_name (a Host() value with a '*', a
// port or a '/' never matches in Traefik and gets no server).
bool servable_host(const std::string& h) {
  if (h.empty()) return false;
  for (char c : h)
    if (!(is_alnum(c) || c == '.' || c == '-' || c == '_')) return false;
  return true;
}

std::string server_host(std::string h) {
  if (h.size() > 1 && h.back() == '.') h.pop_back();
  return h;
}

// A HostRegexp that any host name matches (".+", "^.*$", v2's "{host:.+}").
bool matches_any_host(std::string p) {
  if (starts_with(p, "(?i)")) p = p.substr(4);
  if (starts_with(p, "^")) p = p.substr(1);
  if (!p.empty() && p.back() == '$') p.pop_back();
  while (starts_with(p, "(?:") && !p.empty() && p.back() == ')') p = p.substr(3, p.size() - 4);
  if (starts_with(p, "(") && !p.empty() && p.back() == ')') p = p.substr(1, p.size() - 2);
  return p == ".+" || p == ".*";
}

enum class Tri { no, yes, maybe };

Tri negate_tri(Tri t, bool negated) {
  if (!negated || t == Tri::maybe) return t;
  return t == Tri::yes ? Tri::no : Tri::yes;
}

// A runtime check: `var ~ regex`, or a flag variable (regex empty).
struct Cond {
  std::string var;
  std::string regex;
  bool negated = false;
  auto key() const { return std::tie(var, regex, negated); }
  bool operator==(const Cond& o) const { return key() == o.key(); }
};

std::string cond_text(const Cond& c, bool invert) {
  bool neg = c.negated != invert;
  if (c.regex.empty()) return neg ? c.var + " = 0" : c.var;
  return c.var + (neg ? " !~ " : " ~ ") + re_quote(c.regex);
}

// ---- locations ------------------------------------------------------------------------

struct Loc {
  enum Kind { exact, prefix, regex, root } kind = root;
  std::string value;      // path, or regex pattern
  std::size_t index = 0;  // regex: position among the regex locations
  bool same(const Loc& o) const { return kind == o.kind && value == o.value; }
};

struct LocSet {
  std::set<std::string> exact;
  std::set<std::string> prefix;  // without "/"
  std::vector<std::string> regex;
  std::vector<std::shared_ptr<const re2::RE2>> regex_re;

  // The longest prefix location a path starts with ("" if none).
  std::string longest_prefix(const std::string& u) const {
    std::string best;
    for (const auto& p : prefix)
      if (starts_with(u, p) && p.size() > best.size()) best = p;
    return best;
  }
  // The location nginx picks for a concrete path.
  Loc select(const std::string& u) const {
    if (exact.count(u)) return {Loc::exact, u};
    if (auto p = longest_prefix(u); !p.empty()) return {Loc::prefix, p};
    for (std::size_t i = 0; i < regex.size(); ++i)
      if (RE2::PartialMatch(u, *regex_re[i])) return {Loc::regex, regex[i], i};
    return {Loc::root, "/"};
  }
};

// Whether one argument of a path matcher holds for the requests that reach L.
Tri path_arg_in(Matcher m, const RuleArg& a, const std::shared_ptr<const re2::RE2>& re, const Loc& L, const LocSet& S) {
  const bool is_re = !literal_arg(m, a);
  if (L.kind == Loc::exact) {
    if (is_re) return RE2::PartialMatch(L.value, *re) ? Tri::yes : Tri::no;
    if (m == Matcher::path) return L.value == a.value ? Tri::yes : Tri::no;
    return starts_with(L.value, a.value) ? Tri::yes : Tri::no;
  }
  if (is_re) {
    const std::string pattern = re->pattern();
    if (L.kind == Loc::regex) {
      if (pattern == L.value) return Tri::yes;
      for (std::size_t j = 0; j < L.index; ++j)
        if (S.regex[j] == pattern) return Tri::no;
    }
    if (L.kind == Loc::root && std::find(S.regex.begin(), S.regex.end(), pattern) != S.regex.end()) return Tri::no;
    if (auto lp = literal_prefix(pattern)) {
      if (L.kind == Loc::prefix) {
        if (!starts_with(*lp, L.value) && !starts_with(L.value, *lp)) return Tri::no;
        if (starts_with(*lp, L.value) && S.longest_prefix(*lp).size() > L.value.size()) return Tri::no;
      } else if (!S.longest_prefix(*lp).empty()) {
        return Tri::no;
      }
    }
    return Tri::maybe;
  }
  const std::string& q = a.value;
  if (m == Matcher::path) return S.select(q).same(L) ? Tri::maybe : Tri::no;
  if (L.kind == Loc::prefix) {
    if (starts_with(L.value, q)) return Tri::yes;
    if (starts_with(q, L.value)) return S.longest_prefix(q) == L.value ? Tri::maybe : Tri::no;
    return Tri::no;
  }
  if (q == "/") return Tri::yes;
  if (!S.longest_prefix(q).empty()) return Tri::no;
  return Tri::maybe;
}

// ---- the renderer ---------------------------------------------------------------------

struct Conj {
  std::size_t route = 0;  // index into Group::routes
  std::vector<Atom> atoms;
};

struct Group {
  EntryPoint ep;
  bool tls = false;
  std::vector<RouteEntry> routes;
  std::vector<Conj> conjs;
};

// A router conjunction as it stands in one server: the atoms the server did
// not decide.
struct SCand {
  const Conj* conj = nullptr;
  std::vector<const Atom*> pending;
};

struct Dispatch {
  std::size_t route = 0;
  std::vector<Cond> conds;
};

// A router's directives, and the locations they need in the server (forwardAuth).
struct Body {
  std::vector<std::string> lines;
  std::vector<std::pair<std::string, std::string>> extras;  // key, location block
};

struct Backend {
  bool ok = false;
  int status = 502;     // when !ok
  std::string comment;  // when !ok
  std::string upstream;
  std::string scheme = "http";
  bool pass_host = true;
  std::string host;  // the servers' host[:port] when they share one
  std::string sni;   // https: the servers' host name when they share one
  const DocNode* lb = nullptr;
  const DocNode* transport = nullptr;
  std::string preserve_path;  // servers' URL path, when preservePath
  std::size_t servers = 0;
  bool multi_host = false;
};

struct Chain;

class NginxRenderer {
 public:
  NginxRenderer(const LoadedConfig& loaded, const RenderOptions& options, Diagnostics& diags)
      : loaded_(loaded), cfg_(loaded.config), opt_(options), diags_(diags) {}

  RenderResult run();

 private:
  const LoadedConfig& loaded_;
  const Config& cfg_;
  const RenderOptions& opt_;
  Diagnostics& diags_;

  std::set<std::tuple<std::uint32_t, int, int, std::string>> reported_;
  bool need_dollar_ = false;
  std::vector<std::string> http_lines_;  // maps, geos, zones
  std::set<std::string> http_keys_;      // what http_lines_ already holds
  std::string upstreams_;
  std::map<const Service*, Backend> backends_;
  std::set<std::string> used_names_;
  std::map<std::string, std::string> names_;  // kind:key -> unique identifier
  std::map<const RuleExpr*, std::optional<std::vector<Cond>>> atom_conds_;
  std::map<std::tuple<const Router*, bool, bool>, Body> bodies_;
  std::vector<SideFile> side_files_;
  std::set<std::string> side_names_;

  // tls.certificates, with the names each covers (read from the files when possible).
  struct CertInfo {
    const TlsCertificate* c = nullptr;
    std::vector<std::string> names;
    bool readable = false;
  };
  std::optional<std::vector<CertInfo>> certs_;
  const TlsCertificate* store_default_ = nullptr;
  const std::vector<CertInfo>& certs();

  void report(const Pos& pos, const std::string& msg) {
    if (reported_.emplace(pos.file, pos.line, pos.column, msg).second)
      diags_.add(Code::unsupported_by_target, pos, msg);
  }
  std::string where(const Pos& pos) const { return pos_text(loaded_.sources, pos); }

  std::string name_for(const std::string& kind, const std::string& key, const std::string& base) {
    auto k = kind + ":" + key;
    if (auto it = names_.find(k); it != names_.end()) return it->second;
    std::string n = base;
    for (int i = 2; used_names_.count(n); ++i) n = base + "_" + std::to_string(i);
    used_names_.insert(n);
    names_[k] = n;
    return n;
  }

  void http_line(const std::string& key, const std::string& text) {
    if (http_keys_.insert(key).second) http_lines_.push_back(text);
  }

  // A quoted nginx string taken literally ('$' spelled ${cr_dollar}).
  std::string lit(std::string_view s) {
    std::string o = "\"";
    for (char c : s) {
      if (c == '\\' || c == '"') {
        o += '\\';
        o += c;
      } else if (c == '$') {
        o += "${cr_dollar}";
        need_dollar_ = true;
      } else {
        o += c;
      }
    }
    return o + '"';
  }

  // The same, without the quotes (for text inside a larger quoted string).
  std::string lit_inner(std::string_view s) {
    std::string q = lit(s);
    return q.substr(1, q.size() - 2);
  }

  // A scalar field, or nullopt; a Go template makes it unusable (reported).
  std::optional<std::string> text(const DocNode* parent, std::string_view key, const std::string& what) {
    const DocNode* n = child(parent, key);
    if (!n || !n->is_scalar()) return std::nullopt;
    if (n->templated) {
      report(n->pos, what + ": " + std::string(key) + " is a Go template, which nginx cannot evaluate: left out");
      return std::nullopt;
    }
    return n->text;
  }
  std::optional<std::int64_t> integer(const DocNode* parent, std::string_view key, const std::string& what) {
    auto t = text(parent, key, what);
    return t ? parse_go_int(*t) : std::nullopt;
  }
  std::optional<std::int64_t> duration(const DocNode* parent, std::string_view key, const std::string& what) {
    auto t = text(parent, key, what);
    return t ? parse_go_duration(*t) : std::nullopt;
  }
  bool boolean(const DocNode* parent, std::string_view key, const std::string& what, bool dflt = false) {
    auto t = text(parent, key, what);
    if (!t) return dflt;
    auto b = parse_go_bool(*t);
    return b ? *b : dflt;
  }
  std::vector<std::string> strings(const DocNode* parent, std::string_view key, const std::string& what) {
    std::vector<std::string> out;
    for (const DocNode* i : items_of(child(parent, key))) {
      if (!i->is_scalar()) continue;
      if (i->templated) {
        report(i->pos, what + ": a Go template in " + std::string(key) + ", which nginx cannot evaluate: left out");
        continue;
      }
      out.push_back(i->text);
    }
    return out;
  }
  // Reports every field of a typed node that the renderer does not express.
  void report_unhandled(const DocNode* node, const std::set<std::string_view>& handled, const std::string& what,
                        const std::string& consequence) {
    if (!node || !node->is_mapping()) return;
    for (const auto& e : node->entries)
      if (e.valid && !handled.count(e.key))
        report(e.key_pos, what + ": " + e.key + " has no nginx equivalent: " + consequence);
  }

  // Rendering steps.
  std::vector<Group> groups();
  void build_conjs(Group& g);
  std::optional<std::vector<Cond>> runtime_conds(const RuleExpr& e, bool v2, std::string& why);
  void render_group(Group& g, std::string& out);
  void render_server(Group& g, const std::vector<SCand>& cands, const std::vector<std::string>& hosts, bool is_default,
                     std::string& out);
  std::vector<std::string> tls_lines(Group& g, const std::vector<SCand>& cands, const std::vector<std::string>& hosts,
                                     bool is_default);
  const Body& body(const RouteEntry& e, bool tls, bool named);
  Body make_body(const RouteEntry& e, bool tls, bool named);

  // One middleware of a router's chain, as its handler sees it.
  struct MwCall {
    const Router& router;
    const Middleware& m;
    const DocNode* node;  // the typed configuration (m.node's entry for kind)
    std::string kind;
    std::string what;  // "middleware 'x' (kind)", for messages
    std::string id;    // for nginx names
    bool tls;          // the server is HTTPS
    Chain& chain;
  };
  using Handler = void (NginxRenderer::*)(MwCall&);
  static const std::pair<std::string_view, Handler>* middleware_handler(std::string_view kind);
  void mw_headers(MwCall& c);
  void mw_strip_prefix(MwCall& c);
  void mw_add_prefix(MwCall& c);
  void mw_replace_path(MwCall& c);
  void mw_replace_path_regex(MwCall& c);
  void mw_redirect_scheme(MwCall& c);
  void mw_redirect_regex(MwCall& c);
  void mw_basic_auth(MwCall& c);
  void mw_forward_auth(MwCall& c);
  void mw_digest_auth(MwCall& c);
  void mw_ip_allow_list(MwCall& c);
  void mw_rate_limit(MwCall& c);
  void mw_in_flight_req(MwCall& c);
  void mw_compress(MwCall& c);
  void mw_buffering(MwCall& c);
  void mw_retry(MwCall& c);
  void mw_content_type(MwCall& c);
  void redirect_order_check(MwCall& c);
  std::string source_key(MwCall& c);
  std::string auth_location(const Middleware* m, const DocNode* n, const std::string& what, std::string& path);
  const Backend& backend(const Service* s);
  Backend make_backend(const Service* s);
  std::string cert_file(const Text& t, const std::string& name, bool key);
};

// ---- groups: entry points and their routers ----------------------------------------------

std::vector<Group> NginxRenderer::groups() {
  const auto eps = effective_entry_points(opt_);
  std::set<std::string> known;
  for (const auto& ep : eps) known.insert(ep.name);

  for (const auto& [name, r] : cfg_.http.routers) {
    for (const auto& t : r.entry_points)
      if (!known.count(t.value))
        report(t.pos, "router '" + name + "': entry point '" + t.value +
                          "' has no address in the nginx output: pass --entrypoint " + t.value +
                          "=[ADDR]:PORT to render it there");
    if (r.rule && r.rule->node && r.rule->node->templated)
      report(r.rule->pos,
             "router '" + name + "': the rule is a Go template, which nginx cannot evaluate: router left out");
  }
  for (const auto& [name, r] : cfg_.tcp.routers)
    report(r.pos, "TCP router '" + name +
                      "': the nginx output is an http{} include and cannot route TCP (that needs a stream{} block "
                      "with ssl_preread): router left out");
  for (const auto& [name, r] : cfg_.udp.routers)
    report(r.pos,
           "UDP router '" + name + "': the nginx output is an http{} include and cannot route UDP: router left out");

  std::vector<Group> out;
  std::set<std::pair<std::string, int>> sockets;
  for (const auto& ep : eps) {
    Group g;
    g.ep = ep;
    if (!sockets.insert({ep.address, ep.port}).second) {
      for (const auto& [name, r] : cfg_.http.routers)
        for (const auto& t : r.entry_points)
          if (t.value == ep.name)
            report(t.pos, "router '" + name + "': entry point '" + ep.name +
                              "' listens on the same address as another "
                              "entry point; nginx serves one set of servers per address: not rendered there");
      continue;
    }
    auto routes = routes_for_entry_point(cfg_, Protocol::http, ep.name);
    // nginx serves one protocol per port: plain HTTP or TLS. The routers that
    // name the entry point decide; the others are reported.
    auto named = [&](const RouteEntry& e) { return !e.router->entry_points.empty(); };
    int tls_named = 0, plain_named = 0, tls_all = 0, plain_all = 0;
    for (const auto& e : routes) {
      (e.router->tls ? tls_all : plain_all)++;
      if (named(e)) (e.router->tls ? tls_named : plain_named)++;
    }
    if (tls_named != plain_named)
      g.tls = tls_named > plain_named;
    else if (tls_all != plain_all)
      g.tls = tls_all > plain_all;
    else
      g.tls = tls_all > 0 && (ep.port == 443 || ep.name.find("secure") != std::string::npos);
    for (auto& e : routes) {
      if (e.router->tls == g.tls) {
        g.routes.push_back(std::move(e));
        continue;
      }
      std::string mode = g.tls ? "HTTPS" : "plain HTTP";
      report(e.router->pos, "router '" + e.router->name + "' " + (e.router->tls ? "has tls" : "has no tls") +
                                " but serves on entry point '" + ep.name + "'" +
                                (named(e) ? "" : " (a router without entryPoints serves on all of them)") +
                                ", which the nginx output serves as " + mode +
                                " (nginx cannot serve HTTP and HTTPS on one port): not rendered there");
    }
    build_conjs(g);
    out.push_back(std::move(g));
  }
  return out;
}

void NginxRenderer::build_conjs(Group& g) {
  for (std::size_t i = 0; i < g.routes.size(); ++i) {
    const RouteEntry& e = g.routes[i];
    bool too_big = false;
    auto dnf = to_dnf(*e.rule.root, too_big);
    if (too_big) {
      report(e.router->rule ? e.router->rule->pos : e.router->pos,
             "router '" + e.router->name + "': the rule has too many alternatives to render: router left out");
      continue;
    }
    for (auto& c : dnf) {
      bool ok = true;
      for (const auto& a : c) {
        if (is_host_matcher(a.matcher->matcher) || is_path_matcher(a.matcher->matcher)) continue;
        std::string why;
        auto conds = runtime_conds(*a.matcher, e.rule.syntax == RuleSyntax::v2, why);
        if (!conds || (a.negated && conds->size() > 1)) {
          if (why.empty()) why = "a negated " + std::string(matcher_name(a.matcher->matcher)) + " with several values";
          report(e.router->rule ? e.router->rule->pos : e.router->pos,
                 "router '" + e.router->name + "': " + std::string(e.rule.text_of(*a.matcher)) + ": " + why +
                     "; rendered as never matching" + (dnf.size() > 1 ? " (in that alternative of the rule)" : ""));
          ok = false;
          break;
        }
      }
      if (ok) g.conjs.push_back(Conj{i, std::move(c)});
    }
  }
}

// The runtime checks a non-host, non-path matcher becomes (all must hold);
// nullopt with a reason when nginx cannot check it soundly.
std::optional<std::vector<Cond>> NginxRenderer::runtime_conds(const RuleExpr& e, bool v2, std::string& why) {
  if (auto it = atom_conds_.find(&e); it != atom_conds_.end()) {
    if (!it->second) why = "nginx cannot check it";
    return it->second;
  }
  auto header_var = [&](const std::string& name) -> std::optional<std::string> {
    if (name.empty()) return std::nullopt;
    std::string v = "$http_";
    for (char c : name) {
      if (c == '-')
        v += '_';
      else if (is_alnum(c))
        v += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      else
        return std::nullopt;
    }
    return v;
  };
  auto unreserved = [](const std::string& s) {
    return std::all_of(s.begin(), s.end(),
                       [](char c) { return is_alnum(c) || c == '-' || c == '.' || c == '_' || c == '~'; });
  };
  std::optional<std::vector<Cond>> out;
  switch (e.matcher) {
    case Matcher::host:
    case Matcher::host_header: {
      std::vector<std::string> res;
      for (const auto& a : e.args) res.push_back("^" + quote_meta(server_host(a.normalized)) + "\\z");
      out = std::vector<Cond>{{"$host", any_regex(res)}};
      break;
    }
    case Matcher::host_regexp: {
      std::vector<std::string> res;
      for (const auto& a : e.args) res.push_back(a.regex->pattern());
      out = std::vector<Cond>{{"$host", any_regex(res)}};
      break;
    }
    case Matcher::method: {
      std::vector<std::string> ms;
      for (const auto& a : e.args) ms.push_back(quote_meta(a.normalized));
      out = std::vector<Cond>{{"$request_method", "^(?:" + join(ms, "|") + ")\\z"}};
      break;
    }
    case Matcher::header:
    case Matcher::headers:
    case Matcher::header_regexp:
    case Matcher::headers_regexp: {
      auto var = header_var(e.args.at(0).value);
      if (!var) {
        why = "nginx reads only headers named with letters, digits and '-'";
        break;
      }
      bool re = e.matcher == Matcher::header_regexp || e.matcher == Matcher::headers_regexp;
      std::string pattern = re ? e.args.at(1).regex->pattern() : "^" + quote_meta(e.args.at(1).value) + "\\z";
      if (re ? RE2::PartialMatch("", *e.args.at(1).regex) : e.args.at(1).value.empty()) {
        why = "nginx cannot tell a missing header from an empty one";
        break;
      }
      out = std::vector<Cond>{{*var, pattern}};
      break;
    }
    case Matcher::query: {
      std::vector<std::pair<std::string, std::optional<std::string>>> pairs;
      // v3: Query(key) or Query(key, value); v2: "key=value" pairs, all required.
      if (!v2 && e.args.size() == 2) {
        pairs.push_back({e.args[0].value, e.args[1].value});
      } else if (!v2) {
        pairs.push_back({e.args[0].value, std::nullopt});
      } else {
        for (const auto& a : e.args) {
          auto eq = a.value.find('=');
          if (eq == std::string::npos)
            pairs.push_back({a.value, std::nullopt});
          else
            pairs.push_back({a.value.substr(0, eq), a.value.substr(eq + 1)});
        }
      }
      std::vector<Cond> cs;
      bool ok = true;
      for (const auto& [k, v] : pairs) {
        if (k.empty() || !unreserved(k) || (v && !unreserved(*v))) {
          ok = false;
          break;
        }
        std::string re = "(?:^|&)" + quote_meta(k);
        if (!v)
          re += "(?:=[^&]*)?";
        else if (v->empty())
          re += "=?";
        else
          re += "=" + quote_meta(*v);
        cs.push_back({"$args", re + "(?:&|\\z)"});
      }
      if (!ok) {
        why = "nginx compares the raw query string, so only names and values of letters, digits and -._~ translate";
        break;
      }
      out = std::move(cs);
      break;
    }
    case Matcher::client_ip: {
      std::string key;
      for (const auto& a : e.args) key += a.value + " ";
      std::string var = "$" + name_for("geo", key, "cr_ip");
      std::string g = "geo " + var + " {\n    default 0;\n";
      for (const auto& a : e.args) g += "    " + a.value + " 1;\n";
      g += "}";
      http_line("geo " + key, "# ClientIP(" + key.substr(0, key.size() - 1) + ")\n" + g);
      out = std::vector<Cond>{{var, ""}};
      break;
    }
    case Matcher::query_regexp:
      why = "nginx sees the raw query string, not Go's decoded values";
      break;
    default:
      why = "nginx has no equivalent";
      break;
  }
  atom_conds_[&e] = out;
  return out;
}

// ---- services ---------------------------------------------------------------------------

struct UServer {
  std::string scheme, host, port, path;
  std::int64_t weight = 1;
  bool backup = false;
  bool preserve_path = false;
  const DocNode* lb = nullptr;
  const Service* service = nullptr;
};

const Backend& NginxRenderer::backend(const Service* s) {
  auto it = backends_.find(s);
  if (it != backends_.end()) return it->second;
  Backend b = make_backend(s);
  return backends_.emplace(s, std::move(b)).first->second;
}

Backend NginxRenderer::make_backend(const Service* svc) {
  Backend b;
  const std::string what = "service '" + svc->name + "'";
  std::vector<UServer> servers;
  std::set<const Service*> active;

  // Flattens a service into weighted servers: a weighted service's children
  // are scaled so each child keeps its share.
  std::function<bool(const Service*, bool, std::vector<UServer>&)> flatten = [&](const Service* s, bool backup,
                                                                                 std::vector<UServer>& out) -> bool {
    if (!s || active.count(s)) return false;
    active.insert(s);
    const std::string sw = "service '" + s->name + "'";
    const std::string kind = s->kinds.size() == 1 ? s->kinds.front() : "";
    const DocNode* node = child(s->node, kind);
    bool ok = true;
    if (kind == "loadBalancer") {
      report_unhandled(node,
                       {"servers", "passHostHeader", "serversTransport", "passiveHealthCheck", "healthCheck",
                        "strategy", "responseForwarding", "sticky"},
                       sw + " (loadBalancer)", "left out");
      for (const DocNode* srv : items_of(child(node, "servers"))) {
        auto url = text(srv, "url", sw);
        if (!url) continue;
        UServer u;
        u.lb = node;
        u.service = s;
        u.backup = backup;
        if (auto w = integer(srv, "weight", sw)) u.weight = *w;
        u.preserve_path = boolean(srv, "preservePath", sw);
        std::string rest = *url;
        auto sep = rest.find("://");
        if (sep == std::string::npos) {
          report(srv->pos, sw + ": server URL '" + *url + "' has no scheme: left out");
          continue;
        }
        u.scheme = lower(rest.substr(0, sep));
        rest = rest.substr(sep + 3);
        auto slash = rest.find_first_of("/?#");
        std::string authority = rest.substr(0, slash);
        if (slash != std::string::npos && rest[slash] == '/') {
          u.path = rest.substr(slash);
          u.path = u.path.substr(0, u.path.find_first_of("?#"));
        }
        if (auto at = authority.rfind('@'); at != std::string::npos) authority = authority.substr(at + 1);
        if (!authority.empty() && authority.front() == '[') {
          auto close = authority.find(']');
          u.host = authority.substr(0, close + 1);
          if (close + 1 < authority.size() && authority[close + 1] == ':') u.port = authority.substr(close + 2);
        } else if (auto colon = authority.rfind(':'); colon != std::string::npos) {
          u.host = authority.substr(0, colon);
          u.port = authority.substr(colon + 1);
        } else {
          u.host = authority;
        }
        if (u.scheme == "h2c") {
          report(srv->pos, sw + ": h2c (HTTP/2 without TLS) to the server: nginx proxies HTTP/1.1; rendered as http");
          u.scheme = "http";
        } else if (u.scheme != "http" && u.scheme != "https") {
          report(srv->pos, sw + ": server URL scheme '" + u.scheme + "' has no nginx equivalent: left out");
          continue;
        }
        if (u.port.empty()) u.port = u.scheme == "https" ? "443" : "80";
        if (u.host.empty()) {
          report(srv->pos, sw + ": server URL '" + *url + "' has no host: left out");
          continue;
        }
        if (u.weight == 0) continue;  // a zero weight is never picked
        out.push_back(std::move(u));
      }
    } else if (kind == "weighted" || kind == "highestRandomWeight") {
      if (kind == "highestRandomWeight")
        report(
            s->pos,
            sw +
                ": highestRandomWeight (rendezvous hashing) has no nginx equivalent: rendered as weighted round robin");
      report_unhandled(node, {"services"}, sw + " (" + kind + ")", "left out");
      std::vector<std::pair<std::int64_t, std::vector<UServer>>> parts;
      for (const DocNode* c : items_of(child(node, "services"))) {
        auto name = text(c, "name", sw);
        if (!name) continue;
        std::int64_t w = integer(c, "weight", sw).value_or(1);
        const Service* cs = find_service(cfg_, Protocol::http, *name);
        if (!cs) {
          report(c->pos, sw + ": '" + *name + "' is not a service of these files: left out of the nginx upstream");
          continue;
        }
        std::vector<UServer> sub;
        if (!flatten(cs, backup, sub)) ok = false;
        if (w > 0 && !sub.empty()) parts.push_back({w, std::move(sub)});
      }
      std::int64_t l = 1;
      for (auto& [w, sub] : parts) {
        std::int64_t t = 0;
        for (const auto& u : sub) t += u.weight;
        l = std::lcm(l, t);
        if (l > 1000000) l = 1000000;  // beyond that the shares are approximate
      }
      for (auto& [w, sub] : parts) {
        std::int64_t t = 0;
        for (const auto& u : sub) t += u.weight;
        for (auto& u : sub) {
          u.weight = std::max<std::int64_t>(1, u.weight * w * std::max<std::int64_t>(1, l / t));
          out.push_back(std::move(u));
        }
      }
    } else if (kind == "failover") {
      report_unhandled(node, {"service", "fallback", "healthCheck"}, sw + " (failover)", "left out");
      auto main = text(node, "service", sw);
      auto fallback = text(node, "fallback", sw);
      const Service* ms = main ? find_service(cfg_, Protocol::http, *main) : nullptr;
      const Service* fs = fallback ? find_service(cfg_, Protocol::http, *fallback) : nullptr;
      if (ms) flatten(ms, backup, out);
      if (fs) flatten(fs, true, out);
      report(s->pos, sw + ": failover: nginx switches to the fallback servers (backup) when the main ones fail "
                          "passively, not on Traefik's health check");
    } else if (kind == "mirroring") {
      report_unhandled(node, {"service", "mirrors", "mirrorBody", "maxBodySize", "healthCheck"}, sw + " (mirroring)",
                       "left out");
      if (!items_of(child(node, "mirrors")).empty())
        report(s->pos, sw + ": mirroring: the mirrors are not rendered (nginx's mirror directive copies every "
                            "request and cannot take percentages); requests go to the main service only");
      auto main = text(node, "service", sw);
      if (const Service* ms = main ? find_service(cfg_, Protocol::http, *main) : nullptr) flatten(ms, backup, out);
    } else {
      ok = false;
    }
    active.erase(s);
    return ok;
  };
  flatten(svc, false, servers);

  if (servers.empty()) {
    b.status = 503;
    b.comment = "the service has no servers: Traefik answers 503";
    return b;
  }
  // Settings that nginx keeps per location or upstream must agree.
  const UServer& first = servers.front();
  b.ok = true;
  b.scheme = first.scheme;
  b.lb = first.lb;
  b.servers = servers.size();
  b.pass_host = boolean(first.lb, "passHostHeader", what, true);
  std::set<std::string> hosts, schemes, paths;
  std::set<const DocNode*> lbs;
  for (const auto& u : servers) {
    hosts.insert(u.host + ":" + u.port);
    schemes.insert(u.scheme);
    if (u.preserve_path)
      paths.insert(u.path);
    else
      paths.insert("");
    lbs.insert(u.lb);
  }
  if (schemes.size() > 1)
    report(svc->pos, what + ": servers mix http and https; nginx proxies one scheme per location: used " + b.scheme);
  if (lbs.size() > 1) {
    std::set<std::string> props;
    for (const auto* lb : lbs)
      props.insert(field(lb, {"passHostHeader"}) + "|" + field(lb, {"serversTransport"}) + "|" +
                   field(lb, {"strategy"}));
    if (props.size() > 1)
      report(svc->pos, what +
                           ": its services differ in passHostHeader, serversTransport or strategy; nginx has one "
                           "setting per upstream: used those of service '" +
                           first.service->name + "'");
  }
  if (paths.size() > 1)
    report(svc->pos, what + ": servers with preservePath have different paths; nginx cannot prefix per server: used '" +
                         *paths.begin() + "'");
  b.preserve_path = first.preserve_path ? first.path : "";
  b.multi_host = hosts.size() > 1;
  {
    const std::string& h = first.host;
    bool default_port =
        (first.scheme == "http" && first.port == "80") || (first.scheme == "https" && first.port == "443");
    b.host = default_port ? h : h + ":" + first.port;
    b.sni = h;
  }
  if (!b.pass_host && b.multi_host)
    report(svc->pos, what +
                         ": passHostHeader is false and the servers have different hosts; nginx sends one Host "
                         "header per location: sends '" +
                         b.host + "'");
  if (b.scheme == "https" && b.multi_host)
    report(svc->pos, what + ": https servers with different host names; nginx verifies one name per location: uses '" +
                         b.sni + "'");
  if (auto t = text(b.lb, "serversTransport", what)) {
    std::string name = t->substr(0, t->find('@'));
    if (auto it = cfg_.http.transports.find(name); it != cfg_.http.transports.end()) b.transport = it->second.node;
  }

  // The upstream block.
  b.upstream = name_for("upstream", svc->name, "cr_" + ident(svc->name));
  std::string u = "# service " + svc->name + " (" + where(svc->pos) + ")\nupstream " + b.upstream + " {\n";
  const std::string strategy = field(b.lb, {"strategy"});
  bool backups = std::any_of(servers.begin(), servers.end(), [](const UServer& s) { return s.backup; });
  if (strategy == "p2c") {
    if (backups)
      report(svc->pos,
             what + ": strategy p2c with failover: nginx's random balancing has no backup servers: used round robin");
    else
      u += "    random two least_conn;\n";
  } else if (!strategy.empty() && strategy != "wrr") {
    report(svc->pos, what + ": strategy '" + strategy + "' has no nginx equivalent: used weighted round robin");
  }
  // When nginx takes a server out: as each server's load balancer says.
  auto fails_of = [&](const UServer& s) -> std::string {
    const std::string sw = "service '" + s.service->name + "'";
    if (const DocNode* p = child(s.lb, "passiveHealthCheck")) {
      auto n = integer(p, "maxFailedAttempts", sw).value_or(1);
      auto w = duration(p, "failureWindow", sw).value_or(10LL * 1000000000);
      return " max_fails=" + std::to_string(n) + " fail_timeout=" + nginx_time(w);
    }
    if (const DocNode* h = child(s.lb, "healthCheck")) {
      auto w = duration(h, "interval", sw).value_or(30LL * 1000000000);
      report(h->pos, sw +
                         ": nginx (open source) has no active health checks: a server that fails is left out for "
                         "the check interval instead (max_fails=1 fail_timeout=" +
                         nginx_time(w) + ")");
      return " max_fails=1 fail_timeout=" + nginx_time(w);
    }
    return servers.size() > 1 ? " max_fails=0" : "";  // Traefik takes no server out without a health check
  };
  for (const auto* lb : lbs)
    if (const DocNode* st = child(lb, "sticky"))
      report(st->pos, what + ": sticky sessions (cookie) need nginx Plus: requests are balanced without stickiness");
  std::int64_t g = 0;
  for (const auto& s : servers) g = std::gcd(g, s.weight);
  for (auto& s : servers) s.weight /= std::max<std::int64_t>(1, g);
  for (const auto& s : servers) {
    std::string host = s.host;
    u += "    server " + host + ":" + s.port;
    if (s.weight != 1) u += " weight=" + std::to_string(s.weight);
    u += fails_of(s);
    if (s.backup) u += " backup";
    u += ";\n";
  }
  std::int64_t idle = 200;  // Traefik's maxIdleConnsPerHost default
  if (auto m = integer(b.transport, "maxIdleConnsPerHost", what)) idle = *m == 0 ? 200 : *m;
  if (idle > 0) u += "    keepalive " + std::to_string(idle) + ";\n";
  if (const DocNode* ft = child(b.transport, "forwardingTimeouts"))
    if (auto d = duration(ft, "idleConnTimeout", what)) u += "    keepalive_timeout " + nginx_time(*d) + ";\n";
  u += "}\n";
  upstreams_ += u + "\n";
  return b;
}

// ---- router bodies ------------------------------------------------------------------------

const Body& NginxRenderer::body(const RouteEntry& e, bool tls, bool named) {
  auto key = std::make_tuple(e.router, tls, named);
  auto it = bodies_.find(key);
  if (it != bodies_.end()) return it->second;
  return bodies_.emplace(key, make_body(e, tls, named)).first->second;
}

struct HeaderList {
  std::vector<std::pair<std::string, std::string>> items;  // name, rendered value
  void set(const std::string& name, const std::string& value) {
    for (auto& [n, v] : items)
      if (lower(n) == lower(name)) {
        v = value;
        return;
      }
    items.emplace_back(name, value);
  }
};

HeaderList default_request_headers() {
  HeaderList h;
  h.set("Host", "$cr_host");
  h.set("X-Forwarded-For", "$remote_addr");
  h.set("X-Forwarded-Host", "$http_host");
  h.set("X-Forwarded-Port", "$server_port");
  h.set("X-Forwarded-Proto", "$scheme");
  h.set("X-Forwarded-Server", "$hostname");
  h.set("X-Real-IP", "$remote_addr");
  h.set("Upgrade", "$http_upgrade");
  h.set("Connection", "$cr_connection");
  return h;
}

// Go's regexp replacement ($1, ${1}, $$) in nginx syntax; nullopt when it
// uses names or group numbers nginx cannot refer to.
std::optional<std::string> go_replacement(const std::string& repl,
                                          const std::function<std::string(std::string_view)>& lit_part, int shift = 0) {
  std::string out;
  for (const auto& p : gocompat::split_go_template(repl)) {
    if (!p.group) {
      out += lit_part(p.text);
      continue;
    }
    if (p.number < 0 || p.number + shift > 9) return std::nullopt;
    out += "$" + std::to_string(p.number + shift);
  }
  return out;
}

// What a router's middlewares make of its location, by nginx phase (nginx
// runs rewrite, then limits, then access checks, then the proxying,
// whatever the order in the file).
struct Chain {
  std::vector<std::string> rewrite;  // rewrite phase: redirects, path rewrites (in chain order)
  std::vector<std::string> access;   // allow/deny, auth_basic, auth_request
  std::vector<std::string> other;    // limits, gzip, body sizes
  std::vector<std::string> after;    // proxy_next_upstream
  HeaderList req = default_request_headers();
  std::vector<std::pair<std::string, std::string>> resp;    // name, value ("" = remove)
  std::vector<std::pair<std::string, std::string>> extras;  // server locations (forwardAuth)
  bool path_changed = false;
  bool redirected = false;  // an unconditional return: later middlewares do not run
  int refuse = 0;           // a status every request gets: an access check nginx cannot make
  const Middleware* access_mw = nullptr;
  std::optional<std::int64_t> max_body;

  // The request URI as Traefik's redirects see it (after the path rewrites so far).
  std::string current_uri() const { return path_changed ? "$uri$is_args$args" : "$request_uri"; }
  // Traefik's redirect status: 301/302 for GET, 308/307 for other methods.
  void redirect(const std::string& target, bool permanent) {
    rewrite.push_back(std::string("if ($request_method != GET) { return ") + (permanent ? "308" : "307") + " " +
                      target + "; }");
    rewrite.push_back(std::string("return ") + (permanent ? "301" : "302") + " " + target + ";");
    redirected = true;
  }
};

// A directive nginx takes once per location: a later middleware's value
// replaces an earlier one (false when it did).
bool set_once(std::vector<std::string>& v, const std::string& line) {
  std::string name = line.substr(0, line.find(' '));
  for (auto& l : v)
    if (l.substr(0, l.find(' ')) == name) {
      l = line;
      return false;
    }
  v.push_back(line);
  return true;
}

// The middleware types nginx can express, each a handler below.
const std::pair<std::string_view, NginxRenderer::Handler>* NginxRenderer::middleware_handler(std::string_view kind) {
  static const std::pair<std::string_view, Handler> kTable[] = {
      {"headers", &NginxRenderer::mw_headers},
      {"stripPrefix", &NginxRenderer::mw_strip_prefix},
      {"stripPrefixRegex", &NginxRenderer::mw_strip_prefix},
      {"addPrefix", &NginxRenderer::mw_add_prefix},
      {"replacePath", &NginxRenderer::mw_replace_path},
      {"replacePathRegex", &NginxRenderer::mw_replace_path_regex},
      {"redirectScheme", &NginxRenderer::mw_redirect_scheme},
      {"redirectRegex", &NginxRenderer::mw_redirect_regex},
      {"basicAuth", &NginxRenderer::mw_basic_auth},
      {"forwardAuth", &NginxRenderer::mw_forward_auth},
      {"digestAuth", &NginxRenderer::mw_digest_auth},
      {"ipAllowList", &NginxRenderer::mw_ip_allow_list},
      {"ipWhiteList", &NginxRenderer::mw_ip_allow_list},
      {"rateLimit", &NginxRenderer::mw_rate_limit},
      {"inFlightReq", &NginxRenderer::mw_in_flight_req},
      {"compress", &NginxRenderer::mw_compress},
      {"buffering", &NginxRenderer::mw_buffering},
      {"retry", &NginxRenderer::mw_retry},
      {"contentType", &NginxRenderer::mw_content_type},
  };
  for (const auto& e : kTable)
    if (e.first == kind) return &e;
  return nullptr;
}

void NginxRenderer::mw_headers(MwCall& c) {
  const DocNode* n = c.node;
  report_unhandled(n,
                   {"customRequestHeaders", "customResponseHeaders", "stsSeconds", "stsIncludeSubdomains", "stsPreload",
                    "forceSTSHeader", "frameDeny", "customFrameOptionsValue", "contentTypeNosniff", "browserXssFilter",
                    "customBrowserXSSValue", "contentSecurityPolicy", "contentSecurityPolicyReportOnly",
                    "referrerPolicy", "permissionsPolicy", "featurePolicy", "publicKey", "isDevelopment"},
                   c.what, "left out");
  auto& resp = c.chain.resp;
  auto sts = integer(n, "stsSeconds", c.what).value_or(0);
  if (sts > 0 && (c.tls || boolean(n, "forceSTSHeader", c.what))) {  // Traefik: on HTTPS requests only
    std::string v = "max-age=" + std::to_string(sts);
    if (boolean(n, "stsIncludeSubdomains", c.what)) v += "; includeSubDomains";
    if (boolean(n, "stsPreload", c.what)) v += "; preload";
    resp.emplace_back("Strict-Transport-Security", v);
  }
  if (auto v = text(n, "customFrameOptionsValue", c.what); v && !v->empty())
    resp.emplace_back("X-Frame-Options", *v);
  else if (boolean(n, "frameDeny", c.what))
    resp.emplace_back("X-Frame-Options", "DENY");
  if (boolean(n, "contentTypeNosniff", c.what)) resp.emplace_back("X-Content-Type-Options", "nosniff");
  if (auto v = text(n, "customBrowserXSSValue", c.what); v && !v->empty())
    resp.emplace_back("X-XSS-Protection", *v);
  else if (boolean(n, "browserXssFilter", c.what))
    resp.emplace_back("X-XSS-Protection", "1; mode=block");
  static const std::pair<const char*, const char*> kPolicyHeaders[] = {
      {"contentSecurityPolicy", "Content-Security-Policy"},
      {"contentSecurityPolicyReportOnly", "Content-Security-Policy-Report-Only"},
      {"referrerPolicy", "Referrer-Policy"},
      {"permissionsPolicy", "Permissions-Policy"},
      {"featurePolicy", "Feature-Policy"},
      {"publicKey", "Public-Key-Pins"}};
  for (auto [key, header] : kPolicyHeaders)
    if (auto v = text(n, key, c.what); v && !v->empty()) resp.emplace_back(header, *v);
  // Custom headers: an empty value removes the header.
  if (const DocNode* h = child(n, "customRequestHeaders"); h && h->is_mapping())
    for (const auto& en : h->entries)
      if (en.valid && en.value.is_scalar())
        c.chain.req.set(en.written.empty() ? en.key : en.written, en.value.text.empty() ? "\"\"" : lit(en.value.text));
  if (const DocNode* h = child(n, "customResponseHeaders"); h && h->is_mapping())
    for (const auto& en : h->entries)
      if (en.valid && en.value.is_scalar()) resp.emplace_back(en.written.empty() ? en.key : en.written, en.value.text);
}

// stripPrefix(Regex): the first prefix the path starts with goes, the rest
// keeps a leading '/', and X-Forwarded-Prefix names what went (from a map,
// read before the rewrite).
void NginxRenderer::mw_strip_prefix(MwCall& c) {
  const bool re = c.kind == "stripPrefixRegex";
  report_unhandled(c.node, {re ? "regex" : "prefixes", "forceSlash"}, c.what, "left out");
  std::vector<std::string> alts;
  int groups = 0;
  for (const auto& p : strings(c.node, re ? "regex" : "prefixes", c.what)) {
    if (re) {
      RE2 compiled(p, RE2::Quiet);
      if (!compiled.ok()) continue;
      groups += compiled.NumberOfCapturingGroups();
      alts.push_back("(?:" + p + ")");
    } else {
      alts.push_back(quote_meta(p));
    }
  }
  if (alts.empty()) return;
  if (groups + 1 > 9) {
    report(c.m.pos, c.what + ": too many regex groups for nginx's $1..$9: left out");
    return;
  }
  std::string alt = join(alts, "|");
  std::string var = name_for("strip", c.m.name, "cr_strip_" + c.id);
  http_line("strip " + c.m.name, "# " + c.what + ": the prefix it strips, for X-Forwarded-Prefix\nmap $uri $" + var +
                                     " {\n    " + re_quote("~^(" + alt + ")") + " $1;\n    default \"\";\n}");
  c.chain.rewrite.push_back("set $" + var + "_sent $" + var + ";");
  c.chain.rewrite.push_back("rewrite " + re_quote("^(?:" + alt + ")/?(.*)$") + " /$" + std::to_string(groups + 1) +
                            ";");
  c.chain.req.set("X-Forwarded-Prefix", "$" + var + "_sent");
  c.chain.path_changed = true;
}

void NginxRenderer::mw_add_prefix(MwCall& c) {
  report_unhandled(c.node, {"prefix"}, c.what, "left out");
  auto p = text(c.node, "prefix", c.what);
  if (!p || p->empty()) return;
  if (p->find_first_of("?# ") != std::string::npos) {
    report(c.m.pos, c.what + ": a prefix with '?', '#' or a space cannot be written in an nginx rewrite: left out");
    return;
  }
  c.chain.rewrite.push_back("rewrite ^ \"" + lit_inner(*p) + "$uri\";");
  c.chain.path_changed = true;
}

void NginxRenderer::mw_replace_path(MwCall& c) {
  report_unhandled(c.node, {"path"}, c.what, "left out");
  auto p = text(c.node, "path", c.what);
  if (!p) return;
  if (p->find_first_of("?# ") != std::string::npos) {
    report(c.m.pos, c.what + ": a path with '?', '#' or a space cannot be written in an nginx rewrite: left out");
    return;
  }
  c.chain.rewrite.push_back("set $cr_replaced_path $uri;");
  c.chain.rewrite.push_back("rewrite ^ " + lit(*p) + ";");
  c.chain.req.set("X-Replaced-Path", "$cr_replaced_path");
  c.chain.path_changed = true;
}

// Traefik replaces every match in the path; nginx rewrites the whole path:
// the same when the regex is anchored at the start (one match, the rest kept).
void NginxRenderer::mw_replace_path_regex(MwCall& c) {
  report_unhandled(c.node, {"regex", "replacement"}, c.what, "left out");
  auto re = text(c.node, "regex", c.what);
  auto repl = text(c.node, "replacement", c.what);
  if (!re || !repl) return;
  RE2 compiled(*re, RE2::Quiet);
  auto conv = go_replacement(*repl, [&](std::string_view s) { return lit_inner(s); });
  if (!compiled.ok() || !starts_with(*re, "^") || !conv || compiled.NumberOfCapturingGroups() + 1 > 9) {
    report(c.m.pos, c.what +
                        ": nginx rewrites the whole path, so only a regex anchored with ^ and a replacement "
                        "using $1..$8 translate: left out");
    return;
  }
  int rest = compiled.NumberOfCapturingGroups() + 1;
  c.chain.rewrite.push_back("set $cr_replaced_path $uri;");
  c.chain.rewrite.push_back("rewrite " + re_quote("(?:" + *re + ")(.*)$") + " \"" + *conv + "$" + std::to_string(rest) +
                            "\";");
  c.chain.req.set("X-Replaced-Path", "$cr_replaced_path");
  c.chain.path_changed = true;
}

// nginx redirects in its rewrite phase, before any access check.
void NginxRenderer::redirect_order_check(MwCall& c) {
  if (c.chain.access_mw)
    report(c.m.pos, "router '" + c.router.name + "': " + c.what + " comes after '" + c.chain.access_mw->name +
                        "' in the chain, but nginx redirects before it checks access: unauthorised requests get the "
                        "redirect");
}

void NginxRenderer::mw_redirect_scheme(MwCall& c) {
  report_unhandled(c.node, {"scheme", "port", "permanent"}, c.what, "left out");
  redirect_order_check(c);
  std::string scheme = text(c.node, "scheme", c.what).value_or("https");
  std::string port = text(c.node, "port", c.what).value_or("");
  if ((scheme == "http" && port == "80") || (scheme == "https" && port == "443")) port.clear();
  if ((scheme == "https") == c.tls && port.empty()) return;  // already there: Traefik passes the request on
  c.chain.redirect("\"" + lit_inner(scheme) + "://$host" + (port.empty() ? "" : ":" + lit_inner(port)) +
                       c.chain.current_uri() + "\"",
                   boolean(c.node, "permanent", c.what));
}

// The full URL matched in an `if`; no redirect when it would not change.
void NginxRenderer::mw_redirect_regex(MwCall& c) {
  report_unhandled(c.node, {"regex", "replacement", "permanent"}, c.what, "left out");
  redirect_order_check(c);
  auto re = text(c.node, "regex", c.what);
  auto repl = text(c.node, "replacement", c.what);
  if (!re || !repl) return;
  auto conv = go_replacement(*repl, [&](std::string_view s) { return lit_inner(s); });
  if (!conv) {
    report(c.m.pos,
           c.what + ": the replacement uses named or high-numbered groups, which nginx cannot refer to: left out");
    return;
  }
  bool permanent = boolean(c.node, "permanent", c.what);
  auto& rw = c.chain.rewrite;
  rw.push_back("set $cr_url \"$scheme://$http_host" + c.chain.current_uri() + "\";");
  rw.push_back("set $cr_redirect \"\";");
  rw.push_back("if ($cr_url ~ " + re_quote(*re) + ") { set $cr_redirect \"" + *conv + "\"; }");
  rw.push_back("if ($cr_redirect = $cr_url) { set $cr_redirect \"\"; }");
  rw.push_back("set $cr_redirect_get \"$request_method $cr_redirect\";");
  rw.push_back(std::string("if ($cr_redirect_get ~ \"^GET (.+)\") { return ") + (permanent ? "301" : "302") + " $1; }");
  rw.push_back(std::string("if ($cr_redirect ~ \"(.+)\") { return ") + (permanent ? "308" : "307") + " $1; }");
}

// basicAuth: the users list becomes an htpasswd file beside the output.
void NginxRenderer::mw_basic_auth(MwCall& c) {
  report_unhandled(c.node, {"users", "usersFile", "realm", "removeHeader", "headerField"}, c.what, "left out");
  auto users = strings(c.node, "users", c.what);
  auto file = text(c.node, "usersFile", c.what);
  std::string path;
  if (!users.empty()) {
    std::string fname = "htpasswd-" + c.id;
    if (side_names_.insert(fname).second) {
      std::string content;
      for (const auto& u : users) content += u + "\n";
      side_files_.push_back(SideFile{fname, content, true});
    }
    path = opt_.output_dir.empty() ? fname : opt_.output_dir + "/" + fname;
    if (file)
      report(c.m.pos, c.what +
                          ": users and usersFile together: nginx reads one file, so the output lists only the "
                          "users (add those of " +
                          *file + " to " + fname + ")");
  } else if (file) {
    path = *file;
  } else {
    return;
  }
  auto& access = c.chain.access;
  if (!set_once(access, "auth_basic " + lit(text(c.node, "realm", c.what).value_or("traefik")) + ";"))
    report(c.m.pos, "router '" + c.router.name + "': " + c.what +
                        ": nginx checks one basicAuth per location: only the last of the chain is rendered");
  set_once(access, "auth_basic_user_file " + lit(path) + ";  # readable by nginx's worker user");
  if (boolean(c.node, "removeHeader", c.what)) c.chain.req.set("Authorization", "\"\"");
  if (auto hf = text(c.node, "headerField", c.what); hf && !hf->empty()) c.chain.req.set(*hf, "$remote_user");
  c.chain.access_mw = &c.m;
}

// forwardAuth: auth_request to an internal location of the server.
void NginxRenderer::mw_forward_auth(MwCall& c) {
  report_unhandled(c.node, {"address", "authResponseHeaders", "authRequestHeaders", "maxResponseBodySize"}, c.what,
                   "left out");
  std::string path;
  std::string block = auth_location(&c.m, c.node, c.what, path);
  if (block.empty()) {
    c.chain.refuse = 500;
    report(c.m.pos, "router '" + c.router.name + "': " + c.what + " has no usable address: requests are refused (500)");
    return;
  }
  if (!set_once(c.chain.access, "auth_request " + path + ";")) {
    report(c.m.pos, "router '" + c.router.name + "': " + c.what +
                        ": nginx makes one auth_request per location: only the last of the chain is rendered");
    c.chain.extras.clear();
  }
  c.chain.extras.emplace_back("auth " + c.m.name, block);
  int i = 0;
  for (const auto& h : strings(c.node, "authResponseHeaders", c.what)) {
    std::string var = "$cr_auth_" + c.id + "_" + std::to_string(++i);
    c.chain.access.push_back("auth_request_set " + var + " $upstream_http_" + lower(ident(h)) + ";");
    c.chain.req.set(h, var);
  }
  report(c.m.pos, c.what +
                      ": nginx's auth_request passes the request on a 2xx answer and answers 401 and 403 like "
                      "the auth server, but answers 500 where Traefik relays the auth server's other answers "
                      "(such as a redirect to a login page)");
  c.chain.access_mw = &c.m;
}

// No digest authentication in nginx: refuse rather than let everyone in.
void NginxRenderer::mw_digest_auth(MwCall& c) {
  c.chain.refuse = 401;
  report(c.m.pos, "router '" + c.router.name + "': " + c.what +
                      ": nginx has no digest authentication: requests are refused (401)");
}

void NginxRenderer::mw_ip_allow_list(MwCall& c) {
  report_unhandled(c.node, {"sourceRange", "ipStrategy", "rejectStatusCode"}, c.what, "left out");
  if (const DocNode* st = child(c.node, "ipStrategy"))
    if (integer(st, "depth", c.what).value_or(0) > 0 || !strings(st, "excludedIPs", c.what).empty())
      report(st->pos, c.what +
                          ": ipStrategy takes the client IP from X-Forwarded-For; the nginx output checks the "
                          "connection's address (configure nginx's realip module for the same effect)");
  if (auto code = integer(c.node, "rejectStatusCode", c.what); code && *code != 403)
    report(c.m.pos, c.what + ": nginx rejects with 403, not " + std::to_string(*code));
  for (const auto& s : strings(c.node, "sourceRange", c.what)) c.chain.access.push_back("allow " + s + ";");
  c.chain.access.push_back("deny all;");
  c.chain.access_mw = &c.m;
}

// The key a rateLimit or inFlightReq counts by.
std::string NginxRenderer::source_key(MwCall& c) {
  std::string key = "$binary_remote_addr";
  if (const DocNode* sc = child(c.node, "sourceCriterion")) {
    if (boolean(sc, "requestHost", c.what))
      key = "$host";
    else if (auto h = text(sc, "requestHeaderName", c.what); h && !h->empty())
      key = "$http_" + lower(ident(*h));
    if (const DocNode* st = child(sc, "ipStrategy"))
      if (integer(st, "depth", c.what).value_or(0) > 0 || !strings(st, "excludedIPs", c.what).empty())
        report(st->pos, c.what +
                            ": ipStrategy takes the client IP from X-Forwarded-For; the nginx output counts per "
                            "connection address");
  }
  return key;
}

// rateLimit: average per period as nginx's whole requests per second or
// minute, burst as nginx's (which counts the requests beyond the first).
void NginxRenderer::mw_rate_limit(MwCall& c) {
  report_unhandled(c.node, {"average", "period", "burst", "sourceCriterion"}, c.what, "left out");
  auto avg = integer(c.node, "average", c.what).value_or(0);
  if (avg <= 0) return;  // Traefik: no limit
  std::int64_t period = duration(c.node, "period", c.what).value_or(1000000000LL);
  if (period <= 0) period = 1000000000LL;
  std::int64_t burst = integer(c.node, "burst", c.what).value_or(1);
  std::string rate;
  if ((avg * 1000000000LL) % period == 0) {
    rate = std::to_string(avg * 1000000000LL / period) + "r/s";
  } else {
    long double per_min = static_cast<long double>(avg) * 60e9L / static_cast<long double>(period);
    auto rounded = std::max<std::int64_t>(1, static_cast<std::int64_t>(per_min + 0.5L));
    if (static_cast<long double>(rounded) != per_min)
      report(c.m.pos, c.what + ": nginx rates are whole requests per second or minute: rounded to " +
                          std::to_string(rounded) + "r/m");
    rate = std::to_string(rounded) + "r/m";
  }
  std::string key = source_key(c);
  if (const DocNode* rd = child(c.node, "redis"))
    report(rd->pos,
           c.what + ": redis (a limit shared by several proxies) has no nginx equivalent: each nginx limits alone");
  std::string zone = name_for("ratelimit", c.m.name, "cr_rl_" + c.id);
  http_line("zone " + zone, "limit_req_zone " + key + " zone=" + zone + ":10m rate=" + rate + ";  # " + c.what);
  c.chain.other.push_back("limit_req zone=" + zone +
                          (burst > 1 ? " burst=" + std::to_string(burst - 1) + " nodelay" : "") + ";");
  set_once(c.chain.other, "limit_req_status 429;");
}

void NginxRenderer::mw_in_flight_req(MwCall& c) {
  report_unhandled(c.node, {"amount", "sourceCriterion"}, c.what, "left out");
  auto amount = integer(c.node, "amount", c.what).value_or(0);
  if (amount <= 0) return;
  std::string key = source_key(c);
  std::string zone = name_for("conn", c.m.name, "cr_conn_" + c.id);
  http_line("zone " + zone, "limit_conn_zone " + key + " zone=" + zone + ":10m;  # " + c.what);
  c.chain.other.push_back("limit_conn " + zone + " " + std::to_string(amount) + ";");
  set_once(c.chain.other, "limit_conn_status 429;");
}

// compress: gzip for any content type (Traefik compresses all but a few).
void NginxRenderer::mw_compress(MwCall& c) {
  report_unhandled(c.node, {"minResponseBodyBytes", "includedContentTypes", "encodings"}, c.what, "left out");
  auto encodings = strings(c.node, "encodings", c.what);
  if (!encodings.empty() && std::find(encodings.begin(), encodings.end(), "gzip") == encodings.end()) {
    report(c.m.pos, c.what + ": nginx compresses with gzip only, which these encodings leave out: not compressed");
    return;
  }
  auto& o = c.chain.other;
  set_once(o, "gzip on;");
  set_once(o, "gzip_proxied any;");
  set_once(o, "gzip_vary on;");
  auto types = strings(c.node, "includedContentTypes", c.what);
  set_once(o, "gzip_types " + (types.empty() ? std::string("*") : join(types, " ")) + ";");
  set_once(o,
           "gzip_min_length " + std::to_string(integer(c.node, "minResponseBodyBytes", c.what).value_or(1024)) + ";");
}

void NginxRenderer::mw_buffering(MwCall& c) {
  report_unhandled(c.node, {"maxRequestBodyBytes", "memRequestBodyBytes", "memResponseBodyBytes"}, c.what, "left out");
  if (auto v = integer(c.node, "maxRequestBodyBytes", c.what); v && *v > 0) {
    set_once(c.chain.other, "client_max_body_size " + std::to_string(*v) + ";");
    c.chain.max_body = *v;
  }
  if (auto v = integer(c.node, "memRequestBodyBytes", c.what); v && *v > 0)
    set_once(c.chain.other, "client_body_buffer_size " + std::to_string(*v) + ";");
}

void NginxRenderer::mw_retry(MwCall& c) {
  report_unhandled(c.node, {"attempts", "retryNonIdempotentMethod", "disableRetryOnNetworkError", "status"}, c.what,
                   "left out");
  auto attempts = integer(c.node, "attempts", c.what).value_or(0);
  if (attempts <= 0) return;
  std::vector<std::string> when;
  if (!boolean(c.node, "disableRetryOnNetworkError", c.what)) when = {"error", "timeout"};
  for (const auto& s : strings(c.node, "status", c.what)) {
    static const std::set<std::string> known{"500", "502", "503", "504", "403", "404", "429"};
    if (known.count(s))
      when.push_back("http_" + s);
    else
      report(c.m.pos, c.what + ": nginx retries on status 500, 502, 503, 504, 403, 404 and 429 only, not " + s);
  }
  if (boolean(c.node, "retryNonIdempotentMethod", c.what)) when.push_back("non_idempotent");
  if (when.empty()) return;
  set_once(c.chain.after, "proxy_next_upstream " + join(when, " ") + ";");
  set_once(c.chain.after, "proxy_next_upstream_tries " + std::to_string(attempts) + ";");
}

void NginxRenderer::mw_content_type(MwCall& c) {
  if (boolean(c.node, "autoDetect", c.what))
    report(c.m.pos, c.what + ": nginx does not sniff content types: responses keep the server's Content-Type");
}

Body NginxRenderer::make_body(const RouteEntry& e, bool tls, bool named) {
  const Router& r = *e.router;
  Chain chain;
  for (const Middleware* m : expand_middlewares(cfg_, r)) {
    if (chain.redirected) break;
    const std::string kind = m->kinds.size() == 1 ? m->kinds.front() : "";
    const std::string what = "middleware '" + m->name + "' (" + kind + ")";
    if (const auto* h = middleware_handler(kind)) {
      MwCall call{r, *m, child(m->node, kind), kind, what, ident(m->name), tls, chain};
      (this->*(h->second))(call);
    } else {
      report(m->pos,
             "router '" + r.name + "': " + what + " has no nginx equivalent in the output: requests pass without it");
    }
  }

  // The service.
  const Service* svc = r.service ? find_service(cfg_, Protocol::http, r.service->value) : nullptr;
  Backend none;
  const Backend* b = &none;
  if (svc) {
    b = &backend(svc);
  } else {
    none.comment = r.service ? "service '" + r.service->value + "' is not defined in these files" : "no service";
    report(r.service ? r.service->pos : r.pos,
           "router '" + r.name + "': " + none.comment +
               " (another provider's or Traefik's internal service): nginx answers 502");
  }

  Body result;
  auto& lines = result.lines;
  if (named && chain.max_body && !chain.redirected)
    // A named location skips nginx's Content-Length check of client_max_body_size.
    lines.push_back("if ($content_length ~ " +
                    re_quote(greater_than_regex(static_cast<std::uint64_t>(*chain.max_body))) + ") { return 413; }");
  lines.insert(lines.end(), chain.rewrite.begin(), chain.rewrite.end());
  if (chain.redirected) return result;
  if (chain.refuse) {
    lines.push_back("return " + std::to_string(chain.refuse) + ";  # an access check nginx cannot make");
    return result;
  }
  if (!b->ok) {
    lines.push_back("return " + std::to_string(b->status) + ";  # " + b->comment);
    return result;
  }
  result.extras = std::move(chain.extras);
  if (!b->preserve_path.empty() && b->preserve_path != "/") {
    // preservePath: the server URL's path joined before the request path.
    std::string p = b->preserve_path;
    if (p.back() == '/') p.pop_back();
    lines.push_back("rewrite ^ \"" + lit_inner(p) + "$uri\";");
    chain.path_changed = true;
  }
  if (chain.path_changed) lines.push_back("break;");  // no second location search for the new path
  lines.insert(lines.end(), chain.access.begin(), chain.access.end());
  lines.insert(lines.end(), chain.other.begin(), chain.other.end());
  for (const auto& [name, value] : chain.resp) {
    lines.push_back("proxy_hide_header " + name + ";");
    if (!value.empty()) lines.push_back("add_header " + name + " " + lit(value) + " always;");
  }
  auto& req = chain.req;
  if (!b->pass_host) req.set("Host", lit(b->host));
  // The server's proxy_set_header lines hold unless the location sets any.
  if (req.items != default_request_headers().items)
    for (const auto& [name, value] : req.items) lines.push_back("proxy_set_header " + name + " " + value + ";");
  if (b->scheme == "https") {
    lines.push_back("proxy_ssl_server_name on;");
    std::string sni = b->sni;
    if (auto sn = text(b->transport, "serverName", "serversTransport"); sn && !sn->empty()) sni = *sn;
    lines.push_back("proxy_ssl_name " + lit(sni) + ";");
    if (boolean(b->transport, "insecureSkipVerify", "serversTransport")) {
      lines.push_back("proxy_ssl_verify off;");
    } else {  // Traefik verifies the servers' certificates
      auto cas = strings(b->transport, "rootCAs", "serversTransport");
      lines.push_back("proxy_ssl_verify on;");
      lines.push_back("proxy_ssl_trusted_certificate " +
                      re_quote(cas.empty() ? std::string("/etc/ssl/certs/ca-certificates.crt") : cas.front()) + ";");
    }
    for (const DocNode* cert : items_of(child(b->transport, "certificates"))) {
      auto cf = text(cert, "certFile", "serversTransport");
      auto kf = text(cert, "keyFile", "serversTransport");
      if (cf && kf) {
        lines.push_back("proxy_ssl_certificate " + lit(*cf) + ";");
        lines.push_back("proxy_ssl_certificate_key " + lit(*kf) + ";");
        break;
      }
    }
  }
  if (const DocNode* ft = child(b->transport, "forwardingTimeouts")) {
    if (auto d = duration(ft, "dialTimeout", "serversTransport"); d && *d > 0)
      lines.push_back("proxy_connect_timeout " + nginx_time(*d) + ";");
    if (auto d = duration(ft, "responseHeaderTimeout", "serversTransport"); d && *d > 0)
      lines.push_back("proxy_read_timeout " + nginx_time(*d) + ";");
  }
  if (const DocNode* rf = child(b->lb, "responseForwarding"))
    if (auto d = duration(rf, "flushInterval", "service"); d && *d < 0) lines.push_back("proxy_buffering off;");
  if (chain.after.empty() && b->servers > 1)
    chain.after.push_back("proxy_next_upstream off;  # Traefik does not retry without a retry middleware");
  lines.insert(lines.end(), chain.after.begin(), chain.after.end());
  lines.push_back("proxy_pass " + b->scheme + "://" + b->upstream + ";");
  return result;
}

// The internal location that asks a forwardAuth server (its upstream is
// declared once); "" when the address cannot be used.
std::string NginxRenderer::auth_location(const Middleware* m, const DocNode* n, const std::string& what,
                                         std::string& path) {
  auto address = text(n, "address", what);
  if (!address) return "";
  std::string rest = *address;
  auto sep = rest.find("://");
  if (sep == std::string::npos) return "";
  std::string scheme = lower(rest.substr(0, sep));
  if (scheme != "http" && scheme != "https") return "";
  rest = rest.substr(sep + 3);
  auto slash = rest.find_first_of("/?");
  std::string authority = rest.substr(0, slash);
  std::string uri = slash == std::string::npos ? "" : rest.substr(slash);
  if (uri.empty() || uri.front() == '?') uri = "/" + uri;  // Traefik asks for the address itself
  if (authority.empty()) return "";
  std::string hostport = authority;
  bool has_port = !authority.empty() && authority.back() != ']' && authority.find(':') != std::string::npos &&
                  (authority.front() != '[' || authority.find("]:") != std::string::npos);
  if (!has_port) hostport += scheme == "https" ? ":443" : ":80";
  std::string up = name_for("upstream", "auth " + m->name, "cr_auth_" + ident(m->name));
  http_line("upstream " + up, "# " + what + " (" + where(m->pos) + ")\nupstream " + up + " {\n    server " + hostport +
                                  ";\n    keepalive 16;\n}");
  path = "/.certroute-auth/" + ident(m->name);
  std::string b = "location = " + path + " {\n";
  b += "    # " + what + ": the auth server sees the request's headers, not its body\n";
  b += "    internal;\n";
  b += "    proxy_pass " + lit(scheme + "://" + up + uri) + ";\n";
  b += "    proxy_pass_request_body off;\n";
  auto only = strings(n, "authRequestHeaders", what);
  if (!only.empty()) b += "    proxy_pass_request_headers off;\n";
  b += "    proxy_set_header Host " + lit(authority) + ";\n";
  b += "    proxy_set_header Content-Length \"\";\n";
  b += "    proxy_set_header Connection \"\";\n";
  for (const auto& h : only) b += "    proxy_set_header " + h + " $http_" + lower(ident(h)) + ";\n";
  b += "    proxy_set_header X-Forwarded-Method $request_method;\n";
  b += "    proxy_set_header X-Forwarded-Proto $scheme;\n";
  b += "    proxy_set_header X-Forwarded-Host $http_host;\n";
  b += "    proxy_set_header X-Forwarded-Uri $request_uri;\n";
  b += "    proxy_set_header X-Forwarded-For $remote_addr;\n";
  if (scheme == "https") {
    std::string host = authority.substr(0, authority.rfind(':') == std::string::npos || authority.back() == ']'
                                               ? authority.size()
                                               : authority.rfind(':'));
    b += "    proxy_ssl_server_name on;\n    proxy_ssl_name " + lit(host) + ";\n";
  }
  b += "}";
  return b;
}

// ---- TLS ----------------------------------------------------------------------------------

std::string NginxRenderer::cert_file(const Text& t, const std::string& name, bool key) {
  if (t.value.find("-----BEGIN") == std::string::npos) return t.value;
  // Inline PEM: written beside the output.
  std::string fname = name + (key ? ".key" : ".crt");
  if (side_names_.insert(fname).second) side_files_.push_back(SideFile{fname, t.value, key});
  return opt_.output_dir.empty() ? fname : opt_.output_dir + "/" + fname;
}

const std::vector<NginxRenderer::CertInfo>& NginxRenderer::certs() {
  if (certs_) return *certs_;
  certs_.emplace();
  for (const auto& c : cfg_.certificates) {
    if (!c.cert_file || !c.key_file || c.cert_file->value.empty() || c.key_file->value.empty()) continue;
    if (c.store_default) {
      store_default_ = &c;
      continue;
    }
    CertInfo ct{&c, {}, false};
    std::string pem = c.cert_file->value;
    if (pem.find("-----BEGIN") == std::string::npos) {
      std::ifstream in(pem, std::ios::binary);
      std::stringstream ss;
      if (in) ss << in.rdbuf();
      pem = ss.str();
    }
    ct.names = certificate_names(pem);
    ct.readable = !ct.names.empty();
    certs_->push_back(std::move(ct));
  }
  return *certs_;
}

std::vector<std::string> NginxRenderer::tls_lines(Group& g, const std::vector<SCand>& cands,
                                                  const std::vector<std::string>& hosts, bool is_default) {
  std::vector<std::string> out;
  // The certificates and the names they cover (read from the files when possible).
  const auto& certs = this->certs();
  const TlsCertificate* store_default = store_default_;
  // Routers of this server, for their TLS options and certResolver.
  // Routers that name the host first: the server is theirs.
  std::vector<const Router*> routers;
  for (bool with_host : {true, false})
    for (const auto& c : cands) {
      const Router* r = g.routes[c.conj->route].router;
      bool names_host = std::any_of(c.conj->atoms.begin(), c.conj->atoms.end(),
                                    [](const Atom& a) { return !a.negated && is_host_matcher(a.matcher->matcher); });
      if (names_host == with_host && std::find(routers.begin(), routers.end(), r) == routers.end())
        routers.push_back(r);
    }
  const std::string label = is_default ? "the default server of entry point '" + g.ep.name + "'"
                                       : "server " + join(hosts, " ") + " (entry point '" + g.ep.name + "')";

  const TlsCertificate* chosen = nullptr;
  std::string why;
  if (!is_default) {
    for (bool wildcard : {false, true}) {
      for (const auto& c : certs)
        if (std::all_of(hosts.begin(), hosts.end(),
                        [&](const std::string& h) { return cert_covers(c.names, h, wildcard); })) {
          chosen = c.c;
          break;
        }
      if (chosen) break;
    }
  }
  const Router* resolver_router = nullptr;
  for (const auto* r : routers)
    if (r->cert_resolver) {
      resolver_router = r;
      break;
    }
  if (!chosen) {
    bool unreadable = std::any_of(certs.begin(), certs.end(), [](const CertInfo& c) { return !c.readable; });
    if (!is_default && resolver_router && !unreadable) {
      // The certificate comes from ACME in Traefik: point at certroute's store.
      std::string name = hosts.front();
      std::string dir = "/var/lib/certroute/certs/" + name + "/current";
      report(resolver_router->cert_resolver->pos,
             "router '" + resolver_router->name + "': certResolver '" + resolver_router->cert_resolver->value +
                 "': nginx has no ACME client; the output expects the certificate in " + dir + " (certroute issue -d " +
                 join(hosts, " -d ") + ")");
      out.push_back("ssl_certificate " + lit(dir + "/fullchain.pem") + ";");
      out.push_back("ssl_certificate_key " + lit(dir + "/privkey.pem") + ";");
    } else if (store_default) {
      chosen = store_default;
    } else if (certs.size() == 1 && !certs.front().readable) {
      chosen = certs.front().c;  // the only one: surely meant for every host
    } else if (!certs.empty()) {
      chosen = certs.front().c;
      if (!is_default || !cands.empty()) {
        const Router* r = routers.empty() ? nullptr : routers.front();
        report(r ? r->pos : chosen->pos,
               label + ": " +
                   (unreadable ? "cannot read the certificates to tell which one covers it"
                               : "no certificate covers it (Traefik would serve its self-signed default)") +
                   "; nginx uses " + chosen->cert_file->value);
      }
    } else if (is_default && cands.empty()) {
      out.push_back("ssl_reject_handshake on;  # no default certificate: unknown names get no TLS handshake");
    } else {
      std::string name = is_default ? "default" : hosts.front();
      std::string dir = "/var/lib/certroute/certs/" + name + "/current";
      const Router* r = routers.empty() ? nullptr : routers.front();
      report(r ? r->pos : Pos{}, label +
                                     ": no certificate in tls.certificates (Traefik would serve its self-signed "
                                     "default or a certResolver's): the output expects one in " +
                                     dir);
      out.push_back("ssl_certificate " + lit(dir + "/fullchain.pem") + ";");
      out.push_back("ssl_certificate_key " + lit(dir + "/privkey.pem") + ";");
    }
  }
  if (chosen) {
    std::size_t index = static_cast<std::size_t>(chosen - cfg_.certificates.data());
    out.push_back("ssl_certificate " + lit(cert_file(*chosen->cert_file, "cert-" + std::to_string(index), false)) +
                  ";");
    out.push_back("ssl_certificate_key " + lit(cert_file(*chosen->key_file, "cert-" + std::to_string(index), true)) +
                  ";");
  }

  // TLS options: one set per server.
  std::string opt_name;
  const Router* opt_router = nullptr;
  for (const auto* r : routers) {
    std::string name = r->tls_options ? r->tls_options->value.substr(0, r->tls_options->value.find('@')) : "default";
    if (!opt_router) {
      opt_name = name;
      opt_router = r;
    } else if (name != opt_name) {
      report(r->tls_options ? r->tls_options->pos : r->pos,
             "router '" + r->name + "' uses TLS options '" + name + "' but shares " + label + " with router '" +
                 opt_router->name + "' (options '" + opt_name +
                 "'); nginx has one TLS configuration per server: used '" + opt_name + "'");
    }
  }
  if (opt_name.empty()) opt_name = "default";
  const DocNode* o = nullptr;
  if (auto it = cfg_.tls_options.find(opt_name); it != cfg_.tls_options.end()) o = it->second.node;
  const std::string what = "TLS options '" + opt_name + "'";
  report_unhandled(o,
                   {"minVersion", "maxVersion", "cipherSuites", "curvePreferences", "clientAuth", "sniStrict",
                    "disableSessionTickets", "preferServerCipherSuites", "alpnProtocols"},
                   what, "left out");
  static const std::vector<std::string> versions{"VersionTLS10", "VersionTLS11", "VersionTLS12", "VersionTLS13"};
  static const std::vector<std::string> nginx_versions{"TLSv1", "TLSv1.1", "TLSv1.2", "TLSv1.3"};
  auto vindex = [&](const std::string& v, std::size_t dflt) {
    auto it = std::find(versions.begin(), versions.end(), v);
    return it == versions.end() ? dflt : static_cast<std::size_t>(it - versions.begin());
  };
  std::size_t lo = vindex(text(o, "minVersion", what).value_or(""), 2);
  std::size_t hi = vindex(text(o, "maxVersion", what).value_or(""), 3);
  std::vector<std::string> protos;
  for (std::size_t i = lo; i <= hi && i < nginx_versions.size(); ++i) protos.push_back(nginx_versions[i]);
  if (!protos.empty()) out.push_back("ssl_protocols " + join(protos, " ") + ";");
  std::vector<std::string> suites;
  for (const auto& c : strings(o, "cipherSuites", what)) {
    const auto* k = gocompat::find_cipher_suite(c);
    if (!k || k->tls13 || k->openssl.empty()) continue;  // TLS 1.3 suites are not configurable in Go either
    if (std::string name(k->openssl); std::find(suites.begin(), suites.end(), name) == suites.end())
      suites.push_back(name);
  }
  if (!suites.empty()) out.push_back("ssl_ciphers " + join(suites, ":") + ";");
  static const std::map<std::string, std::string> curves{
      {"CurveP256", "prime256v1"}, {"secp256r1", "prime256v1"}, {"CurveP384", "secp384r1"}, {"secp384r1", "secp384r1"},
      {"CurveP521", "secp521r1"},  {"secp521r1", "secp521r1"},  {"X25519", "X25519"},       {"x25519", "X25519"}};
  std::vector<std::string> cs;
  for (const auto& c : strings(o, "curvePreferences", what)) {
    if (auto it = curves.find(c); it != curves.end())
      cs.push_back(it->second);
    else
      report(o->pos, what + ": curve " + c + " has no name in nginx's OpenSSL: left out");
  }
  if (!cs.empty()) out.push_back("ssl_ecdh_curve " + join(cs, ":") + ";");
  if (const DocNode* ca = child(o, "clientAuth")) {
    auto type = text(ca, "clientAuthType", what).value_or("NoClientCert");
    auto files = strings(ca, "caFiles", what);
    if (files.size() > 1) report(ca->pos, what + ": nginx takes one client CA file: used " + files.front());
    std::string mode;
    if (type == "RequireAndVerifyClientCert")
      mode = "on";
    else if (type == "VerifyClientCertIfGiven")
      mode = "optional";
    else if (type == "RequestClientCert" || type == "RequireAnyClientCert")
      mode = "optional_no_ca";
    if (type == "RequireAnyClientCert")
      report(ca->pos, what + ": RequireAnyClientCert: nginx requests a client certificate but does not require one");
    if (!mode.empty()) {
      if (!files.empty())
        out.push_back("ssl_client_certificate " + re_quote(cert_file(Text{files.front()}, "client-ca", false)) + ";");
      out.push_back("ssl_verify_client " + mode + ";");
    }
  }
  if (boolean(o, "disableSessionTickets", what)) out.push_back("ssl_session_tickets off;");
  if (auto alpn = strings(o, "alpnProtocols", what); !alpn.empty()) {
    bool has_h2 = std::find(alpn.begin(), alpn.end(), "h2") != alpn.end();
    if (!has_h2)
      report(o->pos, what + ": alpnProtocols without h2: nginx offers what its listen line enables (h2, http/1.1)");
  }
  if (is_default && boolean(o, "sniStrict", what) && cands.empty()) {
    out.clear();
    out.push_back("ssl_reject_handshake on;  # sniStrict: unknown names get no TLS handshake");
  }
  return out;
}

// ---- servers and locations -----------------------------------------------------------------

void NginxRenderer::render_group(Group& g, std::string& out) {
  // Host names the routers name: each gets a server (grouped when the same
  // routers serve them).
  std::vector<std::string> hosts;
  for (const auto& c : g.conjs)
    for (const auto& a : c.atoms)
      // Negated ones too: the default server decides Host() as false, so
      // every name a Host() holds needs its own server.
      if (a.matcher->matcher == Matcher::host || a.matcher->matcher == Matcher::host_header)
        for (const auto& arg : a.matcher->args) {
          std::string h = server_host(arg.normalized);
          if (servable_host(h) && std::find(hosts.begin(), hosts.end(), h) == hosts.end()) hosts.push_back(h);
        }

  // The candidates of a server context: exact host, or the default server.
  auto candidates = [&](const std::string* host) {
    std::vector<SCand> out;
    for (const auto& c : g.conjs) {
      SCand sc{&c, {}};
      bool ok = true;
      for (const auto& a : c.atoms) {
        const RuleExpr& m = *a.matcher;
        if (!is_host_matcher(m.matcher)) {
          sc.pending.push_back(&a);
          continue;
        }
        Tri t = Tri::no;
        if (host) {
          for (const auto& arg : m.args) {
            bool hit = m.matcher == Matcher::host_regexp ? (arg.regex && RE2::PartialMatch(*host, *arg.regex))
                                                         : host_equals(*host, arg.normalized);
            if (hit) t = Tri::yes;
          }
        } else {
          t = Tri::no;
          if (m.matcher == Matcher::host_regexp)
            for (const auto& arg : m.args)
              t = (arg.regex && matches_any_host(arg.regex->pattern())) ? Tri::yes : (t == Tri::yes ? t : Tri::maybe);
        }
        t = negate_tri(t, a.negated);
        if (t == Tri::no) {
          ok = false;
          break;
        }
        if (t == Tri::maybe) sc.pending.push_back(&a);
      }
      if (ok) out.push_back(std::move(sc));
    }
    return out;
  };

  auto signature = [&](const std::vector<SCand>& cs) {
    std::string s;
    for (const auto& c : cs) {
      s += std::to_string(c.conj->route) + ":";
      for (const auto* a : c.pending)
        s += std::to_string(reinterpret_cast<std::uintptr_t>(a->matcher)) + (a->negated ? "!" : "") + ",";
      s += ";";
    }
    return s;
  };

  std::string addr = g.ep.address.find(':') != std::string::npos ? "[" + g.ep.address + "]" : g.ep.address;
  out += "# ---- entry point " + g.ep.name + " (" + addr + ":" + std::to_string(g.ep.port) + (g.tls ? ", TLS" : "") +
         ") ----\n";
  if (std::any_of(g.routes.begin(), g.routes.end(), [](const RouteEntry& e) { return e.router->entry_points.empty(); }))
    out += "# Routers without entryPoints serve here too, as in Traefik (--entrypoint chooses what is rendered).\n";
  out += "\n";
  // The default server first: requests for other names, and routers without Host.
  render_server(g, candidates(nullptr), {}, true, out);
  // Traefik picks a certificate by SNI whatever the routers: a name a
  // certificate covers gets a server with that certificate too, serving what
  // the default server serves (a wildcard name: nginx's wildcard server_name).
  std::vector<std::pair<std::string, bool>> names;  // name, from a certificate
  for (const auto& h : hosts) names.push_back({h, false});
  if (g.tls && !candidates(nullptr).empty())
    for (const auto& c : certs())
      for (const auto& n : c.names) {
        std::string base = starts_with(n, "*.") ? n.substr(2) : n;
        if (!servable_host(base) ||
            std::any_of(names.begin(), names.end(), [&](const auto& x) { return x.first == n; }))
          continue;
        names.push_back({n, true});
      }
  std::vector<std::pair<std::string, std::vector<std::string>>> grouped;  // signature -> hosts
  std::map<std::string, std::vector<SCand>> by_sig;
  for (const auto& name : names) {
    const std::string& h = name.first;
    auto cs = starts_with(h, "*.") ? candidates(nullptr) : candidates(&h);
    std::string sig = signature(cs);
    auto it = std::find_if(grouped.begin(), grouped.end(), [&](const auto& p) { return p.first == sig; });
    if (it == grouped.end()) {
      grouped.push_back({sig, {h}});
      by_sig[sig] = std::move(cs);
    } else {
      it->second.push_back(h);
    }
  }
  // TLS servers also split by certificate: render_server reports per group.
  for (const auto& [sig, hs] : grouped) {
    if (!g.tls) {
      render_server(g, by_sig[sig], hs, false, out);
      continue;
    }
    std::map<std::string, std::vector<std::string>> by_cert;
    std::vector<std::string> order;
    for (const auto& h : hs) {
      auto lines = tls_lines(g, by_sig[sig], {h}, false);
      std::string key = join(lines, "\n");
      if (!by_cert.count(key)) order.push_back(key);
      by_cert[key].push_back(h);
    }
    for (const auto& k : order) render_server(g, by_sig[sig], by_cert[k], false, out);
  }
}

void NginxRenderer::render_server(Group& g, const std::vector<SCand>& cands, const std::vector<std::string>& hosts,
                                  bool is_default, std::string& out) {
  // Locations from the path matchers.
  LocSet S;
  for (const auto& c : cands) {
    bool literal = false;
    for (const auto* a : c.pending) {
      const RuleExpr& m = *a->matcher;
      if (a->negated || !is_path_matcher(m.matcher)) continue;
      for (const auto& arg : m.args) {
        if (!literal_arg(m.matcher, arg)) continue;
        literal = true;
        if (m.matcher == Matcher::path)
          S.exact.insert(arg.value);
        else if (arg.value != "/")
          S.prefix.insert(arg.value);
      }
    }
    if (literal) continue;
    for (const auto* a : c.pending) {
      const RuleExpr& m = *a->matcher;
      if (a->negated || !is_path_matcher(m.matcher)) continue;
      if (m.args.size() != 1) break;
      const auto& re = m.args[0].regex;
      if (!re) break;
      std::string p = re->pattern();
      if (std::find(S.regex.begin(), S.regex.end(), p) == S.regex.end()) {
        S.regex.push_back(p);
        S.regex_re.push_back(re);
      }
      break;
    }
  }
  // A regex whose matches all fall under a prefix location never gets chosen.
  for (std::size_t i = 0; i < S.regex.size();) {
    auto lp = literal_prefix(S.regex[i]);
    if (lp && !S.longest_prefix(*lp).empty()) {
      S.regex.erase(S.regex.begin() + static_cast<std::ptrdiff_t>(i));
      S.regex_re.erase(S.regex_re.begin() + static_cast<std::ptrdiff_t>(i));
    } else {
      ++i;
    }
  }
  // nginx answers "/x" with a redirect to "/x/" when a "/x/" location proxies;
  // an exact "/x" location keeps Traefik's meaning.
  std::vector<std::string> slashless;
  for (const auto* set : {&S.exact, &S.prefix})
    for (const auto& p : *set)
      if (p.size() > 1 && p.back() == '/') slashless.push_back(p.substr(0, p.size() - 1));
  for (auto& p : slashless) S.exact.insert(p);

  std::vector<Loc> locs;
  for (const auto& p : S.exact) locs.push_back({Loc::exact, p});
  for (const auto& p : S.prefix) locs.push_back({Loc::prefix, p});
  for (std::size_t i = 0; i < S.regex.size(); ++i) locs.push_back({Loc::regex, S.regex[i], i});
  locs.push_back({Loc::root, "/"});

  // Per location: the routers that can serve its requests, in priority order.
  auto dispatch = [&](const Loc& L) {
    std::vector<Dispatch> d;
    for (const auto& c : cands) {
      Dispatch x{c.conj->route, {}};
      bool ok = true;
      for (const auto* a : c.pending) {
        const RuleExpr& m = *a->matcher;
        if (is_path_matcher(m.matcher)) {
          Tri t = Tri::no;
          for (const auto& arg : m.args) {
            const auto& re = m.matcher == Matcher::path_regexp ? m.args[0].regex : arg.regex;
            Tri ta = path_arg_in(m.matcher, arg, re, L, S);
            if (ta == Tri::yes)
              t = Tri::yes;
            else if (ta == Tri::maybe && t == Tri::no)
              t = Tri::maybe;
            if (m.matcher == Matcher::path_regexp) break;
          }
          t = negate_tri(t, a->negated);
          if (t == Tri::no) {
            ok = false;
            break;
          }
          if (t == Tri::maybe) x.conds.push_back(Cond{"$uri", path_atom_regex(m), a->negated});
          continue;
        }
        std::string why;
        auto conds = runtime_conds(m, g.routes[c.conj->route].rule.syntax == RuleSyntax::v2, why);
        for (auto cnd : *conds) {
          cnd.negated = a->negated;
          x.conds.push_back(cnd);
        }
      }
      if (!ok) continue;
      std::vector<Cond> uniq;
      for (const auto& cnd : x.conds)
        if (std::find(uniq.begin(), uniq.end(), cnd) == uniq.end()) uniq.push_back(cnd);
      x.conds = std::move(uniq);
      bool last = x.conds.empty();
      d.push_back(std::move(x));
      if (last) break;
    }
    return d;
  };

  std::string listen = "listen ";
  if (!g.ep.address.empty())
    listen += (g.ep.address.find(':') != std::string::npos ? "[" + g.ep.address + "]" : g.ep.address) + ":";
  listen += std::to_string(g.ep.port);
  if (is_default) listen += " default_server";
  if (g.tls) listen += " ssl http2";

  std::string head_text = "server {\n";
  head_text += "    " + listen + ";\n";
  head_text += "    server_name " + (is_default ? std::string("_") : join(hosts, " ")) + ";\n";
  if (g.tls)
    for (const auto& l : tls_lines(g, cands, hosts, is_default)) head_text += "    " + l + "\n";
  // Traefik matches the path as sent ("//" included); nginx merges slashes
  // unless told not to (it reads this from the port's default server).
  head_text += "    merge_slashes off;\n";
  const std::size_t server_start = out.size();

  std::vector<std::size_t> named_routes;
  std::map<std::string, std::string> extras;
  auto route_label = [&](std::size_t i) {
    const Router& r = *g.routes[i].router;
    return "router " + qualified(r.name) + " (" + where(r.pos) + "): " + g.routes[i].rule.text;
  };
  auto named_location = [&](std::size_t i) {
    if (std::find(named_routes.begin(), named_routes.end(), i) == named_routes.end()) named_routes.push_back(i);
    return "@" + name_for("router", g.routes[i].router->name, "r_" + ident(g.routes[i].router->name));
  };
  for (const auto& L : locs) {
    auto d = dispatch(L);
    std::string head;
    switch (L.kind) {
      case Loc::exact:
        head = "location = " + re_quote(L.value);
        break;  // no variables in location strings
      case Loc::prefix:
        head = "location ^~ " + re_quote(L.value);
        break;
      case Loc::regex:
        head = "location ~ " + re_quote(L.value);
        break;
      case Loc::root:
        head = "location /";
        break;
    }
    out += "\n    " + head + " {\n";
    if (d.empty()) {
      out += "        return 404;  # no router matches (Traefik answers 404)\n";
    } else if (d.size() == 1 && d.front().conds.empty()) {
      out += "        # " + route_label(d.front().route) + "\n";
      const Body& bd = body(g.routes[d.front().route], g.tls, false);
      for (const auto& l : bd.lines) out += "        " + l + "\n";
      for (const auto& x : bd.extras) extras.insert(x);
    } else {
      std::size_t previous = static_cast<std::size_t>(-1);
      for (const auto& x : d) {
        std::string target = named_location(x.route);
        std::string jump = "error_page 418 = " + target + "; return 418;";
        if (x.route != previous) out += "        # " + route_label(x.route) + "\n";
        previous = x.route;
        if (x.conds.empty()) {
          out += "        " + jump + "\n";
        } else if (x.conds.size() == 1) {
          out += "        if (" + cond_text(x.conds.front(), false) + ") { " + jump + " }\n";
        } else {
          out += "        set $cr_match 1;\n";
          for (const auto& cnd : x.conds) out += "        if (" + cond_text(cnd, true) + ") { set $cr_match 0; }\n";
          out += "        if ($cr_match) { " + jump + " }\n";
        }
      }
      if (!d.back().conds.empty()) out += "        return 404;  # no router matches (Traefik answers 404)\n";
    }
    out += "    }\n";
  }
  for (std::size_t i : named_routes) {
    out += "\n    location " + named_location(i) + " {\n";
    out += "        # " + route_label(i) + "\n";
    const Body& bd = body(g.routes[i], g.tls, true);
    for (const auto& l : bd.lines) out += "        " + l + "\n";
    for (const auto& x : bd.extras) extras.insert(x);
    out += "    }\n";
  }
  for (const auto& [key, block] : extras) {
    std::istringstream in(block);
    out += "\n";
    for (std::string l; std::getline(in, l);) out += "    " + l + "\n";
  }
  out += "}\n\n";
  // The proxy settings every location inherits, when some location proxies.
  if (out.find("proxy_pass ", server_start) != std::string::npos) {
    head_text += "    client_max_body_size 0;  # Traefik sets no limit\n";
    head_text += "    proxy_http_version 1.1;\n";
    for (const auto& [name, value] : default_request_headers().items)
      head_text += "    proxy_set_header " + name + " " + value + ";\n";
  }
  out.insert(server_start, head_text);
}

RenderResult NginxRenderer::run() {
  auto gs = groups();
  std::string servers;
  for (auto& g : gs) {
    if (g.routes.empty()) {
      servers += "# ---- entry point " + g.ep.name + " (" + g.ep.address + ":" + std::to_string(g.ep.port) +
                 "): no HTTP router serves on it, not rendered ----\n\n";
      continue;
    }
    render_group(g, servers);
  }

  std::string head = generated_header(opt_, "# ");
  std::string content;
  content +=
      "# nginx configuration: " + std::string(opt_.standalone ? "a whole nginx.conf" : "include it inside http { }") +
      ". One server per entry point and host name,\n"
      "# locations per path matcher; the router Traefik would pick is the one nginx picks.\n" +
      std::string(opt_.standalone
                      ? ""
                      : "# Each port has a default_server answering 404 to unknown hosts, as Traefik does:\n"
                        "# other servers of this http {} must not be default_server on these ports.\n") +
      "\n";
  content += "# Keep-alive to the upstreams, and WebSocket upgrades.\n";
  content += "map $http_upgrade $cr_connection {\n    default upgrade;\n    \"\" \"\";\n}\n\n";
  content += "# The Host header as the client sent it (with its port), as Traefik passes it on.\n";
  content += "map $http_host $cr_host {\n    \"\" $host;\n    default $http_host;\n}\n\n";
  for (const auto& l : http_lines_) content += l + "\n\n";
  if (need_dollar_) content += "# A literal '$' in strings.\ngeo $cr_dollar {\n    default \"$\";\n}\n\n";
  content += upstreams_;
  content += servers;
  while (content.size() > 1 && content.back() == '\n' && content[content.size() - 2] == '\n') content.pop_back();

  RenderResult result;
  result.main_name = "nginx.conf";
  if (opt_.standalone) {
    std::string indented;
    std::istringstream in(content);
    for (std::string line; std::getline(in, line);) indented += line.empty() ? "\n" : "    " + line + "\n";
    result.main = head + "\nevents {\n}\n\nhttp {\n    default_type application/octet-stream;\n\n" + indented + "}\n";
  } else {
    result.main = head + content;
  }
  result.side_files = std::move(side_files_);
  return result;
}

class Nginx final : public Renderer {
 public:
  RenderResult render(const LoadedConfig& loaded, const RenderOptions& options, Diagnostics& diags) const override {
    NginxRenderer r(loaded, options, diags);
    return r.run();
  }
};

}  // namespace

std::unique_ptr<Renderer> make_nginx() { return std::make_unique<Nginx>(); }

}  // namespace certroute::routes::render
