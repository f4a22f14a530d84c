#include "core/acme/servers.hpp"

namespace certroute::acme {

namespace {
constexpr ServerAlias kServers[] = {
    {"letsencrypt", "https://acme-v02.api.letsencrypt.org/directory", "letsencrypt-staging"},
    {"letsencrypt-staging", "https://acme-staging-v02.api.letsencrypt.org/directory", ""},
    {"zerossl", "https://acme.zerossl.com/v2/DV90", ""},
    {"google", "https://dv.acme-v02.api.pki.goog/directory", "google-staging"},
    {"google-staging", "https://dv.acme-v02.test-api.pki.goog/directory", ""},
    {"buypass", "https://api.buypass.com/acme/directory", "buypass-staging"},
    {"buypass-staging", "https://api.test4.buypass.no/acme/directory", ""},
};
}  // namespace

std::span<const ServerAlias> server_aliases() { return kServers; }

util::Result<std::string> resolve_server(std::string_view s) {
  for (const auto& a : kServers)
    if (a.name == s) return std::string(a.directory_url);
  if (s.starts_with("https://") || s.starts_with("http://")) return std::string(s);
  std::string names;
  for (const auto& a : kServers) names += (names.empty() ? "" : ", ") + std::string(a.name);
  return util::fail(util::Error(util::ErrorKind::usage, "unknown ACME server '" + std::string(s) + "'")
                        .with_hint("use a directory URL (https://...) or one of: " + names));
}

}  // namespace certroute::acme
