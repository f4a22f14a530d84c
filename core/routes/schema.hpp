// Traefik v3's dynamic-configuration schema as one table: every section,
// field and value type the file provider decodes. The decoder, the linter's
// "did you mean" and (later) the renderers read it; nothing else spells out
// Traefik's field names.
#pragma once

#include <cstdint>
#include <span>
#include <string_view>

namespace certroute::routes::schema {

enum class Type : std::uint8_t {
  string,
  integer,
  boolean,
  duration,     // Go duration ("1m30s") or a number of seconds
  string_list,  // a list, or one comma-separated string
  string_map,   // map[string]string (header maps)
  int_map,      // map[string]int
  object,       // a nested struct (also accepts true/false: enabled with defaults / disabled)
  object_list,  // a list of structs
  object_map,   // map[string]struct (routers, services, ...)
  any,          // anything (plugin configuration)
};

// Extra validation of a value of the right type.
enum class Check : std::uint8_t {
  none,
  tls_version,       // VersionTLS10..13; Traefik ignores others
  cipher_suite,      // each element: a Go cipher-suite name
  curve,             // each element: a curve name Traefik knows
  client_auth_type,  // one of Go's ClientAuthType names
  same_site,         // none, lax, strict; Traefik ignores others
  rule_syntax,       // v2, v3
  health_mode,       // http, grpc
  ip_ranges,         // each element: an IP address or CIDR range
  non_negative,      // an integer >= 0
};

struct Struct;

struct Field {
  std::string_view name;  // Traefik's spelling (matched case-insensitively)
  Type type;
  const Struct* sub = nullptr;  // object, object_list, object_map
  Check check = Check::none;
  std::string_view deprecated = {};  // non-empty: the advice for a deprecated field
};

struct Struct {
  std::string_view name;  // for messages: "router", "load balancer"
  std::span<const Field> fields;
};

// The root: http, tcp, udp, tls.
const Struct& dynamic_configuration();

// The field of s whose name equals key case-insensitively, or nullptr.
const Field* find_field(const Struct& s, std::string_view key);

// The field name nearest to key (edit distance, case-insensitive), or "" when
// nothing is close enough to suggest.
std::string_view nearest_field(const Struct& s, std::string_view key);

// Accepted values for a Check, for messages ("" when open-ended).
std::span<const std::string_view> allowed_values(Check check);

}  // namespace certroute::routes::schema
