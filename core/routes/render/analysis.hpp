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

// ---- Helpers of the traefik and Kubernetes targets (traefik.cpp,
// gateway_api.cpp, ingress.cpp, ingressroute.cpp); usable by any target. ----
#include <map>
#include <nlohmann/json_fwd.hpp>

namespace certroute::routes::render {

// The rule in Traefik v3 syntax. A v3 rule comes back unchanged; a v2 rule is
// rewritten with the same meaning for `evaluate`: several arguments become
// `||` (Query's `k=v` pairs `&&`), HostHeader -> Host, Headers -> Header,
// HeadersRegexp -> HeaderRegexp, path templates -> PathRegexp, HostRegexp and
// HostSNIRegexp templates -> anchored regular expressions, HostSNI(`*.x`) ->
// HostSNIRegexp. The rule must be ok(). The caller keeps the priority: a
// rewritten rule has another length, so set the old one explicitly.
std::string v3_rule_text(const Rule& rule);

// A Traefik name as a Kubernetes object name (a DNS-1123 label): lower-case,
// invalid characters -> '-', trimmed of '-', at most 63 characters; when the
// mapping changed the name, a 6-hex-digit hash of the original is appended,
// so "Web_Front@file" -> "web-front-file-<hash>" and "web-front" stays.
// `letter_first`: the name must start with a letter (Service names, DNS-1035).
std::string k8s_name(std::string_view name, bool letter_first = false);

// k8s_name for a set of names of one kind, without collisions: a name whose
// mapping is taken gets "-2", "-3", ... (deterministic: names in sorted order).
std::map<std::string, std::string> k8s_names(const std::vector<std::string>& names, bool letter_first = false);

// True when some request may match both conjunctions; false only when they
// are provably disjoint (different exact hosts, paths that exclude each other,
// different methods, an atom and its negation).
bool may_overlap(const Conjunction& a, const Conjunction& b);

// A string as a YAML scalar (plain when that reads back as the same string,
// else quoted), for keys and values.
std::string yaml_scalar(std::string_view s);

// A JSON value as block-style YAML, keys in the value's order, at `indent`
// spaces (a top-level object: no leading newline, ends with '\n').
std::string to_yaml(const nlohmann::ordered_json& value, int indent = 0);

}  // namespace certroute::routes::render

// ---- Helpers of the haproxy and caddy targets (haproxy.cpp, caddy_json.cpp,
// caddyfile.cpp); usable by any target. ----
#include <cstdint>
#include <nlohmann/json.hpp>

#include "core/routes/render/renderer.hpp"

namespace certroute::routes::render {

// One upstream server of a service, weighted services flattened.
struct FlatServer {
  const Service* service = nullptr;  // the loadBalancer service it comes from
  const DocNode* node = nullptr;     // the server's mapping (url or address, weight, ...)
  std::string address;               // url (HTTP) or address (TCP), as written
  Pos pos;
  std::int64_t weight = 1;  // its share of the traffic as an integer weight (0: none)
  bool backup = false;      // a failover's fallback: used only when every other server is down
};

struct FlatService {
  std::vector<FlatServer> servers;
  std::vector<const Service*> balancers;  // the loadBalancer services reached, in order
  std::vector<const Service*> mirroring;  // mirroring services: only their main service is in `servers`
  std::vector<const Service*> hashed;     // highestRandomWeight services: flattened as weighted
  std::vector<const Service*> failover;   // failover services: the fallback's servers are `backup`
  std::vector<const Service*> weighted;   // weighted services
  std::vector<Text> missing;              // child references that resolve to nothing
  bool rounded = false;                   // the weights did not fit max_weight and were rounded
};

// The servers a service reference balances over, each with its exact share of
// the traffic as integer weights (reduced; the shares of weighted children
// multiplied out), primary and backup servers weighted separately. Weights
// above max_weight are scaled down (and `rounded` set).
FlatService flatten_service(const Config& config, Protocol p, const std::string& ref, std::int64_t max_weight = 256);

// Traefik's FileOrContent: the value is PEM text when it holds "-----BEGIN",
// else a file to read. nullopt (and `error`) when the file cannot be read.
std::optional<std::string> file_or_content(const std::string& value, std::string& error);

// The Caddy JSON configuration (caddy_json.cpp) before it is printed. Each
// route carries an extra "@certroute" object ({"comment": "router ..."}) that
// the caddy target strips and the caddyfile target turns into comments; the
// caddyfile target prints this same configuration as a Caddyfile.
nlohmann::ordered_json caddy_config(const LoadedConfig& loaded, const RenderOptions& options, Diagnostics& diags);

}  // namespace certroute::routes::render

namespace certroute::routes::render {

// The port of a load-balancer server: from an HTTP URL ("http://h:8080/x";
// without a port, 80 for http/h2c and 443 for https) or a TCP/UDP address
// ("h:5432", "[::1]:53"). 0 when there is none. `scheme` gets the URL's scheme
// (lower-case, "" for an address).
int server_port(std::string_view url_or_address, std::string* scheme = nullptr);

}  // namespace certroute::routes::render
