// routes render --to ingressroute: Traefik's own Kubernetes CRDs
// (traefik.io/v1alpha1): IngressRoute / IngressRouteTCP / IngressRouteUDP per
// router (rules pass through, v2 rules rewritten to v3), Middleware /
// MiddlewareTCP per middleware (fields typed as the CRD schema wants them),
// TraefikService for weighted and mirroring services, ServersTransport(TCP),
// TLSOption and TLSStore. Load-balancer services become references to
// Kubernetes Services (name and port from the server URLs). What lives in
// files in the file provider (basicAuth users, CA files, certificates) moves
// into Secrets: users are rendered as Secrets, files are reported.
#include <algorithm>
#include <functional>
#include <set>

#include <nlohmann/json.hpp>

#include "core/routes/decode.hpp"
#include "core/routes/render/analysis.hpp"
#include "core/routes/render/renderer.hpp"
#include "core/routes/schema.hpp"

namespace certroute::routes::render {
namespace {

using oj = nlohmann::ordered_json;
namespace sc = schema;

constexpr const char* kApi = "traefik.io/v1alpha1";

const sc::Struct* schema_at(std::initializer_list<std::string_view> path) {
  const sc::Struct* s = &sc::dynamic_configuration();
  for (auto k : path) {
    const sc::Field* f = sc::find_field(*s, k);
    if (!f || !f->sub) return nullptr;
    s = f->sub;
  }
  return s;
}

bool is_integer_text(std::string_view s) {
  std::size_t i = (!s.empty() && s[0] == '-') ? 1 : 0;
  if (i >= s.size() || s.size() - i > 18) return false;
  return std::all_of(s.begin() + static_cast<std::ptrdiff_t>(i), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

// A scalar with no schema type: numbers and booleans written bare stay so.
oj untyped_scalar(const DocNode& n) {
  if (!n.quoted) {
    if (is_integer_text(n.text)) return std::stoll(n.text);
    if (n.text == "true") return true;
    if (n.text == "false") return false;
  }
  return n.text;
}

oj untyped(const DocNode& n) {
  switch (n.kind) {
    case DocNode::Kind::null: return nullptr;
    case DocNode::Kind::scalar: return untyped_scalar(n);
    case DocNode::Kind::sequence: {
      oj a = oj::array();
      for (const auto& i : n.items) a.push_back(untyped(i));
      return a;
    }
    case DocNode::Kind::mapping: {
      oj o = oj::object();
      for (const auto& e : n.entries)
        if (e.valid) o[e.key] = untyped(e.value);
      return o;
    }
  }
  return nullptr;
}

oj typed(const DocNode& n, const sc::Field* f);

oj typed_struct(const DocNode& n, const sc::Struct* s) {
  if (!n.is_mapping()) return n.is_scalar() ? oj::object() : untyped(n);  // "compress: true" enables with defaults
  oj o = oj::object();
  for (const auto& e : n.entries) {
    if (!e.valid) continue;
    o[e.key] = typed(e.value, s ? sc::find_field(*s, e.key) : nullptr);
  }
  return o;
}

// A value as the CRD's OpenAPI schema types it (integers and booleans as
// such, durations as int-or-string, lists as arrays).
oj typed(const DocNode& n, const sc::Field* f) {
  if (!f) return untyped(n);
  switch (f->type) {
    case sc::Type::string: return n.is_scalar() ? oj(n.text) : untyped(n);
    case sc::Type::integer:
      if (n.is_scalar())
        if (auto v = parse_go_int(n.text)) return *v;
      return untyped(n);
    case sc::Type::boolean:
      if (n.is_scalar())
        if (auto v = parse_go_bool(n.text)) return *v;
      return untyped(n);
    case sc::Type::duration:
      if (n.is_scalar()) return is_integer_text(n.text) ? oj(std::stoll(n.text)) : oj(n.text);
      return untyped(n);
    case sc::Type::string_list: {
      oj a = oj::array();
      if (n.is_sequence())
        for (const auto& i : n.items) a.push_back(i.text);
      else if (n.is_scalar())
        a.push_back(n.text);
      return a;
    }
    case sc::Type::string_map: {
      oj o = oj::object();
      for (const auto& e : n.entries)
        if (e.valid) o[e.key] = e.value.text;
      return o;
    }
    case sc::Type::int_map: {
      oj o = oj::object();
      for (const auto& e : n.entries)
        if (e.valid) o[e.key] = parse_go_int(e.value.text).value_or(0);
      return o;
    }
    case sc::Type::object: return typed_struct(n, f->sub);
    case sc::Type::object_list: {
      oj a = oj::array();
      for (const auto& i : n.items) a.push_back(typed_struct(i, f->sub));
      return a;
    }
    case sc::Type::object_map: {
      oj o = oj::object();
      for (const auto& e : n.entries)
        if (e.valid) o[e.key] = typed_struct(e.value, f->sub);
      return o;
    }
    case sc::Type::any: return untyped(n);
  }
  return untyped(n);
}

class CrdWriter final {
 public:
  CrdWriter(const LoadedConfig& loaded, const RenderOptions& options, Diagnostics& diags)
      : c_(loaded.config), options_(options), diags_(diags) {
    std::vector<std::string> names;
    for (Protocol p : {Protocol::http, Protocol::tcp, Protocol::udp})
      for (const auto& [n, s] : c_.section(p).services) names.push_back(n);
    service_names_ = k8s_names(names, true);
    names.clear();
    for (const auto& [n, s] : c_.http.services) names.push_back(n);
    traefik_service_names_ = k8s_names(names);
    names.clear();
    for (const auto& [n, m] : c_.http.middlewares) names.push_back(n);
    middleware_names_ = k8s_names(names);
    names.clear();
    for (const auto& [n, m] : c_.tcp.middlewares) names.push_back(n);
    tcp_middleware_names_ = k8s_names(names);
    names.clear();
    for (const auto& [n, t] : c_.http.transports) names.push_back(n);
    transport_names_ = k8s_names(names);
    names.clear();
    for (const auto& [n, t] : c_.tcp.transports) names.push_back(n);
    tcp_transport_names_ = k8s_names(names);
    names.clear();
    for (const auto& [n, t] : c_.tls_options) names.push_back(n);
    tls_option_names_ = k8s_names(names);
  }

  RenderResult render() {
    std::vector<oj> docs;
    for (const auto& [name, m] : c_.http.middlewares) docs.push_back(middleware(m, false));
    for (const auto& [name, m] : c_.tcp.middlewares) docs.push_back(middleware(m, true));
    std::vector<oj> routes, tcp_routes, udp_routes;
    for (const auto& [name, r] : c_.http.routers)
      if (auto d = route(r)) routes.push_back(std::move(*d));
    for (const auto& [name, r] : c_.tcp.routers)
      if (auto d = route(r)) tcp_routes.push_back(std::move(*d));
    for (const auto& [name, r] : c_.udp.routers)
      if (auto d = udp_route(r)) udp_routes.push_back(std::move(*d));
    // TraefikServices, in name order, after the routes asked for them.
    for (std::size_t i = 0; i < traefik_services_.size(); ++i) traefik_service(traefik_services_[i]);
    std::sort(ts_docs_.begin(), ts_docs_.end(),
              [](const oj& a, const oj& b) { return a["metadata"]["name"] < b["metadata"]["name"]; });
    docs.insert(docs.end(), ts_docs_.begin(), ts_docs_.end());
    for (const auto& [name, t] : c_.http.transports) docs.push_back(transport(t, false));
    for (const auto& [name, t] : c_.tcp.transports) docs.push_back(transport(t, true));
    for (const auto& [name, o] : c_.tls_options) docs.push_back(tls_option(o));
    for (const auto& [name, s] : c_.tls_stores) docs.push_back(tls_store(s));
    if (c_.tls_stores.find("default") == c_.tls_stores.end() && !store_certs_["default"].empty()) {
      NamedObject none{"default", Pos{}, nullptr};
      docs.push_back(tls_store(none));
    }
    for (const auto& [name, store] : store_certs_)
      if (name != "default" && c_.tls_stores.find(name) == c_.tls_stores.end())
        warn(Pos{}, "TLS store '" + name + "' is named by tls.certificates but not defined; Traefik uses only 'default'");
    docs.insert(docs.end(), secrets_.begin(), secrets_.end());
    docs.insert(docs.end(), routes.begin(), routes.end());
    docs.insert(docs.end(), tcp_routes.begin(), tcp_routes.end());
    docs.insert(docs.end(), udp_routes.begin(), udp_routes.end());

    RenderResult res;
    res.main_name = "ingressroute.yaml";
    res.main = generated_header(options_, "# ");
    if (!needs_.empty()) {
      res.main += "# Kubernetes Services the routes send to (name: port, from the Traefik servers):\n";
      for (const auto& [name, need] : needs_) res.main += "#   " + name + ": " + need + "\n";
    }
    if (!cert_secrets_.empty()) {
      res.main += "# TLS Secrets of tls.certificates (kubectl create secret tls NAME --cert=... --key=...):\n";
      for (const auto& [name, origin] : cert_secrets_) res.main += "#   " + name + " (from " + origin + ")\n";
    }
    for (const auto& d : docs) res.main += "---\n" + to_yaml(d);
    return res;
  }

 private:
  void warn(Pos pos, std::string msg) { diags_.add(Code::unsupported_by_target, pos, std::move(msg)); }
  void once(Pos pos, const std::string& msg) {
    if (said_.insert(msg).second) warn(pos, msg);
  }

  oj doc(const char* kind, const std::string& name, const std::string& source, oj spec,
         const char* api = kApi) const {
    oj md = {{"name", name}, {"namespace", options_.k8s_namespace}};
    if (!source.empty()) md["annotations"] = {{"certroute/source", source}};
    return {{"apiVersion", api}, {"kind", kind}, {"metadata", md}, {"spec", std::move(spec)}};
  }

  std::string unique_secret(const std::string& base) {
    std::string n = k8s_name(base);
    for (int i = 2; secret_names_.count(n); ++i) n = k8s_name(base + "-" + std::to_string(i));
    secret_names_.insert(n);
    return n;
  }

  // ---- middlewares ----

  oj middleware(const Middleware& m, bool tcp) {
    const std::string& name = (tcp ? tcp_middleware_names_ : middleware_names_).at(m.name);
    const sc::Struct* s = schema_at({tcp ? "tcp" : "http", "middlewares"});
    oj spec = m.node ? typed_struct(*m.node, s) : oj::object();
    if (!tcp && m.kinds.size() == 1 && m.node) {
      const std::string& kind = m.kinds.front();
      const DocNode* body = m.node->find(kind);
      oj& b = spec[kind];
      if (kind == "basicAuth" || kind == "digestAuth") {
        std::string users;
        if (const DocNode* u = body && body->is_mapping() ? body->find("users") : nullptr; u && u->is_sequence())
          for (const auto& i : u->items) users += i.text + "\n";
        std::string secret = unique_secret(m.name + "-users");
        // Always rendered (an empty list lets no one in until it is filled).
        secrets_.push_back(doc("Secret", secret, qualified(m.name), nullptr, "v1"));
        secrets_.back().erase("spec");
        secrets_.back()["type"] = "Opaque";
        secrets_.back()["stringData"] = {{"users", users}};
        if (b.is_object()) {
          if (b.contains("usersFile"))
            warn(m.pos, "middleware '" + m.name + "' (" + kind + "): usersFile " + b["usersFile"].get<std::string>() +
                            " is a file; put its lines under key 'users' of Secret '" + secret + "'" +
                            (users.empty() ? " (rendered empty: no one can log in until it is filled)" : " (rendered with the inline users only)"));
          b.erase("users");
          b.erase("usersFile");
          b["secret"] = secret;
        }
      } else if (kind == "forwardAuth" && b.is_object() && b.contains("tls") && b["tls"].is_object()) {
        oj& t = b["tls"];
        for (const char* f : {"ca", "cert", "key"})
          if (t.contains(f)) {
            once(m.pos, "middleware '" + m.name + "' (forwardAuth): tls." + f +
                            " is a file; the CRD takes Secrets (tls.caSecret, tls.certSecret): left out");
            t.erase(f);
          }
      } else if (kind == "errors" && b.is_object() && b.contains("service")) {
        std::string svc = b["service"].get<std::string>();
        if (auto ref = service_ref(svc, Protocol::http, m.pos, "middleware '" + m.name + "'")) b["service"] = *ref;
        else b.erase("service");
      } else if (kind == "chain" && b.is_object()) {
        oj refs = oj::array();
        for (const auto& t : m.chain)
          if (auto r = middleware_ref(t, false, "middleware '" + m.name + "'")) refs.push_back(*r);
        b["middlewares"] = refs;
      }
    }
    return doc(tcp ? "MiddlewareTCP" : "Middleware", name, qualified(m.name), spec);
  }

  std::optional<oj> middleware_ref(const Text& t, bool tcp, const std::string& who) {
    const Middleware* m = find_middleware(c_, tcp ? Protocol::tcp : Protocol::http, t.value);
    if (!m) {
      warn(t.pos, who + ": middleware '" + t.value + "' is not defined in these files: left out");
      return std::nullopt;
    }
    return oj{{"name", (tcp ? tcp_middleware_names_ : middleware_names_).at(m->name)}};
  }

  // ---- services ----

  std::optional<oj> service_ref(const std::string& ref, Protocol p, Pos pos, const std::string& who, int depth = 0) {
    if (depth > 16) return std::nullopt;
    if (p == Protocol::http && ref.ends_with("@internal")) return oj{{"name", ref}, {"kind", "TraefikService"}};
    const Service* s = find_service(c_, p, ref);
    if (!s) {
      warn(pos, who + ": service '" + ref + "' is not defined in these files: left out");
      return std::nullopt;
    }
    if (s->kinds.size() != 1 || !s->node) return std::nullopt;
    const std::string& kind = s->kinds.front();
    const DocNode* body = s->node->find(kind);
    if (kind == "loadBalancer") return load_balancer(*s, body, p);
    if (p != Protocol::http) {
      once(s->pos, "service '" + s->name + "' (" + kind + "): only weights, rendered as the route's services list");
      return std::nullopt;
    }
    if (kind == "failover") {
      once(s->pos, "service '" + s->name + "' (failover): TraefikService has no failover; rendered with its main service only");
      return service_ref(field(body, {"service"}), p, s->pos, who, depth + 1);
    }
    if (std::find(traefik_services_.begin(), traefik_services_.end(), s) == traefik_services_.end()) traefik_services_.push_back(s);
    return oj{{"name", traefik_service_names_.at(s->name)}, {"kind", "TraefikService"}};
  }

  oj load_balancer(const Service& s, const DocNode* lb, Protocol p) {
    std::string name = service_names_.at(s.name);
    std::set<int> ports;
    std::set<std::string> schemes, weights, servers;
    for (const auto& t : s.servers) {
      std::string scheme;
      if (int port = server_port(t.value, &scheme)) ports.insert(port);
      schemes.insert(scheme);
      servers.insert(t.value);
    }
    if (lb && lb->is_mapping())
      if (const DocNode* l = lb->find("servers"); l && l->is_sequence())
        for (const auto& srv : l->items) weights.insert(field(&srv, {"weight"}));
    std::string need;
    for (int pt : ports) need += (need.empty() ? "" : ", ") + std::to_string(pt);
    std::string from;
    for (const auto& sv : servers) from += (from.empty() ? "" : ", ") + sv;
    needs_[name] = (need.empty() ? "?" : need) + " (" + from + ")";
    oj ref = {{"name", name}};
    if (ports.empty()) once(s.pos, "service '" + s.name + "': no port in its servers; the Service reference has none");
    else ref["port"] = *ports.begin();
    if (ports.size() > 1)
      once(s.pos, "service '" + s.name + "': its servers use different ports; the Service reference uses " + std::to_string(*ports.begin()));
    if (weights.size() > 1)
      once(s.pos, "service '" + s.name + "': per-server weights cannot be expressed (a Service spreads requests evenly)");
    if (p == Protocol::http) {
      if (schemes.count("https")) ref["scheme"] = "https";
      else if (schemes.count("h2c")) ref["scheme"] = "h2c";
      const sc::Struct* lbs = schema_at({"http", "services", "loadBalancer"});
      if (lb && lb->is_mapping())
        for (const auto& e : lb->entries) {
          if (!e.valid) continue;
          if (e.key == "passHostHeader" || e.key == "sticky" || e.key == "responseForwarding" || e.key == "strategy") {
            ref[e.key] = typed(e.value, sc::find_field(*lbs, e.key));
          } else if (e.key == "serversTransport") {
            if (const auto it = transport_names_.find(e.value.text); it != transport_names_.end()) ref["serversTransport"] = it->second;
            else once(e.value.pos, "service '" + s.name + "': serversTransport '" + e.value.text + "' is not defined in these files");
          } else if (e.key == "healthCheck" || e.key == "passiveHealthCheck") {
            once(e.key_pos, "service '" + s.name + "': " + e.key +
                                " checks servers; in Kubernetes the pods' readiness probes do: left out");
          }
        }
    } else if (p == Protocol::tcp && lb && lb->is_mapping()) {
      if (const DocNode* st = lb->find("serversTransport"); st && st->is_scalar()) {
        if (const auto it = tcp_transport_names_.find(st->text); it != tcp_transport_names_.end()) ref["serversTransport"] = it->second;
      }
      if (const DocNode* pp = lb->find("proxyProtocol"); pp && pp->is_mapping())
        ref["proxyProtocol"] = typed_struct(*pp, nullptr);
      if (lb->find("healthCheck")) once(s.pos, "service '" + s.name + "': healthCheck: in Kubernetes the pods' readiness probes do: left out");
    }
    return ref;
  }

  // The route's services list: a TCP/UDP weighted service is flattened with weights.
  oj route_services(const std::string& ref, Protocol p, Pos pos, const std::string& who) {
    oj out = oj::array();
    std::function<void(const std::string&, std::int64_t, int)> add = [&](const std::string& r, std::int64_t w, int depth) {
      if (depth > 16) return;
      const Service* s = p == Protocol::http ? nullptr : find_service(c_, p, r);
      if (s && s->kinds.size() == 1 && s->kinds.front() == "weighted") {
        const DocNode* list = s->node->find("weighted");
        list = list && list->is_mapping() ? list->find("services") : nullptr;
        if (list && list->is_sequence())
          for (const auto& item : list->items) {
            std::string wt = field(&item, {"weight"});
            add(field(&item, {"name"}), w * (wt.empty() ? 1 : parse_go_int(wt).value_or(1)), depth + 1);
          }
        return;
      }
      if (auto x = service_ref(r, p, pos, who)) {
        if (w != 1 || p != Protocol::http) (*x)["weight"] = w;
        out.push_back(*x);
      }
    };
    add(ref, 1, 0);
    if (out.size() == 1 && p != Protocol::http && out[0]["weight"] == 1) out[0].erase("weight");
    return out;
  }

  void traefik_service(const Service* s) {
    const std::string& kind = s->kinds.front();
    const DocNode* body = s->node->find(kind);
    oj spec = oj::object();
    const std::string who = "service '" + s->name + "'";
    if (kind == "weighted" || kind == "highestRandomWeight") {
      if (kind == "highestRandomWeight")
        once(s->pos, who + " (highestRandomWeight): rendered as a weighted TraefikService (no hash-based choice)");
      oj list = oj::array();
      if (const DocNode* l = body ? body->find("services") : nullptr; l && l->is_sequence())
        for (const auto& item : l->items)
          if (auto ref = service_ref(field(&item, {"name"}), Protocol::http, item.pos, who)) {
            std::string w = field(&item, {"weight"});
            if (!w.empty()) (*ref)["weight"] = parse_go_int(w).value_or(1);
            list.push_back(*ref);
          }
      spec["weighted"] = {{"services", list}};
      if (const DocNode* st = body ? body->find("sticky") : nullptr)
        spec["weighted"]["sticky"] = typed(*st, sc::find_field(*schema_at({"http", "services", "weighted"}), "sticky"));
    } else if (kind == "mirroring") {
      oj m = oj::object();
      if (auto ref = service_ref(field(body, {"service"}), Protocol::http, s->pos, who)) m = *ref;
      oj mirrors = oj::array();
      if (const DocNode* l = body ? body->find("mirrors") : nullptr; l && l->is_sequence())
        for (const auto& item : l->items)
          if (auto ref = service_ref(field(&item, {"name"}), Protocol::http, item.pos, who)) {
            std::string pct = field(&item, {"percent"});
            if (!pct.empty()) (*ref)["percent"] = parse_go_int(pct).value_or(0);
            mirrors.push_back(*ref);
          }
      m["mirrors"] = mirrors;
      for (const char* f : {"mirrorBody", "maxBodySize"})
        if (const DocNode* v = body ? body->find(f) : nullptr)
          m[f] = typed(*v, sc::find_field(*schema_at({"http", "services", "mirroring"}), f));
      spec["mirroring"] = m;
    }
    ts_docs_.push_back(doc("TraefikService", traefik_service_names_.at(s->name), qualified(s->name), spec));
  }

  // ---- routes ----

  std::optional<oj> route(const Router& r) {
    const bool tcp = r.protocol == Protocol::tcp;
    const std::string label = std::string(tcp ? "TCP router" : "router") + " '" + r.name + "'";
    if (!r.rule) {
      warn(r.pos, label + ": no rule: not rendered");
      return std::nullopt;
    }
    if (r.rule->node && r.rule->node->templated) {
      warn(r.rule->pos, label + ": its rule is built by a Go template, which Kubernetes does not render: not rendered");
      return std::nullopt;
    }
    const bool v2 = r.rule_syntax && r.rule_syntax->value == "v2";
    Rule rule = parse_rule(r.rule->value, tcp ? RuleKind::tcp : RuleKind::http, v2 ? RuleSyntax::v2 : RuleSyntax::v3);
    if (!rule.ok()) return std::nullopt;  // lint reports it
    std::string match = v3_rule_text(rule);
    oj rt = oj::object();
    if (!tcp) rt["kind"] = "Rule";
    rt["match"] = match;
    if (r.priority && *r.priority != 0) rt["priority"] = *r.priority;
    else if (match.size() != rule.text.size()) rt["priority"] = rule.default_priority();
    oj mws = oj::array();
    for (const auto& t : r.middlewares)
      if (auto ref = middleware_ref(t, tcp, label)) mws.push_back(*ref);
    if (!mws.empty()) rt["middlewares"] = mws;
    if (r.service) {
      oj svcs = route_services(r.service->value, r.protocol, r.service->pos, label);
      if (svcs.empty()) {
        warn(r.service->pos, label + ": no service to send to: not rendered");
        return std::nullopt;
      }
      rt["services"] = svcs;
    } else if (tcp) {
      warn(r.pos, label + ": no service: not rendered");
      return std::nullopt;
    }
    if (!tcp && r.node)
      if (const DocNode* o = r.node->find("observability"))
        rt["observability"] = typed(*o, sc::find_field(*schema_at({"http", "routers"}), "observability"));
    oj spec = oj::object();
    if (!r.entry_points.empty()) {
      oj eps = oj::array();
      for (const auto& t : r.entry_points) eps.push_back(t.value);
      spec["entryPoints"] = eps;
    }
    spec["routes"] = oj::array({rt});
    if (r.tls) spec["tls"] = route_tls(r, tcp);
    return doc(tcp ? "IngressRouteTCP" : "IngressRoute", route_name(r), qualified(r.name), spec);
  }

  std::optional<oj> udp_route(const Router& r) {
    const std::string label = "UDP router '" + r.name + "'";
    if (!r.service) return std::nullopt;
    oj svcs = route_services(r.service->value, Protocol::udp, r.service->pos, label);
    if (svcs.empty()) {
      warn(r.service->pos, label + ": no service to send to: not rendered");
      return std::nullopt;
    }
    oj spec = oj::object();
    if (!r.entry_points.empty()) {
      oj eps = oj::array();
      for (const auto& t : r.entry_points) eps.push_back(t.value);
      spec["entryPoints"] = eps;
    }
    spec["routes"] = oj::array({{{"services", svcs}}});
    return doc("IngressRouteUDP", route_name(r), qualified(r.name), spec);
  }

  std::string route_name(const Router& r) {
    auto& names = route_names_[static_cast<int>(r.protocol)];
    if (names.empty()) {
      std::vector<std::string> all;
      for (const auto& [n, x] : c_.section(r.protocol).routers) all.push_back(n);
      names = k8s_names(all);
    }
    return names.at(r.name);
  }

  oj route_tls(const Router& r, bool tcp) {
    oj t = oj::object();
    const DocNode* tls = r.node ? r.node->find("tls") : nullptr;
    if (tls && tls->is_mapping()) {
      const sc::Struct* s = schema_at({tcp ? "tcp" : "http", "routers", "tls"});
      for (const auto& e : tls->entries) {
        if (!e.valid) continue;
        if (e.key == "options") {
          auto it = tls_option_names_.find(e.value.text);
          if (it != tls_option_names_.end()) t["options"] = {{"name", it->second}};
          else if (e.value.text != "default")
            warn(e.value.pos, "router '" + r.name + "': TLS options '" + e.value.text + "' are not defined in these files: left out");
        } else {
          t[e.key] = typed(e.value, s ? sc::find_field(*s, e.key) : nullptr);
        }
      }
    }
    return t;
  }

  // ---- transports and TLS ----

  oj transport(const NamedObject& t, bool tcp) {
    const sc::Struct* s = schema_at({tcp ? "tcp" : "http", "serversTransports"});
    oj spec = t.node ? typed_struct(*t.node, s) : oj::object();
    oj* tls = tcp ? (spec.contains("tls") ? &spec["tls"] : nullptr) : &spec;
    if (tls && tls->is_object())
      for (const char* f : {"rootCAs", "certificates"})
        if (tls->contains(f)) {
          warn(t.pos, std::string(tcp ? "TCP " : "") + "serversTransport '" + t.name + "': " + f +
                          " are files; the CRD takes Secrets (" + f + "Secrets): left out");
          tls->erase(f);
        }
    return doc(tcp ? "ServersTransportTCP" : "ServersTransport", (tcp ? tcp_transport_names_ : transport_names_).at(t.name),
               qualified(t.name), spec);
  }

  oj tls_option(const NamedObject& o) {
    oj spec = o.node ? typed_struct(*o.node, schema_at({"tls", "options"})) : oj::object();
    if (spec.contains("clientAuth") && spec["clientAuth"].is_object() && spec["clientAuth"].contains("caFiles")) {
      warn(o.pos, "TLS options '" + o.name + "': clientAuth.caFiles are files; the CRD takes Secrets (clientAuth.secretNames): left out");
      spec["clientAuth"].erase("caFiles");
    }
    return doc("TLSOption", tls_option_names_.at(o.name), "", spec);
  }

  oj tls_store(const NamedObject& s) {
    oj spec = oj::object();
    if (s.node && s.node->is_mapping()) {
      if (const DocNode* dc = s.node->find("defaultCertificate"); dc && dc->is_mapping())
        spec["defaultCertificate"] = {{"secretName", cert_secret(field(dc, {"certFile"}))}};
      if (const DocNode* g = s.node->find("defaultGeneratedCert"))
        spec["defaultGeneratedCert"] = typed(*g, sc::find_field(*schema_at({"tls", "stores"}), "defaultGeneratedCert"));
    }
    oj certs = oj::array();
    for (const auto& name : store_certs_[s.name]) certs.push_back({{"secretName", name}});
    if (!certs.empty()) spec["certificates"] = certs;
    return doc("TLSStore", k8s_name(s.name), "", spec);
  }

  std::string cert_secret(const std::string& file) {
    std::string stem = file.substr(file.find_last_of('/') == std::string::npos ? 0 : file.find_last_of('/') + 1);
    if (auto dot = stem.rfind('.'); dot != std::string::npos && dot > 0) stem = stem.substr(0, dot);
    const bool inline_pem = file.find("-----BEGIN") != std::string::npos;
    if (inline_pem || stem.empty()) stem = "certificate";
    for (const auto& [name, origin] : cert_secrets_)
      if (origin == (inline_pem ? "an inline certificate" : file)) return name;
    std::string name = unique_secret(stem);
    cert_secrets_[name] = inline_pem ? "an inline certificate" : file;
    return name;
  }

 public:
  // tls.certificates -> Secrets listed in their stores (before the stores render).
  void collect_certificates() {
    for (const auto& cert : c_.certificates) {
      if (cert.store_default || !cert.cert_file || cert.cert_file->value.empty()) continue;
      std::string secret = cert_secret(cert.cert_file->value);
      if (cert.stores.empty()) store_certs_["default"].push_back(secret);
      for (const auto& st : cert.stores) store_certs_[st.value].push_back(secret);
    }
  }

 private:
  const Config& c_;
  const RenderOptions& options_;
  Diagnostics& diags_;
  std::map<std::string, std::string> service_names_, traefik_service_names_, middleware_names_, tcp_middleware_names_,
      transport_names_, tcp_transport_names_, tls_option_names_;
  std::map<int, std::map<std::string, std::string>> route_names_;
  std::vector<const Service*> traefik_services_;
  std::vector<oj> ts_docs_, secrets_;
  std::set<std::string> secret_names_;
  std::map<std::string, std::string> needs_;
  std::map<std::string, std::string> cert_secrets_;  // Secret -> file
  std::map<std::string, std::vector<std::string>> store_certs_;
  std::set<std::string> said_;
};

class IngressRoute final : public Renderer {
 public:
  RenderResult render(const LoadedConfig& loaded, const RenderOptions& options, Diagnostics& diags) const override {
    CrdWriter w(loaded, options, diags);
    w.collect_certificates();
    return w.render();
  }
};

}  // namespace

std::unique_ptr<Renderer> make_ingressroute() { return std::make_unique<IngressRoute>(); }

}  // namespace certroute::routes::render
