#include "core/acme/jws.hpp"

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>

#include "core/crypto/key.hpp"
#include "core/util/base64.hpp"

namespace certroute::acme {
using crypto::ossl_error;
using util::ErrorKind;
using util::fail;

namespace {

std::optional<std::string> bn_param(EVP_PKEY* key, const char* name) {
  BIGNUM* bn = nullptr;
  if (!EVP_PKEY_get_bn_param(key, name, &bn)) return std::nullopt;
  std::string out(static_cast<size_t>(BN_num_bytes(bn)), '\0');
  BN_bn2bin(bn, reinterpret_cast<unsigned char*>(out.data()));
  BN_free(bn);
  return out;
}

int coordinate_size(EVP_PKEY* key) { return (EVP_PKEY_get_bits(key) + 7) / 8; }

}  // namespace

Result<std::string> jws_algorithm(EVP_PKEY* key) {
  switch (EVP_PKEY_get_base_id(key)) {
    case EVP_PKEY_EC: {
      int bits = EVP_PKEY_get_bits(key);
      if (bits == 256) return std::string("ES256");
      if (bits == 384) return std::string("ES384");
      return fail(ErrorKind::bad_input, "unsupported EC curve for an ACME account key");
    }
    case EVP_PKEY_RSA: return std::string("RS256");
    case EVP_PKEY_ED25519: return std::string("EdDSA");
    default: return fail(ErrorKind::bad_input, "unsupported ACME account key type");
  }
}

Result<nlohmann::json> public_jwk(EVP_PKEY* key) {
  auto enc = crypto::key_encoding(key, false);
  if (!enc) return fail(std::move(enc.error()));
  switch (EVP_PKEY_get_base_id(key)) {
    case EVP_PKEY_EC: {
      const std::string& point = enc->public_key;  // 0x04 || X || Y
      size_t n = static_cast<size_t>(coordinate_size(key));
      if (point.size() != 1 + 2 * n || point[0] != 0x04)
        return fail(ErrorKind::internal, "unexpected EC public key encoding");
      return nlohmann::json{{"crv", n == 32 ? "P-256" : "P-384"},
                            {"kty", "EC"},
                            {"x", util::base64url_encode(point.substr(1, n))},
                            {"y", util::base64url_encode(point.substr(1 + n, n))}};
    }
    case EVP_PKEY_RSA: {
      auto n = bn_param(key, OSSL_PKEY_PARAM_RSA_N), e = bn_param(key, OSSL_PKEY_PARAM_RSA_E);
      if (!n || !e) return fail(ossl_error(ErrorKind::internal, "reading the RSA key"));
      return nlohmann::json{{"e", util::base64url_encode(*e)}, {"kty", "RSA"}, {"n", util::base64url_encode(*n)}};
    }
    case EVP_PKEY_ED25519:
      return nlohmann::json{{"crv", "Ed25519"}, {"kty", "OKP"}, {"x", util::base64url_encode(enc->public_key)}};
    default: return fail(ErrorKind::bad_input, "unsupported ACME account key type");
  }
}

Result<std::string> jwk_thumbprint(EVP_PKEY* key) {
  auto jwk = public_jwk(key);
  if (!jwk) return fail(std::move(jwk.error()));
  // nlohmann::json objects are sorted by key and dump() adds no whitespace:
  // exactly RFC 7638's canonical form for these members.
  return util::base64url_encode(crypto::sha256(jwk->dump()));
}

Result<std::string> jws_sign(EVP_PKEY* key, std::string_view input) {
  crypto::EvpMdCtx ctx(EVP_MD_CTX_new());
  int base = EVP_PKEY_get_base_id(key);
  const EVP_MD* md = nullptr;
  if (base == EVP_PKEY_EC) md = EVP_PKEY_get_bits(key) == 384 ? EVP_sha384() : EVP_sha256();
  else if (base == EVP_PKEY_RSA) md = EVP_sha256();
  if (!ctx || EVP_DigestSignInit(ctx.get(), nullptr, md, nullptr, key) != 1)
    return fail(ossl_error(ErrorKind::internal, "signing"));
  size_t len = 0;
  auto data = reinterpret_cast<const unsigned char*>(input.data());
  if (EVP_DigestSign(ctx.get(), nullptr, &len, data, input.size()) != 1)
    return fail(ossl_error(ErrorKind::internal, "signing"));
  std::string sig(len, '\0');
  if (EVP_DigestSign(ctx.get(), reinterpret_cast<unsigned char*>(sig.data()), &len, data, input.size()) != 1)
    return fail(ossl_error(ErrorKind::internal, "signing"));
  sig.resize(len);
  if (base != EVP_PKEY_EC) return sig;

  // ECDSA: DER Ecdsa-Sig-Value -> fixed-size r || s (RFC 7518 §3.4).
  const unsigned char* p = reinterpret_cast<const unsigned char*>(sig.data());
  ECDSA_SIG* es = d2i_ECDSA_SIG(nullptr, &p, static_cast<long>(sig.size()));
  if (!es) return fail(ossl_error(ErrorKind::internal, "decoding the ECDSA signature"));
  int n = coordinate_size(key);
  std::string raw(static_cast<size_t>(2 * n), '\0');
  BN_bn2binpad(ECDSA_SIG_get0_r(es), reinterpret_cast<unsigned char*>(raw.data()), n);
  BN_bn2binpad(ECDSA_SIG_get0_s(es), reinterpret_cast<unsigned char*>(raw.data()) + n, n);
  ECDSA_SIG_free(es);
  return raw;
}

Result<nlohmann::json> make_jws(EVP_PKEY* key, nlohmann::json header, std::string_view payload) {
  auto alg = jws_algorithm(key);
  if (!alg) return fail(std::move(alg.error()));
  header["alg"] = *alg;
  std::string protected64 = util::base64url_encode(header.dump());
  std::string payload64 = util::base64url_encode(payload);
  auto sig = jws_sign(key, protected64 + "." + payload64);
  if (!sig) return fail(std::move(sig.error()));
  return nlohmann::json{{"protected", protected64}, {"payload", payload64}, {"signature", util::base64url_encode(*sig)}};
}

Result<nlohmann::json> make_eab(const std::string& kid, std::string_view hmac_key, const nlohmann::json& account_jwk,
                                const std::string& new_account_url) {
  nlohmann::json header{{"alg", "HS256"}, {"kid", kid}, {"url", new_account_url}};
  std::string protected64 = util::base64url_encode(header.dump());
  std::string payload64 = util::base64url_encode(account_jwk.dump());
  std::string input = protected64 + "." + payload64;
  unsigned char mac[EVP_MAX_MD_SIZE];
  size_t mac_len = 0;
  if (!EVP_Q_mac(nullptr, "HMAC", nullptr, "SHA256", nullptr, hmac_key.data(), hmac_key.size(),
                 reinterpret_cast<const unsigned char*>(input.data()), input.size(), mac, sizeof mac, &mac_len))
    return fail(ossl_error(ErrorKind::internal, "computing the EAB MAC"));
  return nlohmann::json{{"protected", protected64},
                        {"payload", payload64},
                        {"signature", util::base64url_encode(std::string_view(reinterpret_cast<char*>(mac), mac_len))}};
}

Result<std::string> key_authorization(EVP_PKEY* account_key, const std::string& token) {
  auto t = jwk_thumbprint(account_key);
  if (!t) return fail(std::move(t.error()));
  return token + "." + *t;
}

}  // namespace certroute::acme
