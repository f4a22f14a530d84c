// TLS termination for the proxy: OpenSSL contexts built from Traefik's
// `tls` section (certificates, stores.default.defaultCertificate, options),
// the certificate chosen by SNI (exact name, then wildcard, then the
// default), the TLS options chosen by SNI from the routers that name them.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <openssl/ssl.h>

#include "core/routes/config.hpp"
#include "core/routes/diagnostic.hpp"

namespace certroute::proxy {

// A router's hosts and the TLS options it names (qualified, "" for default).
struct TlsHostOptions {
  std::string host;     // lower-case host from the router's Host rule
  std::string options;  // e.g. "modern@file"; "" means "default"
};

struct TlsBuildInput {
  const routes::Config* config = nullptr;     // tls.certificates, tls.options, tls.stores
  const routes::SourceSet* sources = nullptr; // to resolve relative paths? (no: paths are as written)
  std::vector<TlsHostOptions> hosts;
  // A certificate and key given on the command line (--tls-cert/--tls-key),
  // used as the default certificate when the files set none.
  std::string extra_cert_file;
  std::string extra_key_file;
};

class TlsStore {
 public:
  ~TlsStore();
  TlsStore(const TlsStore&) = delete;
  TlsStore& operator=(const TlsStore&) = delete;

  // Builds the contexts. Problems (an unreadable certificate, a key that does
  // not match, an unknown cipher suite or curve, a bad minVersion) are added
  // to `diags` as errors at the position of the offending value (code
  // tls_certificate for certificates, unsupported_by_proxy or invalid_value
  // otherwise). Returns nullptr only when nothing usable could be built and
  // there were errors; returns a store with no certificate when the
  // configuration has none (has_certificates() false).
  static std::shared_ptr<TlsStore> build(const TlsBuildInput& in, routes::Diagnostics& diags);

  bool has_certificates() const;
  // The context every TLS connection starts with. Its ClientHello callback
  // switches the connection to the context of the options and certificate
  // its SNI selects; with sniStrict, an unknown SNI (or none) fails the
  // handshake. ALPN selects "http/1.1" (never h2). Owned by the store; valid
  // while the store lives (an SSL made from it keeps what its handshake
  // needs alive after the store is gone).
  SSL_CTX* initial_context() const;

  // The certificate that SNI `name` selects (for tests): the subject CN of
  // the chosen certificate, or "" when none would be served.
  std::string certificate_for(const std::string& name) const;

  struct Impl;

 private:
  TlsStore();
  std::unique_ptr<Impl> impl_;
};

// The SNI a connection sent (after the handshake), "" when none.
std::string tls_sni(SSL* ssl);

}  // namespace certroute::proxy
