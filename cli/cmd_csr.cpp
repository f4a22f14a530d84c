// certroute csr create | csr show
#include <optional>
#include <unistd.h>

#include "cli/commands.hpp"
#include "core/crypto/csr.hpp"
#include "core/crypto/key.hpp"
#include "core/util/file.hpp"

namespace certroute::cli {
namespace {

struct CsrCreateOptions {
  crypto::CsrRequest request;
  std::string key_file;
  std::string passphrase_file;
  std::string key_type;
  std::string key_out;
  std::string out = "-";
  bool der = false;
  bool force = false;
};

nlohmann::json csr_info_json(const crypto::CsrInfo& info) {
  return {{"subject", info.subject},
          {"dns_names", info.dns_names},
          {"ips", info.ips},
          {"emails", info.emails},
          {"uris", info.uris},
          {"key", info.key},
          {"key_type", info.key_type},
          {"key_bits", info.key_bits},
          {"signature_algorithm", info.signature_algorithm},
          {"signature_valid", info.signature_valid}};
}

int run_csr_create(const CsrCreateOptions& o, const Globals& g) {
  Output out(g);
  using util::Error;
  using util::ErrorKind;
  if (!o.key_file.empty() && !o.key_out.empty())
    return out.error(Error(ErrorKind::usage, "csr create: --key and --key-out exclude each other")
                         .with_hint("--key FILE signs with an existing key; --key-out FILE generates a new one"));
  if (o.key_file.empty() && o.key_out.empty())
    return out.error(Error(ErrorKind::usage, "csr create: no key: give --key FILE or --key-out FILE")
                         .with_hint("--key FILE signs with an existing key; --key-out FILE generates a new one"));
  if (!o.key_file.empty() && !o.key_type.empty())
    return out.error(Error(ErrorKind::usage, "csr create: --key-type only applies to a new key (--key-out)"));
  if (o.key_out == "-")
    return out.error(Error(ErrorKind::usage, "csr create: --key-out needs a file name, not '-'"));
  if (o.out != "-" && o.out == o.key_out)
    return out.error(Error(ErrorKind::usage, "csr create: -o and --key-out name the same file"));
  if (o.der && o.out == "-" && ::isatty(STDOUT_FILENO))
    return out.error(Error(ErrorKind::usage, "csr create: refusing to write DER to a terminal").with_hint("use -o FILE"));

  // Validate everything before touching the disk.
  auto request = crypto::validate_csr_request(o.request);
  if (!request) return out.error(request.error());

  auto passphrase = optional_passphrase(o.passphrase_file);
  if (!passphrase) return out.error(passphrase.error());
  for (const auto& path : {o.key_out, o.out}) {
    if (!path.empty() && path != "-" && !o.force && util::file_exists(path))
      return out.error(Error(ErrorKind::problem, "writing " + path + ": file already exists")
                           .with_hint("use --force to overwrite it"));
  }

  crypto::EvpPkey key;
  std::string key_pem;
  if (!o.key_file.empty()) {
    auto data = util::read_input(o.key_file);
    if (!data) return out.error(data.error());
    auto k = crypto::load_private_key(*data, o.key_file == "-" ? "standard input" : o.key_file, *passphrase);
    if (!k) return out.error(k.error());
    key = std::move(*k);
  } else {
    auto type = crypto::parse_key_type(o.key_type.empty() ? crypto::key_type_name(crypto::default_key_type) : o.key_type);
    auto k = crypto::generate_key(*type);
    if (!k) return out.error(k.error());
    key = std::move(*k);
    auto pem = crypto::private_key_to_pem(key.get(), *passphrase);
    if (!pem) return out.error(pem.error());
    key_pem = std::move(*pem);
  }

  auto csr = crypto::build_csr(*request, key.get());
  if (!csr) return out.error(csr.error());
  auto encoded = o.der ? crypto::csr_to_der(csr->get()) : crypto::csr_to_pem(csr->get());
  if (!encoded) return out.error(encoded.error());

  if (!o.key_out.empty()) {
    if (auto w = write_output(o.key_out, key_pem, true, o.force); !w) return out.error(w.error());
  }
  if (o.out != "-" || !out.json()) {
    if (auto w = write_output(o.out, *encoded, false, o.force); !w) {
      // Leave nothing half-done: a new key without its CSR is removed again.
      if (!o.key_out.empty()) ::unlink(o.key_out.c_str());
      return out.error(w.error());
    }
  }

  // Describe what was just built from the request itself: parsing the CSR
  // back would cost more than building it.
  crypto::CsrInfo info;
  for (const auto& [k, v] : request->subject) info.subject += (info.subject.empty() ? "" : ",") + k + "=" + v;
  info.dns_names = request->dns_names;
  info.ips = request->ips;
  info.emails = request->emails;
  info.uris = request->uris;
  auto ki = crypto::key_info(key.get());
  info.key = ki.description();
  info.key_type = ki.type_name;
  info.key_bits = ki.bits;
  if (out.json()) {
    nlohmann::json j = csr_info_json(info);
    j.erase("signature_algorithm");
    j.erase("signature_valid");
    j["csr_file"] = o.out == "-" ? nlohmann::json(nullptr) : nlohmann::json(o.out);
    if (o.out == "-" && !o.der) j["csr"] = *encoded;
    j["key_file"] = o.key_out.empty() ? o.key_file : o.key_out;
    j["new_key"] = !o.key_out.empty();
    out.print_json(j);
  } else if (o.out != "-") {
    std::string names;
    for (const auto& n : info.dns_names) names += (names.empty() ? "" : ", ") + n;
    for (const auto& n : info.ips) names += (names.empty() ? "" : ", ") + n;
    out.info("wrote CSR for " + (names.empty() ? info.subject : names) + " to " + o.out +
             (o.key_out.empty() ? "" : " (new " + info.key + " key in " + o.key_out + ")"));
  }
  return exit_ok;
}

struct CsrShowOptions {
  std::string file;
};

int run_csr_show(const CsrShowOptions& o, const Globals& g) {
  Output out(g);
  auto data = util::read_input(o.file);
  if (!data) return out.error(data.error());
  auto csr = crypto::load_csr(*data, o.file == "-" ? "standard input" : o.file);
  if (!csr) return out.error(csr.error());
  auto info = crypto::csr_info(csr->get());
  if (out.json()) {
    out.print_json(csr_info_json(info));
    return exit_ok;
  }
  if (out.quiet()) return exit_ok;
  auto join = [](const std::vector<std::string>& v) {
    std::string s;
    for (const auto& x : v) s += (s.empty() ? "" : ", ") + x;
    return s;
  };
  std::string t;
  t += "subject:             " + (info.subject.empty() ? "(empty)" : info.subject) + "\n";
  if (!info.dns_names.empty()) t += "DNS names:           " + join(info.dns_names) + "\n";
  if (!info.ips.empty()) t += "IP addresses:        " + join(info.ips) + "\n";
  if (!info.emails.empty()) t += "e-mail addresses:    " + join(info.emails) + "\n";
  if (!info.uris.empty()) t += "URIs:                " + join(info.uris) + "\n";
  t += "key:                 " + info.key + "\n";
  t += "signature algorithm: " + info.signature_algorithm + "\n";
  t += "signature:           " + (info.signature_valid ? out.green("valid") : out.red("INVALID", false)) + "\n";
  out.print(t);
  return exit_ok;
}

}  // namespace

void add_csr_commands(CLI::App& app, Context& ctx) {
  auto* csr = app.add_subcommand("csr", "Create and inspect certificate signing requests");
  csr->require_subcommand(1);

  auto c = std::make_shared<CsrCreateOptions>();
  auto* create = csr->add_subcommand("create", "Create a CSR (and a new key, with --key-out)");
  create->add_option("-d,--domain", c->request.dns_names, "DNS name (repeatable; Unicode allowed; '*.' wildcard)")
      ->allow_extra_args(false);
  create->add_option("--ip", c->request.ips, "IP address SAN (repeatable)")->allow_extra_args(false);
  create->add_option("--email", c->request.emails, "E-mail address SAN (repeatable)")->allow_extra_args(false);
  create->add_option("--uri", c->request.uris, "URI SAN (repeatable)")->allow_extra_args(false);
  create->add_option("--subject", c->request.subject, "Subject, such as 'CN=x,O=Example,C=DE' (CN defaults to the first name)");
  create->add_option("-k,--key", c->key_file, "Sign with this existing private key");
  create->add_option("--passphrase-file", c->passphrase_file, "Passphrase of --key, or to encrypt the --key-out key");
  create->add_option("--key-type", c->key_type, "Type of the new key: " + key_type_help())
      ->check(CLI::IsMember(key_type_names()));
  create->add_option("--key-out", c->key_out, "Generate a new key and write it here (0600)");
  create->add_option("-o,--out", c->out, "Write the CSR here ('-' = stdout, the default)");
  create->add_flag("--der", c->der, "Write DER instead of PEM");
  create->add_flag("-f,--force", c->force, "Overwrite existing output files");
  add_global_flags(create, ctx.globals);
  create->callback([&ctx, c] { ctx.run = [&ctx, c] { return run_csr_create(*c, ctx.globals); }; });

  auto s = std::make_shared<CsrShowOptions>();
  auto* show = csr->add_subcommand("show", "Show a CSR's subject, names, key and whether its signature verifies");
  show->add_option("file", s->file, "CSR file (PEM or DER; '-' = stdin)")->required();
  add_global_flags(show, ctx.globals);
  show->callback([&ctx, s] { ctx.run = [&ctx, s] { return run_csr_show(*s, ctx.globals); }; });
}

}  // namespace certroute::cli
