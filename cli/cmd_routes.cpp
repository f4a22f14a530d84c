// certroute routes lint | routes match
#include <cstdlib>
#include <iostream>
#include <unistd.h>

#include "cli/commands.hpp"
#include "core/routes/lint.hpp"
#include "core/routes/match.hpp"
#include "core/routes/report.hpp"

#ifndef CERTROUTE_VERSION
#define CERTROUTE_VERSION "0.0.0"
#endif

namespace certroute::cli {
namespace {

// Colour and carets only on a terminal (and colour never with NO_COLOR).
bool stdout_is_tty() { return ::isatty(STDOUT_FILENO) == 1; }
bool stdout_color(const Globals& g) {
  if (g.no_color || !stdout_is_tty()) return false;
  const char* nc = std::getenv("NO_COLOR");
  if (nc && *nc) return false;
  const char* term = std::getenv("TERM");
  return !(term && std::string(term) == "dumb");
}

// Prints the PATHs that could not be read; returns true if there were any.
bool report_unreadable(const routes::LoadedConfig& loaded, const Output& out) {
  for (const auto& e : loaded.errors) out.failure(e);
  return !loaded.errors.empty();
}

// ---- routes lint ------------------------------------------------------------------

struct LintOptions {
  std::vector<std::string> paths;
  std::string format = "text";
  std::vector<std::string> entry_points;
  bool strict = false;
  std::string explain;
};

int explain_code(const std::string& id, const Output& out) {
  if (id == "all" || id == "list") {
    std::string t;
    for (const auto& c : routes::code_table())
      t += std::string(c.id) + "  " + (c.severity == routes::Severity::error ? "error  " : "warning") + "  " +
           std::string(c.summary) + "\n";
    out.print(t);
    return exit_ok;
  }
  const routes::CodeInfo* c = routes::find_code(id);
  if (!c) {
    return out.error(util::Error(util::ErrorKind::usage, "routes lint --explain: unknown code '" + id + "'")
                         .with_hint("run 'certroute routes lint --explain all' for the list of codes"));
  }
  out.print(routes::explain(*c));
  return exit_ok;
}

int run_lint(const LintOptions& o, const Globals& g) {
  Output out(g);
  if (!o.explain.empty()) return explain_code(o.explain, out);
  if (o.paths.empty()) {
    return out.error(util::Error(util::ErrorKind::usage, "routes lint: at least one PATH is required")
                         .with_hint("run 'certroute routes lint --help'"));
  }
  std::string format = o.format;
  if (g.json && format == "text") format = "json";

  routes::LoadedConfig loaded = routes::load_config(o.paths);
  routes::lint(loaded, routes::LintOptions{.entry_points = o.entry_points});
  const bool unreadable = report_unreadable(loaded, out);

  if (format == "json") {
    out.print_json(routes::format_json(loaded));
  } else if (format == "sarif") {
    out.print_json(routes::format_sarif(loaded, CERTROUTE_VERSION));
  } else if (format == "github") {
    out.print(routes::format_github(loaded));
  } else {
    routes::TextOptions to{.source_lines = stdout_is_tty(), .color = stdout_color(g), .errors_only = g.quiet};
    out.print(routes::format_text(loaded, to));
    if (!g.quiet && !(unreadable && loaded.files_loaded == 0)) out.print(routes::format_summary(loaded));
  }
  if (unreadable) return exit_bad_input;
  if (loaded.diagnostics.errors() > 0) return exit_problem;
  if (o.strict && loaded.diagnostics.warnings() > 0) return exit_problem;
  return exit_ok;
}

// ---- routes match -----------------------------------------------------------------

struct MatchOptions {
  std::vector<std::string> paths;
  std::string url;
  std::string method = "GET";
  std::vector<std::string> headers;
  std::string client_ip;
  std::string entry_point;
  std::string sni;
  bool explain = false;
};

// Splits an http(s) URL into the request's host, path and query.
util::Result<void> parse_url(const std::string& url, routes::MatchQuery& q) {
  auto bad = [&](const std::string& why) {
    return util::fail(util::Error(util::ErrorKind::usage, "routes match: --url '" + url + "': " + why)
                          .with_hint("give an absolute URL, such as https://example.com/api?x=1"));
  };
  auto sep = url.find("://");
  if (sep == std::string::npos) return bad("no scheme");
  std::string scheme = url.substr(0, sep);
  for (char& c : scheme) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (scheme == "https" || scheme == "wss") q.tls = true;
  else if (scheme != "http" && scheme != "ws") return bad("the scheme must be http or https");
  std::string rest = url.substr(sep + 3);
  auto frag = rest.find('#');
  if (frag != std::string::npos) rest.resize(frag);
  auto slash = rest.find_first_of("/?");
  std::string authority = rest.substr(0, slash);
  if (auto at = authority.rfind('@'); at != std::string::npos) authority = authority.substr(at + 1);
  if (authority.empty()) return bad("no host");
  q.request.host = authority;
  std::string path_query = slash == std::string::npos ? "/" : rest.substr(slash);
  if (path_query.starts_with("?")) path_query = "/" + path_query;
  auto qm = path_query.find('?');
  std::string raw_path = path_query.substr(0, qm);
  if (qm != std::string::npos) q.request.raw_query = path_query.substr(qm + 1);
  auto path = routes::unescape_path(raw_path);
  if (!path) return bad("invalid %-escape in the path");
  q.request.path = *path;
  return {};
}

std::string join(const std::vector<std::string>& v) {
  std::string s;
  for (const auto& x : v) s += (s.empty() ? "" : ", ") + x;
  return s;
}

std::string where(const routes::LoadedConfig& l, const routes::Pos& p) {
  return l.sources.path_of(p) + ":" + std::to_string(p.line) + ":" + std::to_string(p.column);
}

const char* status_name(routes::Candidate::Status s) {
  switch (s) {
    case routes::Candidate::Status::matched: return "matched";
    case routes::Candidate::Status::not_matched: return "no match";
    case routes::Candidate::Status::skipped: return "skipped";
    case routes::Candidate::Status::invalid: return "invalid";
  }
  return "";
}

int run_match(const MatchOptions& o, const Globals& g) {
  Output out(g);
  routes::MatchQuery q;
  if (o.url.empty() == o.sni.empty()) {
    return out.error(util::Error(util::ErrorKind::usage, "routes match: give either --url (HTTP routers) or --sni (TCP routers)")
                         .with_hint("run 'certroute routes match --help'"));
  }
  if (!o.url.empty()) {
    if (auto r = parse_url(o.url, q); !r) return out.error(r.error());
    q.request.method = o.method;
    for (const auto& h : o.headers) {
      auto colon = h.find(':');
      if (colon == std::string::npos || colon == 0) {
        return out.error(util::Error(util::ErrorKind::usage, "routes match: --header '" + h + "': expected 'Name: value'"));
      }
      std::string name = h.substr(0, colon);
      std::string value = h.substr(colon + 1);
      while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) value.erase(0, 1);
      std::string lname = name;
      for (char& c : lname) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      if (lname == "host") q.request.host = value;  // Go keeps Host apart from the other headers
      else q.request.headers.emplace_back(name, value);
    }
  } else {
    q.protocol = routes::Protocol::tcp;
    q.tls = true;  // SNI only exists in a TLS ClientHello
    q.request.sni = o.sni;
  }
  if (!o.client_ip.empty()) {
    if (!routes::parse_ip(o.client_ip)) {
      return out.error(util::Error(util::ErrorKind::usage, "routes match: --client-ip '" + o.client_ip + "' is not an IP address"));
    }
    q.request.client_ip = o.client_ip;
  }
  q.entry_point = o.entry_point;

  routes::LoadedConfig loaded = routes::load_config(o.paths);
  if (report_unreadable(loaded, out)) return exit_bad_input;
  // Files Traefik would not load: say so, their routers are missing below.
  for (const auto& d : loaded.diagnostics.items()) {
    if (g.quiet) break;
    if (d.code != routes::Code::syntax && d.code != routes::Code::unreadable_file) continue;
    out.failure("warning: " + loaded.sources.path_of(d.pos) + " does not load (" + d.message +
                "); its routers are not considered");
  }
  routes::MatchResult res = routes::match_request(loaded.config, q);
  for (const auto& e : res.routes) {
    if (g.quiet || !e.router->rule || e.rule.ok()) continue;
    std::string why;
    for (const auto& is : e.rule.issues)
      if (routes::code_info(is.code).severity == routes::Severity::error) {
        why = is.message;
        break;
      }
    out.failure("warning: router '" + e.router->name + "' (" + where(loaded, e.router->pos) +
                ") is skipped, as Traefik does: its rule does not parse: " + why);
  }

  const routes::RouteEntry* win = res.winner == routes::MatchResult::none ? nullptr : &res.routes[res.winner];
  std::vector<std::string> mws;
  if (win)
    for (const auto& m : win->router->middlewares) mws.push_back(routes::qualified(m.value));

  if (out.json()) {
    nlohmann::json cands = nlohmann::json::array();
    for (const auto& c : res.candidates) {
      const auto& e = res.routes[c.route];
      nlohmann::json j{{"router", routes::qualified(e.router->name)},
                       {"priority", e.priority},
                       {"status", status_name(c.status)},
                       {"rule", e.router->rule ? nlohmann::json(e.router->rule->value) : nlohmann::json(nullptr)}};
      if (!c.reason.empty()) j[c.status == routes::Candidate::Status::not_matched ? "failed" : "reason"] = c.reason;
      cands.push_back(std::move(j));
    }
    nlohmann::json doc{
        {"router", win ? nlohmann::json(routes::qualified(win->router->name)) : nlohmann::json(nullptr)},
        {"service", win && win->router->service ? nlohmann::json(routes::qualified(win->router->service->value))
                                                : nlohmann::json(nullptr)},
        {"middlewares", mws},
        {"priority", win ? nlohmann::json(win->priority) : nlohmann::json(nullptr)},
        {"candidates", cands}};
    if (win) doc["file"] = where(loaded, win->router->pos);
    out.print_json(doc);
  } else {
    std::string t;
    if (o.explain) {
      t += out.bold("candidates in priority order:") + "\n";
      std::size_t width = 0;
      for (const auto& c : res.candidates) width = std::max(width, res.routes[c.route].router->name.size());
      for (const auto& c : res.candidates) {
        const auto& e = res.routes[c.route];
        std::string name = e.router->name;
        name.resize(width, ' ');
        std::string line = "  " + name + "  " + std::to_string(e.priority) + "  " + status_name(c.status);
        if (!c.reason.empty()) line += c.status == routes::Candidate::Status::not_matched ? ": " + c.reason + " is false" : ": " + c.reason;
        t += line + "\n";
      }
      if (res.candidates.empty()) t += "  (no " + std::string(q.protocol == routes::Protocol::tcp ? "TCP " : "") + "routers)\n";
      if (win) t += "\n";
    }
    if (win) {
      t += "router:      " + out.bold(routes::qualified(win->router->name)) + "\n";
      t += "rule:        " + win->rule.text + "\n";
      t += "priority:    " + std::to_string(win->priority) +
           (win->router->priority && *win->router->priority != 0 ? "" : " (the rule's length)") + "\n";
      t += "service:     " + (win->router->service ? routes::qualified(win->router->service->value) : "(none)") + "\n";
      if (!mws.empty()) t += "middlewares: " + join(mws) + "\n";
      t += "defined at:  " + where(loaded, win->router->pos) + "\n";
    }
    if (!g.quiet) out.print(t);
  }
  if (!win) {
    std::string what = !o.url.empty() ? o.method + " " + o.url : "SNI " + o.sni;
    out.failure("no router matches " + what + (o.explain || out.json() ? "" : " (run with --explain to see why)"));
    return exit_problem;
  }
  return exit_ok;
}

}  // namespace

void add_routes_commands(CLI::App& app, Context& ctx) {
  auto* routes_cmd = app.add_subcommand("routes", "Lint Traefik dynamic configuration and explain routing");
  routes_cmd->require_subcommand(1);

  auto l = std::make_shared<LintOptions>();
  auto* lint = routes_cmd->add_subcommand(
      "lint", "Check Traefik dynamic configuration files and directories; exit 1 on errors");
  lint->add_option("path", l->paths, "Files or directories (.yml, .yaml, .toml; a named file may be .json)");
  lint->add_option("--format", l->format, "Output format: text (default), json, sarif or github")
      ->check(CLI::IsMember({"text", "json", "sarif", "github"}));
  lint->add_option("--entrypoints", l->entry_points, "The static configuration's entry points (comma-separated); "
                                                       "routers on others are errors")
      ->delimiter(',')
      ->allow_extra_args(false);
  lint->add_flag("--strict", l->strict, "Exit 1 on warnings too");
  lint->add_option("--explain", l->explain, "Explain a diagnostic code (such as CR021; 'all' lists them) and exit");
  add_global_flags(lint, ctx.globals);
  lint->callback([&ctx, l] { ctx.run = [&ctx, l] { return run_lint(*l, ctx.globals); }; });

  auto m = std::make_shared<MatchOptions>();
  auto* match = routes_cmd->add_subcommand("match", "Show which router serves a request, as Traefik decides it");
  match->add_option("path", m->paths, "Files or directories of dynamic configuration")->required();
  match->add_option("--url", m->url, "The request URL (http:// or https://), for HTTP routers");
  match->add_option("--method", m->method, "The request method (default GET)");
  match->add_option("--header", m->headers, "A request header 'Name: value' (repeatable)")->allow_extra_args(false);
  match->add_option("--client-ip", m->client_ip, "The client's IP address, for ClientIP matchers");
  match->add_option("--entrypoint", m->entry_point, "Only routers on this entry point");
  match->add_option("--sni", m->sni, "A TLS server name, to match TCP routers instead of HTTP ones");
  match->add_flag("--explain", m->explain, "List every candidate router in priority order and why it did not match");
  add_global_flags(match, ctx.globals);
  match->callback([&ctx, m] { ctx.run = [&ctx, m] { return run_match(*m, ctx.globals); }; });

  add_routes_render_command(routes_cmd, ctx);
}

}  // namespace certroute::cli
