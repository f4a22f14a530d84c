// The HTTP middlewares the proxy implements, each with the fields Traefik
// defines for it. Anything else is refused when the configuration is built.
#include <algorithm>
#include <atomic>
#include <cmath>
#include <memory>
#include <mutex>
#include <unordered_map>

#include <openssl/evp.h>
#include <re2/re2.h>

#include "core/proxy/compress.hpp"
#include "core/proxy/htpasswd.hpp"
#include "core/proxy/runtime.hpp"
#include "core/routes/gocompat.hpp"
#include "core/routes/ip.hpp"
#include "core/util/file.hpp"

namespace certroute::proxy {

using routes::DocNode;

namespace {

std::string lower(std::string_view s) {
  std::string o(s);
  for (auto& c : o) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return o;
}

std::string_view ensure_leading_slash(Exchange& ex, std::string_view p) {
  if (!p.empty() && p.front() == '/') return p;
  return ex.keep("/" + std::string(p));
}

// Go's regexp replacement template ("$1", "${1}", "${name}") in RE2's form
// ("\1"): named groups through the regexp's names, and a group RE2 cannot
// refer to (unknown, or above \9) replaced by nothing.
std::string go_template_to_re2(const RE2& re, std::string_view t) {
  const auto& named = re.NamedCapturingGroups();
  routes::gocompat::BackrefOptions o;
  o.groups = re.NumberOfCapturingGroups();
  o.named = [&](std::string_view name) {
    auto it = named.find(std::string(name));
    return it == named.end() ? -1 : it->second;
  };
  o.drop_above_nine = true;
  return *routes::gocompat::go_template_to_backrefs(t, o);
}

std::unique_ptr<RE2> compile(const std::string& pattern, std::string& error) {
  RE2::Options o;
  o.set_log_errors(false);
  auto re = std::make_unique<RE2>(pattern, o);
  if (!re->ok()) {
    error = "invalid regular expression '" + pattern + "': " + re->error();
    return nullptr;
  }
  return re;
}

std::string full_url(const Exchange& ex) {
  std::string u = ex.tls ? "https://" : "http://";
  u += ex.host;
  u += ex.path;
  if (ex.has_query) {
    u += '?';
    u += ex.query;
  }
  return u;
}

// The status of a redirect, as Traefik v3 picks it: 301/302 for GET, 308/307
// for every other method (HEAD included: Traefik compares with GET only).
int redirect_status(const Exchange& ex, bool permanent) {
  bool get = ex.method == "GET";
  if (permanent) return get ? 301 : 308;
  return get ? 302 : 307;
}

// Answers the request with `r`. The response headers of the middlewares that
// ran before (a headers middleware in front of basicAuth, a redirect...) apply
// to this answer too, as they wrap what comes after them in Traefik; they are
// moved into the reply so nothing applies them twice.
void answer(Exchange& ex, Reply r) {
  for (const auto& [k, v] : ex.response_set) {
    std::erase_if(r.headers, [&](const auto& h) { return http1::iequals(h.first, k); });
    if (!v.empty()) r.headers.emplace_back(std::string(k), std::string(v));
  }
  for (const auto& [k, v] : ex.response_add) r.headers.emplace_back(std::string(k), std::string(v));
  ex.response_set.clear();
  ex.response_add.clear();
  ex.reply = std::move(r);
}

void redirect(Exchange& ex, std::string location, bool permanent) {
  Reply r;
  r.status = redirect_status(ex, permanent);
  r.headers.emplace_back("Location", location);
  r.body = std::string(http1::reason_phrase(r.status));
  answer(ex, std::move(r));
}

void deny(Exchange& ex, int status, std::string body = {}) {
  Reply r;
  r.status = status;
  r.body = body.empty() ? std::string(http1::reason_phrase(status)) : std::move(body);
  answer(ex, std::move(r));
}

// ---- path rewriting --------------------------------------------------------------

class StripPrefix final : public Middleware {
 public:
  std::vector<std::string> prefixes;
  void handle(Exchange& ex) const override {
    for (const auto& p : prefixes) {
      if (!p.empty() && ex.path.starts_with(p)) {
        ex.path = ensure_leading_slash(ex, ex.path.substr(p.size()));
        ex.set_header("X-Forwarded-Prefix", p);
        return;
      }
    }
  }
};

class StripPrefixRegex final : public Middleware {
 public:
  std::vector<std::unique_ptr<RE2>> regexes;
  void handle(Exchange& ex) const override {
    for (const auto& re : regexes) {
      re2::StringPiece in(ex.path.data(), ex.path.size());
      re2::StringPiece m;
      if (!re->Match(in, 0, in.size(), RE2::UNANCHORED, &m, 1)) continue;
      // Traefik strips the match only when it is a prefix of the path.
      if (m.data() != ex.path.data()) continue;
      std::string prefix(m.data(), m.size());
      ex.path = ensure_leading_slash(ex, ex.path.substr(m.size()));
      ex.set_header("X-Forwarded-Prefix", prefix);
      return;
    }
  }
};

class AddPrefix final : public Middleware {
 public:
  std::string prefix;
  void handle(Exchange& ex) const override { ex.path = ex.keep(prefix + std::string(ex.path)); }
};

class ReplacePath final : public Middleware {
 public:
  std::string path;
  void handle(Exchange& ex) const override {
    ex.set_header("X-Replaced-Path", std::string(ex.path));
    ex.path = path;
  }
};

class ReplacePathRegex final : public Middleware {
 public:
  std::unique_ptr<RE2> re;
  std::string rewrite;
  void handle(Exchange& ex) const override {
    std::string p(ex.path);
    if (rewrite.empty() || !RE2::PartialMatch(p, *re)) return;  // Traefik: no replacement, no change
    std::string original = p;
    RE2::GlobalReplace(&p, *re, rewrite);
    ex.set_header("X-Replaced-Path", original);
    ex.path = ensure_leading_slash(ex, ex.keep(std::move(p)));
  }
};

// ---- redirects ---------------------------------------------------------------------

class RedirectScheme final : public Middleware {
 public:
  std::string scheme = "https";
  std::string port;
  bool permanent = false;
  void handle(Exchange& ex) const override {
    bool tls_now = ex.tls;
    bool want_tls = scheme == "https" || scheme == "wss";
    std::string host = std::string(ex.host);
    std::string bare = host;
    if (!bare.empty() && bare.front() == '[') {
      auto c = bare.find(']');
      bare = bare.substr(0, c == std::string::npos ? bare.size() : c + 1);
    } else if (std::count(bare.begin(), bare.end(), ':') == 1) {
      bare = bare.substr(0, bare.find(':'));
    }
    std::string cur_port = host.size() > bare.size() ? host.substr(bare.size() + 1) : "";
    if (tls_now == want_tls && (port.empty() || port == cur_port)) return;  // already there
    std::string p = port;
    if ((scheme == "https" && p == "443") || (scheme == "http" && p == "80")) p.clear();
    std::string loc = scheme + "://" + bare + (p.empty() ? "" : ":" + p) + std::string(ex.path);
    if (ex.has_query) loc += "?" + std::string(ex.query);
    redirect(ex, loc, permanent);
  }
};

class RedirectRegex final : public Middleware {
 public:
  std::unique_ptr<RE2> re;
  std::string rewrite;
  bool permanent = false;
  void handle(Exchange& ex) const override {
    std::string url = full_url(ex);
    if (!RE2::PartialMatch(url, *re)) return;
    // Go's ReplaceAllString: every match, not only the first.
    std::string out = url;
    RE2::GlobalReplace(&out, *re, rewrite);
    if (out == url) return;  // Traefik passes the request on when the URL is unchanged
    redirect(ex, out, permanent);
  }
};

// ---- headers -----------------------------------------------------------------------

class Headers final : public Middleware {
 public:
  std::vector<std::pair<std::string, std::string>> request_headers, response_headers;
  // security
  std::vector<std::pair<std::string, std::string>> security;  // static response headers
  std::int64_t sts_seconds = 0;
  bool sts_subdomains = false, sts_preload = false, force_sts = false;
  std::vector<std::string> allowed_hosts;
  // CORS
  std::vector<std::string> allow_origins;
  std::vector<std::unique_ptr<RE2>> allow_origin_regex;
  std::string allow_methods, allow_headers, expose_headers;
  std::int64_t max_age = 0;
  bool allow_credentials = false;
  bool add_vary = false;
  bool cors = false;

  bool origin_allowed(std::string_view origin, std::string& echoed) const {
    for (const auto& o : allow_origins) {
      if (o == "*") {
        echoed = "*";
        return true;
      }
      if (o == origin) {
        echoed = std::string(origin);
        return true;
      }
    }
    for (const auto& re : allow_origin_regex)
      if (RE2::PartialMatch(re2::StringPiece(origin.data(), origin.size()), *re)) {
        echoed = std::string(origin);
        return true;
      }
    return false;
  }

  void handle(Exchange& ex) const override {
    if (!allowed_hosts.empty()) {
      std::string h = lower(ex.host);
      if (std::none_of(allowed_hosts.begin(), allowed_hosts.end(), [&](const std::string& a) { return lower(a) == h; })) {
        deny(ex, 500, "Bad Host");
        return;
      }
    }
    bool has_origin = false;
    std::string_view origin = ex.header("Origin", &has_origin);
    if (cors && has_origin && ex.method == "OPTIONS" && !ex.header("Access-Control-Request-Method").empty()) {
      // A preflight: answered here, as Traefik does (the origin decides
      // Access-Control-Allow-Origin only; the browser checks it).
      Reply r;
      r.status = 200;
      std::string echoed;
      if (allow_credentials) r.headers.emplace_back("Access-Control-Allow-Credentials", "true");
      if (!allow_headers.empty()) r.headers.emplace_back("Access-Control-Allow-Headers", allow_headers);
      if (!allow_methods.empty()) r.headers.emplace_back("Access-Control-Allow-Methods", allow_methods);
      if (origin_allowed(origin, echoed)) r.headers.emplace_back("Access-Control-Allow-Origin", echoed);
      r.headers.emplace_back("Access-Control-Max-Age", std::to_string(max_age));
      r.body.clear();
      answer(ex, std::move(r));
      return;
    }
    for (const auto& [k, v] : request_headers) {
      if (v.empty()) ex.remove_header(k);
      else if (http1::iequals(k, "host")) ex.host = ex.keep(v);  // Traefik sets the request's Host
      else ex.set_header(k, v);
    }
    for (const auto& [k, v] : response_headers) ex.response_set.emplace_back(k, v);
    for (const auto& [k, v] : security) ex.response_set.emplace_back(k, v);
    if (sts_seconds > 0 && (ex.tls || force_sts)) {
      std::string v = "max-age=" + std::to_string(sts_seconds);
      if (sts_subdomains) v += "; includeSubDomains";
      if (sts_preload) v += "; preload";
      ex.response_set.emplace_back("Strict-Transport-Security", ex.keep(std::move(v)));
    }
    if (cors) {
      std::string echoed;
      if (has_origin && origin_allowed(origin, echoed))
        ex.response_set.emplace_back("Access-Control-Allow-Origin", ex.keep(std::move(echoed)));
      // As Traefik: these, and Vary, whether or not the request had an Origin
      // (a cache must not hand this answer to a cross-origin request).
      if (allow_credentials) ex.response_set.emplace_back("Access-Control-Allow-Credentials", "true");
      if (!expose_headers.empty()) ex.response_set.emplace_back("Access-Control-Expose-Headers", expose_headers);
      if (add_vary) ex.response_add.emplace_back("Vary", "Origin");
    }
  }
};

// ---- access control -------------------------------------------------------------------

std::optional<std::string> b64decode(std::string_view in) {
  if (in.size() % 4 != 0) return std::nullopt;
  std::string out(in.size() / 4 * 3, '\0');
  int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()), reinterpret_cast<const unsigned char*>(in.data()),
                          static_cast<int>(in.size()));
  if (n < 0) return std::nullopt;
  std::size_t pad = 0;
  if (!in.empty() && in.back() == '=') ++pad;
  if (in.size() > 1 && in[in.size() - 2] == '=') ++pad;
  out.resize(static_cast<std::size_t>(n) - pad);
  return out;
}

class BasicAuth final : public Middleware {
 public:
  std::vector<HtpasswdUser> users;
  std::string realm = "traefik";
  std::string header_field;
  bool remove_header = false;

  void handle(Exchange& ex) const override {
    std::string_view auth = ex.header("Authorization");
    std::string user;
    bool ok = false;
    if (auth.size() > 6 && lower(auth.substr(0, 6)) == "basic ") {
      std::string_view b64 = auth.substr(6);
      while (!b64.empty() && b64.front() == ' ') b64.remove_prefix(1);
      if (auto dec = b64decode(b64)) {
        auto colon = dec->find(':');
        if (colon != std::string::npos) {
          user = dec->substr(0, colon);
          std::string pass = dec->substr(colon + 1);
          for (const auto& u : users)
            if (constant_time_equals(u.user, user) && verify_password(pass, u.hash)) ok = true;
        }
      }
    }
    if (!ok) {
      Reply r;
      r.status = 401;
      r.headers.emplace_back("WWW-Authenticate", "Basic realm=\"" + realm + "\"");
      r.body = "401 Unauthorized";
      answer(ex, std::move(r));
      return;
    }
    if (remove_header) ex.remove_header("Authorization");
    if (!header_field.empty()) ex.set_header(header_field, user);
  }
};

// The client address a middleware keys on: the peer, or with ipStrategy the
// depth-th X-Forwarded-For entry from the right, or the right-most one not in
// excludedIPs.
struct IpStrategy {
  int depth = 0;
  std::vector<routes::IpNetwork> excluded;
  bool set = false;

  std::string client(const Exchange& ex) const {
    if (!set || (depth <= 0 && excluded.empty())) return std::string(ex.client_ip);
    std::vector<std::string> xff;
    for (const auto& h : ex.headers) {
      if (!http1::iequals(h.name, "X-Forwarded-For")) continue;
      std::string_view s = h.value;
      while (true) {
        auto c = s.find(',');
        std::string_view part = s.substr(0, c);
        while (!part.empty() && (part.front() == ' ' || part.front() == '\t')) part.remove_prefix(1);
        while (!part.empty() && (part.back() == ' ' || part.back() == '\t')) part.remove_suffix(1);
        xff.emplace_back(part);
        if (c == std::string_view::npos) break;
        s.remove_prefix(c + 1);
      }
    }
    if (depth > 0) {
      if (static_cast<std::size_t>(depth) > xff.size()) return "";
      return xff[xff.size() - static_cast<std::size_t>(depth)];
    }
    for (auto it = xff.rbegin(); it != xff.rend(); ++it) {
      auto ip = routes::parse_ip(*it);
      if (!ip) return "";
      bool ex_ip = std::any_of(excluded.begin(), excluded.end(), [&](const routes::IpNetwork& n) { return n.contains(*ip); });
      if (!ex_ip) return *it;
    }
    return "";
  }
};

IpStrategy read_ip_strategy(const DocNode& node) {
  IpStrategy s;
  const DocNode* st = node.find("ipStrategy");
  if (!st) return s;
  s.set = true;
  s.depth = static_cast<int>(doc::integer(st, "depth").value_or(0));
  for (const auto& r : doc::list(st, "excludedIPs"))
    if (auto n = routes::parse_ip_network(r)) s.excluded.push_back(*n);
  return s;
}

class IpAllowList final : public Middleware {
 public:
  std::vector<routes::IpNetwork> ranges;
  IpStrategy strategy;
  int reject_status = 403;
  void handle(Exchange& ex) const override {
    std::string ip = strategy.client(ex);
    auto addr = routes::parse_ip(ip);
    if (addr && std::any_of(ranges.begin(), ranges.end(), [&](const routes::IpNetwork& n) { return n.contains(*addr); }))
      return;
    deny(ex, reject_status, "Forbidden");
  }
};

// A duration the way Go's time.Duration prints it ("1.5s", "250ms",
// "2m0.5s"): Traefik's X-Retry-In header.
std::string go_duration(std::int64_t ns) {
  if (ns <= 0) return "0s";
  // The digits of v's last `prec` places as ".ddd" without trailing zeros
  // (nothing when they are all zero), and what is left of v.
  auto fraction = [](std::uint64_t v, int prec) {
    std::string digits;
    bool seen = false;
    for (int i = 0; i < prec; ++i, v /= 10) {
      const char d = static_cast<char>('0' + v % 10);
      seen = seen || d != '0';
      if (seen) digits.insert(digits.begin(), d);
    }
    return std::pair{seen ? "." + digits : std::string(), v};
  };
  const auto u = static_cast<std::uint64_t>(ns);
  if (u < 1000000000) {
    const bool nanos = u < 1000, micros = u < 1000000;
    auto [frac, whole] = fraction(u, nanos ? 0 : micros ? 3 : 6);
    return std::to_string(whole) + frac + (nanos ? "ns" : micros ? "\u00b5s" : "ms");
  }
  auto [frac, secs] = fraction(u, 9);
  std::string out = std::to_string(secs % 60) + frac + "s";
  if (const std::uint64_t mins = secs / 60) {
    out = std::to_string(mins % 60) + "m" + out;
    if (mins / 60) out = std::to_string(mins / 60) + "h" + out;
  }
  return out;
}

// Source criterion for rateLimit and inFlightReq.
struct SourceCriterion {
  IpStrategy strategy;
  std::string header;
  bool request_host = false;
  std::string key(const Exchange& ex) const {
    if (!header.empty()) return std::string(ex.header(header));
    if (request_host) return std::string(ex.host);
    return strategy.client(ex);
  }
};

SourceCriterion read_source(const DocNode& node) {
  SourceCriterion c;
  const DocNode* sc = node.find("sourceCriterion");
  if (!sc) return c;
  c.strategy = read_ip_strategy(*sc);
  c.header = doc::str(sc, "requestHeaderName").value_or("");
  c.request_host = doc::boolean(sc, "requestHost").value_or(false);
  return c;
}

// Token buckets per source, shared by every worker (the limit is the
// process's, as Traefik's is the instance's). Only routes using rateLimit
// take this lock. As Traefik's (golang.org/x/time/rate reservations): a
// request whose token comes within max_delay waits for it (the bucket goes
// below zero, so later requests queue behind it); one that would wait longer
// is refused with 429, Retry-After and X-Retry-In, and takes no token.
class RateLimit final : public Middleware {
 public:
  double rate = 0;   // tokens per second (average / period)
  double burst = 1;
  double max_delay = 0;  // seconds
  SourceCriterion source;

  void handle(Exchange& ex) const override {
    if (rate <= 0) return;  // Traefik: average 0 means no limit
    std::string key = source.key(ex);
    auto now = Clock::now();
    std::lock_guard lock(mu_);
    auto [it, fresh] = buckets_.try_emplace(key, Bucket{burst, now});
    Bucket& b = it->second;
    if (!fresh) {
      double dt = std::chrono::duration<double>(now - b.last).count();
      b.tokens = std::min(burst, b.tokens + dt * rate);
      b.last = now;
    }
    if (b.tokens >= 1) {
      b.tokens -= 1;
      return;
    }
    const double wait = (1 - b.tokens) / rate;  // seconds until this request's token
    if (wait <= max_delay) {
      b.tokens -= 1;
      ex.delay = std::chrono::microseconds(static_cast<std::int64_t>(std::ceil(wait * 1e6)));
      return;
    }
    Reply r;
    r.status = 429;
    r.headers.emplace_back("Retry-After", std::to_string(static_cast<long long>(std::ceil(wait))));
    r.headers.emplace_back("X-Retry-In", go_duration(static_cast<std::int64_t>(wait * 1e9)));
    r.body = "Too Many Requests";
    answer(ex, std::move(r));
    if (buckets_.size() > 100000) prune(now);
  }

 private:
  struct Bucket {
    double tokens;
    Clock::time_point last;
  };
  void prune(Clock::time_point now) const {
    std::erase_if(buckets_, [&](const auto& kv) {
      return std::chrono::duration<double>(now - kv.second.last).count() * rate >= burst;
    });
  }
  mutable std::mutex mu_;
  mutable std::unordered_map<std::string, Bucket> buckets_;
};

class InFlightReq final : public Middleware {
 public:
  std::int64_t amount = 0;
  SourceCriterion source;
  void handle(Exchange& ex) const override {
    if (amount <= 0) return;
    std::string key = source.key(ex);
    {
      std::lock_guard lock(state_->mu);
      auto& n = state_->count[key];
      if (n >= amount) {
        deny(ex, 429, "Too Many Requests");
        return;
      }
      ++n;
    }
    auto state = state_;
    ex.on_done.emplace_back([state, key] {
      std::lock_guard lock(state->mu);
      auto it = state->count.find(key);
      if (it != state->count.end() && --it->second <= 0) state->count.erase(it);
    });
  }

 private:
  struct State {
    std::mutex mu;
    std::unordered_map<std::string, std::int64_t> count;
  };
  // Shared so a request outliving a reload still releases its slot.
  std::shared_ptr<State> state_ = std::make_shared<State>();
};

// ---- behaviour ---------------------------------------------------------------------------

class Buffering final : public Middleware {
 public:
  std::uint64_t max_request = 0;
  void handle(Exchange& ex) const override {
    if (max_request > 0 && (ex.max_body == 0 || max_request < ex.max_body)) ex.max_body = max_request;
  }
};

class Retry final : public Middleware {
 public:
  int attempts = 1;
  std::chrono::milliseconds interval{100};
  void handle(Exchange& ex) const override {
    ex.attempts = std::max(ex.attempts, attempts);
    ex.retry_interval = interval;
  }
};

}  // namespace

std::unique_ptr<Middleware> make_middleware(const std::string& kind, const DocNode& node, std::string& error) {
  const DocNode* n = &node;
  if (kind == "stripPrefix") {
    auto m = std::make_unique<StripPrefix>();
    m->prefixes = doc::list(n, "prefixes");
    return m;
  }
  if (kind == "stripPrefixRegex") {
    auto m = std::make_unique<StripPrefixRegex>();
    for (const auto& r : doc::list(n, "regex")) {
      auto re = compile(r, error);
      if (!re) return nullptr;
      m->regexes.push_back(std::move(re));
    }
    return m;
  }
  if (kind == "addPrefix") {
    auto m = std::make_unique<AddPrefix>();
    m->prefix = doc::str(n, "prefix").value_or("");
    if (m->prefix.empty() || m->prefix.front() != '/') {
      error = "prefix must start with '/'";
      return nullptr;
    }
    return m;
  }
  if (kind == "replacePath") {
    auto m = std::make_unique<ReplacePath>();
    m->path = doc::str(n, "path").value_or("");
    return m;
  }
  if (kind == "replacePathRegex") {
    auto m = std::make_unique<ReplacePathRegex>();
    m->re = compile(doc::str(n, "regex").value_or(""), error);
    if (!m->re) return nullptr;
    m->rewrite = go_template_to_re2(*m->re, doc::str(n, "replacement").value_or(""));
    return m;
  }
  if (kind == "redirectScheme") {
    auto m = std::make_unique<RedirectScheme>();
    m->scheme = doc::str(n, "scheme").value_or("");
    if (m->scheme.empty()) {
      error = "scheme is required";
      return nullptr;
    }
    m->port = doc::str(n, "port").value_or("");
    m->permanent = doc::boolean(n, "permanent").value_or(false);
    return m;
  }
  if (kind == "redirectRegex") {
    auto m = std::make_unique<RedirectRegex>();
    m->re = compile(doc::str(n, "regex").value_or(""), error);
    if (!m->re) return nullptr;
    m->rewrite = go_template_to_re2(*m->re, doc::str(n, "replacement").value_or(""));
    m->permanent = doc::boolean(n, "permanent").value_or(false);
    return m;
  }
  if (kind == "headers") {
    auto m = std::make_unique<Headers>();
    m->request_headers = doc::string_map(n, "customRequestHeaders");
    m->response_headers = doc::string_map(n, "customResponseHeaders");
    auto add = [&](const char* field, const char* header, std::string fixed = {}) {
      if (fixed.empty()) {
        auto v = doc::str(n, field);
        if (v && !v->empty()) m->security.emplace_back(header, *v);
      } else if (doc::boolean(n, field).value_or(false)) {
        m->security.emplace_back(header, fixed);
      }
    };
    if (auto v = doc::str(n, "customFrameOptionsValue"); v && !v->empty()) m->security.emplace_back("X-Frame-Options", *v);
    else add("frameDeny", "X-Frame-Options", "DENY");
    add("contentTypeNosniff", "X-Content-Type-Options", "nosniff");
    if (auto v = doc::str(n, "customBrowserXSSValue"); v && !v->empty()) m->security.emplace_back("X-XSS-Protection", *v);
    else add("browserXssFilter", "X-XSS-Protection", "1; mode=block");
    add("contentSecurityPolicy", "Content-Security-Policy");
    add("contentSecurityPolicyReportOnly", "Content-Security-Policy-Report-Only");
    add("referrerPolicy", "Referrer-Policy");
    add("permissionsPolicy", "Permissions-Policy");
    add("publicKey", "Public-Key-Pins");
    m->sts_seconds = doc::integer(n, "stsSeconds").value_or(0);
    m->sts_subdomains = doc::boolean(n, "stsIncludeSubdomains").value_or(false);
    m->sts_preload = doc::boolean(n, "stsPreload").value_or(false);
    m->force_sts = doc::boolean(n, "forceSTSHeader").value_or(false);
    m->allowed_hosts = doc::list(n, "allowedHosts");
    m->allow_origins = doc::list(n, "accessControlAllowOriginList");
    for (const auto& r : doc::list(n, "accessControlAllowOriginListRegex")) {
      auto re = compile(r, error);
      if (!re) return nullptr;
      m->allow_origin_regex.push_back(std::move(re));
    }
    auto join = [](const std::vector<std::string>& v) {
      std::string s;
      for (const auto& x : v) s += (s.empty() ? "" : ",") + x;
      return s;
    };
    m->allow_methods = join(doc::list(n, "accessControlAllowMethods"));
    m->allow_headers = join(doc::list(n, "accessControlAllowHeaders"));
    m->expose_headers = join(doc::list(n, "accessControlExposeHeaders"));
    m->max_age = doc::integer(n, "accessControlMaxAge").value_or(0);
    m->allow_credentials = doc::boolean(n, "accessControlAllowCredentials").value_or(false);
    m->add_vary = doc::boolean(n, "addVaryHeader").value_or(false);
    // Traefik's HasCorsHeadersDefined: any of the CORS fields.
    m->cors = !m->allow_origins.empty() || !m->allow_origin_regex.empty() || !m->allow_methods.empty() ||
              !m->allow_headers.empty() || !m->expose_headers.empty() || m->max_age != 0 || m->allow_credentials ||
              m->add_vary;
    for (const char* unsupported : {"sslProxyHeaders", "hostsProxyHeaders", "sslRedirect", "sslHost"})
      if (node.find(unsupported)) {
        error = std::string("the field ") + unsupported + " is not supported";
        return nullptr;
      }
    return m;
  }
  if (kind == "basicAuth") {
    auto m = std::make_unique<BasicAuth>();
    for (const auto& u : doc::list(n, "users")) {
      auto e = parse_htpasswd_entry(u);
      if (!e) {
        error = "users: " + e.error().message();
        return nullptr;
      }
      m->users.push_back(*e);
    }
    if (auto file = doc::str(n, "usersFile"); file && !file->empty()) {
      auto text = util::read_file(*file);
      if (!text) {
        error = "usersFile: " + text.error().message();
        return nullptr;
      }
      auto list = parse_htpasswd(*text);
      if (!list) {
        error = "usersFile " + *file + ": " + list.error().message();
        return nullptr;
      }
      m->users.insert(m->users.end(), list->begin(), list->end());
    }
    m->realm = doc::str(n, "realm").value_or("traefik");
    if (m->realm.empty()) m->realm = "traefik";
    m->header_field = doc::str(n, "headerField").value_or("");
    m->remove_header = doc::boolean(n, "removeHeader").value_or(false);
    return m;
  }
  if (kind == "ipAllowList" || kind == "ipWhiteList") {
    auto m = std::make_unique<IpAllowList>();
    for (const auto& r : doc::list(n, "sourceRange")) {
      auto net = routes::parse_ip_network(r);
      if (!net) {
        error = "sourceRange: '" + r + "' is not an IP address or CIDR range";
        return nullptr;
      }
      m->ranges.push_back(*net);
    }
    if (m->ranges.empty()) {
      error = "sourceRange is empty";
      return nullptr;
    }
    m->strategy = read_ip_strategy(node);
    m->reject_status = static_cast<int>(doc::integer(n, "rejectStatusCode").value_or(403));
    if (m->reject_status < 100 || m->reject_status > 599) m->reject_status = 403;
    return m;
  }
  if (kind == "rateLimit") {
    if (node.find("redis")) {
      error = "a Redis-backed rateLimit is not supported";
      return nullptr;
    }
    auto m = std::make_unique<RateLimit>();
    double average = static_cast<double>(doc::integer(n, "average").value_or(0));
    auto period = doc::duration(n, "period").value_or(std::chrono::seconds(1));
    if (period.count() <= 0) period = std::chrono::seconds(1);
    m->rate = average / (static_cast<double>(period.count()) / 1000.0);
    m->burst = static_cast<double>(std::max<std::int64_t>(1, doc::integer(n, "burst").value_or(1)));
    // Traefik's longest wait for a token: half the interval between tokens
    // (of the rate rounded down to whole requests per second), or 500 ms
    // below one request per second.
    m->max_delay = m->rate < 1 ? 0.5 : 1.0 / (2.0 * std::floor(m->rate));
    m->source = read_source(node);
    return m;
  }
  if (kind == "inFlightReq") {
    auto m = std::make_unique<InFlightReq>();
    m->amount = doc::integer(n, "amount").value_or(0);
    m->source = read_source(node);
    return m;
  }
  if (kind == "buffering") {
    auto m = std::make_unique<Buffering>();
    m->max_request = static_cast<std::uint64_t>(std::max<std::int64_t>(0, doc::integer(n, "maxRequestBodyBytes").value_or(0)));
    // Refused rather than ignored: a limit the user believes is enforced.
    if (doc::integer(n, "maxResponseBodyBytes").value_or(0) > 0) {
      error = "the field maxResponseBodyBytes is not supported";
      return nullptr;
    }
    if (!doc::str(n, "retryExpression").value_or("").empty()) {
      error = "the field retryExpression is not supported";
      return nullptr;
    }
    return m;
  }
  if (kind == "retry") {
    auto m = std::make_unique<Retry>();
    m->attempts = static_cast<int>(std::clamp<std::int64_t>(doc::integer(n, "attempts").value_or(1), 1, 100));
    m->interval = doc::duration(n, "initialInterval").value_or(std::chrono::milliseconds(100));
    return m;
  }
  if (kind == "compress") return make_compress(node, error);
  error = "this middleware type is not supported by the proxy";
  return nullptr;
}

}  // namespace certroute::proxy
