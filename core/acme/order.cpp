#include "core/acme/order.hpp"

#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "core/crypto/certificate.hpp"
#include "core/util/base64.hpp"

namespace certroute::acme {
using util::Error;
using util::ErrorKind;
using util::fail;

namespace {

nlohmann::json parse_json(const HttpResponse& r) { return nlohmann::json::parse(r.body, nullptr, false); }

Identifier parse_identifier(const nlohmann::json& j) {
  if (!j.is_object()) return {};
  return {j.value("type", ""), j.value("value", "")};
}

Order parse_order(const nlohmann::json& j, std::string url) {
  Order o;
  o.url = std::move(url);
  if (!j.is_object()) return o;
  o.status = j.value("status", "");
  o.expires = j.value("expires", "");
  o.finalize = j.value("finalize", "");
  o.certificate = j.value("certificate", "");
  if (j.contains("identifiers") && j["identifiers"].is_array())
    for (const auto& i : j["identifiers"]) o.identifiers.push_back(parse_identifier(i));
  if (j.contains("authorizations") && j["authorizations"].is_array())
    for (const auto& a : j["authorizations"])
      if (a.is_string()) o.authorizations.push_back(a.get<std::string>());
  if (j.contains("error")) o.error = parse_problem(j["error"].dump(), 0);
  return o;
}

Challenge parse_challenge(const nlohmann::json& c) {
  Challenge ch;
  if (!c.is_object()) return ch;
  ch.type = c.value("type", "");
  ch.url = c.value("url", "");
  ch.token = c.value("token", "");
  ch.status = c.value("status", "");
  if (c.contains("error")) ch.error = parse_problem(c["error"].dump(), 0);
  return ch;
}

}  // namespace

const Challenge* Authorization::find(std::string_view type) const {
  for (const auto& c : challenges)
    if (c.type == type) return &c;
  return nullptr;
}

Result<Order> new_order(Client& client, const std::vector<Identifier>& identifiers, const NewOrderOptions& options) {
  nlohmann::json ids = nlohmann::json::array();
  for (const auto& i : identifiers) ids.push_back({{"type", i.type}, {"value", i.value}});
  nlohmann::json payload{{"identifiers", ids}};
  if (!options.profile.empty()) payload["profile"] = options.profile;
  if (!options.replaces.empty()) payload["replaces"] = options.replaces;
  auto r = client.post(client.directory().new_order, payload);
  if (!r) return fail(std::move(r.error()).context("creating the order"));
  auto loc = r->header("location");
  if (!loc) return fail(ErrorKind::remote, "creating the order: the server sent no Location");
  return parse_order(parse_json(*r), *loc);
}

Result<Order> fetch_order(Client& client, const std::string& url) {
  auto r = client.post_as_get(url);
  if (!r) return fail(std::move(r.error()).context("fetching the order"));
  Order o = parse_order(parse_json(*r), url);
  if (auto ra = r->header("retry-after")) o.retry_after = parse_retry_after(*ra, client.now_unix()).value_or(-1);
  return o;
}

Result<Authorization> fetch_authorization(Client& client, const std::string& url) {
  auto r = client.post_as_get(url);
  if (!r) return fail(std::move(r.error()).context("fetching an authorization"));
  auto j = parse_json(*r);
  Authorization a;
  a.url = url;
  if (!j.is_object()) return fail(ErrorKind::remote, url + ": the authorization is not JSON");
  a.status = j.value("status", "");
  a.expires = j.value("expires", "");
  a.identifier = parse_identifier(j.value("identifier", nlohmann::json::object()));
  a.wildcard = j.value("wildcard", false);
  if (auto ra = r->header("retry-after")) a.retry_after = parse_retry_after(*ra, client.now_unix()).value_or(-1);
  if (j.contains("challenges") && j["challenges"].is_array())
    for (const auto& c : j["challenges"]) a.challenges.push_back(parse_challenge(c));
  return a;
}

Result<Challenge> respond_challenge(Client& client, const std::string& url) {
  auto r = client.post(url, nlohmann::json::object());
  if (!r) return fail(std::move(r.error()).context("answering the challenge"));
  return parse_challenge(parse_json(*r));
}

Result<Order> finalize_order(Client& client, const Order& order, std::string_view csr_der) {
  auto r = client.post(order.finalize, nlohmann::json{{"csr", util::base64url_encode(csr_der)}});
  if (!r) return fail(std::move(r.error()).context("finalizing the order"));
  return parse_order(parse_json(*r), order.url);
}

static std::string top_issuer_cn(const std::string& pem) {
  auto certs = crypto::load_certificates(pem, "chain");
  if (!certs || certs->empty()) return {};
  X509* top = certs->back().get();
  char cn[256] = {0};
  X509_NAME_get_text_by_NID(X509_get_issuer_name(top), NID_commonName, cn, sizeof cn);
  return cn;
}

Result<std::string> download_certificate(Client& client, const std::string& url, const std::string& preferred_issuer) {
  auto r = client.post_as_get(url, "application/pem-certificate-chain");
  if (!r) return fail(std::move(r.error()).context("downloading the certificate"));
  if (preferred_issuer.empty()) return r->body;
  if (top_issuer_cn(r->body) == preferred_issuer) return r->body;
  for (const auto& alt : r->links("alternate")) {
    auto a = client.post_as_get(alt, "application/pem-certificate-chain");
    if (!a) return fail(std::move(a.error()).context("downloading an alternate chain"));
    if (top_issuer_cn(a->body) == preferred_issuer) return a->body;
  }
  return r->body;  // as certbot and lego do: fall back to the default chain
}

Result<void> revoke_certificate(Client& client, std::string_view cert_der, int reason, EVP_PKEY* cert_key) {
  const auto& url = client.directory().revoke_cert;
  if (url.empty()) return fail(ErrorKind::remote, "the server offers no revokeCert");
  nlohmann::json payload{{"certificate", util::base64url_encode(cert_der)}};
  if (reason >= 0) payload["reason"] = reason;
  auto r = client.post(url, payload, cert_key != nullptr, cert_key);
  if (!r) return fail(std::move(r.error()).context("revoking the certificate"));
  return {};
}

Result<std::string> ari_cert_id(std::string_view cert_pem) {
  auto certs = crypto::load_certificates(cert_pem, "certificate");
  if (!certs) return fail(std::move(certs.error()));
  X509* x = certs->front().get();
  const ASN1_OCTET_STRING* aki = X509_get0_authority_key_id(x);
  if (!aki) return fail(ErrorKind::bad_input, "the certificate has no Authority Key Identifier");
  const ASN1_INTEGER* serial = X509_get0_serialNumber(x);
  // The serial's DER content octets (with a leading 0x00 when the top bit is set).
  unsigned char* der = nullptr;
  int n = i2d_ASN1_INTEGER(serial, &der);
  if (n < 2) return fail(ErrorKind::internal, "encoding the serial number");
  std::string_view content(reinterpret_cast<char*>(der), static_cast<size_t>(n));
  size_t hdr = (static_cast<unsigned char>(content[1]) & 0x80) ? 2 + (content[1] & 0x7f) : 2;
  std::string serial_bytes(content.substr(hdr));
  OPENSSL_free(der);
  std::string key_id(reinterpret_cast<const char*>(ASN1_STRING_get0_data(aki)), static_cast<size_t>(ASN1_STRING_length(aki)));
  return util::base64url_encode(key_id) + "." + util::base64url_encode(serial_bytes);
}

std::optional<long> parse_rfc3339(std::string_view s) {
  struct tm tm {};
  std::string str(s);
  const char* rest = strptime(str.c_str(), "%Y-%m-%dT%H:%M:%S", &tm);
  if (!rest) return std::nullopt;
  long t = static_cast<long>(timegm(&tm));
  if (*rest == '.')
    while (*++rest >= '0' && *rest <= '9') {
    }
  if (*rest == 'Z' || *rest == 'z') return t;
  if (*rest == '+' || *rest == '-') {
    int hh = 0, mm = 0;
    if (sscanf(rest + 1, "%2d:%2d", &hh, &mm) != 2) return std::nullopt;
    long off = hh * 3600L + mm * 60L;
    return *rest == '+' ? t - off : t + off;
  }
  return std::nullopt;
}

Result<std::optional<RenewalInfo>> fetch_renewal_info(Client& client, const std::string& cert_id) {
  const auto& base = client.directory().renewal_info;
  if (base.empty()) return std::optional<RenewalInfo>{};
  std::string url = base + (base.ends_with("/") ? "" : "/") + cert_id;
  auto r = client.get(url);
  if (!r) return fail(std::move(r.error()).context("fetching renewal info"));
  if (r->status != 200) return fail(http_error(*r, "fetching renewal info"));
  auto j = parse_json(*r);
  if (!j.is_object() || !j.contains("suggestedWindow") || !j["suggestedWindow"].is_object())
    return fail(ErrorKind::remote, url + ": no suggestedWindow in the renewal info");
  RenewalInfo info;
  auto start = parse_rfc3339(j["suggestedWindow"].value("start", ""));
  auto end = parse_rfc3339(j["suggestedWindow"].value("end", ""));
  if (!start || !end || *end < *start) return fail(ErrorKind::remote, url + ": malformed suggestedWindow");
  info.window_start = *start;
  info.window_end = *end;
  info.explanation_url = j.value("explanationURL", "");
  if (auto ra = r->header("retry-after")) info.retry_after = parse_retry_after(*ra, client.now_unix()).value_or(0);
  return std::optional<RenewalInfo>(info);
}

}  // namespace certroute::acme
