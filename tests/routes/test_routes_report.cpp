// The printers, and the SARIF 2.1.0 checks that matter to GitHub code scanning
// (no SARIF schema validator is packaged in Debian 12).
#include <catch2/catch.hpp>

#include <set>

#include "core/routes/lint.hpp"
#include "core/routes/report.hpp"

using namespace certroute::routes;
using nlohmann::json;

namespace {
LoadedConfig sample() {
  auto l = load_text("dir/my file.yml",
                     "entryPoints: {}\n"
                     "http:\n  routers:\n    r:\n      rule: \"Hots(`a`)\"\n      service: s\n"
                     "    q:\n      rule: \"Headers(`X`, `y`)\"\n      service: s\n"
                     "  services:\n    s:\n      loadBalancer: {servers: [{url: 'http://a'}]}\n");
  lint(l);
  return l;
}

bool is_int_ge(const json& j, int min) { return j.is_number_integer() && j.get<long>() >= min; }
}  // namespace

TEST_CASE("report: text is file:line:col: severity: message [CODE]", "[report]") {
  auto l = sample();
  std::string t = format_text(l, {});
  CHECK_THAT(t, Catch::StartsWith("dir/my file.yml:1:1: warning: unknown top-level key 'entryPoints'"));
  CHECK_THAT(t, Catch::Contains("dir/my file.yml:5:14: error: unknown matcher 'Hots' (did you mean Host?) [CR021]\n"));
  CHECK_THAT(t, Catch::Contains("  hint: Header(`X`, `y`)\n"));
  CHECK_THAT(format_text(l, {.source_lines = true}),
             Catch::Contains("          rule: \"Hots(`a`)\"\n                 ^\n"));
  CHECK(format_text(l, {.errors_only = true}).find("warning") == std::string::npos);
  CHECK(format_summary(l) == "2 errors, 1 warning in 1 file\n");
}

TEST_CASE("report: JSON records", "[report]") {
  auto l = sample();
  json j = format_json(l);
  REQUIRE(j["diagnostics"].size() == 3);
  const json& d = j["diagnostics"][1];
  CHECK(d["file"] == "dir/my file.yml");
  CHECK(d["line"] == 5);
  CHECK(d["column"] == 14);
  CHECK(d["severity"] == "error");
  CHECK(d["code"] == "CR021");
  CHECK(j["summary"]["errors"] == 2);
  CHECK(j["diagnostics"][2]["hint"] == "Header(`X`, `y`)");
}

TEST_CASE("report: SARIF 2.1.0 structure", "[report][sarif]") {
  auto l = sample();
  json s = format_sarif(l, "1.2.3");
  // sarifLog
  REQUIRE(s.is_object());
  CHECK(s["version"] == "2.1.0");
  CHECK(s["$schema"].get<std::string>().find("sarif-2.1.0") != std::string::npos);
  REQUIRE(s["runs"].is_array());
  REQUIRE(s["runs"].size() == 1);
  const json& run = s["runs"][0];
  // run.tool.driver: name required; rules are reportingDescriptors with a unique id.
  const json& driver = run["tool"]["driver"];
  CHECK(driver["name"] == "certroute");
  CHECK(driver["version"] == "1.2.3");
  REQUIRE(driver["rules"].is_array());
  std::set<std::string> ids;
  for (const auto& r : driver["rules"]) {
    REQUIRE(r["id"].is_string());
    CHECK(ids.insert(r["id"].get<std::string>()).second);
    CHECK(r["shortDescription"]["text"].is_string());
    CHECK(r["fullDescription"]["text"].is_string());
    std::string level = r["defaultConfiguration"]["level"];
    CHECK((level == "error" || level == "warning"));
  }
  CHECK(run["columnKind"] == "unicodeCodePoints");
  // results
  REQUIRE(run["results"].is_array());
  REQUIRE(run["results"].size() == 3);
  for (const auto& r : run["results"]) {
    REQUIRE(r["ruleId"].is_string());
    REQUIRE(is_int_ge(r["ruleIndex"], 0));
    CHECK(driver["rules"][r["ruleIndex"].get<std::size_t>()]["id"] == r["ruleId"]);
    std::string level = r["level"];
    CHECK((level == "error" || level == "warning" || level == "note" || level == "none"));
    REQUIRE(r["message"]["text"].is_string());
    CHECK_FALSE(r["message"]["text"].get<std::string>().empty());
    REQUIRE(r["locations"].is_array());
    const json& loc = r["locations"][0]["physicalLocation"];
    // A relative URI reference: spaces percent-encoded.
    CHECK(loc["artifactLocation"]["uri"] == "dir/my%20file.yml");
    CHECK(is_int_ge(loc["region"]["startLine"], 1));
    CHECK(is_int_ge(loc["region"]["startColumn"], 1));
  }
  // Only properties the schema defines, at the levels checked here.
  for (const auto& [k, v] : s.items()) CHECK((k == "$schema" || k == "version" || k == "runs"));
  for (const auto& [k, v] : run.items()) CHECK((k == "tool" || k == "results" || k == "columnKind"));
}

TEST_CASE("report: GitHub workflow commands escape data and properties", "[report]") {
  auto l = load_text("a,b:c.yml", "http:\n  routers:\n    r:\n      rule: \"Host(`a`) && Hots(`100%`)\"\n      service: s\n"
                                  "  services:\n    s:\n      loadBalancer: {servers: [{url: 'http://a'}]}\n");
  lint(l);
  std::string g = format_github(l);
  CHECK(g == "::error file=a%2Cb%3Ac.yml,line=4,col=27,title=CR021 unknown-matcher::unknown matcher 'Hots' (did you mean "
             "Host?) [CR021]\n");
}

TEST_CASE("report: explain", "[report]") {
  std::string e = explain(code_info(Code::v2_syntax));
  CHECK_THAT(e, Catch::StartsWith("CR025 (v2-syntax, error): "));
  CHECK_THAT(e, Catch::Contains("Header"));
}
