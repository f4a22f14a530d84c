// A connection to one ACME server with the account the state directory holds
// for it: what every ACME command starts from.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "core/acme/client.hpp"
#include "core/crypto/key.hpp"
#include "core/store/state_dir.hpp"

namespace certroute::renew {

using util::Result;

struct ServerOptions {
  std::string server;  // alias or directory URL
  std::string ca_bundle;
  std::string state_dir;
  long http_timeout = 30;
  long max_wait = 300;
};

class Session {
 public:
  // Resolves the server, loads libcurl and the directory.
  static Result<std::unique_ptr<Session>> open(const ServerOptions& options);

  acme::Client& client() { return *client_; }
  const std::string& directory_url() const { return directory_url_; }
  const std::string& state_dir() const { return options_.state_dir; }

  // Loads the state directory's account for this server and its key; a
  // `problem` error with a hint to register when there is none.
  Result<store::AccountRecord> use_account();
  EVP_PKEY* account_key() const { return key_.get(); }
  void set_account_key(crypto::EvpPkey key) {
    key_ = std::move(key);
    client_->set_account_key(key_.get());
  }

 private:
  ServerOptions options_;
  std::string directory_url_;
  std::unique_ptr<acme::HttpClient> http_;
  std::unique_ptr<acme::Client> client_;
  crypto::EvpPkey key_;
};

}  // namespace certroute::renew
