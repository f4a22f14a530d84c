// certroute whoami: the test backend that answers with the request it received.
#include <iostream>

#include "cli/commands.hpp"
#include "core/proxy/whoami.hpp"

namespace certroute::cli {
namespace {

struct WhoamiCommandOptions {
  std::string listen = "127.0.0.1:8000";
  std::string name;
};

int run_whoami_command(const WhoamiCommandOptions& o, const Globals& g) {
  Output out(g);
  proxy::WhoamiOptions opts;
  opts.listen = o.listen;
  opts.name = o.name;
  // One line, flushed at once: scripts and tests read the port from it.
  opts.on_listening = [&out](const std::string& address) {
    if (out.json()) out.print_json({{"listening", address}});
    else out.info("whoami: listening on " + address);
    std::cout.flush();
  };
  auto r = proxy::run_whoami(opts);
  if (!r) return out.error(r.error());
  return exit_ok;
}

}  // namespace

void add_whoami_command(CLI::App& app, Context& ctx) {
  auto opts = std::make_shared<WhoamiCommandOptions>();
  auto* cmd = app.add_subcommand("whoami", "Serve a test HTTP backend that answers with the request it received");
  cmd->add_option("--listen", opts->listen,
                  "Listen on ADDR:PORT (default 127.0.0.1:8000; '[::1]:PORT', ':PORT' = every address; port 0 picks one)");
  cmd->add_option("--name", opts->name, "Name to report in every answer (\"Name:\" line, X-Whoami-Name header)");
  cmd->footer(
      "Paths: /api (JSON), /health (GET: status; POST a code to set it), /data?size=N[&chunked=1], /echo-body.\n"
      "Any path: ?status=NNN answers with that status, ?wait=250ms delays the answer.\n"
      "Connection: Upgrade requests get 101 and an echo of every byte sent afterwards.");
  add_global_flags(cmd, ctx.globals);
  cmd->callback([&ctx, opts] { ctx.run = [&ctx, opts] { return run_whoami_command(*opts, ctx.globals); }; });
}

}  // namespace certroute::cli
