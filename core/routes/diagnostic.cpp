#include "core/routes/diagnostic.hpp"

#include <algorithm>
#include <array>
#include <cstdint>
#include <tuple>

namespace certroute::routes {
namespace {

using enum Severity;

// constexpr: the table costs nothing at start-up.
constexpr std::array kCodes = {
    CodeInfo{Code::syntax, "CR001", error, "syntax", "the file does not parse as YAML, JSON or TOML",
             "The file is not valid YAML, JSON or TOML (chosen by its extension: .yml/.yaml, .json, .toml),\n"
             "or it is not text at all: it holds NUL bytes or invalid UTF-8, nests deeper than 128 levels,\n"
             "or expands YAML aliases beyond a sane size (a \"billion laughs\" document).\n"
             "Traefik's file provider refuses such a file, and when it reads a directory, one bad file\n"
             "makes it drop the configuration of the whole directory.\n"
             "Fix: correct the syntax at the position given. For YAML, check indentation (spaces, not\n"
             "tabs) and quote values that contain ': ' or start with '{', '[', '*', '&' or '`'."},
    CodeInfo{Code::unknown_key, "CR002", error, "unknown-key", "a key Traefik does not know",
             "Below the top level, Traefik decodes the file into its dynamic-configuration schema and\n"
             "rejects the whole file when a key is not part of it. Keys are matched case-insensitively\n"
             "(loadbalancer, loadBalancer and LOADBALANCER are the same key).\n"
             "Fix: correct the spelling (the message suggests the nearest known key), or move the key\n"
             "to where it belongs, e.g. 'sniStrict' goes under 'tls.options.<name>', not under 'tls'."},
    CodeInfo{Code::unknown_top_level_key, "CR003", warning, "unknown-top-level-key",
             "a top-level key other than http, tcp, udp or tls",
             "Traefik reads only the 'http', 'tcp', 'udp' and 'tls' sections of a dynamic configuration\n"
             "file and silently drops anything else at the top level. Often this is static\n"
             "configuration ('entryPoints', 'providers', 'certificatesResolvers') put in a dynamic file,\n"
             "where it has no effect, or a section indented one level too little.\n"
             "Fix: move static configuration to traefik.yml, or indent the section under its parent.\n"
             "YAML anchors kept at the top level for reuse (keys starting with 'x-') are fine to ignore."},
    CodeInfo{Code::wrong_type, "CR004", error, "wrong-type", "a value of the wrong type",
             "The value cannot be decoded into the type Traefik expects: a mapping where a string is\n"
             "expected, text where a number is expected, an invalid duration, and so on. Traefik rejects\n"
             "the whole file.\n"
             "Booleans are decoded with Go's strconv.ParseBool: true, false, 1, 0, t, f (any case of\n"
             "true/false). YAML 1.1 words such as yes, no, on and off are not booleans for Traefik.\n"
             "Durations are Go durations ('10s', '1m30s', '250ms') or a plain number of seconds.\n"
             "A list may be written as a YAML/TOML list or as one comma-separated string."},
    CodeInfo{Code::duplicate_key, "CR005", error, "duplicate-key", "the same key twice in one mapping",
             "A key appears twice in the same mapping (keys are case-insensitive for Traefik, so\n"
             "'loadBalancer' and 'loadbalancer' are the same key). Parsers disagree on which one wins,\n"
             "and Traefik's YAML decoder rejects duplicate keys.\n"
             "Fix: merge the two entries into one."},
    CodeInfo{Code::file_ignored, "CR006", warning, "file-ignored", "a file or document Traefik ignores",
             "Traefik's file provider reads only .yml, .yaml and .toml files from a directory; a .json\n"
             "file there is skipped. It does not follow symbolic links to directories. Of a YAML file\n"
             "with several documents ('---' separators) it reads only the first one.\n"
             "Fix: convert the file to YAML or TOML, or move the content into the first document."},
    CodeInfo{Code::unreadable_file, "CR007", error, "unreadable-file", "a file in a directory cannot be read",
             "A file inside a directory given on the command line cannot be read (permissions, a\n"
             "dangling symbolic link, a special file) or is larger than the size limit (16 MiB).\n"
             "Traefik fails to load the directory, and with it every route in it.\n"
             "Fix: make the file readable by the Traefik process, or remove it from the directory."},
    CodeInfo{Code::empty_file, "CR008", warning, "empty-file", "the file defines nothing",
             "The file is empty or holds only comments. Traefik loads it without error, but nothing in\n"
             "it takes effect; often the content was lost or never written.\n"
             "Fix: add the configuration, or delete the file."},
    CodeInfo{Code::go_template, "CR009", warning, "go-template", "the file contains Go template actions",
             "Traefik's file provider renders every dynamic-configuration file as a Go template\n"
             "('{{ env \"DOMAIN\" }}', '{{ range }}') before it parses it. certroute does not run\n"
             "templates: it checks the file with placeholders where the actions are, and does not\n"
             "check values produced by a template (rules, URLs). A '{{' meant literally must be\n"
             "written as '{{ \"{{\" }}'.\n"
             "Fix: nothing, if the templates are intended; lint the rendered output for a full check."},
    CodeInfo{Code::deprecated, "CR010", warning, "deprecated", "an option Traefik v3 deprecates",
             "Traefik v3 still accepts the option but logs a deprecation warning, and it will be\n"
             "removed: 'ipWhiteList' (use 'ipAllowList'), the headers middleware's 'sslRedirect',\n"
             "'sslTemporaryRedirect', 'sslHost', 'sslForceHost' (use the redirectScheme middleware or an\n"
             "entry-point redirection) and 'featurePolicy' (use 'permissionsPolicy'), and others as named\n"
             "in the message.\n"
             "Fix: use the replacement given in the message."},
    CodeInfo{Code::invalid_value, "CR011", error, "invalid-value", "a value Traefik rejects",
             "The value has the right type but is not one Traefik accepts: an unknown cipher suite or\n"
             "curve, an unknown clientAuthType, ruleSyntax other than v2 or v3, a health-check mode\n"
             "other than http or grpc, a negative weight. Traefik reports an error for the object that\n"
             "holds it, and does not use it.\n"
             "Fix: use one of the values listed in the message."},
    CodeInfo{Code::ignored_value, "CR012", warning, "ignored-value", "a value Traefik silently ignores",
             "The value is not one Traefik knows, and Traefik falls back to its default without an\n"
             "error: e.g. minVersion 'TLS12' instead of 'VersionTLS12', or an unknown cookie sameSite.\n"
             "Fix: use one of the values listed in the message."},
    CodeInfo{Code::invalid_url, "CR013", error, "invalid-url", "a server URL or address that does not parse",
             "An HTTP load-balancer server needs an absolute URL with a scheme and a host\n"
             "('http://10.0.0.2:8080', 'h2c://grpc:50051'); a TCP or UDP server needs 'host:port'.\n"
             "Traefik cannot build the service, and every router using it answers with an error.\n"
             "Fix: write the URL with its scheme, or the address with its port."},
    CodeInfo{Code::not_json, "CR014", warning, "not-json", "a .json file that is not valid JSON",
             "The file is named .json but is not valid JSON (RFC 8259): a missing outer '{ }', a\n"
             "trailing comma, a comment, single quotes. Traefik's HTTP provider decodes the body with a\n"
             "YAML parser, which accepts this, so certroute checks it as YAML; but any JSON tool (jq, an\n"
             "API client, a schema validator) rejects it.\n"
             "Fix: make it valid JSON at the position given, or rename it to .yml."},
    CodeInfo{Code::env_placeholder, "CR015", warning, "env-placeholder", "a ${VAR} that Traefik does not expand",
             "Traefik does not expand environment variables in dynamic configuration: '${DOMAIN}' stays\n"
             "the literal text '${DOMAIN}' (docker compose expands it in compose files, not in files\n"
             "Traefik reads). Regular-expression replacements ('${1}', '${name}') are not affected.\n"
             "Fix: use a Go template, '{{ env \"DOMAIN\" }}', which the file provider renders, or\n"
             "substitute the value before deploying (envsubst)."},
    CodeInfo{Code::rule_syntax, "CR020", error, "rule-syntax", "the rule does not parse",
             "A router rule is an expression of matchers, e.g.\n"
             "  Host(`example.com`) && (PathPrefix(`/api`) || Method(`POST`))\n"
             "combined with && (and), || (or), ! (not) and parentheses. Arguments are strings in\n"
             "backticks or double quotes. Traefik rejects a router whose rule does not parse; the\n"
             "router serves nothing. A common cause is a YAML string that swallowed quotes: in\n"
             "  rule: \"Host(\"example.com\")\"\n"
             "the YAML string ends early; use backticks inside: rule: \"Host(`example.com`)\".\n"
             "Fix: correct the rule at the column given."},
    CodeInfo{Code::unknown_matcher, "CR021", error, "unknown-matcher", "a matcher name Traefik does not know",
             "Traefik v3's HTTP matchers are Host, HostRegexp, Path, PathPrefix, PathRegexp, Method,\n"
             "Header, HeaderRegexp, Query, QueryRegexp and ClientIP; TCP's are HostSNI, HostSNIRegexp,\n"
             "ClientIP and ALPN. A name is accepted as written here, all lower-case, all upper-case, or\n"
             "with only its first letter upper-case ('Pathprefix'); 'pathPrefix' is unknown.\n"
             "Fix: use the name suggested in the message."},
    CodeInfo{Code::matcher_arguments, "CR022", error, "matcher-arguments", "a matcher with the wrong number of arguments",
             "In Traefik v3 every matcher takes exactly one argument, except Header, HeaderRegexp and\n"
             "QueryRegexp (two: name and value) and Query (one or two: name, or name and value).\n"
             "Fix: pass the arguments the message names; to match one of several values, combine\n"
             "matchers with ||: Host(`a.example`) || Host(`b.example`)."},
    CodeInfo{Code::invalid_regex, "CR023", error, "invalid-regex", "a regular expression that does not compile",
             "HostRegexp, PathRegexp, HeaderRegexp, QueryRegexp and HostSNIRegexp take Go regular\n"
             "expressions (RE2 syntax: no look-around, no back-references). Traefik rejects a router\n"
             "whose regular expression does not compile.\n"
             "Fix: correct the expression; the message gives the compiler's reason."},
    CodeInfo{Code::invalid_matcher_value, "CR024", error, "invalid-matcher-value", "a matcher argument Traefik rejects",
             "The argument does not fit the matcher: Path and PathPrefix need a path starting with\n"
             "'/'; Host and HostSNI take an ASCII name (use the punycode form 'xn--...' for IDNs);\n"
             "HostSNI takes a name or '*', not a wildcard name (use HostSNIRegexp); ClientIP takes an IP\n"
             "address or a CIDR range; ALPN may not be 'acme-tls/1'.\n"
             "Fix: correct the argument as the message says."},
    CodeInfo{Code::v2_syntax, "CR025", error, "v2-syntax", "Traefik v2 rule syntax that v3 rejects",
             "Traefik v3 changed the rule language: Headers became Header, HeadersRegexp became\n"
             "HeaderRegexp, HostHeader is gone (use Host), and matchers no longer take several values\n"
             "(write Host(`a`) || Host(`b`) instead of Host(`a`, `b`)). With the default v3 syntax such\n"
             "a rule is rejected and the router serves nothing.\n"
             "Fix: use the v3 spelling given in the hint, or set 'ruleSyntax: v2' on the router while\n"
             "migrating (deprecated)."},
    CodeInfo{Code::v2_meaning_changed, "CR026", warning, "v2-meaning-changed", "v2 syntax that means something else in v3",
             "Traefik v3 accepts the rule but reads it differently from v2: a '{id:[0-9]+}' template in\n"
             "Path or PathPrefix is a literal text in v3, a template in HostRegexp is taken as a regular\n"
             "expression, and Query(`key=value`) looks for a parameter named 'key=value'.\n"
             "Fix: use the v3 form given in the hint (PathRegexp, a plain regular expression, or\n"
             "Query(`key`, `value`))."},
    CodeInfo{Code::never_matches, "CR027", warning, "never-matches", "a matcher that cannot match any request",
             "The matcher is valid but no request can satisfy it: Host with a port, a scheme or a path\n"
             "(Traefik compares the host without its port), Method with a name that is not an HTTP\n"
             "method token, or a rule that requires two different values of the same thing.\n"
             "Fix: drop the port or scheme from Host, or correct the value."},
    CodeInfo{Code::missing_rule, "CR028", error, "missing-rule", "a router without a rule",
             "HTTP and TCP routers need a rule; Traefik reports an error for a router without one, and\n"
             "the router serves nothing. (Middlewares cannot be attached to 'all routers' by defining a\n"
             "router with only middlewares: use the entry point's 'http.middlewares' option.)\n"
             "Fix: add a rule, e.g. rule: \"Host(`example.com`)\" or rule: \"PathPrefix(`/`)\"."},
    CodeInfo{Code::undefined_service, "CR030", error, "undefined-service", "a reference to a service that is not defined",
             "A router, a weighted/mirroring/failover service or an errors middleware names a service\n"
             "that no file defines. Traefik marks the router in error and it serves nothing (a request\n"
             "gets a 404). References with a provider suffix other than '@file' ('whoami@docker',\n"
             "'api@internal') are not checked.\n"
             "Fix: define the service, correct the name, or add the provider suffix."},
    CodeInfo{Code::undefined_middleware, "CR031", error, "undefined-middleware", "a reference to a middleware that is not defined",
             "A router or a chain middleware names a middleware that no file defines. Traefik marks the\n"
             "router in error and it serves nothing. References with a provider suffix other than\n"
             "'@file' ('crowdsec@docker') are not checked.\n"
             "Fix: define the middleware, correct the name, or add the provider suffix."},
    CodeInfo{Code::undefined_tls_options, "CR032", error, "undefined-tls-options", "a reference to TLS options that are not defined",
             "A router's tls.options names TLS options that no file defines under tls.options. Traefik\n"
             "reports an error for the router. 'default' always exists.\n"
             "Fix: define the options under tls.options, or correct the name."},
    CodeInfo{Code::undefined_entry_point, "CR033", error, "undefined-entry-point", "a router on an entry point that does not exist",
             "Checked only with --entrypoints: a router names an entry point that is not in that list\n"
             "(the entry points of the static configuration). Traefik ignores the router on that entry\n"
             "point, and if none is left, the router serves nothing.\n"
             "Fix: correct the name, or pass every entry point with --entrypoints."},
    CodeInfo{Code::undefined_transport, "CR034", error, "undefined-servers-transport", "a reference to a serversTransport that is not defined",
             "A load balancer's serversTransport names a transport that no file defines under\n"
             "http.serversTransports (or tcp.serversTransports). Traefik cannot build the service.\n"
             "Fix: define the transport, or correct the name."},
    CodeInfo{Code::middleware_cycle, "CR035", error, "middleware-cycle", "chain middlewares that include themselves",
             "A chain middleware includes itself, directly or through other chains. Traefik detects the\n"
             "recursion and refuses every router that uses the chain.\n"
             "Fix: remove the middleware from its own chain."},
    CodeInfo{Code::missing_service, "CR036", error, "missing-service", "a router without a service",
             "Every router needs a service. Traefik reports 'the service is missing on the router'\n"
             "and the router serves nothing.\n"
             "Fix: add service: <name> (or 'noop@internal' for a router that only redirects)."},
    CodeInfo{Code::service_type, "CR037", error, "service-type", "a service with no type or several types",
             "A service must have exactly one of loadBalancer, weighted, mirroring, failover (HTTP) or\n"
             "loadBalancer, weighted (TCP, UDP). Traefik refuses a service with none or several.\n"
             "Fix: keep exactly one, and define the others as separate services."},
    CodeInfo{Code::middleware_type, "CR038", error, "middleware-type", "a middleware with no type or several types",
             "A middleware must have exactly one type (headers, basicAuth, redirectScheme, ...). Traefik\n"
             "refuses a middleware with several ('multi-types middleware not supported') or none.\n"
             "Fix: split it into one middleware per type, and combine them with a chain."},
    CodeInfo{Code::no_servers, "CR040", warning, "no-servers", "a load balancer without servers",
             "The load balancer has no servers, so Traefik answers every request it gets with\n"
             "503 Service Unavailable.\n"
             "Fix: add servers, or remove the service and the routers that use it."},
    CodeInfo{Code::duplicate_name, "CR041", warning, "duplicate-name", "the same name defined in two files",
             "Two files define a router, service, middleware, transport, TLS option or TLS store of the\n"
             "same name. Traefik keeps the first one in file-name order and logs that it skips the\n"
             "other, so editing the second one has no effect.\n"
             "Fix: rename one of them, or delete the copy."},
    CodeInfo{Code::tls_certificate, "CR042", warning, "tls-certificate", "a TLS certificate or key that cannot be loaded",
             "tls.certificates[].certFile and keyFile (and a store's defaultCertificate) take a file path\n"
             "or inline PEM. The file does not exist here, cannot be read, or does not hold a PEM\n"
             "certificate (certFile) or private key (keyFile); Traefik skips such a certificate at\n"
             "runtime and serves its default certificate instead. Relative paths are taken from the\n"
             "current directory; the check is only meaningful where the files are deployed.\n"
             "Fix: correct the path, or run the lint where the certificate files are."},
    CodeInfo{Code::shadowed_router, "CR043", warning, "shadowed-router", "a router that never gets a request",
             "Another router with a higher priority (or the same rule and priority) matches every\n"
             "request this router matches, on the same entry points, so Traefik never routes to it.\n"
             "Priority defaults to the length of the rule. Detected for identical rules and for the\n"
             "same host with a covering path prefix.\n"
             "Fix: give this router a higher priority, or narrow the other router's rule."},
    CodeInfo{Code::sni_without_tls, "CR044", error, "sni-without-tls", "a TCP HostSNI router without TLS",
             "A TCP router whose rule uses HostSNI with a name needs a 'tls' section: without TLS there\n"
             "is no SNI to match, and Traefik reports an error for the router. Only HostSNI(`*`) works\n"
             "without TLS.\n"
             "Fix: add tls: {} (or tls: {passthrough: true}), or use HostSNI(`*`)."},
    CodeInfo{Code::unsupported_by_target, "CR050", warning, "unsupported-by-target",
             "something the render target cannot express",
             "routes render: the target (nginx, HAProxy, Caddy, Kubernetes) has no way to express this\n"
             "matcher, middleware, option or priority order, so the rendered configuration does not\n"
             "do what Traefik would. Nothing is dropped silently: each such place is reported here.\n"
             "With --strict these are errors and render exits 1.\n"
             "Fix: rewrite the route with what the target supports, or handle it in the target by hand."},
    CodeInfo{Code::unsupported_by_proxy, "CR051", error, "unsupported-by-proxy",
             "something `certroute proxy` cannot serve",
             "proxy: a router uses a middleware, a service type or an option that certroute's proxy does\n"
             "not implement, so serving it would not do what Traefik does. The proxy refuses the whole\n"
             "configuration (on reload it keeps serving the previous one) instead of ignoring it.\n"
             "Fix: remove the feature from the router, or serve this configuration with Traefik."},
};

}  // namespace

std::span<const CodeInfo> code_table() { return kCodes; }

const CodeInfo& code_info(Code code) {
  for (const auto& c : kCodes)
    if (c.code == code) return c;
  return kCodes.front();  // unreachable: every Code is in the table (tested)
}

const CodeInfo* find_code(std::string_view id) {
  for (const auto& c : kCodes) {
    if (c.id.size() != id.size()) continue;
    bool same = true;
    for (std::size_t i = 0; i < id.size(); ++i) {
      char a = id[i];
      if (a >= 'a' && a <= 'z') a = static_cast<char>(a - 'a' + 'A');
      if (a != c.id[i]) same = false;
    }
    if (same) return &c;
  }
  return nullptr;
}

namespace {
// Messages quote pieces of hostile files: keep them valid UTF-8 (the JSON and
// SARIF printers require it), replacing bad sequences with U+FFFD.
std::string valid_utf8(std::string s) {
  std::string out;
  std::size_t i = 0;
  bool changed = false;
  while (i < s.size()) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    std::size_t len = c < 0x80 ? 1 : (c & 0xE0) == 0xC0 ? 2 : (c & 0xF0) == 0xE0 ? 3 : (c & 0xF8) == 0xF0 ? 4 : 0;
    bool ok = len > 0 && i + len <= s.size();
    std::uint32_t cp = len == 1 ? c : len == 2 ? (c & 0x1F) : len == 3 ? (c & 0x0F) : (c & 0x07);
    for (std::size_t k = 1; ok && k < len; ++k) {
      unsigned char cc = static_cast<unsigned char>(s[i + k]);
      if ((cc & 0xC0) != 0x80) ok = false;
      cp = (cp << 6) | (cc & 0x3F);
    }
    if (ok && ((len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) || (len == 4 && (cp < 0x10000 || cp > 0x10FFFF)) ||
               (cp >= 0xD800 && cp <= 0xDFFF)))
      ok = false;
    if (ok) {
      out.append(s, i, len);
      i += len;
    } else {
      out += "\xEF\xBF\xBD";
      ++i;
      changed = true;
    }
  }
  return changed ? out : s;
}
}  // namespace

void Diagnostics::add(Code code, Pos pos, std::string message, std::string hint) {
  items_.push_back(
      Diagnostic{code, code_info(code).severity, pos, valid_utf8(std::move(message)), valid_utf8(std::move(hint))});
}

std::size_t Diagnostics::errors() const {
  return static_cast<std::size_t>(
      std::count_if(items_.begin(), items_.end(), [](const Diagnostic& d) { return d.severity == Severity::error; }));
}

std::size_t Diagnostics::warnings() const { return items_.size() - errors(); }

void Diagnostics::sort() {
  std::stable_sort(items_.begin(), items_.end(), [](const Diagnostic& a, const Diagnostic& b) {
    return std::tie(a.pos.file, a.pos.line, a.pos.column) < std::tie(b.pos.file, b.pos.line, b.pos.column);
  });
}

const char* severity_name(Severity s) { return s == Severity::error ? "error" : "warning"; }

}  // namespace certroute::routes
