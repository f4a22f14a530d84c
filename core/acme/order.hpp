// Orders, authorizations and challenges (RFC 8555 §7.1.3-7.1.6, §7.4-7.5),
// certificate download with alternate chains (§7.4.2), revocation (§7.6),
// and ARI (RFC 9773) look-ups.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "core/acme/client.hpp"

namespace certroute::acme {

struct Identifier {
  std::string type;   // "dns" or "ip"
  std::string value;  // "a.example", "*.a.example", "192.0.2.1"
  std::string str() const { return type + ":" + value; }
  bool operator==(const Identifier&) const = default;
};

struct Challenge {
  std::string type, url, token, status;
  std::optional<Problem> error;
};

struct Authorization {
  std::string url, status, expires;
  Identifier identifier;
  bool wildcard = false;
  std::vector<Challenge> challenges;
  long retry_after = -1;  // seconds, when the server sent Retry-After
  const Challenge* find(std::string_view type) const;
};

struct Order {
  std::string url, status, expires, finalize, certificate;
  std::vector<Identifier> identifiers;
  std::vector<std::string> authorizations;
  std::optional<Problem> error;
  long retry_after = -1;
};

struct NewOrderOptions {
  std::string profile;   // draft-ietf-acme-profiles; "" = server default
  std::string replaces;  // ARI CertID of the certificate this one replaces
};

Result<Order> new_order(Client& client, const std::vector<Identifier>& identifiers, const NewOrderOptions& options = {});
Result<Order> fetch_order(Client& client, const std::string& url);
Result<Authorization> fetch_authorization(Client& client, const std::string& url);
// Tells the server the challenge is ready (POST {}).
Result<Challenge> respond_challenge(Client& client, const std::string& url);
Result<Order> finalize_order(Client& client, const Order& order, std::string_view csr_der);

// Downloads the certificate chain (PEM). With `preferred_issuer`, follows
// Link rel="alternate" and picks the chain whose topmost issuer CN matches;
// else the default chain.
Result<std::string> download_certificate(Client& client, const std::string& url, const std::string& preferred_issuer = {});

// Revocation (§7.6). With `cert_key`, the request is signed by the
// certificate's key (jwk) instead of the account.
Result<void> revoke_certificate(Client& client, std::string_view cert_der, int reason, EVP_PKEY* cert_key = nullptr);

// RFC 9773 CertID: base64url(AKI keyIdentifier) "." base64url(serial DER bytes).
Result<std::string> ari_cert_id(std::string_view cert_pem);

struct RenewalInfo {
  long window_start = 0, window_end = 0;  // unix seconds
  std::string explanation_url;
  long retry_after = 0;  // seconds, from the reply's Retry-After
};

// GET {renewalInfo}/{CertID}; nullopt when the server offers no ARI.
Result<std::optional<RenewalInfo>> fetch_renewal_info(Client& client, const std::string& cert_id);
// Parses an RFC 3339 timestamp ("2025-01-02T04:00:00Z", fractions and offsets allowed).
std::optional<long> parse_rfc3339(std::string_view s);

}  // namespace certroute::acme
