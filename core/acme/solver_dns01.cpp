// dns-01 (RFC 8555 §8.4): TXT records set and removed by a hook program,
// then a propagation check with c-ares against the zone's authoritative
// servers (or --dns-resolver) before the server is asked to validate.
#include <ares.h>
#include <arpa/inet.h>
#include <arpa/nameser.h>
#include <netdb.h>
#include <sys/select.h>

#include <chrono>
#include <map>
#include <thread>

#include "core/acme/solver.hpp"
#include "core/crypto/ossl.hpp"
#include "core/util/base64.hpp"
#include "core/util/process.hpp"

namespace certroute::acme {
using util::ErrorKind;
using util::fail;

std::string dns01_txt_value(const std::string& key_authorization) {
  return util::base64url_encode(crypto::sha256(key_authorization));
}

std::string dns01_txt_name(const std::string& domain) {
  std::string d = domain.starts_with("*.") ? domain.substr(2) : domain;
  return "_acme-challenge." + d + ".";
}

namespace {

struct AresLibrary {
  AresLibrary() { ares_library_init(ARES_LIB_INIT_ALL); }
  ~AresLibrary() { ares_library_cleanup(); }
};

struct QueryResult {
  int status = ARES_ENOTFOUND;
  std::string answer;
};

class Resolver {
 public:
  // servers: "host:port,host:port" or "" for the system's resolv.conf.
  explicit Resolver(const std::string& servers) {
    static AresLibrary lib;
    ares_options opts{};
    opts.timeout = 2000;
    opts.tries = 2;
    ok_ = ares_init_options(&channel_, &opts, ARES_OPT_TIMEOUTMS | ARES_OPT_TRIES) == ARES_SUCCESS;
    if (ok_ && !servers.empty()) ok_ = ares_set_servers_ports_csv(channel_, servers.c_str()) == ARES_SUCCESS;
  }
  ~Resolver() {
    if (channel_) ares_destroy(channel_);
  }
  bool ok() const { return ok_; }

  QueryResult query(const std::string& name, int type) {
    QueryResult r;
    ares_query(
        channel_, name.c_str(), ns_c_in, type,
        [](void* arg, int status, int, unsigned char* abuf, int alen) {
          auto* res = static_cast<QueryResult*>(arg);
          res->status = status;
          if (abuf && alen > 0) res->answer.assign(reinterpret_cast<char*>(abuf), static_cast<size_t>(alen));
        },
        &r);
    run();
    return r;
  }

  std::vector<std::string> addresses(const std::string& host) {
    std::vector<std::string> out;
    ares_gethostbyname(
        channel_, host.c_str(), AF_INET,
        [](void* arg, int status, int, hostent* h) {
          auto* v = static_cast<std::vector<std::string>*>(arg);
          if (status != ARES_SUCCESS || !h) return;
          char buf[INET6_ADDRSTRLEN];
          for (char** a = h->h_addr_list; *a; ++a)
            if (inet_ntop(h->h_addrtype, *a, buf, sizeof buf)) v->push_back(buf);
        },
        &out);
    run();
    return out;
  }

 private:
  void run() {
    for (;;) {
      fd_set r, w;
      FD_ZERO(&r);
      FD_ZERO(&w);
      int n = ares_fds(channel_, &r, &w);
      if (n == 0) break;
      timeval tv{}, *tvp = ares_timeout(channel_, nullptr, &tv);
      select(n, &r, &w, nullptr, tvp);
      ares_process(channel_, &r, &w);
    }
  }
  ares_channel channel_ = nullptr;
  bool ok_ = false;
};

std::vector<std::string> txt_values(const std::string& answer) {
  std::vector<std::string> out;
  ares_txt_ext* txt = nullptr;
  if (ares_parse_txt_reply_ext(reinterpret_cast<const unsigned char*>(answer.data()), static_cast<int>(answer.size()),
                               &txt) != ARES_SUCCESS)
    return out;
  for (ares_txt_ext* t = txt; t; t = t->next) {
    std::string chunk(reinterpret_cast<char*>(t->txt), t->length);
    if (t->record_start || out.empty()) out.push_back(chunk);
    else out.back() += chunk;
  }
  ares_free_data(txt);
  return out;
}

// The zone apex for `name`: the closest enclosing name with an SOA record.
std::string find_zone(Resolver& system, std::string name) {
  while (!name.empty() && name.back() == '.') name.pop_back();
  while (!name.empty()) {
    auto r = system.query(name, ns_t_soa);
    if (r.status == ARES_SUCCESS) {
      ares_soa_reply* soa = nullptr;
      if (ares_parse_soa_reply(reinterpret_cast<const unsigned char*>(r.answer.data()),
                               static_cast<int>(r.answer.size()), &soa) == ARES_SUCCESS) {
        ares_free_data(soa);
        return name;
      }
    }
    auto dot = name.find('.');
    if (dot == std::string::npos) break;
    name = name.substr(dot + 1);
  }
  return {};
}

std::vector<std::string> authoritative_servers(const std::string& txt_name) {
  Resolver system("");
  if (!system.ok()) return {};
  std::string zone = find_zone(system, txt_name);
  if (zone.empty()) return {};
  auto r = system.query(zone, ns_t_ns);
  if (r.status != ARES_SUCCESS) return {};
  hostent* h = nullptr;
  if (ares_parse_ns_reply(reinterpret_cast<const unsigned char*>(r.answer.data()), static_cast<int>(r.answer.size()),
                          &h) != ARES_SUCCESS)
    return {};
  std::vector<std::string> servers;
  for (char** a = h->h_aliases; a && *a; ++a)
    for (const auto& ip : system.addresses(*a)) servers.push_back(ip + ":53");
  ares_free_hostent(h);
  return servers;
}

class Dns01Hook final : public Solver {
 public:
  explicit Dns01Hook(Dns01Options o) : o_(std::move(o)) {}
  ~Dns01Hook() override {
    // Whatever is still set is removed, also when the run failed halfway.
    for (auto& [key, rec] : records_) run("remove", rec.name, rec.value, rec.domain, rec.token);
  }
  std::string_view type() const override { return "dns-01"; }

  Result<void> start() override {
    if (o_.hook.empty())
      return fail(util::Error(ErrorKind::usage, "dns-01 needs --dns-hook").with_hint("--dns-hook CMD is called as: CMD add|remove NAME VALUE"));
    return {};
  }

  Result<void> present(const Identifier& id, const std::string& token, const std::string& key_authz) override {
    Record rec{dns01_txt_name(id.value), dns01_txt_value(key_authz),
               id.value.starts_with("*.") ? id.value.substr(2) : id.value, token};
    auto r = run("add", rec.name, rec.value, rec.domain, rec.token);
    if (!r) {
      // "remove" is always called, also when "add" failed halfway.
      (void)run("remove", rec.name, rec.value, rec.domain, rec.token);
      return r;
    }
    records_[token] = rec;
    return {};
  }

  Result<void> ready() override {
    if (o_.skip_propagation_check || records_.empty()) return {};
    auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(o_.propagation_timeout);
    double wait = 0.05;
    for (;;) {
      bool all = true;
      std::string missing;
      for (const auto& [token, rec] : records_) {
        auto v = txt_record_visible(rec.name, rec.value, o_.resolver);
        if (!v) return fail(std::move(v.error()));
        if (!*v) {
          all = false;
          missing = rec.name;
          break;
        }
      }
      if (all) return {};
      if (std::chrono::steady_clock::now() > deadline)
        return fail(util::Error(ErrorKind::problem, "dns-01: TXT record " + missing + " not visible after " +
                                                        std::to_string(static_cast<long>(o_.propagation_timeout)) + " s")
                        .with_hint("check the --dns-hook, or raise --dns-propagation-timeout"));
      std::this_thread::sleep_for(std::chrono::duration<double>(wait));
      wait = std::min(wait * 1.5, 2.0);
    }
  }

  void cleanup(const Identifier&, const std::string& token, const std::string&) override {
    auto it = records_.find(token);
    if (it == records_.end()) return;
    run("remove", it->second.name, it->second.value, it->second.domain, it->second.token);
    records_.erase(it);
  }

 private:
  struct Record {
    std::string name, value, domain, token;
  };

  Result<void> run(const char* action, const std::string& name, const std::string& value, const std::string& domain,
                   const std::string& token) {
    auto r = util::run_hook(o_.hook, {.args = {action, name, value},
                                      .env = {{"CERTROUTE_DOMAIN", domain},
                                              {"CERTROUTE_TXT_NAME", name},
                                              {"CERTROUTE_TXT_VALUE", value},
                                              {"CERTROUTE_TOKEN", token}},
                                      .timeout_seconds = 300});
    if (!r) return fail(std::move(r.error()));
    if (r->exit_code != 0)
      return fail(ErrorKind::problem, "dns-01: --dns-hook '" + o_.hook + "' " + action + " " + name + " failed: " +
                                          util::describe_hook_failure(*r, 300));
    return {};
  }

  Dns01Options o_;
  std::map<std::string, Record> records_;
};

}  // namespace

Result<bool> txt_record_visible(const std::string& name, const std::string& value, const std::string& resolver) {
  std::vector<std::string> servers;
  if (!resolver.empty()) servers.push_back(resolver);
  else servers = authoritative_servers(name);
  if (servers.empty()) servers.push_back("");  // fall back to the system resolver
  for (const auto& server : servers) {
    Resolver r(server);
    if (!r.ok()) return fail(ErrorKind::usage, "dns-01: cannot use DNS resolver '" + server + "'");
    auto q = r.query(name, ns_t_txt);
    if (q.status != ARES_SUCCESS) return false;
    bool found = false;
    for (const auto& v : txt_values(q.answer))
      if (v == value) found = true;
    if (!found) return false;
  }
  return true;
}

std::unique_ptr<Solver> make_dns01_solver(const Dns01Options& options) { return std::make_unique<Dns01Hook>(options); }

}  // namespace certroute::acme
