// tls-alpn-01 (RFC 8737; IP identifiers RFC 8738 §6): a built-in TLS
// listener that, for a ClientHello offering only "acme-tls/1", presents a
// self-signed certificate for the identifier carrying the critical
// id-pe-acmeIdentifier extension with SHA-256(key authorization).
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <fcntl.h>
#include <openssl/err.h>
#include <cstring>
#include <map>
#include <mutex>
#include <thread>

#include <openssl/ssl.h>

#include "core/acme/listener.hpp"
#include "core/acme/solver.hpp"
#include "core/crypto/der.hpp"
#include "core/crypto/key.hpp"

namespace certroute::acme {
using util::ErrorKind;
using util::fail;

namespace {

constexpr unsigned char kAlpn[] = "acme-tls/1";

// The SNI name a validator sends for an identifier: the name itself, or the
// reverse-mapping name for an IP address (RFC 8738 §6).
std::string sni_for(const Identifier& id) {
  if (id.type != "ip") return id.value;
  unsigned char buf[16];
  if (inet_pton(AF_INET, id.value.c_str(), buf) == 1) {
    return std::to_string(buf[3]) + "." + std::to_string(buf[2]) + "." + std::to_string(buf[1]) + "." +
           std::to_string(buf[0]) + ".in-addr.arpa";
  }
  if (inet_pton(AF_INET6, id.value.c_str(), buf) == 1) {
    static const char* hex = "0123456789abcdef";
    std::string s;
    for (int i = 15; i >= 0; --i) {
      s += hex[buf[i] & 15];
      s += '.';
      s += hex[buf[i] >> 4];
      s += '.';
    }
    return s + "ip6.arpa";
  }
  return id.value;
}

struct ChallengeCert {
  crypto::X509Ptr cert;
};

Result<crypto::X509Ptr> make_challenge_cert(EVP_PKEY* key, const Identifier& id, const std::string& key_authz) {
  crypto::X509Ptr x(X509_new());
  X509_set_version(x.get(), 2);
  ASN1_INTEGER_set(X509_get_serialNumber(x.get()), 1);
  X509_gmtime_adj(X509_getm_notBefore(x.get()), -3600);
  X509_gmtime_adj(X509_getm_notAfter(x.get()), 7 * 86400);
  X509_NAME* name = X509_get_subject_name(x.get());
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8, reinterpret_cast<const unsigned char*>("certroute tls-alpn-01"),
                             -1, -1, 0);
  X509_set_issuer_name(x.get(), name);
  X509_set_pubkey(x.get(), key);

  GENERAL_NAMES* sans = sk_GENERAL_NAME_new_null();
  GENERAL_NAME* gn = GENERAL_NAME_new();
  if (id.type == "ip") {
    unsigned char buf[16];
    int len = inet_pton(AF_INET, id.value.c_str(), buf) == 1 ? 4 : (inet_pton(AF_INET6, id.value.c_str(), buf) == 1 ? 16 : 0);
    ASN1_OCTET_STRING* os = ASN1_OCTET_STRING_new();
    ASN1_OCTET_STRING_set(os, buf, len);
    GENERAL_NAME_set0_value(gn, GEN_IPADD, os);
  } else {
    ASN1_IA5STRING* s = ASN1_IA5STRING_new();
    ASN1_STRING_set(s, id.value.data(), static_cast<int>(id.value.size()));
    GENERAL_NAME_set0_value(gn, GEN_DNS, s);
  }
  sk_GENERAL_NAME_push(sans, gn);
  X509_add1_ext_i2d(x.get(), NID_subject_alt_name, sans, 0, X509V3_ADD_DEFAULT);
  GENERAL_NAMES_free(sans);

  // id-pe-acmeIdentifier (1.3.6.1.5.5.7.1.31), critical, extnValue =
  // DER(OCTET STRING (SHA-256(key authorization))).
  std::string digest = crypto::sha256(key_authz);
  std::string value = crypto::der::octet_string(digest);
  ASN1_OBJECT* oid = OBJ_txt2obj("1.3.6.1.5.5.7.1.31", 1);
  ASN1_OCTET_STRING* data = ASN1_OCTET_STRING_new();
  ASN1_OCTET_STRING_set(data, reinterpret_cast<const unsigned char*>(value.data()), static_cast<int>(value.size()));
  X509_EXTENSION* ext = X509_EXTENSION_create_by_OBJ(nullptr, oid, 1, data);
  X509_add_ext(x.get(), ext, -1);
  X509_EXTENSION_free(ext);
  ASN1_OCTET_STRING_free(data);
  ASN1_OBJECT_free(oid);

  if (X509_sign(x.get(), key, EVP_sha256()) <= 0)
    return fail(crypto::ossl_error(ErrorKind::internal, "tls-alpn-01: signing the challenge certificate"));
  return x;
}

class TlsAlpn01Server final : public Solver {
 public:
  explicit TlsAlpn01Server(int port) : port_(port) {}
  ~TlsAlpn01Server() override {
    loop_.stop();
    if (ctx_) SSL_CTX_free(ctx_);
  }
  std::string_view type() const override { return "tls-alpn-01"; }

  Result<void> start() override {
    auto k = crypto::generate_key(crypto::KeyType::ec_p256);
    if (!k) return fail(std::move(k.error()));
    key_ = std::move(*k);
    ctx_ = SSL_CTX_new(TLS_server_method());
    if (!ctx_) return fail(crypto::ossl_error(ErrorKind::internal, "tls-alpn-01: SSL_CTX_new"));
    SSL_CTX_set_min_proto_version(ctx_, TLS1_2_VERSION);
    SSL_CTX_set_alpn_select_cb(ctx_, &TlsAlpn01Server::select_alpn, this);
    SSL_CTX_set_client_hello_cb(ctx_, &TlsAlpn01Server::client_hello, this);

    auto fd = listen_any(port_, "tls-alpn-01", "choose --tls-alpn-port");
    if (!fd) return fail(std::move(fd.error()));
    return loop_.start(*fd, [this](int c) { handle(c); });
  }

  Result<void> present(const Identifier& id, const std::string&, const std::string& key_authz) override {
    auto cert = make_challenge_cert(key_.get(), id, key_authz);
    if (!cert) return fail(std::move(cert.error()));
    std::lock_guard lock(mu_);
    certs_[lower(sni_for(id))] = std::move(*cert);
    return {};
  }

  void cleanup(const Identifier& id, const std::string&, const std::string&) override {
    std::lock_guard lock(mu_);
    certs_.erase(lower(sni_for(id)));
  }

 private:
  static std::string lower(std::string s) {
    for (auto& c : s)
      if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    return s;
  }

  static int select_alpn(SSL*, const unsigned char** out, unsigned char* outlen, const unsigned char* in,
                         unsigned int inlen, void*) {
    // Answer only the acme-tls/1 protocol (RFC 8737 §3).
    for (unsigned int i = 0; i < inlen;) {
      unsigned int len = in[i];
      if (i + 1 + len > inlen) break;
      if (len == sizeof kAlpn - 1 && std::memcmp(in + i + 1, kAlpn, len) == 0) {
        *out = in + i + 1;
        *outlen = static_cast<unsigned char>(len);
        return SSL_TLSEXT_ERR_OK;
      }
      i += 1 + len;
    }
    return SSL_TLSEXT_ERR_ALERT_FATAL;
  }

  static int client_hello(SSL* ssl, int* alert, void* arg) {
    auto* self = static_cast<TlsAlpn01Server*>(arg);
    const unsigned char* ext = nullptr;
    size_t len = 0;
    std::string sni;
    // server_name extension: list length(2) type(1) name length(2) name
    if (SSL_client_hello_get0_ext(ssl, TLSEXT_TYPE_server_name, &ext, &len) && len > 5 && ext[2] == 0) {
      size_t n = (static_cast<size_t>(ext[3]) << 8) | ext[4];
      if (5 + n <= len) sni.assign(reinterpret_cast<const char*>(ext + 5), n);
    }
    std::lock_guard lock(self->mu_);
    auto it = self->certs_.find(lower(sni));
    if (it == self->certs_.end()) {
      *alert = SSL_AD_UNRECOGNIZED_NAME;
      return SSL_CLIENT_HELLO_ERROR;
    }
    SSL_use_certificate(ssl, it->second.get());
    SSL_use_PrivateKey(ssl, self->key_.get());
    return SSL_CLIENT_HELLO_SUCCESS;
  }

  void handle(int c) {
    SSL* ssl = SSL_new(ctx_);
    SSL_set_fd(ssl, c);
    if (SSL_accept(ssl) == 1) SSL_shutdown(ssl);
    SSL_free(ssl);
    ERR_clear_error();
  }

  int port_;
  SSL_CTX* ctx_ = nullptr;
  crypto::EvpPkey key_;
  std::mutex mu_;
  std::map<std::string, crypto::X509Ptr> certs_;
  AcceptLoop loop_;
};

}  // namespace

std::unique_ptr<Solver> make_tlsalpn01_solver(const TlsAlpn01Options& options) {
  return std::make_unique<TlsAlpn01Server>(options.port);
}

namespace {
constexpr ChallengeTypeInfo kChallengeTypes[] = {
    {"http-01", "HTTP on port 80 (built-in server, or files in --webroot)"},
    {"dns-01", "a TXT record set by --dns-hook (the only way to get wildcards)"},
    {"tls-alpn-01", "TLS on port 443 with ALPN acme-tls/1 (built-in listener)"},
};
}  // namespace

std::span<const ChallengeTypeInfo> challenge_types() { return kChallengeTypes; }

}  // namespace certroute::acme
