// TLS termination: Traefik's tls section turned into OpenSSL contexts once,
// then per connection only a look-up and a context switch.
//
// How a handshake is served. Every SSL is created from the initial context.
// Its ClientHello callback (it runs before version negotiation, session
// resumption and cipher selection, and also when the client sent no SNI)
// reads the SNI, picks the TLS options (by the routers' hosts) and the
// certificate (exact name, wildcard, default), and switches the SSL to the
// context built for that (options, certificate) pair with SSL_set_SSL_CTX.
// The switch brings the certificate and chain, the cipher lists, the security
// level, the client-CA verify store and the session id context. What OpenSSL
// copied into the SSL at SSL_new (protocol versions, groups, verify mode, the
// CA names sent in CertificateRequest, SSL_OP_NO_TICKET) is set on the SSL
// only when the options are not the default ones, which the initial context
// carries already; so a handshake on the default options costs one hash
// look-up and one context switch.
//
// Session tickets are sealed and opened with the keys of the SSL's session
// context, which SSL_set_SSL_CTX never changes: the initial context. So one
// store has one ticket key set, shared by every context and every worker
// thread. The session id context differs per TLS options, so a session made
// under one options set (say without client authentication) is never resumed
// under another.
//
// Lifetime: the state the callbacks read is owned by the initial context
// (ex_data with a free function). An SSL holds a reference to the initial
// context (its session context) as long as it lives, so a connection still
// handshaking after a reload dropped the store keeps its state alive.
#include "core/proxy/tls.hpp"

#include <arpa/inet.h>
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include <algorithm>
#include <array>
#include <cstring>
#include <optional>
#include <string_view>
#include <unordered_map>
#include <utility>

#include "core/crypto/ossl.hpp"
#include "core/routes/gocompat.hpp"
#include "core/util/deleter.hpp"
#include "core/util/file.hpp"

namespace certroute::proxy {

namespace {

using routes::Code;
using routes::Diagnostics;
using routes::DocNode;
using routes::Pos;

using util::Deleter;
using crypto::X509Ptr;
using PkeyPtr = crypto::EvpPkey;
using SslCtxPtr = std::unique_ptr<SSL_CTX, Deleter<SSL_CTX_free>>;
using StorePtr = std::unique_ptr<X509_STORE, Deleter<X509_STORE_free>>;
using BnPtr = std::unique_ptr<BIGNUM, Deleter<BN_free>>;
using NamesPtr = std::unique_ptr<STACK_OF(X509_NAME), Deleter<+[](STACK_OF(X509_NAME)* s) {
  sk_X509_NAME_pop_free(s, X509_NAME_free);
}>>;

constexpr const char* kDefaultCertCn = "CERTROUTE DEFAULT CERT";

// ---- the tables ------------------------------------------------------------------

// Go's cipher suite names (the ones Traefik accepts) and OpenSSL's: the table
// of gocompat. An empty OpenSSL name: accepted and ignored (OpenSSL handles the
// fallback SCSV by itself).
using CipherName = routes::gocompat::CipherSuite;

// Traefik's default cipher suites (Go's tls.CipherSuites(), the ones not
// marked insecure) for TLS 1.0-1.2, and TLS 1.3's three.
constexpr const char* kDefaultCiphers12 =
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"
    "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"
    "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305:"
    "ECDHE-ECDSA-AES128-SHA:ECDHE-RSA-AES128-SHA:ECDHE-ECDSA-AES256-SHA:ECDHE-RSA-AES256-SHA:"
    "AES128-GCM-SHA256:AES256-GCM-SHA384:AES128-SHA:AES256-SHA";
constexpr const char* kDefaultCiphers13 = "TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256";

using CurveName = routes::gocompat::Curve;
constexpr const char* kDefaultGroups = "X25519:P-256:P-384:P-521";

struct VersionName {
  std::string_view name;
  int version;
};
constexpr VersionName kVersions[] = {
    {"VersionTLS10", TLS1_VERSION},
    {"VersionTLS11", TLS1_1_VERSION},
    {"VersionTLS12", TLS1_2_VERSION},
    {"VersionTLS13", TLS1_3_VERSION},
};

// clientAuthType: the verify mode, whether any certificate is accepted
// unverified, and whether caFiles are required.
struct ClientAuthType {
  std::string_view name;
  int mode;
  bool accept_any;
  bool needs_ca;
};
constexpr ClientAuthType kClientAuthTypes[] = {
    {"NoClientCert", SSL_VERIFY_NONE, false, false},
    {"RequestClientCert", SSL_VERIFY_PEER, true, false},
    {"RequireAnyClientCert", SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, true, false},
    {"VerifyClientCertIfGiven", SSL_VERIFY_PEER, false, true},
    {"RequireAndVerifyClientCert", SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, false, true},
};

// ---- small helpers -----------------------------------------------------------

// Drains OpenSSL's error queue; the last reason, or `fallback`.
std::string ossl_reason(std::string fallback = "OpenSSL error") {
  std::string why;
  while (unsigned long e = ERR_get_error()) {
    if (const char* r = ERR_reason_error_string(e)) why = r;
  }
  return why.empty() ? fallback : why;
}

std::string quote(std::string_view s) { return "'" + std::string(s) + "'"; }

char ascii_lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

// Lower-case, without trailing dots: how names are compared.
std::string normalise_name(std::string_view s) {
  while (!s.empty() && s.back() == '.') s.remove_suffix(1);
  std::string out(s);
  for (char& c : out) c = ascii_lower(c);
  return out;
}

// A scalar's text, or nullptr for anything else (and for templated values,
// which the loader reports and the proxy cannot evaluate).
const std::string* scalar(const DocNode& n) {
  if (!n.is_scalar() || n.templated) return nullptr;
  return &n.text;
}

bool is_true(const DocNode& n) {
  const std::string* s = scalar(n);
  return s && normalise_name(*s) == "true";
}

// A PEM value is inline when it holds a PEM header, otherwise it is a path.
bool is_inline_pem(const std::string& v) { return v.find("-----BEGIN") != std::string::npos; }
std::string describe(const std::string& v) { return is_inline_pem(v) ? "inline PEM" : quote(v); }

std::optional<std::string> read_pem_value(const std::string& v, std::string& why) {
  if (is_inline_pem(v)) return v;
  auto r = util::read_file(v);
  if (!r) {
    why = r.error().message();
    return std::nullopt;
  }
  return std::move(*r);
}

int no_passphrase(char*, int, int, void*) { return -1; }  // never prompt on a terminal

std::vector<X509Ptr> read_certs(const std::string& pem) {
  std::vector<X509Ptr> out;
  crypto::Bio bio = crypto::mem_bio(pem);
  if (!bio) return out;
  while (X509* x = PEM_read_bio_X509(bio.get(), nullptr, no_passphrase, nullptr)) out.emplace_back(x);
  ERR_clear_error();  // the loop ends on "no start line"
  return out;
}

// ---- certificates --------------------------------------------------------------

struct Certificate {
  X509Ptr leaf;
  std::vector<X509Ptr> chain;
  PkeyPtr key;
  std::string cn;
  std::vector<std::string> names;  // DNS and IP SANs (the CN when there are none), normalised
};

void fill_names(Certificate& c) {
  X509_NAME* subject = X509_get_subject_name(c.leaf.get());
  int i = subject ? X509_NAME_get_index_by_NID(subject, NID_commonName, -1) : -1;
  if (i >= 0) {
    unsigned char* utf8 = nullptr;
    int n = ASN1_STRING_to_UTF8(&utf8, X509_NAME_ENTRY_get_data(X509_NAME_get_entry(subject, i)));
    if (n >= 0) c.cn.assign(reinterpret_cast<char*>(utf8), static_cast<std::size_t>(n));
    OPENSSL_free(utf8);
  }
  auto* gens = static_cast<GENERAL_NAMES*>(X509_get_ext_d2i(c.leaf.get(), NID_subject_alt_name, nullptr, nullptr));
  for (int k = 0; gens && k < sk_GENERAL_NAME_num(gens); ++k) {
    const GENERAL_NAME* g = sk_GENERAL_NAME_value(gens, k);
    if (g->type == GEN_DNS) {
      const ASN1_STRING* s = g->d.dNSName;
      c.names.push_back(normalise_name(
          std::string_view(reinterpret_cast<const char*>(ASN1_STRING_get0_data(s)), static_cast<std::size_t>(ASN1_STRING_length(s)))));
    } else if (g->type == GEN_IPADD) {
      const ASN1_OCTET_STRING* s = g->d.iPAddress;
      char buf[INET6_ADDRSTRLEN] = {};
      int len = ASN1_STRING_length(s);
      int af = len == 4 ? AF_INET : len == 16 ? AF_INET6 : 0;
      if (af && inet_ntop(af, ASN1_STRING_get0_data(s), buf, sizeof buf)) c.names.emplace_back(buf);
    }
  }
  GENERAL_NAMES_free(gens);
  if (c.names.empty() && !c.cn.empty()) c.names.push_back(normalise_name(c.cn));
}

// Loads a certificate and its key from paths or inline PEM. Reports problems
// (code tls_certificate) at the value's position and returns nullopt.
std::optional<Certificate> load_certificate(const std::string& cert_value, Pos cert_pos, const std::string& key_value,
                                            Pos key_pos, Diagnostics& diags) {
  const std::string skip;  // the proxy refuses a configuration whose certificates do not load
  std::string why;
  auto cert_pem = read_pem_value(cert_value, why);
  if (!cert_pem) {
    diags.add(Code::tls_certificate, cert_pos, "certFile: " + why + skip);
    return std::nullopt;
  }
  auto certs = read_certs(*cert_pem);
  if (certs.empty()) {
    diags.add(Code::tls_certificate, cert_pos, "certFile: " + describe(cert_value) + " does not hold a PEM certificate" + skip);
    return std::nullopt;
  }
  auto key_pem = read_pem_value(key_value, why);
  if (!key_pem) {
    diags.add(Code::tls_certificate, key_pos, "keyFile: " + why + skip);
    return std::nullopt;
  }
  crypto::Bio bio = crypto::mem_bio(*key_pem);
  PkeyPtr key(bio ? PEM_read_bio_PrivateKey(bio.get(), nullptr, no_passphrase, nullptr) : nullptr);
  if (!key) {
    diags.add(Code::tls_certificate, key_pos,
              "keyFile: " + describe(key_value) + " does not hold an unencrypted PEM private key (" + ossl_reason() + ")" + skip);
    return std::nullopt;
  }
  Certificate c;
  c.leaf = std::move(certs.front());
  for (std::size_t i = 1; i < certs.size(); ++i) c.chain.push_back(std::move(certs[i]));
  c.key = std::move(key);
  if (X509_check_private_key(c.leaf.get(), c.key.get()) != 1) {
    ERR_clear_error();
    diags.add(Code::tls_certificate, key_pos, "keyFile: the private key does not match the certificate in certFile" + skip);
    return std::nullopt;
  }
  fill_names(c);
  return c;
}

// The certificate served when nothing else is (Traefik generates "TRAEFIK
// DEFAULT CERT"): self-signed, EC P-256, valid for a year.
std::optional<Certificate> generate_default_certificate(std::string& why) {
  Certificate c;
  c.key.reset(EVP_EC_gen("P-256"));
  c.leaf.reset(X509_new());
  BnPtr serial(BN_new());
  if (!c.key || !c.leaf || !serial || !BN_rand(serial.get(), 127, BN_RAND_TOP_ANY, BN_RAND_BOTTOM_ANY)) {
    why = ossl_reason();
    return std::nullopt;
  }
  X509* x = c.leaf.get();
  X509_NAME* name = X509_get_subject_name(x);
  bool ok = X509_set_version(x, 2) && BN_to_ASN1_INTEGER(serial.get(), X509_get_serialNumber(x)) &&
            X509_gmtime_adj(X509_getm_notBefore(x), -3600) && X509_gmtime_adj(X509_getm_notAfter(x), 365L * 24 * 3600) &&
            X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8, reinterpret_cast<const unsigned char*>(kDefaultCertCn), -1,
                                       -1, 0) &&
            X509_set_issuer_name(x, name) && X509_set_pubkey(x, c.key.get()) && X509_sign(x, c.key.get(), EVP_sha256()) > 0;
  if (!ok) {
    why = ossl_reason();
    return std::nullopt;
  }
  c.cn = kDefaultCertCn;
  return c;
}

// ---- TLS options ----------------------------------------------------------------

struct Options {
  std::string name;  // as written; "default" for the built-in default
  int min_version = TLS1_2_VERSION;
  int max_version = 0;  // 0: the highest OpenSSL supports
  std::string ciphers12 = kDefaultCiphers12;
  std::string ciphers13 = kDefaultCiphers13;
  std::string groups = kDefaultGroups;
  bool sni_strict = false;
  bool no_tickets = false;
  bool alpn_http11 = true;  // http/1.1 is among the ALPN protocols offered
  int verify_mode = SSL_VERIFY_NONE;
  bool verify_any = false;  // RequestClientCert, RequireAnyClientCert: any certificate, unverified
  StorePtr ca_store;
  NamesPtr ca_names;
  std::array<unsigned char, SSL_MAX_SID_CTX_LENGTH> sid{};
  bool used = false;
  std::vector<SslCtxPtr> ctxs;  // when used: one per certificate (index as State::certs)
};

int accept_any_certificate(int, X509_STORE_CTX*) { return 1; }

// Scratch context for checking that OpenSSL knows a cipher or group.
struct Probe {
  SslCtxPtr ctx{SSL_CTX_new(TLS_server_method())};
  bool cipher(const std::string& name, bool tls13) {
    bool ok = ctx && (tls13 ? SSL_CTX_set_ciphersuites(ctx.get(), name.c_str()) : SSL_CTX_set_cipher_list(ctx.get(), name.c_str()));
    ERR_clear_error();
    return ok;
  }
  bool group(const std::string& name) {
    bool ok = ctx && SSL_CTX_set1_groups_list(ctx.get(), name.c_str());
    ERR_clear_error();
    return ok;
  }
};

std::string join(const std::vector<std::string>& v) {
  std::string out;
  for (const auto& s : v) out += (out.empty() ? "" : ":") + s;
  return out;
}

template <typename Table>
std::string allowed(const Table& t) {
  std::string out;
  for (const auto& e : t) out += (out.empty() ? "" : ", ") + std::string(e.go);
  return out;
}

std::string version_list() {
  std::string out;
  for (const auto& v : kVersions) out += (out.empty() ? "" : ", ") + std::string(v.name);
  return out;
}

// One version field; 0 when unset or invalid (reported).
int parse_version(const DocNode& v, const char* field, Diagnostics& diags) {
  const std::string* s = scalar(v);
  if (!s || s->empty()) return 0;
  for (const auto& k : kVersions)
    if (k.name == *s) return k.version;
  diags.add(Code::invalid_value, v.pos, std::string(field) + ": unknown TLS version " + quote(*s), "use one of " + version_list());
  return 0;
}

void parse_cipher_suites(const DocNode& list, Options& o, Probe& probe, Diagnostics& diags) {
  if (!list.is_sequence()) return;
  std::vector<std::string> v12, v13;
  for (const auto& item : list.items) {
    const std::string* s = scalar(item);
    if (!s) continue;
    const CipherName* found = routes::gocompat::find_cipher_suite(*s);
    if (!found) {
      diags.add(Code::invalid_value, item.pos, "cipherSuites: unknown cipher suite " + quote(*s),
                "use Go's names, one of " + allowed(routes::gocompat::cipher_suites()));
      continue;
    }
    if (found->openssl.empty()) continue;
    std::string name(found->openssl);
    if (!probe.cipher(name, found->tls13)) {
      diags.add(Code::unsupported_by_proxy, item.pos,
                "cipherSuites: " + quote(*s) + " is not available in this OpenSSL build (it is insecure and disabled)",
                "remove it from the list");
      continue;
    }
    auto& dst = found->tls13 ? v13 : v12;
    if (std::find(dst.begin(), dst.end(), name) == dst.end()) dst.push_back(name);
  }
  // A list naming suites of one family leaves the other family at its default.
  if (!v12.empty()) o.ciphers12 = join(v12);
  if (!v13.empty()) o.ciphers13 = join(v13);
}

void parse_curves(const DocNode& list, Options& o, Probe& probe, Diagnostics& diags) {
  if (!list.is_sequence()) return;
  std::vector<std::string> groups;
  for (const auto& item : list.items) {
    const std::string* s = scalar(item);
    if (!s) continue;
    const CurveName* found = routes::gocompat::find_curve(*s);
    if (!found) {
      diags.add(Code::invalid_value, item.pos, "curvePreferences: unknown curve " + quote(*s),
                "use one of " + allowed(routes::gocompat::curves()));
      continue;
    }
    std::string name(found->openssl);
    if (!probe.group(name)) {
      diags.add(Code::unsupported_by_proxy, item.pos, "curvePreferences: " + quote(*s) + " is not available in this OpenSSL build",
                "remove it from the list");
      continue;
    }
    if (std::find(groups.begin(), groups.end(), name) == groups.end()) groups.push_back(name);
  }
  if (!groups.empty()) o.groups = join(groups);
}

void parse_client_auth(const DocNode& ca, Options& o, Diagnostics& diags) {
  if (!ca.is_mapping()) return;
  std::size_t ca_count = 0;
  const DocNode* type_node = nullptr;
  for (const auto& e : ca.entries) {
    if (!e.valid) continue;
    if (e.key == "caFiles") {
      if (!e.value.is_sequence()) continue;
      for (const auto& item : e.value.items) {
        const std::string* s = scalar(item);
        if (!s || s->empty()) continue;
        std::string why;
        auto pem = read_pem_value(*s, why);
        if (!pem) {
          diags.add(Code::invalid_value, item.pos, "clientAuth.caFiles: " + why);
          continue;
        }
        auto certs = read_certs(*pem);
        if (certs.empty()) {
          diags.add(Code::invalid_value, item.pos, "clientAuth.caFiles: " + describe(*s) + " does not hold a PEM certificate");
          continue;
        }
        if (!o.ca_store) o.ca_store.reset(X509_STORE_new());
        if (!o.ca_names) o.ca_names.reset(sk_X509_NAME_new_null());
        for (auto& x : certs) {
          X509_STORE_add_cert(o.ca_store.get(), x.get());  // takes its own reference
          if (X509_NAME* n = X509_NAME_dup(X509_get_subject_name(x.get())))
            if (!sk_X509_NAME_push(o.ca_names.get(), n)) X509_NAME_free(n);
          ++ca_count;
        }
        ERR_clear_error();  // a duplicate certificate is not an error
      }
    } else if (e.key == "clientAuthType") {
      type_node = &e.value;
    } else {
      diags.add(Code::unsupported_by_proxy, e.key_pos, "clientAuth." + e.key + " is not supported by the proxy");
    }
  }
  // caFiles alone mean RequireAndVerifyClientCert, as in Traefik.
  if (ca_count > 0) o.verify_mode = SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT;
  const std::string* type = type_node ? scalar(*type_node) : nullptr;
  if (!type || type->empty()) return;
  for (const auto& t : kClientAuthTypes) {
    if (t.name != *type) continue;
    if (t.needs_ca && ca_count == 0) {
      diags.add(Code::invalid_value, type_node->pos, "clientAuthType " + quote(*type) + " needs caFiles to verify client certificates",
                "add clientAuth.caFiles, or use RequireAnyClientCert");
      return;
    }
    o.verify_mode = t.mode;
    o.verify_any = t.accept_any;
    return;
  }
  std::string names;
  for (const auto& t : kClientAuthTypes) names += (names.empty() ? "" : ", ") + std::string(t.name);
  diags.add(Code::invalid_value, type_node->pos, "unknown clientAuthType " + quote(*type), "use one of " + names);
}

void set_session_id_context(Options& o) {
  std::string seed = "certroute tls options " + o.name;
  unsigned int n = 0;
  EVP_Digest(seed.data(), seed.size(), o.sid.data(), &n, EVP_sha256(), nullptr);
}

Options parse_options(const std::string& name, const routes::NamedObject* obj, Probe& probe, Diagnostics& diags) {
  Options o;
  o.name = name;
  set_session_id_context(o);
  if (!obj || !obj->node || !obj->node->is_mapping()) return o;
  const DocNode* max_node = nullptr;
  int min_version = 0;
  for (const auto& e : obj->node->entries) {
    if (!e.valid) continue;  // the loader reported it
    const DocNode& v = e.value;
    if (e.key == "minVersion") {
      min_version = parse_version(v, "minVersion", diags);
      if (min_version) o.min_version = min_version;
    } else if (e.key == "maxVersion") {
      o.max_version = parse_version(v, "maxVersion", diags);
      if (o.max_version) max_node = &v;
    } else if (e.key == "cipherSuites") {
      parse_cipher_suites(v, o, probe, diags);
    } else if (e.key == "curvePreferences") {
      parse_curves(v, o, probe, diags);
    } else if (e.key == "clientAuth") {
      parse_client_auth(v, o, diags);
    } else if (e.key == "sniStrict") {
      o.sni_strict = is_true(v);
    } else if (e.key == "disableSessionTickets") {
      o.no_tickets = is_true(v);
    } else if (e.key == "alpnProtocols") {
      if (!v.is_sequence() || v.items.empty()) continue;
      o.alpn_http11 = std::any_of(v.items.begin(), v.items.end(), [](const DocNode& i) {
        const std::string* s = scalar(i);
        return s && *s == "http/1.1";
      });
      if (!o.alpn_http11)
        diags.add(Code::unsupported_by_proxy, e.key_pos, "alpnProtocols without \"http/1.1\": the proxy speaks HTTP/1.1 only",
                  "add \"http/1.1\" to the list");
    } else if (e.key == "preferServerCipherSuites") {
      // Go ignores it (and so TLS 1.3); the proxy always prefers its own order.
    } else {
      diags.add(Code::unsupported_by_proxy, e.key_pos, "TLS option " + quote(e.key) + " is not supported by the proxy");
    }
  }
  if (o.max_version && o.max_version < o.min_version) {
    diags.add(Code::invalid_value, max_node->pos, "maxVersion is lower than minVersion (VersionTLS12 when not set)");
    o.max_version = 0;
  }
  // TLS 1.0 and 1.1 sign with SHA-1, which OpenSSL 3 refuses above security level 0.
  if (o.min_version < TLS1_2_VERSION) o.ciphers12 += ":@SECLEVEL=0";
  return o;
}

// ---- the state the callbacks read -----------------------------------------------

struct State {
  std::vector<Certificate> certs;
  int default_cert = -1;
  std::unordered_map<std::string, int> exact_certs;     // name -> certs index
  std::unordered_map<std::string, int> wildcard_certs;  // "example.com" for "*.example.com"
  std::vector<std::unique_ptr<Options>> options;        // [0] is the default
  std::unordered_map<std::string, const Options*> host_options;
  std::unordered_map<std::string, const Options*> wildcard_host_options;

  const Options& defaults() const { return *options.front(); }

  struct Choice {
    const Options* options = nullptr;
    int cert = -1;  // -1: refuse the handshake
  };

  // `sni` is normalised; "" when the client sent none.
  Choice choose(const std::string& sni) const {
    Choice c{&defaults(), -1};
    if (!sni.empty()) {
      auto dot = sni.find('.');
      std::string parent = dot == std::string::npos ? std::string() : sni.substr(dot + 1);
      if (auto it = host_options.find(sni); it != host_options.end()) {
        c.options = it->second;
      } else if (!parent.empty()) {
        if (auto w = wildcard_host_options.find(parent); w != wildcard_host_options.end()) c.options = w->second;
      }
      if (auto it = exact_certs.find(sni); it != exact_certs.end()) {
        c.cert = it->second;
      } else if (!parent.empty()) {
        if (auto w = wildcard_certs.find(parent); w != wildcard_certs.end()) c.cert = w->second;
      }
    }
    // As Traefik: sniStrict refuses what no certificate names, even when the
    // default certificate would fit; otherwise the default certificate.
    if (c.cert < 0 && !c.options->sni_strict) c.cert = default_cert;
    return c;
  }
};

int state_index() {
  static const int index = SSL_CTX_get_ex_new_index(0, nullptr, nullptr, nullptr,
                                                    [](void*, void* ptr, CRYPTO_EX_DATA*, int, long, void*) {
                                                      delete static_cast<State*>(ptr);
                                                    });
  return index;
}

// Each context built for an options set points to it (no ownership).
int options_index() {
  static const int index = SSL_CTX_get_ex_new_index(0, nullptr, nullptr, nullptr, nullptr);
  return index;
}

// The SNI from the raw ClientHello extension: normalised, "" when absent or malformed.
std::string client_hello_sni(SSL* ssl) {
  const unsigned char* p = nullptr;
  std::size_t len = 0;
  if (!SSL_client_hello_get0_ext(ssl, TLSEXT_TYPE_server_name, &p, &len) || len < 2) return {};
  std::size_t list = (std::size_t{p[0]} << 8) | p[1];
  if (list + 2 != len) return {};
  p += 2;
  while (list >= 3) {
    unsigned type = p[0];
    std::size_t n = (std::size_t{p[1]} << 8) | p[2];
    if (n + 3 > list) return {};
    if (type == TLSEXT_NAMETYPE_host_name) {
      std::string_view name(reinterpret_cast<const char*>(p + 3), n);
      if (name.find('\0') != std::string_view::npos) return {};
      return normalise_name(name);
    }
    p += n + 3;
    list -= n + 3;
  }
  return {};
}

int on_client_hello(SSL* ssl, int* alert, void* arg) {
  const State& st = *static_cast<const State*>(arg);
  State::Choice c = st.choose(client_hello_sni(ssl));
  if (c.cert < 0) {
    *alert = st.certs.empty() ? SSL_AD_HANDSHAKE_FAILURE : SSL_AD_UNRECOGNIZED_NAME;
    return SSL_CLIENT_HELLO_ERROR;
  }
  const Options& o = *c.options;
  auto index = static_cast<std::size_t>(c.cert);
  SSL_CTX* target = index < o.ctxs.size() ? o.ctxs[index].get() : nullptr;  // every chosen options set has them
  if (!target || (SSL_get_SSL_CTX(ssl) != target && SSL_set_SSL_CTX(ssl, target) != target)) {
    *alert = SSL_AD_INTERNAL_ERROR;
    return SSL_CLIENT_HELLO_ERROR;
  }
  if (&o != &st.defaults()) {
    // What SSL_new copied from the initial context and the switch does not bring.
    SSL_set_min_proto_version(ssl, o.min_version);
    SSL_set_max_proto_version(ssl, o.max_version);
    if (o.groups != st.defaults().groups) SSL_set1_groups_list(ssl, o.groups.c_str());
    SSL_set_verify(ssl, o.verify_mode, o.verify_any ? accept_any_certificate : nullptr);
    if (o.ca_names) SSL_set_client_CA_list(ssl, SSL_dup_CA_list(o.ca_names.get()));
    if (o.no_tickets)
      SSL_set_options(ssl, SSL_OP_NO_TICKET);
    else
      SSL_clear_options(ssl, SSL_OP_NO_TICKET);
    SSL_set_session_id_context(ssl, o.sid.data(), static_cast<unsigned>(o.sid.size()));
  }
  return SSL_CLIENT_HELLO_SUCCESS;
}

// Accepts the SNI the ClientHello callback already acted on. Without an
// accepting callback OpenSSL neither acknowledges the SNI nor keeps it in a
// TLS 1.2 session, and SSL_get_servername is empty after a resumption.
int on_servername(SSL*, int*, void*) { return SSL_TLSEXT_ERR_OK; }

// HTTP/1.1 is all the proxy speaks: it selects "http/1.1" when the client
// offers it (and the options list it), never h2. A client that offers ALPN
// without http/1.1 gets no_application_protocol, as from Go.
int on_alpn(SSL* ssl, const unsigned char** out, unsigned char* outlen, const unsigned char* in, unsigned inlen, void* arg) {
  const State& st = *static_cast<const State*>(arg);
  const auto* o = static_cast<const Options*>(SSL_CTX_get_ex_data(SSL_get_SSL_CTX(ssl), options_index()));
  if (!o) o = &st.defaults();
  if (!o->alpn_http11) return SSL_TLSEXT_ERR_NOACK;
  static constexpr std::string_view kHttp11 = "http/1.1";
  for (unsigned i = 0; i < inlen;) {
    unsigned n = in[i];
    if (i + 1 + n > inlen) break;
    if (std::string_view(reinterpret_cast<const char*>(in + i + 1), n) == kHttp11) {
      *out = in + i + 1;
      *outlen = static_cast<unsigned char>(n);
      return SSL_TLSEXT_ERR_OK;
    }
    i += 1 + n;
  }
  return SSL_TLSEXT_ERR_ALERT_FATAL;
}

// Applies an options set (and a certificate) to a context. "" or the reason.
std::string configure(SSL_CTX* ctx, const Options& o, const Certificate* cert, State* st) {
  SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE | SSL_OP_NO_COMPRESSION |
                               (o.no_tickets ? SSL_OP_NO_TICKET : 0));
  if (!SSL_CTX_set_min_proto_version(ctx, o.min_version) || !SSL_CTX_set_max_proto_version(ctx, o.max_version))
    return "setting the TLS versions: " + ossl_reason();
  if (!SSL_CTX_set_cipher_list(ctx, o.ciphers12.c_str())) return "setting the cipher suites: " + ossl_reason();
  if (!SSL_CTX_set_ciphersuites(ctx, o.ciphers13.c_str())) return "setting the TLS 1.3 cipher suites: " + ossl_reason();
  if (!SSL_CTX_set1_groups_list(ctx, o.groups.c_str())) return "setting the curves: " + ossl_reason();
  // Stateless tickets only: nothing to share or lock between workers.
  SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
  SSL_CTX_set_session_id_context(ctx, o.sid.data(), static_cast<unsigned>(o.sid.size()));
  SSL_CTX_set_verify(ctx, o.verify_mode, o.verify_any ? accept_any_certificate : nullptr);
  if (o.ca_store && !SSL_CTX_set1_verify_cert_store(ctx, o.ca_store.get())) return "setting the client CAs: " + ossl_reason();
  if (o.ca_names) SSL_CTX_set_client_CA_list(ctx, SSL_dup_CA_list(o.ca_names.get()));
  SSL_CTX_set_alpn_select_cb(ctx, on_alpn, st);
  SSL_CTX_set_tlsext_servername_callback(ctx, on_servername);
  SSL_CTX_set_ex_data(ctx, options_index(), const_cast<Options*>(&o));
  if (cert) {
    STACK_OF(X509)* chain = sk_X509_new_null();
    for (const auto& x : cert->chain) sk_X509_push(chain, x.get());
    int ok = SSL_CTX_use_cert_and_key(ctx, cert->leaf.get(), cert->key.get(), chain, 1);  // takes its own references
    sk_X509_free(chain);
    if (!ok) return "using the certificate: " + ossl_reason();
  }
  return {};
}

// "modern@file" -> "modern"; "" -> "default".
std::string options_base_name(std::string_view name) {
  if (name.empty()) return "default";
  if (name.size() > 5 && name.substr(name.size() - 5) == "@file") name.remove_suffix(5);
  return std::string(name);
}

// ---- building ----------------------------------------------------------------------

using OptionsByName = std::unordered_map<std::string, Options*>;

// The default options first (Traefik's defaults unless the files define
// "default"), then every other set; each is checked, used or not.
OptionsByName add_options(State& st, const routes::Config* config, Diagnostics& diags) {
  Probe probe;
  const routes::NamedObject* default_obj = nullptr;
  if (config) {
    for (const char* n : {"default", "default@file"})
      if (auto it = config->tls_options.find(n); it != config->tls_options.end() && !default_obj) default_obj = &it->second;
  }
  st.options.push_back(std::make_unique<Options>(parse_options("default", default_obj, probe, diags)));
  OptionsByName by_name{{"default", st.options.front().get()}};
  if (!config) return by_name;
  for (const auto& [name, obj] : config->tls_options) {
    if (&obj == default_obj) continue;
    std::string base = options_base_name(name);
    if (by_name.contains(base)) continue;
    st.options.push_back(std::make_unique<Options>(parse_options(base, &obj, probe, diags)));
    by_name.emplace(base, st.options.back().get());
  }
  return by_name;
}

// The certificates, the name index, and the default certificate (the files'
// store default, else the command line's, else a generated one when TLS is
// needed at all), which goes last.
void add_certificates(State& st, const TlsBuildInput& in, Diagnostics& diags) {
  std::optional<Certificate> default_cert;
  bool configured = false;
  static const std::vector<routes::TlsCertificate> none;
  for (const auto& tc : in.config ? in.config->certificates : none) {
    configured = true;
    const char* where = tc.store_default ? "default certificate" : "certificate";
    if (!tc.cert_file || tc.cert_file->value.empty() || !tc.key_file || tc.key_file->value.empty()) {
      diags.add(Code::tls_certificate, tc.pos, std::string(where) + " without certFile or keyFile: the proxy skips it");
      continue;
    }
    if (!tc.store_default && !tc.stores.empty() &&
        std::none_of(tc.stores.begin(), tc.stores.end(), [](const routes::Text& s) { return s.value == "default"; })) {
      diags.add(Code::tls_certificate, tc.stores.front().pos,
                "certificate only in stores other than 'default': Traefik serves the default store only, so it is never served");
      continue;
    }
    if ((tc.cert_file->node && tc.cert_file->node->templated) || (tc.key_file->node && tc.key_file->node->templated)) continue;
    auto c = load_certificate(tc.cert_file->value, tc.cert_file->pos, tc.key_file->value, tc.key_file->pos, diags);
    if (!c) continue;
    if (!tc.store_default)
      st.certs.push_back(std::move(*c));
    else if (!default_cert)
      default_cert = std::move(c);
  }
  for (std::size_t i = 0; i < st.certs.size(); ++i) {
    for (const auto& n : st.certs[i].names) {
      // The first certificate for a name wins.
      if (n.size() > 2 && n.starts_with("*."))
        st.wildcard_certs.emplace(n.substr(2), static_cast<int>(i));
      else
        st.exact_certs.emplace(n, static_cast<int>(i));
    }
  }
  if (!default_cert && (!in.extra_cert_file.empty() || !in.extra_key_file.empty())) {
    if (in.extra_cert_file.empty() || in.extra_key_file.empty())
      diags.add(Code::tls_certificate, Pos{}, "a default certificate needs both a certificate and a key file");
    else
      default_cert = load_certificate(in.extra_cert_file, Pos{}, in.extra_key_file, Pos{}, diags);
  }
  if (!default_cert && (configured || !in.hosts.empty())) {
    std::string why;
    default_cert = generate_default_certificate(why);
    if (!default_cert) diags.add(Code::tls_certificate, Pos{}, "generating the default certificate: " + why);
  }
  if (default_cert) {
    st.certs.push_back(std::move(*default_cert));
    st.default_cert = static_cast<int>(st.certs.size() - 1);
  }
}

// Which options each host uses. Routers on one host naming different options:
// Traefik warns and uses the default options for that host. Options no file
// defines: Traefik reports the router (lint CR032), the host keeps the default.
void map_hosts(State& st, const std::vector<TlsHostOptions>& hosts, const OptionsByName& by_name, Diagnostics& diags) {
  Options* defaults = st.options.front().get();
  std::unordered_map<std::string, Options*> chosen;
  for (const auto& h : hosts) {
    std::string host = normalise_name(h.host);
    if (host.empty()) continue;
    auto it = by_name.find(options_base_name(h.options));
    Options* o = it == by_name.end() ? defaults : it->second;
    auto [pos, inserted] = chosen.emplace(host, o);
    if (inserted || pos->second == o || pos->second == nullptr) continue;
    diags.add(Code::ignored_value, Pos{},
              "host " + quote(host) + ": routers name different TLS options (" + quote(pos->second->name) + ", " + quote(o->name) +
                  "): the default TLS options apply to it, as in Traefik");
    pos->second = nullptr;  // conflicting
  }
  defaults->used = true;
  for (auto& [host, o] : chosen) {
    Options* use = o ? o : defaults;
    use->used = true;
    if (host.size() > 2 && host.starts_with("*."))
      st.wildcard_host_options.emplace(host.substr(2), use);
    else
      st.host_options.emplace(host, use);
  }
}

// One context per (options in use, certificate), and the initial context:
// the default options and certificate, and the callback that switches.
SslCtxPtr build_contexts(State& st, Diagnostics& diags) {
  for (auto& o : st.options) {
    if (!o->used) continue;
    for (const auto& c : st.certs) {
      SslCtxPtr ctx(SSL_CTX_new(TLS_server_method()));
      std::string why = ctx ? configure(ctx.get(), *o, &c, &st) : ossl_reason();
      if (!why.empty()) {
        diags.add(Code::invalid_value, Pos{}, "TLS options " + quote(o->name) + ": " + why);
        return nullptr;
      }
      o->ctxs.push_back(std::move(ctx));
    }
  }
  SslCtxPtr initial(SSL_CTX_new(TLS_server_method()));
  const Certificate* def = st.default_cert >= 0 ? &st.certs[static_cast<std::size_t>(st.default_cert)] : nullptr;
  std::string why = initial ? configure(initial.get(), st.defaults(), def, &st) : ossl_reason();
  if (!why.empty()) {
    diags.add(Code::invalid_value, Pos{}, "TLS options 'default': " + why);
    return nullptr;
  }
  SSL_CTX_set_client_hello_cb(initial.get(), on_client_hello, &st);
  return initial;
}

}  // namespace

struct TlsStore::Impl {
  SslCtxPtr initial;             // our reference; connections hold their own
  const State* state = nullptr;  // owned by `initial`
};

TlsStore::TlsStore() : impl_(std::make_unique<Impl>()) {}
TlsStore::~TlsStore() = default;

std::shared_ptr<TlsStore> TlsStore::build(const TlsBuildInput& in, Diagnostics& diags) {
  auto st = std::make_unique<State>();
  OptionsByName by_name = add_options(*st, in.config, diags);
  add_certificates(*st, in, diags);
  map_hosts(*st, in.hosts, by_name, diags);
  SslCtxPtr initial = build_contexts(*st, diags);
  if (!initial) return nullptr;
  const State* state = st.get();
  if (!SSL_CTX_set_ex_data(initial.get(), state_index(), st.get())) {
    diags.add(Code::invalid_value, Pos{}, "TLS: " + ossl_reason());
    return nullptr;
  }
  st.release();  // owned by the initial context from here on

  std::shared_ptr<TlsStore> store(new TlsStore());
  store->impl_->initial = std::move(initial);
  store->impl_->state = state;
  return store;
}

bool TlsStore::has_certificates() const { return !impl_->state->certs.empty(); }

SSL_CTX* TlsStore::initial_context() const { return impl_->initial.get(); }

std::string TlsStore::certificate_for(const std::string& name) const {
  const State& st = *impl_->state;
  State::Choice c = st.choose(normalise_name(name));
  if (c.cert < 0) return {};
  const Certificate& cert = st.certs[static_cast<std::size_t>(c.cert)];
  if (!cert.cn.empty()) return cert.cn;
  return cert.names.empty() ? std::string() : cert.names.front();
}

std::string tls_sni(SSL* ssl) {
  const char* name = ssl ? SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name) : nullptr;
  return name ? normalise_name(name) : std::string();
}

}  // namespace certroute::proxy
