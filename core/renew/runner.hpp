// The renewal run (`certroute renew`) and the inventory (`certroute list`):
// read each certificate's spec and current version, decide, renew what is
// due, run hooks, record the outcome. One bad certificate never stops the
// others.
#pragma once

#include <functional>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "core/renew/plan.hpp"
#include "core/renew/spec.hpp"
#include "core/util/error.hpp"

namespace certroute::renew {

struct CertState {
  std::string name;
  CertSpec spec;
  int version = 0;
  std::string version_dir;
  long not_before = 0, not_after = 0;
  std::string serial;
  std::vector<std::string> names;
  bool ari_offered = false;
  std::optional<AriWindow> ari;  // cached from the last look-up
  long ari_next_check = 0;
  nlohmann::json last;  // last-renew.json, or null
};

// Reads spec.json, the current version's certificate and the caches.
// bad_input errors for a damaged spec, a dangling `current`, missing files.
Result<CertState> load_cert_state(const std::string& root, const std::string& name);

struct RenewOptions {
  std::vector<std::string> names;  // empty = all
  bool force = false;
  std::optional<long> days;
  bool dry_run = false;
  bool random_sleep = false;  // sleep 0-8 min before renewing (cron)
  std::vector<std::string> deploy_hooks, pre_hooks, post_hooks;
  double hook_timeout = 300;
  double order_timeout = 120;
  long max_wait = 300;
  std::function<long()> now;
  std::function<void(double)> sleep;
  std::function<void(const std::string&)> progress;
};

struct Outcome {
  std::string name;
  std::string action;  // renewed, skipped, failed
  std::string reason;
  std::string not_after;  // RFC 3339 of the current (new) certificate
  std::optional<AriWindow> ari;
  util::ErrorKind kind = util::ErrorKind::problem;  // for failed
  int version = 0;
};

// Runs under the state directory's lock (taken by the caller).
std::vector<Outcome> run_renewals(const std::string& root, const RenewOptions& options);

// The inventory line for one certificate (no network: cached ARI only).
struct ListEntry {
  std::string name;
  std::vector<std::string> domains;
  std::string not_after;
  long days_left = 0;
  bool due = false;
  std::string reason;
  int version = 0;
  std::string key_type;
  std::optional<AriWindow> ari;
  nlohmann::json last;
  std::string error;  // set when the certificate could not be read
};
std::vector<ListEntry> list_certificates(const std::string& root, long now);

// node_exporter textfile for the entries.
std::string prometheus_text(const std::vector<ListEntry>& entries);

}  // namespace certroute::renew
