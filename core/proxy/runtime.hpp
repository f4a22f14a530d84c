// The proxy's runtime model: a routes::Config compiled into what the workers
// read on every request. One Snapshot is immutable once built and shared by
// every worker; a reload builds a new one and swaps it in for new requests
// (requests in flight keep theirs). Mutable per-request state lives in the
// Exchange; mutable per-worker state (round-robin positions) in arrays
// indexed by worker, so workers share nothing on the hot path.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <forward_list>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include <asio/ip/tcp.hpp>

#include "core/proxy/http1.hpp"
#include "core/routes/loader.hpp"
#include "core/routes/match.hpp"

namespace certroute::proxy {

using Clock = std::chrono::steady_clock;

// ---- the request as middlewares see it ---------------------------------------

// An answer made by the proxy itself (redirect, 401, 403, 429, 404, 502...).
struct Reply {
  int status = 200;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
};

struct Route;
struct Server;
struct CompressSettings;
struct ErrorPages;

struct Exchange {
  // The connection.
  std::string_view client_ip;  // the TCP peer ("127.0.0.1", "::1")
  std::uint16_t client_port = 0;
  std::uint16_t local_port = 0;
  bool tls = false;
  std::string_view entry_point;
  std::string_view sni;
  int worker = 0;

  // The request, as it will be forwarded. Views point into the connection's
  // read buffer or into `arena`.
  std::string_view method;
  std::string_view path;   // the path as sent (percent-escapes kept)
  std::string_view query;  // without '?'
  bool has_query = false;
  std::string_view host;   // the Host header
  std::vector<http1::Header> headers;
  int minor = 1;

  // Strings made by middlewares; a forward_list costs nothing while empty
  // (most requests) and never moves what it holds.
  std::forward_list<std::string> arena;
  std::string_view keep(std::string s) {
    arena.push_front(std::move(s));
    return arena.front();
  }

  // Header helpers (case-insensitive names).
  std::string_view header(std::string_view name, bool* found = nullptr) const {
    return http1::find_header(headers, name, found);
  }
  void remove_header(std::string_view name);
  void set_header(std::string_view name, std::string value);  // replaces every field of that name

  // Response header edits from middlewares: set (replace; an empty value
  // deletes the header, as Traefik's headers middleware does) and add.
  std::vector<std::pair<std::string_view, std::string_view>> response_set;
  std::vector<std::pair<std::string_view, std::string_view>> response_add;

  // Set by a middleware that answers itself; proxying stops there.
  std::optional<Reply> reply;

  // Limits and behaviour chosen by middlewares.
  std::uint64_t max_body = 0;  // buffering.maxRequestBodyBytes (0: none)
  int attempts = 1;            // retry.attempts
  std::chrono::milliseconds retry_interval{100};
  std::chrono::microseconds delay{0};  // rateLimit: wait this long before going on
  const CompressSettings* compress = nullptr;  // compress the response (compress middleware)
  std::vector<const ErrorPages*> errors;        // errors middlewares, in chain order
  std::vector<std::function<void()>> on_done;  // inFlightReq releases its slot

  // For the access log and the balancers.
  const Route* route = nullptr;
  const Server* server = nullptr;
  std::string_view sticky_cookie;  // the request's sticky cookie value for the current service
  std::string set_cookie;          // a Set-Cookie header the balancer wants sent back

  void finish() {
    for (auto& f : on_done) f();
    on_done.clear();
  }

  // Ready for the next request of a connection; vectors keep their capacity.
  void reset() {
    finish();
    method = path = query = host = sni = entry_point = client_ip = {};
    has_query = false;
    headers.clear();
    arena.clear();
    response_set.clear();
    response_add.clear();
    reply.reset();
    max_body = 0;
    attempts = 1;
    retry_interval = std::chrono::milliseconds(100);
    delay = {};
    compress = nullptr;
    errors.clear();
    route = nullptr;
    server = nullptr;
    sticky_cookie = {};
    set_cookie.clear();
  }
};

// ---- middlewares -------------------------------------------------------------

class Middleware {
 public:
  virtual ~Middleware() = default;
  // Runs before the request goes upstream. Sets ex.reply to answer directly.
  virtual void handle(Exchange& ex) const = 0;
};

// ---- services ------------------------------------------------------------------

// One upstream server of a loadBalancer.
struct Server {
  std::string url;            // as written
  std::string scheme;         // http
  std::string authority;      // host[:port] as in the URL, for the Host header when passHostHeader=false
  std::string host;           // host name or address
  std::uint16_t port = 80;
  std::string path;           // the URL's path ("" or "/base"), prepended to the request path
  bool preserve_path = false;
  int weight = 1;
  std::string key;            // "host:port": the connection pool key
  std::size_t key_hash = 0;   // std::hash<std::string_view> of key
  std::string cookie_value;   // sticky cookie value naming this server
  std::vector<asio::ip::tcp::endpoint> endpoints;  // resolved when the snapshot was built
  std::string resolve_error;  // why endpoints is empty
  // Health, written by the health checker and passive failure detection,
  // read by every worker.
  std::atomic<bool> healthy{true};
  std::atomic<std::int64_t> down_until{0};  // passive: steady_clock ms
  // Passive health (passiveHealthCheck): this many failed connections within
  // the window take the server out of rotation for the window.
  int max_failed = 1;
  std::int64_t failure_window_ms = 10000;
  std::atomic<int> failures{0};
  std::atomic<std::int64_t> failures_since{0};
  void failed(std::int64_t now_ms) {
    if (now_ms - failures_since.load(std::memory_order_relaxed) > failure_window_ms) {
      failures.store(0, std::memory_order_relaxed);
      failures_since.store(now_ms, std::memory_order_relaxed);
    }
    if (failures.fetch_add(1, std::memory_order_relaxed) + 1 >= max_failed) {
      down_until.store(now_ms + failure_window_ms, std::memory_order_relaxed);
      failures.store(0, std::memory_order_relaxed);
    }
  }
  bool available(std::int64_t now_ms) const {
    return healthy.load(std::memory_order_relaxed) && down_until.load(std::memory_order_relaxed) <= now_ms;
  }
};

struct StickyCookie {
  std::string name;
  bool secure = false;
  bool http_only = false;
  std::string same_site;
  std::int64_t max_age = 0;
  std::string path = "/";
  std::string domain;
  std::string header_for(std::string_view value) const;  // the Set-Cookie value
};

struct HealthCheck {
  std::string path = "/";
  std::string method = "GET";
  std::string hostname;
  std::string scheme;
  int port = 0;
  int status = 0;  // 0: any 2xx or 3xx
  std::chrono::milliseconds interval{30000};
  std::chrono::milliseconds unhealthy_interval{30000};
  std::chrono::milliseconds timeout{5000};
  std::vector<std::pair<std::string, std::string>> headers;
};

class Service {
 public:
  virtual ~Service() = default;
  std::string name;  // qualified
  // The server for this request, or nullptr when none is available (503).
  virtual Server* pick(Exchange& ex, std::int64_t now_ms) = 0;
  // True when at least one server can take requests (failover asks this).
  virtual bool up(std::int64_t now_ms) const = 0;
  // Where mirrored copies go (mirroring), filled by that service.
  struct Mirror {
    Service* service;
    int percent;
  };
  virtual const std::vector<Mirror>* mirrors() const { return nullptr; }
  virtual std::uint64_t mirror_max_body() const { return 0; }
  bool pass_host_header = true;
};

// Smooth weighted round robin (nginx's algorithm): per-worker state.
struct SmoothWrr {
  struct alignas(64) State {
    std::vector<std::int64_t> current;
  };
  std::vector<State> per_worker;
  // Picks among items whose `ok(i)` is true; -1 when none is.
  template <typename Ok>
  int next(int worker, const std::vector<int>& weights, Ok ok) {
    auto& cur = per_worker[static_cast<std::size_t>(worker)].current;
    if (cur.size() != weights.size()) cur.assign(weights.size(), 0);
    std::int64_t total = 0;
    int best = -1;
    for (std::size_t i = 0; i < weights.size(); ++i) {
      if (weights[i] <= 0 || !ok(i)) continue;
      cur[i] += weights[i];
      total += weights[i];
      if (best < 0 || cur[i] > cur[static_cast<std::size_t>(best)]) best = static_cast<int>(i);
    }
    if (best >= 0) cur[static_cast<std::size_t>(best)] -= total;
    return best;
  }
};

class LoadBalancer final : public Service {
 public:
  std::vector<std::unique_ptr<Server>> servers;
  std::vector<int> weights;
  std::optional<StickyCookie> sticky;
  std::optional<HealthCheck> health;
  int max_failed_attempts = 0;  // passiveHealthCheck (0: off)
  std::chrono::milliseconds failure_window{10000};
  SmoothWrr wrr;
  Server* pick(Exchange& ex, std::int64_t now_ms) override;
  bool up(std::int64_t now_ms) const override;
};

class WeightedService final : public Service {
 public:
  struct Child {
    Service* service = nullptr;
    std::string name;
    std::string cookie_value;
  };
  std::vector<Child> children;
  std::vector<int> weights;
  std::optional<StickyCookie> sticky;
  SmoothWrr wrr;
  Server* pick(Exchange& ex, std::int64_t now_ms) override;
  bool up(std::int64_t now_ms) const override;
};

class FailoverService final : public Service {
 public:
  Service* main = nullptr;
  Service* fallback = nullptr;
  Server* pick(Exchange& ex, std::int64_t now_ms) override;
  bool up(std::int64_t now_ms) const override;
};

class MirroringService final : public Service {
 public:
  Service* main = nullptr;
  std::vector<Mirror> mirror_list;
  std::uint64_t max_body_size = 0;  // mirrored only when the body is known and at most this (0 with mirrorBody=false: bodiless requests only)
  bool mirror_body = true;
  Server* pick(Exchange& ex, std::int64_t now_ms) override { return main->pick(ex, now_ms); }
  bool up(std::int64_t now_ms) const override { return main->up(now_ms); }
  const std::vector<Mirror>* mirrors() const override { return &mirror_list; }
  std::uint64_t mirror_max_body() const override { return max_body_size; }
};

// The errors middleware: answers whose status is in `ranges` are replaced by
// the page `query` ({status}, {originalStatus}, {url}) of `service`, sent with
// the original status (or its statusRewrites entry).
struct ErrorPages {
  std::vector<std::pair<int, int>> ranges;
  Service* service = nullptr;
  std::string query = "/";
  std::vector<std::pair<std::pair<int, int>, int>> rewrites;
  bool matches(int status) const {
    for (const auto& [lo, hi] : ranges)
      if (status >= lo && status <= hi) return true;
    return false;
  }
  int rewrite(int status) const {
    for (const auto& [r, to] : rewrites)
      if (status >= r.first && status <= r.second) return to;
    return status;
  }
};

// ---- routers -----------------------------------------------------------------

struct Route {
  std::string name;  // qualified: "api@file"
  routes::RouteEntry entry;
  bool host_only = false;  // the host index alone decides the rule
  bool tls = false;
  std::vector<const Middleware*> middlewares;  // chains flattened
  Service* service = nullptr;
  std::string tls_options;  // qualified name, for SNI → SSL_CTX
  std::vector<std::string> hosts;  // the hosts its rule can match (empty: any)
};

// The routers one kind of connection (an entry point, TLS or not) can reach,
// indexed by exact host, in Traefik's priority order.
class RouteTable {
 public:
  void build(std::vector<const Route*> ordered);
  // The first route whose rule matches. `request` is built on demand (only
  // when a rule needs more than the host).
  const Route* find(std::string_view canonical_host, const std::function<const routes::Request&()>& request) const;
  bool empty() const { return ordered_.empty(); }
  const std::vector<const Route*>& ordered() const { return ordered_; }

 private:
  std::vector<const Route*> ordered_;
  std::unordered_map<std::string, std::vector<const Route*>> by_host_;
  std::vector<const Route*> generic_;  // rules that are not decided by host alone
};

// ---- TCP routers -----------------------------------------------------------------

// A TCP service: a loadBalancer of addresses (host:port), smooth WRR.
class TcpService {
 public:
  std::string name;
  std::vector<std::unique_ptr<Server>> servers;  // Server::key is the address
  std::vector<int> weights;
  SmoothWrr wrr;
  Server* pick(int worker, std::int64_t now_ms);
};

struct TcpRoute {
  std::string name;
  routes::RouteEntry entry;
  bool tls = false;          // TLS connections only (terminated unless passthrough)
  bool passthrough = false;  // forward the TLS bytes as they are
  TcpService* service = nullptr;
  std::string tls_options;
  std::vector<std::string> hosts;  // HostSNI names (empty: any)
};

struct EntryPoint {
  std::string name;
  asio::ip::tcp::endpoint address;
};

struct EntryPointRoutes {
  RouteTable plain;   // routers without tls
  RouteTable secure;  // routers with tls
  std::vector<const TcpRoute*> tcp;  // TCP routers, in priority order
};

// Everything a worker needs, built from one load of the route files.
struct Snapshot {
  routes::LoadedConfig loaded;  // owns the documents the model points into
  std::vector<std::unique_ptr<Route>> routes;
  std::map<std::string, std::unique_ptr<Middleware>> middlewares;
  std::map<std::string, std::unique_ptr<Service>> services;
  std::vector<std::unique_ptr<TcpRoute>> tcp_routes;
  std::map<std::string, std::unique_ptr<TcpService>> tcp_services;
  std::map<std::string, EntryPointRoutes> entry_points;  // by entry point name
  std::uint64_t generation = 0;

  std::vector<LoadBalancer*> health_checked() const;
};

struct BuildOptions {
  std::vector<EntryPoint> entry_points;
  int workers = 1;
};

// Compiles a loaded (and linted) configuration. Problems the proxy cannot
// serve (an unsupported middleware, a service type it lacks) are added to
// loaded.diagnostics as CR051 errors; the caller refuses a configuration
// with errors. Never throws on bad input.
std::shared_ptr<Snapshot> build_snapshot(routes::LoadedConfig loaded, const BuildOptions& options);

// The routes::Request the rule matcher sees for an exchange (as `routes
// match` builds it from a URL), so the proxy routes exactly as it says.
routes::Request to_rule_request(const Exchange& ex);

// Middleware factories (middleware.cpp). `node` is the middleware's
// type-specific mapping (e.g. the value of `stripPrefix`). Returns nullptr and
// a message when the type is not supported or its config is unusable.
std::unique_ptr<Middleware> make_middleware(const std::string& kind, const routes::DocNode& node, std::string& error);

// Small readers over the decoded document (scalars are text).
namespace doc {
std::optional<std::string> str(const routes::DocNode* n, std::string_view key);
std::vector<std::string> list(const routes::DocNode* n, std::string_view key);
std::optional<std::int64_t> integer(const routes::DocNode* n, std::string_view key);
std::optional<bool> boolean(const routes::DocNode* n, std::string_view key);
std::optional<std::chrono::milliseconds> duration(const routes::DocNode* n, std::string_view key);
std::vector<std::pair<std::string, std::string>> string_map(const routes::DocNode* n, std::string_view key);
}  // namespace doc

}  // namespace certroute::proxy
