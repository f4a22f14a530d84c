// The ACME protocol core (RFC 8555 §6-7): the directory, the nonce pool,
// signed requests with kid or jwk, and the retry rules driven by problem
// types (badNonce, rateLimited, 503 with Retry-After, transient 5xx).
#pragma once

#include <deque>
#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "core/acme/http.hpp"
#include "core/acme/problem.hpp"
#include "core/crypto/ossl.hpp"

namespace certroute::acme {

struct Directory {
  std::string url;
  std::string new_nonce, new_account, new_order, revoke_cert, key_change, renewal_info;
  std::string terms_of_service, website;
  bool external_account_required = false;
  std::map<std::string, std::string> profiles;  // name -> description

  static Result<Directory> parse(const std::string& url, std::string_view body);
};

struct ClientOptions {
  long max_wait_seconds = 300;     // longest Retry-After we are willing to sleep through
  int max_bad_nonce_retries = 200;  // servers may reject many nonces in a row (pebble: 90%)
  int max_server_retries = 3;      // transient 5xx
  // Injected for tests: sleeping and the wall clock.
  std::function<void(double seconds)> sleep;
  std::function<long()> now_unix;
};

class Client {
 public:
  Client(HttpClient& http, ClientOptions options = {});

  // Fetches and parses the directory; `remote` error naming the URL when it
  // is unreachable or not an ACME directory.
  Result<void> load_directory(const std::string& url);
  const Directory& directory() const { return directory_; }

  // The account key, and its URL once registered (then requests use "kid").
  void set_account_key(EVP_PKEY* key) { key_ = key; }
  EVP_PKEY* account_key() const { return key_; }
  void set_account_url(std::string kid) { kid_ = std::move(kid); }
  const std::string& account_url() const { return kid_; }

  // A signed POST. No payload = POST-as-GET. `use_jwk` puts the public key
  // in the header instead of the kid (newAccount, revocation by cert key).
  // `key` overrides the account key for this request. HTTP errors come back
  // as Errors carrying the problem's text; `last_problem()` has its type.
  Result<HttpResponse> post(const std::string& url, const std::optional<nlohmann::json>& payload,
                            bool use_jwk = false, EVP_PKEY* key = nullptr);
  Result<HttpResponse> post_as_get(const std::string& url, std::string_view accept = {}) {
    return post_raw(url, std::nullopt, false, nullptr, accept);
  }
  // An unsigned GET (renewalInfo, the directory).
  Result<HttpResponse> get(const std::string& url);

  const std::optional<Problem>& last_problem() const { return last_problem_; }
  void sleep(double seconds) const;
  long now_unix() const;
  size_t nonces_pooled() const { return nonces_.size(); }

 private:
  Result<HttpResponse> post_raw(const std::string& url, const std::optional<nlohmann::json>& payload, bool use_jwk,
                                EVP_PKEY* key, std::string_view accept);
  Result<std::string> take_nonce();
  void keep_nonce(const HttpResponse& r);

  HttpClient& http_;
  ClientOptions options_;
  Directory directory_;
  EVP_PKEY* key_ = nullptr;
  std::string kid_;
  std::deque<std::string> nonces_;
  std::optional<Problem> last_problem_;
};

// Wraps an HTTP status >= 400 into an Error ("<what>: <problem>").
util::Error http_error(const HttpResponse& r, const std::string& what);

}  // namespace certroute::acme
