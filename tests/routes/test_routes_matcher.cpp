#include <catch2/catch.hpp>

#include "core/routes/matcher.hpp"

using namespace certroute::routes;

namespace {
Request get(std::string host, std::string path = "/", std::string query = "") {
  Request r;
  r.host = std::move(host);
  r.path = std::move(path);
  r.raw_query = std::move(query);
  return r;
}

bool matches(std::string_view rule, const Request& req, RuleSyntax syntax = RuleSyntax::v3) {
  Rule r = parse_rule(rule, RuleKind::http, syntax);
  REQUIRE(r.ok());
  return evaluate(r, req).matched;
}

bool matches_tcp(std::string_view rule, const Request& req) {
  Rule r = parse_rule(rule, RuleKind::tcp);
  REQUIRE(r.ok());
  return evaluate(r, req).matched;
}
}  // namespace

TEST_CASE("matcher: Host is case-insensitive and ignores the port and a trailing dot", "[matcher]") {
  CHECK(matches("Host(`example.com`)", get("example.com")));
  CHECK(matches("Host(`example.com`)", get("EXAMPLE.com")));
  CHECK(matches("Host(`Example.COM`)", get("example.com")));
  CHECK(matches("Host(`example.com`)", get("example.com:8443")));
  CHECK(matches("Host(`example.com`)", get("example.com.")));
  CHECK(matches("Host(`example.com.`)", get("example.com")));
  CHECK(matches("Host(`::1`)", get("[::1]:8080")));
  CHECK_FALSE(matches("Host(`example.com`)", get("www.example.com")));
  CHECK_FALSE(matches("Host(`example.com`)", get("")));
}

TEST_CASE("matcher: PathPrefix is a plain string prefix", "[matcher]") {
  CHECK(matches("PathPrefix(`/api`)", get("a", "/api")));
  CHECK(matches("PathPrefix(`/api`)", get("a", "/api/users")));
  CHECK(matches("PathPrefix(`/api`)", get("a", "/apiv2")));
  CHECK_FALSE(matches("PathPrefix(`/api`)", get("a", "/ap")));
  CHECK_FALSE(matches("PathPrefix(`/api`)", get("a", "/API")));
  CHECK(matches("Path(`/login`)", get("a", "/login")));
  CHECK_FALSE(matches("Path(`/login`)", get("a", "/login/")));
}

TEST_CASE("matcher: regexps are unanchored unless the pattern anchors", "[matcher]") {
  CHECK(matches("PathRegexp(`/v[0-9]+/`)", get("a", "/api/v2/users")));
  CHECK_FALSE(matches("PathRegexp(`^/v[0-9]+/`)", get("a", "/api/v2/users")));
  CHECK(matches("PathRegexp(`^/v[0-9]+/`)", get("a", "/v2/users")));
  CHECK(matches("HostRegexp(`example`)", get("www.example.com")));
  CHECK_FALSE(matches("HostRegexp(`^example\\.com$`)", get("www.example.com")));
  CHECK(matches("HostRegexp(`^[a-z]+\\.example\\.com$`)", get("WWW.example.com:443")));
}

TEST_CASE("matcher: Query matches a key with a value, or a key alone", "[matcher]") {
  CHECK(matches("Query(`mobile`, `true`)", get("a", "/", "mobile=true")));
  CHECK(matches("Query(`mobile`, `true`)", get("a", "/", "x=1&mobile=false&mobile=true")));
  CHECK_FALSE(matches("Query(`mobile`, `true`)", get("a", "/", "mobile=false")));
  CHECK(matches("Query(`debug`)", get("a", "/", "debug")));
  CHECK(matches("Query(`debug`)", get("a", "/", "debug=")));
  CHECK(matches("Query(`debug`)", get("a", "/", "debug=1")));
  CHECK_FALSE(matches("Query(`debug`)", get("a", "/", "nodebug=1")));
  CHECK(matches("Query(`q`, `a b`)", get("a", "/", "q=a+b")));
  CHECK(matches("Query(`q`, `a/b`)", get("a", "/", "q=a%2Fb")));
  CHECK(matches("QueryRegexp(`id`, `^[0-9]+$`)", get("a", "/", "id=42")));
  CHECK_FALSE(matches("QueryRegexp(`id`, `^[0-9]+$`)", get("a", "/", "id=x42")));
  // v2: "key=value" pairs, all of them.
  CHECK(matches("Query(`a=1`, `b=2`)", get("a", "/", "b=2&a=1"), RuleSyntax::v2));
  CHECK_FALSE(matches("Query(`a=1`, `b=2`)", get("a", "/", "a=1"), RuleSyntax::v2));
}

TEST_CASE("matcher: ClientIP takes IPs and CIDRs, v4 and v6", "[matcher]") {
  Request r = get("a");
  r.client_ip = "10.1.2.3";
  CHECK(matches("ClientIP(`10.0.0.0/8`)", r));
  CHECK(matches("ClientIP(`10.1.2.3`)", r));
  CHECK_FALSE(matches("ClientIP(`10.1.2.4`)", r));
  CHECK_FALSE(matches("ClientIP(`192.168.0.0/16`)", r));
  CHECK_FALSE(matches("ClientIP(`2001:db8::/32`)", r));
  r.client_ip = "2001:db8::1";
  CHECK(matches("ClientIP(`2001:db8::/32`)", r));
  CHECK(matches("ClientIP(`2001:db8::1`)", r));
  CHECK_FALSE(matches("ClientIP(`2001:db9::/32`)", r));
  CHECK_FALSE(matches("ClientIP(`10.0.0.0/8`)", r));
  r.client_ip = "";
  CHECK_FALSE(matches("ClientIP(`0.0.0.0/0`)", r));
}

TEST_CASE("matcher: Method, Header and HeaderRegexp", "[matcher]") {
  Request r = get("a");
  r.method = "POST";
  r.headers = {{"x-env", "prod"}, {"Accept", "text/html"}};
  CHECK(matches("Method(`POST`)", r));
  CHECK(matches("Method(`post`)", r));  // the matcher's value is upper-cased
  CHECK_FALSE(matches("Method(`GET`)", r));
  CHECK(matches("Header(`X-Env`, `prod`)", r));  // names are case-insensitive
  CHECK_FALSE(matches("Header(`X-Env`, `Prod`)", r));  // values are not
  CHECK(matches("HeaderRegexp(`Accept`, `html`)", r));
  CHECK_FALSE(matches("Header(`X-Missing`, `x`)", r));
}

TEST_CASE("matcher: operators and the failing sub-expression", "[matcher]") {
  Rule r = parse_rule("Host(`a.com`) && (PathPrefix(`/api`) || Method(`POST`)) && !Header(`X-Block`, `1`)", RuleKind::http);
  REQUIRE(r.ok());
  Request req = get("a.com", "/api/x");
  CHECK(evaluate(r, req).matched);
  req.headers = {{"X-Block", "1"}};
  auto ev = evaluate(r, req);
  CHECK_FALSE(ev.matched);
  REQUIRE(ev.failed);
  CHECK(r.text_of(*ev.failed) == "!Header(`X-Block`, `1`)");
  ev = evaluate(r, get("b.com", "/api"));
  CHECK(r.text_of(*ev.failed) == "Host(`a.com`)");
  ev = evaluate(r, get("a.com", "/web"));
  CHECK(r.text_of(*ev.failed) == "(PathPrefix(`/api`) || Method(`POST`))");
}

TEST_CASE("matcher: v2 templates and several values", "[matcher]") {
  CHECK(matches("Path(`/users/{id:[0-9]+}`)", get("a", "/users/42"), RuleSyntax::v2));
  CHECK_FALSE(matches("Path(`/users/{id:[0-9]+}`)", get("a", "/users/42/x"), RuleSyntax::v2));
  CHECK(matches("PathPrefix(`/users/{id:[0-9]+}`)", get("a", "/users/42/x"), RuleSyntax::v2));
  CHECK(matches("HostRegexp(`{sub:[a-z]+}.example.com`)", get("WWW.example.com"), RuleSyntax::v2));
  CHECK_FALSE(matches("HostRegexp(`{sub:[a-z]+}.example.com`)", get("a.b.example.com"), RuleSyntax::v2));
  CHECK(matches("Host(`a.com`, `b.com`)", get("b.com"), RuleSyntax::v2));
  // In v3 the template is literal text.
  CHECK_FALSE(matches("Path(`/users/{id:[0-9]+}`)", get("a", "/users/42")));
  CHECK(matches("Path(`/users/{id:[0-9]+}`)", get("a", "/users/{id:[0-9]+}")));
}

TEST_CASE("matcher: TCP HostSNI, ALPN and ClientIP", "[matcher]") {
  Request r;
  r.sni = "DB.example.com";
  r.alpn = {"h2", "http/1.1"};
  r.client_ip = "10.0.0.7";
  CHECK(matches_tcp("HostSNI(`db.example.com`)", r));
  CHECK(matches_tcp("HostSNI(`*`)", r));
  CHECK_FALSE(matches_tcp("HostSNI(`www.example.com`)", r));
  CHECK(matches_tcp("HostSNIRegexp(`^[a-z]+\\.example\\.com$`)", r));
  CHECK(matches_tcp("ALPN(`h2`)", r));
  CHECK_FALSE(matches_tcp("ALPN(`imap`)", r));
  CHECK(matches_tcp("HostSNI(`db.example.com`) && ClientIP(`10.0.0.0/24`)", r));
  r.sni.clear();
  CHECK(matches_tcp("HostSNI(`*`)", r));
  CHECK_FALSE(matches_tcp("HostSNI(`db.example.com`)", r));
}

TEST_CASE("matcher: helpers", "[matcher]") {
  CHECK(canonical_host("Example.COM:443") == "example.com");
  CHECK(canonical_host("[2001:DB8::1]:80") == "2001:db8::1");
  CHECK(canonical_host("a.example.") == "a.example");
  auto q = parse_query("a=1&b=x+y&c&d=%41&bad=%zz&semi=1;x=2");
  REQUIRE(q.size() == 4);
  CHECK(q[1] == std::pair<std::string, std::string>{"b", "x y"});
  CHECK(q[2] == std::pair<std::string, std::string>{"c", ""});
  CHECK(q[3] == std::pair<std::string, std::string>{"d", "A"});
  CHECK(unescape_path("/a%20b") == "/a b");
  CHECK_FALSE(unescape_path("/a%2"));
}
