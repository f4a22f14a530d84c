// The proxy server: one io_context per worker thread, each with its own
// SO_REUSEPORT listener per entry point, connection handling, upstream pool
// and balancer positions; nothing is shared between workers on the hot path
// except the immutable Snapshot (swapped on reload) and server health flags.
// A control thread handles signals, file watching, reloads and health checks.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "core/proxy/http1.hpp"
#include "core/proxy/runtime.hpp"
#include "core/proxy/tls.hpp"
#include "core/routes/ip.hpp"
#include "core/util/error.hpp"

namespace certroute::proxy {

class AccessLog;

struct ServerOptions {
  std::vector<EntryPoint> entry_points;
  int workers = 1;
  http1::Limits limits;
  std::uint64_t max_body = 0;  // 0: no limit
  std::chrono::milliseconds client_idle{std::chrono::seconds(180)};   // between requests
  std::chrono::milliseconds client_read{std::chrono::seconds(60)};    // a request's head and body
  std::chrono::milliseconds write{std::chrono::seconds(60)};          // any write, either side
  std::chrono::milliseconds upstream_connect{std::chrono::seconds(5)};
  std::chrono::milliseconds upstream_response{std::chrono::seconds(60)};  // until the response head
  std::chrono::milliseconds upstream_idle{std::chrono::seconds(90)};      // pooled connections
  std::chrono::milliseconds drain{std::chrono::seconds(10)};
  std::size_t max_connections = 16384;
  std::size_t max_idle_per_server = 64;
  bool via = false;
  // Client-sent X-Forwarded-* headers are kept only from these peers
  // (Traefik's forwardedHeaders.trustedIPs); everyone else's are replaced.
  std::vector<routes::IpNetwork> trusted_ips;
  bool forwarded_insecure = false;
  AccessLog* access_log = nullptr;
};

// A configuration ready to serve: the routes and the TLS contexts.
struct Loaded {
  std::shared_ptr<Snapshot> snapshot;
  std::shared_ptr<TlsStore> tls;
};
// Builds a new configuration from the files; returns a null snapshot and
// fills `report` (diagnostics, one per line) when it is refused.
using Loader = std::function<Loaded(std::string& report)>;

struct ControlOptions {
  std::vector<std::string> watch;  // files and directories to watch (inotify)
  Loader reload;                   // null: no reload
  std::function<void(const std::string&)> log;  // one line to stderr
  // Called once signals and file watches are in place (the CLI prints the
  // listeners then, so a SIGHUP or an edit right after cannot be missed).
  std::function<void()> on_ready;
};

class Proxy {
 public:
  Proxy(ServerOptions options, std::shared_ptr<Snapshot> initial, std::shared_ptr<TlsStore> tls);
  ~Proxy();
  Proxy(const Proxy&) = delete;
  Proxy& operator=(const Proxy&) = delete;

  // Binds every entry point in every worker. Returns one line per listener
  // ("web: listening on 127.0.0.1:8080 (http)").
  util::Result<std::vector<std::string>> listen();
  // Serves until SIGINT/SIGTERM (graceful: stops accepting, lets requests in
  // flight finish up to the drain timeout). SIGHUP reloads, SIGUSR1 reopens
  // the access log. Returns when everything has stopped.
  void run(const ControlOptions& control);

  // Installs a new configuration for new requests (thread-safe).
  void swap(std::shared_ptr<Snapshot> snapshot, std::shared_ptr<TlsStore> tls);

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace certroute::proxy
