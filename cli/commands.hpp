// Each command group registers its subcommands here. A command declares its
// flags, fills a plain options struct, makes one core call, and turns the
// Result into output and an exit code.
#pragma once

#include <CLI/CLI.hpp>
#include <optional>

#include "cli/output.hpp"

namespace certroute::cli {

struct Context {
  Globals globals;
  Runner run;  // set by the chosen command's callback
};

void add_key_commands(CLI::App& app, Context& ctx);
void add_csr_commands(CLI::App& app, Context& ctx);
void add_cert_commands(CLI::App& app, Context& ctx);
void add_routes_commands(CLI::App& app, Context& ctx);
void add_account_commands(CLI::App& app, Context& ctx);
void add_issue_commands(CLI::App& app, Context& ctx);
void add_renew_commands(CLI::App& app, Context& ctx);
void add_whoami_command(CLI::App& app, Context& ctx);
void add_proxy_commands(CLI::App& app, Context& ctx);
// `routes render`, added below the `routes` command.
void add_routes_render_command(CLI::App* routes, Context& ctx);

// Shared helpers for commands.
std::string key_type_help();
std::vector<std::string> key_type_names();

// The passphrase from --passphrase-file, or none when the flag is empty.
util::Result<std::optional<std::string>> optional_passphrase(const std::string& passphrase_file);

// Writes `data` to `path` (or stdout for "-"); private files get mode 0600.
util::Result<void> write_output(const std::string& path, std::string_view data, bool private_file, bool force);

}  // namespace certroute::cli
