// routes render --to haproxy: a whole haproxy.cfg.
//
// Layout: global and defaults; per entry point a frontend (HTTP routers as
// ACLs and one `use_backend` line per conjunction of the rule's disjunctive
// normal form, in Traefik's priority order, which HAProxy keeps); one backend
// per router (its middlewares as http-request/http-response rules, then the
// service's servers); a 404 backend for requests no router matches.
//
// An entry point that must serve TLS and plain HTTP on one port (Traefik
// sniffs the first bytes), or that has TCP routers, gets a TCP frontend that
// inspects the connection (TCP routers first, in priority order, then TLS
// hellos to an internal HTTPS frontend, the rest to an internal HTTP
// frontend); internal frontends listen on abstract sockets and receive the
// client address with the PROXY protocol.
#include <algorithm>
#include <cctype>
#include <deque>
#include <map>
#include <set>

#include "core/routes/decode.hpp"
#include "core/routes/gocompat.hpp"
#include "core/routes/render/analysis.hpp"
#include "core/routes/render/common.hpp"
#include "core/routes/render/renderer.hpp"

namespace certroute::routes::render {
namespace {

// ---- words and strings of haproxy.cfg ----------------------------------------

// One word: bare when safe, else single-quoted (a quote inside: '\'').
std::string word(std::string_view s) {
  bool bare = !s.empty();
  for (char c : s) {
    auto u = static_cast<unsigned char>(c);
    if (u <= 0x20 || u == 0x7f || std::string_view("#$\"'\\{}").find(c) != std::string_view::npos) bare = false;
  }
  if (bare) return std::string(s);
  std::string out = "'";
  for (char c : s) {
    if (c == '\'') out += "'\\''";
    else out += c;
  }
  return out + "'";
}

// Literal text inside a log-format string ('%' doubled).
std::string lit(std::string_view s) {
  std::string out;
  for (char c : s) {
    if (c == '%') out += "%%";
    else out += c;
  }
  return out;
}

// A log-format string as one double-quoted word.
std::string dq(std::string_view s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\' || c == '$') out += '\\';
    out += c;
  }
  return out + "\"";
}

// An argument of a converter or fetch inside a sample expression, quoted.
// nullopt when it holds a quote (no way to write it).
std::optional<std::string> arg(std::string_view s) {
  if (s.find('\'') != std::string_view::npos) return std::nullopt;
  return "'" + std::string(s) + "'";
}

// A name HAProxy accepts for proxies, servers and ACLs.
std::string sanitize(std::string_view s) {
  std::string out;
  for (char c : s) out += (std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-' || c == '.') ? c : '_';
  if (out.empty()) out = "x";
  return out;
}

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

bool iequals(std::string_view a, std::string_view b) { return lower(a) == lower(b); }

// Go duration text ("10s", "1m30s", "5") as HAProxy time ("10000ms"); "" if invalid.
std::string hap_time(std::string_view go) {
  auto ns = parse_go_duration(go);
  if (!ns || *ns <= 0) return {};
  std::int64_t ms = *ns / 1000000;
  if (ms <= 0) ms = 1;
  if (ms % 1000 == 0) return std::to_string(ms / 1000) + "s";
  return std::to_string(ms) + "ms";
}

// Go's regexp replacement ("$1", "${1}") as HAProxy's ("\1"). nullopt on named groups.
std::optional<std::string> go_replacement(std::string_view repl, int shift) {
  return gocompat::go_template_to_backrefs(repl, {.shift = shift});
}

std::string ep_name(const EntryPoint& ep) { return sanitize(ep.name); }

std::string_view tls_version(std::string_view go) {
  if (go == "VersionTLS10") return "TLSv1.0";
  if (go == "VersionTLS11") return "TLSv1.1";
  if (go == "VersionTLS12") return "TLSv1.2";
  if (go == "VersionTLS13") return "TLSv1.3";
  return {};
}

// OpenSSL's name of a curve HAProxy takes ("P-256"); "" if none.
std::string_view curve_name(std::string_view go) {
  const auto* c = gocompat::find_curve(go);
  return c && !c->hybrid ? c->openssl : std::string_view{};
}

// ---- the renderer ---------------------------------------------------------------

// A router with its rule in v3 syntax and in disjunctive normal form.
struct Route {
  const Router* router = nullptr;
  Rule rule;
  std::int64_t priority = 0;
  std::vector<Conjunction> dnf;
};

struct Section {
  std::string head;  // "backend x"
  std::vector<std::string> lines;
};

class Haproxy {
 public:
  Haproxy(const LoadedConfig& loaded, const RenderOptions& options, Diagnostics& diags)
      : loaded_(loaded), config_(loaded.config), options_(options), diags_(diags) {}

  RenderResult run() {
    eps_ = effective_entry_points(options_);
    report_unrendered();
    for (const auto& ep : eps_) entry_point(ep);

    RenderResult res;
    res.main_name = "haproxy.cfg";
    std::string& o = res.main;
    o += generated_header(options_, "# ");
    o += "\nglobal\n";
    o += "  log stdout format raw local0 info\n";
    o += "  ssl-default-bind-options ssl-min-ver TLSv1.2\n";
    o += "\ndefaults\n";
    o += "  mode http\n";
    o += "  log global\n";
    o += "  option httplog\n";
    o += "  option dontlognull\n";
    o += "  timeout connect 30s\n";
    o += "  timeout client 180s\n";
    o += "  timeout server 180s\n";
    o += "  timeout http-request 60s\n";
    o += "  timeout http-keep-alive 180s\n";
    o += "  timeout tunnel 1h\n";
    o += "  # Servers named by host names that do not resolve yet still let HAProxy start.\n";
    o += "  default-server init-addr last,libc,none\n";
    for (const auto& u : userlists_) {
      o += "\n" + u.head + "\n";
      for (const auto& l : u.lines) o += "  " + l + "\n";
    }
    for (const auto* list : {&sections_, &backend_sections_})
      for (const auto& s : *list) {
        o += "\n" + s.head + "\n";
        for (const auto& l : s.lines) o += "  " + l + "\n";
      }
    o += "\nbackend certroute_not_found\n";
    o += "  # Traefik's answer when no router matches.\n";
    o += "  http-request return status 404 content-type \"text/plain; charset=utf-8\" string \"404 page not found\"\n";
    res.side_files = std::move(side_files_);
    return res;
  }

 private:
  // ---- diagnostics and positions -------------------------------------------------

  void unsupported(const Pos& pos, std::string msg) { diags_.add(Code::unsupported_by_target, pos, std::move(msg)); }

  std::string where(const Pos& p) const {
    if (!p.valid()) return "?";
    return loaded_.sources.path_of(p) + ":" + std::to_string(p.line);
  }

  std::string unique(const std::string& base) {
    std::string n = base;
    for (int i = 2; names_.count(n); ++i) n = base + "_" + std::to_string(i);
    names_.insert(n);
    return n;
  }

  bool served(const Router& r) const {
    if (r.entry_points.empty()) return true;
    for (const auto& t : r.entry_points)
      for (const auto& ep : eps_)
        if (t.value == ep.name) return true;
    return false;
  }

  void report_unrendered() {
    for (Protocol p : {Protocol::http, Protocol::tcp})
      for (const auto& [name, r] : config_.section(p).routers)
        if (!served(r)) {
          std::string list;
          for (const auto& t : r.entry_points) list += (list.empty() ? "" : ", ") + t.value;
          unsupported(r.pos, std::string(p == Protocol::tcp ? "TCP router '" : "router '") + name +
                                 "' is only on entry point(s) " + list +
                                 ", which are not rendered; add --entrypoint NAME=[ADDR]:PORT for them");
        }
    for (const auto& [name, r] : config_.udp.routers)
      unsupported(r.pos, "UDP router '" + name + "': HAProxy does not proxy UDP; it is left out");
  }

  std::vector<std::unique_ptr<Route>> routes(Protocol p, const EntryPoint& ep) {
    std::vector<std::unique_ptr<Route>> out;
    for (auto& e : routes_for_entry_point(config_, p, ep.name)) {
      auto r = std::make_unique<Route>();
      r->router = e.router;
      r->priority = e.priority;
      if (e.rule.syntax == RuleSyntax::v2) {
        r->rule = parse_rule(v3_rule_text(e.rule), p == Protocol::tcp ? RuleKind::tcp : RuleKind::http);
        if (!r->rule.ok()) {
          if (reported_.insert(e.router).second)
            unsupported(e.router->pos, "router '" + e.router->name + "': its v2 rule could not be rewritten; it is left out");
          continue;
        }
      } else {
        r->rule = std::move(e.rule);
      }
      bool too_big = false;
      r->dnf = to_dnf(*r->rule.root, too_big);
      if (too_big) {
        if (reported_.insert(e.router).second)
          unsupported(e.router->rule ? e.router->rule->pos : e.router->pos,
                      "router '" + e.router->name + "': its rule has too many alternatives once expanded for HAProxy; it is left out");
        continue;
      }
      out.push_back(std::move(r));
    }
    return out;
  }

  // ---- entry points ----------------------------------------------------------------

  void entry_point(const EntryPoint& ep) {
    auto http = routes(Protocol::http, ep);
    auto tcp = routes(Protocol::tcp, ep);
    std::vector<const Route*> plain, secure;
    for (auto& r : http) (r->router->tls ? secure : plain).push_back(r.get());
    std::string name = unique(ep_name(ep));
    const std::string addr = listen_address(ep);
    const std::string comment = "# entry point " + ep.name + " (" + addr + ")";
    if (tcp.empty() && secure.empty()) {
      http_frontend(name, comment, "bind " + addr, plain, false);
    } else if (tcp.empty() && plain.empty()) {
      http_frontend(name, comment, "bind " + addr + " " + tls_bind(secure, true), secure, true);
    } else {
      // One port, several protocols: inspect the first bytes as Traefik does.
      Section f{"frontend " + name, {comment + ": TCP routers first, then TLS to HTTPS routers, the rest to HTTP routers",
                                      "mode tcp", "bind " + addr}};
      // Only TLS routers and HTTP routers need the first bytes: a port with
      // nothing but plain TCP routers forwards at once (server-first
      // protocols such as MySQL or SMTP do not wait).
      bool inspect = !plain.empty() || !secure.empty() ||
                     std::any_of(tcp.begin(), tcp.end(), [](const auto& r) { return r->router->tls; });
      if (inspect) {
        f.lines.push_back("tcp-request inspect-delay 5s");
        f.lines.push_back("tcp-request content accept if { req.ssl_hello_type 1 }");
        f.lines.push_back("tcp-request content accept if { req.len gt 0 }");
      }
      const std::string abns = "abns@certroute-" + ep.address + "-" + std::to_string(ep.port) + "-";
      std::vector<Section> after;
      for (auto& r : tcp) tcp_router(*r, f, after, abns);
      if (!secure.empty()) {
        std::string relay = unique(name + "_to_https");
        f.lines.push_back("use_backend " + relay + " if { req.ssl_hello_type 1 }");
        after.push_back({"backend " + relay, {"mode tcp", "server https " + abns + "https send-proxy-v2"}});
        http_frontend(unique(name + "_https"), "# HTTPS routers of entry point " + ep.name,
                      "bind " + abns + "https accept-proxy " + tls_bind(secure, true), secure, true, &after);
      }
      if (!plain.empty()) {
        std::string relay = unique(name + "_to_http");
        f.lines.push_back("default_backend " + relay);
        after.push_back({"backend " + relay, {"mode tcp", "server http " + abns + "http send-proxy-v2"}});
        http_frontend(unique(name + "_http"), "# HTTP routers of entry point " + ep.name, "bind " + abns + "http accept-proxy",
                      plain, false, &after);
      }
      sections_.push_back(std::move(f));
      for (auto& s : after) sections_.push_back(std::move(s));
    }
    // Routes own the rules the conjunctions point into: keep them alive.
    for (auto& r : http) kept_.push_back(std::move(r));
    for (auto& r : tcp) kept_.push_back(std::move(r));
  }

  void http_frontend(const std::string& name, const std::string& comment, const std::string& bind,
                     const std::vector<const Route*>& rs, bool tls, std::vector<Section>* out = nullptr) {
    Section f{"frontend " + name, {comment, bind, "option forwardfor"}};
    f.lines.push_back("# Host as Traefik compares it: lower-case, without port and trailing dot.");
    f.lines.push_back("http-request set-var(txn.host) req.hdr(host),field(1,:),lower,regsub('\\.$','')");
    f.lines.push_back(std::string("http-request set-header X-Forwarded-Proto ") + (tls ? "https" : "http"));
    f.lines.push_back("http-request set-header X-Forwarded-Host %[req.hdr(host)]");
    f.lines.push_back("http-request set-header X-Forwarded-Port %[dst_port]");
    f.lines.push_back("http-request set-header X-Real-Ip %[src]");
    for (const Route* r : rs) {
      std::string backend = http_backend(*r->router);
      route_lines(*r, backend, f, "use_backend");
    }
    f.lines.push_back("default_backend certroute_not_found");
    if (out) out->push_back(std::move(f));
    else sections_.push_back(std::move(f));
  }

  // ACLs and one `use_backend` line per conjunction. `prefix` conditions
  // (such as the TLS hello of TCP routers) come first on each line.
  void route_lines(const Route& r, const std::string& backend, Section& f, const std::string& verb,
                   const std::string& prefix = {}) {
    const Router& router = *r.router;
    f.lines.push_back("# router " + qualified(router.name) + " (" + where(router.pos) + "), priority " +
                      std::to_string(r.priority) + ": " + one_line(r.rule.text));
    std::map<std::string, std::string> acls;  // expression -> name
    auto [bit, fresh] = acl_bases_.emplace(&router, std::string());
    if (fresh) {
      std::string base = "r_" + sanitize(router.name);
      std::string b = base;
      for (int i = 2; acl_base_names_.count(b); ++i) b = base + "-" + std::to_string(i);
      acl_base_names_.insert(b);
      bit->second = b;
    }
    const std::string base = bit->second;
    int n = 0;
    for (const auto& conj : r.dnf) {
      std::string cond = prefix;
      bool impossible = false;
      for (const auto& atom : conj) {
        std::string why;
        auto expr = acl(*atom.matcher, r.rule.kind, why);
        if (!expr) {
          if (reported_atoms_.insert(atom.matcher).second)
            unsupported(router.rule ? router.rule->pos : router.pos,
                        "router '" + router.name + "': " + why + "; the router is left out of HAProxy's frontend");
          impossible = true;
          break;
        }
        std::string term;
        if (*expr == "TRUE" || *expr == "FALSE") {
          term = *expr;
        } else {
          auto it = acls.find(*expr);
          if (it == acls.end()) {
            std::string an = base + "_" + std::to_string(++n);
            f.lines.push_back("acl " + an + " " + *expr);
            it = acls.emplace(*expr, an).first;
          }
          term = it->second;
        }
        if (atom.negated) term = "!" + term;
        cond += (cond.empty() ? "" : " ") + term;
      }
      if (impossible) return;
      f.lines.push_back(verb + " " + backend + (cond.empty() ? "" : " if " + cond));
    }
  }

  // An ACL expression for one matcher (v3 syntax), or nullopt and `why`.
  std::optional<std::string> acl(const RuleExpr& m, RuleKind kind, std::string& why) {
    auto a0 = m.args.empty() ? std::string() : m.args[0].value;
    auto pattern = [&](std::string_view flag, const std::string& v) -> std::string {
      if (v.empty() && flag == "-m str") return "-m len 0";
      return std::string(flag) + (v.starts_with("-") ? " -- " : " ") + word(v);
    };
    auto header_arg = [&](const std::string& name) -> std::optional<std::string> {
      for (char c : name)
        if (!(std::isalnum(static_cast<unsigned char>(c)) || std::string_view("!#$%&*+-.^_`|~").find(c) != std::string_view::npos) ||
            c == '$')
          return std::nullopt;
      return name;
    };
    switch (m.matcher) {
      case Matcher::host: {
        std::string h = m.args[0].normalized;
        if (h.size() > 1 && h.back() == '.') h.pop_back();
        return "var(txn.host) " + pattern("-m str", h);
      }
      case Matcher::host_regexp:
        return "var(txn.host) " + pattern("-m reg", a0);
      case Matcher::path:
        return "path,url_dec " + pattern("-m str", a0);
      case Matcher::path_prefix:
        return "path,url_dec " + pattern("-m beg", a0);
      case Matcher::path_regexp:
        return "path,url_dec " + pattern("-m reg", a0);
      case Matcher::method:
        return "method " + pattern("-m str", m.args[0].normalized);
      case Matcher::header:
      case Matcher::header_regexp: {
        if (iequals(a0, "host")) return std::string("FALSE");  // Go keeps Host out of the header map
        auto h = header_arg(a0);
        if (!h) {
          why = "header name `" + a0 + "` cannot be written in an HAProxy fetch";
          return std::nullopt;
        }
        return "req.fhdr(" + *h + ") " + pattern(m.matcher == Matcher::header ? "-m str" : "-m reg", m.args[1].value);
      }
      case Matcher::query:
      case Matcher::query_regexp: {
        auto h = header_arg(a0);
        if (!h || a0.find('%') != std::string::npos || a0.find('+') != std::string::npos) {
          why = "query parameter name `" + a0 + "` cannot be written in an HAProxy fetch";
          return std::nullopt;
        }
        // A key alone ("?debug") has no '=': url_param would not find it.
        if (m.matcher == Matcher::query && m.args.size() == 1) return "query " + pattern("-m reg", "(^|&)" + quote_meta(a0) + "(=|&|$)");
        return "url_param(" + *h + "),url_dec(1) " +
               pattern(m.matcher == Matcher::query ? "-m str" : "-m reg", m.args[1].value);
      }
      case Matcher::client_ip:
        return "src " + word(a0);
      case Matcher::host_sni:
        if (a0 == "*") return std::string("TRUE");
        return "req.ssl_sni -i " + pattern("-m str", m.args[0].normalized);
      case Matcher::host_sni_regexp:
        return "req.ssl_sni,lower " + pattern("-m reg", a0);
      case Matcher::alpn:
        return "req.ssl_alpn " + pattern("-m str", a0);
      default:
        why = "matcher " + std::string(matcher_name(m.matcher)) + " is not supported for " +
              (kind == RuleKind::tcp ? "TCP" : "HTTP") + " routers";
        return std::nullopt;
    }
  }

  // ---- TLS ------------------------------------------------------------------------

  // The `ssl crt ...` part of a bind line (certificates from tls.certificates,
  // as combined PEM side files) plus the TLS options of the routers.
  std::string tls_bind(const std::vector<const Route*>& rs, bool http) {
    certificates(rs.empty() ? nullptr : rs.front()->router);
    std::string out = "ssl";
    for (const auto& c : cert_paths_) out += " crt " + word(c);
    out += http ? " alpn h2,http/1.1" : "";
    // TLS options: one set per bind. Routers naming different options than
    // the first are reported.
    std::string opts_name;
    const Router* first = nullptr;
    for (const Route* r : rs) {
      std::string n = r->router->tls_options ? r->router->tls_options->value : "default";
      if (auto at = n.find('@'); at != std::string::npos && n.substr(at + 1) == "file") n = n.substr(0, at);
      if (!first) {
        first = r->router;
        opts_name = n;
      } else if (n != opts_name && reported_tls_.insert(r->router).second) {
        unsupported(r->router->tls_options ? r->router->tls_options->pos : r->router->pos,
                    "router '" + r->router->name + "' uses TLS options '" + n + "' but shares a port with router '" +
                        first->name + "' that uses '" + opts_name +
                        "': HAProxy applies one set of TLS options per port; '" + opts_name + "' is used");
      }
      if (r->router->cert_resolver && reported_resolver_.insert(r->router).second)
        unsupported(r->router->cert_resolver->pos, "router '" + r->router->name + "': certResolver '" +
                                                        r->router->cert_resolver->value +
                                                        "': HAProxy does not obtain certificates (ACME); only tls.certificates are served");
    }
    auto it = config_.tls_options.find(opts_name);
    if (it == config_.tls_options.end()) return out;
    const DocNode* n = it->second.node;
    const Pos pos = it->second.pos;
    auto v = [&](const char* k) { return field(n, {k}); };
    if (auto mv = tls_version(v("minVersion")); !mv.empty()) out += " ssl-min-ver " + std::string(mv);
    if (auto mv = tls_version(v("maxVersion")); !mv.empty()) out += " ssl-max-ver " + std::string(mv);
    std::vector<std::string> c12, c13;
    for (const auto& c : strings(child(n, "cipherSuites"))) {
      // TLS 1.3 suites go to `ciphersuites`; RC4 and 3DES are left out.
      const auto* k = gocompat::find_cipher_suite(c);
      bool found = k && !k->openssl.empty() && !k->legacy;
      if (found) (k->tls13 ? c13 : c12).emplace_back(k->openssl);
      if (!found) unsupported(pos, "TLS options '" + opts_name + "': cipher suite " + c + " has no OpenSSL equivalent in HAProxy; left out");
    }
    if (!c12.empty()) out += " ciphers " + join(c12, ":");
    if (!c13.empty()) out += " ciphersuites " + join(c13, ":");
    std::vector<std::string> curves;
    for (const auto& c : strings(child(n, "curvePreferences"))) {
      if (auto cn = curve_name(c); !cn.empty()) curves.emplace_back(cn);
      else unsupported(pos, "TLS options '" + opts_name + "': curve " + c + " is not supported by HAProxy; left out");
    }
    if (!curves.empty()) out += " curves " + join(curves, ":");
    if (auto alpn = strings(child(n, "alpnProtocols")); !alpn.empty() && http) {
      auto p = out.find(" alpn h2,http/1.1");
      if (p != std::string::npos) out.erase(p, std::string(" alpn h2,http/1.1").size());
      out += " alpn " + join(alpn, ",");
    }
    if (truthy(n, "sniStrict")) out += " strict-sni";
    if (truthy(n, "disableSessionTickets")) out += " no-tls-tickets";
    if (const DocNode* ca = child(n, "clientAuth"); ca && ca->is_mapping()) {
      auto files = strings(child(ca, "caFiles"));
      std::string type = field(ca, {"clientAuthType"});
      if (files.size() > 1)
        unsupported(pos, "TLS options '" + opts_name + "': HAProxy takes one CA file for client certificates; only " +
                             files.front() + " is used");
      if (!files.empty() && type != "NoClientCert" && !type.empty()) out += " ca-file " + word(files.front());
      if (type == "RequireAndVerifyClientCert") out += " verify required";
      else if (type == "VerifyClientCertIfGiven") out += " verify optional";
      else if (type == "RequestClientCert" || type == "RequireAnyClientCert")
        unsupported(pos, "TLS options '" + opts_name + "': clientAuthType " + type +
                             " (a client certificate without verification) is not supported by HAProxy; left out");
    }
    return out;
  }

  // Combined certificate+key PEM files, once.
  void certificates(const Router* first_tls) {
    if (certs_done_) return;
    certs_done_ = true;
    std::vector<const TlsCertificate*> order;
    for (const auto& c : config_.certificates)
      if (c.store_default) order.push_back(&c);
    for (const auto& c : config_.certificates)
      if (!c.store_default) order.push_back(&c);
    std::set<std::string> used;
    for (const TlsCertificate* c : order) {
      if (!c->cert_file || !c->key_file) continue;
      std::string base = c->cert_file->value;
      if (base.find("-----BEGIN") != std::string::npos) base = "inline";
      if (auto s = base.find_last_of('/'); s != std::string::npos) base = base.substr(s + 1);
      if (auto d = base.rfind('.'); d != std::string::npos && d > 0) base = base.substr(0, d);
      std::string name = "cert-" + sanitize(base);
      std::string unique_name = name;
      for (int i = 2; used.count(unique_name); ++i) unique_name = name + "-" + std::to_string(i);
      used.insert(unique_name);
      unique_name += ".pem";
      std::string path = options_.output_dir.empty() ? unique_name : options_.output_dir + "/" + unique_name;
      std::string e1, e2;
      auto cert = file_or_content(c->cert_file->value, e1);
      auto key = file_or_content(c->key_file->value, e2);
      if (cert && key) {
        std::string pem = *cert;
        if (!pem.empty() && pem.back() != '\n') pem += '\n';
        pem += *key;
        if (!pem.empty() && pem.back() != '\n') pem += '\n';
        side_files_.push_back(SideFile{unique_name, pem, true});
      } else {
        unsupported(c->pos, "certificate " + (cert ? c->key_file->value + ": " + e2 : c->cert_file->value + ": " + e1) +
                                ": HAProxy needs the certificate and its key in one file, " + path +
                                "; create it (certificate, then key) before starting HAProxy");
      }
      cert_paths_.push_back(path);
    }
    if (cert_paths_.empty()) {
      std::string path = options_.output_dir.empty() ? "default.pem" : options_.output_dir + "/default.pem";
      cert_paths_.push_back(path);
      unsupported(first_tls ? first_tls->pos : Pos{},
                  "TLS routers but no tls.certificates: HAProxy needs a certificate to serve TLS; put one (certificate, then key) in " +
                      path);
    }
  }

  // ---- TCP routers ------------------------------------------------------------------

  void tcp_router(const Route& r, Section& f, std::vector<Section>& after, const std::string& abns) {
    const Router& router = *r.router;
    std::string backend = tcp_backend(router);
    std::string target = backend;
    if (router.tls && !router.tls_passthrough) {
      // TLS terminated here, then plain TCP to the servers.
      std::string relay = unique("tcp_" + sanitize(router.name) + "_to_tls");
      std::string fe = unique("tcp_" + sanitize(router.name) + "_tls");
      std::string sock = abns + "tcp-" + sanitize(router.name);
      after.push_back({"backend " + relay, {"mode tcp", "server tls " + sock + " send-proxy-v2"}});
      std::vector<const Route*> self{&r};
      after.push_back({"frontend " + fe,
                       {"# TLS termination for TCP router " + qualified(router.name), "mode tcp",
                        "bind " + sock + " accept-proxy " + tls_bind(self, false), "default_backend " + backend}});
      target = relay;
    }
    route_lines(r, target, f, "use_backend", router.tls ? "{ req.ssl_hello_type 1 }" : "");
  }

  std::string tcp_backend(const Router& router) {
    if (auto it = backends_.find(&router); it != backends_.end()) return it->second;
    std::string name = unique("tcp_" + sanitize(router.name));
    backends_[&router] = name;
    Section b{"backend " + name, {"mode tcp"}};
    // TCP middlewares.
    for (const auto& ref : router.middlewares) {
      const Middleware* m = find_middleware(config_, Protocol::tcp, ref.value);
      if (!m) {
        unsupported(ref.pos, "TCP middleware '" + ref.value + "' is not defined in these files; left out");
        continue;
      }
      std::string kind = m->kinds.empty() ? "" : m->kinds.front();
      const DocNode* n = child(m->node, kind);
      b.lines.push_back("# TCP middleware " + m->name + " (" + kind + ", " + where(m->pos) + ")");
      if (kind == "ipAllowList" || kind == "ipWhiteList") {
        auto ranges = strings(child(n, "sourceRange"));
        std::string list;
        for (const auto& s : ranges) list += " " + word(s);
        b.lines.push_back("tcp-request content reject unless { src" + list + " }");
      } else if (kind == "inFlightConn") {
        std::string amount = field(n, {"amount"});
        std::string table = unique("st_" + sanitize(router.name) + "_" + sanitize(m->name));
        after_backends_.push_back({"backend " + table, {"stick-table type ip size 100k expire 60s store conn_cur"}});
        b.lines.push_back("tcp-request content track-sc0 src table " + table);
        b.lines.push_back("tcp-request content reject if { sc_conn_cur(0," + table + ") gt " + word(amount) + " }");
      } else {
        unsupported(m->pos, "TCP middleware '" + m->name + "' (" + kind + ") is not supported by HAProxy; left out");
      }
    }
    servers(router, Protocol::tcp, b);
    backend_sections_.push_back(std::move(b));
    for (auto& s : after_backends_) backend_sections_.push_back(std::move(s));
    after_backends_.clear();
    return name;
  }

  // ---- HTTP backends ---------------------------------------------------------------

  std::string http_backend(const Router& router) {
    if (auto it = backends_.find(&router); it != backends_.end()) return it->second;
    std::string svc = router.service ? router.service->value : "";
    std::string name = unique("r_" + sanitize(router.name));
    backends_[&router] = name;
    Section b{"backend " + name, {"# router " + qualified(router.name) + " -> service " + qualified(svc)}};
    mw_count_ = 0;
    sc_count_ = 0;
    walk_middlewares(router, router.middlewares, b, 0);
    if (svc == "noop@internal") {
      // Traefik's noop service answers an empty 200 (after the middlewares).
      b.lines.push_back("http-request return status 200");
    } else if (!find_service(config_, Protocol::http, svc)) {
      unsupported(router.service ? router.service->pos : router.pos,
                  "router '" + router.name + "': service '" + svc +
                      "' is not defined in these files (another provider or Traefik's internal one); HAProxy answers 503 for it");
      b.lines.push_back("http-request return status 503 content-type \"text/plain; charset=utf-8\" string \"Service Unavailable\"");
    } else {
      servers(router, Protocol::http, b);
    }
    for (auto& l : response_lines_) b.lines.push_back(std::move(l));
    response_lines_.clear();
    backend_sections_.push_back(std::move(b));
    for (auto& s : after_backends_) backend_sections_.push_back(std::move(s));
    after_backends_.clear();
    return name;
  }

  void walk_middlewares(const Router& router, const std::vector<Text>& refs, Section& b, int depth) {
    if (depth > 16) return;
    for (const auto& ref : refs) {
      const Middleware* m = find_middleware(config_, Protocol::http, ref.value);
      if (!m) {
        unsupported(ref.pos, "router '" + router.name + "': middleware '" + ref.value +
                                 "' is not defined in these files (another provider?); left out");
        continue;
      }
      if (!m->chain.empty()) {
        walk_middlewares(router, m->chain, b, depth + 1);
        continue;
      }
      middleware(router, *m, b);
    }
  }

  void middleware(const Router& router, const Middleware& m, Section& b) {
    std::string kind = m.kinds.empty() ? "" : m.kinds.front();
    const DocNode* n = child(m.node, kind);
    const int id = ++mw_count_;
    b.lines.push_back("# middleware " + qualified(m.name) + " (" + kind + ", " + where(m.pos) + ")");
    auto nope = [&](const std::string& what) {
      unsupported(m.pos, "middleware '" + m.name + "' (" + kind + "): " + what);
    };
    auto& req = b.lines;
    if (kind == "headers") {
      headers(m, n, b, id);
    } else if (kind == "redirectScheme") {
      std::string scheme = field(n, {"scheme"});
      if (scheme.empty()) scheme = "https";
      std::string port = field(n, {"port"});
      bool permanent = truthy(n, "permanent");
      std::string hostport = "%[req.hdr(host),field(1,:)]";
      if (!port.empty() && !((scheme == "https" && port == "443") || (scheme == "http" && port == "80")))
        hostport += ":" + lit(port);
      std::string loc = dq(lit(scheme + "://") + hostport + "%[pathq]");
      std::string cond = scheme == "https" ? "!{ ssl_fc }" : scheme == "http" ? "{ ssl_fc }" : "";
      req.push_back("http-request redirect location " + loc + " code " + (permanent ? "301" : "302") + " if { method GET } " + cond);
      req.push_back("http-request redirect location " + loc + " code " + (permanent ? "308" : "307") + " if !{ method GET } " + cond);
    } else if (kind == "redirectRegex") {
      std::string re = field(n, {"regex"});
      auto repl = go_replacement(field(n, {"replacement"}), 0);
      auto are = arg(re);
      if (!repl || !are || repl->find('\'') != std::string::npos) {
        nope("its regex or replacement (named groups, quotes, more than 9 groups) cannot be written for HAProxy; left out");
        return;
      }
      bool permanent = truthy(n, "permanent");
      std::string var = "txn.rr" + std::to_string(id);
      req.push_back("http-request set-var-fmt(" + var + ") " +
                    dq("%[ssl_fc,iif(https,http)]://%[req.hdr(host)]%[pathq]"));
      std::string loc = dq("%[var(" + var + "),regsub(" + *are + ",'" + *repl + "')]");
      req.push_back("http-request redirect location " + loc + " code " + (permanent ? "301" : "302") + " if { method GET } { var(" + var +
                    ") -m reg " + word(re) + " }");
      req.push_back("http-request redirect location " + loc + " code " + (permanent ? "308" : "307") + " if !{ method GET } { var(" +
                    var + ") -m reg " + word(re) + " }");
    } else if (kind == "stripPrefix") {
      // The first matching prefix is chosen before the path changes.
      std::string var = "txn.sp" + std::to_string(id);
      std::vector<std::string> prefixes;
      for (const auto& p : strings(child(n, "prefixes"))) {
        auto ap = arg(p);
        if (p.empty()) continue;
        if (!ap) {
          nope("prefix `" + p + "` cannot be written for HAProxy; left out");
          continue;
        }
        req.push_back("http-request set-var(" + var + ") str(" + *ap + ") if !{ var(" + var + ") -m found } { path -m beg " +
                      (p.starts_with("-") ? std::string("-- ") : "") + word(p) + " }");
        prefixes.push_back(p);
      }
      if (prefixes.empty()) return;
      req.push_back("http-request set-header X-Forwarded-Prefix %[var(" + var + ")] if { var(" + var + ") -m found }");
      for (const auto& p : prefixes)
        req.push_back("http-request replace-path " + word("^" + quote_meta(p) + "/?(.*)") + " " + word("/\\1") + " if { var(" + var +
                      ") -m str " + (p.starts_with("-") ? std::string("-- ") : "") + word(p) + " }");
    } else if (kind == "stripPrefixRegex") {
      for (const auto& re : strings(child(n, "regex"))) {
        int groups = capture_groups(re);
        auto are = arg("^((?:" + re + ")).*$");
        if (!are || groups + 2 > 9) {
          nope("regex `" + re + "` cannot be written for HAProxy; left out");
          continue;
        }
        std::string cond = "{ path,url_dec -m reg " + word("^(?:" + re + ")") + " }";
        req.push_back("http-request set-header X-Forwarded-Prefix " + dq("%[path,regsub(" + *are + ",'\\1')]") + " if " + cond);
        req.push_back("http-request replace-path " + word("^(?:" + re + ")/?(.*)") + " " + word("/\\" + std::to_string(groups + 1)) +
                      " if " + cond);
      }
    } else if (kind == "addPrefix") {
      std::string p = field(n, {"prefix"});
      req.push_back("http-request set-path " + dq(lit(p) + "%[path]"));
    } else if (kind == "replacePath") {
      std::string p = field(n, {"path"});
      req.push_back("http-request set-header X-Replaced-Path %[path]");
      req.push_back("http-request set-path " + dq(lit(p)));
    } else if (kind == "replacePathRegex") {
      std::string re = field(n, {"regex"});
      int groups = capture_groups(re);
      bool anchored = re.starts_with("^");
      auto repl = go_replacement(field(n, {"replacement"}), anchored ? 0 : 1);
      if (!repl || groups + 2 > 9) {
        nope("its replacement (named groups or more than 9 groups) cannot be written for HAProxy; left out");
        return;
      }
      std::string cond = " if { path -m reg " + word(re) + " }";
      req.push_back("http-request set-header X-Replaced-Path %[path]" + cond);
      if (anchored) {
        req.push_back("http-request replace-path " + word("^(?:" + re + ")(.*)$") + " " +
                      word(*repl + "\\" + std::to_string(groups + 1)) + cond);
      } else {
        unsupported(m.pos, "middleware '" + m.name + "' (replacePathRegex): the regex is not anchored with ^, so HAProxy replaces "
                           "only its first match where Traefik replaces every match");
        req.push_back("http-request replace-path " + word("^(.*?)(?:" + re + ")(.*)$") + " " +
                      word("\\1" + *repl + "\\" + std::to_string(groups + 2)) + cond);
      }
    } else if (kind == "basicAuth") {
      basic_auth(m, n, b);
    } else if (kind == "ipAllowList" || kind == "ipWhiteList") {
      auto ranges = strings(child(n, "sourceRange"));
      std::string src = "src";
      const DocNode* st = child(n, "ipStrategy");
      if (st) {
        auto depth = parse_go_int(field(st, {"depth"})).value_or(0);
        if (depth > 0) src = "req.hdr_ip(X-Forwarded-For,-" + std::to_string(depth) + ")";
        if (!strings(child(st, "excludedIPs")).empty())
          nope("ipStrategy.excludedIPs is not supported by HAProxy; the client address is taken without it");
      }
      std::string status = field(n, {"rejectStatusCode"});
      if (status.empty()) status = "403";
      std::string list;
      for (const auto& s : ranges) list += " " + word(s);
      req.push_back("http-request deny deny_status " + word(status) + " unless { " + src + list + " }");
    } else if (kind == "rateLimit") {
      rate_limit(router, m, n, b);
    } else if (kind == "inFlightReq") {
      std::string amount = field(n, {"amount"});
      std::string key = source_key(m, child(n, "sourceCriterion"));
      std::string table = unique("st_" + sanitize(router.name) + "_" + sanitize(m.name));
      after_backends_.push_back(
          {"backend " + table, {"stick-table type " + key_type(key) +
                                    " size 100k expire 60s store conn_cur"}});
      int sc = next_sc(m);
      if (sc < 0) return;
      req.push_back("http-request track-sc" + std::to_string(sc) + " " + key + " table " + table);
      req.push_back("http-request deny deny_status 429 if { sc_conn_cur(" + std::to_string(sc) + "," + table + ") gt " + word(amount) + " }");
      unsupported(m.pos, "middleware '" + m.name + "' (inFlightReq): HAProxy counts concurrent connections of a source, not "
                         "in-flight requests (the same with HTTP/1.1, fewer with keep-alive pipelining or HTTP/2)");
    } else if (kind == "compress") {
      auto enc = strings(child(n, "encodings"));
      std::vector<std::string> algos;
      if (enc.empty()) algos = {"gzip", "deflate"};
      for (const auto& e : enc)
        if (e == "gzip" || e == "deflate") algos.push_back(e);
      if (algos.empty()) {
        nope("HAProxy compresses with gzip and deflate only, not " + join(enc, ", ") + "; left out");
        return;
      }
      after_lines_.push_back("filter compression");
      after_lines_.push_back("compression algo " + join(algos, " "));
      if (auto inc = strings(child(n, "includedContentTypes")); !inc.empty()) {
        std::string l = "compression type";
        for (const auto& t : inc) l += " " + word(t);
        after_lines_.push_back(l);
      }
      if (!strings(child(n, "excludedContentTypes")).empty())
        nope("excludedContentTypes is not supported by HAProxy (it takes a list of types to compress); every type is compressed");
      if (!field(n, {"minResponseBodyBytes"}).empty())
        nope("minResponseBodyBytes is not supported by HAProxy 2.6; small responses are compressed too");
    } else if (kind == "buffering") {
      if (auto max = field(n, {"maxRequestBodyBytes"}); !max.empty() && max != "0")
        req.push_back("http-request deny deny_status 413 if { req.hdr_val(content-length) gt " + word(max) + " }");
      if (auto max = field(n, {"maxResponseBodyBytes"}); !max.empty() && max != "0")
        response_lines_.push_back("http-response deny deny_status 500 if { res.hdr_val(content-length) gt " + word(max) + " }");
      if (!field(n, {"retryExpression"}).empty()) nope("retryExpression is not supported by HAProxy; left out");
      req.push_back("# buffering: limits checked against Content-Length; chunked bodies are not counted");
    } else if (kind == "retry") {
      std::string attempts = field(n, {"attempts"});
      after_lines_.push_back("retries " + word(attempts.empty() ? "1" : attempts));
      after_lines_.push_back("retry-on conn-failure empty-response");
      after_lines_.push_back("option redispatch 1");
      if (!field(n, {"initialInterval"}).empty() || !field(n, {"timeout"}).empty() || !strings(child(n, "status")).empty())
        nope("initialInterval, timeout and status are not supported by HAProxy's retries; HAProxy retries at once, on connection failures");
    } else if (kind == "forwardAuth" || kind == "digestAuth") {
      // Leaving authentication out would open the service: refuse instead.
      nope("HAProxy has no equivalent; every request is refused (403) rather than let through unauthenticated");
      req.push_back("http-request deny deny_status 403");
    } else {
      nope("HAProxy has no equivalent; left out");
    }
  }

  static std::string key_type(const std::string& key) {
    return key == "src" || key.starts_with("src,") || key.starts_with("req.hdr_ip") ? "ip" : "string len 128";
  }

  int next_sc(const Middleware& m) {
    if (sc_count_ >= 3) {
      unsupported(m.pos, "middleware '" + m.name + "': HAProxy tracks at most 3 counters per request; left out");
      return -1;
    }
    return sc_count_++;
  }

  // The key of a sourceCriterion as a sample expression.
  std::string source_key(const Middleware& m, const DocNode* sc) {
    if (!sc || !sc->is_mapping()) return "src";
    if (std::string h = field(sc, {"requestHeaderName"}); !h.empty()) return "req.hdr(" + sanitize(h) + ")";
    if (truthy(sc, "requestHost")) return "req.hdr(host)";
    if (const DocNode* st = child(sc, "ipStrategy")) {
      auto depth = parse_go_int(field(st, {"depth"})).value_or(0);
      if (!strings(child(st, "excludedIPs")).empty())
        unsupported(m.pos, "middleware '" + m.name + "': ipStrategy.excludedIPs is not supported by HAProxy; ignored");
      std::string key = depth > 0 ? "req.hdr_ip(X-Forwarded-For,-" + std::to_string(depth) + ")" : "src";
      if (auto v6 = parse_go_int(field(st, {"ipv6Subnet"})).value_or(0); v6 > 0) key += ",ipmask(32," + std::to_string(v6) + ")";
      return key;
    }
    return "src";
  }

  void rate_limit(const Router& router, const Middleware& m, const DocNode* n, Section& b) {
    auto average = parse_go_int(field(n, {"average"})).value_or(0);
    if (average <= 0) {
      b.lines.push_back("# rateLimit: average 0 means no limit");
      return;
    }
    std::string period = field(n, {"period"});
    std::string hp = period.empty() ? "1s" : hap_time(period);
    if (hp.empty()) hp = "1s";
    auto burst = parse_go_int(field(n, {"burst"})).value_or(1);
    if (child(n, "redis")) unsupported(m.pos, "middleware '" + m.name + "' (rateLimit): redis is not used; each HAProxy process counts alone");
    std::string key = source_key(m, child(n, "sourceCriterion"));
    std::string table = unique("st_" + sanitize(router.name) + "_" + sanitize(m.name));
    std::string type = key_type(key);
    after_backends_.push_back({"backend " + table, {"stick-table type " + type + " size 100k expire 60s store http_req_rate(" + hp + ")"}});
    int sc = next_sc(m);
    if (sc < 0) return;
    b.lines.push_back("# rateLimit: at most " + std::to_string(average) + " requests per " + hp + " per source (HAProxy counts in a sliding window; Traefik's token bucket also allows bursts of " + std::to_string(burst) + ")");
    b.lines.push_back("http-request track-sc" + std::to_string(sc) + " " + key + " table " + table);
    b.lines.push_back("http-request deny deny_status 429 if { sc_http_req_rate(" + std::to_string(sc) + "," + table + ") gt " +
                      std::to_string(average) + " }");
  }

  void basic_auth(const Middleware& m, const DocNode* n, Section& b) {
    std::vector<std::string> users = common::basic_auth_users(m, n, diags_);
    std::string list = unique("ul_" + sanitize(m.name));
    Section ul{"userlist " + list, {"# basicAuth users of middleware " + qualified(m.name)}};
    std::set<std::string> seen;
    for (const auto& u : users) {
      auto colon = u.find(':');
      if (colon == std::string::npos) continue;
      std::string user = u.substr(0, colon), hash = u.substr(colon + 1);
      // HAProxy checks passwords with crypt(3): bcrypt, sha256-crypt, sha512-crypt, md5-crypt.
      bool ok = hash.starts_with("$2a$") || hash.starts_with("$2b$") || hash.starts_with("$2y$") ||
                hash.starts_with("$5$") || hash.starts_with("$6$") || hash.starts_with("$1$");
      if (!ok) {
        unsupported(m.pos, "middleware '" + m.name + "' (basicAuth): user '" + user + "' has a " +
                               (hash.starts_with("$apr1$") ? "$apr1$ (Apache MD5)" : hash.starts_with("{SHA}") ? "{SHA}" : "plain or unknown") +
                               " hash, which HAProxy's crypt(3) does not check; re-hash it with bcrypt (htpasswd -B); the user is left out");
        continue;
      }
      if (!seen.insert(user).second) continue;
      ul.lines.push_back("user " + word(user) + " password " + word(hash));
    }
    if (seen.empty()) ul.lines.push_back("# no usable users: every request is refused");
    userlists_.push_back(std::move(ul));
    std::string realm = field(n, {"realm"});
    if (realm.empty()) realm = "traefik";
    b.lines.push_back("http-request auth realm " + word(realm) + " unless { http_auth(" + list + ") }");
    if (std::string h = field(n, {"headerField"}); !h.empty())
      b.lines.push_back("http-request set-header " + sanitize(h) + " %[http_auth_user]");
    if (truthy(n, "removeHeader")) b.lines.push_back("http-request del-header Authorization");
  }

  void headers(const Middleware& m, const DocNode* n, Section& b, int id) {
    auto& req = b.lines;
    auto& res = response_lines_;
    auto nope = [&](const std::string& what) { unsupported(m.pos, "middleware '" + m.name + "' (headers): " + what); };
    // CORS (Traefik answers preflight requests itself).
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
      std::string var = "txn.cors" + std::to_string(id);
      bool any = std::find(origins.begin(), origins.end(), "*") != origins.end();
      if (any) {
        req.push_back("http-request set-var(" + var + ") str(*)");
      } else {
        if (!origins.empty()) {
          std::string l = "http-request set-var(" + var + ") req.hdr(origin) if { req.hdr(origin) -m str";
          for (const auto& o : origins) l += " " + word(o);
          req.push_back(l + " }");
        }
        for (const auto& re : origin_res)
          req.push_back("http-request set-var(" + var + ") req.hdr(origin) if { req.hdr(origin) -m reg " + word(re) + " }");
      }
      std::string hdrs;
      if (credentials) hdrs += " hdr Access-Control-Allow-Credentials true";
      if (!allow_headers.empty()) hdrs += " hdr Access-Control-Allow-Headers " + dq(lit(join(allow_headers, ",")));
      if (!allow_methods.empty()) hdrs += " hdr Access-Control-Allow-Methods " + dq(lit(join(allow_methods, ",")));
      hdrs += " hdr Access-Control-Max-Age " + word(max_age.empty() ? "0" : max_age);
      const std::string preflight = "METH_OPTIONS { req.hdr(origin) -m found } { req.hdr(access-control-request-method) -m found }";
      req.push_back("http-request return status 200" + hdrs + " hdr Access-Control-Allow-Origin %[var(" + var + ")] if " + preflight +
                    " { var(" + var + ") -m found }");
      req.push_back("http-request return status 200" + hdrs + " if " + preflight);
      res.push_back("http-response set-header Access-Control-Allow-Origin %[var(" + var + ")] if { var(" + var + ") -m found }");
      if (credentials) res.push_back("http-response set-header Access-Control-Allow-Credentials true if { var(" + var + ") -m found }");
      if (!expose.empty())
        res.push_back("http-response set-header Access-Control-Expose-Headers " + dq(lit(join(expose, ","))) + " if { var(" + var +
                      ") -m found }");
      if (truthy(n, "addVaryHeader") && !any) res.push_back("http-response add-header Vary Origin if { var(" + var + ") -m found }");
    }
    if (!strings(child(n, "allowedHosts")).empty())
      nope("allowedHosts is not supported by this HAProxy rendering; left out");
    // Security headers (unrolled/secure), then the custom response headers.
    bool dev = truthy(n, "isDevelopment");
    auto sts = parse_go_int(field(n, {"stsSeconds"})).value_or(0);
    if (sts > 0 && !dev) {
      std::string v = "max-age=" + std::to_string(sts);
      if (truthy(n, "stsIncludeSubdomains")) v += "; includeSubDomains";
      if (truthy(n, "stsPreload")) v += "; preload";
      std::string cond = " if { ssl_fc }";
      if (truthy(n, "forceSTSHeader")) {
        cond.clear();
      } else if (const DocNode* ssl = child(n, "sslProxyHeaders"); ssl && ssl->is_mapping() && !ssl->entries.empty()) {
        std::string var = "txn.ssl" + std::to_string(id);
        for (const auto& e : ssl->entries)
          if (e.value.is_scalar())
            req.push_back("http-request set-var(" + var + ") bool(1) if { req.fhdr(" + sanitize(e.key) + ") -m str " + word(e.value.text) + " }");
        cond = " if { ssl_fc } || { var(" + var + ") -m found }";
      }
      res.push_back("http-response set-header Strict-Transport-Security " + dq(lit(v)) + cond);
    }
    auto set = [&](const char* name, const std::string& value) {
      if (!value.empty()) res.push_back(std::string("http-response set-header ") + name + " " + dq(lit(value)));
    };
    if (std::string v = field(n, {"customFrameOptionsValue"}); !v.empty()) set("X-Frame-Options", v);
    else if (truthy(n, "frameDeny")) set("X-Frame-Options", "DENY");
    if (truthy(n, "contentTypeNosniff")) set("X-Content-Type-Options", "nosniff");
    if (std::string v = field(n, {"customBrowserXSSValue"}); !v.empty()) set("X-XSS-Protection", v);
    else if (truthy(n, "browserXssFilter")) set("X-XSS-Protection", "1; mode=block");
    set("Content-Security-Policy", field(n, {"contentSecurityPolicy"}));
    set("Content-Security-Policy-Report-Only", field(n, {"contentSecurityPolicyReportOnly"}));
    set("Public-Key-Pins", field(n, {"publicKey"}));
    set("Referrer-Policy", field(n, {"referrerPolicy"}));
    set("Permissions-Policy", field(n, {"permissionsPolicy"}));
    set("Feature-Policy", field(n, {"featurePolicy"}));
    if (const DocNode* h = child(n, "customRequestHeaders"); h && h->is_mapping())
      for (const auto& e : h->entries) {
        if (!e.value.is_scalar()) continue;
        if (e.value.text.empty()) req.push_back("http-request del-header " + word(e.key));
        else req.push_back("http-request set-header " + word(e.key) + " " + dq(lit(e.value.text)));
      }
    if (const DocNode* h = child(n, "customResponseHeaders"); h && h->is_mapping())
      for (const auto& e : h->entries) {
        if (!e.value.is_scalar()) continue;
        if (e.value.text.empty()) res.push_back("http-response del-header " + word(e.key));
        else res.push_back("http-response set-header " + word(e.key) + " " + dq(lit(e.value.text)));
      }
  }

  // ---- servers ---------------------------------------------------------------------

  void servers(const Router& router, Protocol p, Section& b) {
    for (auto& l : after_lines_) b.lines.push_back(std::move(l));
    after_lines_.clear();
    std::string svc = router.service ? router.service->value : "";
    FlatService flat = flatten_service(config_, p, svc, 256);
    const Pos svc_pos = router.service ? router.service->pos : router.pos;
    for (const auto& t : flat.missing)
      unsupported(t.pos, "service '" + t.value + "' is not defined in these files; its share of the traffic is left out");
    for (const Service* s : flat.mirroring)
      if (reported_services_.insert({s, 1}).second)
        unsupported(s->pos, "service '" + s->name + "' (mirroring): HAProxy 2.6 does not mirror requests; only the main service is rendered");
    for (const Service* s : flat.hashed)
      if (reported_services_.insert({s, 2}).second)
        unsupported(s->pos, "service '" + s->name +
                                "' (highestRandomWeight): rendered as HAProxy's consistent hash of the client address, not Traefik's "
                                "rendezvous hashing (the same client still keeps its server)");
    if (flat.rounded && reported_services_.insert({find_service(config_, p, svc), 3}).second)
      unsupported(svc_pos, "service '" + svc + "': the weights do not fit HAProxy's 1-256 range; they were rounded");
    if (!flat.hashed.empty()) {
      b.lines.push_back("balance source");
      b.lines.push_back("hash-type consistent");
    } else {
      b.lines.push_back("balance roundrobin");
    }
    const Service* lb = flat.balancers.empty() ? nullptr : flat.balancers.front();
    const DocNode* lbn = lb ? child(lb->node, "loadBalancer") : nullptr;
    if (lbn && field(lbn, {"strategy"}) == "p2c") b.lines.back() = "balance random(2)";
    // Settings of the first load balancer apply to the whole backend.
    for (const Service* other : flat.balancers)
      if (other != lb && child(child(other->node, "loadBalancer"), "healthCheck") && reported_services_.insert({other, 4}).second)
        unsupported(other->pos, "service '" + other->name + "': HAProxy applies one health check per backend; the one of service '" +
                                    lb->name + "' is used");
    std::string check;
    if (p == Protocol::http) check = http_health(lbn, b, lb);
    else check = tcp_health(lbn, b);
    bool any_backup = false;
    // Sticky sessions.
    const DocNode* sticky = child(child(lbn, "sticky"), "cookie");
    if (!sticky)
      if (const Service* top = find_service(config_, p, svc))
        sticky = child(child(child(top->node, "weighted"), "sticky"), "cookie");
    if (sticky && p == Protocol::http) {
      std::string cname = field(sticky, {"name"});
      if (cname.empty()) cname = "_" + sanitize(svc);
      std::string l = "cookie " + word(cname) + " insert indirect nocache";
      if (truthy(sticky, "httpOnly")) l += " httponly";
      if (truthy(sticky, "secure")) l += " secure";
      if (std::string d = field(sticky, {"domain"}); !d.empty()) l += " domain " + word(d);
      if (std::string age = field(sticky, {"maxAge"}); !age.empty() && age != "0") l += " maxlife " + word(age + "s");
      if (std::string ss = field(sticky, {"sameSite"}); !ss.empty()) l += " attr " + word("SameSite=" + ss);
      if (std::string path = field(sticky, {"path"}); !path.empty()) l += " attr " + word("Path=" + path);
      b.lines.push_back(l);
    }
    // Transport.
    std::string transport_opts = transport(lb, b);
    // passHostHeader: false sends the server's host.
    bool pass_host = true;
    if (lbn && child(lbn, "passHostHeader")) pass_host = truthy(lbn, "passHostHeader");
    std::set<std::string> hostports;
    int i = 0;
    for (const auto& s : flat.servers) {
      ++i;
      std::string addr, opts;
      if (p == Protocol::http) {
        Url u = parse_url(s.address);
        if (!u.ok) {
          unsupported(s.pos, "server URL '" + s.address + "' cannot be used by HAProxy; left out");
          continue;
        }
        addr = u.host + ":" + std::to_string(u.port);
        hostports.insert(addr);
        if (u.scheme == "https") opts += transport_opts.empty() ? " ssl verify required ca-file @system-ca" : transport_opts;
        if (u.scheme == "https" && transport_opts.find(" sni ") == std::string::npos && !u.host.empty() &&
            !std::isdigit(static_cast<unsigned char>(u.host[0])) && u.host[0] != '[')
          opts += " sni str(" + u.host + ")";
        if (u.scheme == "h2c") opts += " proto h2";
        if (!u.path.empty() && u.path != "/" && truthy(s.node, "preservePath"))
          unsupported(s.pos, "server URL path '" + u.path + "' (preservePath): HAProxy cannot prefix the path per server; left out");
      } else {
        addr = s.address;
        if (truthy(s.node, "tls")) opts += transport_opts.empty() ? " ssl verify required ca-file @system-ca" : transport_opts;
      }
      std::string sname = sanitize(s.service ? s.service->name : "s") + "-" + std::to_string(i);
      std::string l = "server " + sname + " " + addr;
      if (s.weight != 1) l += " weight " + std::to_string(s.weight);
      l += opts + check;
      if (s.backup) {
        l += " backup";
        any_backup = true;
      }
      if (sticky && p == Protocol::http) l += " cookie " + sname;
      b.lines.push_back(l);
    }
    if (any_backup) b.lines.push_back("option allbackups");
    if (!pass_host && p == Protocol::http) {
      if (hostports.size() == 1) {
        std::string hp = *hostports.begin();
        if (hp.ends_with(":80")) hp.resize(hp.size() - 3);
        b.lines.push_back("http-request set-header Host " + word(hp));
      } else if (hostports.size() > 1) {
        unsupported(lb ? lb->pos : svc_pos, "service '" + svc + "' (passHostHeader: false): HAProxy cannot send each server's own host "
                                                              "name; the client's Host is passed");
      }
    }
    if (flat.servers.empty()) b.lines.push_back("# no servers: HAProxy answers 503, as Traefik does");
    if (!flat.failover.empty() && check.empty())
      b.lines.push_back("# failover: the fallback servers take over only when health checks mark the others down");
  }

  // `option httpchk` lines and the server options for a health check.
  std::string http_health(const DocNode* lbn, Section& b, const Service* lb) {
    const DocNode* hc = child(lbn, "healthCheck");
    if (!hc) return {};
    if (field(hc, {"mode"}) == "grpc") {
      unsupported(lb->pos, "service '" + lb->name + "': gRPC health checks are not supported by HAProxy; left out");
      return {};
    }
    std::string path = field(hc, {"path"});
    if (path.empty()) path = "/";
    std::string method = field(hc, {"method"});
    if (method.empty()) method = "GET";
    b.lines.push_back("option httpchk");
    std::string send = "http-check send meth " + word(method) + " uri " + word(path);
    std::string host = field(hc, {"hostname"});
    send += " ver HTTP/1.1";
    if (!host.empty()) send += " hdr Host " + word(host);
    if (const DocNode* h = child(hc, "headers"); h && h->is_mapping())
      for (const auto& e : h->entries)
        if (e.value.is_scalar()) send += " hdr " + word(e.key) + " " + word(e.value.text);
    b.lines.push_back(send);
    if (std::string st = field(hc, {"status"}); !st.empty() && st != "0") b.lines.push_back("http-check expect status " + word(st));
    if (std::string t = hap_time(field(hc, {"timeout"})); !t.empty()) b.lines.push_back("timeout check " + t);
    else b.lines.push_back("timeout check 5s");
    std::string opts = " check";
    std::string inter = hap_time(field(hc, {"interval"}));
    opts += " inter " + (inter.empty() ? std::string("30s") : inter);
    if (std::string down = hap_time(field(hc, {"unhealthyInterval"})); !down.empty()) opts += " downinter " + down;
    opts += " fall 1 rise 1";
    if (std::string port = field(hc, {"port"}); !port.empty() && port != "0") opts += " port " + word(port);
    if (field(hc, {"scheme"}) == "https") opts += " check-ssl verify none";
    if (const DocNode* phc = child(lbn, "passiveHealthCheck")) {
      std::string max = field(phc, {"maxFailedAttempts"});
      opts += " observe layer7 error-limit " + (max.empty() ? std::string("1") : max) + " on-error mark-down";
    }
    return opts;
  }

  std::string tcp_health(const DocNode* lbn, Section& b) {
    const DocNode* hc = child(lbn, "healthCheck");
    if (!hc) return {};
    std::string send = field(hc, {"send"}), expect = field(hc, {"expect"});
    if (!send.empty() || !expect.empty()) {
      b.lines.push_back("option tcp-check");
      if (!send.empty()) b.lines.push_back("tcp-check send " + word(send));
      if (!expect.empty()) b.lines.push_back("tcp-check expect string " + word(expect));
    }
    if (std::string t = hap_time(field(hc, {"timeout"})); !t.empty()) b.lines.push_back("timeout check " + t);
    std::string opts = " check";
    std::string inter = hap_time(field(hc, {"interval"}));
    opts += " inter " + (inter.empty() ? std::string("30s") : inter) + " fall 1 rise 1";
    if (std::string port = field(hc, {"port"}); !port.empty() && port != "0") opts += " port " + word(port);
    return opts;
  }

  // Server options from the load balancer's serversTransport (TLS to the servers, timeouts).
  std::string transport(const Service* lb, Section& b) {
    if (!lb || !lb->servers_transport) return {};
    std::string name = lb->servers_transport->value;
    if (auto at = name.find('@'); at != std::string::npos && name.substr(at + 1) == "file") name = name.substr(0, at);
    const auto& transports = lb->protocol == Protocol::tcp ? config_.tcp.transports : config_.http.transports;
    auto it = transports.find(name);
    if (it == transports.end()) {
      unsupported(lb->servers_transport->pos, "serversTransport '" + name + "' is not defined in these files; left out");
      return {};
    }
    const DocNode* t = it->second.node;
    if (lb->protocol == Protocol::tcp) t = child(t, "tls");
    std::string opts = " ssl";
    if (truthy(t, "insecureSkipVerify")) {
      opts += " verify none";
    } else {
      auto cas = strings(child(t, "rootCAs"));
      opts += " verify required ca-file " + word(cas.empty() ? "@system-ca" : cas.front());
      if (cas.size() > 1)
        unsupported(it->second.pos, "serversTransport '" + name + "': HAProxy takes one CA file per server; only " + cas.front() + " is used");
    }
    if (std::string sn = field(t, {"serverName"}); !sn.empty()) opts += " sni str(" + sanitize(sn) + ")";
    if (child(t, "certificates") || !field(t, {"peerCertURI"}).empty() || child(t, "spiffe"))
      unsupported(it->second.pos, "serversTransport '" + name + "': client certificates, peerCertURI and spiffe are not rendered for HAProxy");
    const DocNode* ft = child(it->second.node, "forwardingTimeouts");
    if (std::string d = hap_time(field(ft, {"dialTimeout"})); !d.empty()) b.lines.push_back("timeout connect " + d);
    if (std::string d = hap_time(field(it->second.node, {"dialTimeout"})); !d.empty()) b.lines.push_back("timeout connect " + d);
    if (std::string d = hap_time(field(ft, {"responseHeaderTimeout"})); !d.empty()) b.lines.push_back("timeout server " + d);
    return opts;
  }

  const LoadedConfig& loaded_;
  const Config& config_;
  const RenderOptions& options_;
  Diagnostics& diags_;
  std::vector<EntryPoint> eps_;
  std::set<std::string> names_{"certroute_not_found"};
  std::vector<Section> sections_, backend_sections_, userlists_, after_backends_;
  std::vector<std::string> response_lines_, after_lines_;
  std::map<const Router*, std::string> backends_, acl_bases_;
  std::set<std::string> acl_base_names_;
  std::vector<std::unique_ptr<Route>> kept_;
  std::set<const Router*> reported_, reported_tls_, reported_resolver_;
  std::set<const RuleExpr*> reported_atoms_;
  std::set<std::pair<const Service*, int>> reported_services_;
  std::vector<SideFile> side_files_;
  std::vector<std::string> cert_paths_;
  bool certs_done_ = false;
  int mw_count_ = 0;
  int sc_count_ = 0;
};

class HaproxyRenderer final : public Renderer {
 public:
  RenderResult render(const LoadedConfig& loaded, const RenderOptions& options, Diagnostics& diags) const override {
    return Haproxy(loaded, options, diags).run();
  }
};

}  // namespace

std::unique_ptr<Renderer> make_haproxy() { return std::make_unique<HaproxyRenderer>(); }

}  // namespace certroute::routes::render
