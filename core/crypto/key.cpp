#include "core/crypto/key.hpp"

#include "core/crypto/der.hpp"

#include <algorithm>
#include <array>

#include <openssl/bn.h>

#include <openssl/core_names.h>
#include <openssl/decoder.h>
#include <openssl/pem.h>

namespace certroute::crypto {
using util::ErrorKind;
using util::fail;

namespace {

constexpr std::array<KeyTypeInfo, 6> kKeyTypes{{
    {KeyType::ec_p256, "ec-p256", "ECDSA on NIST P-256 (default; fast, accepted everywhere)"},
    {KeyType::ec_p384, "ec-p384", "ECDSA on NIST P-384"},
    {KeyType::rsa_2048, "rsa-2048", "RSA, 2048 bits (for old clients)"},
    {KeyType::rsa_3072, "rsa-3072", "RSA, 3072 bits"},
    {KeyType::rsa_4096, "rsa-4096", "RSA, 4096 bits"},
    {KeyType::ed25519, "ed25519", "Ed25519 (not accepted by most public CAs)"},
}};

std::string curve_display(const std::string& group) {
  if (group == "prime256v1" || group == "P-256") return "P-256";
  if (group == "secp384r1" || group == "P-384") return "P-384";
  if (group == "secp521r1" || group == "P-521") return "P-521";
  return group;
}

int no_passphrase_cb(char*, int, int, void*) { return -1; }

}  // namespace

std::span<const KeyTypeInfo> key_types() { return kKeyTypes; }

std::optional<KeyType> parse_key_type(std::string_view name) {
  for (const auto& k : kKeyTypes)
    if (k.name == name) return k.type;
  return std::nullopt;
}

std::string_view key_type_name(KeyType type) {
  for (const auto& k : kKeyTypes)
    if (k.type == type) return k.name;
  return "?";
}

Result<EvpPkey> generate_key(KeyType type) {
  EVP_PKEY* k = nullptr;
  switch (type) {
    case KeyType::ec_p256: k = EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256"); break;
    case KeyType::ec_p384: k = EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-384"); break;
    case KeyType::rsa_2048: k = EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", size_t{2048}); break;
    case KeyType::rsa_3072: k = EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", size_t{3072}); break;
    case KeyType::rsa_4096: k = EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", size_t{4096}); break;
    case KeyType::ed25519: k = EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519"); break;
  }
  if (!k) return fail(ossl_error(ErrorKind::internal, "generating a " + std::string(key_type_name(type)) + " key"));
  return EvpPkey(k);
}

Result<KeyEncoding> key_encoding(EVP_PKEY* key, bool with_private) {
  KeyEncoding enc;
  auto octets = [key](const char* name) -> std::optional<std::string> {
    size_t len = 0;
    if (!EVP_PKEY_get_octet_string_param(key, name, nullptr, 0, &len)) return std::nullopt;
    std::string out(len, '\0');
    if (!EVP_PKEY_get_octet_string_param(key, name, reinterpret_cast<unsigned char*>(out.data()), len, &len))
      return std::nullopt;
    out.resize(len);
    return out;
  };
  auto bignum = [key](const char* name, int pad = 0) -> std::optional<std::string> {
    BIGNUM* bn = nullptr;
    if (!EVP_PKEY_get_bn_param(key, name, &bn)) return std::nullopt;
    int n = std::max(BN_num_bytes(bn), pad);
    std::string out(static_cast<size_t>(n), '\0');
    BN_bn2binpad(bn, reinterpret_cast<unsigned char*>(out.data()), n);
    BN_clear_free(bn);
    return out;
  };
  auto failed = [] { return fail(ossl_error(ErrorKind::internal, "reading the key's parameters")); };

  switch (EVP_PKEY_get_base_id(key)) {
    case EVP_PKEY_EC: {
      char group[64] = {0};
      size_t glen = 0;
      EVP_PKEY_get_utf8_string_param(key, OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof group, &glen);
      std::string g = curve_display(group);
      int size = 0;
      std::string curve_oid;
      if (g == "P-256") { enc.curve_nid = NID_X9_62_prime256v1; curve_oid = "1.2.840.10045.3.1.7"; size = 32; }
      else if (g == "P-384") { enc.curve_nid = NID_secp384r1; curve_oid = "1.3.132.0.34"; size = 48; }
      else return fail(ErrorKind::internal, "unsupported EC curve " + g);
      enc.algorithm_nid = NID_X9_62_id_ecPublicKey;
      enc.algorithm_identifier = der::sequence({der::oid("1.2.840.10045.2.1"), der::oid(curve_oid)});
      auto pub = octets(OSSL_PKEY_PARAM_PUB_KEY);
      if (!pub) return failed();
      enc.public_key = *pub;
      if (with_private) {
        auto priv = bignum(OSSL_PKEY_PARAM_PRIV_KEY, size);
        if (!priv) return failed();
        // RFC 5915 ECPrivateKey; the curve is in the AlgorithmIdentifier.
        enc.private_key = der::sequence({der::small_integer(1), der::octet_string(*priv),
                                         der::explicit_tag(1, der::bit_string(enc.public_key))});
      }
      break;
    }
    case EVP_PKEY_RSA: {
      enc.algorithm_nid = NID_rsaEncryption;
      enc.algorithm_identifier = der::sequence({der::oid("1.2.840.113549.1.1.1"), der::null()});
      auto n = bignum(OSSL_PKEY_PARAM_RSA_N), e = bignum(OSSL_PKEY_PARAM_RSA_E);
      if (!n || !e) return failed();
      enc.public_key = der::sequence({der::integer(*n), der::integer(*e)});
      if (with_private) {
        auto d = bignum(OSSL_PKEY_PARAM_RSA_D), p = bignum(OSSL_PKEY_PARAM_RSA_FACTOR1),
             q = bignum(OSSL_PKEY_PARAM_RSA_FACTOR2), dp = bignum(OSSL_PKEY_PARAM_RSA_EXPONENT1),
             dq = bignum(OSSL_PKEY_PARAM_RSA_EXPONENT2), qi = bignum(OSSL_PKEY_PARAM_RSA_COEFFICIENT1);
        if (!d || !p || !q || !dp || !dq || !qi) return failed();
        enc.private_key = der::sequence({der::small_integer(0), der::integer(*n), der::integer(*e), der::integer(*d),
                                         der::integer(*p), der::integer(*q), der::integer(*dp), der::integer(*dq),
                                         der::integer(*qi)});
      }
      break;
    }
    case EVP_PKEY_ED25519: {
      enc.algorithm_nid = NID_ED25519;
      enc.algorithm_identifier = der::sequence({der::oid("1.3.101.112")});
      auto pub = octets(OSSL_PKEY_PARAM_PUB_KEY);
      if (!pub) return failed();
      enc.public_key = *pub;
      if (with_private) {
        auto priv = octets(OSSL_PKEY_PARAM_PRIV_KEY);
        if (!priv) return failed();
        enc.private_key = der::octet_string(*priv);  // RFC 8410 CurvePrivateKey
      }
      break;
    }
    default:
      return fail(ErrorKind::internal, "unsupported key type");
  }
  clear_ossl_errors();
  return enc;
}

std::string spki_der(const KeyEncoding& enc) {
  return der::sequence({enc.algorithm_identifier, der::bit_string(enc.public_key)});
}

std::string pkcs8_der(const KeyEncoding& enc) {
  return der::sequence({der::small_integer(0), enc.algorithm_identifier, der::octet_string(enc.private_key)});
}

std::string pem_encode(std::string_view label, std::string_view data) {
  std::string out = "-----BEGIN " + std::string(label) + "-----\n";
  for (size_t off = 0; off < data.size(); off += 48) {
    size_t n = std::min<size_t>(48, data.size() - off);
    unsigned char line[65];
    int m = EVP_EncodeBlock(line, reinterpret_cast<const unsigned char*>(data.data() + off), static_cast<int>(n));
    out.append(reinterpret_cast<char*>(line), static_cast<size_t>(m));
    out += '\n';
  }
  out += "-----END " + std::string(label) + "-----\n";
  return out;
}

Result<std::string> private_key_to_pem(EVP_PKEY* key, const std::optional<std::string>& passphrase) {
  if (!passphrase) {
    // The common case, encoded directly (see der.hpp for why).
    if (auto enc = key_encoding(key, true)) return pem_encode("PRIVATE KEY", pkcs8_der(*enc));
    clear_ossl_errors();
  }
  Bio out(BIO_new(BIO_s_mem()));
  int ok;
  if (passphrase) {
    ok = PEM_write_bio_PKCS8PrivateKey(out.get(), key, EVP_aes_256_cbc(), passphrase->data(),
                                       static_cast<int>(passphrase->size()), nullptr, nullptr);
  } else {
    ok = PEM_write_bio_PKCS8PrivateKey(out.get(), key, nullptr, nullptr, 0, nullptr, nullptr);
  }
  if (!ok) return fail(ossl_error(ErrorKind::internal, "encoding the private key"));
  return bio_to_string(out.get());
}

Result<EvpPkey> load_private_key(std::string_view data, const std::string& source,
                                 const std::optional<std::string>& passphrase) {
  clear_ossl_errors();
  if (data.empty()) return fail(ErrorKind::bad_input, source + ": file is empty");

  const bool pem = looks_like_pem(data);
  bool encrypted = false;
  std::string_view input = data;
  if (pem) {
    // Find the first private-key block; a bundle may hold certificates before it.
    size_t pos = 0;
    std::string first_label = first_pem_label(data);
    bool found = false;
    while ((pos = data.find("-----BEGIN ", pos)) != std::string_view::npos) {
      std::string label = first_pem_label(data.substr(pos));
      if (label.size() >= 11 && label.ends_with("PRIVATE KEY")) {
        input = data.substr(pos);
        encrypted = label == "ENCRYPTED PRIVATE KEY" ||
                    input.substr(0, 200).find("Proc-Type: 4,ENCRYPTED") != std::string_view::npos;
        found = true;
        break;
      }
      pos += 11;
    }
    if (!found) {
      if (first_label == "CERTIFICATE REQUEST" || first_label == "NEW CERTIFICATE REQUEST")
        return fail(ErrorKind::bad_input, source + ": is a certificate signing request, not a private key");
      if (first_label.find("CERTIFICATE") != std::string::npos)
        return fail(ErrorKind::bad_input, source + ": is a certificate, not a private key");
      if (first_label == "PUBLIC KEY")
        return fail(ErrorKind::bad_input, source + ": is a public key, not a private key");
      return fail(ErrorKind::bad_input, source + ": no private key found (PEM block '" + first_label + "')");
    }
  } else {
    // DER: is it an encrypted PKCS#8 structure?
    const unsigned char* p = reinterpret_cast<const unsigned char*>(data.data());
    X509_SIG* sig = d2i_X509_SIG(nullptr, &p, static_cast<long>(data.size()));
    if (sig) {
      encrypted = true;
      X509_SIG_free(sig);
    }
    clear_ossl_errors();
  }

  if (encrypted && !passphrase)
    return fail(util::Error(ErrorKind::bad_input, source + ": the private key is encrypted")
                    .with_hint("give its passphrase with --passphrase-file FILE"));

  EVP_PKEY* pkey = nullptr;
  std::unique_ptr<OSSL_DECODER_CTX, Deleter<OSSL_DECODER_CTX_free>> dctx(OSSL_DECODER_CTX_new_for_pkey(
      &pkey, pem ? "PEM" : "DER", nullptr, nullptr, EVP_PKEY_KEYPAIR, nullptr, nullptr));
  if (!dctx) return fail(ossl_error(ErrorKind::internal, source + ": setting up the key decoder"));
  if (passphrase) {
    OSSL_DECODER_CTX_set_passphrase(dctx.get(), reinterpret_cast<const unsigned char*>(passphrase->data()),
                                    passphrase->size());
  } else {
    OSSL_DECODER_CTX_set_pem_password_cb(dctx.get(), no_passphrase_cb, nullptr);
  }
  const unsigned char* p = reinterpret_cast<const unsigned char*>(input.data());
  size_t len = input.size();
  if (!OSSL_DECODER_from_data(dctx.get(), &p, &len) || !pkey) {
    clear_ossl_errors();
    if (encrypted) return fail(ErrorKind::bad_input, source + ": wrong passphrase, or the key is damaged");
    if (pem) return fail(ErrorKind::bad_input, source + ": the private key PEM is damaged or truncated");
    // Say what it is when it is a DER certificate or CSR.
    const unsigned char* q = reinterpret_cast<const unsigned char*>(data.data());
    if (X509* x = d2i_X509(nullptr, &q, static_cast<long>(data.size()))) {
      X509_free(x);
      clear_ossl_errors();
      return fail(ErrorKind::bad_input, source + ": is a certificate, not a private key");
    }
    clear_ossl_errors();
    return fail(ErrorKind::bad_input, source + ": not a private key (neither PEM nor DER)");
  }
  return EvpPkey(pkey);
}

std::string KeyInfo::description() const {
  if (algorithm == "EC") return "EC " + curve;
  if (algorithm == "RSA") return "RSA " + std::to_string(bits);
  return algorithm;
}

KeyInfo key_info(EVP_PKEY* key) {
  KeyInfo info;
  info.bits = EVP_PKEY_get_bits(key);
  switch (EVP_PKEY_get_base_id(key)) {
    case EVP_PKEY_EC: {
      info.algorithm = "EC";
      char group[64] = {0};
      size_t glen = 0;
      if (EVP_PKEY_get_utf8_string_param(key, OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof group, &glen))
        info.curve = curve_display(group);
      if (info.curve == "P-256") info.type_name = "ec-p256";
      if (info.curve == "P-384") info.type_name = "ec-p384";
      break;
    }
    case EVP_PKEY_RSA:
    case EVP_PKEY_RSA_PSS:
      info.algorithm = "RSA";
      if (info.bits == 2048 || info.bits == 3072 || info.bits == 4096)
        info.type_name = "rsa-" + std::to_string(info.bits);
      break;
    case EVP_PKEY_ED25519:
      info.algorithm = "Ed25519";
      info.type_name = "ed25519";
      break;
    case EVP_PKEY_ED448: info.algorithm = "Ed448"; break;
    default: {
      const char* n = EVP_PKEY_get0_type_name(key);
      info.algorithm = n ? n : "unknown";
    }
  }
  std::string spki;
  if (auto enc = key_encoding(key, false)) {
    spki = spki_der(*enc);
  } else {
    clear_ossl_errors();
    unsigned char* der = nullptr;
    int n = i2d_PUBKEY(key, &der);
    if (n > 0) spki.assign(reinterpret_cast<char*>(der), static_cast<size_t>(n));
    OPENSSL_free(der);
  }
  std::string digest = sha256(spki);
  info.spki_sha256 = hex(reinterpret_cast<const unsigned char*>(digest.data()), digest.size());
  return info;
}

}  // namespace certroute::crypto
