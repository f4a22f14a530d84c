#include "core/renew/session.hpp"

#include "core/acme/servers.hpp"
#include "core/crypto/certificate.hpp"
#include "core/util/file.hpp"

namespace certroute::renew {
using util::Error;
using util::ErrorKind;
using util::fail;

Result<std::unique_ptr<Session>> Session::open(const ServerOptions& options) {
  auto url = acme::resolve_server(options.server);
  if (!url) return fail(std::move(url.error()));
  if (!options.ca_bundle.empty()) {
    auto probe = util::read_file(options.ca_bundle);
    if (!probe) return fail(std::move(probe.error()).context("--ca-bundle"));
    auto certs = crypto::load_certificates(*probe, options.ca_bundle);
    if (!certs) return fail(std::move(certs.error()).context("--ca-bundle"));
  }
  auto s = std::unique_ptr<Session>(new Session());
  s->options_ = options;
  s->directory_url_ = *url;
  auto http = acme::make_curl_client(
      {.ca_bundle = options.ca_bundle, .timeout_seconds = options.http_timeout, .user_agent = "certroute/0.1"});
  if (!http) return fail(std::move(http.error()));
  s->http_ = std::move(*http);
  s->client_ = std::make_unique<acme::Client>(*s->http_, acme::ClientOptions{.max_wait_seconds = options.max_wait});
  if (auto r = s->client_->load_directory(*url); !r) return fail(std::move(r.error()));
  return s;
}

Result<store::AccountRecord> Session::use_account() {
  auto found = store::find_account(options_.state_dir, directory_url_);
  if (!found) return fail(std::move(found.error()));
  if (!*found)
    return fail(Error(ErrorKind::problem, "no account for " + directory_url_ + " in " + options_.state_dir)
                    .with_hint("register one: certroute account register --email you@example.com --agree-tos --server " +
                               options_.server));
  if ((*found)->status == "deactivated" || (*found)->status == "revoked")
    return fail(Error(ErrorKind::problem, "the account for " + directory_url_ + " is " + (*found)->status)
                    .with_hint("register a new one with certroute account register"));
  std::string key_path = (*found)->dir + "/key.pem";
  auto pem = util::read_file(key_path);
  if (!pem) return fail(std::move(pem.error()).context("loading the account key"));
  auto key = crypto::load_private_key(*pem, key_path, std::nullopt);
  if (!key) return fail(std::move(key.error()).context("loading the account key"));
  set_account_key(std::move(*key));
  client_->set_account_url((*found)->account_url);
  return **found;
}

}  // namespace certroute::renew
