#include <catch2/catch.hpp>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <set>

#include "core/routes/lint.hpp"
#include "core/routes/match.hpp"

using namespace certroute::routes;

namespace {

LoadedConfig lint_text(const std::string& text, LintOptions o = {}) {
  auto l = load_text("t.yml", text);
  o.check_certificate_files = o.check_certificate_files && true;
  lint(l, o);
  return l;
}

std::vector<Code> codes(const LoadedConfig& l) {
  std::vector<Code> out;
  for (const auto& d : l.diagnostics.items()) out.push_back(d.code);
  return out;
}

std::string dump(const LoadedConfig& l) {
  std::string s;
  for (const auto& d : l.diagnostics.items())
    s += std::string(code_info(d.code).id) + " " + std::to_string(d.pos.line) + ":" + std::to_string(d.pos.column) + " " +
         d.message + "\n";
  return s;
}

const std::string kService = "  services:\n    s:\n      loadBalancer:\n        servers: [{url: 'http://127.0.0.1'}]\n";

}  // namespace

TEST_CASE("codes: the table covers every code once, with explanations", "[lint]") {
  std::set<std::string_view> ids;
  for (const auto& c : code_table()) {
    CHECK(ids.insert(c.id).second);
    CHECK(&code_info(c.code) == &c);
    CHECK(c.id.size() == 5);
    CHECK(c.id.starts_with("CR"));
    CHECK_FALSE(c.explanation.empty());
    CHECK(find_code(c.id) == &c);
  }
  CHECK(find_code("cr001") == &code_info(Code::syntax));
  CHECK(find_code("CR999") == nullptr);
  // The enumerators are dense: each of them has its row.
  for (std::size_t i = 0; i < code_table().size(); ++i) CHECK(code_info(static_cast<Code>(i)).code == static_cast<Code>(i));
}

TEST_CASE("lint: rule diagnostics point into the file", "[lint]") {
  auto l = lint_text("http:\n  routers:\n    r:\n      rule: \"Host(`a`) && Hots(`b`)\"\n      service: s\n" + kService);
  REQUIRE(codes(l) == std::vector<Code>{Code::unknown_matcher});
  CHECK(l.diagnostics.items()[0].pos.line == 4);
  CHECK(l.diagnostics.items()[0].pos.column == 27);
}

TEST_CASE("lint: a rule with escapes reports the column inside the rule", "[lint]") {
  auto l = lint_text("http:\n  routers:\n    r:\n      rule: \"PathRegexp(`\\\\d(`)\"\n      service: s\n" + kService);
  REQUIRE(codes(l) == std::vector<Code>{Code::invalid_regex});
  CHECK_THAT(l.diagnostics.items()[0].message, Catch::Contains("at column 12 of the rule"));
}

TEST_CASE("lint: references to services, middlewares, TLS options, transports", "[lint]") {
  auto l = lint_text(
      "http:\n  routers:\n"
      "    a:\n      rule: \"Host(`a`)\"\n      service: nope\n      middlewares: [m, missing, x@docker, m@file]\n"
      "      tls: {options: modern}\n"
      "    b:\n      rule: \"Host(`b`)\"\n      service: api@internal\n      tls: {options: default}\n"
      "    c:\n      rule: \"Host(`c`)\"\n      service: s@file\n"
      "  middlewares:\n    m:\n      chain:\n        middlewares: [m2]\n    m2:\n      chain:\n        middlewares: [m]\n" +
      kService);
  INFO(dump(l));
  CHECK(codes(l) == std::vector<Code>{Code::undefined_service, Code::undefined_middleware, Code::undefined_tls_options,
                                      Code::middleware_cycle});
}

TEST_CASE("lint: --entrypoints checks the routers' entry points", "[lint]") {
  std::string cfg = "http:\n  routers:\n    r:\n      rule: \"Host(`a`)\"\n      entryPoints: [web, webscure]\n"
                    "      service: s\n" + kService;
  CHECK(codes(lint_text(cfg)).empty());
  auto l = lint_text(cfg, LintOptions{.entry_points = {"web", "websecure"}});
  REQUIRE(codes(l) == std::vector<Code>{Code::undefined_entry_point});
  CHECK(l.diagnostics.items()[0].pos.column == 26);
}

TEST_CASE("lint: shadowed routers", "[lint]") {
  auto l = lint_text(
      "http:\n  routers:\n"
      "    all:\n      rule: \"PathPrefix(`/`)\"\n      priority: 100\n      service: s\n"
      "    api:\n      rule: \"Host(`a.com`) && PathPrefix(`/api`)\"\n      service: s\n"
      "    narrow:\n      rule: \"Host(`b.com`) && PathPrefix(`/api/v1`)\"\n      priority: 105\n      service: s\n"
      "    wide:\n      rule: \"Host(`b.com`) && PathPrefix(`/api`)\"\n      priority: 106\n      service: s\n"
      "    fine:\n      rule: \"Host(`c.com`) && PathPrefix(`/api/v1`)\"\n      priority: 201\n      service: s\n"
      "    fine2:\n      rule: \"Host(`c.com`) && PathPrefix(`/api`)\"\n      priority: 200\n      service: s\n" +
      kService);
  INFO(dump(l));
  auto c = codes(l);
  REQUIRE(std::count(c.begin(), c.end(), Code::shadowed_router) == 2);
  CHECK_THAT(dump(l), Catch::Contains("router 'api' never gets a request: router 'all'"));
  CHECK_THAT(dump(l), Catch::Contains("router 'narrow' never gets a request: router 'wide'"));
}

TEST_CASE("lint: services and middlewares", "[lint]") {
  auto l = lint_text(
      "http:\n  services:\n    empty:\n      loadBalancer: {}\n"
      "    bad:\n      loadBalancer:\n        servers: [{url: 'not a url'}, {url: 'http://'}, {url: 'http://a:70000'}]\n"
      "    w:\n      weighted:\n        services: [{name: empty}, {name: gone}]\n"
      "  middlewares:\n    two:\n      addPrefix: {prefix: /a}\n      stripPrefix: {prefixes: [/b]}\n");
  INFO(dump(l));
  CHECK(codes(l) == std::vector<Code>{Code::no_servers, Code::invalid_url, Code::invalid_url, Code::invalid_url,
                                      Code::undefined_service, Code::middleware_type});
}

TEST_CASE("lint: TCP and UDP", "[lint]") {
  auto l = lint_text(
      "tcp:\n  routers:\n    a:\n      rule: \"HostSNI(`db.example.com`)\"\n      service: db\n"
      "    b:\n      rule: \"HostSNI(`*`)\"\n      service: db\n"
      "    c:\n      rule: \"HostSNI(`x.example.com`)\"\n      tls: {passthrough: true}\n      service: db\n"
      "  services:\n    db:\n      loadBalancer:\n        servers: [{address: 'db:5432'}, {address: 'db'}]\n"
      "udp:\n  routers:\n    d:\n      service: nope\n");
  INFO(dump(l));
  CHECK(codes(l) == std::vector<Code>{Code::sni_without_tls, Code::invalid_url, Code::undefined_service});
}

TEST_CASE("lint: TLS certificates are read from disk or inline", "[lint]") {
  auto l = lint_text(
      "tls:\n  certificates:\n"
      "    - certFile: /nonexistent/cert.pem\n      keyFile: /nonexistent/key.pem\n"
      "    - certFile: |\n        -----BEGIN CERTIFICATE-----\n        MIIB\n        -----END CERTIFICATE-----\n"
      "      keyFile: |\n        -----BEGIN EC PRIVATE KEY-----\n        MHc\n        -----END EC PRIVATE KEY-----\n"
      "    - certFile: /nonexistent/only-cert.pem\n");
  INFO(dump(l));
  CHECK(codes(l) == std::vector<Code>{Code::tls_certificate, Code::tls_certificate, Code::tls_certificate,
                                      Code::tls_certificate});
  LintOptions off;
  off.check_certificate_files = false;
  auto quiet = load_text("t.yml", "tls:\n  certificates:\n    - certFile: /x\n      keyFile: /y\n");
  lint(quiet, off);
  CHECK(quiet.diagnostics.items().empty());
}

TEST_CASE("lint: routers without rule or service", "[lint]") {
  auto l = lint_text("http:\n  routers:\n    r:\n      middlewares: [m]\n  middlewares:\n    m:\n      compress: true\n");
  CHECK(codes(l) == std::vector<Code>{Code::missing_rule, Code::missing_service});
}

TEST_CASE("match: priority order, TLS, entry points, skipped invalid rules", "[match]") {
  auto l = load_text("t.yml",
                     "http:\n  routers:\n"
                     "    site:\n      rule: \"Host(`a.com`)\"\n      service: s\n"
                     "    api:\n      rule: \"Host(`a.com`) && PathPrefix(`/api`)\"\n      service: s\n      middlewares: [m]\n"
                     "    secure:\n      rule: \"Host(`a.com`)\"\n      tls: {}\n      service: s\n"
                     "    broken:\n      rule: \"Host(`a.com`) && Pth(`/`)\"\n      priority: 1000\n      service: s\n"
                     "    admin:\n      rule: \"Host(`a.com`) && PathPrefix(`/api/admin`)\"\n      entryPoints: [internal]\n"
                     "      service: s\n" +
                         kService);
  MatchQuery q;
  q.request.host = "a.com";
  q.request.path = "/api/admin/x";
  auto r = match_request(l.config, q);
  REQUIRE(r.winner != MatchResult::none);
  CHECK(r.routes[r.winner].router->name == "admin");
  q.entry_point = "web";
  r = match_request(l.config, q);
  REQUIRE(r.winner != MatchResult::none);
  CHECK(r.routes[r.winner].router->name == "api");
  REQUIRE(r.candidates.size() >= 2);
  CHECK(r.candidates[0].status == Candidate::Status::invalid);  // broken, priority 1000
  q.tls = true;
  r = match_request(l.config, q);
  REQUIRE(r.winner != MatchResult::none);
  CHECK(r.routes[r.winner].router->name == "secure");
  q.tls = false;
  q.request.host = "b.com";
  r = match_request(l.config, q);
  CHECK(r.winner == MatchResult::none);
}

TEST_CASE("lint: the check table is documented", "[lint]") {
  CHECK(lint_checks().size() >= 8);
  for (const auto& c : lint_checks()) CHECK_FALSE(c.description.empty());
}
