// certroute issue | revoke
#include <unistd.h>

#include "cli/acme_common.hpp"
#include "cli/commands.hpp"
#include "core/acme/order.hpp"
#include "core/acme/solver.hpp"
#include "core/crypto/certificate.hpp"
#include "core/crypto/csr.hpp"
#include "core/crypto/key.hpp"
#include "core/renew/obtain.hpp"
#include "core/util/file.hpp"
#include "core/util/names.hpp"

namespace certroute::cli {

util::Result<store::AccountRecord> register_account(renew::Session& session, const std::vector<std::string>& emails,
                                                    bool agree_tos, const std::string& eab_kid,
                                                    const std::string& eab_hmac_key, const std::string& key_type);

namespace {
using util::Error;
using util::ErrorKind;

struct IssueOptions {
  AcmeFlags acme;
  std::vector<std::string> domains, ips;
  std::string name;
  std::string challenge = "http-01";
  int http_port = 80;
  std::string webroot;
  int tls_alpn_port = 443;
  std::string dns_hook, dns_resolver;
  double dns_propagation_timeout = 120;
  std::string key_type;
  std::string csr;
  bool reuse_key = false;
  std::string preferred_chain, profile;
  std::vector<std::string> deploy_hooks;
  std::string out_dir;
  double timeout = 120;
  std::vector<std::string> emails;
  bool agree_tos = false;
  std::string eab_kid, eab_hmac_key;
  double hook_timeout = 300;
};

int run_issue(const IssueOptions& o, const Globals& g, CLI::App* cmd) {
  Output out(g);
  // Everything that can be refused without the network is refused first.
  if (!o.csr.empty() && !o.key_type.empty())
    return out.error(Error(ErrorKind::usage, "issue: --csr and --key-type exclude each other"));
  if (cmd->count("--http-port") && !o.webroot.empty())
    return out.error(Error(ErrorKind::usage, "issue: --http-port and --webroot exclude each other"));
  if (o.domains.empty() && o.ips.empty() && o.csr.empty())
    return out.error(Error(ErrorKind::usage, "issue: no names: give -d NAME, --ip ADDR or --csr FILE"));
  if (o.challenge == "dns-01" && o.dns_hook.empty())
    return out.error(Error(ErrorKind::usage, "issue: dns-01 needs --dns-hook CMD")
                         .with_hint("the hook is called as: CMD add|remove _acme-challenge.NAME. VALUE"));
  renew::CertSpec spec;
  for (const auto& d : o.domains) {
    auto n = util::normalize_dns_name(d);
    if (!n) return out.error(n.error());
    if (n->starts_with("*.") && o.challenge != "dns-01")
      return out.error(Error(ErrorKind::usage, "issue: " + *n + ": wildcard names can only be validated with dns-01")
                           .with_hint("add --challenge dns-01 --dns-hook CMD"));
    if (std::find(spec.domains.begin(), spec.domains.end(), *n) == spec.domains.end()) spec.domains.push_back(*n);
  }
  for (const auto& ip : o.ips) {
    auto n = util::normalize_ip(ip);
    if (!n) return out.error(n.error());
    if (o.challenge == "dns-01")
      return out.error(Error(ErrorKind::usage, "issue: IP address " + *n + " cannot be validated with dns-01")
                           .with_hint("use --challenge http-01 or tls-alpn-01 (RFC 8738)"));
    if (std::find(spec.ips.begin(), spec.ips.end(), *n) == spec.ips.end()) spec.ips.push_back(*n);
  }
  spec.name = !o.name.empty() ? o.name
              : !spec.domains.empty() ? store::default_cert_name(spec.domains.front())
              : !spec.ips.empty()     ? store::default_cert_name(spec.ips.front())
                                      : "";
  if (spec.name.empty()) {
    // Named after the CSR's first name, like any other certificate.
    auto data = util::read_file(o.csr);
    if (!data) return out.error(data.error());
    auto csr = crypto::load_csr(*data, o.csr);
    if (!csr) return out.error(csr.error());
    auto info = crypto::csr_info(csr->get());
    if (!info.dns_names.empty()) spec.name = store::default_cert_name(info.dns_names.front());
    else if (!info.ips.empty()) spec.name = store::default_cert_name(info.ips.front());
    else return out.error(Error(ErrorKind::bad_input, o.csr + ": the CSR names no DNS name or IP address"));
  }
  if (auto r = store::validate_cert_name(spec.name); !r) return out.error(r.error());
  if (!o.csr.empty()) {
    char buf[4096];
    spec.csr_file = o.csr[0] == '/' ? o.csr : std::string(::getcwd(buf, sizeof buf)) + "/" + o.csr;
  }

  auto opts = o.acme.server_options();
  spec.server_alias = o.acme.server;
  spec.ca_bundle = o.acme.ca_bundle;
  spec.key_type = o.key_type.empty() ? "ec-p256" : o.key_type;
  spec.reuse_key = o.reuse_key;
  spec.challenge = o.challenge;
  spec.http_port = o.http_port;
  spec.webroot = o.webroot;
  spec.tls_alpn_port = o.tls_alpn_port;
  spec.dns_hook = o.dns_hook;
  spec.dns_resolver = o.dns_resolver;
  spec.dns_propagation_timeout = o.dns_propagation_timeout;
  spec.preferred_chain = o.preferred_chain;
  spec.profile = o.profile;
  spec.deploy_hooks = o.deploy_hooks;
  spec.out_dir = o.out_dir;

  if (auto c = o.acme.check_server(); !c) return out.error(c.error());
  auto lock = store::Lock::acquire(opts.state_dir, o.acme.lock_timeout);
  if (!lock) return out.error(lock.error());
  auto session = renew::Session::open(opts);
  if (!session) return out.error(session.error());
  spec.server = (*session)->directory_url();
  auto account = (*session)->use_account();
  if (!account) {
    if (o.emails.empty() && !o.agree_tos) return out.error(account.error());
    account = register_account(**session, o.emails, o.agree_tos, o.eab_kid, o.eab_hmac_key, "ec-p256");
    if (!account) return out.error(account.error());
    auto say = progress_printer(g);
    if (say) say("registered account " + account->account_url);
  }
  spec.account_url = account->account_url;
  if (!o.profile.empty() && (*session)->client().directory().profiles.empty())
    return out.error(Error(ErrorKind::usage, "issue: " + (*session)->directory_url() + " offers no certificate profiles")
                         .with_hint("leave out --profile"));
  if (!o.profile.empty() && !(*session)->client().directory().profiles.count(o.profile)) {
    std::string names;
    for (const auto& [k, v] : (*session)->client().directory().profiles) names += (names.empty() ? "" : ", ") + k;
    return out.error(Error(ErrorKind::usage, "issue: the server offers no profile '" + o.profile + "'").with_hint("offered: " + names));
  }

  store::clear_leftovers(opts.state_dir, spec.name);
  auto got = renew::obtain(**session, spec, {.timeout_seconds = o.timeout, .progress = progress_printer(g)});
  if (!got) return out.error(got.error());
  if (auto w = store::save_spec(opts.state_dir, spec.name, spec.to_json()); !w) return out.error(w.error());

  auto hook_failures = renew::run_deploy_hooks(spec.deploy_hooks, spec, *got, "issued", o.hook_timeout);
  for (const auto& f : hook_failures) out.failure(f);

  if (out.json()) {
    out.print_json({{"name", spec.name},
                    {"version", got->version},
                    {"dir", got->version_dir},
                    {"cert", got->version_dir + "/cert.pem"},
                    {"chain", got->version_dir + "/chain.pem"},
                    {"fullchain", got->version_dir + "/fullchain.pem"},
                    {"privkey", spec.csr_file.empty() ? nlohmann::json(got->version_dir + "/privkey.pem") : nlohmann::json(nullptr)},
                    {"serial", got->serial},
                    {"not_after", got->not_after},
                    {"issuer", got->issuer},
                    {"names", got->names},
                    {"hook_failures", hook_failures}});
  } else {
    out.info("issued " + spec.name + " (expires " + got->not_after.substr(0, 10) + "): " + got->version_dir);
  }
  return hook_failures.empty() ? exit_ok : exit_problem;
}

struct RevokeReason {
  std::string_view name;
  int code;
};
constexpr RevokeReason kReasons[] = {{"unspecified", 0},         {"keyCompromise", 1}, {"affiliationChanged", 3},
                                     {"superseded", 4},          {"cessationOfOperation", 5}};

struct RevokeOptions {
  AcmeFlags acme;
  std::string name, cert, key;
  std::string reason = "unspecified";
};

int run_revoke(const RevokeOptions& o, const Globals& g) {
  Output out(g);
  if (o.name.empty() == o.cert.empty())
    return out.error(Error(ErrorKind::usage, "revoke: give a certificate NAME or --cert FILE (one of them)"));
  if (!o.key.empty() && o.cert.empty())
    return out.error(Error(ErrorKind::usage, "revoke: --key goes with --cert"));
  int reason = 0;
  for (const auto& r : kReasons)
    if (r.name == o.reason) reason = r.code;
  auto opts = o.acme.server_options();
  std::string cert_path = o.cert;
  if (!o.name.empty()) {
    if (auto r = store::validate_cert_name(o.name); !r) return out.error(r.error());
    auto cur = store::current_version(opts.state_dir, o.name);
    if (!cur) return out.error(cur.error());
    if (!*cur) return out.error(Error(ErrorKind::bad_input, "no certificate named '" + o.name + "' in " + opts.state_dir));
    cert_path = store::version_dir(opts.state_dir, o.name, **cur) + "/cert.pem";
    // Revoke at the server that issued it.
    if (auto spec = store::load_spec(opts.state_dir, o.name); spec && spec->contains("server")) {
      opts.server = (*spec)["server"].get<std::string>();
      if (opts.ca_bundle.empty()) opts.ca_bundle = spec->value("ca_bundle", "");
    }
  }
  auto data = util::read_file(cert_path);
  if (!data) return out.error(data.error());
  auto certs = crypto::load_certificates(*data, cert_path);
  if (!certs) return out.error(certs.error());
  unsigned char* der = nullptr;
  int n = i2d_X509(certs->front().get(), &der);
  std::string cert_der(reinterpret_cast<char*>(der), static_cast<size_t>(n));
  OPENSSL_free(der);

  crypto::EvpPkey cert_key;
  if (!o.key.empty()) {
    auto kd = util::read_file(o.key);
    if (!kd) return out.error(kd.error());
    auto k = crypto::load_private_key(*kd, o.key, std::nullopt);
    if (!k) return out.error(k.error());
    if (EVP_PKEY_eq(X509_get0_pubkey(certs->front().get()), k->get()) != 1)
      return out.error(Error(ErrorKind::bad_input, o.key + ": does not match " + cert_path));
    cert_key = std::move(*k);
  }

  if (auto c = o.acme.check_server(); !c) return out.error(c.error());
  auto lock = store::Lock::acquire(opts.state_dir, o.acme.lock_timeout);
  if (!lock) return out.error(lock.error());
  auto session = renew::Session::open(opts);
  if (!session) return out.error(session.error());
  if (cert_key) {
    (*session)->client().set_account_key(cert_key.get());
  } else {
    auto acc = (*session)->use_account();
    if (!acc) return out.error(acc.error());
  }
  auto r = acme::revoke_certificate((*session)->client(), cert_der, reason, cert_key.get());
  if (!r) return out.error(r.error());
  auto info = crypto::certificate_infos(*certs, std::chrono::system_clock::now()).front();
  if (out.json()) out.print_json({{"revoked", cert_path}, {"serial", info.serial}, {"reason", o.reason}});
  else out.info("revoked " + cert_path + " (serial " + info.serial + ", " + o.reason + ")");
  return exit_ok;
}

std::vector<std::string> challenge_names() {
  std::vector<std::string> v;
  for (const auto& c : acme::challenge_types()) v.emplace_back(c.name);
  return v;
}

}  // namespace

void add_issue_commands(CLI::App& app, Context& ctx) {
  auto o = std::make_shared<IssueOptions>();
  auto* issue = app.add_subcommand("issue", "Order a certificate from the ACME server and store it as a new version");
  issue->add_option("-d,--domain", o->domains, "DNS name (repeatable; '*.' wildcard needs dns-01)")->allow_extra_args(false);
  issue->add_option("--ip", o->ips, "IP address (repeatable; RFC 8738)")->allow_extra_args(false);
  issue->add_option("--name", o->name, "Certificate name in the state directory (default: the first name)");
  std::string ch_help;
  for (const auto& c : acme::challenge_types()) ch_help += std::string(ch_help.empty() ? "" : "; ") + std::string(c.name) + ": " + std::string(c.description);
  issue->add_option("--challenge", o->challenge, "Challenge type (default http-01). " + ch_help)
      ->check(CLI::IsMember(challenge_names()));
  issue->add_option("--http-port", o->http_port, "Port of the built-in http-01 server (default 80)")->check(CLI::Range(1, 65535));
  issue->add_option("--webroot", o->webroot, "Serve http-01 by writing files under DIR/.well-known/acme-challenge");
  issue->add_option("--tls-alpn-port", o->tls_alpn_port, "Port of the built-in tls-alpn-01 listener (default 443)")
      ->check(CLI::Range(1, 65535));
  issue->add_option("--dns-hook", o->dns_hook, "dns-01 hook, run as: CMD add|remove TXT-NAME TXT-VALUE");
  issue->add_option("--dns-resolver", o->dns_resolver, "Check dns-01 propagation against HOST:PORT (default: the zone's servers)");
  issue->add_option("--dns-propagation-timeout", o->dns_propagation_timeout, "Seconds to wait for the TXT record (default 120)")
      ->check(non_negative());
  issue->add_option("--key-type", o->key_type, "Certificate key type: " + key_type_help())->check(CLI::IsMember(key_type_names()));
  issue->add_flag("--reuse-key", o->reuse_key, "Keep the current key when renewing");
  issue->add_option("--csr", o->csr, "Use this CSR (its key stays yours) instead of generating a key");
  issue->add_option("--preferred-chain", o->preferred_chain, "Prefer the chain whose top issuer has this CN");
  issue->add_option("--profile", o->profile, "Certificate profile offered by the server");
  issue->add_option("--deploy-hook", o->deploy_hooks, "Run after issuance, with CERTROUTE_* variables (repeatable)")
      ->allow_extra_args(false);
  issue->add_option("--hook-timeout", o->hook_timeout, "Seconds a hook may run (default 300)")->check(non_negative());
  issue->add_option("--out-dir", o->out_dir, "Also copy cert.pem, chain.pem, fullchain.pem, privkey.pem here");
  issue->add_option("--timeout", o->timeout, "Give up polling the order after this many seconds (default 120)")
      ->check(positive());
  issue->add_option("--email", o->emails, "Register an account first if there is none, with this contact")
      ->allow_extra_args(false);
  issue->add_flag("--agree-tos", o->agree_tos, "Agree to the terms of service when registering");
  issue->add_option("--eab-kid", o->eab_kid, "External account binding key ID, when registering");
  issue->add_option("--eab-hmac-key", o->eab_hmac_key, "External account binding HMAC key (base64url), when registering");
  add_acme_flags(issue, o->acme);
  add_global_flags(issue, ctx.globals);
  issue->callback([&ctx, o, issue] { ctx.run = [&ctx, o, issue] { return run_issue(*o, ctx.globals, issue); }; });

  auto r = std::make_shared<RevokeOptions>();
  auto* revoke = app.add_subcommand("revoke", "Revoke a stored certificate, or any certificate with --cert");
  revoke->add_option("name", r->name, "Name of a certificate in the state directory");
  revoke->add_option("--cert", r->cert, "Certificate file to revoke instead");
  revoke->add_option("--key", r->key, "Sign the revocation with the certificate's key instead of the account");
  std::vector<std::string> reasons;
  for (const auto& x : kReasons) reasons.emplace_back(x.name);
  revoke->add_option("--reason", r->reason, "Reason: unspecified, keyCompromise, affiliationChanged, superseded, cessationOfOperation")
      ->check(CLI::IsMember(reasons));
  add_acme_flags(revoke, r->acme);
  add_global_flags(revoke, ctx.globals);
  revoke->callback([&ctx, r] { ctx.run = [&ctx, r] { return run_revoke(*r, ctx.globals); }; });
}

}  // namespace certroute::cli
