// Which router serves a request, as Traefik decides it: the routers of the
// request's entry point and TLS-ness, sorted by priority (highest first; the
// default priority is the rule's length), the first whose rule matches wins.
// Routers whose rule does not parse are skipped, as Traefik does.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "core/routes/config.hpp"
#include "core/routes/matcher.hpp"
#include "core/routes/rule.hpp"

namespace certroute::routes {

struct RouteEntry {
  const Router* router = nullptr;
  Rule rule;  // parsed with the router's ruleSyntax
  std::int64_t priority = 0;
  bool templated = false;  // the rule came from a Go template: not checked
};

// Every router of a protocol with its parsed rule, in Traefik's order:
// priority descending, then name (Traefik leaves ties unordered).
std::vector<RouteEntry> compile_routes(const Config& config, Protocol protocol);

struct MatchQuery {
  Protocol protocol = Protocol::http;  // http, or tcp for --sni
  Request request;
  bool tls = false;         // https:// (HTTP) or a TLS connection (TCP)
  std::string entry_point;  // empty: any
};

struct Candidate {
  enum class Status { matched, not_matched, skipped, invalid };
  std::size_t route = 0;  // index into MatchResult::routes
  Status status = Status::not_matched;
  std::string reason;     // skipped/invalid: why; not_matched: the failing sub-expression
};

struct MatchResult {
  std::vector<RouteEntry> routes;
  std::vector<Candidate> candidates;  // in priority order, up to and including the winner
  static constexpr std::size_t none = static_cast<std::size_t>(-1);
  std::size_t winner = none;          // index into routes
};

MatchResult match_request(const Config& config, const MatchQuery& query);

// "name@file" unless the name already has a provider.
std::string qualified(const std::string& name);

}  // namespace certroute::routes
