// routes render --to gateway-api: one Gateway (a listener per entry point and
// protocol), an HTTPRoute per HTTP router (hostnames from Host, matches from
// the rule's disjunctive normal form, filters from the middlewares Gateway
// API can express, backendRefs naming Kubernetes Services), TLSRoute /
// TCPRoute per TCP router and UDPRoute per UDP router. Traefik's PathPrefix
// is a plain string prefix while Gateway API's is segment-aware, so it becomes
// a RegularExpression match. Matches are ranked differently (Gateway API by
// specificity, Traefik by priority): where two routes can see the same request
// and the ranks disagree, a CR050 diagnostic says so.
#include <algorithm>
#include <set>

#include <nlohmann/json.hpp>

#include "core/routes/decode.hpp"
#include "core/routes/render/analysis.hpp"
#include "core/routes/render/common.hpp"
#include "core/routes/render/renderer.hpp"

namespace certroute::routes::render {
namespace {

using oj = nlohmann::ordered_json;

constexpr const char* kGatewayName = "certroute";
constexpr const char* kV1 = "gateway.networking.k8s.io/v1";
constexpr const char* kV1alpha2 = "gateway.networking.k8s.io/v1alpha2";

std::string bt(std::string_view s) { return "`" + std::string(s) + "`"; }

// lower: ASCII letters only; valid_hostname: RFC 1123 host name as Gateway
// API and Ingress take it (labels of [a-z0-9-], no IP).
std::string lower(std::string_view s) { return common::ascii_lower(s); }
using common::valid_hostname;

bool valid_header_name(std::string_view n) {
  if (n.empty() || n.size() > 256) return false;
  for (char c : n)
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
          std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos))
      return false;
  return true;
}

bool ends_with_unescaped_dollar(std::string_view re) {
  if (re.empty() || re.back() != '$') return false;
  std::size_t n = 0;
  for (std::size_t i = re.size() - 1; i > 0 && re[i - 1] == '\\'; --i) ++n;
  return n % 2 == 0;
}

// Traefik's regexps match anywhere (Go's MatchString); Gateway API
// implementations differ (Envoy matches the whole value). This form means the
// same under both readings.
std::string full_match_regex(const std::string& re) {
  if (re.find('|') != std::string::npos) return ".*(?:" + re + ").*";
  const bool start = re.starts_with("^");
  const bool end = ends_with_unescaped_dollar(re);
  return (start ? "" : ".*") + re + (end ? "" : ".*");
}

// A HostRegexp that means "any host" or "*.domain" (one or more labels).
std::optional<std::string> host_regexp_as_hostname(std::string re, bool& any) {
  any = false;
  if (re.starts_with("(?i)")) re = re.substr(4);
  for (std::string_view a : {".*", ".+", "^.*", "^.+", "^.*$", "^.+$"})
    if (re == a) {
      any = true;
      return std::string();
    }
  return common::host_regexp_wildcard(re, {"^.+\\.", "^.*\\.", "^(.+)\\.", "^(.*)\\."});
}

const std::set<std::string, std::less<>> kMethods = {"GET",     "HEAD",  "POST",  "PUT",  "DELETE",
                                                     "CONNECT", "OPTIONS", "TRACE", "PATCH"};

struct KV {
  std::string type, name, value;
  bool operator==(const KV&) const = default;
};

struct PathMatch {
  std::string type;    // Exact, PathPrefix, RegularExpression
  std::string value;
  std::string prefix;  // the Traefik PathPrefix it came from ("" if none)
  bool operator==(const PathMatch&) const = default;
};

struct HttpMatch {
  std::string host;  // "" any host, "a.example.com", "*.example.com"
  std::optional<PathMatch> path;
  std::string method;
  std::vector<KV> headers, query;
  std::size_t conj = 0;  // index into the router's DNF

  bool same_match(const HttpMatch& o) const {
    return path == o.path && method == o.method && headers == o.headers && query == o.query;
  }

  oj to_json() const {
    oj m = oj::object();
    if (path) m["path"] = {{"type", path->type}, {"value", path->value}};
    else m["path"] = {{"type", "PathPrefix"}, {"value", "/"}};
    if (!headers.empty()) {
      m["headers"] = oj::array();
      for (const auto& h : headers) m["headers"].push_back({{"type", h.type}, {"name", h.name}, {"value", h.value}});
    }
    if (!query.empty()) {
      m["queryParams"] = oj::array();
      for (const auto& q : query) m["queryParams"].push_back({{"type", q.type}, {"name", q.name}, {"value", q.value}});
    }
    if (!method.empty()) m["method"] = method;
    return m;
  }
};

enum class Outcome { ok, never, fail };

struct Translated {
  Outcome outcome = Outcome::ok;
  HttpMatch match;
  std::string why;  // fail: what Gateway API cannot express
};

Translated translate(const Rule& rule, const Conjunction& conj) {
  Translated t;
  HttpMatch& m = t.match;
  auto fail = [&](std::string why) {
    t.outcome = Outcome::fail;
    t.why = std::move(why);
    return t;
  };
  auto never = [&] {
    t.outcome = Outcome::never;
    return t;
  };
  bool host_set = false;
  for (const auto& atom : conj) {
    const RuleExpr& e = *atom.matcher;
    std::string text(rule.text_of(e));
    if (atom.negated) return fail("a negated matcher (!" + text + ") has no Gateway API match");
    if (e.args.empty()) return fail(text + " has no Gateway API match");
    const RuleArg& a = e.args[0];
    switch (e.matcher) {
      case Matcher::host: {
        std::string h = lower(a.value);
        if (h.size() > 1 && h.back() == '.') h.pop_back();
        if (!valid_hostname(h)) return fail(text + ": Gateway API hostnames are DNS names, not IP addresses or other text");
        if (host_set && m.host != h) return never();
        m.host = h;
        host_set = true;
        break;
      }
      case Matcher::host_regexp: {
        bool any = false;
        auto h = host_regexp_as_hostname(a.value, any);
        if (!h)
          return fail(text + ": Gateway API hostnames are exact names or *.domain (any number of labels), not "
                             "regular expressions");
        if (any) break;
        if (host_set && m.host != *h) return fail(text + " together with another host matcher");
        m.host = *h;
        host_set = true;
        break;
      }
      case Matcher::path:
      case Matcher::path_prefix:
      case Matcher::path_regexp: {
        PathMatch p;
        if (e.matcher == Matcher::path) {
          p = {"Exact", a.value, ""};
        } else if (e.matcher == Matcher::path_prefix) {
          if (a.value == "/") p = {"PathPrefix", "/", "/"};
          else p = {"RegularExpression", "^" + quote_meta(a.value) + ".*", a.value};
        } else {
          p = {"RegularExpression", full_match_regex(a.value), ""};
        }
        if (m.path && !(*m.path == p)) return fail("two path matchers in one branch of the rule (" + text + ")");
        m.path = p;
        break;
      }
      case Matcher::method: {
        std::string meth = a.normalized.empty() ? a.value : a.normalized;
        if (!kMethods.count(meth)) return fail(text + ": Gateway API matches only the standard HTTP methods");
        if (!m.method.empty() && m.method != meth) return never();
        m.method = meth;
        break;
      }
      case Matcher::header:
      case Matcher::header_regexp: {
        if (!valid_header_name(a.value)) return fail(text + ": not a valid header name for Gateway API");
        KV kv{e.matcher == Matcher::header ? "Exact" : "RegularExpression", a.value,
              e.matcher == Matcher::header ? e.args.at(1).value : full_match_regex(e.args.at(1).value)};
        for (const auto& h : m.headers)
          if (lower(h.name) == lower(kv.name) && !(h == kv))
            return fail("two matchers of header " + a.value + " in one branch of the rule");
        if (kv.type == "Exact" && kv.value.empty()) kv = {"RegularExpression", a.value, "^$"};
        if (std::find(m.headers.begin(), m.headers.end(), kv) == m.headers.end()) m.headers.push_back(kv);
        break;
      }
      case Matcher::query:
      case Matcher::query_regexp: {
        KV kv;
        if (e.matcher == Matcher::query_regexp) kv = {"RegularExpression", a.value, full_match_regex(e.args.at(1).value)};
        else if (e.args.size() == 2 && !e.args[1].value.empty()) kv = {"Exact", a.value, e.args[1].value};
        else if (e.args.size() == 2) kv = {"RegularExpression", a.value, "^$"};
        else kv = {"RegularExpression", a.value, ".*"};
        if (a.value.empty()) return fail(text + ": an empty query parameter name");
        for (const auto& q : m.query)
          if (q.name == kv.name && !(q == kv)) return fail("two matchers of query parameter " + a.value + " in one branch");
        if (std::find(m.query.begin(), m.query.end(), kv) == m.query.end()) m.query.push_back(kv);
        break;
      }
      case Matcher::client_ip: return fail(text + ": Gateway API routes cannot match the client's IP address");
      default: return fail(text + " has no Gateway API match");
    }
  }
  return t;
}

// ---- precedence -------------------------------------------------------------

enum class Order { first, second, unknown };

// Which of two matches that can see the same request Gateway API tries first
// (HTTPRoute spec: hostname specificity, then Exact path, longest PathPrefix,
// method, number of header matches, number of query matches).
Order gateway_order(const HttpMatch& a, const HttpMatch& b, std::string& why) {
  auto host_key = [](const std::string& h) {
    if (h.empty()) return std::pair<std::size_t, std::size_t>{0, 0};
    if (h.starts_with("*.")) return std::pair<std::size_t, std::size_t>{0, h.size()};
    return std::pair<std::size_t, std::size_t>{h.size(), h.size()};
  };
  auto ha = host_key(a.host), hb = host_key(b.host);
  if (ha != hb) {
    why = "a more specific hostname wins";
    return ha > hb ? Order::first : Order::second;
  }
  PathMatch root{"PathPrefix", "/", "/"};
  const PathMatch& pa = a.path ? *a.path : root;
  const PathMatch& pb = b.path ? *b.path : root;
  if (pa.type == "Exact" || pb.type == "Exact") {
    if (pa.type != pb.type) {
      why = "an Exact path wins";
      return pa.type == "Exact" ? Order::first : Order::second;
    }
  } else if (pa.type == "RegularExpression" || pb.type == "RegularExpression") {
    why = "the precedence of RegularExpression paths (Traefik's PathPrefix and PathRegexp) is up to the implementation";
    return Order::unknown;
  } else if (pa.value.size() != pb.value.size()) {
    why = "the longest PathPrefix wins";
    return pa.value.size() > pb.value.size() ? Order::first : Order::second;
  }
  if (a.method.empty() != b.method.empty()) {
    why = "a method match wins";
    return a.method.empty() ? Order::second : Order::first;
  }
  if (a.headers.size() != b.headers.size()) {
    why = "more header matches win";
    return a.headers.size() > b.headers.size() ? Order::first : Order::second;
  }
  if (a.query.size() != b.query.size()) {
    why = "more query matches win";
    return a.query.size() > b.query.size() ? Order::first : Order::second;
  }
  why = "equal matches are ranked by creation time, then by name";
  return Order::unknown;
}

// ---- plans ------------------------------------------------------------------

struct Backend {
  std::string name;  // Kubernetes Service
  int port = 0;
  std::int64_t weight = 1;
};

struct HttpPlan {
  const Router* router = nullptr;
  std::int64_t priority = 0;
  Rule rule;  // v3
  std::vector<Conjunction> dnf;
  std::vector<HttpMatch> matches;
  std::vector<std::string> entry_points;
  oj filters = oj::array();
  std::vector<Backend> backends;
  bool redirect = false;
  bool rendered = true;
  std::vector<std::string> names;  // HTTPRoute names, one per host group
};

struct TcpPlan {
  const Router* router = nullptr;
  std::int64_t priority = 0;
  Rule rule;
  std::vector<std::string> hostnames;  // TLS: empty = any
  std::vector<std::string> entry_points;
  std::string listener_kind;  // TLS-passthrough, TLS-terminate, TCP, UDP
  std::vector<Backend> backends;
  bool rendered = true;
  std::string name;
};

// Services a rendered route needs, for the header comment.
struct ServiceNeed {
  std::set<int> ports;
  std::set<std::string> servers;
};

class Gateway final {
 public:
  Gateway(const LoadedConfig& loaded, const RenderOptions& options, Diagnostics& diags)
      : c_(loaded.config), options_(options), diags_(diags), eps_(effective_entry_points(options)) {
    std::vector<std::string> svc;
    for (Protocol p : {Protocol::http, Protocol::tcp, Protocol::udp})
      for (const auto& [n, s] : c_.section(p).services) svc.push_back(n);
    service_names_ = k8s_names(svc, true);
  }

  RenderResult render() {
    for (auto& e : compile_routes(c_, Protocol::http)) plan_http(std::move(e));
    for (auto& e : compile_routes(c_, Protocol::tcp)) plan_tcp(std::move(e));
    for (const auto& [name, r] : c_.udp.routers) plan_udp(r);
    assign_http_listeners();
    name_routes();
    check_precedence();
    report_middlewares();
    for (const auto& [ep, u] : unknown_eps_) {
      std::string list;
      for (const auto& n : u.second) list += (list.empty() ? "" : ", ") + n;
      warn(u.first, "entry point '" + ep + "' has no Gateway listener (declare it with --entrypoint " + ep +
                        "=:PORT): left out of router" + (u.second.size() > 1 ? "s " : " ") + list);
    }
    return output();
  }

 private:
  void warn(Pos pos, std::string msg) { diags_.add(Code::unsupported_by_target, pos, std::move(msg)); }

  std::string router_label(const Router& r) const {
    return std::string(r.protocol == Protocol::http ? "router" : r.protocol == Protocol::tcp ? "TCP router" : "UDP router") +
           " '" + r.name + "'";
  }

  // The entry points a router listens on, among the rendered ones.
  std::vector<std::string> entry_points_of(const Router& r) {
    std::vector<std::string> out;
    if (r.entry_points.empty()) {
      for (const auto& ep : eps_) out.push_back(ep.name);
      return out;
    }
    for (const auto& t : r.entry_points) {
      bool known = std::any_of(eps_.begin(), eps_.end(), [&](const EntryPoint& ep) { return ep.name == t.value; });
      if (known) {
        if (std::find(out.begin(), out.end(), t.value) == out.end()) out.push_back(t.value);
      } else {
        auto& u = unknown_eps_[t.value];
        if (u.second.empty()) u.first = t.pos;
        u.second.push_back(r.name);
      }
    }
    return out;
  }

  // ---- HTTP ----

  void plan_http(RouteEntry&& e) {
    const Router& r = *e.router;
    if (e.templated) {
      warn(r.rule ? r.rule->pos : r.pos, router_label(r) + ": its rule is built by a Go template: not rendered");
      return;
    }
    if (!e.rule.ok()) return;  // lint reports it
    HttpPlan p;
    p.router = &r;
    p.priority = e.priority;
    p.entry_points = entry_points_of(r);
    if (p.entry_points.empty()) return;
    p.rule = parse_rule(v3_rule_text(e.rule), RuleKind::http, RuleSyntax::v3);
    bool too_big = false;
    if (p.rule.ok()) p.dnf = to_dnf(*p.rule.root, too_big);
    if (!p.rule.ok() || too_big) {
      warn(r.rule ? r.rule->pos : r.pos, router_label(r) + ": the rule is too complex to split into Gateway API matches: not rendered");
      return;
    }
    for (std::size_t i = 0; i < p.dnf.size(); ++i) {
      Translated t = translate(p.rule, p.dnf[i]);
      if (t.outcome == Outcome::never) continue;
      if (t.outcome == Outcome::fail) {
        std::string branch = p.dnf.size() > 1 ? " (one of the rule's " + std::to_string(p.dnf.size()) + " alternatives is left out)"
                                              : ": not rendered";
        warn(r.rule ? r.rule->pos : r.pos, router_label(r) + ": " + t.why + branch);
        continue;
      }
      t.match.conj = i;
      p.matches.push_back(std::move(t.match));
    }
    if (p.matches.empty()) return;
    if (!apply_middlewares(p)) return;
    if (!p.redirect) {
      if (!r.service) {
        warn(r.pos, router_label(r) + ": no service: not rendered");
        return;
      }
      p.backends = backends_for(r.service->value, r.service->pos, Protocol::http, 1, p.filters, r, 0);
      merge_backends(p.backends);
      if (p.backends.empty()) {
        warn(r.service->pos, router_label(r) + ": no Kubernetes Service to send its requests to: not rendered");
        return;
      }
    }
    http_.push_back(std::move(p));
  }

  static void merge_backends(std::vector<Backend>& b) {
    std::vector<Backend> out;
    for (const auto& x : b) {
      auto it = std::find_if(out.begin(), out.end(), [&](const Backend& y) { return y.name == x.name && y.port == x.port; });
      if (it == out.end()) out.push_back(x);
      else it->weight += x.weight;
    }
    b = std::move(out);
  }

  // The backendRefs of a Traefik service; mirrors become RequestMirror filters.
  std::vector<Backend> backends_for(const std::string& ref, Pos pos, Protocol proto, std::int64_t weight, oj& filters,
                                    const Router& r, int depth) {
    if (depth > 16) return {};
    const Service* s = find_service(c_, proto, ref);
    if (!s) {
      if (ref.ends_with("@internal"))
        warn(pos, router_label(r) + ": service '" + ref + "' is Traefik's own (api, dashboard, noop); it has no Kubernetes Service");
      else
        warn(pos, router_label(r) + ": service '" + ref + "' is not defined in these files");
      return {};
    }
    const DocNode* n = s->node;
    if (s->kinds.size() != 1 || !n) return {};
    const std::string& kind = s->kinds.front();
    const DocNode* body = n->find(kind);
    if (kind == "loadBalancer") return load_balancer(*s, body, weight);
    if (kind == "weighted" || kind == "highestRandomWeight") {
      if (kind == "highestRandomWeight")
        once(s->pos, "service '" + s->name + "' (highestRandomWeight): Gateway API has no hash-based choice; rendered as weights");
      if (body && body->find("sticky"))
        once(s->pos, "service '" + s->name + "': sticky sessions have no Gateway API (v1) field; left out");
      std::vector<Backend> out;
      const DocNode* list = body ? body->find("services") : nullptr;
      if (list && list->is_sequence())
        for (const auto& item : list->items) {
          std::string name = field(&item, {"name"});
          std::string w = field(&item, {"weight"});
          std::int64_t wv = w.empty() ? 1 : parse_go_int(w).value_or(1);
          auto sub = backends_for(name, item.pos, proto, weight * wv, filters, r, depth + 1);
          out.insert(out.end(), sub.begin(), sub.end());
        }
      return out;
    }
    if (kind == "mirroring") {
      std::string main = field(body, {"service"});
      auto out = backends_for(main, s->pos, proto, weight, filters, r, depth + 1);
      const DocNode* mirrors = body ? body->find("mirrors") : nullptr;
      if (mirrors && mirrors->is_sequence())
        for (const auto& item : mirrors->items) {
          std::string name = field(&item, {"name"});
          oj ignored = oj::array();
          auto m = backends_for(name, item.pos, proto, 1, ignored, r, depth + 1);
          if (m.size() != 1) {
            once(item.pos, "service '" + s->name + "': mirror '" + name + "' is not one Kubernetes Service; left out");
            continue;
          }
          oj f = {{"type", "RequestMirror"}, {"requestMirror", {{"backendRef", {{"name", m[0].name}, {"port", m[0].port}}}}}};
          std::string pct = field(&item, {"percent"});
          if (!pct.empty()) f["requestMirror"]["percent"] = parse_go_int(pct).value_or(0);
          filters.push_back(std::move(f));
        }
      return out;
    }
    if (kind == "failover") {
      once(s->pos, "service '" + s->name + "' (failover): Gateway API has no fallback backend; rendered with its main service only");
      return backends_for(field(body, {"service"}), s->pos, proto, weight, filters, r, depth + 1);
    }
    return {};
  }

  std::vector<Backend> load_balancer(const Service& s, const DocNode* lb, std::int64_t weight) {
    std::string name = service_names_.at(s.name);
    if (s.servers.empty()) {
      once(s.pos, "service '" + s.name + "' has no servers: its Kubernetes Service '" + name + "' needs a port; left out");
      return {};
    }
    std::set<int> ports;
    std::set<std::string> schemes, weights;
    for (const auto& t : s.servers) {
      std::string scheme;
      int port = server_port(t.value, &scheme);
      if (port) ports.insert(port);
      schemes.insert(scheme);
      auto& need = needs_[name];
      if (port) need.ports.insert(port);
      need.servers.insert(t.value);
    }
    if (lb && lb->is_mapping()) {
      if (const DocNode* servers = lb->find("servers"); servers && servers->is_sequence())
        for (const auto& srv : servers->items) weights.insert(field(&srv, {"weight"}));
      if (lb->find("sticky"))
        once(s.pos, "service '" + s.name + "': sticky sessions have no Gateway API (v1) field; left out");
      if (lb->find("healthCheck"))
        once(s.pos, "service '" + s.name + "': health checks are the pods' readiness probes in Kubernetes; healthCheck left out");
      if (lb->find("serversTransport"))
        once(s.pos, "service '" + s.name + "': serversTransport (backend TLS, timeouts) has no Gateway API (v1) field; left out");
      if (auto ph = field(lb, {"passHostHeader"}); !ph.empty() && !parse_go_bool(ph).value_or(true))
        once(s.pos, "service '" + s.name + "': passHostHeader false has no Gateway API equivalent; the Host header is passed");
    }
    if (weights.size() > 1)
      once(s.pos, "service '" + s.name + "': per-server weights cannot be expressed (a Service spreads requests evenly); left out");
    if (ports.size() > 1)
      once(s.pos, "service '" + s.name + "': its servers use different ports; the backendRef uses port " +
                      std::to_string(*ports.begin()));
    if (schemes.count("https"))
      once(s.pos, "service '" + s.name + "': HTTPS to the servers needs a BackendTLSPolicy, which is not rendered");
    if (ports.empty()) {
      once(s.pos, "service '" + s.name + "': no port in its server URLs; left out");
      return {};
    }
    return {Backend{name, *ports.begin(), weight}};
  }

  void once(Pos pos, const std::string& msg) {
    if (said_.insert(msg).second) warn(pos, msg);
  }

  // Middlewares -> filters. False: the router is not rendered (a guard that
  // Gateway API cannot express would leave the route open).
  bool apply_middlewares(HttpPlan& p) {
    const Router& r = *p.router;
    oj req_set = oj::array(), req_remove = oj::array(), resp_set = oj::array(), resp_remove = oj::array();
    std::optional<oj> rewrite, redirect;
    auto set_header = [](oj& list, const std::string& name, const std::string& value) {
      for (auto& h : list)
        if (lower(h["name"].get<std::string>()) == lower(name)) {
          h["value"] = value;
          return;
        }
      list.push_back({{"name", name}, {"value", value}});
    };
    for (const Middleware* m : expand_middlewares(c_, r)) {
      if (m->kinds.size() != 1 || !m->node) continue;
      const std::string& kind = m->kinds.front();
      const DocNode* body = m->node->find(kind);
      if (kind == "basicAuth" || kind == "digestAuth" || kind == "forwardAuth" || kind == "ipAllowList" ||
          kind == "ipWhiteList" || kind == "plugin") {
        warn(r.pos, router_label(r) + ": middleware '" + m->name + "' (" + kind +
                        ") guards it and Gateway API has no such filter: not rendered (it would be open)");
        return false;
      }
      if (redirect) {
        unused_[m->name].insert(r.name);
        continue;
      }
      if (kind == "headers") {
        std::vector<std::string> left;
        if (body && body->is_mapping())
          for (const auto& e : body->entries) {
            if (!e.valid) continue;
            const std::string& f = e.key;
            if (f == "customRequestHeaders" || f == "customResponseHeaders") {
              if (!e.value.is_mapping()) continue;
              bool req = f == "customRequestHeaders";
              for (const auto& h : e.value.entries) {
                if (!h.valid || !valid_header_name(h.key)) continue;
                if (h.value.text.empty()) (req ? req_remove : resp_remove).push_back(h.key);
                else set_header(req ? req_set : resp_set, h.key, h.value.text);
              }
            } else if (!security_header(f, body, r, resp_set, set_header)) {
              left.push_back(f);
            }
          }
        if (!left.empty()) {
          std::string l;
          for (const auto& f : left) l += (l.empty() ? "" : ", ") + f;
          once(m->pos, "middleware '" + m->name + "' (headers): " + l + " cannot be expressed with Gateway API header filters; left out");
        }
      } else if (kind == "redirectScheme") {
        std::string scheme = field(body, {"scheme"});
        if (scheme.empty()) scheme = "https";
        if ((scheme == "https") == r.tls) continue;  // Traefik passes requests already on the scheme through
        oj rr = {{"scheme", scheme}};
        std::string port = field(body, {"port"});
        if (!port.empty()) rr["port"] = parse_go_int(port).value_or(0);
        bool permanent = parse_go_bool(field(body, {"permanent"})).value_or(false);
        rr["statusCode"] = permanent ? 301 : 302;
        redirect = oj{{"type", "RequestRedirect"}, {"requestRedirect", rr}};
      } else if (kind == "replacePath") {
        if (rewrite) {
          once(m->pos, "middleware '" + m->name + "': only one path rewrite per route in Gateway API; left out of router '" + r.name + "'");
          continue;
        }
        rewrite = oj{{"type", "URLRewrite"},
                     {"urlRewrite", {{"path", {{"type", "ReplaceFullPath"}, {"replaceFullPath", field(body, {"path"})}}}}}};
      } else if (kind == "stripPrefix" || kind == "addPrefix") {
        if (rewrite) {
          once(m->pos, "middleware '" + m->name + "': only one path rewrite per route in Gateway API; left out of router '" + r.name + "'");
          continue;
        }
        std::optional<std::string> replacement = kind == "stripPrefix" ? strip_prefix(p, body, *m) : add_prefix(p, body, *m);
        if (!replacement) continue;
        rewrite = oj{{"type", "URLRewrite"},
                     {"urlRewrite", {{"path", {{"type", "ReplacePrefixMatch"}, {"replacePrefixMatch", *replacement}}}}}};
      } else {
        unused_[m->name].insert(r.name);
      }
    }
    if (!req_set.empty() || !req_remove.empty()) {
      oj f = oj::object();
      if (!req_set.empty()) f["set"] = req_set;
      if (!req_remove.empty()) f["remove"] = req_remove;
      p.filters.push_back({{"type", "RequestHeaderModifier"}, {"requestHeaderModifier", f}});
    }
    if (!resp_set.empty() || !resp_remove.empty()) {
      oj f = oj::object();
      if (!resp_set.empty()) f["set"] = resp_set;
      if (!resp_remove.empty()) f["remove"] = resp_remove;
      p.filters.push_back({{"type", "ResponseHeaderModifier"}, {"responseHeaderModifier", f}});
    }
    if (redirect) {
      p.filters.push_back(*redirect);
      p.redirect = true;
    } else if (rewrite) {
      p.filters.push_back(*rewrite);
    }
    return true;
  }

  // The security headers of Traefik's headers middleware, as response headers.
  template <typename F>
  bool security_header(const std::string& f, const DocNode* body, const Router& r, oj& resp_set, F set_header) {
    auto val = [&](const char* k) { return field(body, {k}); };
    auto on = [&](const char* k) { return parse_go_bool(val(k)).value_or(false); };
    if (f == "stsSeconds") {
      auto secs = parse_go_int(val("stsSeconds")).value_or(0);
      if (secs > 0 && (r.tls || on("forceSTSHeader"))) {
        std::string v = "max-age=" + std::to_string(secs);
        if (on("stsIncludeSubdomains")) v += "; includeSubDomains";
        if (on("stsPreload")) v += "; preload";
        set_header(resp_set, "Strict-Transport-Security", v);
      }
      return true;
    }
    if (f == "stsIncludeSubdomains" || f == "stsPreload" || f == "forceSTSHeader") return true;
    if (f == "frameDeny") {
      if (on("frameDeny") && val("customFrameOptionsValue").empty()) set_header(resp_set, "X-Frame-Options", "DENY");
      return true;
    }
    if (f == "customFrameOptionsValue") {
      set_header(resp_set, "X-Frame-Options", val("customFrameOptionsValue"));
      return true;
    }
    if (f == "contentTypeNosniff") {
      if (on("contentTypeNosniff")) set_header(resp_set, "X-Content-Type-Options", "nosniff");
      return true;
    }
    if (f == "browserXssFilter") {
      if (on("browserXssFilter") && val("customBrowserXSSValue").empty())
        set_header(resp_set, "X-XSS-Protection", "1; mode=block");
      return true;
    }
    static const std::map<std::string, std::string> simple = {
        {"customBrowserXSSValue", "X-XSS-Protection"},
        {"contentSecurityPolicy", "Content-Security-Policy"},
        {"contentSecurityPolicyReportOnly", "Content-Security-Policy-Report-Only"},
        {"referrerPolicy", "Referrer-Policy"},
        {"permissionsPolicy", "Permissions-Policy"},
        {"featurePolicy", "Feature-Policy"},
    };
    if (auto it = simple.find(f); it != simple.end()) {
      if (!val(f.c_str()).empty()) set_header(resp_set, it->second, val(f.c_str()));
      return true;
    }
    return false;
  }

  // stripPrefix as ReplacePrefixMatch "/": every match must be a Traefik
  // PathPrefix listed in the middleware (and no other listed prefix may
  // compete); the matches become segment-aware PathPrefix matches.
  std::optional<std::string> strip_prefix(HttpPlan& p, const DocNode* body, const Middleware& m) {
    std::vector<std::string> prefixes;
    if (const DocNode* l = body ? body->find("prefixes") : nullptr; l && l->is_sequence())
      for (const auto& i : l->items) prefixes.push_back(i.text);
    for (const auto& match : p.matches) {
      bool ok = match.path && !match.path->prefix.empty() && match.path->prefix != "/" &&
                std::find(prefixes.begin(), prefixes.end(), match.path->prefix) != prefixes.end();
      if (ok)
        for (const auto& q : prefixes)
          if (q != match.path->prefix && (q.starts_with(match.path->prefix) || match.path->prefix.starts_with(q))) ok = false;
      if (!ok) {
        once(m.pos, "middleware '" + m.name + "' (stripPrefix): Gateway API strips only the PathPrefix a route matched; "
                    "left out of router '" + p.router->name + "'");
        return std::nullopt;
      }
    }
    for (auto& match : p.matches) {
      const std::string pre = match.path->prefix;
      match.path = PathMatch{"PathPrefix", pre, pre};
      warn(p.router->rule ? p.router->rule->pos : p.router->pos,
           router_label(*p.router) + ": stripPrefix needs a PathPrefix match, and Gateway API's PathPrefix " + bt(pre) +
               " is segment-aware: unlike Traefik's, it does not match paths such as " + pre + "x");
    }
    return std::string("/");
  }

  std::optional<std::string> add_prefix(HttpPlan& p, const DocNode* body, const Middleware& m) {
    for (const auto& match : p.matches)
      if (match.path && !(match.path->type == "PathPrefix" && match.path->value == "/")) {
        once(m.pos, "middleware '" + m.name + "' (addPrefix): Gateway API adds a prefix only to routes matching every path; "
                    "left out of router '" + p.router->name + "'");
        return std::nullopt;
      }
    return field(body, {"prefix"});
  }

  void report_middlewares() {
    for (const auto& [name, routers] : unused_) {
      const Middleware* m = find_middleware(c_, Protocol::http, name);
      std::string list;
      for (const auto& r : routers) list += (list.empty() ? "" : ", ") + r;
      warn(m ? m->pos : Pos{}, "middleware '" + name + "'" + (m && m->kinds.size() == 1 ? " (" + m->kinds.front() + ")" : "") +
                                   " has no Gateway API filter: left out of router" + (routers.size() > 1 ? "s " : " ") + list);
    }
  }

  void assign_http_listeners() {
    for (const auto& ep : eps_) {
      std::size_t tls_explicit = 0, plain_explicit = 0, tls_all = 0, plain_all = 0;
      for (const auto& p : http_) {
        if (std::find(p.entry_points.begin(), p.entry_points.end(), ep.name) == p.entry_points.end()) continue;
        bool expl = !p.router->entry_points.empty();
        (p.router->tls ? tls_all : plain_all)++;
        if (expl) (p.router->tls ? tls_explicit : plain_explicit)++;
      }
      if (tls_all + plain_all == 0) continue;
      bool https;
      if (tls_explicit + plain_explicit > 0) https = tls_explicit > plain_explicit || (tls_explicit == plain_explicit && ep.port == 443);
      else https = tls_all > plain_all || (tls_all == plain_all && ep.port == 443);
      http_protocol_[ep.name] = https ? "HTTPS" : "HTTP";
      for (auto& p : http_) {
        auto it = std::find(p.entry_points.begin(), p.entry_points.end(), ep.name);
        if (it == p.entry_points.end() || p.router->tls == https) continue;
        warn(p.router->pos, router_label(*p.router) + ": Traefik serves it " + (p.router->tls ? "with" : "without") +
                                " TLS on entry point '" + ep.name + "', whose Gateway listener is " + (https ? "HTTPS" : "HTTP") +
                                " (one protocol per port): not attached there");
        p.entry_points.erase(it);
      }
    }
    std::erase_if(http_, [](const HttpPlan& p) { return p.entry_points.empty(); });
    for (const auto& p : http_)
      if (p.router->tls) {
        if (p.router->cert_resolver)
          warn(p.router->cert_resolver->pos, router_label(*p.router) + ": certResolver '" + p.router->cert_resolver->value +
                                                 "' (ACME) has no Gateway API field; use cert-manager for the listener's Secret");
        if (p.router->tls_options && p.router->tls_options->value != "default")
          warn(p.router->tls_options->pos, router_label(*p.router) + ": TLS options '" + p.router->tls_options->value +
                                               "' have no Gateway API (v1) field; left out");
      }
  }

  // ---- TCP and UDP ----

  void plan_tcp(RouteEntry&& e) {
    const Router& r = *e.router;
    if (e.templated) {
      warn(r.rule ? r.rule->pos : r.pos, router_label(r) + ": its rule is built by a Go template: not rendered");
      return;
    }
    if (!e.rule.ok()) return;
    TcpPlan p;
    p.router = &r;
    p.priority = e.priority;
    p.entry_points = entry_points_of(r);
    if (p.entry_points.empty()) return;
    p.rule = parse_rule(v3_rule_text(e.rule), RuleKind::tcp, RuleSyntax::v3);
    bool too_big = false;
    auto dnf = p.rule.ok() ? to_dnf(*p.rule.root, too_big) : std::vector<Conjunction>{};
    bool any = false;
    for (const auto& conj : dnf) {
      std::string host;
      bool fail = false, never = false;
      for (const auto& atom : conj) {
        const RuleExpr& x = *atom.matcher;
        std::string text(p.rule.text_of(x));
        if (atom.negated || x.matcher != Matcher::host_sni || x.args.size() != 1) {
          warn(r.rule ? r.rule->pos : r.pos, router_label(r) + ": " + (atom.negated ? "!" : "") + text + " has no Gateway API match" +
                                                 (dnf.size() > 1 ? "; that alternative of the rule is left out" : ": not rendered"));
          fail = true;
          break;
        }
        std::string h = lower(x.args[0].value);
        if (h == "*") continue;
        if (!valid_hostname(h)) {
          warn(r.rule ? r.rule->pos : r.pos, router_label(r) + ": " + text + ": TLSRoute hostnames are DNS names" +
                                                 (dnf.size() > 1 ? "; that alternative of the rule is left out" : ": not rendered"));
          fail = true;
          break;
        }
        if (!host.empty() && host != h) never = true;
        host = h;
      }
      if (fail || never) continue;
      if (host.empty()) any = true;
      else if (std::find(p.hostnames.begin(), p.hostnames.end(), host) == p.hostnames.end()) p.hostnames.push_back(host);
    }
    if (any) p.hostnames.clear();
    if (!any && p.hostnames.empty()) return;
    if (r.tls) {
      p.listener_kind = r.tls_passthrough ? "TLS-passthrough" : "TLS-terminate";
      if (!r.tls_passthrough && r.tls_options && r.tls_options->value != "default")
        warn(r.tls_options->pos, router_label(r) + ": TLS options have no Gateway API (v1) field; left out");
    } else {
      if (!p.hostnames.empty()) {
        warn(r.pos, router_label(r) + ": HostSNI with a name needs TLS; without it Traefik never matches: not rendered");
        return;
      }
      p.listener_kind = "TCP";
    }
    if (p.hostnames.size() > 16) {
      warn(r.pos, router_label(r) + ": more than 16 host names in one TLSRoute: only the first 16 are rendered");
      p.hostnames.resize(16);
    }
    if (!r.middlewares.empty())
      warn(r.pos, router_label(r) + ": TCP middlewares (ipAllowList, inFlightConn) have no Gateway API filter; left out");
    if (!r.service) return;
    p.backends = tcp_backends(r.service->value, r.service->pos, Protocol::tcp, 1, r, 0);
    merge_backends(p.backends);
    if (p.backends.empty()) {
      warn(r.service->pos, router_label(r) + ": no Kubernetes Service to send its connections to: not rendered");
      return;
    }
    tcp_.push_back(std::move(p));
  }

  void plan_udp(const Router& r) {
    TcpPlan p;
    p.router = &r;
    p.entry_points = entry_points_of(r);
    if (p.entry_points.empty() || !r.service) return;
    p.listener_kind = "UDP";
    p.backends = tcp_backends(r.service->value, r.service->pos, Protocol::udp, 1, r, 0);
    merge_backends(p.backends);
    if (p.backends.empty()) {
      warn(r.service->pos, router_label(r) + ": no Kubernetes Service to send its datagrams to: not rendered");
      return;
    }
    tcp_.push_back(std::move(p));
  }

  std::vector<Backend> tcp_backends(const std::string& ref, Pos pos, Protocol proto, std::int64_t weight, const Router& r, int depth) {
    if (depth > 16) return {};
    const Service* s = find_service(c_, proto, ref);
    if (!s) {
      warn(pos, router_label(r) + ": service '" + ref + "' is not defined in these files");
      return {};
    }
    if (s->kinds.size() != 1 || !s->node) return {};
    const DocNode* body = s->node->find(s->kinds.front());
    if (s->kinds.front() == "weighted") {
      std::vector<Backend> out;
      const DocNode* list = body ? body->find("services") : nullptr;
      if (list && list->is_sequence())
        for (const auto& item : list->items) {
          std::string w = field(&item, {"weight"});
          auto sub = tcp_backends(field(&item, {"name"}), item.pos, proto, weight * (w.empty() ? 1 : parse_go_int(w).value_or(1)), r,
                                  depth + 1);
          out.insert(out.end(), sub.begin(), sub.end());
        }
      return out;
    }
    if (s->kinds.front() != "loadBalancer") {
      once(s->pos, "service '" + s->name + "' (" + s->kinds.front() + "): no Gateway API equivalent");
      return {};
    }
    std::string name = service_names_.at(s->name);
    std::set<int> ports;
    for (const auto& t : s->servers) {
      int port = server_port(t.value);
      if (port) {
        ports.insert(port);
        needs_[name].ports.insert(port);
      }
      needs_[name].servers.insert(t.value);
    }
    if (body && body->is_mapping()) {
      if (body->find("proxyProtocol"))
        once(s->pos, "service '" + s->name + "': proxyProtocol has no Gateway API field; left out");
      if (body->find("serversTransport") || body->find("terminationDelay"))
        once(s->pos, "service '" + s->name + "': serversTransport and terminationDelay have no Gateway API field; left out");
    }
    if (ports.size() > 1)
      once(s->pos, "service '" + s->name + "': its servers use different ports; the backendRef uses port " +
                       std::to_string(*ports.begin()));
    if (ports.empty()) {
      once(s->pos, "service '" + s->name + "': no port in its server addresses; left out");
      return {};
    }
    return {Backend{name, *ports.begin(), weight}};
  }

  // ---- names, precedence, output ----

  std::string unique_name(const std::string& base, std::set<std::string>& used) {
    std::string n = base;
    for (int i = 2; used.count(n); ++i) {
      std::string suffix = "-" + std::to_string(i);
      n = (base.size() + suffix.size() > 63 ? base.substr(0, 63 - suffix.size()) : base) + suffix;
    }
    used.insert(n);
    return n;
  }

  // Host groups of an HTTP plan: hosts with the same matches share one
  // HTTPRoute (hostnames x matches); at most 16 hostnames each.
  struct Group {
    std::vector<std::string> hosts;
    std::vector<const HttpMatch*> matches;
  };

  static std::vector<Group> groups_of(const HttpPlan& p) {
    std::map<std::string, std::vector<const HttpMatch*>> by_host;
    for (const auto& m : p.matches) {
      auto& v = by_host[m.host];
      if (std::none_of(v.begin(), v.end(), [&](const HttpMatch* x) { return x->same_match(m); })) v.push_back(&m);
    }
    std::vector<Group> out;
    for (const auto& [host, ms] : by_host) {
      auto it = std::find_if(out.begin(), out.end(), [&](const Group& g) {
        if (host.empty() || g.hosts.front().empty() || g.hosts.size() >= 16 || g.matches.size() != ms.size()) return false;
        for (std::size_t i = 0; i < ms.size(); ++i)
          if (!g.matches[i]->same_match(*ms[i])) return false;
        return true;
      });
      if (it != out.end()) it->hosts.push_back(host);
      else out.push_back(Group{{host}, ms});
    }
    return out;
  }

  void name_routes() {
    std::vector<std::string> http_names, tcp_names;
    for (const auto& p : http_) http_names.push_back(p.router->name);
    auto hn = k8s_names(http_names);
    std::set<std::string> used_http;
    for (const auto& [n, k] : hn) used_http.insert(k);
    for (auto& p : http_) {
      auto groups = groups_of(p);
      std::string base = hn.at(p.router->name);
      p.names.push_back(base);
      for (std::size_t i = 1; i < groups.size(); ++i) p.names.push_back(unique_name(base, used_http));
    }
    std::map<std::string, std::vector<TcpPlan*>> by_kind;
    for (auto& p : tcp_) by_kind[p.listener_kind == "TCP" ? "TCPRoute" : p.listener_kind == "UDP" ? "UDPRoute" : "TLSRoute"].push_back(&p);
    for (auto& [kind, plans] : by_kind) {
      std::vector<std::string> names;
      for (auto* p : plans) names.push_back(p->router->name);
      auto m = k8s_names(names);
      for (auto* p : plans) p->name = m.at(p->router->name);
    }
  }

  void check_precedence() {
    for (std::size_t i = 0; i < http_.size(); ++i)
      for (std::size_t j = i + 1; j < http_.size(); ++j) {
        const HttpPlan& a = http_[i];
        const HttpPlan& b = http_[j];
        bool shared = std::any_of(a.entry_points.begin(), a.entry_points.end(), [&](const std::string& ep) {
          return std::find(b.entry_points.begin(), b.entry_points.end(), ep) != b.entry_points.end();
        });
        if (!shared || a.router->tls != b.router->tls) continue;
        std::string why;
        Order found = Order::first;
        for (const auto& ma : a.matches) {
          for (const auto& mb : b.matches) {
            if (!hosts_overlap(ma.host, mb.host) || !may_overlap(a.dnf[ma.conj], b.dnf[mb.conj])) continue;
            std::string w;
            Order o = gateway_order(ma, mb, w);
            if (o == Order::unknown && w.starts_with("equal") && a.names.front() < b.names.front()) o = Order::first;
            if (o != Order::first) {
              found = o;
              why = w;
              break;
            }
          }
          if (found != Order::first) break;
        }
        if (found == Order::first) continue;
        std::string prio = " (priority " + std::to_string(a.priority) + " > " + std::to_string(b.priority) + ")";
        if (a.priority == b.priority) prio = " (same priority, name order)";
        warn(a.router->pos, router_label(*a.router) + " comes before router '" + b.router->name + "' in Traefik" + prio +
                                (found == Order::second ? ", but Gateway API ranks the latter first: " + why
                                                        : ", and Gateway API may rank them otherwise: " + why));
      }
  }

  static bool hosts_overlap(const std::string& a, const std::string& b) {
    if (a.empty() || b.empty() || a == b) return true;
    auto covers = [](const std::string& wild, const std::string& h) {
      return wild.starts_with("*.") && h.size() > wild.size() - 1 && h.ends_with(wild.substr(1));
    };
    return covers(a, b) || covers(b, a);
  }

  std::string listener_name(const std::string& ep, const std::string& kind) const {
    std::string base = k8s_name(ep);
    if (kind == "HTTP" || kind == "HTTPS") return base;
    if (kind == "TLS-passthrough") return base + "-tls";
    if (kind == "TLS-terminate") return base + "-tls-terminate";
    return base + (kind == "TCP" ? "-tcp" : "-udp");
  }

  oj metadata(const std::string& name, const Router* r) const {
    oj md = {{"name", name}, {"namespace", options_.k8s_namespace}};
    if (r) md["annotations"] = {{"certroute/router", qualified(r->name)}};
    return md;
  }

  static oj backend_refs(const std::vector<Backend>& bs) {
    bool weighted = bs.size() > 1;
    oj out = oj::array();
    for (const auto& b : bs) {
      oj ref = {{"name", b.name}, {"port", b.port}};
      if (weighted) ref["weight"] = std::min<std::int64_t>(b.weight, 1000000);
      out.push_back(std::move(ref));
    }
    return out;
  }

  oj parent_refs(const std::vector<std::string>& eps, const std::string& kind_for_tcp, bool http) const {
    oj out = oj::array();
    for (const auto& ep : eps) {
      std::string kind = http ? http_protocol_.at(ep) : kind_for_tcp;
      out.push_back({{"name", kGatewayName}, {"sectionName", listener_name(ep, kind)}});
    }
    return out;
  }

  RenderResult output() {
    // Listeners, in entry-point order.
    std::vector<std::pair<std::string, std::string>> listeners;  // ep, kind
    for (const auto& ep : eps_) {
      if (http_protocol_.count(ep.name)) listeners.emplace_back(ep.name, http_protocol_.at(ep.name));
      for (const char* kind : {"TLS-passthrough", "TLS-terminate", "TCP", "UDP"})
        if (std::any_of(tcp_.begin(), tcp_.end(), [&](const TcpPlan& p) {
              return p.listener_kind == kind && std::find(p.entry_points.begin(), p.entry_points.end(), ep.name) != p.entry_points.end();
            }))
          listeners.emplace_back(ep.name, kind);
    }
    std::vector<std::string> secrets = certificate_secrets();
    oj ls = oj::array();
    std::map<int, std::vector<std::string>> by_port;
    std::set<std::string> addresses;
    for (const auto& [ep, kind] : listeners) {
      const EntryPoint& e = *std::find_if(eps_.begin(), eps_.end(), [&](const EntryPoint& x) { return x.name == ep; });
      std::string proto = kind.starts_with("TLS") ? "TLS" : kind;
      oj l = {{"name", listener_name(ep, kind)}, {"protocol", proto}, {"port", e.port}};
      if (kind == "HTTPS" || kind == "TLS-terminate") {
        oj refs = oj::array();
        for (const auto& s : secrets) refs.push_back({{"kind", "Secret"}, {"name", s}});
        l["tls"] = {{"mode", "Terminate"}, {"certificateRefs", refs}};
      } else if (kind == "TLS-passthrough") {
        l["tls"] = {{"mode", "Passthrough"}};
      }
      ls.push_back(std::move(l));
      by_port[e.port].push_back(proto);
      addresses.insert(e.address);
    }
    for (const auto& [port, protos] : by_port) {
      if (protos.size() < 2) continue;
      std::string l;
      for (const auto& p : protos) l += (l.empty() ? "" : ", ") + p;
      warn(Pos{}, "port " + std::to_string(port) + " carries several Gateway listeners (" + l +
                      "): they need distinct hostnames, and TCP/UDP cannot share a port with others");
    }
    oj gw = {{"apiVersion", kV1}, {"kind", "Gateway"}, {"metadata", metadata(kGatewayName, nullptr)}};
    gw["spec"] = {{"gatewayClassName", kGatewayName}};
    if (addresses.size() == 1 && !addresses.begin()->empty())
      gw["spec"]["addresses"] = oj::array({{{"type", "IPAddress"}, {"value", *addresses.begin()}}});
    else if (addresses.size() > 1)
      warn(Pos{}, "entry points listen on different addresses; a Gateway has one set of addresses: left out");
    if (ls.empty())  // a Gateway needs a listener: plain HTTP on every entry point
      for (const auto& e : eps_) ls.push_back({{"name", listener_name(e.name, "HTTP")}, {"protocol", "HTTP"}, {"port", e.port}});
    gw["spec"]["listeners"] = ls;

    std::vector<oj> docs;
    docs.push_back(std::move(gw));
    for (const auto& p : http_) {
      auto groups = groups_of(p);
      for (std::size_t g = 0; g < groups.size(); ++g) {
        oj route = {{"apiVersion", kV1}, {"kind", "HTTPRoute"}, {"metadata", metadata(p.names.at(g), p.router)}};
        oj spec = {{"parentRefs", parent_refs(p.entry_points, "", true)}};
        if (!groups[g].hosts.front().empty()) spec["hostnames"] = groups[g].hosts;
        oj rules = oj::array();
        for (std::size_t k = 0; k < groups[g].matches.size(); k += 64) {
          oj rule = oj::object();
          rule["matches"] = oj::array();
          for (std::size_t i = k; i < std::min(k + 64, groups[g].matches.size()); ++i)
            rule["matches"].push_back(groups[g].matches[i]->to_json());
          if (!p.filters.empty()) rule["filters"] = p.filters;
          if (!p.redirect) rule["backendRefs"] = backend_refs(p.backends);
          rules.push_back(std::move(rule));
        }
        if (rules.size() > 16) {
          warn(p.router->pos, router_label(*p.router) + ": more than 1024 matches: only the first 16 rules are rendered");
          rules.erase(rules.begin() + 16, rules.end());
        }
        spec["rules"] = rules;
        route["spec"] = std::move(spec);
        docs.push_back(std::move(route));
      }
    }
    for (const char* kind : {"TLSRoute", "TCPRoute", "UDPRoute"})
      for (const auto& p : tcp_) {
        std::string k = p.listener_kind == "TCP" ? "TCPRoute" : p.listener_kind == "UDP" ? "UDPRoute" : "TLSRoute";
        if (k != kind) continue;
        oj route = {{"apiVersion", kV1alpha2}, {"kind", k}, {"metadata", metadata(p.name, p.router)}};
        oj spec = {{"parentRefs", parent_refs(p.entry_points, p.listener_kind, false)}};
        if (k == "TLSRoute" && !p.hostnames.empty()) spec["hostnames"] = p.hostnames;
        spec["rules"] = oj::array({{{"backendRefs", backend_refs(p.backends)}}});
        route["spec"] = std::move(spec);
        docs.push_back(std::move(route));
      }

    RenderResult res;
    res.main_name = "gateway-api.yaml";
    res.main = generated_header(options_, "# ");
    res.main += "# Set spec.gatewayClassName of Gateway '" + std::string(kGatewayName) + "' to your Gateway API implementation's class.\n";
    if (!needs_.empty()) {
      res.main += "# Kubernetes Services the routes send to (name: port, from the Traefik servers):\n";
      for (const auto& [name, need] : needs_) {
        std::string ports, servers;
        for (int pt : need.ports) ports += (ports.empty() ? "" : ", ") + std::to_string(pt);
        for (const auto& s : need.servers) servers += (servers.empty() ? "" : ", ") + s;
        res.main += "#   " + name + ": " + (ports.empty() ? "?" : ports) + " (" + servers + ")\n";
      }
    }
    if (std::any_of(listeners.begin(), listeners.end(), [](const auto& l) { return l.second == "HTTPS" || l.second == "TLS-terminate"; })) {
      res.main += "# TLS Secrets the listeners use (kubectl create secret tls NAME --cert=... --key=...):\n";
      for (const auto& s : secrets) res.main += "#   " + s + secret_origin_[s] + "\n";
    }
    for (const auto& d : docs) res.main += "---\n" + to_yaml(d);
    return res;
  }

  // A Secret per certificate of tls.certificates (and stores' defaults).
  std::vector<std::string> certificate_secrets() {
    std::vector<std::string> files;
    for (const auto& cert : c_.certificates)
      if (cert.cert_file && !cert.cert_file->value.empty()) files.push_back(cert.cert_file->value);
    std::vector<std::string> out;
    std::set<std::string> used;
    for (const auto& f : files) {
      std::string stem = f.substr(f.find_last_of('/') == std::string::npos ? 0 : f.find_last_of('/') + 1);
      if (auto dot = stem.rfind('.'); dot != std::string::npos && dot > 0) stem = stem.substr(0, dot);
      if (stem.find("-----BEGIN") != std::string::npos || stem.empty()) stem = "certificate";
      std::string name = unique_name(k8s_name(stem), used);
      out.push_back(name);
      secret_origin_[name] = f.find("-----BEGIN") != std::string::npos ? " (from an inline certificate)" : " (from " + f + ")";
    }
    if (out.empty()) {
      out.push_back(std::string(kGatewayName) + "-tls");
      secret_origin_[out.back()] = " (no tls.certificates in the route files: provide one, for example with cert-manager)";
    }
    return out;
  }

  const Config& c_;
  const RenderOptions& options_;
  Diagnostics& diags_;
  std::vector<EntryPoint> eps_;
  std::map<std::string, std::string> service_names_;
  std::vector<HttpPlan> http_;
  std::vector<TcpPlan> tcp_;
  std::map<std::string, std::string> http_protocol_;  // entry point -> HTTP or HTTPS
  std::map<std::string, ServiceNeed> needs_;
  std::map<std::string, std::set<std::string>> unused_;  // middleware -> routers it is left out of
  std::map<std::string, std::string> secret_origin_;
  std::set<std::string> said_;
  std::map<std::string, std::pair<Pos, std::vector<std::string>>> unknown_eps_;  // entry point -> first use, routers
};

class GatewayApi final : public Renderer {
 public:
  RenderResult render(const LoadedConfig& loaded, const RenderOptions& options, Diagnostics& diags) const override {
    return Gateway(loaded, options, diags).render();
  }
};

}  // namespace

std::unique_ptr<Renderer> make_gateway_api() { return std::make_unique<GatewayApi>(); }

}  // namespace certroute::routes::render
