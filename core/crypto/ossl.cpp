#include "core/crypto/ossl.hpp"

#include <openssl/err.h>

namespace certroute::crypto {

util::Error ossl_error(util::ErrorKind kind, const std::string& what) {
  std::string reason;
  unsigned long code;
  // The first error is usually the root cause; later ones are callers' context.
  while ((code = ERR_get_error()) != 0) {
    if (reason.empty()) {
      const char* r = ERR_reason_error_string(code);
      reason = r ? r : "unknown OpenSSL error";
    }
  }
  if (reason.empty()) reason = "failed";
  return util::Error(kind, what + ": " + reason);
}

void clear_ossl_errors() { ERR_clear_error(); }

Bio mem_bio(std::string_view data) {
  return Bio(BIO_new_mem_buf(data.data(), static_cast<int>(data.size())));
}

std::string bio_to_string(BIO* bio) {
  char* p = nullptr;
  long n = BIO_get_mem_data(bio, &p);
  return n > 0 ? std::string(p, static_cast<size_t>(n)) : std::string();
}

std::string hex(const unsigned char* data, size_t len, char sep, bool upper) {
  static const char lo[] = "0123456789abcdef";
  static const char up[] = "0123456789ABCDEF";
  const char* digits = upper ? up : lo;
  std::string out;
  out.reserve(len * 3);
  for (size_t i = 0; i < len; ++i) {
    if (sep && i) out += sep;
    out += digits[data[i] >> 4];
    out += digits[data[i] & 15];
  }
  return out;
}

std::string sha256(std::string_view data) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  EVP_Digest(data.data(), data.size(), md, &n, EVP_sha256(), nullptr);
  return std::string(reinterpret_cast<char*>(md), n);
}

bool looks_like_pem(std::string_view data) { return data.find("-----BEGIN ") != std::string_view::npos; }

std::string first_pem_label(std::string_view data) {
  auto p = data.find("-----BEGIN ");
  if (p == std::string_view::npos) return {};
  p += 11;
  auto e = data.find("-----", p);
  if (e == std::string_view::npos) return {};
  return std::string(data.substr(p, e - p));
}

}  // namespace certroute::crypto
