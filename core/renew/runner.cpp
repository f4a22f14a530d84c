#include "core/renew/runner.hpp"

#include <unistd.h>

#include <chrono>
#include <map>
#include <memory>
#include <random>

#include "core/acme/order.hpp"
#include "core/acme/servers.hpp"
#include "core/crypto/certificate.hpp"
#include "core/renew/obtain.hpp"
#include "core/renew/session.hpp"
#include "core/store/state_dir.hpp"
#include "core/util/file.hpp"
#include "core/util/process.hpp"

namespace certroute::renew {
using util::Error;
using util::ErrorKind;
using util::fail;

namespace {

long to_unix(crypto::SysTime t) {
  return static_cast<long>(std::chrono::duration_cast<std::chrono::seconds>(t.time_since_epoch()).count());
}

std::string rfc3339(long t) { return crypto::format_time(std::chrono::system_clock::from_time_t(t)); }

nlohmann::json read_json_or_null(const std::string& path) {
  auto d = util::read_file(path);
  if (!d) return nullptr;
  auto j = nlohmann::json::parse(*d, nullptr, false);
  return j.is_discarded() ? nlohmann::json(nullptr) : j;
}

void record_last(const std::string& root, const std::string& name, bool ok, const std::string& message, long now) {
  nlohmann::json j{{"time", rfc3339(now)}, {"time_unix", now}, {"success", ok}, {"message", message}};
  auto prev = read_json_or_null(store::cert_dir(root, name) + "/last-renew.json");
  if (prev.is_object()) {
    j["last_success_unix"] = ok ? now : prev.value("last_success_unix", 0L);
  } else {
    j["last_success_unix"] = ok ? now : 0L;
  }
  (void)util::write_file_atomic(store::cert_dir(root, name) + "/last-renew.json", j.dump(2) + "\n",
                                {.mode = 0644, .overwrite = true});
}

}  // namespace

Result<CertState> load_cert_state(const std::string& root, const std::string& name) {
  CertState s;
  s.name = name;
  std::string spec_path = store::cert_dir(root, name) + "/spec.json";
  auto spec_json = store::load_spec(root, name);
  if (!spec_json) return fail(std::move(spec_json.error()));
  auto spec = CertSpec::from_json(*spec_json, spec_path);
  if (!spec) return fail(std::move(spec.error()));
  s.spec = std::move(*spec);
  auto cur = store::current_version(root, name);
  if (!cur) return fail(std::move(cur.error()));
  if (!*cur) return fail(ErrorKind::bad_input, store::cert_dir(root, name) + ": no current version");
  s.version = **cur;
  s.version_dir = store::version_dir(root, name, s.version);
  if (auto c = store::check_version(root, name, s.version); !c) return fail(std::move(c.error()));
  if (s.spec.csr_file.empty() && !util::file_exists(s.version_dir + "/privkey.pem"))
    return fail(ErrorKind::bad_input, s.version_dir + ": privkey.pem is missing");
  // meta.json, written with the version, holds what the decision needs;
  // parsing the certificate instead costs OpenSSL 3 a public-key decode
  // (about a millisecond each), which adds up over hundreds of certificates.
  auto meta = read_json_or_null(s.version_dir + "/meta.json");
  std::optional<long> nb, na;
  if (meta.is_object()) {
    s.ari_offered = meta.value("ari_offered", false);
    nb = acme::parse_rfc3339(meta.value("not_before", ""));
    na = acme::parse_rfc3339(meta.value("not_after", ""));
    s.serial = meta.value("serial", "");
    if (meta.contains("names") && meta["names"].is_array())
      for (const auto& n : meta["names"])
        if (n.is_string()) s.names.push_back(n.get<std::string>());
  }
  if (!nb || !na || s.serial.empty() || s.names.empty()) {
    auto pem = util::read_file(s.version_dir + "/cert.pem");
    if (!pem) return fail(std::move(pem.error()));
    auto certs = crypto::load_certificates(*pem, s.version_dir + "/cert.pem");
    if (!certs) return fail(std::move(certs.error()));
    auto info = crypto::certificate_summary(certs->front().get(), std::chrono::system_clock::now());
    nb = to_unix(info.not_before);
    na = to_unix(info.not_after);
    s.serial = info.serial;
    s.names = info.dns_names;
    for (const auto& ip : info.ips) s.names.push_back(ip);
  }
  s.not_before = *nb;
  s.not_after = *na;
  auto ari = read_json_or_null(store::cert_dir(root, name) + "/ari.json");
  if (ari.is_object() && ari.value("serial", "") == s.serial) {
    s.ari = AriWindow{ari.value("start", 0L), ari.value("end", 0L), ari.value("explanation_url", "")};
    s.ari_next_check = ari.value("next_check", 0L);
  }
  s.last = read_json_or_null(store::cert_dir(root, name) + "/last-renew.json");
  return s;
}

std::vector<Outcome> run_renewals(const std::string& root, const RenewOptions& o) {
  auto now = [&] {
    return o.now ? o.now() : static_cast<long>(std::time(nullptr));
  };
  std::vector<Outcome> outcomes;
  std::vector<std::string> names = o.names;
  if (names.empty()) {
    auto all = store::list_certificates(root);
    if (!all) {
      outcomes.push_back({.name = "(state directory)", .action = "failed", .reason = all.error().message(), .kind = ErrorKind::bad_input});
      return outcomes;
    }
    names = *all;
  }

  // Sessions are shared between certificates of one server.
  std::map<std::string, std::unique_ptr<Session>> sessions;
  auto session_for = [&](const CertSpec& spec, std::string server) -> Result<Session*> {
    auto it = sessions.find(server);
    if (it != sessions.end()) return it->second.get();
    auto s = Session::open({.server = server, .ca_bundle = spec.ca_bundle, .state_dir = root, .max_wait = o.max_wait});
    if (!s) return fail(std::move(s.error()));
    auto acc = (*s)->use_account();
    // A spec whose account is gone is a damaged state directory (exit 3).
    if (!acc)
      return fail(Error(ErrorKind::bad_input, acc.error().message() +
                                                  (acc.error().hint().empty() ? "" : " (" + acc.error().hint() + ")")));
    Session* raw = s->get();
    sessions[server] = std::move(*s);
    return raw;
  };

  struct Due {
    CertState state;
    std::string reason;
    std::string replaces;
  };
  std::vector<Due> due;
  for (const auto& name : names) {
    if (auto v = store::validate_cert_name(name); !v) {
      outcomes.push_back({.name = name, .action = "failed", .reason = v.error().message(), .kind = ErrorKind::bad_input});
      continue;
    }
    if (!util::file_exists(store::cert_dir(root, name))) {
      outcomes.push_back({.name = name, .action = "failed", .reason = "no certificate named '" + name + "' in " + root,
                          .kind = ErrorKind::bad_input});
      continue;
    }
    if (!o.dry_run) store::clear_leftovers(root, name);
    auto st = load_cert_state(root, name);
    if (!st) {
      outcomes.push_back({.name = name, .action = "failed", .reason = st.error().message(), .kind = ErrorKind::bad_input});
      if (!o.dry_run) record_last(root, name, false, st.error().message(), now());
      continue;
    }
    std::string replaces;
    // ARI: ask the server when its cached answer is stale.
    if (st->ari_offered && !o.force) {
      auto cert_pem = util::read_file(st->version_dir + "/cert.pem");
      auto id = cert_pem ? acme::ari_cert_id(*cert_pem) : Result<std::string>(fail(ErrorKind::bad_input, "no cert"));
      if (id) replaces = *id;
      if (id && (!st->ari || now() >= st->ari_next_check)) {
        auto s = session_for(st->spec, st->spec.server);
        if (s) {
          auto info = acme::fetch_renewal_info((*s)->client(), *id);
          if (info && *info) {
            const auto& ri = **info;
            st->ari = AriWindow{ri.window_start, ri.window_end, ri.explanation_url};
            st->ari_next_check = now() + (ri.retry_after > 0 ? ri.retry_after : 6 * 3600);
            if (!o.dry_run)
              (void)util::write_file_atomic(
                  store::cert_dir(root, name) + "/ari.json",
                  nlohmann::json{{"serial", st->serial}, {"start", ri.window_start}, {"end", ri.window_end},
                                 {"explanation_url", ri.explanation_url}, {"next_check", st->ari_next_check}}
                          .dump(2) + "\n",
                  {.mode = 0644, .overwrite = true});
            if (o.progress && !ri.explanation_url.empty())
              o.progress(name + ": the CA explains its renewal window at " + ri.explanation_url);
          }
        }
      }
    }
    DueInput in{.now = now(), .not_before = st->not_before, .not_after = st->not_after, .days = o.days,
                .ari = st->ari, .ari_seed = name + "|" + st->serial, .force = o.force};
    auto d = decide(in);
    if (!d.due) {
      outcomes.push_back({.name = name, .action = "skipped", .reason = d.reason, .not_after = rfc3339(st->not_after),
                          .ari = st->ari, .version = st->version});
      continue;
    }
    due.push_back({std::move(*st), d.reason, replaces});
  }
  if (due.empty()) return outcomes;

  if (o.random_sleep) {
    std::mt19937 rng{std::random_device{}()};
    double secs = std::uniform_real_distribution<double>(0, 480)(rng);
    if (o.progress) o.progress("sleeping " + std::to_string(static_cast<int>(secs)) + " s to spread the load (--no-random-sleep skips this)");
    if (o.sleep) o.sleep(secs);
    else ::usleep(static_cast<useconds_t>(secs * 1e6));
  }
  auto run_hooks = [&](const std::vector<std::string>& hooks, const char* what) {
    for (const auto& h : hooks) {
      auto r = util::run_hook(h, {.env = {{"CERTROUTE_EVENT", what}}, .timeout_seconds = o.hook_timeout, .capture_output = true});
      if (!r || r->exit_code != 0)
        outcomes.push_back({.name = std::string("(") + what + " hook)", .action = "failed",
                            .reason = std::string(what) + " hook '" + h + "' failed: " +
                                      (r ? util::describe_hook_failure(*r, o.hook_timeout) : r.error().message())});
    }
  };
  if (!o.dry_run) run_hooks(o.pre_hooks, "pre");

  for (auto& d : due) {
    CertSpec spec = d.state.spec;
    std::string server = spec.server;
    if (o.dry_run) {
      // Against the configured server's staging twin where there is one.
      for (const auto& a : acme::server_aliases())
        if (a.name == spec.server_alias && !a.staging.empty()) server = std::string(*acme::resolve_server(a.staging));
    }
    auto s = session_for(spec, server);
    if (!s) {
      outcomes.push_back({.name = d.state.name, .action = "failed", .reason = s.error().message(), .kind = s.error().kind()});
      if (!o.dry_run) record_last(root, d.state.name, false, s.error().message(), now());
      continue;
    }
    auto got = obtain(**s, spec, {.timeout_seconds = o.order_timeout, .replaces = d.replaces, .dry_run = o.dry_run,
                                  .progress = o.progress});
    if (!got) {
      outcomes.push_back({.name = d.state.name, .action = "failed", .reason = got.error().message(), .kind = got.error().kind()});
      if (!o.dry_run) record_last(root, d.state.name, false, got.error().message(), now());
      continue;
    }
    Outcome out{.name = d.state.name, .action = "renewed", .reason = d.reason, .not_after = got->not_after,
                .version = got->version};
    if (o.dry_run) {
      out.action = "renewed";
      out.reason = d.reason + " (dry run against " + server + "; nothing stored)";
      outcomes.push_back(out);
      continue;
    }
    outcomes.push_back(out);
    record_last(root, d.state.name, true, "renewed", now());
    std::vector<std::string> hooks = spec.deploy_hooks;
    hooks.insert(hooks.end(), o.deploy_hooks.begin(), o.deploy_hooks.end());
    for (const auto& f : run_deploy_hooks(hooks, spec, *got, "renewed", o.hook_timeout))
      outcomes.push_back({.name = d.state.name, .action = "failed", .reason = f, .kind = ErrorKind::problem});
  }
  if (!o.dry_run) run_hooks(o.post_hooks, "post");
  return outcomes;
}

std::vector<ListEntry> list_certificates(const std::string& root, long now) {
  std::vector<ListEntry> out;
  auto names = store::list_certificates(root);
  if (!names) return out;
  for (const auto& name : *names) {
    ListEntry e;
    e.name = name;
    auto st = load_cert_state(root, name);
    if (!st) {
      e.error = st.error().message();
      e.due = true;
      e.reason = "unreadable";
      out.push_back(std::move(e));
      continue;
    }
    e.domains = st->names;
    e.not_after = rfc3339(st->not_after);
    e.days_left = (st->not_after - now) / 86400;
    auto d = decide({.now = now, .not_before = st->not_before, .not_after = st->not_after, .ari = st->ari,
                     .ari_seed = name + "|" + st->serial});
    e.due = d.due;
    e.reason = d.reason;
    e.version = st->version;
    e.key_type = st->spec.csr_file.empty() ? st->spec.key_type : "csr";
    e.ari = st->ari;
    e.last = st->last;
    out.push_back(std::move(e));
  }
  return out;
}

std::string prometheus_text(const std::vector<ListEntry>& entries) {
  auto label = [](const std::string& v) {
    std::string s;
    for (char c : v) {
      if (c == '\\' || c == '"') s += '\\';
      if (c == '\n') {
        s += "\\n";
        continue;
      }
      s += c;
    }
    return s;
  };
  std::string t;
  t += "# HELP certroute_cert_not_after_seconds Expiry of the current certificate, unix seconds.\n";
  t += "# TYPE certroute_cert_not_after_seconds gauge\n";
  for (const auto& e : entries) {
    if (!e.error.empty()) continue;
    auto na = acme::parse_rfc3339(e.not_after).value_or(0);
    t += "certroute_cert_not_after_seconds{name=\"" + label(e.name) + "\"} " + std::to_string(na) + "\n";
  }
  t += "# HELP certroute_cert_due Whether the certificate is due for renewal (1) or not (0).\n";
  t += "# TYPE certroute_cert_due gauge\n";
  for (const auto& e : entries) t += "certroute_cert_due{name=\"" + label(e.name) + "\"} " + (e.due ? "1" : "0") + "\n";
  t += "# HELP certroute_last_renew_success_timestamp_seconds Time of the last successful renewal, unix seconds.\n";
  t += "# TYPE certroute_last_renew_success_timestamp_seconds gauge\n";
  for (const auto& e : entries) {
    long ts = e.last.is_object() ? e.last.value("last_success_unix", 0L) : 0L;
    t += "certroute_last_renew_success_timestamp_seconds{name=\"" + label(e.name) + "\"} " + std::to_string(ts) + "\n";
  }
  t += "# HELP certroute_last_renew_failure Whether the last renewal attempt failed (1) or not (0).\n";
  t += "# TYPE certroute_last_renew_failure gauge\n";
  for (const auto& e : entries) {
    bool failed = !e.error.empty() || (e.last.is_object() && !e.last.value("success", true));
    t += "certroute_last_renew_failure{name=\"" + label(e.name) + "\"} " + (failed ? "1" : "0") + "\n";
  }
  return t;
}

}  // namespace certroute::renew
