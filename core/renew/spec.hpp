// What was asked for when a certificate was first issued (spec.json), so a
// later renewal repeats it exactly.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "core/util/error.hpp"

namespace certroute::renew {

using util::Result;

struct CertSpec {
  std::string name;
  std::string server;         // directory URL
  std::string server_alias;   // as given (for messages and --dry-run's staging)
  std::string ca_bundle;
  std::string account_url;
  std::vector<std::string> domains;  // normalised DNS names
  std::vector<std::string> ips;
  std::string key_type = "ec-p256";
  bool reuse_key = false;
  std::string csr_file;  // when the user supplied the CSR
  std::string challenge = "http-01";
  int http_port = 80;
  std::string webroot;
  int tls_alpn_port = 443;
  std::string dns_hook;
  std::string dns_resolver;
  double dns_propagation_timeout = 120;
  std::string preferred_chain;
  std::string profile;
  std::vector<std::string> deploy_hooks;
  std::string out_dir;

  nlohmann::json to_json() const;
  // Rejects specs with missing or mistyped fields (bad_input naming the file).
  static Result<CertSpec> from_json(const nlohmann::json& j, const std::string& source);
};

}  // namespace certroute::renew
