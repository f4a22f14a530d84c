#include "core/acme/client.hpp"

#include <chrono>
#include <thread>

#include "core/acme/jws.hpp"

namespace certroute::acme {
using util::Error;
using util::ErrorKind;
using util::fail;

Result<Directory> Directory::parse(const std::string& url, std::string_view body) {
  auto j = nlohmann::json::parse(body, nullptr, false);
  auto str = [&](const char* k) { return j.contains(k) && j[k].is_string() ? j[k].get<std::string>() : std::string(); };
  if (j.is_discarded() || !j.is_object())
    return fail(Error(ErrorKind::remote, url + ": not an ACME directory (the reply is not JSON)")
                    .with_hint("check --server: it must be the directory URL, such as https://acme-v02.api.letsencrypt.org/directory"));
  Directory d;
  d.url = url;
  d.new_nonce = str("newNonce");
  d.new_account = str("newAccount");
  d.new_order = str("newOrder");
  d.revoke_cert = str("revokeCert");
  d.key_change = str("keyChange");
  d.renewal_info = str("renewalInfo");
  if (d.new_nonce.empty() || d.new_account.empty() || d.new_order.empty())
    return fail(Error(ErrorKind::remote, url + ": not an ACME directory (no newNonce, newAccount or newOrder)")
                    .with_hint("check --server: it must be the directory URL"));
  if (j.contains("meta") && j["meta"].is_object()) {
    const auto& m = j["meta"];
    d.terms_of_service = m.value("termsOfService", "");
    d.website = m.value("website", "");
    d.external_account_required = m.value("externalAccountRequired", false);
    if (m.contains("profiles") && m["profiles"].is_object())
      for (const auto& [k, v] : m["profiles"].items()) d.profiles[k] = v.is_string() ? v.get<std::string>() : v.dump();
  }
  return d;
}

Client::Client(HttpClient& http, ClientOptions options) : http_(http), options_(std::move(options)) {}

void Client::sleep(double seconds) const {
  if (seconds <= 0) return;
  if (options_.sleep) return options_.sleep(seconds);
  std::this_thread::sleep_for(std::chrono::duration<double>(seconds));
}

long Client::now_unix() const {
  if (options_.now_unix) return options_.now_unix();
  return static_cast<long>(std::chrono::duration_cast<std::chrono::seconds>(
                               std::chrono::system_clock::now().time_since_epoch())
                               .count());
}

Error http_error(const HttpResponse& r, const std::string& what) {
  if (auto p = parse_problem(r.body, r.status)) return Error(p->kind(), what + ": " + p->describe());
  ErrorKind kind = r.status >= 500 ? ErrorKind::remote : ErrorKind::problem;
  std::string snippet = r.body.substr(0, 120);
  for (auto& c : snippet)
    if (c == '\n' || c == '\r') c = ' ';
  return Error(kind, what + ": HTTP " + std::to_string(r.status) + (snippet.empty() ? "" : " (" + snippet + ")"));
}

Result<void> Client::load_directory(const std::string& url) {
  auto r = http_.send({.method = HttpRequest::Method::get, .url = url});
  for (int i = 0; r && r->status >= 500 && i < options_.max_server_retries; ++i) {
    sleep(0.5 * (i + 1));
    r = http_.send({.method = HttpRequest::Method::get, .url = url});
  }
  if (!r) return fail(std::move(r.error()).context("fetching the ACME directory"));
  if (r->status != 200) {
    Error e = http_error(*r, url);
    return fail(Error(ErrorKind::remote, "fetching the ACME directory: " + e.message())
                    .with_hint("check --server: it must be the directory URL"));
  }
  auto d = Directory::parse(url, r->body);
  if (!d) return fail(std::move(d.error()));
  directory_ = std::move(*d);
  return {};
}

void Client::keep_nonce(const HttpResponse& r) {
  if (auto n = r.header("replay-nonce"); n && !n->empty()) {
    nonces_.push_back(*n);
    if (nonces_.size() > 16) nonces_.pop_front();
  }
}

Result<std::string> Client::take_nonce() {
  if (!nonces_.empty()) {
    std::string n = std::move(nonces_.back());
    nonces_.pop_back();
    return n;
  }
  for (int attempt = 0;; ++attempt) {
    auto r = http_.send({.method = HttpRequest::Method::head, .url = directory_.new_nonce});
    if (r && r->status < 500) {
      auto n = r->header("replay-nonce");
      if (n && !n->empty()) return *n;
      return fail(ErrorKind::remote, directory_.new_nonce + ": no Replay-Nonce in the reply");
    }
    if (attempt >= options_.max_server_retries) {
      if (!r) return fail(std::move(r.error()).context("getting a nonce"));
      return fail(http_error(*r, "getting a nonce from " + directory_.new_nonce));
    }
    sleep(0.5 * (attempt + 1));
  }
}

Result<HttpResponse> Client::get(const std::string& url) {
  auto r = http_.send({.method = HttpRequest::Method::get, .url = url});
  if (r) keep_nonce(*r);
  return r;
}

Result<HttpResponse> Client::post(const std::string& url, const std::optional<nlohmann::json>& payload, bool use_jwk,
                                  EVP_PKEY* key) {
  return post_raw(url, payload, use_jwk, key, {});
}

Result<HttpResponse> Client::post_raw(const std::string& url, const std::optional<nlohmann::json>& payload,
                                      bool use_jwk, EVP_PKEY* key, std::string_view accept) {
  EVP_PKEY* k = key ? key : key_;
  if (!k) return fail(ErrorKind::internal, "no account key set");
  last_problem_.reset();
  int bad_nonces = 0, server_errors = 0;
  long waited = 0;
  const std::string body_text = payload ? payload->dump() : std::string();
  for (;;) {
    auto nonce = take_nonce();
    if (!nonce) return fail(std::move(nonce.error()));
    nlohmann::json header{{"nonce", *nonce}, {"url", url}};
    if (use_jwk || kid_.empty()) {
      auto jwk = public_jwk(k);
      if (!jwk) return fail(std::move(jwk.error()));
      header["jwk"] = *jwk;
    } else {
      header["kid"] = kid_;
    }
    auto jws = make_jws(k, header, body_text);
    if (!jws) return fail(std::move(jws.error()));
    auto r = http_.send({.method = HttpRequest::Method::post,
                         .url = url,
                         .body = jws->dump(),
                         .content_type = "application/jose+json",
                         .accept = std::string(accept)});
    if (!r) {
      if (++server_errors > options_.max_server_retries) return fail(std::move(r.error()));
      sleep(0.5 * server_errors);
      continue;
    }
    keep_nonce(*r);
    if (r->status < 400) return r;

    auto problem = parse_problem(r->body, r->status);
    if (problem) last_problem_ = problem;
    if (problem && problem->type == "badNonce" && ++bad_nonces <= options_.max_bad_nonce_retries) continue;

    bool throttled = r->status == 503 || r->status == 429 || (problem && problem->type == "rateLimited");
    if (throttled) {
      long wait = 1;
      if (auto ra = r->header("retry-after")) wait = parse_retry_after(*ra, now_unix()).value_or(1);
      if (waited + wait > options_.max_wait_seconds) {
        Error e = http_error(*r, url);
        return fail(Error(ErrorKind::remote, e.message() + " (the server asks to retry in " + std::to_string(wait) + " s)")
                        .with_hint("try again later, or raise --max-wait"));
      }
      waited += wait;
      sleep(static_cast<double>(wait));
      continue;
    }
    if (r->status >= 500 && ++server_errors <= options_.max_server_retries) {
      sleep(0.5 * server_errors);
      continue;
    }
    return fail(http_error(*r, url));
  }
}

}  // namespace certroute::acme
