#include "core/renew/obtain.hpp"

#include "core/acme/issuance.hpp"
#include "core/crypto/certificate.hpp"
#include "core/crypto/csr.hpp"
#include "core/crypto/key.hpp"
#include "core/util/file.hpp"
#include "core/util/process.hpp"

namespace certroute::renew {
using util::Error;
using util::ErrorKind;
using util::fail;

namespace {

// Splits a PEM chain into the leaf and the rest.
std::pair<std::string, std::string> split_chain(const std::string& pem) {
  const std::string end = "-----END CERTIFICATE-----";
  auto p = pem.find(end);
  if (p == std::string::npos) return {pem, ""};
  p += end.size();
  if (p < pem.size() && pem[p] == '\r') ++p;
  if (p < pem.size() && pem[p] == '\n') ++p;
  std::string rest = pem.substr(p);
  while (!rest.empty() && (rest.front() == '\n' || rest.front() == '\r')) rest.erase(rest.begin());
  return {pem.substr(0, p) + (pem.substr(0, p).ends_with("\n") ? "" : "\n"), rest};
}

std::unique_ptr<acme::Solver> make_solver(const CertSpec& spec) {
  if (spec.challenge == "dns-01")
    return acme::make_dns01_solver({.hook = spec.dns_hook,
                                    .resolver = spec.dns_resolver,
                                    .propagation_timeout = spec.dns_propagation_timeout});
  if (spec.challenge == "tls-alpn-01") return acme::make_tlsalpn01_solver({.port = spec.tls_alpn_port});
  return acme::make_http01_solver({.port = spec.http_port, .webroot = spec.webroot});
}

}  // namespace

Result<Obtained> obtain(Session& session, const CertSpec& spec, const ObtainOptions& options) {
  // The key: new unless the spec says reuse-key and a current version exists.
  crypto::EvpPkey key;
  std::string key_pem;
  std::string csr_der;
  std::vector<acme::Identifier> ids;
  if (!spec.csr_file.empty()) {
    auto data = util::read_file(spec.csr_file);
    if (!data) return fail(std::move(data.error()).context("--csr"));
    auto csr = crypto::load_csr(*data, spec.csr_file);
    if (!csr) return fail(std::move(csr.error()));
    auto info = crypto::csr_info(csr->get());
    if (!info.signature_valid) return fail(ErrorKind::bad_input, spec.csr_file + ": the CSR's signature does not verify");
    EVP_PKEY* pub = X509_REQ_get0_pubkey(csr->get());
    if (pub && EVP_PKEY_eq(pub, session.account_key()) == 1)
      return fail(Error(ErrorKind::bad_input, spec.csr_file + ": the CSR uses the account key")
                      .with_hint("RFC 8555 §11.1: a certificate key must differ from the account key"));
    for (const auto& d : info.dns_names) ids.push_back({"dns", d});
    for (const auto& ip : info.ips) ids.push_back({"ip", ip});
    if (ids.empty()) return fail(ErrorKind::bad_input, spec.csr_file + ": the CSR names no DNS name or IP address");
    auto der = crypto::csr_to_der(csr->get());
    if (!der) return fail(std::move(der.error()));
    csr_der = std::move(*der);
  } else {
    if (spec.reuse_key) {
      auto cur = store::current_version(session.state_dir(), spec.name);
      if (cur && *cur) {
        std::string path = store::version_dir(session.state_dir(), spec.name, **cur) + "/privkey.pem";
        auto pem = util::read_file(path);
        if (pem) {
          auto k = crypto::load_private_key(*pem, path, std::nullopt);
          if (k) {
            key = std::move(*k);
            key_pem = *pem;
          }
        }
      }
    }
    if (!key) {
      auto type = crypto::parse_key_type(spec.key_type);
      if (!type) return fail(ErrorKind::bad_input, "unknown key type '" + spec.key_type + "' in the spec");
      auto k = crypto::generate_key(*type);
      if (!k) return fail(std::move(k.error()));
      key = std::move(*k);
      auto pem = crypto::private_key_to_pem(key.get(), std::nullopt);
      if (!pem) return fail(std::move(pem.error()));
      key_pem = std::move(*pem);
    }
    auto req = crypto::validate_csr_request({.dns_names = spec.domains, .ips = spec.ips});
    if (!req) return fail(std::move(req.error()));
    for (const auto& d : req->dns_names) ids.push_back({"dns", d});
    for (const auto& ip : req->ips) ids.push_back({"ip", ip});
    auto csr = crypto::build_csr(*req, key.get());
    if (!csr) return fail(std::move(csr.error()));
    auto der = crypto::csr_to_der(csr->get());
    if (!der) return fail(std::move(der.error()));
    csr_der = std::move(*der);
  }

  auto solver = make_solver(spec);
  if (auto r = solver->start(); !r) return fail(std::move(r.error()));
  auto issued = acme::issue_certificate(session.client(), *solver,
                                        {.identifiers = ids,
                                         .csr_der = csr_der,
                                         .preferred_chain = spec.preferred_chain,
                                         .order = {.profile = spec.profile, .replaces = options.replaces},
                                         .timeout_seconds = options.timeout_seconds,
                                         .progress = options.progress});
  solver.reset();
  if (!issued) return fail(std::move(issued.error()));

  auto certs = crypto::load_certificates(issued->chain_pem, "the downloaded chain");
  if (!certs) return fail(Error(ErrorKind::remote, certs.error().message()));
  X509* leaf = certs->front().get();
  if (key && EVP_PKEY_eq(X509_get0_pubkey(leaf), key.get()) != 1)
    return fail(ErrorKind::remote, "the issued certificate does not match the key it was requested for");
  auto info = crypto::certificate_infos(*certs, std::chrono::system_clock::now());

  Obtained got;
  got.not_after = crypto::format_time(info.front().not_after);
  got.serial = info.front().serial;
  got.names = info.front().dns_names;
  for (const auto& ip : info.front().ips) got.names.push_back(ip);
  {
    char cn[256] = {0};
    X509_NAME_get_text_by_NID(X509_get_issuer_name(certs->back().get()), NID_commonName, cn, sizeof cn);
    got.issuer = cn;
  }
  if (options.dry_run) return got;

  auto [leaf_pem, chain_pem] = split_chain(issued->chain_pem);
  store::VersionFiles files{.cert_pem = leaf_pem,
                            .chain_pem = chain_pem,
                            .fullchain_pem = issued->chain_pem,
                            .privkey_pem = key_pem,
                            .meta = {{"order", issued->order_url},
                                     {"certificate_url", issued->certificate_url},
                                     {"serial", got.serial},
                                     {"not_after", got.not_after},
                                     {"not_before", crypto::format_time(info.front().not_before)},
                                     {"issuer", got.issuer},
                                     {"names", got.names},
                                     {"key_type", spec.key_type},
                                     {"ari_offered", !session.client().directory().renewal_info.empty()},
                                     {"issued_at", crypto::format_time(std::chrono::system_clock::now())}}};
  auto v = store::add_version(session.state_dir(), spec.name, files);
  if (!v) return fail(std::move(v.error()));
  got.version = *v;
  got.version_dir = store::version_dir(session.state_dir(), spec.name, *v);
  if (!spec.out_dir.empty()) {
    if (auto r = store::copy_out(got.version_dir, spec.out_dir); !r) return fail(std::move(r.error()).context("--out-dir"));
  }
  return got;
}

std::vector<std::string> run_deploy_hooks(const std::vector<std::string>& hooks, const CertSpec& spec,
                                          const Obtained& got, const std::string& event, double timeout_seconds) {
  std::vector<std::string> failures;
  std::string domains;
  for (const auto& n : got.names) domains += (domains.empty() ? "" : " ") + n;
  for (const auto& hook : hooks) {
    auto r = util::run_hook(hook, {.env = {{"CERTROUTE_NAME", spec.name},
                                           {"CERTROUTE_DOMAINS", domains},
                                           {"CERTROUTE_CERT", got.version_dir + "/cert.pem"},
                                           {"CERTROUTE_KEY", got.version_dir + "/privkey.pem"},
                                           {"CERTROUTE_CHAIN", got.version_dir + "/chain.pem"},
                                           {"CERTROUTE_FULLCHAIN", got.version_dir + "/fullchain.pem"},
                                           {"CERTROUTE_VERSION_DIR", got.version_dir},
                                           {"CERTROUTE_NOT_AFTER", got.not_after},
                                           {"CERTROUTE_EVENT", event}},
                                   .timeout_seconds = timeout_seconds,
                                   .capture_output = true});
    if (!r) failures.push_back("deploy hook '" + hook + "': " + r.error().message());
    else if (r->exit_code != 0 || r->timed_out)
      failures.push_back("deploy hook '" + hook + "' failed: " + util::describe_hook_failure(*r, timeout_seconds));
  }
  return failures;
}

}  // namespace certroute::renew
