// JSON Web Signatures as ACME uses them (RFC 8555 §6.2, RFC 7515/7517/7638):
// JWKs of account keys, their thumbprints, flattened JWS objects, and the
// HS256 MAC of external account binding.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "core/crypto/ossl.hpp"

namespace certroute::acme {

using util::Result;

// "ES256" (P-256), "ES384" (P-384), "RS256" (RSA), "EdDSA" (Ed25519).
Result<std::string> jws_algorithm(EVP_PKEY* key);

// The public JWK with only the required members (RFC 7638 order is applied
// when computing the thumbprint, not here).
Result<nlohmann::json> public_jwk(EVP_PKEY* key);

// base64url(SHA-256(canonical JWK)), RFC 7638.
Result<std::string> jwk_thumbprint(EVP_PKEY* key);

// The JOSE signature of `input` (ECDSA as r||s, not DER).
Result<std::string> jws_sign(EVP_PKEY* key, std::string_view input);

// A flattened JWS: {"protected", "payload", "signature"}. `payload` is the
// serialized JSON payload, or "" for POST-as-GET. `header` gets "alg" added.
Result<nlohmann::json> make_jws(EVP_PKEY* key, nlohmann::json header, std::string_view payload);

// External account binding (RFC 8555 §7.3.4): a JWS over the account's JWK,
// MAC'd with HS256 under the CA-provided key.
Result<nlohmann::json> make_eab(const std::string& kid, std::string_view hmac_key, const nlohmann::json& account_jwk,
                                const std::string& new_account_url);

// The key authorization for a challenge token: token "." thumbprint.
Result<std::string> key_authorization(EVP_PKEY* account_key, const std::string& token);

}  // namespace certroute::acme
