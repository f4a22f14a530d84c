// Challenge solvers, one per challenge type, behind one interface; the table
// of types feeds --challenge's help, the man page and the completions.
#pragma once

#include <memory>
#include <span>
#include <string>
#include <vector>

#include "core/acme/order.hpp"

namespace certroute::acme {

class Solver {
 public:
  virtual ~Solver() = default;
  virtual std::string_view type() const = 0;
  // Acquire resources that can fail early (listening ports) before ordering.
  virtual Result<void> start() { return {}; }
  // Make the response for one authorization available.
  virtual Result<void> present(const Identifier& id, const std::string& token, const std::string& key_authorization) = 0;
  // Called once after every present(): dns-01 waits for propagation here.
  virtual Result<void> ready() { return {}; }
  // Remove what present() set up; always called, also after failures.
  virtual void cleanup(const Identifier& id, const std::string& token, const std::string& key_authorization) = 0;
};

struct ChallengeTypeInfo {
  std::string_view name;
  std::string_view description;
};
std::span<const ChallengeTypeInfo> challenge_types();

struct Http01Options {
  int port = 80;
  std::string webroot;  // when set, files are written there instead of serving
};
std::unique_ptr<Solver> make_http01_solver(const Http01Options& options);

struct Dns01Options {
  std::string hook;      // run as /bin/sh -c 'HOOK "$@"' sh add|remove NAME VALUE
  std::string resolver;  // HOST:PORT to check propagation against; "" = the zone's authoritative servers
  double propagation_timeout = 120;
  bool skip_propagation_check = false;
};
std::unique_ptr<Solver> make_dns01_solver(const Dns01Options& options);

struct TlsAlpn01Options {
  int port = 443;
};
std::unique_ptr<Solver> make_tlsalpn01_solver(const TlsAlpn01Options& options);

// The dns-01 TXT record value: base64url(SHA-256(key authorization)).
std::string dns01_txt_value(const std::string& key_authorization);
// "_acme-challenge.example.com." for "*.example.com" or "example.com".
std::string dns01_txt_name(const std::string& domain);

// Checks whether `name` has a TXT record with `value` as seen by `resolver`
// ("host:port"), or by the zone's authoritative servers when empty.
Result<bool> txt_record_visible(const std::string& name, const std::string& value, const std::string& resolver);

}  // namespace certroute::acme
