// Small helpers shared by several `routes render` targets (they were copied
// between target files before). In namespace `common` so that no target's own
// helper of the same name clashes with them: a target brings in what it uses
// with using-declarations.
#pragma once

#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/routes/config.hpp"
#include "core/routes/diagnostic.hpp"
#include "core/routes/render/renderer.hpp"

namespace certroute::routes::render::common {

// ---- haproxy.cpp, caddy_json.cpp ----------------------------------------------

// The child of a mapping node (nullptr when `n` is not a mapping or has no such key).
const DocNode* child(const DocNode* n, std::string_view key);

// True when the child `key` of a mapping is a scalar Go reads as true.
bool truthy(const DocNode* n, std::string_view key);

// The scalar items of a sequence node (none for anything else).
std::vector<std::string> strings(const DocNode* n);

std::string join(const std::vector<std::string>& v, std::string_view sep);

// Lower-case with std::tolower.
std::string lower(std::string_view s);

// Line breaks ('\n', '\r') as spaces.
std::string one_line(std::string_view s);

// Capturing groups of a regular expression (RE2 syntax).
int capture_groups(std::string_view re);

// A load-balancer server URL: scheme (lower-case), host ("[v6]" kept in
// brackets), path (from the first '/', '?' or '#'), port (default 443 for
// https, else 80); `ok` for http, https and h2c URLs with a host and a valid port.
struct Url {
  std::string scheme, host, path;
  int port = 0;
  bool ok = false;
};
Url parse_url(std::string_view s);

// An entry point's address and port as "host:port" ("[v6]:port" for an IPv6 literal).
std::string listen_address(const EntryPoint& ep);

// The users of a basicAuth middleware `n`: its `users`, then the lines of its
// `usersFile` (blank lines and '#' comments skipped). A file that cannot be
// read is an unsupported_by_target diagnostic on the middleware.
std::vector<std::string> basic_auth_users(const Middleware& m, const DocNode* n, Diagnostics& diags);

// ---- gateway_api.cpp, ingress.cpp ---------------------------------------------

// Lower-case for ASCII letters only.
std::string ascii_lower(std::string_view s);

// RFC 1123 host name: labels of [a-z0-9-] (no leading or trailing '-', at
// most 63 characters), at most 253 characters, not all digits and dots.
bool valid_hostname(std::string_view h);

// A HostRegexp `re` of the form <head><escaped domain>$ for one of `heads`
// (heads that exclude each other), as "*.<domain>"; nullopt when it is not
// of that form or the domain is not a valid_hostname.
std::optional<std::string> host_regexp_wildcard(std::string_view re, std::initializer_list<std::string_view> heads);

}  // namespace certroute::routes::render::common
