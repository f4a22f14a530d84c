// Go (and Traefik) spellings that several targets translate: regexp
// replacement templates and crypto/tls names. Shared by the render targets
// and the proxy; no OpenSSL or RE2 here (C++20, like the rest of routes).
#pragma once

#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace certroute::routes::gocompat {

// ---- regexp replacement templates ---------------------------------------------

// One piece of a Go replacement template ("/new/$1", "${1}x", "${name}", "$$").
struct TemplatePart {
  bool group = false;  // a reference to a capture group, else literal text
  std::string text;    // literal: the text ("$$" already "$"); group: its name as written ("1", "year")
  int number = -1;     // group: its number when the name is one (digits, no leading zero, below 1e8), else -1
};

// The template read as Go's Regexp.Expand reads it: "$$" is "$"; "$name" takes
// the longest run of letters, digits and '_'; "${name}" needs '}' right after
// the name; a '$' that starts no valid reference is literal. A name is a
// number only as Go parses one ("$01" is the group named "01", which no regexp
// has). Names are ASCII here (Go also takes Unicode letters). Adjacent literal
// text is one part.
std::vector<TemplatePart> split_go_template(std::string_view repl);

// How go_template_to_backrefs treats the groups it meets.
struct BackrefOptions {
  // Added to every group number (the caller wrapped the regexp in groups of its own).
  int shift = 0;
  // Capturing groups of the regexp; a number above it is a group Go does not
  // know, replaced by nothing. -1: not known (every number is kept).
  int groups = -1;
  // A named group's number (before the shift), -1 when the regexp has none by
  // that name (replaced by nothing, as Go does). Unset: a named group makes the
  // conversion fail.
  std::function<int(std::string_view name)> named;
  // A group that ends above \9 is left out; otherwise the conversion fails.
  bool drop_above_nine = false;
};

// The template with backslash back-references ("\1", at most \9) and literal
// backslashes doubled, as RE2::Replace and HAProxy's regsub/replace-path take
// it. nullopt when a reference cannot be written (see BackrefOptions).
std::optional<std::string> go_template_to_backrefs(std::string_view repl, const BackrefOptions& opts = {});

// ---- crypto/tls names -------------------------------------------------------------

// A cipher suite as Traefik's tls.options cipherSuites names it (Go's crypto/tls).
struct CipherSuite {
  std::string_view go;
  std::string_view openssl;  // empty: no OpenSSL suite (TLS_FALLBACK_SCSV: OpenSSL handles it by itself)
  bool tls13;                // OpenSSL's `ciphersuites` (TLS 1.3), not `ciphers`
  bool legacy;               // RC4 or 3DES: in Go's list, absent from OpenSSL's usual builds
};
// Every suite Go names.
std::span<const CipherSuite> cipher_suites();
// The suite with Go name `go`, or nullptr.
const CipherSuite* find_cipher_suite(std::string_view go);

// A curve (key-exchange group) as curvePreferences names it, with OpenSSL's
// group name.
struct Curve {
  std::string_view go;
  std::string_view openssl;
  bool hybrid;  // post-quantum hybrid (X25519MLKEM768): TLS 1.3 only, OpenSSL 3.5 and later
};
std::span<const Curve> curves();
// The curve with Go name `go` ("CurveP256", or the aliases Traefik accepts), or nullptr.
const Curve* find_curve(std::string_view go);

}  // namespace certroute::routes::gocompat
