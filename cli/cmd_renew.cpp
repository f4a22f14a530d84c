// certroute renew | list | versions | rollback | remove
#include <unistd.h>

#include <chrono>
#include <ctime>
#include <cstring>
#include <filesystem>

#include "cli/acme_common.hpp"
#include "cli/commands.hpp"
#include "core/crypto/certificate.hpp"
#include "core/renew/runner.hpp"
#include "core/store/state_dir.hpp"
#include "core/util/file.hpp"

namespace certroute::cli {
namespace {
using util::Error;
using util::ErrorKind;

std::string state_dir_of(const std::string& flag) { return flag.empty() ? store::default_state_dir() : flag; }

struct StateFlags {
  std::string state_dir;
};
void add_state_flag(CLI::App* app, StateFlags& f) {
  app->add_option("--state-dir", f.state_dir, "State directory (default /var/lib/certroute as root, else ~/.local/state/certroute)")
      ->envname("CERTROUTE_STATE_DIR");
}

nlohmann::json ari_json(const std::optional<renew::AriWindow>& w) {
  if (!w) return nullptr;
  return {{"start", crypto::format_time(std::chrono::system_clock::from_time_t(w->start))},
          {"end", crypto::format_time(std::chrono::system_clock::from_time_t(w->end))},
          {"explanation_url", w->explanation_url}};
}

struct RenewCmd {
  StateFlags state;
  std::vector<std::string> names;
  bool force = false;
  long days = -1;
  bool dry_run = false;
  bool no_random_sleep = false;
  std::vector<std::string> deploy_hooks, pre_hooks, post_hooks;
  double lock_timeout = 0;
  double hook_timeout = 300;
  double timeout = 120;
  long max_wait = 300;
};

int run_renew(const RenewCmd& o, const Globals& g) {
  Output out(g);
  std::string root = state_dir_of(o.state.state_dir);
  if (!util::file_exists(root)) {
    // Nothing was ever issued here: nothing to renew. Silence for cron.
    if (out.json()) out.print_json(nlohmann::json::array());
    return exit_ok;
  }
  auto lock = store::Lock::acquire(root, o.lock_timeout);
  if (!lock) return out.error(lock.error());
  renew::RenewOptions ro{.names = o.names,
                         .force = o.force,
                         .days = o.days >= 0 ? std::optional<long>(o.days) : std::nullopt,
                         .dry_run = o.dry_run,
                         .random_sleep = !o.no_random_sleep && !::isatty(STDIN_FILENO) && !::isatty(STDOUT_FILENO) && !o.dry_run,
                         .deploy_hooks = o.deploy_hooks,
                         .pre_hooks = o.pre_hooks,
                         .post_hooks = o.post_hooks,
                         .hook_timeout = o.hook_timeout,
                         .order_timeout = o.timeout,
                         .max_wait = o.max_wait,
                         .progress = progress_printer(g)};
  auto outcomes = renew::run_renewals(root, ro);

  int code = exit_ok;
  bool bad = false, remote = false, failed = false;
  for (const auto& x : outcomes) {
    if (x.action != "failed") continue;
    failed = true;
    if (x.kind == ErrorKind::bad_input || x.kind == ErrorKind::usage) bad = true;
    if (x.kind == ErrorKind::remote) remote = true;
  }
  if (bad) code = exit_bad_input;
  else if (remote) code = exit_remote;
  else if (failed) code = exit_problem;

  if (out.json()) {
    nlohmann::json arr = nlohmann::json::array();
    for (const auto& x : outcomes)
      arr.push_back({{"name", x.name},
                     {"action", x.action},
                     {"reason", x.reason},
                     {"not_after", x.not_after.empty() ? nlohmann::json(nullptr) : nlohmann::json(x.not_after)},
                     {"version", x.version},
                     {"ari_window", ari_json(x.ari)}});
    out.print_json(arr);
    for (const auto& x : outcomes)
      if (x.action == "failed") out.failure(x.name + ": " + x.reason);
    return code;
  }
  for (const auto& x : outcomes) {
    if (x.action == "failed") out.failure(x.name + ": " + x.reason);
    else if (x.action == "renewed")
      out.info((o.dry_run ? "would renew " : "renewed ") + x.name + " (expires " + x.not_after.substr(0, 10) + ")" +
               (o.dry_run ? ": dry run succeeded" : ""));
    else out.info("skipped " + x.name + ": " + x.reason);
  }
  return code;
}

struct ListCmd {
  StateFlags state;
  std::string prometheus;
};

int run_list(const ListCmd& o, const Globals& g) {
  Output out(g);
  std::string root = state_dir_of(o.state.state_dir);
  auto entries = renew::list_certificates(root, static_cast<long>(std::time(nullptr)));
  if (!o.prometheus.empty()) {
    auto w = util::write_file_atomic(o.prometheus, renew::prometheus_text(entries), {.mode = 0644, .overwrite = true});
    if (!w) return out.error(w.error());
  }
  if (out.json()) {
    nlohmann::json arr = nlohmann::json::array();
    for (const auto& e : entries) {
      nlohmann::json j{{"name", e.name},
                       {"domains", e.domains},
                       {"not_after", e.not_after.empty() ? nlohmann::json(nullptr) : nlohmann::json(e.not_after)},
                       {"days_left", e.days_left},
                       {"due", e.due},
                       {"reason", e.reason},
                       {"version", e.version},
                       {"key_type", e.key_type},
                       {"ari_window", ari_json(e.ari)},
                       {"last_renewal", e.last}};
      if (!e.error.empty()) j["error"] = e.error;
      arr.push_back(std::move(j));
    }
    out.print_json(arr);
    return exit_ok;
  }
  if (out.quiet()) return exit_ok;
  std::string t;
  for (const auto& e : entries) {
    if (!e.error.empty()) {
      t += e.name + ": " + out.red("unreadable", false) + ": " + e.error + "\n";
      continue;
    }
    std::string domains;
    for (const auto& d : e.domains) domains += (domains.empty() ? "" : " ") + d;
    t += out.bold(e.name) + "  v" + std::to_string(e.version) + "  " + e.key_type + "  expires " + e.not_after.substr(0, 10) +
         "  " + (e.due ? out.red("due", false) + ": " : "") + e.reason + "\n    " + domains + "\n";
    if (e.last.is_object() && !e.last.value("success", true))
      t += "    last renewal failed " + e.last.value("time", "") + ": " + e.last.value("message", "") + "\n";
  }
  if (entries.empty()) t = "no certificates in " + root + "\n";
  out.print(t);
  return exit_ok;
}

struct VersionsCmd {
  StateFlags state;
  std::string name;
  int version = 0;
};

int run_versions(const VersionsCmd& o, const Globals& g) {
  Output out(g);
  std::string root = state_dir_of(o.state.state_dir);
  if (auto v = store::validate_cert_name(o.name); !v) return out.error(v.error());
  if (!util::file_exists(store::cert_dir(root, o.name)))
    return out.error(Error(ErrorKind::bad_input, "no certificate named '" + o.name + "' in " + root));
  auto versions = store::list_versions(root, o.name);
  if (!versions) return out.error(versions.error());
  auto cur = store::current_version(root, o.name);
  int current = cur && *cur ? **cur : 0;
  nlohmann::json arr = nlohmann::json::array();
  std::string t;
  for (int v : *versions) {
    std::string dir = store::version_dir(root, o.name, v);
    auto meta = util::read_file(dir + "/meta.json");
    nlohmann::json m = meta ? nlohmann::json::parse(*meta, nullptr, false) : nlohmann::json(nullptr);
    std::string not_after = m.is_object() ? m.value("not_after", "") : "";
    std::string serial = m.is_object() ? m.value("serial", "") : "";
    arr.push_back({{"version", v}, {"current", v == current}, {"not_after", not_after}, {"serial", serial}, {"dir", dir}});
    t += std::string(v == current ? "* " : "  ") + std::to_string(v) + "  expires " + not_after.substr(0, 10) + "  serial " +
         serial + "\n";
  }
  if (out.json()) out.print_json(arr);
  else if (!out.quiet()) out.print(t);
  return exit_ok;
}

int run_rollback(const VersionsCmd& o, const Globals& g, double lock_timeout) {
  Output out(g);
  std::string root = state_dir_of(o.state.state_dir);
  if (auto v = store::validate_cert_name(o.name); !v) return out.error(v.error());
  auto lock = store::Lock::acquire(root, lock_timeout);
  if (!lock) return out.error(lock.error());
  auto versions = store::list_versions(root, o.name);
  if (!versions) return out.error(versions.error());
  if (versions->empty()) return out.error(Error(ErrorKind::bad_input, "no certificate named '" + o.name + "' in " + root));
  auto cur = store::current_version(root, o.name);
  int current = cur && *cur ? **cur : 0;
  int target = o.version;
  if (target == 0) {
    for (int v : *versions)
      if (v < current) target = v;
    if (target == 0) return out.error(Error(ErrorKind::problem, o.name + ": no version before " + std::to_string(current)));
  }
  if (std::find(versions->begin(), versions->end(), target) == versions->end())
    return out.error(Error(ErrorKind::bad_input, o.name + ": no version " + std::to_string(target)));
  if (auto c = store::check_version(root, o.name, target); !c)
    return out.error(Error(ErrorKind::bad_input, "refusing to roll back to an incomplete version: " + c.error().message()));
  if (auto r = store::set_current(root, o.name, target); !r) return out.error(r.error());
  if (out.json()) out.print_json({{"name", o.name}, {"current", target}, {"previous", current}});
  else out.info(o.name + ": current is now version " + std::to_string(target) + " (was " + std::to_string(current) + ")");
  return exit_ok;
}

int run_remove(const VersionsCmd& o, const Globals& g, double lock_timeout) {
  Output out(g);
  std::string root = state_dir_of(o.state.state_dir);
  if (auto v = store::validate_cert_name(o.name); !v) return out.error(v.error());
  auto lock = store::Lock::acquire(root, lock_timeout);
  if (!lock) return out.error(lock.error());
  std::string dir = store::cert_dir(root, o.name);
  if (!util::file_exists(dir)) return out.error(Error(ErrorKind::bad_input, "no certificate named '" + o.name + "' in " + root));
  // Moved aside, never deleted: the keys stay recoverable.
  std::string removed = root + "/removed";
  std::error_code ec;
  std::filesystem::create_directories(removed, ec);
  std::string dest = removed + "/" + o.name + "." + std::to_string(std::time(nullptr));
  if (::rename(dir.c_str(), dest.c_str()) != 0)
    return out.error(Error(ErrorKind::bad_input, "moving " + dir + " to " + dest + ": " + std::strerror(errno)));
  if (out.json()) out.print_json({{"name", o.name}, {"moved_to", dest}});
  else out.info("moved " + o.name + " to " + dest + " (delete it yourself when sure)");
  return exit_ok;
}

}  // namespace

void add_renew_commands(CLI::App& app, Context& ctx) {
  auto r = std::make_shared<RenewCmd>();
  auto* renew = app.add_subcommand("renew", "Renew the certificates that are due (for cron and systemd timers)");
  renew->add_option("names", r->names, "Only these certificates (default: all)");
  renew->add_flag("--force", r->force, "Renew even if not due");
  renew->add_option("--days", r->days, "Renew when fewer than N days are left (instead of a third of the lifetime)")
      ->check(CLI::Range(0L, 100000L));
  renew->add_flag("--dry-run", r->dry_run, "Decide and order against the staging server; store nothing");
  renew->add_flag("--no-random-sleep", r->no_random_sleep, "Don't sleep 0-8 minutes first when run without a terminal");
  renew->add_option("--deploy-hook", r->deploy_hooks, "Also run after each renewal (repeatable)")->allow_extra_args(false);
  renew->add_option("--pre-hook", r->pre_hooks, "Run once before renewing, only when something is due")->allow_extra_args(false);
  renew->add_option("--post-hook", r->post_hooks, "Run once after renewing, only when something was due")->allow_extra_args(false);
  renew->add_option("--lock-timeout", r->lock_timeout, "Wait this many seconds for another certroute (default 0)")->check(non_negative());
  renew->add_option("--hook-timeout", r->hook_timeout, "Seconds a hook may run (default 300)")->check(non_negative());
  renew->add_option("--timeout", r->timeout, "Give up polling an order after this many seconds (default 120)")->check(positive());
  renew->add_option("--max-wait", r->max_wait, "Longest Retry-After to wait through, in seconds (default 300)")->check(non_negative());
  add_state_flag(renew, r->state);
  add_global_flags(renew, ctx.globals);
  renew->callback([&ctx, r] { ctx.run = [&ctx, r] { return run_renew(*r, ctx.globals); }; });

  auto l = std::make_shared<ListCmd>();
  auto* list = app.add_subcommand("list", "List the certificates in the state directory, with expiry and due state");
  list->add_option("--prometheus", l->prometheus, "Also write a node_exporter textfile here (atomically)");
  add_state_flag(list, l->state);
  add_global_flags(list, ctx.globals);
  list->callback([&ctx, l] { ctx.run = [&ctx, l] { return run_list(*l, ctx.globals); }; });

  auto v = std::make_shared<VersionsCmd>();
  auto* versions = app.add_subcommand("versions", "List the stored versions of a certificate");
  versions->add_option("name", v->name, "Certificate name")->required();
  add_state_flag(versions, v->state);
  add_global_flags(versions, ctx.globals);
  versions->callback([&ctx, v] { ctx.run = [&ctx, v] { return run_versions(*v, ctx.globals); }; });

  auto rb = std::make_shared<VersionsCmd>();
  auto rb_lock = std::make_shared<double>(0);
  auto* rollback = app.add_subcommand("rollback", "Switch a certificate's current version back (default: the previous one)");
  rollback->add_option("name", rb->name, "Certificate name")->required();
  rollback->add_option("version", rb->version, "Version number to make current")->check(CLI::Range(1, 100000000));
  rollback->add_option("--lock-timeout", *rb_lock, "Wait this many seconds for another certroute (default 0)")->check(non_negative());
  add_state_flag(rollback, rb->state);
  add_global_flags(rollback, ctx.globals);
  rollback->callback([&ctx, rb, rb_lock] { ctx.run = [&ctx, rb, rb_lock] { return run_rollback(*rb, ctx.globals, *rb_lock); }; });

  auto rm = std::make_shared<VersionsCmd>();
  auto rm_lock = std::make_shared<double>(0);
  auto* remove = app.add_subcommand("remove", "Move a certificate out of the state directory (to removed/; never deleted)");
  remove->add_option("name", rm->name, "Certificate name")->required();
  remove->add_option("--lock-timeout", *rm_lock, "Wait this many seconds for another certroute (default 0)")->check(non_negative());
  add_state_flag(remove, rm->state);
  add_global_flags(remove, ctx.globals);
  remove->callback([&ctx, rm, rm_lock] { ctx.run = [&ctx, rm, rm_lock] { return run_remove(*rm, ctx.globals, *rm_lock); }; });
}

}  // namespace certroute::cli
