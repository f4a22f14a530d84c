// Private keys: the supported types, generation, PEM in and out, inspection.
#pragma once

#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "core/crypto/ossl.hpp"
#include "core/util/error.hpp"

namespace certroute::crypto {

enum class KeyType { ec_p256, ec_p384, rsa_2048, rsa_3072, rsa_4096, ed25519 };

struct KeyTypeInfo {
  KeyType type;
  std::string_view name;         // as on the command line: "ec-p256"
  std::string_view description;  // one line for --help and the man page
};

// The one table of key types: feeds parsing, --help, man page and completions.
std::span<const KeyTypeInfo> key_types();
std::optional<KeyType> parse_key_type(std::string_view name);
std::string_view key_type_name(KeyType type);
inline constexpr KeyType default_key_type = KeyType::ec_p256;

Result<EvpPkey> generate_key(KeyType type);

// PKCS#8 PEM; encrypted with AES-256-CBC when a passphrase is given.
Result<std::string> private_key_to_pem(EVP_PKEY* key, const std::optional<std::string>& passphrase);

// Loads a private key from PEM (the first private-key block of a bundle) or
// DER, plain or encrypted. `source` names the input in error messages.
// Errors are bad_input: empty, garbage, a certificate or CSR instead of a key,
// encrypted without a passphrase, wrong passphrase.
Result<EvpPkey> load_private_key(std::string_view data, const std::string& source,
                                 const std::optional<std::string>& passphrase);

// The parts of a key the project encodes itself (see der.hpp).
struct KeyEncoding {
  int algorithm_nid = 0;  // NID_X9_62_id_ecPublicKey, NID_rsaEncryption, NID_ED25519
  int curve_nid = 0;      // for EC keys
  std::string algorithm_identifier;  // DER AlgorithmIdentifier
  std::string public_key;            // the subjectPublicKey bits (EC point, RSAPublicKey, raw Ed25519)
  std::string private_key;           // the PKCS#8 privateKey content (empty for public-only keys)
};

// Extracts the encoding of an EC (P-256/P-384), RSA or Ed25519 key;
// `internal` error for other key types.
Result<KeyEncoding> key_encoding(EVP_PKEY* key, bool with_private);

// DER SubjectPublicKeyInfo and unencrypted PKCS#8 PrivateKeyInfo.
std::string spki_der(const KeyEncoding& enc);
std::string pkcs8_der(const KeyEncoding& enc);

// PEM armour around DER: 64-character base64 lines.
std::string pem_encode(std::string_view label, std::string_view der);

struct KeyInfo {
  std::string algorithm;      // "EC", "RSA", "Ed25519", "Ed448"
  std::string curve;          // "P-256", "P-384", "P-521" for EC keys, else ""
  int bits = 0;               // key size in bits
  std::string type_name;      // the matching key type name ("ec-p256"), or "" if none
  std::string spki_sha256;    // hex SHA-256 of the DER SubjectPublicKeyInfo
  std::string description() const;  // "EC P-256", "RSA 2048"
};

KeyInfo key_info(EVP_PKEY* key);

}  // namespace certroute::crypto
