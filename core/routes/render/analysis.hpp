// What every target needs from a router: its rule in disjunctive normal form
// (an OR of ANDs of possibly negated matchers), the routers of an entry point
// in Traefik's priority order, and middleware chains expanded.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/routes/config.hpp"
#include "core/routes/match.hpp"
#include "core/routes/rule.hpp"

namespace certroute::routes::render {

struct Atom {
  const RuleExpr* matcher = nullptr;  // op == matcher
  bool negated = false;
};
using Conjunction = std::vector<Atom>;

// The rule as OR of ANDs. `limit` bounds the number of conjunctions (a
// pathological rule can explode): past it, returns an empty vector and sets
// `too_big`.
std::vector<Conjunction> to_dnf(const RuleExpr& root, bool& too_big, std::size_t limit = 256);

// The HTTP (or TCP) routers in Traefik's order for one entry point (a router
// without entryPoints serves on all), with parsed rules. Routers whose rule
// does not parse are left out (lint reports them).
std::vector<RouteEntry> routes_for_entry_point(const Config& config, Protocol protocol, const std::string& entry_point);

// The middlewares a router applies, chains expanded in order (cycles cut),
// with the name each was referenced by. Unknown names are skipped.
std::vector<const Middleware*> expand_middlewares(const Config& config, const Router& router);

// A reference "name" or "name@file" resolved in a section; nullptr if undefined.
const Service* find_service(const Config& config, Protocol p, const std::string& ref);
const Middleware* find_middleware(const Config& config, Protocol p, const std::string& ref);

// The string value of a scalar field below a node ("" when absent).
std::string field(const DocNode* node, std::initializer_list<std::string_view> path);

}  // namespace certroute::routes::render
