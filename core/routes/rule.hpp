// Traefik's rule language: a lexer and parser to an AST that keeps the byte
// span of every node, and the checks Traefik applies when it builds a router
// (matcher names, argument counts, regular expressions, IPs), for v3 syntax
// and for the v2 syntax (`ruleSyntax: v2`).
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/routes/diagnostic.hpp"
#include "core/routes/ip.hpp"

namespace re2 {
class RE2;
}

namespace certroute::routes {

enum class RuleSyntax : std::uint8_t { v3, v2 };
enum class RuleKind : std::uint8_t { http, tcp };

enum class Matcher : std::uint8_t {
  unknown,
  host,
  host_regexp,
  path,
  path_prefix,
  path_regexp,
  method,
  header,
  header_regexp,
  query,
  query_regexp,
  client_ip,
  host_sni,
  host_sni_regexp,
  alpn,
  host_header,     // v2 only
  headers,         // v2 only
  headers_regexp,  // v2 only
};

// The canonical spelling ("PathPrefix").
std::string_view matcher_name(Matcher m);

struct RuleArg {
  std::string value;      // the decoded string
  std::size_t begin = 0;  // span in the rule text, quotes included
  std::size_t end = 0;
  // Compiled form, filled when the rule is valid.
  std::shared_ptr<const re2::RE2> regex;
  std::optional<IpNetwork> network;
  std::string normalized;  // lower-cased host, upper-cased method, ...
};

struct RuleExpr {
  enum class Op : std::uint8_t { matcher, and_, or_, not_ };
  Op op = Op::matcher;
  std::size_t begin = 0;  // span in the rule text
  std::size_t end = 0;
  // matcher
  std::string name;  // as written
  Matcher matcher = Matcher::unknown;
  std::size_t name_end = 0;
  std::vector<RuleArg> args;
  // and_, or_: two children; not_: one
  std::vector<RuleExpr> children;
};

struct RuleIssue {
  Code code;
  std::size_t begin = 0;  // span in the rule text
  std::size_t end = 0;
  std::string message;
  std::string hint;
};

struct Rule {
  std::string text;
  RuleKind kind = RuleKind::http;
  RuleSyntax syntax = RuleSyntax::v3;
  std::unique_ptr<RuleExpr> root;  // null when the rule does not parse
  std::vector<RuleIssue> issues;   // errors and warnings, in text order

  // True when Traefik would accept the rule (no error-severity issue).
  bool ok() const;
  // Traefik's default priority: the length of the rule in bytes.
  std::int64_t default_priority() const { return static_cast<std::int64_t>(text.size()); }
  std::string_view text_of(const RuleExpr& e) const { return std::string_view(text).substr(e.begin, e.end - e.begin); }
};

// Parses and checks a rule. Never throws; problems are in Rule::issues.
Rule parse_rule(std::string_view text, RuleKind kind, RuleSyntax syntax = RuleSyntax::v3);

// Converts a v2 template ("/users/{id:[0-9]+}", "{sub:[a-z]+}.example.com")
// to a regular expression; `segment` is what "{name}" matches ("[^/]+" for
// paths, "[^.]+" for hosts). Returns nullopt when there is no template.
std::optional<std::string> template_to_regex(std::string_view tpl, std::string_view segment);

// Go's regexp.QuoteMeta.
std::string quote_meta(std::string_view s);

}  // namespace certroute::routes
