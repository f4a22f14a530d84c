// ACME problem documents (RFC 7807, RFC 8555 §6.7) as typed errors.
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "core/util/error.hpp"

namespace certroute::acme {

struct Subproblem {
  std::string type;  // short type: "rejectedIdentifier"
  std::string detail;
  std::string identifier;  // "dns:a.example"
};

struct Problem {
  std::string type;  // the short type after "urn:ietf:params:acme:error:", or the full URI
  std::string detail;
  long status = 0;
  std::vector<Subproblem> subproblems;
  std::string instance;  // e.g. the terms URL for userActionRequired

  // "rejectedIdentifier: Error creating new order :: ... (dns:a.example: ...)"
  std::string describe() const;
  // Server-side trouble (5xx, serverInternal) is `remote`; the rest is `problem`.
  util::ErrorKind kind() const;
};

// Parses a problem document; nullopt when the body is not one.
std::optional<Problem> parse_problem(std::string_view body, long status);

// Short type of an ACME error URN ("urn:ietf:params:acme:error:badNonce" -> "badNonce").
std::string short_problem_type(std::string_view type);

}  // namespace certroute::acme
