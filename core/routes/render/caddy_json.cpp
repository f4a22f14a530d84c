// routes render --to caddy: a JSON config for `caddy run --config`.
//
// One server per entry point; its routes are the routers in Traefik's
// priority order (Caddy keeps the order of a route list), each with the
// rule's disjunctive normal form as matcher sets (Caddy ORs the sets of a
// route and ANDs the matchers of a set), `terminal: true`, and a final route
// answering 404. Middlewares become handlers before the reverse_proxy
// handler, in the router's order; conditional ones sit in subroutes.
// Automatic HTTPS is disabled: certificates come from tls.certificates only.
//
// The caddyfile target prints this same configuration as a Caddyfile
// (caddy_config() in analysis.hpp); every route carries an "@certroute"
// object for it, stripped from the JSON output.
#include <algorithm>
#include <cctype>
#include <map>
#include <set>

#include "core/routes/decode.hpp"
#include "core/routes/gocompat.hpp"
#include "core/routes/render/analysis.hpp"
#include "core/routes/render/common.hpp"
#include "core/routes/render/renderer.hpp"
#include "core/util/base64.hpp"

namespace certroute::routes::render {
namespace {

using json = nlohmann::ordered_json;

using common::capture_groups;
using common::child;
using common::join;
using common::listen_address;
using common::lower;
using common::one_line;
using common::parse_url;
using common::strings;
using common::truthy;
using common::Url;

// A Go duration as Caddy takes it ("30s"); "" if invalid.
std::string caddy_duration(std::string_view go) {
  auto ns = parse_go_duration(go);
  if (!ns || *ns <= 0) return {};
  std::int64_t ms = *ns / 1000000;
  if (ms <= 0) return std::to_string(*ns) + "ns";
  if (ms % 1000 == 0) return std::to_string(ms / 1000) + "s";
  return std::to_string(ms) + "ms";
}

// Literal text where Caddy expands placeholders: braces escaped.
std::string no_placeholders(std::string_view s) {
  std::string out;
  for (char c : s) {
    if (c == '{' || c == '}') out += '\\';
    out += c;
  }
  return out;
}

// Go's regexp replacement with $1/${1}/${name} as Caddy placeholders of the
// named regexp matcher `name`, with group numbers shifted by `shift`.
std::string replacement_placeholders(std::string_view repl, const std::string& name, int shift) {
  std::string out;
  for (const auto& p : gocompat::split_go_template(repl)) {
    if (!p.group) {
      out += no_placeholders(p.text);
      continue;
    }
    out += "{http.regexp." + name + "." + (p.number >= 0 ? std::to_string(p.number + shift) : p.text) + "}";
  }
  return out;
}

std::string_view tls_version(std::string_view go) {
  if (go == "VersionTLS12") return "tls1.2";
  if (go == "VersionTLS13") return "tls1.3";
  return {};
}

std::string_view curve_name(std::string_view go) {
  if (go == "CurveP256" || go == "secp256r1") return "secp256r1";
  if (go == "CurveP384" || go == "secp384r1") return "secp384r1";
  if (go == "CurveP521" || go == "secp521r1") return "secp521r1";
  if (go == "X25519" || go == "x25519") return "x25519";
  return {};
}

struct Route {
  const Router* router = nullptr;
  Rule rule;
  std::int64_t priority = 0;
  std::vector<Conjunction> dnf;
};

json static_response(int status, const std::string& body = {}, json headers = nullptr) {
  json h{{"handler", "static_response"}, {"status_code", status}};
  if (!headers.is_null()) h["headers"] = std::move(headers);
  if (!body.empty()) h["body"] = body;
  return h;
}

json subroute(json routes) { return json{{"handler", "subroute"}, {"routes", std::move(routes)}}; }

json arr(std::string v) {
  json a = json::array();
  a.push_back(std::move(v));
  return a;
}

// {"handler": "headers", "request": {"set": {name: [value]}}}
json set_request_header(const std::string& name, const std::string& value) {
  json set = json::object();
  set[name] = arr(value);
  json req = json::object();
  req["set"] = std::move(set);
  json h = json::object();
  h["handler"] = "headers";
  h["request"] = std::move(req);
  return h;
}

json rewrite_regexp(const std::string& find, const std::string& replace) {
  json one = json::object();
  one["find"] = find;
  one["replace"] = replace;
  json h = json::object();
  h["handler"] = "rewrite";
  h["path_regexp"] = json::array();
  h["path_regexp"].push_back(std::move(one));
  return h;
}

// One matcher set with a path_regexp.
json path_set(const std::string& pattern, const std::string& name = {}) {
  json re = json::object();
  if (!name.empty()) re["name"] = name;
  re["pattern"] = pattern;
  json set = json::object();
  set["path_regexp"] = std::move(re);
  return set;
}

json make_route(json sets, json handle, const std::string& group = {}) {
  json r = json::object();
  if (!group.empty()) r["group"] = group;
  if (!sets.is_null()) r["match"] = std::move(sets);
  r["handle"] = std::move(handle);
  return r;
}

json one_of(json v) {
  json a = json::array();
  a.push_back(std::move(v));
  return a;
}

class Caddy {
 public:
  Caddy(const LoadedConfig& loaded, const RenderOptions& options, Diagnostics& diags)
      : loaded_(loaded), config_(loaded.config), options_(options), diags_(diags) {}

  json run() {
    eps_ = effective_entry_points(options_);
    report_unrendered();
    json servers = json::object();
    for (const auto& ep : eps_) {
      std::string name = ep.name;
      servers[name] = server(ep);
    }
    // JSON has no comments, and `caddy run` refuses unknown fields (even a
    // "//" key that `caddy validate` lets through): no generated-by header.
    json root;
    root["admin"] = {{"disabled", true}, {"config", {{"persist", false}}}};
    json apps;
    apps["http"] = {{"servers", std::move(servers)}};
    if (!load_files_.empty() || !load_pem_.empty()) {
      json certs;
      if (!load_files_.empty()) certs["load_files"] = load_files_;
      if (!load_pem_.empty()) certs["load_pem"] = load_pem_;
      apps["tls"] = {{"certificates", std::move(certs)}};
    }
    root["apps"] = std::move(apps);
    return root;
  }

 private:
  void unsupported(const Pos& pos, std::string msg) { diags_.add(Code::unsupported_by_target, pos, std::move(msg)); }

  std::string where(const Pos& p) const {
    if (!p.valid()) return "?";
    return loaded_.sources.path_of(p) + ":" + std::to_string(p.line);
  }

  bool served(const Router& r) const {
    if (r.entry_points.empty()) return true;
    for (const auto& t : r.entry_points)
      for (const auto& ep : eps_)
        if (t.value == ep.name) return true;
    return false;
  }

  void report_unrendered() {
    for (const auto& [name, r] : config_.http.routers)
      if (!served(r)) {
        std::string list;
        for (const auto& t : r.entry_points) list += (list.empty() ? "" : ", ") + t.value;
        unsupported(r.pos, "router '" + name + "' is only on entry point(s) " + list +
                               ", which are not rendered; add --entrypoint NAME=[ADDR]:PORT for them");
      }
    for (const auto& [name, r] : config_.tcp.routers)
      unsupported(r.pos, "TCP router '" + name + "': Caddy's standard modules proxy HTTP only (TCP needs the caddy-l4 plugin); it is left out");
    for (const auto& [name, r] : config_.udp.routers)
      unsupported(r.pos, "UDP router '" + name + "': Caddy's standard modules proxy HTTP only; it is left out");
  }

  std::vector<std::unique_ptr<Route>> routes(const EntryPoint& ep) {
    std::vector<std::unique_ptr<Route>> out;
    for (auto& e : routes_for_entry_point(config_, Protocol::http, ep.name)) {
      auto r = std::make_unique<Route>();
      r->router = e.router;
      r->priority = e.priority;
      if (e.rule.syntax == RuleSyntax::v2) {
        r->rule = parse_rule(v3_rule_text(e.rule), RuleKind::http);
        if (!r->rule.ok()) {
          if (reported_.insert({e.router, 0}).second)
            unsupported(e.router->pos, "router '" + e.router->name + "': its v2 rule could not be rewritten; it is left out");
          continue;
        }
      } else {
        r->rule = std::move(e.rule);
      }
      bool too_big = false;
      r->dnf = to_dnf(*r->rule.root, too_big);
      if (too_big) {
        if (reported_.insert({e.router, 1}).second)
          unsupported(e.router->rule ? e.router->rule->pos : e.router->pos,
                      "router '" + e.router->name + "': its rule has too many alternatives once expanded for Caddy; it is left out");
        continue;
      }
      out.push_back(std::move(r));
    }
    return out;
  }

  // ---- servers ---------------------------------------------------------------------

  json server(const EntryPoint& ep) {
    auto rs = routes(ep);
    // Caddy serves TLS or plain HTTP on a port, not both. The kind whose
    // routers name this entry point explicitly wins (plain on a tie); the
    // routers of the other kind are reported.
    int named_plain = 0, named_tls = 0, plain = 0, secure = 0;
    for (const auto& r : rs) {
      (r->router->tls ? secure : plain) += 1;
      if (!r->router->entry_points.empty()) (r->router->tls ? named_tls : named_plain) += 1;
    }
    const bool tls = secure > 0 && (plain == 0 || named_tls > named_plain);
    json s;
    s["listen"] = json::array({listen_address(ep)});
    s["automatic_https"] = {{"disable", true}};
    json list = json::array();
    for (const auto& r : rs) {
      if (r->router->tls != tls) {
        if (reported_.insert({r->router, 2}).second)
          unsupported(r->router->pos, "router '" + r->router->name + "' (" + (r->router->tls ? "TLS" : "plain HTTP") +
                                          ") shares entry point " + ep.name + " with " + (tls ? "TLS" : "plain HTTP") +
                                          " routers: Caddy serves one of them per port; it is left out there");
        continue;
      }
      if (auto route = http_route(*r, tls); !route.is_null()) list.push_back(std::move(route));
    }
    json not_found = static_response(404, "404 page not found\n", {{"Content-Type", {"text/plain; charset=utf-8"}}});
    list.push_back({{"@certroute", {{"comment", "no router matches: 404, as Traefik answers"}}}, {"handle", json::array({not_found})}});
    s["routes"] = std::move(list);
    if (tls) s["tls_connection_policies"] = json::array({tls_policy(rs)});
    s["@certroute"] = {{"entry_point", ep.name}, {"address", ep.address}, {"port", ep.port}, {"tls", tls}};
    kept_.insert(kept_.end(), std::make_move_iterator(rs.begin()), std::make_move_iterator(rs.end()));
    return s;
  }

  json tls_policy(const std::vector<std::unique_ptr<Route>>& rs) {
    certificates(rs.empty() ? nullptr : rs.front()->router);
    json p = json::object();
    std::string opts_name;
    const Router* first = nullptr;
    for (const auto& r : rs) {
      if (!r->router->tls) continue;
      std::string n = r->router->tls_options ? r->router->tls_options->value : "default";
      if (auto at = n.find('@'); at != std::string::npos && n.substr(at + 1) == "file") n = n.substr(0, at);
      if (!first) {
        first = r->router;
        opts_name = n;
      } else if (n != opts_name && reported_.insert({r->router, 3}).second) {
        unsupported(r->router->tls_options ? r->router->tls_options->pos : r->router->pos,
                    "router '" + r->router->name + "' uses TLS options '" + n + "' but shares a port with router '" + first->name +
                        "' that uses '" + opts_name + "': this rendering applies one set of TLS options per port; '" + opts_name +
                        "' is used");
      }
      if (r->router->cert_resolver && reported_.insert({r->router, 4}).second)
        unsupported(r->router->cert_resolver->pos,
                    "router '" + r->router->name + "': certResolver '" + r->router->cert_resolver->value +
                        "': automatic HTTPS is disabled in this rendering; only tls.certificates are served (enable Caddy's "
                        "automation yourself to obtain certificates)");
    }
    p["protocol_min"] = "tls1.2";
    auto it = config_.tls_options.find(opts_name);
    if (it == config_.tls_options.end()) return p;
    const DocNode* n = it->second.node;
    const Pos pos = it->second.pos;
    auto version = [&](const char* key, const char* out) {
      std::string v = field(n, {key});
      if (v.empty()) return;
      if (auto cv = tls_version(v); !cv.empty()) p[out] = cv;
      else unsupported(pos, "TLS options '" + opts_name + "': " + key + " " + v + " is below what Caddy supports (TLS 1.2); TLS 1.2 is used");
    };
    version("minVersion", "protocol_min");
    version("maxVersion", "protocol_max");
    if (auto c = strings(child(n, "cipherSuites")); !c.empty()) {
      json list = json::array();
      for (const auto& s : c)
        if (!s.starts_with("TLS_AES_") && !s.starts_with("TLS_CHACHA20_")) list.push_back(s);  // Go fixes TLS 1.3 suites
      if (!list.empty()) p["cipher_suites"] = std::move(list);
    }
    if (auto c = strings(child(n, "curvePreferences")); !c.empty()) {
      json list = json::array();
      for (const auto& s : c) {
        if (auto cn = curve_name(s); !cn.empty()) list.push_back(cn);
        else unsupported(pos, "TLS options '" + opts_name + "': curve " + s + " is not supported by Caddy 2.6; left out");
      }
      if (!list.empty()) p["curves"] = std::move(list);
    }
    if (auto a = strings(child(n, "alpnProtocols")); !a.empty()) p["alpn"] = a;
    if (truthy(n, "sniStrict"))
      unsupported(pos, "TLS options '" + opts_name + "': sniStrict is not supported by Caddy's connection policies; left out");
    if (const DocNode* ca = child(n, "clientAuth"); ca && ca->is_mapping()) {
      auto files = strings(child(ca, "caFiles"));
      std::string type = field(ca, {"clientAuthType"});
      json auth;
      if (!files.empty()) auth["trusted_ca_certs_pem_files"] = files;
      static const std::map<std::string, std::string> modes{{"RequestClientCert", "request"},
                                                            {"RequireAnyClientCert", "require"},
                                                            {"VerifyClientCertIfGiven", "verify_if_given"},
                                                            {"RequireAndVerifyClientCert", "require_and_verify"}};
      if (auto m = modes.find(type); m != modes.end()) auth["mode"] = m->second;
      if (!auth.empty() && type != "NoClientCert") p["client_authentication"] = std::move(auth);
    }
    return p;
  }

  void certificates(const Router* first_tls) {
    if (certs_done_) return;
    certs_done_ = true;
    for (const auto& c : config_.certificates) {
      if (!c.cert_file || !c.key_file) continue;
      bool inline_cert = c.cert_file->value.find("-----BEGIN") != std::string::npos;
      bool inline_key = c.key_file->value.find("-----BEGIN") != std::string::npos;
      if (inline_cert || inline_key) {
        std::string e1, e2;
        auto cert = file_or_content(c.cert_file->value, e1);
        auto key = file_or_content(c.key_file->value, e2);
        if (cert && key) {
          load_pem_.push_back({{"certificate", *cert}, {"key", *key}});
        } else {
          unsupported(c.pos, "certificate: " + (cert ? e2 : e1) + "; left out");
        }
        continue;
      }
      std::string err;
      for (const auto* f : {&*c.cert_file, &*c.key_file})
        if (!file_or_content(f->value, err))
          unsupported(f->pos, "certificate file " + f->value + " cannot be read now (" + err + "); Caddy loads it when it starts");
      load_files_.push_back({{"certificate", c.cert_file->value}, {"key", c.key_file->value}});
    }
    if (load_files_.empty() && load_pem_.empty())
      unsupported(first_tls ? first_tls->pos : Pos{},
                  "TLS routers but no tls.certificates: with automatic HTTPS disabled, Caddy has no certificate to serve");
  }

  // ---- matchers ------------------------------------------------------------------

  // One Caddy matcher (key and value) for a matcher of the rule, or null and `why`.
  std::optional<std::pair<std::string, json>> matcher(const RuleExpr& m, std::string& why) {
    const std::string a0 = m.args.empty() ? std::string() : m.args[0].value;
    auto exact_re = [](const std::string& v) { return "^" + quote_meta(v) + "$"; };
    switch (m.matcher) {
      case Matcher::host: {
        std::string h = m.args[0].normalized;
        if (h.size() > 1 && h.back() == '.') h.pop_back();
        return std::pair<std::string, json>{"host", json::array({h, h + "."})};
      }
      case Matcher::host_regexp: {
        bool upper = std::any_of(a0.begin(), a0.end(), [](char c) { return c >= 'A' && c <= 'Z'; });
        // Traefik lower-cases the host first; Caddy's placeholder keeps its case.
        return std::pair<std::string, json>{"vars_regexp",
                                            {{"{http.request.host}", {{"pattern", upper ? a0 : "(?i)" + a0}}}}};
      }
      // Caddy's path and path_regexp matchers clean the path first ("//" ->
      // "/"); Traefik matches the path as sent. The placeholder is the path
      // as sent (decoded), so match that instead.
      case Matcher::path:
        return std::pair<std::string, json>{"vars_regexp", {{"{http.request.uri.path}", {{"pattern", exact_re(a0)}}}}};
      case Matcher::path_prefix:
        return std::pair<std::string, json>{"vars_regexp", {{"{http.request.uri.path}", {{"pattern", "^" + quote_meta(a0)}}}}};
      case Matcher::path_regexp:
        return std::pair<std::string, json>{"vars_regexp", {{"{http.request.uri.path}", {{"pattern", a0}}}}};
      case Matcher::method:
        return std::pair<std::string, json>{"method", json::array({m.args[0].normalized})};
      case Matcher::header: {
        if (lower(a0) == "host") return std::pair<std::string, json>{"expression", "false"};
        const std::string& v = m.args[1].value;
        if (v.empty() || v.front() == '*' || v.back() == '*')
          return std::pair<std::string, json>{"header_regexp", {{a0, {{"pattern", exact_re(v)}}}}};
        return std::pair<std::string, json>{"header", {{a0, json::array({v})}}};
      }
      case Matcher::header_regexp:
        if (lower(a0) == "host") return std::pair<std::string, json>{"expression", "false"};
        return std::pair<std::string, json>{"header_regexp", {{a0, {{"pattern", m.args[1].value}}}}};
      case Matcher::query:
        if (m.args.size() == 1) return std::pair<std::string, json>{"query", {{a0, json::array({"*"})}}};
        if (m.args[1].value == "*")
          return std::pair<std::string, json>{"vars_regexp", {{"{http.request.uri.query." + a0 + "}", {{"pattern", "^\\*$"}}}}};
        return std::pair<std::string, json>{"query", {{a0, json::array({m.args[1].value})}}};
      case Matcher::query_regexp:
        return std::pair<std::string, json>{"vars_regexp", {{"{http.request.uri.query." + a0 + "}", {{"pattern", m.args[1].value}}}}};
      case Matcher::client_ip:
        return std::pair<std::string, json>{"remote_ip", {{"ranges", json::array({a0})}}};
      default:
        why = "matcher " + std::string(matcher_name(m.matcher)) + " is not supported by Caddy";
        return std::nullopt;
    }
  }

  // Matcher sets of a route, or null (reported) when a matcher is unsupported.
  json matcher_sets(const Route& r) {
    json sets = json::array();
    const Router& router = *r.router;
    for (const auto& conj : r.dnf) {
      json set = json::object();
      json nots = json::array();
      for (const auto& atom : conj) {
        std::string why;
        auto m = matcher(*atom.matcher, why);
        if (!m) {
          if (reported_.insert({&router, 5}).second)
            unsupported(router.rule ? router.rule->pos : router.pos, "router '" + router.name + "': " + why + "; it is left out");
          return nullptr;
        }
        auto& [key, value] = *m;
        json one = json::object({{key, value}});
        if (atom.negated) {
          nots.push_back(std::move(one));
          continue;
        }
        // A set holds one matcher of each kind; header-like maps merge when
        // their fields differ. Caddy 2.6's query matcher ORs its keys, so a
        // second query parameter goes through not(not(...)).
        bool mergeable = (key == "header" || key == "header_regexp" || key == "vars_regexp") && set.contains(key);
        if (mergeable) {
          bool clash = false;
          for (auto& [k, v] : value.items()) clash = clash || set[key].contains(k);
          if (!clash) {
            for (auto& [k, v] : value.items()) set[key][k] = v;
            continue;
          }
        }
        if (set.contains(key)) {
          nots.push_back({{"not", json::array({std::move(one)})}});
          continue;
        }
        set[key] = value;
      }
      if (!nots.empty()) set["not"] = std::move(nots);
      sets.push_back(std::move(set));
    }
    return sets;
  }

  // ---- routes ------------------------------------------------------------------------

  json http_route(const Route& r, bool tls) {
    const Router& router = *r.router;
    json sets = matcher_sets(r);
    if (sets.is_null()) return nullptr;
    json route;
    route["@certroute"] = {{"comment", "router " + qualified(router.name) + " (" + where(router.pos) + "), priority " +
                                           std::to_string(r.priority) + ": " + one_line(r.rule.text)},
                           {"router", router.name}};
    route["match"] = std::move(sets);
    auto it = handlers_.find(&router);
    if (it == handlers_.end()) it = handlers_.emplace(&router, handlers(router, tls)).first;
    route["handle"] = it->second;
    route["terminal"] = true;
    return route;
  }

  json handlers(const Router& router, bool tls) {
    json list = json::array();
    mw_id_ = 0;
    walk_middlewares(router, router.middlewares, list, tls, 0);
    std::string svc = router.service ? router.service->value : "";
    if (svc == "noop@internal") {
      list.push_back(static_response(200));
    } else if (!find_service(config_, Protocol::http, svc)) {
      unsupported(router.service ? router.service->pos : router.pos,
                  "router '" + router.name + "': service '" + svc +
                      "' is not defined in these files (another provider or Traefik's internal one); Caddy answers 503 for it");
      list.push_back(static_response(503, "Service Unavailable"));
    } else {
      list.push_back(reverse_proxy(router, svc));
    }
    return list;
  }

  void walk_middlewares(const Router& router, const std::vector<Text>& refs, json& list, bool tls, int depth) {
    if (depth > 16) return;
    for (const auto& ref : refs) {
      const Middleware* m = find_middleware(config_, Protocol::http, ref.value);
      if (!m) {
        unsupported(ref.pos, "router '" + router.name + "': middleware '" + ref.value +
                                 "' is not defined in these files (another provider?); left out");
        continue;
      }
      if (!m->chain.empty()) {
        walk_middlewares(router, m->chain, list, tls, depth + 1);
        continue;
      }
      middleware(router, *m, list, tls);
    }
  }

  void middleware(const Router& router, const Middleware& m, json& list, bool tls) {
    const std::string kind = m.kinds.empty() ? "" : m.kinds.front();
    const DocNode* n = child(m.node, kind);
    const std::string id = std::to_string(++mw_id_);
    auto nope = [&](const std::string& what) {
      if (reported_mw_.insert({&m, what}).second) unsupported(m.pos, "middleware '" + m.name + "' (" + kind + "): " + what);
    };
    (void)router;
    if (kind == "headers") {
      headers(m, n, list, tls);
    } else if (kind == "redirectScheme") {
      std::string scheme = field(n, {"scheme"});
      if (scheme.empty()) scheme = "https";
      std::string port = field(n, {"port"});
      bool permanent = truthy(n, "permanent");
      // Traefik skips the redirect when the URL would not change.
      if ((scheme == "https") == tls && port.empty()) return;
      std::string host = "{http.request.host}";
      if (!port.empty() && !((scheme == "https" && port == "443") || (scheme == "http" && port == "80"))) host += ":" + port;
      std::string loc = no_placeholders(scheme) + "://" + host + "{http.request.uri}";
      json routes = json::array();
      routes.push_back({{"match", json::array({{{"method", {"GET"}}}})},
                        {"handle", json::array({static_response(permanent ? 301 : 302, {}, {{"Location", {loc}}})})}});
      routes.push_back({{"handle", json::array({static_response(permanent ? 308 : 307, {}, {{"Location", {loc}}})})}});
      list.push_back(subroute(std::move(routes)));
    } else if (kind == "redirectRegex") {
      std::string re = field(n, {"regex"});
      bool permanent = truthy(n, "permanent");
      std::string name = "rr" + id;
      int shift = 0;
      std::string pattern = re;
      std::string pre, post;
      if (!re.starts_with("^")) {
        nope("the regex is not anchored with ^: Caddy replaces its first match only, Traefik every match");
      }
      // The URL outside the match is kept, as Go's ReplaceAllString keeps it.
      int groups = capture_groups(re);
      pattern = "^(.*?)(?:" + re + ")(.*)$";
      shift = 1;
      pre = "{http.regexp." + name + ".1}";
      post = "{http.regexp." + name + "." + std::to_string(groups + 2) + "}";
      std::string loc = pre + replacement_placeholders(field(n, {"replacement"}), name, shift) + post;
      list.push_back({{"handler", "vars"}, {name, "{http.request.scheme}://{http.request.hostport}{http.request.uri}"}});
      json match = {{"vars_regexp", {{name, {{"name", name}, {"pattern", pattern}}}}}};
      json routes = json::array();
      routes.push_back({{"match", json::array({{{"method", {"GET"}}, {"vars_regexp", match["vars_regexp"]}}})},
                        {"handle", json::array({static_response(permanent ? 301 : 302, {}, {{"Location", {loc}}})})}});
      routes.push_back({{"match", json::array({match})},
                        {"handle", json::array({static_response(permanent ? 308 : 307, {}, {{"Location", {loc}}})})}});
      list.push_back(subroute(std::move(routes)));
    } else if (kind == "stripPrefix") {
      json routes = json::array();
      // Only the first matching prefix is stripped: a variable set by the
      // first strip keeps the later routes (which see the new path) out.
      const std::string flag = "stripped" + id;
      for (const auto& p : strings(child(n, "prefixes"))) {
        if (p.empty()) continue;
        json handle = json::array();
        handle.push_back({{"handler", "vars"}, {flag, "1"}});
        handle.push_back(set_request_header("X-Forwarded-Prefix", no_placeholders(p)));
        handle.push_back(rewrite_regexp("^" + quote_meta(p) + "/?", "/"));
        json set = path_set("^" + quote_meta(p));
        set["not"] = one_of({{"vars", {{flag, arr("1")}}}});
        routes.push_back(make_route(one_of(std::move(set)), std::move(handle)));
      }
      if (!routes.empty()) list.push_back(subroute(std::move(routes)));
    } else if (kind == "stripPrefixRegex") {
      json routes = json::array();
      const std::string flag = "stripped" + id;
      for (const auto& re : strings(child(n, "regex"))) {
        std::string name = "spr" + id + "_" + std::to_string(routes.size());
        json handle = json::array();
        handle.push_back({{"handler", "vars"}, {flag, "1"}});
        handle.push_back(set_request_header("X-Forwarded-Prefix", "{http.regexp." + name + ".0}"));
        handle.push_back(rewrite_regexp("^(?:" + re + ")/?", "/"));
        json set = path_set("^(?:" + re + ")", name);
        set["not"] = one_of({{"vars", {{flag, arr("1")}}}});
        routes.push_back(make_route(one_of(std::move(set)), std::move(handle)));
      }
      if (!routes.empty()) list.push_back(subroute(std::move(routes)));
    } else if (kind == "addPrefix") {
      list.push_back({{"handler", "rewrite"}, {"uri", no_placeholders(field(n, {"prefix"})) + "{http.request.uri.path}"}});
    } else if (kind == "replacePath") {
      list.push_back(set_request_header("X-Replaced-Path", "{http.request.uri.path}"));
      list.push_back({{"handler", "rewrite"}, {"uri", no_placeholders(field(n, {"path"}))}});
    } else if (kind == "replacePathRegex") {
      std::string re = field(n, {"regex"});
      json handle = json::array();
      handle.push_back(set_request_header("X-Replaced-Path", "{http.request.uri.path}"));
      handle.push_back(rewrite_regexp(re, field(n, {"replacement"})));
      json routes = json::array();
      routes.push_back(make_route(one_of(path_set(re)), std::move(handle)));
      list.push_back(subroute(std::move(routes)));
    } else if (kind == "basicAuth") {
      basic_auth(m, n, list);
    } else if (kind == "ipAllowList" || kind == "ipWhiteList") {
      auto ranges = strings(child(n, "sourceRange"));
      if (const DocNode* st = child(n, "ipStrategy")) {
        if (parse_go_int(field(st, {"depth"})).value_or(0) > 0 || !strings(child(st, "excludedIPs")).empty())
          nope("ipStrategy (depth, excludedIPs) is not supported by Caddy 2.6; the connection's address is checked");
      }
      int status = static_cast<int>(parse_go_int(field(n, {"rejectStatusCode"})).value_or(403));
      json routes = json::array();
      routes.push_back({{"match", json::array({{{"not", json::array({{{"remote_ip", {{"ranges", ranges}}}}})}}})},
                        {"handle", json::array({static_response(status, "Forbidden")})}});
      list.push_back(subroute(std::move(routes)));
    } else if (kind == "compress") {
      json enc = json::object();
      json prefer = json::array();
      auto encodings = strings(child(n, "encodings"));
      if (encodings.empty()) encodings = {"gzip", "br", "zstd"};
      for (const auto& e : encodings) {
        if (e == "gzip" || e == "zstd") {
          enc[e] = json::object();
          prefer.push_back(e);
        } else if (child(n, "encodings")) {
          nope("encoding " + e + " is not available in Caddy 2.6 (gzip and zstd are); left out");
        }
      }
      if (enc.empty()) return;
      json h{{"handler", "encode"}, {"encodings", enc}, {"prefer", prefer}};
      auto min = parse_go_int(field(n, {"minResponseBodyBytes"})).value_or(1024);
      h["minimum_length"] = min;
      json types = json::array();
      for (const auto& t : strings(child(n, "includedContentTypes"))) types.push_back(t + "*");
      if (types.empty()) types.push_back("*");
      h["match"] = {{"headers", {{"Content-Type", types}}}};
      if (!strings(child(n, "excludedContentTypes")).empty())
        nope("excludedContentTypes is not supported by Caddy's encode (it takes types to compress); every type is compressed");
      list.push_back(std::move(h));
    } else if (kind == "buffering") {
      if (auto max = parse_go_int(field(n, {"maxRequestBodyBytes"})).value_or(0); max > 0)
        list.push_back({{"handler", "request_body"}, {"max_size", max}});
      if (parse_go_int(field(n, {"maxResponseBodyBytes"})).value_or(0) > 0)
        nope("maxResponseBodyBytes is not supported by Caddy; left out");
      if (!field(n, {"retryExpression"}).empty()) nope("retryExpression is not supported by Caddy; left out");
    } else if (kind == "forwardAuth") {
      forward_auth(m, n, list);
    } else if (kind == "digestAuth") {
      // Leaving authentication out would open the service: refuse instead.
      nope("Caddy has no equivalent; every request is refused (403) rather than let through unauthenticated");
      list.push_back(static_response(403, "Forbidden"));
    } else {
      nope("Caddy has no equivalent in its standard modules; left out");
    }
  }

  void basic_auth(const Middleware& m, const DocNode* n, json& list) {
    std::vector<std::string> users = common::basic_auth_users(m, n, diags_);
    json accounts = json::array();
    std::set<std::string> seen;
    for (const auto& u : users) {
      auto colon = u.find(':');
      if (colon == std::string::npos) continue;
      std::string user = u.substr(0, colon), hash = u.substr(colon + 1);
      if (!(hash.starts_with("$2a$") || hash.starts_with("$2b$") || hash.starts_with("$2y$"))) {
        unsupported(m.pos, "middleware '" + m.name + "' (basicAuth): user '" + user +
                               "' has a hash Caddy cannot check (Caddy takes bcrypt only); re-hash it with bcrypt "
                               "(htpasswd -B or caddy hash-password); the user is left out");
        continue;
      }
      if (!seen.insert(user).second) continue;
      accounts.push_back({{"username", user}, {"password", util::base64_encode(hash)}});
    }
    std::string realm = field(n, {"realm"});
    if (realm.empty()) realm = "traefik";
    json basic{{"hash", {{"algorithm", "bcrypt"}}}, {"accounts", accounts}, {"realm", realm}};
    list.push_back({{"handler", "authentication"}, {"providers", {{"http_basic", std::move(basic)}}}});
    if (std::string h = field(n, {"headerField"}); !h.empty()) list.push_back(set_request_header(h, "{http.auth.user.id}"));
    if (truthy(n, "removeHeader")) {
      json del = json::object();
      del["delete"] = arr("Authorization");
      list.push_back({{"handler", "headers"}, {"request", std::move(del)}});
    }
  }

  void forward_auth(const Middleware& m, const DocNode* n, json& list) {
    Url u = parse_url(field(n, {"address"}));
    if (!u.ok) {
      unsupported(m.pos, "middleware '" + m.name + "' (forwardAuth): address '" + field(n, {"address"}) + "' cannot be used; left out");
      return;
    }
    json proxy{{"handler", "reverse_proxy"}};
    proxy["upstreams"] = json::array({{{"dial", u.host + ":" + std::to_string(u.port)}}});
    if (u.scheme == "https") {
      json tlsj = json::object();
      if (truthy(child(n, "tls"), "insecureSkipVerify")) tlsj["insecure_skip_verify"] = true;
      if (std::string ca = field(child(n, "tls"), {"ca"}); !ca.empty()) tlsj["root_ca_pem_files"] = json::array({ca});
      proxy["transport"] = {{"protocol", "http"}, {"tls", tlsj}};
    }
    std::string uri = u.path.empty() ? "/" : u.path;
    proxy["rewrite"] = {{"method", truthy(n, "preserveRequestMethod") ? "{http.request.method}" : "GET"}, {"uri", no_placeholders(uri)}};
    json set = {{"X-Forwarded-Method", {"{http.request.method}"}},
                {"X-Forwarded-Proto", {"{http.request.scheme}"}},
                {"X-Forwarded-Host", {"{http.request.host}"}},
                {"X-Forwarded-Uri", {"{http.request.uri}"}},
                {"X-Forwarded-For", {"{http.request.remote.host}"}}};
    proxy["headers"] = {{"request", {{"set", set}}}};
    if (!strings(child(n, "authRequestHeaders")).empty())
      unsupported(m.pos, "middleware '" + m.name + "' (forwardAuth): authRequestHeaders is not supported by Caddy; every request header is sent");
    json copy = json::object();
    for (const auto& h : strings(child(n, "authResponseHeaders"))) copy[h] = {"{http.reverse_proxy.header." + h + "}"};
    json ok_routes = json::array();
    if (!copy.empty()) ok_routes.push_back({{"handle", json::array({{{"handler", "headers"}, {"request", {{"set", copy}}}}})}});
    if (!field(n, {"authResponseHeadersRegex"}).empty() || child(n, "addAuthCookiesToResponse") || truthy(n, "forwardBody"))
      unsupported(m.pos, "middleware '" + m.name +
                             "' (forwardAuth): authResponseHeadersRegex, addAuthCookiesToResponse and forwardBody are not supported "
                             "by Caddy; left out");
    // A 2xx answer lets the request through; any other is sent to the client.
    proxy["handle_response"] = json::array({{{"match", {{"status_code", json::array({2})}}}, {"routes", ok_routes}}});
    list.push_back(std::move(proxy));
  }

  void headers(const Middleware& m, const DocNode* n, json& list, bool tls) {
    auto nope = [&](const std::string& what) {
      if (reported_mw_.insert({&m, what}).second) unsupported(m.pos, "middleware '" + m.name + "' (headers): " + what);
    };
    // CORS: Traefik answers preflight requests itself.
    auto origins = strings(child(n, "accessControlAllowOriginList"));
    auto origin_res = strings(child(n, "accessControlAllowOriginListRegex"));
    auto allow_headers = strings(child(n, "accessControlAllowHeaders"));
    auto allow_methods = strings(child(n, "accessControlAllowMethods"));
    auto expose = strings(child(n, "accessControlExposeHeaders"));
    bool credentials = truthy(n, "accessControlAllowCredentials");
    std::string max_age = field(n, {"accessControlMaxAge"});
    bool cors = !origins.empty() || !origin_res.empty() || !allow_headers.empty() || !allow_methods.empty() || !expose.empty() ||
                credentials || !max_age.empty();
    if (cors) {
      bool any = std::find(origins.begin(), origins.end(), "*") != origins.end();
      // Which origins are allowed: matcher sets on the Origin header.
      json allowed = json::array();
      if (any) {
        allowed.push_back({{"header", {{"Origin", {"*"}}}}});
      } else {
        if (!origins.empty()) {
          json list_re = json::array();
          for (const auto& o : origins) list_re.push_back("^" + quote_meta(o) + "$");
          allowed.push_back({{"header_regexp", {{"Origin", {{"pattern", join(list_re.get<std::vector<std::string>>(), "|")}}}}}});
        }
        for (const auto& re : origin_res) allowed.push_back({{"header_regexp", {{"Origin", {{"pattern", re}}}}}});
      }
      std::string origin_value = any ? "*" : "{http.request.header.Origin}";
      json pre = json::object();
      if (credentials) pre["Access-Control-Allow-Credentials"] = {"true"};
      if (!allow_headers.empty()) pre["Access-Control-Allow-Headers"] = {join(allow_headers, ",")};
      if (!allow_methods.empty()) pre["Access-Control-Allow-Methods"] = {join(allow_methods, ",")};
      pre["Access-Control-Max-Age"] = {max_age.empty() ? "0" : max_age};
      json pre_allowed = pre;
      pre_allowed["Access-Control-Allow-Origin"] = {origin_value};
      json preflight = {{"method", {"OPTIONS"}}, {"header", {{"Origin", {"*"}}, {"Access-Control-Request-Method", {"*"}}}}};
      json routes = json::array();
      json pa = json::array();
      for (const auto& a : allowed) {
        json set = preflight;
        for (auto& [k, v] : a.items()) {
          if (k == "header") set["header"]["Origin"] = v["Origin"];
          else set[k] = v;
        }
        pa.push_back(std::move(set));
      }
      if (!pa.empty())
        routes.push_back(make_route(pa, one_of(static_response(200, {}, pre_allowed))));
      routes.push_back(make_route(one_of(preflight), one_of(static_response(200, {}, pre))));
      json res = json::object();
      res["Access-Control-Allow-Origin"] = {origin_value};
      if (credentials) res["Access-Control-Allow-Credentials"] = {"true"};
      if (!expose.empty()) res["Access-Control-Expose-Headers"] = {join(expose, ",")};
      json h{{"handler", "headers"}, {"response", {{"set", res}, {"deferred", true}}}};
      if (truthy(n, "addVaryHeader") && !any) h["response"]["add"] = {{"Vary", {"Origin"}}};
      if (!allowed.empty()) routes.push_back({{"match", allowed}, {"handle", json::array({h})}});
      list.push_back(subroute(std::move(routes)));
    }
    if (!strings(child(n, "allowedHosts")).empty()) nope("allowedHosts is not supported by this Caddy rendering; left out");
    // Security headers, then the custom response headers (which win).
    json set = json::object();
    json del = json::array();
    bool dev = truthy(n, "isDevelopment");
    auto sts = parse_go_int(field(n, {"stsSeconds"})).value_or(0);
    json sts_route = nullptr;
    if (sts > 0 && !dev) {
      std::string v = "max-age=" + std::to_string(sts);
      if (truthy(n, "stsIncludeSubdomains")) v += "; includeSubDomains";
      if (truthy(n, "stsPreload")) v += "; preload";
      const DocNode* ssl = child(n, "sslProxyHeaders");
      if (tls || truthy(n, "forceSTSHeader")) {
        set["Strict-Transport-Security"] = {v};
      } else if (ssl && ssl->is_mapping() && !ssl->entries.empty()) {
        json sets = json::array();
        for (const auto& e : ssl->entries)
          if (e.value.is_scalar()) sets.push_back({{"header", {{e.key, {e.value.text}}}}});
        sts_route = subroute(json::array(
            {{{"match", sets},
              {"handle", json::array({{{"handler", "headers"},
                                       {"response", {{"set", {{"Strict-Transport-Security", {v}}}}, {"deferred", true}}}}})}}}));
      }
    }
    auto put = [&](const char* name, const std::string& value) {
      if (!value.empty()) set[name] = {no_placeholders(value)};
    };
    if (std::string v = field(n, {"customFrameOptionsValue"}); !v.empty()) put("X-Frame-Options", v);
    else if (truthy(n, "frameDeny")) put("X-Frame-Options", "DENY");
    if (truthy(n, "contentTypeNosniff")) put("X-Content-Type-Options", "nosniff");
    if (std::string v = field(n, {"customBrowserXSSValue"}); !v.empty()) put("X-XSS-Protection", v);
    else if (truthy(n, "browserXssFilter")) put("X-XSS-Protection", "1; mode=block");
    put("Content-Security-Policy", field(n, {"contentSecurityPolicy"}));
    put("Content-Security-Policy-Report-Only", field(n, {"contentSecurityPolicyReportOnly"}));
    put("Public-Key-Pins", field(n, {"publicKey"}));
    put("Referrer-Policy", field(n, {"referrerPolicy"}));
    put("Permissions-Policy", field(n, {"permissionsPolicy"}));
    put("Feature-Policy", field(n, {"featurePolicy"}));
    if (const DocNode* h = child(n, "customResponseHeaders"); h && h->is_mapping())
      for (const auto& e : h->entries) {
        if (!e.value.is_scalar()) continue;
        if (e.value.text.empty()) {
          set.erase(e.key);
          del.push_back(e.key);
        } else {
          set[e.key] = {no_placeholders(e.value.text)};
        }
      }
    json req_set = json::object();
    json req_del = json::array();
    if (const DocNode* h = child(n, "customRequestHeaders"); h && h->is_mapping())
      for (const auto& e : h->entries) {
        if (!e.value.is_scalar()) continue;
        if (e.value.text.empty()) req_del.push_back(e.key);
        else req_set[e.key] = {no_placeholders(e.value.text)};
      }
    if (!req_set.empty() || !req_del.empty()) {
      json r = json::object();
      if (!req_set.empty()) r["set"] = req_set;
      if (!req_del.empty()) r["delete"] = req_del;
      list.push_back({{"handler", "headers"}, {"request", r}});
    }
    if (!sts_route.is_null()) list.push_back(std::move(sts_route));
    if (!set.empty() || !del.empty()) {
      json r = json::object();
      if (!set.empty()) r["set"] = set;
      if (!del.empty()) r["delete"] = del;
      r["deferred"] = true;
      list.push_back({{"handler", "headers"}, {"response", r}});
    }
  }

  // ---- the reverse proxy ---------------------------------------------------------------

  json reverse_proxy(const Router& router, const std::string& svc) {
    FlatService flat = flatten_service(config_, Protocol::http, svc, 100);
    const Service* top = find_service(config_, Protocol::http, svc);
    const Pos svc_pos = router.service ? router.service->pos : router.pos;
    json h{{"handler", "reverse_proxy"}};
    for (const auto& t : flat.missing)
      unsupported(t.pos, "service '" + t.value + "' is not defined in these files; its share of the traffic is left out");
    for (const Service* s : flat.mirroring)
      if (reported_svc_.insert({s, 1}).second)
        unsupported(s->pos, "service '" + s->name + "' (mirroring): Caddy does not mirror requests; only the main service is rendered");
    const Service* lb = flat.balancers.empty() ? nullptr : flat.balancers.front();
    const DocNode* lbn = lb ? child(lb->node, "loadBalancer") : nullptr;
    for (const Service* other : flat.balancers)
      if (other != lb && child(child(other->node, "loadBalancer"), "healthCheck") && reported_svc_.insert({other, 2}).second)
        unsupported(other->pos, "service '" + other->name + "': Caddy applies one health check per reverse_proxy; the one of service '" +
                                    lb->name + "' is used");
    // Upstreams: weights as repetitions in a round-robin list.
    json upstreams = json::array();
    std::string scheme;
    bool mixed = false;
    std::set<std::string> hostports;
    bool weighted = false;
    std::int64_t primary = 0, backups = 0;
    for (const auto& s : flat.servers) {
      if (s.weight != 1 && s.weight != 0) weighted = true;
      (s.backup ? backups : primary) += 1;
    }
    std::vector<const FlatServer*> order;
    for (const auto& s : flat.servers)
      if (!s.backup) order.push_back(&s);
    for (const auto& s : flat.servers)
      if (s.backup) order.push_back(&s);
    for (const FlatServer* s : order) {
      Url u = parse_url(s->address);
      if (!u.ok) {
        unsupported(s->pos, "server URL '" + s->address + "' cannot be used by Caddy; left out");
        continue;
      }
      if (!scheme.empty() && scheme != u.scheme) mixed = true;
      scheme = u.scheme;
      std::string dial = u.host + ":" + std::to_string(u.port);
      hostports.insert(dial);
      if (!u.path.empty() && u.path != "/" && truthy(s->node, "preservePath"))
        unsupported(s->pos, "server URL path '" + u.path + "' (preservePath): Caddy cannot prefix the path per upstream; left out");
      std::int64_t times = (s->backup || flat.failover.size()) ? 1 : s->weight;
      for (std::int64_t i = 0; i < times; ++i) upstreams.push_back({{"dial", dial}});
    }
    if (mixed && reported_svc_.insert({top, 3}).second)
      unsupported(svc_pos, "service '" + svc + "' mixes http and https servers: Caddy uses one transport per reverse_proxy; " + scheme +
                               " is used");
    if (flat.rounded && reported_svc_.insert({top, 4}).second)
      unsupported(svc_pos, "service '" + svc + "': the weights need more than 100 repetitions in Caddy's upstream list; they were rounded");
    h["upstreams"] = std::move(upstreams);
    // Selection policy.
    std::string policy = "round_robin";
    const DocNode* sticky = child(child(lbn, "sticky"), "cookie");
    if (!sticky && top) sticky = child(child(child(top->node, "weighted"), "sticky"), "cookie");
    json selection;
    if (!flat.failover.empty()) {
      if (primary > 1 || backups > 1) {
        if (reported_svc_.insert({top, 5}).second)
          unsupported(svc_pos, "service '" + svc + "' (failover): Caddy has no backup servers; with several servers on a side, "
                                                   "the fallback servers are used only after every main server (policy first)");
      }
      selection = {{"policy", "first"}};
    } else if (sticky) {
      std::string cname = field(sticky, {"name"});
      if (cname.empty()) cname = "_" + svc;
      selection = {{"policy", "cookie"}, {"name", cname}};
      if (weighted && reported_svc_.insert({top, 6}).second)
        unsupported(svc_pos, "service '" + svc + "': Caddy's cookie policy ignores weights for new clients");
      if (!field(sticky, {"sameSite"}).empty() || truthy(sticky, "httpOnly") || !field(sticky, {"maxAge"}).empty() ||
          !field(sticky, {"domain"}).empty() || !field(sticky, {"path"}).empty())
        if (reported_svc_.insert({top, 7}).second)
          unsupported(svc_pos, "service '" + svc + "': the sticky cookie's attributes (sameSite, httpOnly, maxAge, domain, path) are "
                                                   "not configurable in Caddy; left out");
    } else if (!flat.hashed.empty()) {
      selection = {{"policy", "ip_hash"}};
      if (reported_svc_.insert({top, 8}).second)
        unsupported(svc_pos, "service '" + svc + "' (highestRandomWeight): rendered as Caddy's ip_hash, not Traefik's rendezvous "
                                                 "hashing (the same client still keeps its upstream)");
    } else if (lbn && field(lbn, {"strategy"}) == "p2c") {
      selection = {{"policy", "random_choose"}, {"choose", 2}};
    } else {
      selection = {{"policy", policy}};
    }
    h["load_balancing"] = {{"selection_policy", selection}};
    // Health checks.
    if (const DocNode* hc = child(lbn, "healthCheck")) {
      json active;
      if (field(hc, {"mode"}) == "grpc") {
        unsupported(lb->pos, "service '" + lb->name + "': gRPC health checks are not supported by Caddy; left out");
      } else {
        std::string path = field(hc, {"path"});
        active["uri"] = path.empty() ? "/" : path;
        if (std::string p = field(hc, {"port"}); !p.empty() && p != "0") active["port"] = parse_go_int(p).value_or(0);
        std::string inter = caddy_duration(field(hc, {"interval"}));
        active["interval"] = inter.empty() ? "30s" : inter;
        std::string to = caddy_duration(field(hc, {"timeout"}));
        active["timeout"] = to.empty() ? "5s" : to;
        if (auto st = parse_go_int(field(hc, {"status"})).value_or(0); st > 0) active["expect_status"] = st;
        json hh = json::object();
        if (std::string host = field(hc, {"hostname"}); !host.empty()) hh["Host"] = {host};
        if (const DocNode* hdrs = child(hc, "headers"); hdrs && hdrs->is_mapping())
          for (const auto& e : hdrs->entries)
            if (e.value.is_scalar()) hh[e.key] = {e.value.text};
        if (!hh.empty()) active["headers"] = hh;
        if (std::string method = field(hc, {"method"}); !method.empty() && method != "GET")
          unsupported(lb->pos, "service '" + lb->name + "': Caddy 2.6 health checks use GET, not " + method);
        if (!field(hc, {"unhealthyInterval"}).empty())
          unsupported(lb->pos, "service '" + lb->name + "': unhealthyInterval is not supported by Caddy; interval is used");
        if (!field(hc, {"scheme"}).empty() && field(hc, {"scheme"}) != scheme)
          unsupported(lb->pos, "service '" + lb->name + "': Caddy checks health with the upstreams' scheme, not " + field(hc, {"scheme"}));
        h["health_checks"]["active"] = std::move(active);
      }
    }
    if (const DocNode* phc = child(lbn, "passiveHealthCheck")) {
      json passive;
      std::string window = caddy_duration(field(phc, {"failureWindow"}));
      passive["fail_duration"] = window.empty() ? "10s" : window;
      passive["max_fails"] = parse_go_int(field(phc, {"maxFailedAttempts"})).value_or(1);
      h["health_checks"]["passive"] = std::move(passive);
    }
    // Transport.
    json transport{{"protocol", "http"}};
    bool transport_set = false;
    if (scheme == "https") {
      transport["tls"] = json::object();
      transport_set = true;
    }
    if (scheme == "h2c") {
      transport["versions"] = {"h2c", "2"};
      transport_set = true;
    }
    if (lb && lb->servers_transport) {
      std::string name = lb->servers_transport->value;
      if (auto at = name.find('@'); at != std::string::npos && name.substr(at + 1) == "file") name = name.substr(0, at);
      auto it = config_.http.transports.find(name);
      if (it == config_.http.transports.end()) {
        unsupported(lb->servers_transport->pos, "serversTransport '" + name + "' is not defined in these files; left out");
      } else {
        const DocNode* t = it->second.node;
        if (scheme == "https") {
          if (truthy(t, "insecureSkipVerify")) transport["tls"]["insecure_skip_verify"] = true;
          if (auto cas = strings(child(t, "rootCAs")); !cas.empty()) transport["tls"]["root_ca_pem_files"] = cas;
          if (std::string sn = field(t, {"serverName"}); !sn.empty()) transport["tls"]["server_name"] = sn;
          if (const DocNode* certs = child(t, "certificates"); certs && certs->is_sequence() && !certs->items.empty()) {
            transport["tls"]["client_certificate_file"] = field(&certs->items.front(), {"certFile"});
            transport["tls"]["client_certificate_key_file"] = field(&certs->items.front(), {"keyFile"});
          }
        }
        const DocNode* ft = child(t, "forwardingTimeouts");
        if (std::string d = caddy_duration(field(ft, {"dialTimeout"})); !d.empty()) transport["dial_timeout"] = d;
        if (std::string d = caddy_duration(field(ft, {"responseHeaderTimeout"})); !d.empty()) transport["response_header_timeout"] = d;
        if (std::string d = caddy_duration(field(ft, {"idleConnTimeout"})); !d.empty()) transport["keep_alive"] = {{"idle_timeout", d}};
        if (auto mx = parse_go_int(field(t, {"maxIdleConnsPerHost"})).value_or(0); mx > 0)
          transport["keep_alive"]["max_idle_conns_per_host"] = mx;
        if (!field(t, {"peerCertURI"}).empty() || child(t, "spiffe"))
          unsupported(it->second.pos, "serversTransport '" + name + "': peerCertURI and spiffe are not supported by Caddy; left out");
        transport_set = true;
      }
    }
    if (transport_set) h["transport"] = std::move(transport);
    // Headers to the upstream: Traefik's X-Real-Ip; passHostHeader: false sends the upstream's host.
    json up_set{{"X-Real-Ip", {"{http.request.remote.host}"}}};
    if (lbn && child(lbn, "passHostHeader") && !truthy(lbn, "passHostHeader"))
      up_set["Host"] = {"{http.reverse_proxy.upstream.hostport}"};
    h["headers"] = {{"request", {{"set", up_set}}}};
    if (flat.servers.empty()) {
      // Traefik answers 503 for a service without servers.
      return static_response(503, "Service Unavailable");
    }
    return h;
  }

  const LoadedConfig& loaded_;
  const Config& config_;
  const RenderOptions& options_;
  Diagnostics& diags_;
  std::vector<EntryPoint> eps_;
  std::vector<std::unique_ptr<Route>> kept_;
  std::map<const Router*, json> handlers_;
  std::set<std::pair<const Router*, int>> reported_;
  std::set<std::pair<const Middleware*, std::string>> reported_mw_;
  std::set<std::pair<const Service*, int>> reported_svc_;
  json load_files_ = json::array();
  json load_pem_ = json::array();
  bool certs_done_ = false;
  int mw_id_ = 0;
};

// Drops the "@certroute" annotations.
void strip_annotations(json& j) {
  if (j.is_object()) {
    j.erase("@certroute");
    for (auto& [k, v] : j.items()) strip_annotations(v);
  } else if (j.is_array()) {
    for (auto& v : j) strip_annotations(v);
  }
}

class CaddyJsonRenderer final : public Renderer {
 public:
  RenderResult render(const LoadedConfig& loaded, const RenderOptions& options, Diagnostics& diags) const override {
    json config = caddy_config(loaded, options, diags);
    strip_annotations(config);
    RenderResult r;
    r.main_name = "caddy.json";
    r.main = config.dump(2) + "\n";
    return r;
  }
};

}  // namespace

nlohmann::ordered_json caddy_config(const LoadedConfig& loaded, const RenderOptions& options, Diagnostics& diags) {
  return Caddy(loaded, options, diags).run();
}

std::unique_ptr<Renderer> make_caddy_json() { return std::make_unique<CaddyJsonRenderer>(); }

}  // namespace certroute::routes::render
