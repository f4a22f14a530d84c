#include "core/proxy/runtime.hpp"

#include <algorithm>
#include <charconv>
#include <set>

#include <netdb.h>
#include <openssl/evp.h>

#include "core/proxy/net.hpp"

namespace certroute::proxy {

using routes::Code;
using routes::DocNode;

// ---- Exchange ------------------------------------------------------------------

void Exchange::remove_header(std::string_view name) {
  std::erase_if(headers, [&](const http1::Header& h) { return http1::iequals(h.name, name); });
}

void Exchange::set_header(std::string_view name, std::string value) {
  remove_header(name);
  headers.push_back({keep(std::string(name)), keep(std::move(value))});
}

routes::Request to_rule_request(const Exchange& ex) {
  routes::Request r;
  r.host = std::string(ex.host);
  auto p = routes::unescape_path(ex.path);
  r.path = p ? *p : std::string(ex.path);
  r.raw_query = std::string(ex.query);
  r.method = std::string(ex.method);
  r.headers.reserve(ex.headers.size());
  for (const auto& h : ex.headers) {
    if (http1::iequals(h.name, "host")) continue;  // Go keeps Host apart from the other headers
    r.headers.emplace_back(std::string(h.name), std::string(h.value));
  }
  r.client_ip = std::string(ex.client_ip);
  r.sni = std::string(ex.sni);
  return r;
}

// ---- document readers -------------------------------------------------------------

namespace doc {

std::optional<std::string> str(const DocNode* n, std::string_view key) {
  if (!n) return std::nullopt;
  const DocNode* v = n->find(key);
  if (!v || !v->is_scalar()) return std::nullopt;
  return v->text;
}

std::vector<std::string> list(const DocNode* n, std::string_view key) {
  std::vector<std::string> out;
  if (!n) return out;
  const DocNode* v = n->find(key);
  if (!v) return out;
  if (v->is_scalar()) {
    // Traefik's label syntax allows a comma-separated string for a list.
    std::string_view s = v->text;
    while (!s.empty()) {
      auto c = s.find(',');
      std::string_view part = s.substr(0, c);
      while (!part.empty() && part.front() == ' ') part.remove_prefix(1);
      while (!part.empty() && part.back() == ' ') part.remove_suffix(1);
      if (!part.empty()) out.emplace_back(part);
      if (c == std::string_view::npos) break;
      s.remove_prefix(c + 1);
    }
    return out;
  }
  for (const auto& item : v->items)
    if (item.is_scalar()) out.push_back(item.text);
  return out;
}

std::optional<std::int64_t> integer(const DocNode* n, std::string_view key) {
  auto s = str(n, key);
  if (!s) return std::nullopt;
  std::int64_t v = 0;
  auto [end, ec] = std::from_chars(s->data(), s->data() + s->size(), v);
  if (ec != std::errc() || end != s->data() + s->size()) return std::nullopt;
  return v;
}

std::optional<bool> boolean(const DocNode* n, std::string_view key) {
  auto s = str(n, key);
  if (!s) return std::nullopt;
  if (*s == "true" || *s == "True" || *s == "TRUE" || *s == "1") return true;
  if (*s == "false" || *s == "False" || *s == "FALSE" || *s == "0") return false;
  return std::nullopt;
}

std::optional<std::chrono::milliseconds> duration(const DocNode* n, std::string_view key) {
  auto s = str(n, key);
  if (!s) return std::nullopt;
  auto d = parse_duration(*s);
  if (!d) return std::nullopt;
  return *d;
}

std::vector<std::pair<std::string, std::string>> string_map(const DocNode* n, std::string_view key) {
  std::vector<std::pair<std::string, std::string>> out;
  if (!n) return out;
  const DocNode* v = n->find(key);
  if (!v || !v->is_mapping()) return out;
  for (const auto& e : v->entries)
    if (e.value.is_scalar() || e.value.is_null()) out.emplace_back(e.written.empty() ? e.key : e.written, e.value.text);
  return out;
}

}  // namespace doc

// ---- route tables ----------------------------------------------------------------

namespace {

using routes::RuleExpr;

// The hosts a rule can match at most (nullopt: any host).
std::optional<std::set<std::string>> host_set(const RuleExpr& e) {
  switch (e.op) {
    case RuleExpr::Op::matcher:
      if (e.matcher == routes::Matcher::host || e.matcher == routes::Matcher::host_header ||
          e.matcher == routes::Matcher::host_sni) {
        std::set<std::string> s;
        for (const auto& a : e.args) {
          std::string h = a.normalized;
          if (h.size() > 1 && h.back() == '.') h.pop_back();
          s.insert(h);
        }
        return s;
      }
      return std::nullopt;
    case RuleExpr::Op::and_: {
      auto a = host_set(e.children[0]);
      auto b = host_set(e.children[1]);
      if (a && b) {
        std::set<std::string> both;
        for (const auto& h : *a)
          if (b->count(h)) both.insert(h);
        return both;
      }
      return a ? a : b;
    }
    case RuleExpr::Op::or_: {
      auto a = host_set(e.children[0]);
      auto b = host_set(e.children[1]);
      if (!a || !b) return std::nullopt;
      a->insert(b->begin(), b->end());
      return a;
    }
    case RuleExpr::Op::not_:
      return std::nullopt;
  }
  return std::nullopt;
}

// True when the rule is Host matchers joined by || only.
bool hosts_only(const RuleExpr& e) {
  if (e.op == RuleExpr::Op::matcher)
    return e.matcher == routes::Matcher::host || e.matcher == routes::Matcher::host_header;
  if (e.op == RuleExpr::Op::or_) return hosts_only(e.children[0]) && hosts_only(e.children[1]);
  return false;
}

}  // namespace

void RouteTable::build(std::vector<const Route*> ordered) {
  ordered_ = std::move(ordered);
  by_host_.clear();
  generic_.clear();
  std::vector<std::pair<const Route*, std::set<std::string>>> hosted;
  for (const Route* r : ordered_) {
    auto hs = r->entry.rule.root ? host_set(*r->entry.rule.root) : std::nullopt;
    if (hs) hosted.emplace_back(r, std::move(*hs));
    else generic_.push_back(r);
  }
  // Each indexed host gets its own routers merged with the generic ones, in
  // the global order, so the first match is the one Traefik would pick.
  std::set<std::string> all;
  for (const auto& [r, hs] : hosted) all.insert(hs.begin(), hs.end());
  for (const auto& h : all) {
    std::vector<const Route*> list;
    for (const Route* r : ordered_) {
      bool in = false;
      for (const auto& [hr, hs] : hosted)
        if (hr == r) in = hs.count(h) > 0;
      bool generic = std::find(generic_.begin(), generic_.end(), r) != generic_.end();
      if (in || generic) list.push_back(r);
    }
    by_host_.emplace(h, std::move(list));
  }
}

const Route* RouteTable::find(std::string_view canonical_host,
                              const std::function<const routes::Request&()>& request) const {
  const std::vector<const Route*>* list = &generic_;
  if (!by_host_.empty()) {
    auto it = by_host_.find(std::string(canonical_host));
    if (it != by_host_.end()) list = &it->second;
  }
  for (const Route* r : *list) {
    if (r->host_only) return r;  // the index already matched its host
    if (routes::evaluate(r->entry.rule, request()).matched) return r;
  }
  return nullptr;
}

// ---- balancers ---------------------------------------------------------------------

std::string StickyCookie::header_for(std::string_view value) const {
  std::string h = name + "=" + std::string(value) + "; Path=" + (path.empty() ? "/" : path);
  if (!domain.empty()) h += "; Domain=" + domain;
  if (max_age > 0) h += "; Max-Age=" + std::to_string(max_age);
  if (max_age < 0) h += "; Max-Age=0";
  if (http_only) h += "; HttpOnly";
  if (secure) h += "; Secure";
  if (same_site == "none") h += "; SameSite=None";
  else if (same_site == "lax") h += "; SameSite=Lax";
  else if (same_site == "strict") h += "; SameSite=Strict";
  return h;
}

namespace {

// The value of cookie `name` in the request's Cookie headers.
std::string_view cookie_value(const Exchange& ex, std::string_view name) {
  for (const auto& h : ex.headers) {
    if (!http1::iequals(h.name, "cookie")) continue;
    std::string_view s = h.value;
    while (!s.empty()) {
      auto semi = s.find(';');
      std::string_view part = s.substr(0, semi);
      while (!part.empty() && part.front() == ' ') part.remove_prefix(1);
      auto eq = part.find('=');
      if (eq != std::string_view::npos && part.substr(0, eq) == name) {
        std::string_view v = part.substr(eq + 1);
        if (v.size() >= 2 && v.front() == '"' && v.back() == '"') v = v.substr(1, v.size() - 2);
        return v;
      }
      if (semi == std::string_view::npos) break;
      s.remove_prefix(semi + 1);
    }
  }
  return {};
}

std::string sha256_hex(std::string_view s, std::size_t chars) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_Digest(s.data(), s.size(), md, &len, EVP_sha256(), nullptr);
  static const char* hex = "0123456789abcdef";
  std::string out;
  for (unsigned i = 0; i < len && out.size() < chars; ++i) {
    out += hex[md[i] >> 4];
    out += hex[md[i] & 15];
  }
  return out.substr(0, chars);
}

}  // namespace

Server* LoadBalancer::pick(Exchange& ex, std::int64_t now_ms) {
  if (sticky) {
    std::string_view want = cookie_value(ex, sticky->name);
    if (!want.empty())
      for (auto& s : servers)
        if (s->cookie_value == want && s->available(now_ms)) return s.get();
  }
  int i = wrr.next(ex.worker, weights, [&](std::size_t k) { return servers[k]->available(now_ms); });
  if (i < 0) {
    // Every server failed recently: try them anyway rather than fail outright
    // (passive detection may be stale), but never the ones the checker marked down.
    i = wrr.next(ex.worker, weights, [&](std::size_t k) { return servers[k]->healthy.load(std::memory_order_relaxed); });
    if (i < 0) return nullptr;
  }
  Server* s = servers[static_cast<std::size_t>(i)].get();
  if (sticky) ex.set_cookie = sticky->header_for(s->cookie_value);
  return s;
}

bool LoadBalancer::up(std::int64_t now_ms) const {
  for (const auto& s : servers)
    if (s->available(now_ms)) return true;
  return false;
}

Server* WeightedService::pick(Exchange& ex, std::int64_t now_ms) {
  if (sticky) {
    std::string_view want = cookie_value(ex, sticky->name);
    if (!want.empty())
      for (auto& c : children)
        if (c.cookie_value == want && c.service->up(now_ms)) return c.service->pick(ex, now_ms);
  }
  int i = wrr.next(ex.worker, weights, [&](std::size_t k) { return children[k].service->up(now_ms); });
  if (i < 0) i = wrr.next(ex.worker, weights, [](std::size_t) { return true; });
  if (i < 0) return nullptr;
  const Child& c = children[static_cast<std::size_t>(i)];
  Server* s = c.service->pick(ex, now_ms);
  if (sticky && s) {
    std::string inner = ex.set_cookie;
    ex.set_cookie = sticky->header_for(c.cookie_value);
    if (!inner.empty()) ex.set_cookie += "\n" + inner;
  }
  return s;
}

bool WeightedService::up(std::int64_t now_ms) const {
  for (const auto& c : children)
    if (c.service->up(now_ms)) return true;
  return false;
}

Server* FailoverService::pick(Exchange& ex, std::int64_t now_ms) {
  if (main->up(now_ms)) return main->pick(ex, now_ms);
  return fallback->pick(ex, now_ms);
}

Server* TcpService::pick(int worker, std::int64_t now_ms) {
  int i = wrr.next(worker, weights, [&](std::size_t k) { return servers[k]->available(now_ms); });
  if (i < 0) i = wrr.next(worker, weights, [](std::size_t) { return true; });
  return i < 0 ? nullptr : servers[static_cast<std::size_t>(i)].get();
}

bool FailoverService::up(std::int64_t now_ms) const { return main->up(now_ms) || fallback->up(now_ms); }

std::vector<LoadBalancer*> Snapshot::health_checked() const {
  std::vector<LoadBalancer*> out;
  for (const auto& [name, s] : services)
    if (auto* lb = dynamic_cast<LoadBalancer*>(s.get()); lb && lb->health) out.push_back(lb);
  return out;
}

// ---- building ------------------------------------------------------------------------

namespace {

struct Builder {
  routes::LoadedConfig& loaded;
  Snapshot& snap;
  const BuildOptions& options;
  std::set<std::string> building;  // services being built (cycles)

  void error(routes::Pos pos, std::string msg, std::string hint = {}) {
    loaded.diagnostics.add(Code::unsupported_by_proxy, pos, std::move(msg), std::move(hint));
  }

  static std::optional<StickyCookie> read_sticky(const DocNode* parent, const std::string& service) {
    const DocNode* st = parent ? parent->find("sticky") : nullptr;
    if (!st) return std::nullopt;
    const DocNode* c = st->find("cookie");
    StickyCookie k;
    k.name = doc::str(c, "name").value_or("");
    if (k.name.empty()) k.name = "_" + sha256_hex(service, 6);  // Traefik's default: a hash of the service name
    k.secure = doc::boolean(c, "secure").value_or(false);
    k.http_only = doc::boolean(c, "httpOnly").value_or(false);
    k.same_site = doc::str(c, "sameSite").value_or("");
    k.max_age = doc::integer(c, "maxAge").value_or(0);
    k.path = doc::str(c, "path").value_or("/");
    k.domain = doc::str(c, "domain").value_or("");
    return k;
  }

  bool parse_server(const std::string& url, Server& s, std::string& why, bool tcp = false) {
    s.url = url;
    auto colon = url.find("://");
    if (colon == std::string::npos) {
      why = "'" + url + "' is not a URL (write http://host:port)";
      return false;
    }
    s.scheme = url.substr(0, colon);
    for (auto& c : s.scheme) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (s.scheme != "http" && !(tcp && s.scheme == "tcp")) {
      why = "server '" + url + "': the " + s.scheme + ":// scheme is not supported yet (http:// only)";
      return false;
    }
    std::string rest = url.substr(colon + 3);
    auto slash = rest.find_first_of("/?#");
    s.authority = rest.substr(0, slash);
    s.path = slash == std::string::npos ? "" : rest.substr(slash);
    if (auto q = s.path.find_first_of("?#"); q != std::string::npos) s.path.resize(q);
    if (s.path == "/") s.path.clear();
    if (s.authority.find('@') != std::string::npos) {
      why = "server '" + url + "': user information in the URL is not supported";
      return false;
    }
    std::string host = s.authority;
    std::string port;
    if (!host.empty() && host.front() == '[') {
      auto close = host.find(']');
      if (close == std::string::npos) {
        why = "server '" + url + "': unbalanced '['";
        return false;
      }
      if (close + 1 < host.size() && host[close + 1] == ':') port = host.substr(close + 2);
      host = host.substr(1, close - 1);
    } else if (auto c = host.rfind(':'); c != std::string::npos) {
      port = host.substr(c + 1);
      host = host.substr(0, c);
    }
    if (host.empty()) {
      why = "server '" + url + "': no host";
      return false;
    }
    if (tcp && port.empty()) {
      why = "address '" + url.substr(6) + "': no port";
      return false;
    }
    s.host = host;
    s.port = 80;
    if (!port.empty()) {
      unsigned p = 0;
      auto [e, ec] = std::from_chars(port.data(), port.data() + port.size(), p);
      if (ec != std::errc() || e != port.data() + port.size() || p == 0 || p > 65535) {
        why = "server '" + url + "': bad port '" + port + "'";
        return false;
      }
      s.port = static_cast<std::uint16_t>(p);
    }
    s.key = host + ":" + std::to_string(s.port);
    s.key_hash = std::hash<std::string_view>{}(s.key);
    s.cookie_value = sha256_hex(url, 16);
    resolve(s);
    return true;
  }

  static void resolve(Server& s) {
    asio::error_code ec;
    auto addr = asio::ip::make_address(s.host, ec);
    if (!ec) {
      s.endpoints.emplace_back(addr, s.port);
      return;
    }
    if (s.host == "localhost") {
      s.endpoints.emplace_back(asio::ip::address_v4::loopback(), s.port);
      return;
    }
    addrinfo hints{};
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_ADDRCONFIG;
    addrinfo* res = nullptr;
    int rc = ::getaddrinfo(s.host.c_str(), nullptr, &hints, &res);
    if (rc != 0) {
      s.resolve_error = "cannot resolve " + s.host + ": " + gai_strerror(rc);
      return;
    }
    for (addrinfo* a = res; a; a = a->ai_next) {
      if (a->ai_family == AF_INET) {
        auto* sin = reinterpret_cast<sockaddr_in*>(a->ai_addr);
        asio::ip::address_v4::bytes_type b;
        std::memcpy(b.data(), &sin->sin_addr, 4);
        s.endpoints.emplace_back(asio::ip::address_v4(b), s.port);
      } else if (a->ai_family == AF_INET6) {
        auto* sin6 = reinterpret_cast<sockaddr_in6*>(a->ai_addr);
        asio::ip::address_v6::bytes_type b;
        std::memcpy(b.data(), &sin6->sin6_addr, 16);
        s.endpoints.emplace_back(asio::ip::address_v6(b), s.port);
      }
    }
    ::freeaddrinfo(res);
  }

  Service* service(const std::string& qname, routes::Pos ref_pos) {
    if (auto it = snap.services.find(qname); it != snap.services.end()) return it->second.get();
    std::string bare = qname.substr(0, qname.find('@'));
    const auto& defined = loaded.config.http.services;
    auto it = defined.find(bare);
    if (it == defined.end()) it = defined.find(qname);
    if (it == defined.end()) {
      error(ref_pos, "service '" + qname + "' is not defined");
      return nullptr;
    }
    if (!building.insert(qname).second) {
      error(it->second.pos, "service '" + qname + "' refers to itself");
      return nullptr;
    }
    const routes::Service& def = it->second;
    std::unique_ptr<Service> made = build_service(def, qname);
    building.erase(qname);
    if (!made) return nullptr;
    made->name = qname;
    Service* raw = made.get();
    snap.services.emplace(qname, std::move(made));
    return raw;
  }

  std::unique_ptr<Service> build_service(const routes::Service& def, const std::string& qname) {
    if (def.kinds.size() != 1) {
      error(def.pos, "service '" + qname + "' must have exactly one type");
      return nullptr;
    }
    const std::string& kind = def.kinds.front();
    const DocNode* node = def.node ? def.node->find(kind) : nullptr;
    if (kind == "loadBalancer") {
      auto lb = std::make_unique<LoadBalancer>();
      lb->wrr.per_worker.resize(static_cast<std::size_t>(options.workers));
      lb->pass_host_header = doc::boolean(node, "passHostHeader").value_or(true);
      const DocNode* servers = node ? node->find("servers") : nullptr;
      if (servers)
        for (const auto& item : servers->items) {
          auto url = doc::str(&item, "url");
          if (!url) continue;
          auto s = std::make_unique<Server>();
          std::string why;
          if (!parse_server(*url, *s, why)) {
            error(item.pos, "service '" + qname + "': " + why);
            return nullptr;
          }
          s->weight = static_cast<int>(doc::integer(&item, "weight").value_or(1));
          s->preserve_path = doc::boolean(&item, "preservePath").value_or(false);
          // Traefik drops the server URL's path unless preservePath is set.
          if (!s->preserve_path) s->path.clear();
          lb->weights.push_back(s->weight);
          lb->servers.push_back(std::move(s));
        }
      if (lb->servers.empty()) {
        error(def.pos, "service '" + qname + "' has no servers");
        return nullptr;
      }
      if (auto strategy = doc::str(node, "strategy"); strategy && *strategy != "wrr" && !strategy->empty()) {
        error(def.pos, "service '" + qname + "': load-balancing strategy '" + *strategy + "' is not supported (wrr only)");
        return nullptr;
      }
      lb->sticky = read_sticky(node, qname);
      if (const DocNode* hc = node ? node->find("healthCheck") : nullptr) {
        HealthCheck h;
        h.path = doc::str(hc, "path").value_or("/");
        h.method = doc::str(hc, "method").value_or("GET");
        h.hostname = doc::str(hc, "hostname").value_or("");
        h.port = static_cast<int>(doc::integer(hc, "port").value_or(0));
        h.status = static_cast<int>(doc::integer(hc, "status").value_or(0));
        h.interval = doc::duration(hc, "interval").value_or(std::chrono::seconds(30));
        h.unhealthy_interval = doc::duration(hc, "unhealthyInterval").value_or(h.interval);
        h.timeout = doc::duration(hc, "timeout").value_or(std::chrono::seconds(5));
        h.headers = doc::string_map(hc, "headers");
        if (auto mode = doc::str(hc, "mode"); mode && *mode == "grpc") {
          error(def.pos, "service '" + qname + "': gRPC health checks are not supported");
          return nullptr;
        }
        if (h.interval.count() <= 0) h.interval = std::chrono::seconds(30);
        if (h.unhealthy_interval.count() <= 0) h.unhealthy_interval = h.interval;
        lb->health = h;
      }
      if (const DocNode* ph = node ? node->find("passiveHealthCheck") : nullptr) {
        lb->max_failed_attempts = static_cast<int>(doc::integer(ph, "maxFailedAttempts").value_or(1));
        lb->failure_window = doc::duration(ph, "failureWindow").value_or(std::chrono::seconds(10));
      }
      for (auto& s : lb->servers) {
        s->max_failed = std::max(1, lb->max_failed_attempts);
        s->failure_window_ms = lb->failure_window.count();
      }
      return lb;
    }
    if (kind == "weighted") {
      auto w = std::make_unique<WeightedService>();
      w->wrr.per_worker.resize(static_cast<std::size_t>(options.workers));
      const DocNode* list = node ? node->find("services") : nullptr;
      if (list)
        for (const auto& item : list->items) {
          auto name = doc::str(&item, "name");
          if (!name) continue;
          Service* child = service(routes::qualified(*name), item.pos);
          if (!child) return nullptr;
          w->children.push_back({child, *name, sha256_hex(*name, 16)});
          w->weights.push_back(static_cast<int>(doc::integer(&item, "weight").value_or(1)));
        }
      if (w->children.empty()) {
        error(def.pos, "service '" + qname + "' has no weighted services");
        return nullptr;
      }
      w->sticky = read_sticky(node, qname);
      return w;
    }
    if (kind == "failover") {
      auto f = std::make_unique<FailoverService>();
      auto main = doc::str(node, "service");
      auto fb = doc::str(node, "fallback");
      if (!main || !fb) {
        error(def.pos, "service '" + qname + "': failover needs both service and fallback");
        return nullptr;
      }
      f->main = service(routes::qualified(*main), def.pos);
      f->fallback = service(routes::qualified(*fb), def.pos);
      if (!f->main || !f->fallback) return nullptr;
      return f;
    }
    if (kind == "mirroring") {
      auto m = std::make_unique<MirroringService>();
      auto main = doc::str(node, "service");
      if (!main) {
        error(def.pos, "service '" + qname + "': mirroring needs a service");
        return nullptr;
      }
      m->main = service(routes::qualified(*main), def.pos);
      if (!m->main) return nullptr;
      m->mirror_body = doc::boolean(node, "mirrorBody").value_or(true);
      std::int64_t mb = doc::integer(node, "maxBodySize").value_or(-1);
      m->max_body_size = mb < 0 ? 1024 * 1024 : static_cast<std::uint64_t>(mb);
      if (!m->mirror_body) m->max_body_size = 0;
      const DocNode* list = node ? node->find("mirrors") : nullptr;
      if (list)
        for (const auto& item : list->items) {
          auto name = doc::str(&item, "name");
          if (!name) continue;
          Service* child = service(routes::qualified(*name), item.pos);
          if (!child) return nullptr;
          m->mirror_list.push_back({child, static_cast<int>(doc::integer(&item, "percent").value_or(0))});
        }
      return m;
    }
    error(def.pos, "service '" + qname + "': the " + kind + " service type is not supported by the proxy");
    return nullptr;
  }

  // "500-599" or "404" (Traefik's errors.status and statusRewrites keys).
  static bool status_range(std::string_view t, std::pair<int, int>& out) {
    auto dash = t.find('-');
    auto num = [](std::string_view v, int& n) {
      auto [e, ec] = std::from_chars(v.data(), v.data() + v.size(), n);
      return ec == std::errc() && e == v.data() + v.size() && n >= 100 && n <= 599;
    };
    if (dash == std::string_view::npos) {
      if (!num(t, out.first)) return false;
      out.second = out.first;
      return true;
    }
    return num(t.substr(0, dash), out.first) && num(t.substr(dash + 1), out.second) && out.first <= out.second;
  }

  std::unique_ptr<Middleware> errors_middleware(const routes::Middleware& m, const std::string& q) {
    const DocNode* node = m.node ? m.node->find("errors") : nullptr;
    class Errors final : public Middleware {
     public:
      ErrorPages pages;
      void handle(Exchange& ex) const override { ex.errors.push_back(&pages); }
    };
    auto mw = std::make_unique<Errors>();
    for (const auto& st : doc::list(node, "status")) {
      std::pair<int, int> r;
      if (!status_range(st, r)) {
        error(m.pos, "middleware '" + q + "' (errors): status '" + st + "' is not a status or a range like 500-599");
        return nullptr;
      }
      mw->pages.ranges.push_back(r);
    }
    auto svc = doc::str(node, "service");
    if (!svc || mw->pages.ranges.empty()) {
      error(m.pos, "middleware '" + q + "' (errors): status and service are required");
      return nullptr;
    }
    mw->pages.service = service(routes::qualified(*svc), m.pos);
    if (!mw->pages.service) return nullptr;
    mw->pages.query = doc::str(node, "query").value_or("/");
    if (const DocNode* rw = node ? node->find("statusRewrites") : nullptr)
      for (const auto& e : rw->entries) {
        std::pair<int, int> r;
        int to = 0;
        const std::string& key = e.written.empty() ? e.key : e.written;
        auto [p, ec] = std::from_chars(e.value.text.data(), e.value.text.data() + e.value.text.size(), to);
        if (!status_range(key, r) || ec != std::errc() || to < 100 || to > 599) {
          error(e.key_pos, "middleware '" + q + "' (errors): statusRewrites '" + key + "' is not a status rewrite");
          return nullptr;
        }
        mw->pages.rewrites.push_back({r, to});
      }
    return mw;
  }

  // Appends the middlewares of `names` (chains flattened) to out.
  bool middlewares(const std::vector<routes::Text>& names, std::vector<const Middleware*>& out, int depth) {
    if (depth > 16) return false;
    for (const auto& t : names) {
      std::string q = routes::qualified(t.value);
      std::string bare = q.substr(0, q.find('@'));
      const auto& defined = loaded.config.http.middlewares;
      auto it = defined.find(bare);
      if (it == defined.end()) it = defined.find(q);
      if (it == defined.end()) {
        error(t.pos, "middleware '" + q + "' is not defined");
        return false;
      }
      const routes::Middleware& m = it->second;
      if (m.kinds.size() != 1) {
        error(m.pos, "middleware '" + q + "' must have exactly one type");
        return false;
      }
      if (m.kinds.front() == "chain") {
        if (!middlewares(m.chain, out, depth + 1)) {
          if (depth == 15) error(m.pos, "middleware chain '" + q + "' is nested too deeply (a cycle?)");
          return false;
        }
        continue;
      }
      auto made = snap.middlewares.find(q);
      if (made == snap.middlewares.end() && m.kinds.front() == "errors") {
        auto mw = errors_middleware(m, q);
        if (!mw) return false;
        made = snap.middlewares.emplace(q, std::move(mw)).first;
      }
      if (made == snap.middlewares.end()) {
        std::string why;
        const DocNode* node = m.node ? m.node->find(m.kinds.front()) : nullptr;
        static const DocNode empty;
        auto mw = make_middleware(m.kinds.front(), node ? *node : empty, why);
        if (!mw) {
          error(m.pos, "middleware '" + q + "' (" + m.kinds.front() + "): " + why,
                "remove it from the routers that use it, or serve this configuration with Traefik");
          return false;
        }
        made = snap.middlewares.emplace(q, std::move(mw)).first;
      }
      out.push_back(made->second.get());
    }
    return true;
  }

  TcpService* tcp_service(const std::string& qname, routes::Pos ref_pos) {
    if (auto it = snap.tcp_services.find(qname); it != snap.tcp_services.end()) return it->second.get();
    std::string bare = qname.substr(0, qname.find('@'));
    const auto& defined = loaded.config.tcp.services;
    auto it = defined.find(bare);
    if (it == defined.end()) it = defined.find(qname);
    if (it == defined.end()) {
      error(ref_pos, "TCP service '" + qname + "' is not defined");
      return nullptr;
    }
    const routes::Service& def = it->second;
    if (def.kinds.size() != 1 || def.kinds.front() != "loadBalancer") {
      error(def.pos, "TCP service '" + qname + "': only loadBalancer TCP services are supported by the proxy");
      return nullptr;
    }
    const DocNode* node = def.node ? def.node->find("loadBalancer") : nullptr;
    auto svc = std::make_unique<TcpService>();
    svc->name = qname;
    svc->wrr.per_worker.resize(static_cast<std::size_t>(options.workers));
    if (node && (node->find("proxyProtocol") || node->find("serversTransport"))) {
      error(def.pos, "TCP service '" + qname + "': proxyProtocol and serversTransport are not supported by the proxy");
      return nullptr;
    }
    if (const DocNode* servers = node ? node->find("servers") : nullptr)
      for (const auto& item : servers->items) {
        auto address = doc::str(&item, "address");
        if (!address) continue;
        if (doc::boolean(&item, "tls").value_or(false)) {
          error(item.pos, "TCP service '" + qname + "': TLS to the server (tls: true) is not supported by the proxy");
          return nullptr;
        }
        auto s = std::make_unique<Server>();
        std::string why;
        if (!parse_server("tcp://" + *address, *s, why, true)) {
          error(item.pos, "TCP service '" + qname + "': " + why);
          return nullptr;
        }
        s->url = *address;
        s->weight = static_cast<int>(doc::integer(&item, "weight").value_or(1));
        svc->weights.push_back(s->weight);
        svc->servers.push_back(std::move(s));
      }
    if (svc->servers.empty()) {
      error(def.pos, "TCP service '" + qname + "' has no servers");
      return nullptr;
    }
    TcpService* raw = svc.get();
    snap.tcp_services.emplace(qname, std::move(svc));
    return raw;
  }

  void tcp_routers() {
    std::vector<routes::RouteEntry> entries = routes::compile_routes(loaded.config, routes::Protocol::tcp);
    for (auto& e : entries) {
      const routes::Router& r = *e.router;
      std::string q = routes::qualified(r.name);
      if (!r.rule || !e.rule.ok() || e.templated) continue;
      if (!r.middlewares.empty()) {
        error(r.pos, "TCP router '" + q + "': TCP middlewares are not supported by the proxy");
        continue;
      }
      if (!r.service) {
        error(r.pos, "TCP router '" + q + "' has no service");
        continue;
      }
      auto route = std::make_unique<TcpRoute>();
      route->name = q;
      route->tls = r.tls;
      route->passthrough = r.tls_passthrough;
      if (r.tls_options) route->tls_options = routes::qualified(r.tls_options->value);
      if (e.rule.root)
        if (auto hs = host_set(*e.rule.root)) route->hosts.assign(hs->begin(), hs->end());
      route->service = tcp_service(routes::qualified(r.service->value), r.service->pos);
      if (!route->service) continue;
      route->entry = std::move(e);
      snap.tcp_routes.push_back(std::move(route));
    }
  }

  void run() {
    std::vector<routes::RouteEntry> entries = routes::compile_routes(loaded.config, routes::Protocol::http);
    for (auto& e : entries) {
      const routes::Router& r = *e.router;
      std::string q = routes::qualified(r.name);
      if (!r.rule || !e.rule.ok() || e.templated) continue;  // Traefik skips routers whose rule does not parse
      auto route = std::make_unique<Route>();
      route->name = q;
      route->tls = r.tls;
      route->host_only = e.rule.root && hosts_only(*e.rule.root);
      if (e.rule.root)
        if (auto hs = host_set(*e.rule.root)) route->hosts.assign(hs->begin(), hs->end());
      if (r.tls_options) route->tls_options = routes::qualified(r.tls_options->value);
      if (!middlewares(r.middlewares, route->middlewares, 0)) continue;
      if (!r.service) {
        error(r.pos, "router '" + q + "' has no service");
        continue;
      }
      route->service = service(routes::qualified(r.service->value), r.service->pos);
      if (!route->service) continue;
      route->entry = std::move(e);
      snap.routes.push_back(std::move(route));
    }
    tcp_routers();
    for (const auto& [name, r] : loaded.config.udp.routers)
      error(r.pos, "UDP router '" + name + "': UDP routers are not supported by the proxy");

    for (const auto& ep : options.entry_points) {
      std::vector<const Route*> plain, secure;
      for (const auto& r : snap.routes) {
        const auto& eps = r->entry.router->entry_points;
        bool on = eps.empty() ||
                  std::any_of(eps.begin(), eps.end(), [&](const routes::Text& t) { return t.value == ep.name; });
        if (!on) continue;
        (r->tls ? secure : plain).push_back(r.get());
      }
      auto& t = snap.entry_points[ep.name];
      t.plain.build(std::move(plain));
      t.secure.build(std::move(secure));
      for (const auto& r : snap.tcp_routes) {
        const auto& eps = r->entry.router->entry_points;
        if (eps.empty() ||
            std::any_of(eps.begin(), eps.end(), [&](const routes::Text& x) { return x.value == ep.name; }))
          t.tcp.push_back(r.get());
      }
    }
  }
};

}  // namespace

std::shared_ptr<Snapshot> build_snapshot(routes::LoadedConfig loaded, const BuildOptions& options) {
  auto snap = std::make_shared<Snapshot>();
  snap->loaded = std::move(loaded);
  Builder b{snap->loaded, *snap, options, {}};
  b.run();
  return snap;
}

}  // namespace certroute::proxy
