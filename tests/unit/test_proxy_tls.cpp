#include <catch2/catch.hpp>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <thread>

#include "core/proxy/tls.hpp"
#include "core/routes/loader.hpp"
#include "testcerts.hpp"

using namespace certroute;
using certroute::proxy::TlsBuildInput;
using certroute::proxy::TlsHostOptions;
using certroute::proxy::TlsStore;
using routes::Code;

namespace {

using SslCtxPtr = std::unique_ptr<SSL_CTX, crypto::Deleter<SSL_CTX_free>>;
using SslPtr = std::unique_ptr<SSL, crypto::Deleter<SSL_free>>;
using SessionPtr = std::unique_ptr<SSL_SESSION, crypto::Deleter<SSL_SESSION_free>>;

struct TempDir {
  std::string path;
  TempDir() {
    char tmpl[] = "/tmp/certroute-tls-test-XXXXXX";
    path = ::mkdtemp(tmpl);
  }
  ~TempDir() { std::filesystem::remove_all(path); }
  std::string write(const std::string& name, const std::string& data) const {
    std::string p = path + "/" + name;
    std::ofstream(p) << data;
    return p;
  }
};

struct Cert {
  crypto::EvpPkey key;
  crypto::X509Ptr cert;
  std::string cert_pem() const { return testcerts::pem(cert.get()); }
  std::string key_pem() const { return *crypto::private_key_to_pem(key.get(), std::nullopt); }
};

// A test CA and leaves it signs.
struct Pki {
  Cert ca;
  Pki() {
    ca.key = testcerts::key();
    ca.cert = testcerts::make({.cn = "Test CA", .ca = true}, ca.key.get(), ca.key.get(), nullptr);
  }
  Cert leaf(testcerts::Spec spec) const {
    Cert c;
    c.key = testcerts::key();
    c.cert = testcerts::make(spec, c.key.get(), ca.key.get(), ca.cert.get());
    return c;
  }
};

struct Built {
  routes::LoadedConfig loaded;
  routes::Diagnostics diags;
  std::shared_ptr<TlsStore> store;
};

std::unique_ptr<Built> build(const std::string& yaml, std::vector<TlsHostOptions> hosts = {}, std::string extra_cert = {},
                             std::string extra_key = {}) {
  auto b = std::make_unique<Built>();
  b->loaded = routes::load_text("x.yml", yaml);
  TlsBuildInput in;
  in.config = &b->loaded.config;
  in.sources = &b->loaded.sources;
  in.hosts = std::move(hosts);
  in.extra_cert_file = std::move(extra_cert);
  in.extra_key_file = std::move(extra_key);
  b->store = TlsStore::build(in, b->diags);
  return b;
}

std::string dump(const routes::Diagnostics& d) {
  std::string out;
  for (const auto& x : d.items())
    out += std::string(routes::code_info(x.code).id) + " " + std::to_string(x.pos.line) + ":" + std::to_string(x.pos.column) + " " +
           x.message + "\n";
  return out;
}

// Whether a diagnostic with this code is on this line and mentions `text`.
bool has_diag(const routes::Diagnostics& d, Code code, int line, const std::string& text = {}) {
  for (const auto& x : d.items())
    if (x.code == code && x.pos.line == line && x.message.find(text) != std::string::npos) return true;
  return false;
}

// A certificates block: one entry per (cert, key) path pair.
std::string cert_entry(const std::string& cert, const std::string& key) {
  return "    - certFile: " + cert + "\n      keyFile: " + key + "\n";
}

// ---- handshakes over an in-memory BIO pair -------------------------------------

struct Client {
  std::string sni;
  int min_version = 0;
  int max_version = 0;
  bool legacy = false;  // allow TLS 1.0/1.1 (security level 0)
  std::vector<std::string> alpn;
  const Cert* cert = nullptr;
  SSL_SESSION* session = nullptr;
  std::string ciphers12;
  std::string groups;
};

struct Outcome {
  bool ok = false;
  int version = 0;
  std::string cipher;
  std::string alpn;
  bool reused = false;
  std::string server_cn;        // the certificate the client got
  bool client_cert_seen = false;  // the server got one
  std::string sni;              // tls_sni() on the server
  int group = 0;
  SessionPtr session;
};

std::string subject_cn(X509* x) {
  if (!x) return {};
  char buf[256] = {};
  X509_NAME_get_text_by_NID(X509_get_subject_name(x), NID_commonName, buf, sizeof buf);
  return buf;
}

// `server`: an SSL made from the store's initial context beforehand, or null.
Outcome handshake(const TlsStore* store, const Client& spec, SSL* server = nullptr) {
  Outcome out;
  SslCtxPtr cctx(SSL_CTX_new(TLS_client_method()));
  if (spec.min_version) SSL_CTX_set_min_proto_version(cctx.get(), spec.min_version);
  if (spec.max_version) SSL_CTX_set_max_proto_version(cctx.get(), spec.max_version);
  if (spec.legacy) SSL_CTX_set_cipher_list(cctx.get(), "DEFAULT:@SECLEVEL=0");
  if (!spec.ciphers12.empty()) SSL_CTX_set_cipher_list(cctx.get(), spec.ciphers12.c_str());
  if (!spec.groups.empty()) SSL_CTX_set1_groups_list(cctx.get(), spec.groups.c_str());
  if (!spec.alpn.empty()) {
    std::string wire;
    for (const auto& p : spec.alpn) wire += static_cast<char>(p.size()) + p;
    SSL_CTX_set_alpn_protos(cctx.get(), reinterpret_cast<const unsigned char*>(wire.data()), static_cast<unsigned>(wire.size()));
  }
  if (spec.cert) {
    SSL_CTX_use_certificate(cctx.get(), spec.cert->cert.get());
    SSL_CTX_use_PrivateKey(cctx.get(), spec.cert->key.get());
  }
  SslPtr c(SSL_new(cctx.get()));
  SslPtr s(server ? server : SSL_new(store->initial_context()));
  BIO* sb = nullptr;
  BIO* cb = nullptr;
  BIO_new_bio_pair(&sb, 0, &cb, 0);
  SSL_set_bio(s.get(), sb, sb);
  SSL_set_bio(c.get(), cb, cb);
  SSL_set_connect_state(c.get());
  SSL_set_accept_state(s.get());
  if (!spec.sni.empty()) SSL_set_tlsext_host_name(c.get(), spec.sni.c_str());
  if (spec.session) SSL_set_session(c.get(), spec.session);
  bool cdone = false, sdone = false;
  auto step = [](SSL* ssl, bool& done) {
    if (done) return true;
    int r = SSL_do_handshake(ssl);
    if (r == 1) {
      done = true;
      return true;
    }
    int e = SSL_get_error(ssl, r);
    return e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE;
  };
  for (int i = 0; i < 50 && !(cdone && sdone); ++i) {
    if (!step(c.get(), cdone) || !step(s.get(), sdone)) break;
  }
  if (cdone && sdone) {
    // One byte each way, so the client reads the TLS 1.3 tickets too.
    char buf[8];
    bool data = SSL_write(s.get(), "x", 1) == 1 && SSL_read(c.get(), buf, sizeof buf) == 1 && SSL_write(c.get(), "y", 1) == 1 &&
                SSL_read(s.get(), buf, sizeof buf) == 1;
    out.ok = data;
    out.version = SSL_version(c.get());
    out.cipher = SSL_get_cipher_name(c.get());
    const unsigned char* p = nullptr;
    unsigned n = 0;
    SSL_get0_alpn_selected(c.get(), &p, &n);
    out.alpn.assign(reinterpret_cast<const char*>(p ? p : reinterpret_cast<const unsigned char*>("")), n);
    out.reused = SSL_session_reused(c.get()) == 1;
    out.server_cn = subject_cn(SSL_get0_peer_certificate(c.get()));
    out.client_cert_seen = SSL_get0_peer_certificate(s.get()) != nullptr;
    out.sni = proxy::tls_sni(s.get());
    out.group = SSL_get_negotiated_group(c.get());
    out.session.reset(SSL_get1_session(c.get()));
    // A client freed without close_notify marks its session not resumable.
    SSL_shutdown(c.get());
    SSL_shutdown(s.get());
  }
  ERR_clear_error();
  return out;
}

Outcome handshake(const TlsStore& store, const Client& spec) { return handshake(&store, spec); }

}  // namespace

TEST_CASE("certificates are chosen by SNI: exact, then wildcard, then the default", "[tls]") {
  TempDir dir;
  Pki pki;
  Cert a = pki.leaf({.cn = "a", .dns = {"a.example.com"}});
  Cert wild = pki.leaf({.cn = "wild", .dns = {"*.example.com"}});
  Cert cn_only = pki.leaf({.cn = "Legacy.Example.ORG"});
  Cert ip = pki.leaf({.cn = "ip", .ips = {"192.0.2.7"}});
  Cert def = pki.leaf({.cn = "default", .dns = {"default.example.net"}});
  std::string yaml = "tls:\n  certificates:\n";
  for (auto* c : {&a, &wild, &cn_only, &ip}) {
    std::string n = subject_cn(c->cert.get());
    yaml += cert_entry(dir.write(n + ".crt", c->cert_pem()), dir.write(n + ".key", c->key_pem()));
  }
  yaml += "  stores:\n    default:\n      defaultCertificate:\n        certFile: " + dir.write("def.crt", def.cert_pem()) +
          "\n        keyFile: " + dir.write("def.key", def.key_pem()) + "\n";
  auto b = build(yaml);
  INFO(dump(b->diags));
  REQUIRE(b->store);
  CHECK(b->diags.items().empty());
  const TlsStore& st = *b->store;
  CHECK(st.has_certificates());
  CHECK(st.certificate_for("a.example.com") == "a");
  CHECK(st.certificate_for("A.Example.COM.") == "a");  // case and trailing dot do not matter
  CHECK(st.certificate_for("b.example.com") == "wild");
  CHECK(st.certificate_for("x.b.example.com") == "default");  // a wildcard covers one label
  CHECK(st.certificate_for("example.com") == "default");
  CHECK(st.certificate_for("legacy.example.org") == "Legacy.Example.ORG");  // the CN when there are no SANs
  CHECK(st.certificate_for("192.0.2.7") == "ip");
  CHECK(st.certificate_for("") == "default");
  CHECK(st.certificate_for("other.test") == "default");
  // The default certificate's own names do not make it an SNI match.
  CHECK(st.certificate_for("default.example.net") == "default");

  // The same choice in a real handshake.
  CHECK(handshake(st, {.sni = "a.example.com"}).server_cn == "a");
  CHECK(handshake(st, {.sni = "B.example.com"}).server_cn == "wild");
  auto none = handshake(st, {});
  CHECK(none.ok);
  CHECK(none.server_cn == "default");
  CHECK(none.sni.empty());
  CHECK(handshake(st, {.sni = "A.EXAMPLE.com"}).sni == "a.example.com");
}

TEST_CASE("certFile and keyFile may be inline PEM, with the chain", "[tls]") {
  Pki pki;
  Cert a = pki.leaf({.cn = "inline", .dns = {"inline.test"}});
  auto block = [](const std::string& pem) {
    std::string out = "|\n";
    std::size_t start = 0;
    while (start < pem.size()) {
      auto end = pem.find('\n', start);
      out += "        " + pem.substr(start, end - start) + "\n";
      start = end + 1;
    }
    return out;
  };
  std::string yaml = "tls:\n  certificates:\n    - certFile: " + block(a.cert_pem() + pki.ca.cert_pem()) +
                     "      keyFile: " + block(a.key_pem());
  auto b = build(yaml);
  INFO(dump(b->diags) << yaml);
  REQUIRE(b->store);
  CHECK(b->diags.items().empty());
  CHECK(b->store->certificate_for("inline.test") == "inline");
  auto out = handshake(*b->store, {.sni = "inline.test"});
  CHECK(out.ok);
  CHECK(out.server_cn == "inline");
}

TEST_CASE("a default certificate is generated only when TLS is needed", "[tls]") {
  TempDir dir;
  Pki pki;
  Cert a = pki.leaf({.cn = "a", .dns = {"a.test"}});
  std::string certs = "tls:\n  certificates:\n" + cert_entry(dir.write("a.crt", a.cert_pem()), dir.write("a.key", a.key_pem()));

  SECTION("certificates without a default") {
    auto b = build(certs);
    REQUIRE(b->store);
    CHECK(b->store->certificate_for("a.test") == "a");
    CHECK(b->store->certificate_for("b.test") == "CERTROUTE DEFAULT CERT");
    auto out = handshake(*b->store, {.sni = "b.test"});
    CHECK(out.ok);
    CHECK(out.server_cn == "CERTROUTE DEFAULT CERT");
  }
  SECTION("TLS routers without any certificate") {
    auto b = build("http: {}\n", {{"app.test", ""}});
    REQUIRE(b->store);
    CHECK(b->store->has_certificates());
    CHECK(b->store->certificate_for("app.test") == "CERTROUTE DEFAULT CERT");
  }
  SECTION("nothing needs TLS") {
    auto b = build("http: {}\n");
    REQUIRE(b->store);
    CHECK_FALSE(b->store->has_certificates());
    CHECK(b->store->certificate_for("x.test").empty());
    CHECK(b->store->initial_context() != nullptr);
    CHECK_FALSE(handshake(*b->store, {.sni = "x.test"}).ok);
  }
  SECTION("the command line's certificate is the default when the files set none") {
    Cert extra = pki.leaf({.cn = "extra", .dns = {"extra.test"}});
    auto b = build(certs, {}, dir.write("e.crt", extra.cert_pem()), dir.write("e.key", extra.key_pem()));
    REQUIRE(b->store);
    CHECK(b->diags.items().empty());
    CHECK(b->store->certificate_for("b.test") == "extra");
    CHECK(b->store->certificate_for("a.test") == "a");
  }
}

TEST_CASE("unloadable certificates are reported where they are written", "[tls]") {
  TempDir dir;
  Pki pki;
  Cert a = pki.leaf({.cn = "a", .dns = {"a.test"}});
  Cert other = pki.leaf({.cn = "other", .dns = {"other.test"}});
  std::string yaml = "tls:\n"                                                   // 1
                     "  certificates:\n"                                        // 2
                     "    - certFile: " + dir.path + "/missing.crt\n"          // 3
                     "      keyFile: " + dir.write("a.key", a.key_pem()) + "\n" // 4
                     "    - certFile: " + dir.write("a.crt", a.cert_pem()) + "\n"  // 5
                     "      keyFile: " + dir.write("o.key", other.key_pem()) + "\n"  // 6
                     "    - certFile: " + dir.write("junk.crt", "not a certificate\n") + "\n"  // 7
                     "      keyFile: " + dir.path + "/a.key\n"                 // 8
                     "    - certFile: " + dir.path + "/a.crt\n"                // 9
                     "      keyFile: " + dir.write("nokey.pem", a.cert_pem()) + "\n";  // 10
  auto b = build(yaml);
  INFO(dump(b->diags));
  REQUIRE(b->store);
  CHECK(has_diag(b->diags, Code::tls_certificate, 3, "no such file"));
  CHECK(has_diag(b->diags, Code::tls_certificate, 6, "does not match"));
  CHECK(has_diag(b->diags, Code::tls_certificate, 7, "does not hold a PEM certificate"));
  CHECK(has_diag(b->diags, Code::tls_certificate, 10, "private key"));
  CHECK(b->diags.items().size() == 4);
  // Nothing loaded: everything gets the generated default.
  CHECK(b->store->certificate_for("a.test") == "CERTROUTE DEFAULT CERT");
}

TEST_CASE("bad TLS options are reported at the offending value", "[tls]") {
  std::string yaml = "tls:\n"                                        // 1
                     "  options:\n"                                  // 2
                     "    default:\n"                                // 3
                     "      minVersion: VersionTLS99\n"              // 4
                     "      cipherSuites:\n"                         // 5
                     "        - TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256\n"  // 6
                     "        - TLS_NOT_A_SUITE\n"                   // 7
                     "        - TLS_RSA_WITH_RC4_128_SHA\n"          // 8
                     "      curvePreferences: [CurveP256, CurveP999]\n"  // 9
                     "    other:\n"                                  // 10
                     "      minVersion: VersionTLS13\n"              // 11
                     "      maxVersion: VersionTLS12\n"              // 12
                     "      alpnProtocols: [h2]\n"                   // 13
                     "      clientAuth:\n"                           // 14
                     "        caFiles: [/nonexistent/ca.pem]\n"      // 15
                     "        clientAuthType: RequireAndVerifyClientCert\n";  // 16
  auto b = build(yaml);
  INFO(dump(b->diags));
  REQUIRE(b->store);
  CHECK(has_diag(b->diags, Code::invalid_value, 4, "VersionTLS99"));
  CHECK(has_diag(b->diags, Code::invalid_value, 7, "TLS_NOT_A_SUITE"));
  CHECK(has_diag(b->diags, Code::unsupported_by_proxy, 8, "TLS_RSA_WITH_RC4_128_SHA"));
  CHECK(has_diag(b->diags, Code::invalid_value, 9, "CurveP999"));
  CHECK(has_diag(b->diags, Code::invalid_value, 12, "maxVersion"));
  CHECK(has_diag(b->diags, Code::unsupported_by_proxy, 13, "http/1.1"));
  CHECK(has_diag(b->diags, Code::invalid_value, 15, "/nonexistent/ca.pem"));
  CHECK(has_diag(b->diags, Code::invalid_value, 16, "needs caFiles"));
  CHECK(b->diags.items().size() == 8);
}

TEST_CASE("handshake: the TLS versions of the options the SNI selects", "[tls]") {
  TempDir dir;
  Pki pki;
  Cert a = pki.leaf({.cn = "a", .dns = {"a.test", "legacy.test", "modern.test"}});
  std::string yaml = "tls:\n  certificates:\n" + cert_entry(dir.write("a.crt", a.cert_pem()), dir.write("a.key", a.key_pem())) +
                     "  options:\n"
                     "    legacy:\n      minVersion: VersionTLS11\n"
                     "    modern:\n      minVersion: VersionTLS13\n";
  auto b = build(yaml, {{"a.test", ""}, {"legacy.test", "legacy@file"}, {"modern.test", "modern"}});
  INFO(dump(b->diags));
  REQUIRE(b->store);
  CHECK(b->diags.items().empty());
  const TlsStore& st = *b->store;

  // Traefik's default minimum is TLS 1.2.
  CHECK_FALSE(handshake(st, {.sni = "a.test", .max_version = TLS1_1_VERSION, .legacy = true}).ok);
  CHECK_FALSE(handshake(st, {.max_version = TLS1_1_VERSION, .legacy = true}).ok);
  auto tls12 = handshake(st, {.sni = "a.test", .max_version = TLS1_2_VERSION});
  CHECK(tls12.ok);
  CHECK(tls12.version == TLS1_2_VERSION);
  CHECK(handshake(st, {.sni = "a.test"}).version == TLS1_3_VERSION);

  // The same client succeeds on the host whose options allow TLS 1.1.
  auto legacy = handshake(st, {.sni = "legacy.test", .max_version = TLS1_1_VERSION, .legacy = true});
  CHECK(legacy.ok);
  CHECK(legacy.version == TLS1_1_VERSION);

  CHECK_FALSE(handshake(st, {.sni = "modern.test", .max_version = TLS1_2_VERSION}).ok);
  CHECK(handshake(st, {.sni = "modern.test"}).version == TLS1_3_VERSION);
}

TEST_CASE("handshake: sniStrict refuses a missing or unknown SNI", "[tls]") {
  TempDir dir;
  Pki pki;
  Cert a = pki.leaf({.cn = "a", .dns = {"a.test"}});
  Cert def = pki.leaf({.cn = "default", .dns = {"default.test"}});
  std::string certs = "tls:\n  certificates:\n" + cert_entry(dir.write("a.crt", a.cert_pem()), dir.write("a.key", a.key_pem())) +
                      "  stores:\n    default:\n      defaultCertificate:\n        certFile: " + dir.write("d.crt", def.cert_pem()) +
                      "\n        keyFile: " + dir.write("d.key", def.key_pem()) + "\n";

  SECTION("on the default options") {
    auto b = build(certs + "  options:\n    default:\n      sniStrict: true\n");
    INFO(dump(b->diags));
    REQUIRE(b->store);
    CHECK(b->diags.items().empty());
    CHECK(handshake(*b->store, {.sni = "a.test"}).ok);
    CHECK_FALSE(handshake(*b->store, {}).ok);
    CHECK_FALSE(handshake(*b->store, {.sni = "unknown.test"}).ok);
    CHECK_FALSE(handshake(*b->store, {.sni = "default.test"}).ok);  // as in Traefik
    CHECK(b->store->certificate_for("unknown.test").empty());
    CHECK(b->store->certificate_for("").empty());
  }
  SECTION("on the options of one host") {
    auto b = build(certs + "  options:\n    strict:\n      sniStrict: true\n", {{"a.test", "strict"}, {"b.test", "strict@file"}});
    REQUIRE(b->store);
    CHECK(handshake(*b->store, {.sni = "a.test"}).ok);
    CHECK_FALSE(handshake(*b->store, {.sni = "b.test"}).ok);  // a strict host without a certificate
    CHECK(handshake(*b->store, {.sni = "c.test"}).server_cn == "default");
    CHECK(handshake(*b->store, {}).server_cn == "default");
  }
}

TEST_CASE("handshake: RequireAndVerifyClientCert", "[tls]") {
  TempDir dir;
  Pki pki;
  Pki other_pki;
  Cert a = pki.leaf({.cn = "a", .dns = {"a.test", "open.test"}});
  Cert client = pki.leaf({.cn = "client"});
  Cert stranger = other_pki.leaf({.cn = "stranger"});
  std::string ca = dir.write("ca.pem", pki.ca.cert_pem());
  std::string certs = "tls:\n  certificates:\n" + cert_entry(dir.write("a.crt", a.cert_pem()), dir.write("a.key", a.key_pem()));
  auto check = [&](const TlsStore& st, const std::string& host) {
    CHECK_FALSE(handshake(st, {.sni = host}).ok);
    CHECK_FALSE(handshake(st, {.sni = host, .cert = &stranger}).ok);
    auto ok = handshake(st, {.sni = host, .cert = &client});
    CHECK(ok.ok);
    CHECK(ok.client_cert_seen);
    auto tls12 = handshake(st, {.sni = host, .max_version = TLS1_2_VERSION, .cert = &client});
    CHECK(tls12.ok);
    CHECK_FALSE(handshake(st, {.sni = host, .max_version = TLS1_2_VERSION}).ok);
  };

  SECTION("as the options of one host") {
    auto b = build(certs + "  options:\n    mtls:\n      clientAuth:\n        caFiles: [" + ca +
                       "]\n        clientAuthType: RequireAndVerifyClientCert\n",
                   {{"a.test", "mtls@file"}, {"open.test", ""}});
    INFO(dump(b->diags));
    REQUIRE(b->store);
    CHECK(b->diags.items().empty());
    check(*b->store, "a.test");
    auto open = handshake(*b->store, {.sni = "open.test"});
    CHECK(open.ok);
    CHECK_FALSE(open.client_cert_seen);
  }
  SECTION("as the default options, with the CA inline") {
    std::string inline_ca;
    for (char c : pki.ca.cert_pem()) inline_ca += c == '\n' ? std::string("\\n") : std::string(1, c);
    auto b = build(certs + "  options:\n    default:\n      clientAuth:\n        caFiles: [\"" + inline_ca + "\"]\n");
    INFO(dump(b->diags));
    REQUIRE(b->store);
    CHECK(b->diags.items().empty());
    check(*b->store, "a.test");
  }
  SECTION("RequireAnyClientCert accepts any certificate, unverified") {
    auto b = build(certs + "  options:\n    any:\n      clientAuth:\n        clientAuthType: RequireAnyClientCert\n", {{"a.test", "any"}});
    REQUIRE(b->store);
    CHECK_FALSE(handshake(*b->store, {.sni = "a.test"}).ok);
    CHECK(handshake(*b->store, {.sni = "a.test", .cert = &stranger}).ok);
  }
}

TEST_CASE("handshake: ALPN selects http/1.1, never h2", "[tls]") {
  TempDir dir;
  Pki pki;
  Cert a = pki.leaf({.cn = "a", .dns = {"a.test", "b.test"}});
  std::string yaml = "tls:\n  certificates:\n" + cert_entry(dir.write("a.crt", a.cert_pem()), dir.write("a.key", a.key_pem())) +
                     "  options:\n    listed:\n      alpnProtocols: [h2, http/1.1]\n";
  auto b = build(yaml, {{"b.test", "listed"}});
  REQUIRE(b->store);
  for (std::string host : {"a.test", "b.test"}) {
    INFO(host);
    CHECK(handshake(*b->store, {.sni = host, .alpn = {"h2", "http/1.1"}}).alpn == "http/1.1");
    CHECK(handshake(*b->store, {.sni = host, .alpn = {"http/1.1"}}).alpn == "http/1.1");
    CHECK_FALSE(handshake(*b->store, {.sni = host, .alpn = {"h2"}}).ok);
    auto none = handshake(*b->store, {.sni = host});
    CHECK(none.ok);
    CHECK(none.alpn.empty());
  }
}

TEST_CASE("handshake: cipher suites and curves of non-default options apply", "[tls]") {
  TempDir dir;
  Pki pki;
  Cert a = pki.leaf({.cn = "a", .dns = {"a.test", "c12.test", "c13.test", "p384.test"}});
  std::string yaml = "tls:\n  certificates:\n" + cert_entry(dir.write("a.crt", a.cert_pem()), dir.write("a.key", a.key_pem())) +
                     "  options:\n"
                     "    c12:\n      maxVersion: VersionTLS12\n      cipherSuites: [TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384]\n"
                     "    c13:\n      cipherSuites: [TLS_CHACHA20_POLY1305_SHA256]\n"
                     "    p384:\n      curvePreferences: [CurveP384]\n";
  auto b = build(yaml, {{"c12.test", "c12"}, {"c13.test", "c13"}, {"p384.test", "p384"}});
  INFO(dump(b->diags));
  REQUIRE(b->store);
  CHECK(b->diags.items().empty());
  const TlsStore& st = *b->store;
  auto c12 = handshake(st, {.sni = "c12.test"});
  CHECK(c12.version == TLS1_2_VERSION);
  CHECK(c12.cipher == "ECDHE-ECDSA-AES256-GCM-SHA384");
  CHECK_FALSE(handshake(st, {.sni = "c12.test", .ciphers12 = "ECDHE-ECDSA-AES128-GCM-SHA256"}).ok);
  CHECK(handshake(st, {.sni = "c13.test"}).cipher == "TLS_CHACHA20_POLY1305_SHA256");
  CHECK(handshake(st, {.sni = "a.test"}).cipher == "TLS_AES_128_GCM_SHA256");
  auto p384 = handshake(st, {.sni = "p384.test"});  // the client's X25519 key share forces a HelloRetryRequest
  CHECK(p384.ok);
  CHECK(p384.group == NID_secp384r1);
  CHECK_FALSE(handshake(st, {.sni = "p384.test", .groups = "X25519:P-256"}).ok);
  CHECK(handshake(st, {.sni = "a.test"}).group == NID_X25519);
}

TEST_CASE("handshake: sessions resume with tickets, across threads, per options", "[tls]") {
  TempDir dir;
  Pki pki;
  Cert a = pki.leaf({.cn = "a", .dns = {"a.test", "b.test", "mtls.test", "noticket.test"}});
  Cert client = pki.leaf({.cn = "client"});
  std::string yaml = "tls:\n  certificates:\n" + cert_entry(dir.write("a.crt", a.cert_pem()), dir.write("a.key", a.key_pem())) +
                     "  options:\n"
                     "    other:\n      minVersion: VersionTLS12\n"
                     "    mtls:\n      clientAuth:\n        caFiles: [" + dir.write("ca.pem", pki.ca.cert_pem()) + "]\n"
                     "    noticket:\n      disableSessionTickets: true\n";
  auto b = build(yaml, {{"b.test", "other"}, {"mtls.test", "mtls"}, {"noticket.test", "noticket"}});
  INFO(dump(b->diags));
  REQUIRE(b->store);
  const TlsStore& st = *b->store;

  for (int version : {TLS1_3_VERSION, TLS1_2_VERSION}) {
    INFO("version " << version);
    for (std::string host : {"a.test", "b.test", "mtls.test"}) {
      INFO(host);
      const Cert* cert = host == "mtls.test" ? &client : nullptr;
      auto first = handshake(st, {.sni = host, .max_version = version, .cert = cert});
      REQUIRE(first.ok);
      CHECK_FALSE(first.reused);
      REQUIRE(first.session);
      Outcome second;
      std::thread([&] { second = handshake(st, {.sni = host, .max_version = version, .session = first.session.get()}); }).join();
      CHECK(second.ok);
      CHECK(second.reused);
      CHECK(second.sni == host);
    }
    // A session from the default options is not resumed under other options.
    auto first = handshake(st, {.sni = "a.test", .max_version = version});
    auto elsewhere = handshake(st, {.sni = "b.test", .max_version = version, .session = first.session.get()});
    CHECK(elsewhere.ok);
    CHECK_FALSE(elsewhere.reused);
    auto mtls = handshake(st, {.sni = "mtls.test", .max_version = version, .session = first.session.get()});
    CHECK_FALSE(mtls.ok);  // no resumption around the client certificate

    auto nt = handshake(st, {.sni = "noticket.test", .max_version = version});
    REQUIRE(nt.ok);
    auto nt2 = handshake(st, {.sni = "noticket.test", .max_version = version, .session = nt.session.get()});
    CHECK(nt2.ok);
    CHECK_FALSE(nt2.reused);
  }

  // A store built from the same files does not accept the first one's tickets.
  auto b2 = build(yaml, {{"b.test", "other"}});
  auto first = handshake(st, {.sni = "a.test"});
  auto second = handshake(*b2->store, {.sni = "a.test", .session = first.session.get()});
  CHECK(second.ok);
  CHECK_FALSE(second.reused);
}

TEST_CASE("routers on one host naming different options get the default options", "[tls]") {
  TempDir dir;
  Pki pki;
  Cert a = pki.leaf({.cn = "a", .dns = {"a.test"}});
  std::string yaml = "tls:\n  certificates:\n" + cert_entry(dir.write("a.crt", a.cert_pem()), dir.write("a.key", a.key_pem())) +
                     "  options:\n    modern:\n      minVersion: VersionTLS13\n";
  auto b = build(yaml, {{"a.test", "modern"}, {"a.test", ""}, {"b.test", "undefined"}});
  INFO(dump(b->diags));
  REQUIRE(b->store);
  REQUIRE(b->diags.items().size() == 1);
  CHECK(b->diags.items()[0].code == Code::ignored_value);
  CHECK(handshake(*b->store, {.sni = "a.test", .max_version = TLS1_2_VERSION}).ok);
  CHECK(handshake(*b->store, {.sni = "b.test", .max_version = TLS1_2_VERSION}).ok);
}

TEST_CASE("a connection outlives the store it started with", "[tls]") {
  TempDir dir;
  Pki pki;
  Cert a = pki.leaf({.cn = "a", .dns = {"a.test", "b.test"}});
  std::string yaml = "tls:\n  certificates:\n" + cert_entry(dir.write("a.crt", a.cert_pem()), dir.write("a.key", a.key_pem())) +
                     "  options:\n    other:\n      alpnProtocols: [http/1.1]\n";
  auto b = build(yaml, {{"b.test", "other"}});
  REQUIRE(b->store);
  SSL* pending_a = SSL_new(b->store->initial_context());
  SSL* pending_b = SSL_new(b->store->initial_context());
  b.reset();  // a reload dropped the store; accepted connections still handshake
  auto out = handshake(nullptr, {.sni = "a.test", .alpn = {"http/1.1"}}, pending_a);
  CHECK(out.ok);
  CHECK(out.server_cn == "a");
  auto other = handshake(nullptr, {.sni = "b.test", .alpn = {"http/1.1"}}, pending_b);
  CHECK(other.ok);
  CHECK(other.alpn == "http/1.1");
}
