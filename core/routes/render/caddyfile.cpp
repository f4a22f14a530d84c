// routes render --to caddyfile: the Caddy configuration of the caddy target
// (caddy_config() in caddy_json.cpp) written as a Caddyfile.
//
// Per entry point, one site block per host that a router names with Host (its
// routes: the routers that can match that host, in priority order) and a
// catch-all block for the port (the routers without a Host). Each router
// is a named matcher per conjunction and a `handle` block (handle blocks are
// mutually exclusive and keep their order when their matchers are not path
// matchers); inside it a `route` block keeps the middlewares in the router's
// order (Caddy would otherwise sort directives by its own order).
#include <algorithm>
#include <map>
#include <set>

#include "core/routes/render/analysis.hpp"
#include "core/routes/render/renderer.hpp"

namespace certroute::routes::render {
namespace {

using json = nlohmann::ordered_json;

// A Caddyfile token: bare when safe, else in backticks (or double quotes).
std::string tok(std::string_view s) {
  bool bare = !s.empty() && s != "{" && s != "}" && s.front() != '#' && s.front() != '@';
  for (char c : s)
    if (static_cast<unsigned char>(c) <= 0x20 || c == '"' || c == '`' || c == '\\') bare = false;
  if (s.find("{$") != std::string_view::npos) bare = false;
  if (bare) return std::string(s);
  if (s.find('`') == std::string_view::npos) return "`" + std::string(s) + "`";
  std::string out = "\"";
  for (char c : s) {
    if (c == '"') out += '\\';
    out += c;
  }
  return out + "\"";
}

// Where a directive's first argument may start with '/', Caddy would read it
// as a path matcher: the callers write the `*` matcher first.
std::string str(const json& j) { return j.is_string() ? j.get<std::string>() : j.dump(); }

std::string duration(const json& j) {
  if (j.is_string()) return j.get<std::string>();
  return std::to_string(j.get<std::int64_t>() / 1000000) + "ms";
}

class Writer {
 public:
  Writer(const RenderOptions& options, Diagnostics& diags) : options_(options), diags_(diags) {}

  std::string run(const json& config) {
    out_ += generated_header(options_, "# ");
    // Caddy refuses http:// on its HTTPS port and https:// on its HTTP port
    // (443 and 80 unless set): move them off the entry points' ports.
    std::set<int> plain_ports, tls_ports;
    for (const auto& [name, server] : config["apps"]["http"]["servers"].items())
      (server["@certroute"]["tls"].get<bool>() ? tls_ports : plain_ports).insert(server["@certroute"]["port"].get<int>());
    auto free_port = [&](int start) {
      int p = start;
      while (plain_ports.count(p) || tls_ports.count(p)) ++p;
      return p;
    };
    out_ += "\n{\n\tadmin off\n\tauto_https off\n";
    if (plain_ports.count(443)) out_ += "\thttps_port " + std::to_string(tls_ports.empty() ? free_port(8443) : *tls_ports.begin()) + "\n";
    if (tls_ports.count(80)) out_ += "\thttp_port " + std::to_string(plain_ports.empty() ? free_port(8080) : *plain_ports.begin()) + "\n";
    out_ += "}\n";
    certs_ = config.contains("apps") && config["apps"].contains("tls") ? config["apps"]["tls"]["certificates"] : json::object();
    for (const auto& [name, server] : config["apps"]["http"]["servers"].items()) server_blocks(name, server);
    return out_;
  }

 private:
  void line(int depth, const std::string& text) { out_ += std::string(static_cast<std::size_t>(depth), '\t') + text + "\n"; }

  void server_blocks(const std::string& name, const json& s) {
    const json& info = s["@certroute"];
    const std::string address = info["address"].get<std::string>();
    const int port = info["port"].get<int>();
    const bool tls = info["tls"].get<bool>();
    const std::string scheme = tls ? "https://" : "http://";
    std::vector<std::string> hosts;
    for (const auto& r : s["routes"]) {
      if (!r.contains("match")) continue;
      for (const auto& set : r["match"])
        if (set.contains("host")) {
          std::string h = set["host"][0].get<std::string>();
          if (std::find(hosts.begin(), hosts.end(), h) == hosts.end()) hosts.push_back(h);
        }
    }
    out_ += "\n# entry point " + name + "\n";
    for (const auto& h : hosts) {
      std::string host_tok = h.find(':') != std::string::npos ? "[" + h + "]" : h;
      std::string addresses = scheme + host_tok + ":" + std::to_string(port);
      // Traefik ignores a trailing dot in the Host header; a TLS site cannot name it.
      if (!tls) addresses += ", " + scheme + host_tok + ".:" + std::to_string(port);
      site(addresses, address, s, h, tls);
    }
    site(scheme + ":" + std::to_string(port), address, s, "", tls);
  }

  void site(const std::string& addresses, const std::string& bind, const json& s, const std::string& host, bool tls) {
    out_ += "\n" + addresses + " {\n";
    if (!bind.empty()) line(1, "bind " + bind);
    if (tls) tls_directive(s);
    for (const auto& r : s["routes"]) {
      if (!r.contains("match")) {
        // The final 404.
        line(1, "handle {");
        line(2, "header Content-Type " + tok("text/plain; charset=utf-8"));
        line(2, "respond * " + tok("404 page not found") + " 404");
        line(1, "}");
        continue;
      }
      std::vector<json> sets;
      for (const auto& set : r["match"]) {
        if (set.contains("host")) {
          if (host.empty()) continue;
          bool here = false;
          for (const auto& h : set["host"]) here = here || h.get<std::string>() == host;
          if (!here) continue;
          json rest = set;
          rest.erase("host");
          sets.push_back(std::move(rest));
        } else {
          sets.push_back(set);
        }
      }
      if (sets.empty()) continue;
      if (r.contains("@certroute")) line(1, "# " + r["@certroute"]["comment"].get<std::string>());
      for (const auto& set : sets) {
        std::string m = matcher(1, set);
        line(1, "handle " + m + " {");
        line(2, "route {");
        for (const auto& h : r["handle"]) handler(3, h);
        line(2, "}");
        line(1, "}");
      }
    }
    out_ += "}\n";
  }

  void tls_directive(const json& s) {
    const json* cert = nullptr;
    if (certs_.contains("load_files") && !certs_["load_files"].empty()) cert = &certs_["load_files"][0];
    if (!reported_certs_) {
      reported_certs_ = true;
      std::size_t files = certs_.contains("load_files") ? certs_["load_files"].size() : 0;
      if (files > 1)
        diags_.add(Code::unsupported_by_target, Pos{},
                   "a Caddyfile site takes one certificate (tls CERT KEY) and Caddy serves only that one for the site: the first "
                   "of tls.certificates is used; use --to caddy, whose JSON loads them all");
      if (certs_.contains("load_pem"))
        diags_.add(Code::unsupported_by_target, Pos{},
                   "certificates given as PEM text cannot be written in a Caddyfile; use --to caddy, or certificate files");
    }
    const json policy = s.contains("tls_connection_policies") ? s["tls_connection_policies"][0] : json::object();
    std::string head = "tls";
    if (cert) head += " " + tok((*cert)["certificate"].get<std::string>()) + " " + tok((*cert)["key"].get<std::string>());
    line(1, head + " {");
    std::string protocols = policy.value("protocol_min", "tls1.2");
    if (policy.contains("protocol_max")) protocols += " " + policy["protocol_max"].get<std::string>();
    line(2, "protocols " + protocols);
    auto list = [&](const char* key, const char* directive) {
      if (!policy.contains(key)) return;
      std::string l = directive;
      for (const auto& v : policy[key]) l += " " + tok(v.get<std::string>());
      line(2, l);
    };
    list("cipher_suites", "ciphers");
    list("curves", "curves");
    list("alpn", "alpn");
    if (policy.contains("client_authentication")) {
      const json& ca = policy["client_authentication"];
      line(2, "client_auth {");
      if (ca.contains("mode")) line(3, "mode " + ca["mode"].get<std::string>());
      if (ca.contains("trusted_ca_certs_pem_files"))
        for (const auto& f : ca["trusted_ca_certs_pem_files"]) line(3, "trusted_ca_cert_file " + tok(f.get<std::string>()));
      line(2, "}");
    }
    line(1, "}");
  }

  // Defines a named matcher for one matcher set (before the directive that
  // uses it) and returns its name.
  std::string matcher(int depth, const json& set) {
    std::string name = "@m" + std::to_string(++matchers_);
    line(depth, name + " {");
    if (set.empty()) line(depth + 1, "expression true");
    matcher_lines(depth + 1, set);
    line(depth, "}");
    return name;
  }

  void matcher_lines(int depth, const json& set) {
    for (const auto& [key, v] : set.items()) {
      if (key == "host" || key == "method") {
        std::string l = key;
        for (const auto& x : v) l += " " + tok(x.get<std::string>());
        line(depth, l);
      } else if (key == "path_regexp") {
        line(depth, "path_regexp " + (v.contains("name") ? v["name"].get<std::string>() + " " : "") + tok(v["pattern"].get<std::string>()));
      } else if (key == "header") {
        for (const auto& [field, values] : v.items()) {
          std::string l = "header " + tok(field);
          for (const auto& x : values) l += " " + tok(x.get<std::string>());
          line(depth, l);
        }
      } else if (key == "header_regexp" || key == "vars_regexp") {
        for (const auto& [field, re] : v.items())
          line(depth, key + " " + (re.contains("name") ? re["name"].get<std::string>() + " " : "") + tok(field) + " " +
                          tok(re["pattern"].get<std::string>()));
      } else if (key == "query") {
        for (const auto& [k, values] : v.items())
          for (const auto& x : values) line(depth, "query " + tok(k + "=" + x.get<std::string>()));
      } else if (key == "remote_ip") {
        std::string l = "remote_ip";
        for (const auto& x : v["ranges"]) l += " " + tok(x.get<std::string>());
        line(depth, l);
      } else if (key == "vars") {
        for (const auto& [k, values] : v.items()) {
          std::string l = "vars " + tok(k);
          for (const auto& x : values) l += " " + tok(x.get<std::string>());
          line(depth, l);
        }
      } else if (key == "expression") {
        line(depth, "expression " + tok(v.get<std::string>()));
      } else if (key == "not") {
        for (const auto& inner : v) {
          line(depth, "not {");
          if (inner.empty()) line(depth + 1, "expression true");
          matcher_lines(depth + 1, inner);
          line(depth, "}");
        }
      }
    }
  }

  // Matcher sets of a subroute's route: one named matcher (a Caddyfile
  // directive takes one); several sets become several routes.
  void handler(int depth, const json& h) {
    const std::string type = h["handler"].get<std::string>();
    if (type == "subroute") {
      for (const auto& r : h["routes"]) {
        if (!r.contains("match")) {
          line(depth, "route {");
          for (const auto& inner : r["handle"]) handler(depth + 1, inner);
          line(depth, "}");
          continue;
        }
        for (const auto& set : r["match"]) {
          std::string m = matcher(depth, set);
          line(depth, "route " + m + " {");
          for (const auto& inner : r["handle"]) handler(depth + 1, inner);
          line(depth, "}");
        }
      }
    } else if (type == "headers") {
      if (h.contains("request")) {
        const json& rq = h["request"];
        if (rq.contains("set"))
          for (const auto& [k, v] : rq["set"].items()) line(depth, "request_header " + tok(k) + " " + tok(str(v[0])));
        if (rq.contains("delete"))
          for (const auto& k : rq["delete"]) line(depth, "request_header -" + k.get<std::string>());
      }
      if (h.contains("response")) {
        const json& rs = h["response"];
        line(depth, "header {");
        if (rs.contains("set"))
          for (const auto& [k, v] : rs["set"].items()) line(depth + 1, tok(k) + " " + tok(str(v[0])));
        if (rs.contains("add"))
          for (const auto& [k, v] : rs["add"].items()) line(depth + 1, "+" + k + " " + tok(str(v[0])));
        if (rs.contains("delete"))
          for (const auto& k : rs["delete"]) line(depth + 1, "-" + k.get<std::string>());
        if (rs.value("deferred", false)) line(depth + 1, "defer");
        line(depth, "}");
      }
    } else if (type == "rewrite") {
      if (h.contains("uri")) line(depth, "rewrite * " + tok(h["uri"].get<std::string>()));
      if (h.contains("path_regexp"))
        for (const auto& p : h["path_regexp"])
          line(depth, "uri path_regexp " + tok(p["find"].get<std::string>()) + " " + tok(p["replace"].get<std::string>()));
    } else if (type == "vars") {
      for (const auto& [k, v] : h.items())
        if (k != "handler") line(depth, "vars " + tok(k) + " " + tok(str(v)));
    } else if (type == "static_response") {
      int status = h.value("status_code", 200);
      const json headers = h.value("headers", json::object());
      if (status >= 300 && status < 400 && headers.size() == 1 && headers.contains("Location")) {
        line(depth, "redir * " + tok(headers["Location"][0].get<std::string>()) + " " + std::to_string(status));
        return;
      }
      for (const auto& [k, v] : headers.items()) line(depth, "header " + tok(k) + " " + tok(str(v[0])));
      std::string body = h.value("body", std::string());
      if (!body.empty() && body.back() == '\n') body.pop_back();
      line(depth, "respond * " + (body.empty() ? std::string() : tok(body) + " ") + std::to_string(status));
    } else if (type == "authentication") {
      const json& basic = h["providers"]["http_basic"];
      line(depth, "basicauth bcrypt " + tok(basic.value("realm", std::string("restricted"))) + " {");
      for (const auto& a : basic["accounts"]) line(depth + 1, tok(a["username"].get<std::string>()) + " " + a["password"].get<std::string>());
      line(depth, "}");
    } else if (type == "encode") {
      std::string l = "encode";
      for (const auto& e : h["prefer"]) l += " " + e.get<std::string>();
      line(depth, l + " {");
      if (h.contains("minimum_length")) line(depth + 1, "minimum_length " + std::to_string(h["minimum_length"].get<std::int64_t>()));
      if (h.contains("match")) {
        line(depth + 1, "match {");
        for (const auto& [k, v] : h["match"]["headers"].items())
          for (const auto& x : v) line(depth + 2, "header " + tok(k) + " " + tok(x.get<std::string>()));
        line(depth + 1, "}");
      }
      line(depth, "}");
    } else if (type == "request_body") {
      line(depth, "request_body {");
      line(depth + 1, "max_size " + std::to_string(h["max_size"].get<std::int64_t>()));
      line(depth, "}");
    } else if (type == "reverse_proxy") {
      reverse_proxy(depth, h);
    } else {
      diags_.add(Code::unsupported_by_target, Pos{}, "handler " + type + " has no Caddyfile form in this rendering; left out");
    }
  }

  void reverse_proxy(int depth, const json& h) {
    line(depth, "reverse_proxy {");
    std::string to = "to";
    for (const auto& u : h["upstreams"]) to += " " + tok(u["dial"].get<std::string>());
    line(depth + 1, to);
    if (h.contains("load_balancing")) {
      const json& sel = h["load_balancing"]["selection_policy"];
      std::string p = sel["policy"].get<std::string>();
      if (p == "cookie") p += " " + tok(sel["name"].get<std::string>());
      if (p == "random_choose") p += " " + std::to_string(sel["choose"].get<int>());
      line(depth + 1, "lb_policy " + p);
    }
    if (h.contains("health_checks")) {
      const json& hc = h["health_checks"];
      if (hc.contains("active")) {
        const json& a = hc["active"];
        line(depth + 1, "health_uri " + tok(a["uri"].get<std::string>()));
        if (a.contains("port")) line(depth + 1, "health_port " + std::to_string(a["port"].get<std::int64_t>()));
        if (a.contains("interval")) line(depth + 1, "health_interval " + duration(a["interval"]));
        if (a.contains("timeout")) line(depth + 1, "health_timeout " + duration(a["timeout"]));
        if (a.contains("expect_status")) line(depth + 1, "health_status " + std::to_string(a["expect_status"].get<std::int64_t>()));
        if (a.contains("headers")) {
          line(depth + 1, "health_headers {");
          for (const auto& [k, v] : a["headers"].items()) line(depth + 2, tok(k) + " " + tok(str(v[0])));
          line(depth + 1, "}");
        }
      }
      if (hc.contains("passive")) {
        const json& p = hc["passive"];
        line(depth + 1, "fail_duration " + duration(p["fail_duration"]));
        line(depth + 1, "max_fails " + std::to_string(p["max_fails"].get<std::int64_t>()));
      }
    }
    if (h.contains("rewrite")) {
      const json& rw = h["rewrite"];
      if (rw.contains("method")) line(depth + 1, "method " + tok(rw["method"].get<std::string>()));
      if (rw.contains("uri")) line(depth + 1, "rewrite " + tok(rw["uri"].get<std::string>()));
    }
    if (h.contains("headers") && h["headers"].contains("request") && h["headers"]["request"].contains("set"))
      for (const auto& [k, v] : h["headers"]["request"]["set"].items()) line(depth + 1, "header_up " + tok(k) + " " + tok(str(v[0])));
    if (h.contains("transport")) {
      const json& t = h["transport"];
      line(depth + 1, "transport http {");
      if (t.contains("tls")) {
        const json& tl = t["tls"];
        line(depth + 2, "tls");
        if (tl.value("insecure_skip_verify", false)) line(depth + 2, "tls_insecure_skip_verify");
        if (tl.contains("root_ca_pem_files")) {
          std::string l = "tls_trusted_ca_certs";
          for (const auto& f : tl["root_ca_pem_files"]) l += " " + tok(f.get<std::string>());
          line(depth + 2, l);
        }
        if (tl.contains("server_name")) line(depth + 2, "tls_server_name " + tok(tl["server_name"].get<std::string>()));
        if (tl.contains("client_certificate_file"))
          line(depth + 2, "tls_client_auth " + tok(tl["client_certificate_file"].get<std::string>()) + " " +
                              tok(tl["client_certificate_key_file"].get<std::string>()));
      }
      if (t.contains("versions")) {
        std::string l = "versions";
        for (const auto& v : t["versions"]) l += " " + v.get<std::string>();
        line(depth + 2, l);
      }
      if (t.contains("dial_timeout")) line(depth + 2, "dial_timeout " + duration(t["dial_timeout"]));
      if (t.contains("response_header_timeout")) line(depth + 2, "response_header_timeout " + duration(t["response_header_timeout"]));
      if (t.contains("keep_alive")) {
        if (t["keep_alive"].contains("idle_timeout")) line(depth + 2, "keepalive " + duration(t["keep_alive"]["idle_timeout"]));
        if (t["keep_alive"].contains("max_idle_conns_per_host"))
          line(depth + 2, "keepalive_idle_conns_per_host " + std::to_string(t["keep_alive"]["max_idle_conns_per_host"].get<std::int64_t>()));
      }
      line(depth + 1, "}");
    }
    if (h.contains("handle_response")) {
      for (const auto& hr : h["handle_response"]) {
        std::string m = "@ok" + std::to_string(++matchers_);
        line(depth + 1, m + " status 2xx");
        line(depth + 1, "handle_response " + m + " {");
        for (const auto& r : hr["routes"])
          for (const auto& inner : r["handle"]) handler(depth + 2, inner);
        line(depth + 1, "}");
      }
    }
    line(depth, "}");
  }

  const RenderOptions& options_;
  Diagnostics& diags_;
  std::string out_;
  json certs_;
  int matchers_ = 0;
  bool reported_certs_ = false;
};

class CaddyfileRenderer final : public Renderer {
 public:
  RenderResult render(const LoadedConfig& loaded, const RenderOptions& options, Diagnostics& diags) const override {
    json config = caddy_config(loaded, options, diags);
    RenderResult r;
    r.main_name = "Caddyfile";
    r.main = Writer(options, diags).run(config);
    return r;
  }
};

}  // namespace

std::unique_ptr<Renderer> make_caddyfile() { return std::make_unique<CaddyfileRenderer>(); }

}  // namespace certroute::routes::render
