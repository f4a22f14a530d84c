// Flags every ACME command shares (--server, --ca-bundle, --state-dir, with
// CERTROUTE_* environment variables), and opening a session from them.
#pragma once

#include <CLI/CLI.hpp>
#include <string>

#include "cli/output.hpp"
#include "core/renew/session.hpp"

namespace certroute::cli {

struct AcmeFlags {
  std::string server = "letsencrypt";
  std::string ca_bundle;
  std::string state_dir;
  long max_wait = 300;
  double lock_timeout = 0;

  renew::ServerOptions server_options() const;
  // Refuses an unknown alias before anything touches the disk.
  util::Result<void> check_server() const;
};

void add_acme_flags(CLI::App* app, AcmeFlags& f);
std::string server_alias_help();

// Progress lines go to stderr on a terminal, unless --quiet or --json.
std::function<void(const std::string&)> progress_printer(const Globals& g);

}  // namespace certroute::cli
