// certroute key generate | key show
#include <optional>

#include "cli/commands.hpp"
#include "core/crypto/key.hpp"
#include "core/util/file.hpp"

namespace certroute::cli {
namespace {

struct KeyGenerateOptions {
  std::string type = std::string(crypto::key_type_name(crypto::default_key_type));
  std::string out = "-";
  std::string passphrase_file;
  bool force = false;
};

int run_key_generate(const KeyGenerateOptions& o, const Globals& g) {
  Output out(g);
  auto passphrase = optional_passphrase(o.passphrase_file);
  if (!passphrase) return out.error(passphrase.error());
  if (o.out != "-" && !o.force && util::file_exists(o.out))
    return out.error(util::Error(util::ErrorKind::problem, "writing " + o.out + ": file already exists")
                         .with_hint("use --force to overwrite it"));
  auto type = crypto::parse_key_type(o.type);  // validated by CLI11 already
  auto key = crypto::generate_key(*type);
  if (!key) return out.error(key.error());
  auto pem = crypto::private_key_to_pem(key->get(), *passphrase);
  if (!pem) return out.error(pem.error());
  if (auto w = write_output(o.out, *pem, true, o.force); !w) return out.error(w.error());
  if (o.out == "-") return exit_ok;

  auto info = crypto::key_info(key->get());
  if (out.json()) {
    out.print_json({{"file", o.out},
                    {"type", info.type_name},
                    {"algorithm", info.algorithm},
                    {"bits", info.bits},
                    {"encrypted", passphrase->has_value()},
                    {"public_key_sha256", info.spki_sha256}});
  } else {
    out.info("wrote " + info.description() + " key to " + o.out + (*passphrase ? " (encrypted)" : ""));
  }
  return exit_ok;
}

struct KeyShowOptions {
  std::string file;
  std::string passphrase_file;
};

int run_key_show(const KeyShowOptions& o, const Globals& g) {
  Output out(g);
  auto passphrase = optional_passphrase(o.passphrase_file);
  if (!passphrase) return out.error(passphrase.error());
  auto data = util::read_input(o.file);
  if (!data) return out.error(data.error());
  const std::string source = o.file == "-" ? "standard input" : o.file;
  auto key = crypto::load_private_key(*data, source, *passphrase);
  if (!key) return out.error(key.error());
  auto info = crypto::key_info(key->get());
  if (out.json()) {
    out.print_json({{"file", o.file},
                    {"type", info.type_name},
                    {"algorithm", info.algorithm},
                    {"curve", info.curve},
                    {"bits", info.bits},
                    {"encrypted", passphrase->has_value()},
                    {"public_key_sha256", info.spki_sha256}});
  } else if (!out.quiet()) {
    std::string text;
    text += "type:               " + (info.type_name.empty() ? info.description() : info.type_name + " (" + info.description() + ")") + "\n";
    text += "bits:               " + std::to_string(info.bits) + "\n";
    text += "public key SHA-256: " + info.spki_sha256 + "\n";
    out.print(text);
  }
  return exit_ok;
}

}  // namespace

std::vector<std::string> key_type_names() {
  std::vector<std::string> names;
  for (const auto& k : crypto::key_types()) names.emplace_back(k.name);
  return names;
}

std::string key_type_help() {
  std::string s;
  for (const auto& k : crypto::key_types()) s += (s.empty() ? "" : ", ") + std::string(k.name);
  return s;
}

void add_key_commands(CLI::App& app, Context& ctx) {
  auto* key = app.add_subcommand("key", "Generate and inspect private keys");
  key->require_subcommand(1);

  auto gen_opts = std::make_shared<KeyGenerateOptions>();
  auto* gen = key->add_subcommand("generate", "Generate a private key (0600, written atomically)");
  gen->add_option("-t,--type", gen_opts->type, "Key type: " + key_type_help() + " (default ec-p256)")
      ->check(CLI::IsMember(key_type_names()));
  gen->add_option("-o,--out", gen_opts->out, "Write the key to FILE ('-' = stdout, the default)");
  gen->add_option("--passphrase-file", gen_opts->passphrase_file, "Encrypt the key with the first line of FILE");
  gen->add_flag("-f,--force", gen_opts->force, "Overwrite an existing file");
  add_global_flags(gen, ctx.globals);
  gen->callback([&ctx, gen_opts] { ctx.run = [&ctx, gen_opts] { return run_key_generate(*gen_opts, ctx.globals); }; });

  auto show_opts = std::make_shared<KeyShowOptions>();
  auto* show = key->add_subcommand("show", "Show a private key's type, size and public-key hash");
  show->add_option("file", show_opts->file, "Key file (PEM or DER; '-' = stdin)")->required();
  show->add_option("--passphrase-file", show_opts->passphrase_file, "Passphrase for an encrypted key");
  add_global_flags(show, ctx.globals);
  show->callback([&ctx, show_opts] { ctx.run = [&ctx, show_opts] { return run_key_show(*show_opts, ctx.globals); }; });
}

util::Result<std::optional<std::string>> optional_passphrase(const std::string& passphrase_file) {
  if (passphrase_file.empty()) return std::optional<std::string>{};
  auto p = util::read_passphrase_file(passphrase_file);
  if (!p) return util::fail(std::move(p.error()));
  return std::optional<std::string>(std::move(*p));
}

util::Result<void> write_output(const std::string& path, std::string_view data, bool private_file, bool force) {
  if (path == "-") return util::write_stdout(data);
  return util::write_file_atomic(path, data, {.mode = static_cast<mode_t>(private_file ? 0600 : 0644), .overwrite = force});
}

}  // namespace certroute::cli
