// Replays recorded ACME server replies, in order, and records the requests.
#pragma once

#include <deque>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string>
#include <vector>

#include "core/acme/http.hpp"
#include "core/util/base64.hpp"

struct FakeHttp final : certroute::acme::HttpClient {
  std::deque<certroute::acme::HttpResponse> replies;
  std::vector<certroute::acme::HttpRequest> requests;
  int nonce_counter = 0;

  // Adds a reply; every reply carries a fresh Replay-Nonce unless told otherwise.
  FakeHttp& reply(long status, std::string body, std::vector<std::pair<std::string, std::string>> headers = {},
                  bool with_nonce = true) {
    certroute::acme::HttpResponse r;
    r.status = status;
    r.body = std::move(body);
    r.headers = std::move(headers);
    if (with_nonce) r.headers.emplace_back("replay-nonce", "nonce-" + std::to_string(++nonce_counter));
    replies.push_back(std::move(r));
    return *this;
  }

  certroute::util::Result<certroute::acme::HttpResponse> send(const certroute::acme::HttpRequest& req) override {
    requests.push_back(req);
    if (replies.empty()) throw std::runtime_error("FakeHttp: no reply left for " + req.url);
    auto r = std::move(replies.front());
    replies.pop_front();
    return r;
  }

  // The decoded protected header and payload of the i-th request (a JWS POST).
  nlohmann::json protected_header(size_t i) const {
    auto j = nlohmann::json::parse(requests.at(i).body);
    return nlohmann::json::parse(*certroute::util::base64url_decode(j["protected"].get<std::string>()));
  }
  std::string payload(size_t i) const {
    auto j = nlohmann::json::parse(requests.at(i).body);
    return *certroute::util::base64url_decode(j["payload"].get<std::string>());
  }
};

inline std::string directory_json(bool with_ari = false, bool with_profiles = false) {
  nlohmann::json d{{"newNonce", "https://ca.test/nonce"},
                   {"newAccount", "https://ca.test/acct"},
                   {"newOrder", "https://ca.test/order"},
                   {"revokeCert", "https://ca.test/revoke"},
                   {"keyChange", "https://ca.test/key-change"},
                   {"meta", {{"termsOfService", "https://ca.test/tos"}}}};
  if (with_ari) d["renewalInfo"] = "https://ca.test/ari";
  if (with_profiles) d["meta"]["profiles"] = {{"classic", "the usual"}, {"shortlived", "6 days"}};
  return d.dump();
}
