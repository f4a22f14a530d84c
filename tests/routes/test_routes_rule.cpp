#include <catch2/catch.hpp>

#include "core/routes/rule.hpp"

using namespace certroute::routes;

namespace {
Rule http(std::string_view text, RuleSyntax syntax = RuleSyntax::v3) { return parse_rule(text, RuleKind::http, syntax); }
Rule tcp(std::string_view text, RuleSyntax syntax = RuleSyntax::v3) { return parse_rule(text, RuleKind::tcp, syntax); }

const RuleIssue& only_issue(const Rule& r) {
  REQUIRE(r.issues.size() == 1);
  return r.issues.front();
}
}  // namespace

TEST_CASE("rules: a simple rule parses to one matcher with spans", "[rule]") {
  Rule r = http("Host(`example.com`)");
  REQUIRE(r.ok());
  REQUIRE(r.root);
  CHECK(r.root->op == RuleExpr::Op::matcher);
  CHECK(r.root->matcher == Matcher::host);
  REQUIRE(r.root->args.size() == 1);
  CHECK(r.root->args[0].value == "example.com");
  CHECK(r.root->args[0].begin == 5);  // the opening backtick
  CHECK(r.root->args[0].end == 18);
  CHECK(r.text_of(*r.root) == "Host(`example.com`)");
  CHECK(r.default_priority() == 19);
}

TEST_CASE("rules: && binds tighter than ||, ! tighter than &&", "[rule]") {
  Rule r = http("Host(`a`) || Host(`b`) && !Path(`/x`)");
  REQUIRE(r.ok());
  REQUIRE(r.root->op == RuleExpr::Op::or_);
  const RuleExpr& rhs = r.root->children[1];
  REQUIRE(rhs.op == RuleExpr::Op::and_);
  CHECK(rhs.children[1].op == RuleExpr::Op::not_);
  CHECK(r.text_of(rhs) == "Host(`b`) && !Path(`/x`)");
}

TEST_CASE("rules: parentheses group and keep their span", "[rule]") {
  Rule r = http("(Host(`a`) || Host(`b`)) && PathPrefix(`/api`)");
  REQUIRE(r.ok());
  REQUIRE(r.root->op == RuleExpr::Op::and_);
  CHECK(r.text_of(r.root->children[0]) == "(Host(`a`) || Host(`b`))");
}

TEST_CASE("rules: double-quoted strings are Go strings", "[rule]") {
  Rule r = http(R"(Host("example.com") && PathRegexp("^/v\\d+/\x41"))");
  REQUIRE(r.ok());
  CHECK(r.root->children[1].args[0].value == "^/v\\d+/A");
  Rule bad = http(R"(PathRegexp("^/v\d+"))");
  CHECK_FALSE(bad.ok());
  CHECK(only_issue(bad).code == Code::rule_syntax);
  CHECK(only_issue(bad).begin == 15);  // the backslash
}

TEST_CASE("rules: whitespace and newlines between tokens are fine", "[rule]") {
  CHECK(http("Host(`a`)\n  && Path(`/`)").ok());
  CHECK(http("  Host( `a` , )  ").ok());  // Go allows a trailing comma
}

TEST_CASE("rules: syntax errors point at the offending token", "[rule]") {
  struct Case {
    const char* rule;
    std::size_t column;  // 0-based
    const char* message;
  };
  const Case cases[] = {
      {"Host(`a`) & Path(`/`)", 10, "'&&'"},
      {"Host(`a`) | Path(`/`)", 10, "'||'"},
      {"Host(`a`", 8, "where ',' or ')' was expected"},
      {"Host(`a)", 5, "unterminated"},
      {"Host(\"a)", 5, "unterminated"},
      {"Host(`a`) Path(`/`)", 10, "missing '&&' or '||'"},
      {"(Host(`a`)", 10, "')' was expected"},
      {"Host", 4, "needs '('"},
      {"Host(example.com)", 5, "must be strings"},
      {"Host('a')", 5, "single quotes"},
      {"", 0, "empty"},
      {"&& Host(`a`)", 0, "where a matcher was expected"},
      {"`a`", 0, "must be a matcher's argument"},
  };
  for (const auto& c : cases) {
    INFO(c.rule);
    Rule r = http(c.rule);
    CHECK_FALSE(r.ok());
    CHECK(r.root == nullptr);
    const RuleIssue& is = only_issue(r);
    CHECK(is.code == Code::rule_syntax);
    CHECK(is.begin == c.column);
    CHECK_THAT(is.message, Catch::Contains(c.message));
  }
}

TEST_CASE("rules: deep nesting is refused, not recursed into", "[rule]") {
  std::string deep = std::string(5000, '(') + "Host(`a`)" + std::string(5000, ')');
  Rule r = http(deep);
  CHECK_FALSE(r.ok());
  CHECK_THAT(only_issue(r).message, Catch::Contains("nests deeper"));
  std::string nots = std::string(5000, '!') + "Host(`a`)";
  CHECK_FALSE(http(nots).ok());
}

TEST_CASE("rules: matcher names accept Traefik's four spellings only", "[rule]") {
  CHECK(http("Host(`a`)").ok());
  CHECK(http("host(`a`)").ok());
  CHECK(http("HOST(`a`)").ok());
  CHECK(http("PathPrefix(`/`)").ok());
  CHECK(http("pathprefix(`/`)").ok());
  CHECK(http("PATHPREFIX(`/`)").ok());
  CHECK(http("Pathprefix(`/`)").ok());
  Rule r = http("pathPrefix(`/`)");
  CHECK(only_issue(r).code == Code::unknown_matcher);
  CHECK_THAT(only_issue(r).message, Catch::Contains("did you mean PathPrefix"));
  CHECK(only_issue(r).begin == 0);
  CHECK(only_issue(r).end == 10);
}

TEST_CASE("rules: unknown matchers suggest the nearest name", "[rule]") {
  Rule r = http("Host(`a`) && Hedaer(`X`, `y`)");
  CHECK(only_issue(r).code == Code::unknown_matcher);
  CHECK(only_issue(r).begin == 13);
  CHECK_THAT(only_issue(r).message, Catch::Contains("did you mean Header"));
}

TEST_CASE("rules: v3 argument counts", "[rule]") {
  CHECK(http("Header(`X`, `y`)").ok());
  CHECK(http("HeaderRegexp(`X`, `^y`)").ok());
  CHECK(http("Query(`k`)").ok());
  CHECK(http("Query(`k`, `v`)").ok());
  CHECK(http("QueryRegexp(`k`, `^v`)").ok());
  CHECK(only_issue(http("Header(`X`)")).code == Code::matcher_arguments);
  CHECK(only_issue(http("Host()")).code == Code::matcher_arguments);
  CHECK(only_issue(http("QueryRegexp(`k`)")).code == Code::matcher_arguments);
  CHECK(only_issue(http("Header(`X`, `y`, `z`)")).code == Code::matcher_arguments);
}

TEST_CASE("rules: v2 forms that v3 rejects get an error with the v3 spelling", "[rule]") {
  Rule headers = http("Headers(`X-Env`, `prod`)");
  CHECK(only_issue(headers).code == Code::v2_syntax);
  CHECK(only_issue(headers).hint == "Header(`X-Env`, `prod`)");
  CHECK(only_issue(http("HeadersRegexp(`X`, `^a`)")).hint == "HeaderRegexp(`X`, `^a`)");
  CHECK(only_issue(http("HostHeader(`a.com`)")).hint == "Host(`a.com`)");
  Rule multi = http("Host(`a.com`, `b.com`)");
  CHECK(only_issue(multi).code == Code::v2_syntax);
  CHECK(only_issue(multi).hint == "Host(`a.com`) || Host(`b.com`)");
  CHECK(only_issue(http("Method(`GET`, `HEAD`)")).hint == "Method(`GET`) || Method(`HEAD`)");
  CHECK(only_issue(http("Query(`a=1`, `b=2`, `c`)")).hint == "Query(`a`, `1`) && Query(`b`, `2`) && Query(`c`)");
  CHECK(only_issue(tcp("HostSNI(`a.com`, `b.com`)")).code == Code::v2_syntax);
}

TEST_CASE("rules: v2 forms that v3 reads differently get a warning", "[rule]") {
  Rule path = http("Path(`/users/{id:[0-9]+}`)");
  CHECK(path.ok());  // accepted, with another meaning
  CHECK(only_issue(path).code == Code::v2_meaning_changed);
  CHECK(only_issue(path).hint == "PathRegexp(`^/users/[0-9]+$`)");
  CHECK(only_issue(http("PathPrefix(`/u/{name}`)")).hint == "PathRegexp(`^/u/[^/]+`)");
  Rule host = http("HostRegexp(`{sub:[a-z]+}.example.com`)");
  CHECK(host.ok());
  CHECK(only_issue(host).hint == "HostRegexp(`^[a-z]+\\.example\\.com$`)");
  Rule q = http("Query(`mobile=true`)");
  CHECK(q.ok());
  CHECK(only_issue(q).hint == "Query(`mobile`, `true`)");
  // A real regular expression with quantifiers is not a template.
  CHECK(http("HostRegexp(`^[a-z]{2,3}\\.example\\.com$`)").issues.empty());
}

TEST_CASE("rules: v2 syntax accepts v2 forms and refuses v3-only matchers", "[rule]") {
  CHECK(http("Host(`a.com`, `b.com`) && Path(`/u/{id:[0-9]+}`)", RuleSyntax::v2).issues.empty());
  CHECK(http("Headers(`X`, `y`) || HostHeader(`a`)", RuleSyntax::v2).ok());
  CHECK(http("Query(`a=1`, `b=2`)", RuleSyntax::v2).ok());
  Rule r = http("Header(`X`, `y`)", RuleSyntax::v2);
  CHECK(only_issue(r).code == Code::unknown_matcher);
  CHECK_THAT(only_issue(r).message, Catch::Contains("v3 matcher"));
}

TEST_CASE("rules: regular expressions compile with RE2, errors point at the argument", "[rule]") {
  CHECK(http("PathRegexp(`^/api/(v1|v2)/`)").ok());
  Rule r = http("Host(`a`) && PathRegexp(`^/(a|b`)");
  CHECK(only_issue(r).code == Code::invalid_regex);
  CHECK(only_issue(r).begin == 24);
  CHECK_THAT(only_issue(r).message, Catch::Contains("missing )"));
  // Go's regexp (RE2) has no look-ahead.
  CHECK(only_issue(http("PathRegexp(`^/(?!admin)`)")).code == Code::invalid_regex);
  CHECK(only_issue(http("HeaderRegexp(`X`, `[`)")).code == Code::invalid_regex);
  CHECK(only_issue(http("QueryRegexp(`k`, `(`)")).code == Code::invalid_regex);
  CHECK(only_issue(tcp("HostSNIRegexp(`(`)")).code == Code::invalid_regex);
}

TEST_CASE("rules: argument checks", "[rule]") {
  CHECK(only_issue(http("Path(`api`)")).code == Code::invalid_matcher_value);
  CHECK(only_issue(http("PathPrefix(`api`)")).hint == "PathPrefix(`/api`)");
  CHECK(only_issue(http("Host(`bücher.example`)")).code == Code::invalid_matcher_value);
  CHECK(only_issue(http("ClientIP(`10.0.0.300`)")).code == Code::invalid_matcher_value);
  CHECK(only_issue(http("ClientIP(`10.0.0.0/33`)")).code == Code::invalid_matcher_value);
  CHECK(http("ClientIP(`10.0.0.0/8`) || ClientIP(`::1`) || ClientIP(`2001:db8::/32`)").ok());
  Rule port = http("Host(`a.com:8080`)");
  CHECK(port.ok());
  CHECK(only_issue(port).code == Code::never_matches);
  CHECK(only_issue(port).hint == "Host(`a.com`)");
  CHECK(only_issue(http("Host(`*.a.com`)")).hint == "HostRegexp(`^[^.]+\\.a\\.com$`)");
  CHECK(only_issue(http("Host(`https://a.com`)")).code == Code::never_matches);
  CHECK(only_issue(http("Method(`GET POST`)")).code == Code::never_matches);
}

TEST_CASE("rules: TCP matchers", "[rule]") {
  CHECK(tcp("HostSNI(`*`)").ok());
  CHECK(tcp("HostSNI(`db.example.com`) && ClientIP(`10.0.0.0/8`)").ok());
  CHECK(tcp("HostSNIRegexp(`^.+\\.example\\.com$`) || ALPN(`h2`)").ok());
  Rule wild = tcp("HostSNI(`*.example.com`)");
  CHECK(only_issue(wild).code == Code::invalid_matcher_value);
  CHECK(only_issue(wild).hint == "HostSNIRegexp(`^[^.]+\\.example\\.com$`)");
  CHECK(only_issue(tcp("ALPN(`acme-tls/1`)")).code == Code::invalid_matcher_value);
  CHECK_THAT(only_issue(tcp("Host(`a`)")).message, Catch::Contains("HTTP matcher"));
  CHECK_THAT(only_issue(http("HostSNI(`a`)")).message, Catch::Contains("TCP matcher"));
}

TEST_CASE("rules: templates convert to regular expressions", "[rule]") {
  CHECK(template_to_regex("/users/{id:[0-9]+}/x", "[^/]+") == "/users/[0-9]+/x");
  CHECK(template_to_regex("/a/{name}", "[^/]+") == "/a/[^/]+");
  CHECK(template_to_regex("{sub:a|b}.x.com", "[^.]+") == "(?:a|b)\\.x\\.com");
  CHECK(template_to_regex("/v{n:[0-9]{2}}", "[^/]+") == "/v[0-9]{2}");
  CHECK_FALSE(template_to_regex("/plain/path", "[^/]+"));
  CHECK_FALSE(template_to_regex("^[a-z]{2}$", "[^.]+"));
  CHECK(quote_meta("a.b*c") == "a\\.b\\*c");
}
