// certroute routes render --to TARGET PATH...
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <iostream>

#include "cli/commands.hpp"
#include "core/routes/lint.hpp"
#include "core/routes/render/renderer.hpp"
#include "core/routes/report.hpp"
#include "core/util/file.hpp"

namespace certroute::cli {
namespace {
using util::Error;
using util::ErrorKind;

struct RenderCmd {
  std::string target;
  std::vector<std::string> paths;
  std::string out;
  bool strict = false;
  std::vector<std::string> entry_points;
  std::string k8s_namespace = "default";
  bool standalone = false;
};

bool is_dir_target(const std::string& out) {
  if (out.empty() || out == "-") return false;
  struct stat st {};
  if (::stat(out.c_str(), &st) == 0) return S_ISDIR(st.st_mode);
  return out.back() == '/';
}

int run_render(const RenderCmd& o, const Globals& g) {
  Output out(g);
  const auto* target = routes::render::find_target(o.target);
  routes::render::RenderOptions ro;
  ro.k8s_namespace = o.k8s_namespace;
  ro.standalone = o.standalone;
  ro.inputs = o.paths;
  for (const auto& spec : o.entry_points) {
    std::string err;
    auto ep = routes::render::parse_entry_point(spec, err);
    if (ep.name.empty()) return out.error(Error(ErrorKind::usage, "routes render: --entrypoint '" + spec + "': " + err));
    ro.entry_points.push_back(ep);
  }
  const bool to_dir = is_dir_target(o.out);
  if (to_dir) {
    std::error_code ec;
    std::filesystem::create_directories(o.out, ec);
    if (ec) return out.error(Error(ErrorKind::bad_input, "creating " + o.out + ": " + ec.message()));
    ro.output_dir = std::filesystem::absolute(o.out).lexically_normal().string();
    while (ro.output_dir.size() > 1 && ro.output_dir.back() == '/') ro.output_dir.pop_back();
  }

  auto loaded = routes::load_config(o.paths);
  if (!loaded.errors.empty()) {
    for (size_t i = 1; i < loaded.errors.size(); ++i) out.failure(loaded.errors[i]);
    return out.error(Error(ErrorKind::bad_input, loaded.errors.front()));
  }
  routes::lint(loaded);
  if (loaded.diagnostics.errors() > 0) {
    std::cerr << routes::format_text(loaded, {.errors_only = true});
    return out.error(Error(ErrorKind::problem, "routes render: the route files have " +
                                                   std::to_string(loaded.diagnostics.errors()) +
                                                   " lint error(s); fix them first (certroute routes lint)"));
  }
  // Only what the target reports goes to the user here: lint warnings are
  // `routes lint`'s business.
  routes::LoadedConfig& cfg = loaded;
  routes::Diagnostics render_diags;
  auto renderer = target->make();
  auto result = renderer->render(cfg, ro, render_diags);
  render_diags.sort();
  for (const auto& d : render_diags.items()) {
    std::string where = cfg.sources.path_of(d.pos);
    if (d.pos.line > 0) where += ":" + std::to_string(d.pos.line) + ":" + std::to_string(d.pos.column);
    std::cerr << (where.empty() ? "" : where + ": ") << (o.strict ? "error" : "warning") << ": " << d.message << " ["
              << routes::code_info(d.code).id << "]\n";
  }

  if (!result.side_files.empty() && !to_dir)
    return out.error(Error(ErrorKind::usage, "routes render --to " + o.target + ": this configuration needs files beside the output (" +
                                                 result.side_files.front().name + ")")
                         .with_hint("render into a directory: -o DIR/"));
  if (to_dir) {
    for (const auto& f : result.side_files) {
      auto w = util::write_file_atomic(ro.output_dir + "/" + f.name, f.content,
                                       {.mode = static_cast<mode_t>(f.secret ? 0600 : 0644), .overwrite = true});
      if (!w) return out.error(w.error());
    }
    auto w = util::write_file_atomic(ro.output_dir + "/" + result.main_name, result.main, {.mode = 0644, .overwrite = true});
    if (!w) return out.error(w.error());
    out.info("wrote " + ro.output_dir + "/" + result.main_name);
  } else if (!o.out.empty() && o.out != "-") {
    auto w = util::write_file_atomic(o.out, result.main, {.mode = 0644, .overwrite = true});
    if (!w) return out.error(w.error());
  } else {
    out.print(result.main);
  }
  return (o.strict && !render_diags.items().empty()) ? exit_problem : exit_ok;
}

}  // namespace

void add_routes_render_command(CLI::App* routes_cmd, Context& ctx) {
  auto o = std::make_shared<RenderCmd>();
  std::vector<std::string> names;
  std::string help;
  for (const auto& t : routes::render::targets()) {
    names.emplace_back(t.name);
    help += "\n  " + std::string(t.name) + ": " + std::string(t.description);
  }
  auto* render = routes_cmd->add_subcommand("render", "Render route files for nginx, HAProxy, Caddy or Kubernetes");
  render->add_option("--to", o->target, "Target:" + help)->required()->check(CLI::IsMember(names));
  render->add_option("paths", o->paths, "Route files or directories (Traefik dynamic configuration)")->required();
  render->add_option("-o,--out", o->out, "Write to FILE, or into DIR/ with the files the config needs (default stdout)");
  render->add_flag("--strict", o->strict, "Exit 1 when the target cannot express something");
  render->add_option("--entrypoint", o->entry_points, "NAME=[ADDR]:PORT the rendered proxy listens on (default web=:80, websecure=:443)")
      ->allow_extra_args(false);
  render->add_option("--namespace", o->k8s_namespace, "Kubernetes namespace (default default)");
  render->add_flag("--standalone", o->standalone, "nginx: a whole nginx.conf instead of an http{} include");
  add_global_flags(render, ctx.globals);
  render->callback([&ctx, o] { ctx.run = [&ctx, o] { return run_render(*o, ctx.globals); }; });
}

}  // namespace certroute::cli
