#include "core/acme/account.hpp"

#include "core/acme/jws.hpp"

namespace certroute::acme {
using util::Error;
using util::ErrorKind;
using util::fail;

namespace {

Account parse_account(const HttpResponse& r, std::string url) {
  Account a;
  a.url = std::move(url);
  auto j = nlohmann::json::parse(r.body, nullptr, false);
  if (j.is_object()) {
    a.raw = j;
    a.status = j.value("status", "");
    a.orders = j.value("orders", "");
    if (j.contains("contact") && j["contact"].is_array())
      for (const auto& c : j["contact"])
        if (c.is_string()) a.contact.push_back(c.get<std::string>());
  }
  return a;
}

nlohmann::json contacts(const std::vector<std::string>& emails) {
  nlohmann::json c = nlohmann::json::array();
  for (const auto& e : emails) c.push_back("mailto:" + e);
  return c;
}

}  // namespace

Result<Account> account_register(Client& client, const RegisterOptions& options) {
  const auto& dir = client.directory();
  nlohmann::json payload{{"termsOfServiceAgreed", options.agree_tos}};
  if (!options.emails.empty()) payload["contact"] = contacts(options.emails);
  if (options.eab) {
    auto jwk = public_jwk(client.account_key());
    if (!jwk) return fail(std::move(jwk.error()));
    auto eab = make_eab(options.eab->kid, options.eab->hmac_key, *jwk, dir.new_account);
    if (!eab) return fail(std::move(eab.error()));
    payload["externalAccountBinding"] = *eab;
  }
  client.set_account_url("");
  auto r = client.post(dir.new_account, payload, true);
  if (!r) return fail(std::move(r.error()).context("registering an account"));
  auto loc = r->header("location");
  if (!loc) return fail(ErrorKind::remote, "registering an account: the server sent no Location for it");
  client.set_account_url(*loc);
  return parse_account(*r, *loc);
}

Result<Account> account_find(Client& client) {
  client.set_account_url("");
  auto r = client.post(client.directory().new_account, nlohmann::json{{"onlyReturnExisting", true}}, true);
  if (!r) return fail(std::move(r.error()).context("looking up the account"));
  auto loc = r->header("location");
  if (!loc) return fail(ErrorKind::remote, "looking up the account: the server sent no Location");
  client.set_account_url(*loc);
  return parse_account(*r, *loc);
}

Result<Account> account_fetch(Client& client) {
  auto r = client.post_as_get(client.account_url());
  if (!r) return fail(std::move(r.error()).context("fetching the account"));
  return parse_account(*r, client.account_url());
}

Result<Account> account_update_contact(Client& client, const std::vector<std::string>& emails) {
  auto r = client.post(client.account_url(), nlohmann::json{{"contact", contacts(emails)}});
  if (!r) return fail(std::move(r.error()).context("updating the account"));
  return parse_account(*r, client.account_url());
}

Result<void> account_key_change(Client& client, EVP_PKEY* new_key) {
  const auto& dir = client.directory();
  if (dir.key_change.empty()) return fail(ErrorKind::remote, "the server offers no keyChange");
  auto new_jwk = public_jwk(new_key);
  if (!new_jwk) return fail(std::move(new_jwk.error()));
  auto old_jwk = public_jwk(client.account_key());
  if (!old_jwk) return fail(std::move(old_jwk.error()));
  // Inner JWS: signed by the new key, jwk = new key, payload = {account, oldKey}.
  nlohmann::json inner_payload{{"account", client.account_url()}, {"oldKey", *old_jwk}};
  auto inner = make_jws(new_key, nlohmann::json{{"jwk", *new_jwk}, {"url", dir.key_change}}, inner_payload.dump());
  if (!inner) return fail(std::move(inner.error()));
  auto r = client.post(dir.key_change, *inner);
  if (!r) return fail(std::move(r.error()).context("changing the account key"));
  client.set_account_key(new_key);
  return {};
}

Result<Account> account_deactivate(Client& client) {
  auto r = client.post(client.account_url(), nlohmann::json{{"status", "deactivated"}});
  if (!r) return fail(std::move(r.error()).context("deactivating the account"));
  return parse_account(*r, client.account_url());
}

}  // namespace certroute::acme
