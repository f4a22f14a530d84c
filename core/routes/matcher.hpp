// Evaluates a parsed rule against a request with Traefik's semantics.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "core/routes/rule.hpp"

namespace certroute::routes {

struct Request {
  // HTTP
  std::string host;       // the Host header (or URL authority), maybe with a port
  std::string path;       // the decoded path ("/a b" for "/a%20b")
  std::string raw_query;  // without the '?'
  std::string method = "GET";
  std::vector<std::pair<std::string, std::string>> headers;
  // both
  std::string client_ip;  // the connection's remote address (not X-Forwarded-For)
  // TCP
  std::string sni;
  std::vector<std::string> alpn;
};

struct Evaluation {
  bool matched = false;
  // When not matched: the sub-expression that decided it (a matcher inside an
  // &&, or the whole || / ! that failed).
  const RuleExpr* failed = nullptr;
};

// The rule must be ok(). Host is case-insensitive and ignores the port and a
// trailing dot; PathPrefix is a plain string prefix; regexps are unanchored
// unless the pattern anchors; Query matches a key alone or key and value;
// ClientIP takes IPs and CIDR ranges, v4 and v6.
Evaluation evaluate(const Rule& rule, const Request& req);

// The host as Traefik compares it: lower-case, without port and trailing dot.
std::string canonical_host(std::string_view host);

// Go's url.ParseQuery: pairs split on '&', '+' as space, %XX decoded. Pairs
// with a ';' or a bad escape are dropped, as Go does.
std::vector<std::pair<std::string, std::string>> parse_query(std::string_view raw);

// Percent-decoding of a URL path; nullopt on a bad escape.
std::optional<std::string> unescape_path(std::string_view s);

}  // namespace certroute::routes
