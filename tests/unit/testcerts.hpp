// Test helper: builds certificates in memory with OpenSSL, so unit tests
// control names, validity and issuers exactly.
#pragma once

#include <chrono>
#include <openssl/pem.h>
#include <string>
#include <vector>

#include "core/crypto/key.hpp"

namespace testcerts {

using namespace certroute::crypto;

struct Spec {
  std::string cn;
  std::vector<std::string> dns;
  std::vector<std::string> ips;
  std::chrono::seconds not_before_offset{-3600};
  std::chrono::seconds not_after_offset{std::chrono::hours(24 * 90)};
  bool ca = false;
};

inline EvpPkey key() { return std::move(*generate_key(KeyType::ec_p256)); }

// Signs a certificate for `subject_key` with `issuer_key`; `issuer` null = self-signed.
inline X509Ptr make(const Spec& s, EVP_PKEY* subject_key, EVP_PKEY* issuer_key, X509* issuer) {
  X509Ptr x(X509_new());
  X509_set_version(x.get(), 2);
  static long serial = 1000;
  ASN1_INTEGER_set(X509_get_serialNumber(x.get()), ++serial);
  X509_gmtime_adj(X509_getm_notBefore(x.get()), s.not_before_offset.count());
  X509_gmtime_adj(X509_getm_notAfter(x.get()), s.not_after_offset.count());
  X509_NAME* name = X509_get_subject_name(x.get());
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8, reinterpret_cast<const unsigned char*>(s.cn.c_str()), -1, -1, 0);
  X509_set_issuer_name(x.get(), issuer ? X509_get_subject_name(issuer) : name);
  X509_set_pubkey(x.get(), subject_key);
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, issuer ? issuer : x.get(), x.get(), nullptr, nullptr, 0);
  std::string san;
  for (const auto& d : s.dns) san += (san.empty() ? "" : ",") + std::string("DNS:") + d;
  for (const auto& i : s.ips) san += (san.empty() ? "" : ",") + std::string("IP:") + i;
  if (!san.empty()) {
    X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, NID_subject_alt_name, san.c_str());
    X509_add_ext(x.get(), ext, -1);
    X509_EXTENSION_free(ext);
  }
  if (s.ca) {
    X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, NID_basic_constraints, "critical,CA:TRUE");
    X509_add_ext(x.get(), ext, -1);
    X509_EXTENSION_free(ext);
  }
  X509_sign(x.get(), issuer_key, EVP_sha256());
  return x;
}

inline std::string pem(X509* x) {
  Bio b(BIO_new(BIO_s_mem()));
  PEM_write_bio_X509(b.get(), x);
  return bio_to_string(b.get());
}

inline std::string der(X509* x) {
  unsigned char* p = nullptr;
  int n = i2d_X509(x, &p);
  std::string r(reinterpret_cast<char*>(p), static_cast<size_t>(n));
  OPENSSL_free(p);
  return r;
}

}  // namespace testcerts
