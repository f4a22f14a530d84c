#include "core/routes/lint.hpp"

#include <algorithm>
#include <array>
#include <fcntl.h>
#include <map>
#include <set>
#include <sys/stat.h>
#include <unistd.h>

#include <re2/re2.h>

#include "core/routes/match.hpp"

namespace certroute::routes {
namespace {

struct Context {
  LoadedConfig& loaded;
  const LintOptions& options;
  std::vector<RouteEntry> http_routes;
  std::vector<RouteEntry> tcp_routes;

  const Config& config() const { return loaded.config; }
  Diagnostics& diags() { return loaded.diagnostics; }
  std::string where(const Pos& p) const {
    return loaded.sources.path_of(p) + ":" + std::to_string(p.line) + ":" + std::to_string(p.column);
  }
};

char lower_c(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

std::size_t edit_distance(std::string_view a, std::string_view b) {
  if (a.size() > 64 || b.size() > 64) return 64;
  std::vector<std::size_t> prev(b.size() + 1), cur(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j) prev[j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    cur[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j)
      cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (lower_c(a[i - 1]) == lower_c(b[j - 1]) ? 0 : 1)});
    std::swap(prev, cur);
  }
  return prev[b.size()];
}

template <typename Map>
std::string did_you_mean(const Map& defined, std::string_view name) {
  std::string_view best;
  std::size_t best_d = 0;
  std::size_t seen = 0;
  for (const auto& [k, v] : defined) {
    if (++seen > 5000) break;  // a suggestion is not worth quadratic time
    std::size_t d = edit_distance(name, k);
    if (best.empty() || d < best_d) best = k, best_d = d;
  }
  if (best.empty() || best_d > std::max<std::size_t>(2, name.size() / 3)) return "";
  return " (did you mean '" + std::string(best) + "'?)";
}

// A reference as the file provider resolves it: "x" and "x@file" are ours,
// "x@internal" is Traefik's own, other providers cannot be checked here.
enum class RefKind { file, internal, other };
RefKind ref_kind(const std::string& ref, std::string& name) {
  auto at = ref.rfind('@');
  if (at == std::string::npos) {
    name = ref;
    return RefKind::file;
  }
  name = ref.substr(0, at);
  std::string provider = ref.substr(at + 1);
  if (provider == "file") return RefKind::file;
  if (provider == "internal") return RefKind::internal;
  return RefKind::other;
}

template <typename Map>
bool resolves(const Map& defined, const std::string& ref, std::string& name) {
  RefKind k = ref_kind(ref, name);
  if (k != RefKind::file) return true;
  return defined.count(name) != 0;
}

bool templated(const Text& t) { return t.node && t.node->templated; }

// ---- rules --------------------------------------------------------------------

Pos issue_pos(const Context& ctx, const Router& r, const RuleIssue& is, std::string& suffix) {
  const Text& rule = *r.rule;
  if (rule.node && rule.node->text_offset != DocNode::no_offset)
    return ctx.loaded.sources.pos_at(rule.pos.file, rule.node->text_offset + is.begin);
  suffix = " (at column " + std::to_string(is.begin + 1) + " of the rule)";
  return rule.pos;
}

void check_rules_of(Context& ctx, const std::vector<RouteEntry>& routes) {
  for (const auto& e : routes) {
    const Router& r = *e.router;
    if (!r.rule || r.rule->value.empty()) {
      ctx.diags().add(Code::missing_rule, r.rule ? r.rule->pos : r.pos,
                      std::string(r.protocol == Protocol::tcp ? "TCP router '" : "router '") + r.name + "' has no rule");
      continue;
    }
    if (e.templated) continue;
    for (const auto& is : e.rule.issues) {
      std::string suffix;
      Pos p = issue_pos(ctx, r, is, suffix);
      ctx.diags().add(is.code, p, is.message + suffix, is.hint);
    }
  }
}

void check_rules(Context& ctx) {
  check_rules_of(ctx, ctx.http_routes);
  check_rules_of(ctx, ctx.tcp_routes);
}

// ---- references ---------------------------------------------------------------

void check_router_refs(Context& ctx, Protocol proto) {
  const Config& cfg = ctx.config();
  const Section& sec = cfg.section(proto);
  const char* what = proto == Protocol::http ? "router" : proto == Protocol::tcp ? "TCP router" : "UDP router";
  std::set<std::string> eps(ctx.options.entry_points.begin(), ctx.options.entry_points.end());
  for (const auto& [name, r] : sec.routers) {
    std::string n;
    if (!r.service || r.service->value.empty()) {
      ctx.diags().add(Code::missing_service, r.service ? r.service->pos : r.pos,
                      std::string(what) + " '" + name + "' has no service");
    } else if (!templated(*r.service) && !resolves(sec.services, r.service->value, n)) {
      ctx.diags().add(Code::undefined_service, r.service->pos,
                      std::string(what) + " '" + name + "' uses service '" + r.service->value + "', which is not defined" +
                          did_you_mean(sec.services, n));
    }
    for (const auto& m : r.middlewares) {
      if (templated(m) || resolves(sec.middlewares, m.value, n)) continue;
      ctx.diags().add(Code::undefined_middleware, m.pos,
                      std::string(what) + " '" + name + "' uses middleware '" + m.value + "', which is not defined" +
                          did_you_mean(sec.middlewares, n));
    }
    if (r.tls_options && !r.tls_options->value.empty() && !templated(*r.tls_options)) {
      std::string opt;
      RefKind k = ref_kind(r.tls_options->value, opt);
      if (k == RefKind::file && opt != "default" && !cfg.tls_options.count(opt)) {
        ctx.diags().add(Code::undefined_tls_options, r.tls_options->pos,
                        std::string(what) + " '" + name + "' uses TLS options '" + r.tls_options->value +
                            "', which are not defined under tls.options" + did_you_mean(cfg.tls_options, opt));
      }
    }
    if (!eps.empty()) {
      for (const auto& ep : r.entry_points) {
        if (templated(ep) || eps.count(ep.value)) continue;
        std::string known;
        for (const auto& x : ctx.options.entry_points) known += (known.empty() ? "" : ", ") + x;
        ctx.diags().add(Code::undefined_entry_point, ep.pos,
                        std::string(what) + " '" + name + "' uses entry point '" + ep.value +
                            "', which is not one of --entrypoints (" + known + ")");
      }
    }
  }
}

void check_references(Context& ctx) {
  check_router_refs(ctx, Protocol::http);
  check_router_refs(ctx, Protocol::tcp);
  check_router_refs(ctx, Protocol::udp);
  for (Protocol proto : {Protocol::http, Protocol::tcp, Protocol::udp}) {
    const Section& sec = ctx.config().section(proto);
    for (const auto& [name, s] : sec.services) {
      std::string n;
      for (const auto& c : s.children) {
        if (templated(c) || resolves(sec.services, c.value, n)) continue;
        ctx.diags().add(Code::undefined_service, c.pos,
                        "service '" + name + "' uses service '" + c.value + "', which is not defined" +
                            did_you_mean(sec.services, n));
      }
      if (s.servers_transport && !s.servers_transport->value.empty() && !templated(*s.servers_transport) &&
          !resolves(sec.transports, s.servers_transport->value, n)) {
        ctx.diags().add(Code::undefined_transport, s.servers_transport->pos,
                        "service '" + name + "' uses serversTransport '" + s.servers_transport->value +
                            "', which is not defined" + did_you_mean(sec.transports, n));
      }
    }
    for (const auto& [name, m] : sec.middlewares) {
      std::string n;
      for (const auto& c : m.chain) {
        if (templated(c) || resolves(sec.middlewares, c.value, n)) continue;
        ctx.diags().add(Code::undefined_middleware, c.pos,
                        "chain '" + name + "' uses middleware '" + c.value + "', which is not defined" +
                            did_you_mean(sec.middlewares, n));
      }
      if (m.service && !m.service->value.empty() && !templated(*m.service) &&
          !resolves(sec.services, m.service->value, n)) {
        ctx.diags().add(Code::undefined_service, m.service->pos,
                        "errors middleware '" + name + "' uses service '" + m.service->value + "', which is not defined" +
                            did_you_mean(sec.services, n));
      }
    }
  }
}

// ---- chains -------------------------------------------------------------------

void check_cycles(Context& ctx) {
  const auto& mws = ctx.config().http.middlewares;
  enum class State { unvisited, active, done };
  std::map<std::string, State> state;
  std::set<std::string> reported;
  // Iterative DFS over chain edges; a back edge closes a cycle.
  for (const auto& [start, _] : mws) {
    if (state[start] != State::unvisited) continue;
    struct Frame {
      std::string name;
      std::size_t next = 0;
    };
    std::vector<Frame> stack{{start, 0}};
    state[start] = State::active;
    while (!stack.empty()) {
      Frame& f = stack.back();
      const Middleware& m = mws.at(f.name);
      if (f.next >= m.chain.size()) {
        state[f.name] = State::done;
        stack.pop_back();
        continue;
      }
      const Text& edge = m.chain[f.next++];
      std::string target;
      if (ref_kind(edge.value, target) != RefKind::file || !mws.count(target)) continue;
      State s = state[target];
      if (s == State::active) {
        // The cycle: from target's frame to the top of the stack.
        std::string path;
        bool on = false;
        for (const auto& fr : stack) {
          if (fr.name == target) on = true;
          if (on) path += fr.name + " -> ";
        }
        path += target;
        if (reported.insert(f.name + "\n" + target).second)
          ctx.diags().add(Code::middleware_cycle, edge.pos, "middleware chain cycle: " + path);
      } else if (s == State::unvisited) {
        state[target] = State::active;
        stack.push_back({target, 0});
      }
    }
  }
}

// ---- services -----------------------------------------------------------------

bool valid_port(std::string_view p) {
  if (p.empty() || p.size() > 5) return false;
  int v = 0;
  for (char c : p) {
    if (c < '0' || c > '9') return false;
    v = v * 10 + (c - '0');
  }
  return v <= 65535;
}

// An absolute URL with a scheme and a host, as Go's url.Parse + Traefik need.
std::string url_problem(std::string_view u) {
  auto colon = u.find("://");
  if (colon == std::string_view::npos || colon == 0) return "has no scheme (such as http://)";
  for (std::size_t i = 0; i < colon; ++i) {
    char c = u[i];
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (i > 0 && ((c >= '0' && c <= '9') || c == '+' || c == '-' || c == '.'));
    if (!ok) return "has an invalid scheme";
  }
  std::string_view rest = u.substr(colon + 3);
  std::string_view authority = rest.substr(0, rest.find_first_of("/?#"));
  if (auto at = authority.rfind('@'); at != std::string_view::npos) authority = authority.substr(at + 1);
  if (authority.empty()) return "has no host";
  for (char c : u)
    if (static_cast<unsigned char>(c) <= 0x20 || c == 0x7f) return "contains a space or a control character";
  std::string_view host = authority, port;
  if (authority.front() == '[') {
    auto close = authority.find(']');
    if (close == std::string_view::npos) return "has an unclosed '[' in the host";
    if (close + 1 < authority.size()) {
      if (authority[close + 1] != ':') return "has text after the IPv6 address";
      port = authority.substr(close + 2);
      if (!valid_port(port)) return "has an invalid port";
    }
  } else if (auto c = authority.rfind(':'); c != std::string_view::npos) {
    port = authority.substr(c + 1);
    host = authority.substr(0, c);
    if (!port.empty() && !valid_port(port)) return "has an invalid port";
    if (host.empty()) return "has no host";
  }
  for (std::size_t i = 0; i + 2 < u.size(); ++i) {
    if (u[i] != '%') continue;
    auto hex = [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'); };
    if (!hex(u[i + 1]) || !hex(u[i + 2])) return "has an invalid %-escape";
  }
  return "";
}

std::string address_problem(std::string_view a) {
  if (a.empty()) return "is empty";
  if (a.find("://") != std::string_view::npos) return "is a URL; a TCP/UDP server takes host:port";
  std::string_view port;
  if (a.front() == '[') {
    auto close = a.find(']');
    if (close == std::string_view::npos || close + 1 >= a.size() || a[close + 1] != ':') return "needs host:port";
    port = a.substr(close + 2);
  } else {
    auto c = a.rfind(':');
    if (c == std::string_view::npos || a.find(':') != c) return "needs host:port";
    port = a.substr(c + 1);
  }
  if (!valid_port(port)) return "has an invalid port";
  return "";
}

void check_services(Context& ctx) {
  for (Protocol proto : {Protocol::http, Protocol::tcp, Protocol::udp}) {
    for (const auto& [name, s] : ctx.config().section(proto).services) {
      if (!s.load_balancer) continue;
      if (s.servers.empty()) {
        ctx.diags().add(Code::no_servers, s.pos,
                        std::string(proto == Protocol::http ? "service" : proto == Protocol::tcp ? "TCP service" : "UDP service") +
                            " '" + name + "' has a load balancer without servers" +
                            (proto == Protocol::http ? ": Traefik answers 503 Service Unavailable" : ""));
        continue;
      }
      for (const auto& srv : s.servers) {
        if (!srv.node) {
          ctx.diags().add(Code::invalid_url, srv.pos,
                          std::string("server of service '") + name + "' has no " + (proto == Protocol::http ? "url" : "address"));
          continue;
        }
        if (templated(srv)) continue;
        std::string why = proto == Protocol::http ? url_problem(srv.value) : address_problem(srv.value);
        if (!why.empty())
          ctx.diags().add(Code::invalid_url, srv.pos,
                          std::string(proto == Protocol::http ? "server URL '" : "server address '") + srv.value + "' " + why);
      }
    }
  }
}

// ---- regular expressions in middlewares ------------------------------------------

void check_regex(Context& ctx, const DocNode* n, const char* what) {
  auto one = [&](const DocNode& v) {
    if (!v.is_scalar() || v.templated) return;
    RE2::Options o;
    o.set_log_errors(false);
    RE2 re(v.text, o);
    if (!re.ok())
      ctx.diags().add(Code::invalid_regex, v.pos, std::string("invalid regular expression in ") + what + ": " + re.error());
  };
  if (!n) return;
  if (n->is_sequence()) {
    for (const auto& i : n->items) one(i);
  } else {
    one(*n);
  }
}

void check_middleware_regexes(Context& ctx) {
  for (const auto& [name, m] : ctx.config().http.middlewares) {
    const DocNode* n = m.node;
    if (!n) continue;
    if (const DocNode* x = n->find("redirectRegex"); x && x->is_mapping()) check_regex(ctx, x->find("regex"), "redirectRegex");
    if (const DocNode* x = n->find("replacePathRegex"); x && x->is_mapping())
      check_regex(ctx, x->find("regex"), "replacePathRegex");
    if (const DocNode* x = n->find("stripPrefixRegex"); x && x->is_mapping())
      check_regex(ctx, x->find("regex"), "stripPrefixRegex");
    if (const DocNode* x = n->find("headers"); x && x->is_mapping())
      check_regex(ctx, x->find("accessControlAllowOriginListRegex"), "accessControlAllowOriginListRegex");
    if (const DocNode* x = n->find("forwardAuth"); x && x->is_mapping())
      check_regex(ctx, x->find("authResponseHeadersRegex"), "authResponseHeadersRegex");
  }
}

// ---- TLS certificates -----------------------------------------------------------

// What a certFile/keyFile value holds: inline PEM, or a path to read.
std::string pem_problem(const Text& t, bool key) {
  const char* want = key ? "PRIVATE KEY-----" : "CERTIFICATE-----";
  const char* what = key ? "a PEM private key" : "a PEM certificate";
  auto has = [&](std::string_view pem) {
    auto b = pem.find("-----BEGIN ");
    while (b != std::string_view::npos) {
      auto e = pem.find('\n', b);
      std::string_view line = pem.substr(b, e == std::string_view::npos ? std::string_view::npos : e - b);
      if (line.find(want) != std::string_view::npos) return true;
      b = pem.find("-----BEGIN ", b + 1);
    }
    return false;
  };
  if (t.value.find("-----BEGIN") != std::string::npos) {
    return has(t.value) ? "" : std::string("inline PEM that is not ") + what;
  }
  int fd = ::open(t.value.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
  if (fd < 0) return "'" + t.value + "' is neither " + what + " nor a file that exists here";
  struct stat st {};
  std::string data;
  if (::fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_size < (1 << 20)) {
    data.resize(static_cast<std::size_t>(st.st_size));
    ssize_t n = ::read(fd, data.data(), data.size());
    data.resize(n > 0 ? static_cast<std::size_t>(n) : 0);
  }
  ::close(fd);
  if (!has(data)) return "'" + t.value + "' does not hold " + std::string(what);
  return "";
}

void check_certificates(Context& ctx) {
  if (!ctx.options.check_certificate_files) return;
  for (const auto& c : ctx.config().certificates) {
    const char* where = c.store_default ? "default certificate" : "certificate";
    if (!c.cert_file || c.cert_file->value.empty()) {
      ctx.diags().add(Code::tls_certificate, c.pos, std::string(where) + " without certFile: Traefik skips it");
    } else if (!templated(*c.cert_file)) {
      std::string why = pem_problem(*c.cert_file, false);
      if (!why.empty()) ctx.diags().add(Code::tls_certificate, c.cert_file->pos, "certFile: " + why + "; Traefik skips this certificate");
    }
    if (!c.key_file || c.key_file->value.empty()) {
      ctx.diags().add(Code::tls_certificate, c.pos, std::string(where) + " without keyFile: Traefik skips it");
    } else if (!templated(*c.key_file)) {
      std::string why = pem_problem(*c.key_file, true);
      if (!why.empty()) ctx.diags().add(Code::tls_certificate, c.key_file->pos, "keyFile: " + why + "; Traefik skips this certificate");
    }
  }
}

// ---- TCP --------------------------------------------------------------------------

const RuleExpr* find_named_sni(const RuleExpr& e) {
  if (e.op == RuleExpr::Op::matcher) {
    if (e.matcher == Matcher::host_sni)
      for (const auto& a : e.args)
        if (a.value != "*") return &e;
    if (e.matcher == Matcher::host_sni_regexp) return &e;
    return nullptr;
  }
  for (const auto& c : e.children)
    if (const RuleExpr* f = find_named_sni(c)) return f;
  return nullptr;
}

void check_tcp(Context& ctx) {
  for (const auto& e : ctx.tcp_routes) {
    const Router& r = *e.router;
    if (r.tls || !e.rule.root || e.templated) continue;
    if (const RuleExpr* m = find_named_sni(*e.rule.root)) {
      RuleIssue is{Code::sni_without_tls, m->begin, m->end, "", ""};
      std::string suffix;
      Pos p = issue_pos(ctx, r, is, suffix);
      ctx.diags().add(Code::sni_without_tls, p,
                      "TCP router '" + r.name + "' matches " + std::string(e.rule.text_of(*m)) +
                          " but has no tls: without TLS there is no SNI, so it never matches" + suffix,
                      "add 'tls: {}' (or 'tls: {passthrough: true}'), or use HostSNI(`*`)");
    }
  }
}

// ---- shadowing ----------------------------------------------------------------------

// A rule of the simple shape Host && Path/PathPrefix && Method (each optional),
// enough to decide "a matches everything b matches" for the common cases.
struct Shape {
  bool simple = false;
  std::string host;  // lower-case; empty: any host
  std::string path;  // empty: any path
  bool prefix = false;
  std::string method;  // empty: any method
};

Shape shape_of(const RouteEntry& e) {
  Shape s;
  if (!e.rule.root || !e.rule.ok() || e.rule.syntax != RuleSyntax::v3 || e.templated) return s;
  std::vector<const RuleExpr*> todo{e.rule.root.get()}, leaves;
  while (!todo.empty()) {
    const RuleExpr* x = todo.back();
    todo.pop_back();
    if (x->op == RuleExpr::Op::and_) {
      for (const auto& c : x->children) todo.push_back(&c);
    } else if (x->op == RuleExpr::Op::matcher) {
      leaves.push_back(x);
    } else {
      return s;
    }
  }
  for (const RuleExpr* l : leaves) {
    const std::string& v = l->args.front().normalized;
    switch (l->matcher) {
      case Matcher::host:
        if (!s.host.empty()) return s;
        s.host = v;
        if (!s.host.empty() && s.host.back() == '.') s.host.pop_back();
        break;
      case Matcher::path:
      case Matcher::path_prefix:
        if (!s.path.empty()) return s;
        s.path = l->args.front().value;
        s.prefix = l->matcher == Matcher::path_prefix;
        break;
      case Matcher::method:
        if (!s.method.empty()) return s;
        s.method = v;
        break;
      default:
        return s;
    }
  }
  s.simple = true;
  return s;
}

// Whether every request b matches also matches a.
bool covers(const Shape& a, const Shape& b) {
  if (!a.host.empty() && a.host != b.host) return false;
  if (!a.method.empty() && a.method != b.method) return false;
  if (!a.path.empty()) {
    if (b.path.empty()) return false;
    if (a.prefix) {
      if (!b.path.starts_with(a.path)) return false;
    } else if (b.prefix || a.path != b.path) {
      return false;
    }
  }
  return true;
}

bool same_entry_points(const Router& a, const Router& b) {
  // a serves every entry point b does (no list: the default entry points).
  if (a.entry_points.empty()) return true;
  if (b.entry_points.empty()) return false;
  for (const auto& x : b.entry_points)
    if (std::none_of(a.entry_points.begin(), a.entry_points.end(), [&](const Text& y) { return y.value == x.value; }))
      return false;
  return true;
}

void check_shadowing(Context& ctx) {
  const auto& routes = ctx.http_routes;
  std::vector<Shape> shapes;
  shapes.reserve(routes.size());
  for (const auto& e : routes) shapes.push_back(shape_of(e));
  // Index: host -> routes (in priority order); routes without a host apply to all.
  std::map<std::string, std::vector<std::size_t>> by_host;
  std::vector<std::size_t> any_host;
  std::map<std::string, std::size_t> by_text;  // identical rules (any shape)
  for (std::size_t i = 0; i < routes.size(); ++i) {
    const RouteEntry& b = routes[i];
    if (!b.rule.ok() || b.templated) continue;
    const Router& rb = *b.router;
    std::size_t shadow = routes.size();
    // Identical rule text: the first one in priority order wins.
    std::string key = std::string(b.rule.text) + (rb.tls ? "\ntls" : "\n") +
                      (b.rule.syntax == RuleSyntax::v2 ? "\nv2" : "");
    if (auto it = by_text.find(key); it != by_text.end() && same_entry_points(*routes[it->second].router, rb)) {
      shadow = it->second;
    }
    if (shadow == routes.size() && shapes[i].simple) {
      auto scan = [&](const std::vector<std::size_t>& list) {
        for (std::size_t j : list) {
          if (j >= shadow) break;
          const RouteEntry& a = routes[j];
          if (a.router->tls != rb.tls || a.priority < b.priority) continue;
          if (a.priority == b.priority && a.router->name > rb.name) continue;
          if (covers(shapes[j], shapes[i]) && same_entry_points(*a.router, rb)) shadow = j;
        }
      };
      if (auto it = by_host.find(shapes[i].host); it != by_host.end()) scan(it->second);
      scan(any_host);
    }
    if (shadow != routes.size()) {
      const RouteEntry& a = routes[shadow];
      std::string why = a.priority == b.priority
                            ? "has the same priority (" + std::to_string(a.priority) + ") and comes first"
                            : "has a higher priority (" + std::to_string(a.priority) + " > " + std::to_string(b.priority) + ")";
      ctx.diags().add(Code::shadowed_router, rb.rule ? rb.rule->pos : rb.pos,
                      "router '" + rb.name + "' never gets a request: router '" + a.router->name + "' (" +
                          ctx.where(a.router->pos) + ") matches everything it matches and " + why,
                      "give '" + rb.name + "' a priority above " + std::to_string(a.priority));
    }
    by_text.emplace(key, i);
    if (shapes[i].simple) (shapes[i].host.empty() ? any_host : by_host[shapes[i].host]).push_back(i);
  }
}

// ---- the table ------------------------------------------------------------------------

struct CheckEntry {
  LintCheck info;
  void (*run)(Context&);
};

constexpr std::array kChecks = {
    CheckEntry{{"rules", "rule syntax, matcher names and arguments, regular expressions, v2 syntax (CR020-CR028)"}, check_rules},
    CheckEntry{{"references", "services, middlewares, TLS options, transports and entry points that are not defined (CR030-CR034, CR036)"},
               check_references},
    CheckEntry{{"chains", "chain middlewares that include themselves (CR035)"}, check_cycles},
    CheckEntry{{"services", "load balancers without servers, server URLs and addresses (CR040, CR013)"}, check_services},
    CheckEntry{{"middleware-regexes", "regular expressions in middlewares (CR023)"}, check_middleware_regexes},
    CheckEntry{{"certificates", "tls.certificates files (CR042)"}, check_certificates},
    CheckEntry{{"tcp", "HostSNI routers without TLS (CR044)"}, check_tcp},
    CheckEntry{{"shadowing", "routers that never get a request (CR043)"}, check_shadowing},
};

constexpr auto kCheckInfos = [] {
  std::array<LintCheck, kChecks.size()> a{};
  for (std::size_t i = 0; i < kChecks.size(); ++i) a[i] = kChecks[i].info;
  return a;
}();

}  // namespace

std::span<const LintCheck> lint_checks() { return kCheckInfos; }

void lint(LoadedConfig& loaded, const LintOptions& options) {
  Context ctx{loaded, options, compile_routes(loaded.config, Protocol::http), compile_routes(loaded.config, Protocol::tcp)};
  for (const auto& c : kChecks) c.run(ctx);
  loaded.diagnostics.sort();
}

}  // namespace certroute::routes
