// routes render --to ingress: a networking.k8s.io/v1 Ingress per HTTP router.
// Ingress matches only host and path, sends to one Service, and has no
// filters: everything else (methods, headers, queries, client IPs, negations,
// middlewares, weights) is a CR050 diagnostic. Traefik's PathPrefix is a plain
// string prefix while Ingress's Prefix is segment-aware, so any PathPrefix but
// `/` becomes pathType ImplementationSpecific with the same path (a plain
// prefix for Traefik's and ingress-nginx's controllers).
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

// lower: ASCII letters only; valid_hostname: RFC 1123 host name as Gateway
// API and Ingress take it (labels of [a-z0-9-], no IP).
std::string lower(std::string_view s) { return common::ascii_lower(s); }
using common::valid_hostname;

// HostRegexp of the form ^[^.]+\.example\.com$: Ingress's *.example.com
// (exactly one label). "" when it is not of that form.
std::string host_regexp_as_wildcard(std::string re) {
  if (re.starts_with("(?i)")) re = re.substr(4);
  return common::host_regexp_wildcard(re, {"^[^.]+\\.", "^[^.]*\\."}).value_or("");
}

struct IngressPath {
  std::string host;  // "" any
  std::string path = "/";
  std::string type = "Prefix";  // Exact, Prefix, ImplementationSpecific
  std::size_t conj = 0;
  bool operator==(const IngressPath& o) const { return host == o.host && path == o.path && type == o.type; }
};

struct Plan {
  const Router* router = nullptr;
  std::int64_t priority = 0;
  Rule rule;
  std::vector<Conjunction> dnf;
  std::vector<IngressPath> paths;
  std::string service;  // Kubernetes Service
  int port = 0;
  std::string name;
};

class Ingress final {
 public:
  Ingress(const LoadedConfig& loaded, const RenderOptions& options, Diagnostics& diags)
      : c_(loaded.config), options_(options), diags_(diags), eps_(effective_entry_points(options)) {
    std::vector<std::string> svc;
    for (const auto& [n, s] : c_.http.services) svc.push_back(n);
    service_names_ = k8s_names(svc, true);
  }

  RenderResult render() {
    for (auto& e : compile_routes(c_, Protocol::http)) plan(std::move(e));
    for (Protocol p : {Protocol::tcp, Protocol::udp})
      for (const auto& [name, r] : c_.section(p).routers)
        warn(r.pos, std::string(p == Protocol::tcp ? "TCP" : "UDP") + " router '" + name + "': Ingress carries only HTTP: not rendered");
    std::vector<std::string> names;
    for (const auto& p : plans_) names.push_back(p.router->name);
    auto k = k8s_names(names);
    for (auto& p : plans_) p.name = k.at(p.router->name);
    check_precedence();
    for (const auto& [ep, u] : skipped_eps_) {
      std::string list;
      for (const auto& n : u.routers) list += (list.empty() ? "" : ", ") + n;
      warn(u.pos, "entry point '" + ep + "'" +
                      (u.port ? " (port " + std::to_string(u.port) + ")" : " (its port is unknown: --entrypoint " + ep + "=:443 declares it)") +
                      ": an Ingress is served on ports 80 and 443 only; left out of router" + (u.routers.size() > 1 ? "s " : " ") + list);
    }
    for (const auto& [name, routers] : unused_) {
      const Middleware* m = find_middleware(c_, Protocol::http, name);
      std::string list;
      for (const auto& r : routers) list += (list.empty() ? "" : ", ") + r;
      warn(m ? m->pos : Pos{}, "middleware '" + name + "'" + (m && m->kinds.size() == 1 ? " (" + m->kinds.front() + ")" : "") +
                                   ": Ingress has no middlewares: left out of router" + (routers.size() > 1 ? "s " : " ") + list);
    }
    std::vector<std::string> tls_only;
    for (const auto& p : plans_)
      if (p.router->tls) tls_only.push_back(p.router->name);
    if (!tls_only.empty()) {
      std::string list;
      for (const auto& n : tls_only) list += (list.empty() ? "" : ", ") + n;
      const bool many = tls_only.size() > 1;
      warn(Pos{}, "an Ingress rule answers on ports 80 and 443 alike: the TLS-only router" + std::string(many ? "s " : " ") + list +
                      (many ? " also answer" : " also answers") + " plain HTTP unless the controller redirects to HTTPS");
    }
    return output();
  }

 private:
  void warn(Pos pos, std::string msg) { diags_.add(Code::unsupported_by_target, pos, std::move(msg)); }
  void once(Pos pos, const std::string& msg) {
    if (said_.insert(msg).second) warn(pos, msg);
  }

  void plan(RouteEntry&& e) {
    const Router& r = *e.router;
    const std::string label = "router '" + r.name + "'";
    const Pos rule_pos = r.rule ? r.rule->pos : r.pos;
    if (e.templated) {
      warn(rule_pos, label + ": its rule is built by a Go template: not rendered");
      return;
    }
    if (!e.rule.ok()) return;
    // Entry points: an Ingress controller listens on 80 and 443 only.
    if (!r.entry_points.empty()) {
      bool any = false;
      for (const auto& t : r.entry_points) {
        auto ep = std::find_if(eps_.begin(), eps_.end(), [&](const EntryPoint& x) { return x.name == t.value; });
        if (ep != eps_.end() && (ep->port == 80 || ep->port == 443)) {
          any = true;
        } else {
          auto& u = skipped_eps_[t.value];
          if (u.routers.empty()) u.pos = t.pos, u.port = ep == eps_.end() ? 0 : ep->port;
          u.routers.push_back(r.name);
        }
      }
      if (!any) return;
    }
    Plan p;
    p.router = &r;
    p.priority = e.priority;
    p.rule = parse_rule(v3_rule_text(e.rule), RuleKind::http, RuleSyntax::v3);
    bool too_big = false;
    if (p.rule.ok()) p.dnf = to_dnf(*p.rule.root, too_big);
    if (!p.rule.ok() || too_big) {
      warn(rule_pos, label + ": the rule is too complex to split into Ingress paths: not rendered");
      return;
    }
    for (std::size_t i = 0; i < p.dnf.size(); ++i) {
      std::string why;
      auto path = translate(p.rule, p.dnf[i], why);
      if (!path) {
        if (!why.empty())
          warn(rule_pos, label + ": " + why + (p.dnf.size() > 1 ? " (that alternative of the rule is left out)" : ": not rendered"));
        continue;
      }
      path->conj = i;
      if (std::find(p.paths.begin(), p.paths.end(), *path) == p.paths.end()) p.paths.push_back(*path);
    }
    if (p.paths.empty()) return;
    for (const Middleware* m : expand_middlewares(c_, r)) {
      if (m->kinds.size() != 1) continue;
      const std::string& kind = m->kinds.front();
      if (kind == "basicAuth" || kind == "digestAuth" || kind == "forwardAuth" || kind == "ipAllowList" ||
          kind == "ipWhiteList" || kind == "plugin") {
        warn(r.pos, label + ": middleware '" + m->name + "' (" + kind +
                        ") guards it and Ingress has no middlewares: not rendered (it would be open)");
        return;
      }
      unused_[m->name].insert(r.name);
    }
    if (!r.service) return;
    if (!backend(r.service->value, r.service->pos, p, label, 0)) {
      warn(r.service->pos, label + ": no Kubernetes Service to send its requests to: not rendered");
      return;
    }
    plans_.push_back(std::move(p));
  }

  static std::optional<IngressPath> translate(const Rule& rule, const Conjunction& conj, std::string& why) {
    IngressPath out;
    bool host_set = false, path_set = false;
    for (const auto& atom : conj) {
      const RuleExpr& e = *atom.matcher;
      std::string text(rule.text_of(e));
      if (atom.negated) {
        why = "a negated matcher (!" + text + ") has no Ingress equivalent";
        return std::nullopt;
      }
      const RuleArg& a = e.args.at(0);
      switch (e.matcher) {
        case Matcher::host:
        case Matcher::host_regexp: {
          std::string h;
          if (e.matcher == Matcher::host) {
            h = lower(a.value);
            if (h.size() > 1 && h.back() == '.') h.pop_back();
            if (!valid_hostname(h)) {
              why = text + ": Ingress hosts are DNS names, not IP addresses or other text";
              return std::nullopt;
            }
          } else {
            h = host_regexp_as_wildcard(a.value);
            if (h.empty()) {
              why = text + ": Ingress hosts are exact names or *.domain (one label), not regular expressions";
              return std::nullopt;
            }
          }
          if (host_set && h != out.host) {
            if (e.matcher == Matcher::host) return std::nullopt;  // never matches
            why = text + " together with another host matcher has no Ingress equivalent";
            return std::nullopt;
          }
          out.host = h;
          host_set = true;
          break;
        }
        case Matcher::path:
        case Matcher::path_prefix: {
          IngressPath p = out;
          p.path = a.value;
          p.type = e.matcher == Matcher::path ? "Exact" : a.value == "/" ? "Prefix" : "ImplementationSpecific";
          if (path_set && (p.path != out.path || p.type != out.type)) {
            why = "two path matchers in one branch of the rule (" + text + ") have no Ingress equivalent";
            return std::nullopt;
          }
          out = p;
          path_set = true;
          break;
        }
        case Matcher::path_regexp:
          why = text + ": Ingress paths are not regular expressions (portably)";
          return std::nullopt;
        default:
          why = text + ": Ingress matches only hosts and paths";
          return std::nullopt;
      }
    }
    return out;
  }

  // The one Service of an Ingress path.
  bool backend(const std::string& ref, Pos pos, Plan& p, const std::string& label, int depth) {
    if (depth > 16) return false;
    const Service* s = find_service(c_, Protocol::http, ref);
    if (!s) {
      warn(pos, label + ": service '" + ref + "' " +
                    (ref.ends_with("@internal") ? "is Traefik's own; it has no Kubernetes Service" : "is not defined in these files"));
      return false;
    }
    if (s->kinds.size() != 1 || !s->node) return false;
    const std::string& kind = s->kinds.front();
    const DocNode* body = s->node->find(kind);
    if (kind == "loadBalancer") {
      std::string name = service_names_.at(s->name);
      std::set<int> ports;
      std::set<std::string> weights;
      for (const auto& t : s->servers) {
        std::string scheme;
        if (int port = server_port(t.value, &scheme)) {
          ports.insert(port);
          needs_[name].insert(port);
        }
        servers_[name].insert(t.value);
        if (scheme == "https")
          once(s->pos, "service '" + s->name + "': HTTPS to the servers is controller-specific (an annotation); not rendered");
      }
      if (body && body->is_mapping()) {
        if (const DocNode* servers = body->find("servers"); servers && servers->is_sequence())
          for (const auto& srv : servers->items) weights.insert(field(&srv, {"weight"}));
        for (const char* f : {"sticky", "healthCheck", "serversTransport", "responseForwarding"})
          if (body->find(f)) once(s->pos, "service '" + s->name + "': " + f + " has no Ingress field; left out");
        if (auto ph = field(body, {"passHostHeader"}); !ph.empty() && !parse_go_bool(ph).value_or(true))
          once(s->pos, "service '" + s->name + "': passHostHeader false has no Ingress field; left out");
      }
      if (weights.size() > 1)
        once(s->pos, "service '" + s->name + "': per-server weights cannot be expressed (a Service spreads requests evenly)");
      if (ports.size() > 1)
        once(s->pos, "service '" + s->name + "': its servers use different ports; the Ingress uses port " + std::to_string(*ports.begin()));
      if (ports.empty()) {
        once(s->pos, "service '" + s->name + "': no port in its server URLs");
        return false;
      }
      p.service = name;
      p.port = *ports.begin();
      return true;
    }
    if (kind == "weighted" || kind == "highestRandomWeight") {
      // The heaviest child takes all the traffic.
      const DocNode* list = body ? body->find("services") : nullptr;
      std::string best;
      std::int64_t best_w = -1;
      std::size_t n = 0;
      if (list && list->is_sequence())
        for (const auto& item : list->items) {
          std::string w = field(&item, {"weight"});
          std::int64_t wv = w.empty() ? 1 : parse_go_int(w).value_or(1);
          ++n;
          if (wv > best_w) best_w = wv, best = field(&item, {"name"});
        }
      if (n > 1)
        once(s->pos, "service '" + s->name + "' (" + kind + "): an Ingress path has one backend: all requests go to '" + best + "'");
      return !best.empty() && backend(best, s->pos, p, label, depth + 1);
    }
    if (kind == "mirroring" || kind == "failover") {
      once(s->pos, "service '" + s->name + "' (" + kind + "): Ingress has no " + (kind == "mirroring" ? "mirrors" : "fallback") +
                       ": rendered with its main service only");
      return backend(field(body, {"service"}), s->pos, p, label, depth + 1);
    }
    return false;
  }

  // Ingress ranks paths of a host by length (Exact before Prefix at equal
  // length); exact hosts come before wildcards, which come before no host.
  void check_precedence() {
    auto rank = [](const IngressPath& x) {
      int host = x.host.empty() ? 0 : x.host.starts_with("*.") ? 1 : 2;
      return std::tuple<int, std::size_t, int>(host, x.path.size(), x.type == "Exact" ? 1 : 0);
    };
    auto hosts_overlap = [](const std::string& a, const std::string& b) {
      if (a.empty() || b.empty() || a == b) return true;
      auto covers = [](const std::string& w, const std::string& h) {
        return w.starts_with("*.") && h.ends_with(w.substr(1)) && h.find('.') == h.size() - w.size() + 1;
      };
      return covers(a, b) || covers(b, a);
    };
    for (std::size_t i = 0; i < plans_.size(); ++i)
      for (std::size_t j = i + 1; j < plans_.size(); ++j) {
        const Plan& a = plans_[i];
        const Plan& b = plans_[j];
        for (const auto& pa : a.paths) {
          bool reported = false;
          for (const auto& pb : b.paths) {
            if (!hosts_overlap(pa.host, pb.host) || !may_overlap(a.dnf[pa.conj], b.dnf[pb.conj])) continue;
            auto ra = rank(pa), rb = rank(pb);
            if (ra > rb) continue;
            std::string prio = a.priority == b.priority ? " (same priority, name order)"
                                                        : " (priority " + std::to_string(a.priority) + " > " + std::to_string(b.priority) + ")";
            warn(a.router->pos, "router '" + a.router->name + "' comes before router '" + b.router->name + "' in Traefik" + prio +
                                    (ra == rb ? ", but Ingress has the same host and path for both: the controller picks one"
                                              : ", but Ingress ranks the latter first (more specific host or longer path)"));
            reported = true;
            break;
          }
          if (reported) break;
        }
      }
  }

  std::string secret_for(const Plan& p) {
    std::vector<std::string> files;
    for (const auto& cert : c_.certificates)  // a store's default certificate is the fallback: last
      if (!cert.store_default && cert.cert_file && !cert.cert_file->value.empty()) files.push_back(cert.cert_file->value);
    for (const auto& cert : c_.certificates)
      if (cert.store_default && cert.cert_file && !cert.cert_file->value.empty()) files.push_back(cert.cert_file->value);
    std::string name;
    if (files.empty()) {
      name = k8s_name(p.router->name + "-tls");
      secrets_[name] = p.router->cert_resolver ? " (certResolver " + p.router->cert_resolver->value + ": use cert-manager)"
                                               : " (no tls.certificates in the route files)";
    } else {
      std::string f = files.front();
      std::string stem = f.substr(f.find_last_of('/') == std::string::npos ? 0 : f.find_last_of('/') + 1);
      if (auto dot = stem.rfind('.'); dot != std::string::npos && dot > 0) stem = stem.substr(0, dot);
      if (stem.find("-----BEGIN") != std::string::npos || stem.empty()) stem = "certificate";
      name = k8s_name(stem);
      secrets_[name] = f.find("-----BEGIN") != std::string::npos ? " (from an inline certificate)" : " (from " + f + ")";
      if (files.size() > 1)
        once(Pos{}, "the route files hold " + std::to_string(files.size()) +
                        " certificates (Traefik picks one by SNI); the Ingress TLS sections name the first, '" + name + "'");
    }
    if (p.router->cert_resolver)
      once(p.router->cert_resolver->pos, "router '" + p.router->name + "': certResolver '" + p.router->cert_resolver->value +
                                             "' (ACME) has no Ingress field; use cert-manager for Secret '" + name + "'");
    if (p.router->tls_options && p.router->tls_options->value != "default")
      once(p.router->tls_options->pos, "router '" + p.router->name + "': TLS options have no Ingress field; left out");
    return name;
  }

  RenderResult output() {
    std::string docs;
    for (const auto& p : plans_) {
      oj md = {{"name", p.name}, {"namespace", options_.k8s_namespace}, {"annotations", {{"certroute/router", qualified(p.router->name)}}}};
      oj rules = oj::array();
      std::vector<std::string> hosts;
      for (const auto& path : p.paths)
        if (std::find(hosts.begin(), hosts.end(), path.host) == hosts.end()) hosts.push_back(path.host);
      for (const auto& h : hosts) {
        oj paths = oj::array();
        for (const auto& path : p.paths)
          if (path.host == h)
            paths.push_back({{"path", path.path},
                             {"pathType", path.type},
                             {"backend", {{"service", {{"name", p.service}, {"port", {{"number", p.port}}}}}}}});
        oj rule = oj::object();
        if (!h.empty()) rule["host"] = h;
        rule["http"] = {{"paths", paths}};
        rules.push_back(std::move(rule));
      }
      oj spec = oj::object();
      if (p.router->tls) {
        oj tls = oj::object();
        std::vector<std::string> th;
        for (const auto& h : hosts)
          if (!h.empty()) th.push_back(h);
        if (!th.empty()) tls["hosts"] = th;
        tls["secretName"] = secret_for(p);
        spec["tls"] = oj::array({tls});
      }
      spec["rules"] = rules;
      oj doc = {{"apiVersion", "networking.k8s.io/v1"}, {"kind", "Ingress"}, {"metadata", md}, {"spec", spec}};
      docs += "---\n" + to_yaml(doc);
    }
    RenderResult res;
    res.main_name = "ingress.yaml";
    res.main = generated_header(options_, "# ");
    res.main +=
        "# pathType ImplementationSpecific carries Traefik's PathPrefix: a plain string prefix (/api also matches\n"
        "# /apiv2), as Traefik's and ingress-nginx's controllers read it (without regex annotations).\n";
    if (!needs_.empty()) {
      res.main += "# Kubernetes Services the Ingresses send to (name: port, from the Traefik servers):\n";
      for (const auto& [name, ports] : needs_) {
        std::string pl, sl;
        for (int pt : ports) pl += (pl.empty() ? "" : ", ") + std::to_string(pt);
        for (const auto& s : servers_[name]) sl += (sl.empty() ? "" : ", ") + s;
        res.main += "#   " + name + ": " + pl + " (" + sl + ")\n";
      }
    }
    if (!secrets_.empty()) {
      res.main += "# TLS Secrets the Ingresses use (kubectl create secret tls NAME --cert=... --key=...):\n";
      for (const auto& [name, origin] : secrets_) res.main += "#   " + name + origin + "\n";
    }
    if (plans_.empty()) res.main += "# (no router could be rendered as an Ingress)\n";
    res.main += docs;
    return res;
  }

  const Config& c_;
  const RenderOptions& options_;
  Diagnostics& diags_;
  std::vector<EntryPoint> eps_;
  std::map<std::string, std::string> service_names_;
  std::vector<Plan> plans_;
  std::map<std::string, std::set<int>> needs_;
  std::map<std::string, std::set<std::string>> servers_;
  std::map<std::string, std::set<std::string>> unused_;
  std::map<std::string, std::string> secrets_;
  std::set<std::string> said_;
  struct SkippedEntryPoint {
    Pos pos;
    int port = 0;
    std::vector<std::string> routers;
  };
  std::map<std::string, SkippedEntryPoint> skipped_eps_;
};

class IngressRenderer final : public Renderer {
 public:
  RenderResult render(const LoadedConfig& loaded, const RenderOptions& options, Diagnostics& diags) const override {
    return Ingress(loaded, options, diags).render();
  }
};

}  // namespace

std::unique_ptr<Renderer> make_ingress() { return std::make_unique<IngressRenderer>(); }

}  // namespace certroute::routes::render
