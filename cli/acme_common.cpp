#include "cli/acme_common.hpp"

#include <iostream>
#include <unistd.h>

#include "core/acme/servers.hpp"
#include "core/store/state_dir.hpp"

namespace certroute::cli {

std::string server_alias_help() {
  std::string s;
  for (const auto& a : acme::server_aliases()) s += (s.empty() ? "" : ", ") + std::string(a.name);
  return s;
}

void add_acme_flags(CLI::App* app, AcmeFlags& f) {
  app->add_option("--server", f.server, "ACME directory URL or alias: " + server_alias_help() + " (default letsencrypt)")
      ->envname("CERTROUTE_SERVER");
  app->add_option("--ca-bundle", f.ca_bundle, "Also trust these roots (PEM) for the ACME server")
      ->envname("CERTROUTE_CA_BUNDLE");
  app->add_option("--state-dir", f.state_dir, "State directory (default /var/lib/certroute as root, else ~/.local/state/certroute)")
      ->envname("CERTROUTE_STATE_DIR");
  app->add_option("--max-wait", f.max_wait, "Longest Retry-After to wait through, in seconds (default 300)")
      ->check(non_negative());
  app->add_option("--lock-timeout", f.lock_timeout, "Wait this many seconds for another certroute to finish (default 0)")
      ->check(non_negative());
}

util::Result<void> AcmeFlags::check_server() const {
  auto r = acme::resolve_server(server);
  if (!r) return util::fail(std::move(r.error()));
  return {};
}

renew::ServerOptions AcmeFlags::server_options() const {
  return {.server = server,
          .ca_bundle = ca_bundle,
          .state_dir = state_dir.empty() ? store::default_state_dir() : state_dir,
          .http_timeout = 30,
          .max_wait = max_wait};
}

std::function<void(const std::string&)> progress_printer(const Globals& g) {
  if (g.quiet || g.json || !::isatty(STDERR_FILENO)) return {};
  return [](const std::string& line) { std::cerr << line << '\n'; };
}

}  // namespace certroute::cli
