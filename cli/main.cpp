// certroute: the thin shell over certroute_core. Parses the command line,
// runs the chosen command, maps errors to exit codes.
#include <clocale>
#include <csignal>
#include <curl/curl.h>
#include <dlfcn.h>
#include <iostream>

#include <openssl/crypto.h>

#include "cli/commands.hpp"

#ifndef CERTROUTE_VERSION
#define CERTROUTE_VERSION "0.0.0"
#endif

namespace certroute::cli {
namespace {

// libcurl is loaded on demand, not linked: loading it and its ~30 dependent
// libraries costs more start-up time than a whole `openssl req` run, and only
// the ACME commands need it.
std::string curl_version_text() {
  void* h = dlopen("libcurl.so.4", RTLD_LAZY | RTLD_LOCAL);
  if (!h) return "libcurl not found";
  // curl_version_info, not curl_version: the latter initialises every
  // back-end (LDAP, SASL) just to name them.
  using Fn = curl_version_info_data* (*)(CURLversion);
  auto fn = reinterpret_cast<Fn>(dlsym(h, "curl_version_info"));
  if (!fn) return "libcurl (version unknown)";
  const curl_version_info_data* d = fn(CURLVERSION_NOW);
  return std::string("libcurl/") + d->version + (d->ssl_version ? std::string(" ") + d->ssl_version : "");
}

std::string version_text() {
  return std::string("certroute ") + CERTROUTE_VERSION + "\n" + OpenSSL_version(OPENSSL_VERSION) + "\n" +
         curl_version_text();
}

// Prints every command path and its long options, one command a line, for the
// test that keeps the shell completions in sync with the CLI.
void print_command_spec(const CLI::App* app, const std::string& path) {
  std::string line = path.empty() ? "certroute" : path;
  line += '\t';
  for (const CLI::Option* opt : app->get_options()) {
    for (const auto& l : opt->get_lnames()) line += "--" + l + " ";
  }
  std::cout << line << '\n';
  for (const CLI::App* sub : app->get_subcommands({})) {
    if (sub->get_group().empty()) continue;  // hidden
    print_command_spec(sub, path.empty() ? sub->get_name() : path + " " + sub->get_name());
  }
}

std::string command_path(const CLI::App* app) {
  std::string p;
  for (const CLI::App* a = app; a && a->get_parent(); a = a->get_parent()) p = a->get_name() + (p.empty() ? "" : " " + p);
  return p;
}

}  // namespace
}  // namespace certroute::cli

int main(int argc, char** argv) {
  using namespace certroute::cli;
  // Arguments are taken as UTF-8 bytes whatever the locale; nothing here is
  // locale-dependent, so stay in the "C" locale.
  // A peer closing a socket (challenge servers, later the proxy) must be an
  // error on that connection, not the death of the process.
  std::signal(SIGPIPE, SIG_IGN);
  Context ctx;
  CLI::App app{"certroute: certificates (keys, CSRs, ACME, renewal) and routes (Traefik dynamic configuration)"};
  app.name("certroute");
  app.require_subcommand(1);
  app.set_version_flag("-V,--version", [] { return version_text(); }, "Print the version of certroute, OpenSSL and libcurl");
  app.footer("Run 'certroute COMMAND --help' for a command's flags; 'man certroute' for the whole manual.");
  add_global_flags(&app, ctx.globals);

  // The command groups, each with the top-level names it registers. When the
  // first argument names one, only that group is built: constructing the
  // whole CLI11 tree costs more than a key generation, and `csr create` is
  // benchmarked as a whole process. Anything else (--help, a typo, global
  // flags first, __commands) builds them all.
  struct Group {
    std::initializer_list<std::string_view> names;
    void (*add)(CLI::App&, Context&);
  };
  static const Group groups[] = {
      {{"key"}, add_key_commands},
      {{"csr"}, add_csr_commands},
      {{"cert"}, add_cert_commands},
      {{"account"}, add_account_commands},
      {{"issue", "revoke"}, add_issue_commands},
      {{"renew", "list", "versions", "rollback", "remove"}, add_renew_commands},
      {{"routes"}, add_routes_commands},
      {{"whoami"}, add_whoami_command},
      {{"proxy"}, add_proxy_commands},
  };
  const Group* only = nullptr;
  if (argc > 1) {
    for (const auto& g : groups)
      for (auto n : g.names)
        if (n == argv[1]) only = &g;
  }
  for (const auto& g : groups)
    if (!only || only == &g) g.add(app, ctx);

  bool spec = false;
  auto* spec_cmd = app.add_subcommand("__commands", "List commands and options (for the completion test)");
  spec_cmd->group("");
  spec_cmd->callback([&] { spec = true; });

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp&) {
    std::cout << app.help();
    return exit_ok;
  } catch (const CLI::CallForAllHelp&) {
    std::cout << app.help("", CLI::AppFormatMode::All);
    return exit_ok;
  } catch (const CLI::CallForVersion&) {
    std::cout << version_text() << '\n';
    return exit_ok;
  } catch (const CLI::ParseError& e) {
    // Find the deepest subcommand that was parsed, for the message and the hint.
    const CLI::App* at = &app;
    for (bool deeper = true; deeper;) {
      deeper = false;
      for (const CLI::App* sub : at->get_subcommands()) {
        at = sub;
        deeper = true;
        break;
      }
    }
    std::string path = command_path(at);
    // CLI11 reports a missing subcommand before it reports the word it did
    // not know: name the unknown word instead, it is what the user typed.
    auto rest = at->remaining();
    if (!rest.empty() && at->get_require_subcommand_min() > 0 && at->get_subcommands().empty()) {
      const std::string& word = rest.front();
      std::string commands;
      for (const CLI::App* sub : at->get_subcommands({}))
        if (!sub->get_group().empty()) commands += (commands.empty() ? "" : ", ") + sub->get_name();
      std::cerr << "certroute: " << (path.empty() ? "" : path + ": ")
                << (word.starts_with("-") ? "unknown option '" + word + "'" : "unknown command '" + word + "'") << '\n';
      std::cerr << "hint: commands: " << commands << "; run 'certroute " << (path.empty() ? "" : path + " ")
                << "--help'\n";
      return exit_usage;
    }
    std::cerr << "certroute: " << (path.empty() ? "" : path + ": ") << e.what() << '\n';
    std::cerr << "hint: run 'certroute " << (path.empty() ? "" : path + " ") << "--help'\n";
    return exit_usage;
  }
  if (spec) {
    print_command_spec(&app, "");
    return exit_ok;
  }
  if (!ctx.run) {
    std::cerr << app.help();
    return exit_usage;
  }
  try {
    return ctx.run();
  } catch (const std::exception& e) {
    std::cerr << "certroute: internal error: " << e.what() << '\n';
    return exit_internal;
  }
}
