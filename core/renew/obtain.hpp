// Obtaining a certificate for a spec and storing it as a new version: the
// step `issue` and `renew` share.
#pragma once

#include <functional>
#include <string>

#include "core/renew/session.hpp"
#include "core/renew/spec.hpp"

namespace certroute::renew {

struct ObtainOptions {
  double timeout_seconds = 120;
  std::string replaces;  // ARI CertID
  bool dry_run = false;  // order for real, store nothing
  std::function<void(const std::string&)> progress;
};

struct Obtained {
  int version = 0;  // 0 for a dry run
  std::string version_dir;
  std::string not_after;  // RFC 3339
  std::string serial;
  std::string issuer;     // issuer CN of the top of the chain
  std::vector<std::string> names;
};

// Builds the key and CSR, runs the order with the spec's challenge solver,
// checks the chain, writes versions/<n> and switches current.
Result<Obtained> obtain(Session& session, const CertSpec& spec, const ObtainOptions& options);

// Runs deploy hooks with CERTROUTE_* variables; returns one message per failed hook.
std::vector<std::string> run_deploy_hooks(const std::vector<std::string>& hooks, const CertSpec& spec,
                                          const Obtained& got, const std::string& event, double timeout_seconds);

}  // namespace certroute::renew
