// libFuzzer target: the rule lexer, parser and checks (v2 and v3, HTTP and
// TCP), and the matcher on a fixed request. Built and run by scripts/fuzz.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "core/routes/matcher.hpp"
#include "core/routes/rule.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace certroute::routes;
  if (size == 0) return 0;
  const std::uint8_t mode = data[0];
  std::string_view text(reinterpret_cast<const char*>(data + 1), size - 1);
  RuleKind kind = (mode & 1) ? RuleKind::tcp : RuleKind::http;
  RuleSyntax syntax = (mode & 2) ? RuleSyntax::v2 : RuleSyntax::v3;
  Rule rule = parse_rule(text, kind, syntax);
  for (const auto& issue : rule.issues) {
    if (issue.begin > rule.text.size() || issue.end > rule.text.size()) __builtin_trap();
  }
  if (rule.ok()) {
    Request req;
    req.host = "www.example.com:8443";
    req.path = "/api/v1/users";
    req.raw_query = "a=1&b=x+y&c";
    req.method = "POST";
    req.headers = {{"X-Env", "prod"}, {"Accept", "text/html"}};
    req.client_ip = (mode & 4) ? "2001:db8::1" : "10.1.2.3";
    req.sni = "db.example.com";
    req.alpn = {"h2"};
    Evaluation ev = evaluate(rule, req);
    if (ev.failed && ev.failed->end > rule.text.size()) __builtin_trap();
  }
  return 0;
}
