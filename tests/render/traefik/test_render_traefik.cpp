// The traefik target round trip: the normalised configuration loads back
// without lint errors, and for a generated set of requests (every host, path,
// method, header, query, client IP and SNI the rules mention, with variants
// around each) `routes match` (match_request) picks the same router in the
// original and in the render. Run over the golden cases and the shared corpus.
#include <catch2/catch.hpp>

#include <algorithm>
#include <filesystem>
#include <functional>
#include <set>

#include "core/routes/lint.hpp"
#include "core/routes/match.hpp"
#include "core/routes/render/renderer.hpp"

using namespace certroute::routes;
namespace fs = std::filesystem;

#ifndef CERTROUTE_TRAEFIK_CASES
#error "CERTROUTE_TRAEFIK_CASES must name tests/render/traefik/cases"
#endif
#ifndef CERTROUTE_CORPUS_DIR
#error "CERTROUTE_CORPUS_DIR must name the corpus directory"
#endif

namespace {

struct Probes {
  std::vector<std::string> hosts{"unknown.test"};
  std::vector<std::string> paths{"/", "/x"};
  std::vector<std::string> methods{"GET", "POST"};
  std::vector<std::pair<std::string, std::string>> headers;
  std::vector<std::string> queries;
  std::vector<std::string> ips{"10.1.2.3", "192.168.1.1", "8.8.8.8", "2001:db8::1"};
  std::vector<std::string> snis{"unknown.test"};

  template <typename T>
  static void add(std::vector<T>& v, const T& x, std::size_t cap) {
    if (v.size() < cap && std::find(v.begin(), v.end(), x) == v.end()) v.push_back(x);
  }

  void collect(const RuleExpr& e) {
    for (const auto& c : e.children) collect(c);
    if (e.op != RuleExpr::Op::matcher) return;
    for (std::size_t i = 0; i < e.args.size(); ++i) {
      const std::string& v = e.args[i].value;
      switch (e.matcher) {
        case Matcher::host:
        case Matcher::host_header:
          add(hosts, v, 24);
          add(hosts, "sub." + v, 24);
          break;
        case Matcher::path:
          add(paths, v, 40);
          add(paths, v + "/", 40);
          break;
        case Matcher::path_prefix:
          add(paths, v, 40);
          add(paths, v + "x", 40);
          add(paths, v + "/y", 40);
          if (v.size() > 1 && v.back() == '/') add(paths, v.substr(0, v.size() - 1), 40);
          break;
        case Matcher::method: add(methods, v, 6); break;
        case Matcher::header:
        case Matcher::headers:
          if (i == 0 && e.args.size() == 2) {
            add(headers, {v, e.args[1].value}, 12);
            add(headers, {v, e.args[1].value + "x"}, 12);
          }
          break;
        case Matcher::query:
          add(queries, e.args.size() == 2 ? v + "=" + e.args[1].value : v, 12);
          add(queries, (v.find('=') == std::string::npos ? v : v.substr(0, v.find('='))) + "=other", 12);
          break;
        case Matcher::host_sni:
          if (v.starts_with("*.")) {
            add(snis, "a" + v.substr(1), 24);
            add(snis, "a.b" + v.substr(1), 24);
          } else {
            add(snis, v, 24);
          }
          break;
        default: break;
      }
    }
  }

  void collect(const Config& c) {
    for (Protocol p : {Protocol::http, Protocol::tcp})
      for (const auto& e : compile_routes(c, p))
        if (e.rule.root) collect(*e.rule.root);
  }
};

std::string winner(const Config& c, const MatchQuery& q) {
  MatchResult r = match_request(c, q);
  return r.winner == MatchResult::none ? "(none)" : r.routes[r.winner].router->name;
}

// Renders `loaded` to traefik and compares; returns the number of requests compared.
std::size_t round_trip(LoadedConfig& loaded, const std::string& label) {
  render::RenderOptions o;
  o.inputs = {label};
  Diagnostics d;
  auto result = render::find_target("traefik")->make()->render(loaded, o, d);
  LoadedConfig back = load_text(label + ".rendered.yml", result.main);
  lint(back, {.entry_points = {}, .check_certificate_files = false});
  std::string errors;
  for (const auto& x : back.diagnostics.items())
    if (x.severity == Severity::error) errors += std::to_string(x.pos.line) + ": " + x.message + "\n";
  INFO(label << ": the render does not lint clean:\n" << errors << "\n" << result.main);
  REQUIRE(errors.empty());

  Probes probes;
  probes.collect(loaded.config);
  probes.collect(back.config);
  std::size_t n = 0;
  std::vector<MatchQuery> queries;
  for (bool tls : {false, true})
    for (const auto& h : probes.hosts)
      for (const auto& p : probes.paths)
        for (std::size_t m = 0; m < probes.methods.size(); ++m) {
          MatchQuery q;
          q.tls = tls;
          q.request.host = h;
          q.request.path = p;
          q.request.method = probes.methods[m];
          q.request.client_ip = probes.ips[(n++) % probes.ips.size()];
          queries.push_back(q);
          if (m == 0) {
            for (const auto& [k, v] : probes.headers) {
              q.request.headers = {{k, v}};
              queries.push_back(q);
            }
            q.request.headers.clear();
            for (const auto& s : probes.queries) {
              q.request.raw_query = s;
              queries.push_back(q);
            }
            q.request.raw_query = probes.queries.size() > 1 ? probes.queries[0] + "&" + probes.queries[1] : "";
            if (!q.request.raw_query.empty()) queries.push_back(q);
          }
        }
  for (bool tls : {false, true})
    for (const auto& s : probes.snis) {
      MatchQuery q;
      q.protocol = Protocol::tcp;
      q.tls = tls;
      q.request.sni = s;
      q.request.client_ip = "10.1.2.3";
      queries.push_back(q);
    }
  for (const auto& q : queries) {
    std::string want = winner(loaded.config, q);
    std::string got = winner(back.config, q);
    if (want != got) {
      std::string headers;
      for (const auto& [k, v] : q.request.headers) headers += " " + k + ": " + v;
      FAIL(label << ": " << (q.protocol == Protocol::tcp ? "SNI " + q.request.sni
                                                         : q.request.method + (q.tls ? " https://" : " http://") + q.request.host +
                                                               q.request.path + (q.request.raw_query.empty() ? "" : "?" + q.request.raw_query) +
                                                               headers + " from " + q.request.client_ip)
                 << ": the original picks " << want << ", the render " << got << "\n"
                 << result.main);
    }
  }
  return queries.size();
}

}  // namespace

TEST_CASE("render traefik: the golden cases round-trip", "[render][traefik]") {
  std::size_t cases = 0, requests = 0;
  for (const auto& entry : fs::directory_iterator(CERTROUTE_TRAEFIK_CASES)) {
    std::string name = entry.path().filename().string();
    bool input = (entry.is_directory() && name.ends_with(".d")) ||
                 ((name.ends_with(".yml") || name.ends_with(".toml") || name.ends_with(".json")) && !name.ends_with(".expected.yml"));
    if (!input) continue;
    LoadedConfig loaded = load_config({entry.path().string()});
    REQUIRE(loaded.errors.empty());
    ++cases;
    requests += round_trip(loaded, name);
  }
  CHECK(cases >= 6);
  CHECK(requests > 500);
}

TEST_CASE("render traefik: every corpus file lint accepts round-trips", "[render][traefik][corpus]") {
  std::size_t files = 0, skipped = 0;
  for (const auto& entry : fs::recursive_directory_iterator(CERTROUTE_CORPUS_DIR)) {
    std::string name = entry.path().filename().string();
    if (!entry.is_regular_file() || !(name.ends_with(".yml") || name.ends_with(".yaml") || name.ends_with(".toml") || name.ends_with(".json")))
      continue;
    LoadedConfig loaded = load_config({entry.path().string()});
    lint(loaded);
    if (!loaded.errors.empty() || loaded.diagnostics.errors() > 0) {
      ++skipped;
      continue;
    }
    ++files;
    round_trip(loaded, name);
  }
  CHECK(files >= 40);
  INFO("skipped (lint errors): " << skipped);
}

TEST_CASE("render traefik: v2 rules are rewritten to v3 with the old priority", "[render][traefik]") {
  LoadedConfig loaded = load_text("v2.yml", R"(http:
  routers:
    r:
      rule: Host(`a.com`, `b.com`) && PathPrefix(`/u/{id:[0-9]+}`) && Headers(`X`, `1`)
      ruleSyntax: v2
      service: s
  services:
    s:
      loadBalancer:
        servers: [{url: "http://s:80"}]
)");
  Diagnostics d;
  auto out = render::find_target("traefik")->make()->render(loaded, {}, d).main;
  CHECK(out.find("rule: \"(Host(`a.com`) || Host(`b.com`)) && PathRegexp(`^/u/[0-9]+`) && Header(`X`, `1`)\"") !=
        std::string::npos);
  CHECK(out.find("priority: 75") != std::string::npos);
  CHECK(out.find("ruleSyntax") == std::string::npos);
  CHECK(d.items().empty());
}
