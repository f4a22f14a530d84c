// certroute proxy: serve Traefik route files (or --route HOST=URL) in the foreground.
#include <iostream>
#include <thread>

#include <nlohmann/json.hpp>

#include "cli/commands.hpp"
#include "core/proxy/access_log.hpp"
#include "core/proxy/net.hpp"
#include "core/proxy/server.hpp"
#include "core/routes/lint.hpp"
#include "core/routes/report.hpp"

namespace certroute::cli {
namespace {

using util::ErrorKind;

struct ProxyOptions {
  std::vector<std::string> paths;
  std::vector<std::string> entry_points;
  int workers = 0;
  std::string access_log = "-";
  std::string access_log_format = "common";
  bool no_watch = false;
  std::vector<std::string> routes;
  std::string tls_cert, tls_key;
  std::vector<std::string> trusted_ips;
  bool forwarded_insecure = false;
  bool via = false;
  std::size_t max_header_size = 32 * 1024;
  std::size_t max_header_count = 100;
  std::size_t max_request_line = 8 * 1024;
  std::uint64_t max_body_size = 0;
  std::size_t max_connections = 16384;
  std::string client_idle_timeout = "180s", client_read_timeout = "60s", write_timeout = "60s";
  std::string upstream_connect_timeout = "5s", upstream_response_timeout = "60s", upstream_idle_timeout = "90s";
  std::string drain_timeout = "10s";
};

// The in-memory configuration of --route HOST=URL[,URL]: one router and one
// load-balancer service per HOST ("*" for every host), and a TLS twin of each
// router on websecure when a certificate is given.
util::Result<std::string> routes_document(const std::vector<std::string>& specs, bool tls) {
  nlohmann::json routers = nlohmann::json::object(), services = nlohmann::json::object();
  int n = 0;
  for (const auto& spec : specs) {
    auto eq = spec.find('=');
    if (eq == std::string::npos || eq == 0 || eq + 1 == spec.size())
      return util::fail(ErrorKind::usage, "--route '" + spec + "': expected HOST=URL[,URL...]");
    std::string host = spec.substr(0, eq);
    std::string urls = spec.substr(eq + 1);
    if (host.find_first_of("` ") != std::string::npos)
      return util::fail(ErrorKind::usage, "--route '" + spec + "': '" + host + "' is not a host name");
    nlohmann::json servers = nlohmann::json::array();
    std::size_t pos = 0;
    while (pos <= urls.size()) {
      auto comma = urls.find(',', pos);
      std::string url = urls.substr(pos, comma == std::string::npos ? std::string::npos : comma - pos);
      if (url.empty()) return util::fail(ErrorKind::usage, "--route '" + spec + "': empty URL");
      if (url.find("://") == std::string::npos) url = "http://" + url;
      if (!url.starts_with("http://"))
        return util::fail(ErrorKind::usage, "--route '" + spec + "': '" + url + "' is not an http:// URL");
      servers.push_back({{"url", url}});
      if (comma == std::string::npos) break;
      pos = comma + 1;
    }
    std::string name = "route" + std::to_string(++n);
    std::string rule = host == "*" ? "PathPrefix(`/`)" : "Host(`" + host + "`)";
    routers[name] = {{"rule", rule}, {"service", name}, {"entryPoints", {"web"}}};
    if (tls) routers[name + "-tls"] = {{"rule", rule}, {"service", name}, {"entryPoints", {"websecure"}}, {"tls", nlohmann::json::object()}};
    services[name] = {{"loadBalancer", {{"servers", servers}}}};
  }
  nlohmann::json doc = {{"http", {{"routers", routers}, {"services", services}}}};
  return doc.dump();
}

bool any_tls_router(const routes::Config& c) {
  for (const auto& [n, r] : c.http.routers)
    if (r.tls) return true;
  for (const auto& [n, r] : c.tcp.routers)
    if (r.tls) return true;
  return false;
}

struct Setup {
  const ProxyOptions& o;
  std::vector<proxy::EntryPoint> entry_points;
  int workers = 1;
};

// Loads, lints and compiles the configuration. On errors, `report` holds the
// diagnostics (compiler style) and the snapshot is null.
proxy::Loaded load(const Setup& setup, std::string& report, bool& unreadable) {
  const ProxyOptions& o = setup.o;
  routes::LoadedConfig loaded;
  if (!o.routes.empty()) {
    auto text = routes_document(o.routes, !o.tls_cert.empty());
    loaded = routes::load_text("--route", *text);
  } else {
    loaded = routes::load_config(o.paths);
  }
  unreadable = !loaded.errors.empty();
  for (const auto& e : loaded.errors) report += "certroute: " + e + "\n";
  std::vector<std::string> names;
  for (const auto& ep : setup.entry_points) names.push_back(ep.name);
  // Certificate files are read (and reported) by the TLS store below.
  routes::lint(loaded, routes::LintOptions{.entry_points = names, .check_certificate_files = false});
  proxy::Loaded out;
  if (unreadable) return out;
  auto snap = proxy::build_snapshot(std::move(loaded), proxy::BuildOptions{setup.entry_points, setup.workers});
  // TLS: contexts for the routers with tls and the certificates of the files.
  bool need_tls = !snap->loaded.config.certificates.empty();
  proxy::TlsBuildInput tin;
  tin.config = &snap->loaded.config;
  tin.sources = &snap->loaded.sources;
  for (const auto& r : snap->routes) {
    if (!r->tls) continue;
    need_tls = true;
    for (const auto& h : r->hosts) tin.hosts.push_back({h, r->tls_options});
  }
  for (const auto& r : snap->tcp_routes) {
    if (!r->tls || r->passthrough) continue;
    need_tls = true;
    for (const auto& h : r->hosts)
      if (h != "*") tin.hosts.push_back({h, r->tls_options});
  }
  tin.extra_cert_file = o.tls_cert;
  tin.extra_key_file = o.tls_key;
  if (need_tls) out.tls = proxy::TlsStore::build(tin, snap->loaded.diagnostics);
  // A certificate the proxy cannot load is an error here (lint only warns:
  // the files may live on another machine): serving the default certificate
  // instead would look like it works.
  for (auto& d : snap->loaded.diagnostics.items())
    if (d.code == routes::Code::tls_certificate) d.severity = routes::Severity::error;
  snap->loaded.diagnostics.sort();
  routes::TextOptions to{.source_lines = false, .color = false, .errors_only = false};
  report += routes::format_text(snap->loaded, to);
  if (snap->loaded.diagnostics.errors() > 0) return out;
  out.snapshot = std::move(snap);
  return out;
}

int run_proxy(const ProxyOptions& o, const Globals& g) {
  Output out(g);
  auto usage = [&](std::string msg, std::string hint = "run 'certroute proxy --help'") {
    return out.error(util::Error(ErrorKind::usage, "proxy: " + std::move(msg)).with_hint(std::move(hint)));
  };
  if (o.paths.empty() && o.routes.empty())
    return usage("give route files (PATH...) or --route HOST=URL", "certroute proxy --route app.localhost=http://127.0.0.1:3000");
  if (!o.paths.empty() && !o.routes.empty()) return usage("give route files or --route, not both");
  if (o.tls_cert.empty() != o.tls_key.empty()) return usage("--tls-cert and --tls-key go together");
  if (!o.routes.empty()) {
    auto doc = routes_document(o.routes, !o.tls_cert.empty());
    if (!doc) return out.error(std::move(doc.error()).context("proxy"));
  }

  Setup setup{o, {}, o.workers > 0 ? o.workers : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()))};
  // Entry points.
  std::vector<std::string> specs = o.entry_points;
  for (const auto& spec : specs) {
    auto eq = spec.find('=');
    if (eq == std::string::npos || eq == 0)
      return usage("--entrypoint '" + spec + "': expected NAME=[ADDR]:PORT, such as web=:8080");
    auto addr = proxy::parse_listen_address(spec.substr(eq + 1));
    if (!addr) return usage("--entrypoint " + addr.error().message());
    std::string name = spec.substr(0, eq);
    for (const auto& ep : setup.entry_points)
      if (ep.name == name) return usage("--entrypoint: '" + name + "' given twice");
    setup.entry_points.push_back({name, *addr});
  }

  proxy::ServerOptions so;
  so.workers = setup.workers;
  so.limits.max_head = o.max_header_size;
  so.limits.max_headers = o.max_header_count;
  so.limits.max_request_line = o.max_request_line;
  so.max_body = o.max_body_size;
  so.max_connections = o.max_connections;
  so.via = o.via;
  so.forwarded_insecure = o.forwarded_insecure;
  for (const auto& t : o.trusted_ips) {
    auto n = routes::parse_ip_network(t);
    if (!n) return usage("--trusted-ips '" + t + "' is not an IP address or CIDR range");
    so.trusted_ips.push_back(*n);
  }
  struct D {
    const std::string* text;
    std::chrono::milliseconds* into;
    const char* flag;
  };
  for (const D& d : {D{&o.client_idle_timeout, &so.client_idle, "--client-idle-timeout"},
                     D{&o.client_read_timeout, &so.client_read, "--client-read-timeout"},
                     D{&o.write_timeout, &so.write, "--write-timeout"},
                     D{&o.upstream_connect_timeout, &so.upstream_connect, "--upstream-connect-timeout"},
                     D{&o.upstream_response_timeout, &so.upstream_response, "--upstream-response-timeout"},
                     D{&o.upstream_idle_timeout, &so.upstream_idle, "--upstream-idle-timeout"},
                     D{&o.drain_timeout, &so.drain, "--drain-timeout"}}) {
    auto v = proxy::parse_duration(*d.text);
    if (!v) return usage(std::string(d.flag) + " " + v.error().message());
    *d.into = *v;
  }

  // The configuration, once to know whether websecure is needed by default.
  std::string report;
  bool unreadable = false;
  if (setup.entry_points.empty()) {
    setup.entry_points.push_back({"web", *proxy::parse_listen_address(":8080")});
    routes::LoadedConfig probe = o.routes.empty() ? routes::load_config(o.paths) : routes::LoadedConfig{};
    if ((!o.routes.empty() && !o.tls_cert.empty()) || any_tls_router(probe.config))
      setup.entry_points.push_back({"websecure", *proxy::parse_listen_address(":8443")});
  }
  proxy::Loaded first = load(setup, report, unreadable);
  if (!first.snapshot) {
    std::cerr << report;
    if (!unreadable) std::cerr << "certroute: proxy: the configuration has errors; nothing served\n";
    return unreadable ? exit_bad_input : exit_bad_input;
  }
  if (!report.empty()) std::cerr << report;  // warnings

  std::unique_ptr<proxy::AccessLog> log;
  if (o.access_log != "off") {
    auto l = proxy::AccessLog::open(o.access_log, o.access_log_format == "json" ? proxy::AccessLog::Format::json
                                                                                 : proxy::AccessLog::Format::common);
    if (!l) return out.error(std::move(l.error()).context("proxy"));
    log = std::move(*l);
    so.access_log = log.get();
  }
  so.entry_points = setup.entry_points;

  proxy::Proxy px(so, first.snapshot, first.tls);
  auto lines = px.listen();
  if (!lines) return out.error(std::move(lines.error()).context("proxy"));

  proxy::ControlOptions control;
  if (!o.no_watch && o.routes.empty()) control.watch = o.paths;
  control.reload = [&setup](std::string& rep) {
    bool unreadable2 = false;
    return load(setup, rep, unreadable2);
  };
  if (!o.routes.empty()) control.reload = nullptr;
  control.on_ready = [&lines] {
    for (const auto& l : *lines) std::cout << "certroute proxy: " << l << '\n';
    std::cout.flush();
  };
  control.log = [](const std::string& line) {
    std::string l = line;
    while (!l.empty() && l.back() == '\n') l.pop_back();
    std::cerr << "certroute: proxy: " << l << '\n';
  };
  px.run(control);
  return exit_ok;
}

}  // namespace

void add_proxy_commands(CLI::App& app, Context& ctx) {
  auto o = std::make_shared<ProxyOptions>();
  auto* cmd = app.add_subcommand("proxy", "Serve Traefik route files (or --route HOST=URL) as a reverse proxy, in the foreground");
  cmd->add_option("path", o->paths, "Route files or directories (.yml, .yaml, .toml, .json), watched for changes");
  cmd->add_option("--entrypoint", o->entry_points,
                  "NAME=[ADDR]:PORT, repeatable (default web=:8080, and websecure=:8443 when a router has tls)")
      ->allow_extra_args(false);
  cmd->add_option("--workers", o->workers, "Worker threads, one event loop each (default: one per CPU)")
      ->check(positive());
  cmd->add_option("--access-log", o->access_log, "Where the access log goes: FILE, - (stdout, the default) or off");
  cmd->add_option("--access-log-format", o->access_log_format, "common (default) or json")
      ->check(CLI::IsMember({"common", "json"}));
  cmd->add_flag("--no-watch", o->no_watch, "Do not reload when the route files change (SIGHUP still reloads)");
  cmd->add_option("--route", o->routes, "HOST=URL[,URL...]: proxy HOST (or * for any) to these servers, repeatable")
      ->allow_extra_args(false);
  cmd->add_option("--tls-cert", o->tls_cert, "Default certificate (PEM) for TLS routers; with --route, also serve HTTPS");
  cmd->add_option("--tls-key", o->tls_key, "The private key of --tls-cert (PEM)");
  cmd->add_option("--trusted-ips", o->trusted_ips,
                  "Peers whose X-Forwarded-* headers are kept (IPs or CIDR ranges, repeatable); others' are replaced")
      ->allow_extra_args(false);
  cmd->add_flag("--forwarded-insecure", o->forwarded_insecure, "Keep every client's X-Forwarded-* headers");
  cmd->add_flag("--via", o->via, "Add a Via header to requests and responses");
  cmd->add_option("--max-header-size", o->max_header_size, "Largest request head in bytes (default 32768)")->check(positive());
  cmd->add_option("--max-header-count", o->max_header_count, "Most header fields in a request (default 100)")->check(positive());
  cmd->add_option("--max-request-line", o->max_request_line, "Longest request line in bytes (default 8192)")->check(positive());
  cmd->add_option("--max-body-size", o->max_body_size, "Largest request body in bytes (default 0: no limit)");
  cmd->add_option("--max-connections", o->max_connections, "Most client connections at once (default 16384)")->check(positive());
  cmd->add_option("--client-idle-timeout", o->client_idle_timeout, "Keep-alive time between requests (default 180s)");
  cmd->add_option("--client-read-timeout", o->client_read_timeout, "Time to receive a request's head or body part (default 60s)");
  cmd->add_option("--write-timeout", o->write_timeout, "Time for a write to either side to progress (default 60s)");
  cmd->add_option("--upstream-connect-timeout", o->upstream_connect_timeout, "Time to connect to a server (default 5s)");
  cmd->add_option("--upstream-response-timeout", o->upstream_response_timeout,
                  "Time for a server to start answering, and between reads of its answer (default 60s)");
  cmd->add_option("--upstream-idle-timeout", o->upstream_idle_timeout, "How long pooled server connections stay open (default 90s)");
  cmd->add_option("--drain-timeout", o->drain_timeout, "On SIGINT/SIGTERM, how long requests in flight may finish (default 10s)");
  add_global_flags(cmd, ctx.globals);
  cmd->callback([o, &ctx] { ctx.run = [o, &ctx] { return run_proxy(*o, ctx.globals); }; });
}

}  // namespace certroute::cli
