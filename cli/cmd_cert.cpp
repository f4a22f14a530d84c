// certroute cert show | cert check
#include <chrono>
#include <optional>

#include "cli/commands.hpp"
#include "core/crypto/certificate.hpp"
#include "core/crypto/key.hpp"
#include "core/util/file.hpp"

namespace certroute::cli {
namespace {

std::string join(const std::vector<std::string>& v) {
  std::string s;
  for (const auto& x : v) s += (s.empty() ? "" : ", ") + x;
  return s;
}

struct CertShowOptions {
  std::string file;
};

int run_cert_show(const CertShowOptions& o, const Globals& g) {
  Output out(g);
  auto data = util::read_input(o.file);
  if (!data) return out.error(data.error());
  auto chain = crypto::load_certificates(*data, o.file == "-" ? "standard input" : o.file);
  if (!chain) return out.error(chain.error());
  auto infos = crypto::certificate_infos(*chain, std::chrono::system_clock::now());

  if (out.json()) {
    nlohmann::json arr = nlohmann::json::array();
    for (const auto& c : infos) {
      nlohmann::json j{{"subject", c.subject},
                       {"issuer", c.issuer},
                       {"dns_names", c.dns_names},
                       {"ips", c.ips},
                       {"emails", c.emails},
                       {"uris", c.uris},
                       {"serial", c.serial},
                       {"not_before", crypto::format_time(c.not_before)},
                       {"not_after", crypto::format_time(c.not_after)},
                       {"days_left", c.days_left},
                       {"key", c.key},
                       {"sha256_fingerprint", c.sha256_fingerprint},
                       {"self_signed", c.self_signed}};
      j["signed_by_next"] = c.signed_by_next ? nlohmann::json(*c.signed_by_next) : nlohmann::json(nullptr);
      arr.push_back(std::move(j));
    }
    out.print_json({{"file", o.file}, {"certificates", arr}});
    return exit_ok;
  }
  if (out.quiet()) return exit_ok;
  std::string t;
  for (size_t i = 0; i < infos.size(); ++i) {
    const auto& c = infos[i];
    if (i) t += "\n";
    t += out.bold("certificate " + std::to_string(i + 1) + " of " + std::to_string(infos.size())) + "\n";
    t += "  subject:     " + c.subject + "\n";
    t += "  issuer:      " + c.issuer + "\n";
    if (!c.dns_names.empty()) t += "  DNS names:   " + join(c.dns_names) + "\n";
    if (!c.ips.empty()) t += "  IPs:         " + join(c.ips) + "\n";
    if (!c.emails.empty()) t += "  e-mails:     " + join(c.emails) + "\n";
    if (!c.uris.empty()) t += "  URIs:        " + join(c.uris) + "\n";
    t += "  serial:      " + c.serial + "\n";
    t += "  not before:  " + crypto::format_time(c.not_before) + "\n";
    std::string left = c.days_left < 0 ? out.red("expired", false)
                                        : std::to_string(c.days_left) + (c.days_left == 1 ? " day left" : " days left");
    t += "  not after:   " + crypto::format_time(c.not_after) + " (" + left + ")\n";
    t += "  key:         " + c.key + "\n";
    t += "  SHA-256:     " + c.sha256_fingerprint + "\n";
    std::string chain_text;
    if (c.signed_by_next) {
      chain_text = *c.signed_by_next ? "signed by certificate " + std::to_string(i + 2)
                                     : out.red("NOT signed by certificate " + std::to_string(i + 2), false);
    } else {
      chain_text = c.self_signed ? "self-signed" : "last in the bundle";
    }
    t += "  chain:       " + chain_text + "\n";
  }
  out.print(t);
  return exit_ok;
}

struct CertCheckOptions {
  std::string file;
  long days = 30;
  std::vector<std::string> hosts;
  std::string key_file;
  std::string passphrase_file;
};

int run_cert_check(const CertCheckOptions& o, const Globals& g) {
  Output out(g);
  const std::string source = o.file == "-" ? "standard input" : o.file;
  auto data = util::read_input(o.file);
  if (!data) return out.error(data.error());
  auto chain = crypto::load_certificates(*data, source);
  if (!chain) return out.error(chain.error());

  crypto::EvpPkey key;
  if (!o.key_file.empty()) {
    std::optional<std::string> passphrase;
    if (!o.passphrase_file.empty()) {
      auto p = util::read_passphrase_file(o.passphrase_file);
      if (!p) return out.error(p.error());
      passphrase = std::move(*p);
    }
    auto kd = util::read_file(o.key_file);
    if (!kd) return out.error(kd.error());
    auto k = crypto::load_private_key(*kd, o.key_file, passphrase);
    if (!k) return out.error(k.error());
    key = std::move(*k);
  }

  const auto now = std::chrono::system_clock::now();
  crypto::CheckOptions opts{.min_days = o.days, .hosts = o.hosts, .key = key.get()};
  auto failures = crypto::check_certificate(chain->front().get(), opts, now);
  if (!failures) return out.error(failures.error());
  auto info = crypto::certificate_infos(*chain, now).front();

  if (out.json()) {
    nlohmann::json f = nlohmann::json::array();
    for (const auto& x : *failures) f.push_back(x.message);
    out.print_json({{"file", o.file},
                    {"ok", failures->empty()},
                    {"not_after", crypto::format_time(info.not_after)},
                    {"days_left", info.days_left},
                    {"failures", f}});
  } else {
    for (const auto& x : *failures) out.failure(source + ": " + x.message);
    if (failures->empty()) {
      std::string what = source + ": OK, " + std::to_string(info.days_left) + " days left";
      if (!o.hosts.empty()) what += ", covers " + join(o.hosts);
      if (!o.key_file.empty()) what += ", matches " + o.key_file;
      out.info(what);
    }
  }
  return failures->empty() ? exit_ok : exit_problem;
}

}  // namespace

void add_cert_commands(CLI::App& app, Context& ctx) {
  auto* cert = app.add_subcommand("cert", "Inspect and check certificates");
  cert->require_subcommand(1);

  auto s = std::make_shared<CertShowOptions>();
  auto* show = cert->add_subcommand("show", "Show every certificate in a PEM bundle, and how the chain links");
  show->add_option("file", s->file, "Certificate or bundle (PEM, or one DER certificate; '-' = stdin)")->required();
  add_global_flags(show, ctx.globals);
  show->callback([&ctx, s] { ctx.run = [&ctx, s] { return run_cert_show(*s, ctx.globals); }; });

  auto c = std::make_shared<CertCheckOptions>();
  auto* check = cert->add_subcommand("check", "Exit 1 unless the certificate is valid long enough, covers the hosts and matches the key");
  check->add_option("file", c->file, "Certificate or bundle; the first certificate is checked ('-' = stdin)")->required();
  check->add_option("--days", c->days, "Fail when fewer than N days are left (default 30)")->check(non_negative());
  check->add_option("--host", c->hosts, "Fail unless the certificate covers NAME (repeatable)")->allow_extra_args(false);
  check->add_option("--key", c->key_file, "Fail unless the certificate matches this private key");
  check->add_option("--passphrase-file", c->passphrase_file, "Passphrase for an encrypted --key");
  add_global_flags(check, ctx.globals);
  check->callback([&ctx, c] { ctx.run = [&ctx, c] { return run_cert_check(*c, ctx.globals); }; });
}

}  // namespace certroute::cli
