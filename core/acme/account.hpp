// ACME accounts (RFC 8555 §7.3): register, look up, update, key rollover,
// deactivate. The workflow reads like the RFC.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "core/acme/client.hpp"

namespace certroute::acme {

struct Account {
  std::string url;     // the account URL, used as "kid"
  std::string status;  // valid, deactivated, revoked
  std::vector<std::string> contact;
  std::string orders;
  nlohmann::json raw;
};

struct ExternalAccountBinding {
  std::string kid;
  std::string hmac_key;  // decoded bytes
};

struct RegisterOptions {
  std::vector<std::string> emails;
  bool agree_tos = false;
  std::optional<ExternalAccountBinding> eab;
};

// newAccount with the client's key; sets the client's account URL.
Result<Account> account_register(Client& client, const RegisterOptions& options);
// newAccount with onlyReturnExisting; `problem` error accountDoesNotExist if none.
Result<Account> account_find(Client& client);
// POST-as-GET of the account URL.
Result<Account> account_fetch(Client& client);
Result<Account> account_update_contact(Client& client, const std::vector<std::string>& emails);
// §7.3.5 key change: on success the client uses the new key.
Result<void> account_key_change(Client& client, EVP_PKEY* new_key);
Result<Account> account_deactivate(Client& client);

}  // namespace certroute::acme
