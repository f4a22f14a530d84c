// certroute account register | show | update | rollover | deactivate
#include "cli/acme_common.hpp"
#include "cli/commands.hpp"
#include "core/acme/account.hpp"
#include "core/crypto/key.hpp"
#include "core/util/base64.hpp"
#include "core/util/file.hpp"
#include "core/util/names.hpp"

namespace certroute::cli {
namespace {
using util::Error;
using util::ErrorKind;

struct AccountOptions {
  AcmeFlags acme;
  std::vector<std::string> emails;
  bool agree_tos = false;
  std::string eab_kid, eab_hmac_key;
  std::string key_type = "ec-p256";
};

nlohmann::json account_json(const store::AccountRecord& r) {
  nlohmann::json j = r.to_json();
  j["id"] = r.id;
  j["dir"] = r.dir;
  return j;
}

util::Result<std::vector<std::string>> normalized_emails(const std::vector<std::string>& in) {
  std::vector<std::string> out;
  for (const auto& e : in) {
    auto n = util::normalize_email(e);
    if (!n) return util::fail(std::move(n.error()));
    out.push_back(*n);
  }
  return out;
}

}  // namespace

// Shared with `issue`, which registers on the fly when given --email/--agree-tos.
util::Result<store::AccountRecord> register_account(renew::Session& session, const std::vector<std::string>& emails,
                                                    bool agree_tos, const std::string& eab_kid,
                                                    const std::string& eab_hmac_key, const std::string& key_type) {
  const auto& dir = session.client().directory();
  if (!dir.terms_of_service.empty() && !agree_tos)
    return util::fail(Error(ErrorKind::usage, "registering: the server's terms of service must be accepted")
                          .with_hint("read " + dir.terms_of_service + " and add --agree-tos"));
  std::optional<acme::ExternalAccountBinding> eab;
  if (!eab_kid.empty() || !eab_hmac_key.empty()) {
    if (eab_kid.empty() || eab_hmac_key.empty())
      return util::fail(ErrorKind::usage, "registering: --eab-kid and --eab-hmac-key go together");
    auto key = util::base64url_decode(eab_hmac_key);
    if (!key || key->empty())
      return util::fail(ErrorKind::bad_input, "--eab-hmac-key: not base64url (RFC 4648 §5: A-Z a-z 0-9 - _)");
    eab = acme::ExternalAccountBinding{eab_kid, *key};
  } else if (dir.external_account_required) {
    return util::fail(Error(ErrorKind::problem, "registering: " + dir.url + " requires external account binding")
                          .with_hint("get a key ID and HMAC key from the CA and pass --eab-kid and --eab-hmac-key"));
  }
  auto existing = store::find_account(session.state_dir(), session.directory_url());
  if (!existing) return util::fail(std::move(existing.error()));
  if (*existing && (*existing)->status != "deactivated" && (*existing)->status != "revoked")
    return util::fail(Error(ErrorKind::problem, "an account for " + session.directory_url() + " exists already (" +
                                                    (*existing)->dir + ")")
                          .with_hint("certroute account show"));

  auto type = crypto::parse_key_type(key_type);
  auto key = crypto::generate_key(*type);
  if (!key) return util::fail(std::move(key.error()));
  auto pem = crypto::private_key_to_pem(key->get(), std::nullopt);
  if (!pem) return util::fail(std::move(pem.error()));
  // The key is on disk before the server knows it: a registered account never loses its key.
  auto pending = store::begin_account(session.state_dir(), session.directory_url(), *pem);
  if (!pending) return util::fail(std::move(pending.error()));
  session.set_account_key(std::move(*key));
  auto acc = acme::account_register(session.client(), {.emails = emails, .agree_tos = agree_tos, .eab = eab});
  if (!acc) {
    store::abandon_account(*pending);
    return util::fail(std::move(acc.error()));
  }
  store::AccountRecord rec;
  rec.directory_url = session.directory_url();
  rec.account_url = acc->url;
  rec.status = acc->status.empty() ? "valid" : acc->status;
  rec.contact = acc->contact;
  rec.key_type = key_type;
  return store::commit_account(session.state_dir(), *pending, rec);
}

namespace {

int run_register(const AccountOptions& o, const Globals& g) {
  Output out(g);
  auto emails = normalized_emails(o.emails);
  if (!emails) return out.error(emails.error());
  auto opts = o.acme.server_options();
  if (auto c = o.acme.check_server(); !c) return out.error(c.error());
  auto lock = store::Lock::acquire(opts.state_dir, o.acme.lock_timeout);
  if (!lock) return out.error(lock.error());
  auto session = renew::Session::open(opts);
  if (!session) return out.error(session.error());
  auto rec = register_account(**session, *emails, o.agree_tos, o.eab_kid, o.eab_hmac_key, o.key_type);
  if (!rec) return out.error(rec.error());
  if (out.json()) out.print_json(account_json(*rec));
  else out.info("registered account " + rec->account_url + " (" + rec->dir + ")");
  return exit_ok;
}

// The lock, a session with the server, and the stored account: what every
// account command but register starts with.
struct AccountSession {
  std::optional<store::Lock> lock;
  std::unique_ptr<renew::Session> session;
  store::AccountRecord record;
};

util::Result<AccountSession> open_account(const AccountOptions& o, bool take_lock) {
  AccountSession a;
  auto opts = o.acme.server_options();
  if (auto c = o.acme.check_server(); !c) return util::fail(std::move(c.error()));
  if (take_lock) {
    auto lock = store::Lock::acquire(opts.state_dir, o.acme.lock_timeout);
    if (!lock) return util::fail(std::move(lock.error()));
    a.lock.emplace(std::move(*lock));
  }
  auto session = renew::Session::open(opts);
  if (!session) return util::fail(std::move(session.error()));
  a.session = std::move(*session);
  auto rec = a.session->use_account();
  if (!rec) return util::fail(std::move(rec.error()));
  a.record = std::move(*rec);
  return a;
}

int run_show(const AccountOptions& o, const Globals& g) {
  Output out(g);
  auto a = open_account(o, false);
  if (!a) return out.error(a.error());
  auto* session = &a->session;
  auto* rec = &a->record;
  auto acc = acme::account_fetch((*session)->client());
  if (!acc) return out.error(acc.error());
  rec->status = acc->status;
  rec->contact = acc->contact;
  (void)store::save_account_record(*rec);
  auto info = crypto::key_info((*session)->account_key());
  if (out.json()) {
    auto j = account_json(*rec);
    j["key"] = info.type_name;
    j["key_sha256"] = info.spki_sha256;
    out.print_json(j);
    return exit_ok;
  }
  if (out.quiet()) return exit_ok;
  std::string contact;
  for (const auto& c : rec->contact) contact += (contact.empty() ? "" : ", ") + c;
  out.print("server:  " + rec->directory_url + "\naccount: " + rec->account_url + "\nstatus:  " + rec->status +
            "\ncontact: " + (contact.empty() ? "(none)" : contact) + "\nkey:     " + info.description() + " (" +
            rec->dir + "/key.pem)\n");
  return exit_ok;
}

int run_update(const AccountOptions& o, const Globals& g) {
  Output out(g);
  auto emails = normalized_emails(o.emails);
  if (!emails) return out.error(emails.error());
  auto a = open_account(o, true);
  if (!a) return out.error(a.error());
  auto* session = &a->session;
  auto* rec = &a->record;
  auto acc = acme::account_update_contact((*session)->client(), *emails);
  if (!acc) return out.error(acc.error());
  rec->contact = acc->contact;
  if (auto w = store::save_account_record(*rec); !w) return out.error(w.error());
  if (out.json()) out.print_json(account_json(*rec));
  else out.info("updated account " + rec->account_url);
  return exit_ok;
}

int run_rollover(const AccountOptions& o, const Globals& g) {
  Output out(g);
  auto a = open_account(o, true);
  if (!a) return out.error(a.error());
  auto* session = &a->session;
  auto* rec = &a->record;
  auto key = crypto::generate_key(*crypto::parse_key_type(o.key_type));
  if (!key) return out.error(key.error());
  auto pem = crypto::private_key_to_pem(key->get(), std::nullopt);
  if (!pem) return out.error(pem.error());
  // Write the new key beside the old one first, so whatever happens one of
  // them is on disk and matches the server.
  std::string next = rec->dir + "/key.pem.next";
  if (auto w = util::write_file_atomic(next, *pem, {.mode = 0600, .overwrite = true}); !w) return out.error(w.error());
  auto r = acme::account_key_change((*session)->client(), key->get());
  if (!r) {
    ::unlink(next.c_str());
    return out.error(r.error());
  }
  if (auto w = store::replace_account_key(*rec, *pem); !w) return out.error(w.error());
  ::unlink(next.c_str());
  rec->key_type = o.key_type;
  (void)store::save_account_record(*rec);
  auto info = crypto::key_info(key->get());
  if (out.json()) out.print_json({{"account", rec->account_url}, {"key", info.type_name}, {"key_sha256", info.spki_sha256}});
  else out.info("rolled the key of " + rec->account_url + " over to a new " + info.description() + " key");
  return exit_ok;
}

int run_deactivate(const AccountOptions& o, const Globals& g) {
  Output out(g);
  auto a = open_account(o, true);
  if (!a) return out.error(a.error());
  auto* session = &a->session;
  auto* rec = &a->record;
  auto acc = acme::account_deactivate((*session)->client());
  if (!acc) return out.error(acc.error());
  rec->status = acc->status.empty() ? "deactivated" : acc->status;
  if (auto w = store::save_account_record(*rec); !w) return out.error(w.error());
  if (out.json()) out.print_json(account_json(*rec));
  else out.info("deactivated account " + rec->account_url);
  return exit_ok;
}

}  // namespace

void add_account_commands(CLI::App& app, Context& ctx) {
  auto* account = app.add_subcommand("account", "Register and manage ACME accounts");
  account->require_subcommand(1);
  auto add = [&](const char* name, const char* help, int (*run)(const AccountOptions&, const Globals&),
                 auto&& extra) {
    auto o = std::make_shared<AccountOptions>();
    auto* cmd = account->add_subcommand(name, help);
    extra(cmd, *o);
    add_acme_flags(cmd, o->acme);
    add_global_flags(cmd, ctx.globals);
    cmd->callback([&ctx, o, run] { ctx.run = [&ctx, o, run] { return run(*o, ctx.globals); }; });
  };
  add("register", "Register an account with the ACME server (key in the state directory)", run_register,
      [](CLI::App* c, AccountOptions& o) {
        c->add_option("--email", o.emails, "Contact e-mail address (repeatable)")->allow_extra_args(false);
        c->add_flag("--agree-tos", o.agree_tos, "Agree to the server's terms of service");
        c->add_option("--eab-kid", o.eab_kid, "External account binding key ID (from the CA)");
        c->add_option("--eab-hmac-key", o.eab_hmac_key, "External account binding HMAC key, base64url");
        c->add_option("--key-type", o.key_type, "Account key type: " + key_type_help())->check(CLI::IsMember(key_type_names()));
      });
  add("show", "Show the account for the server, as the server sees it", run_show, [](CLI::App*, AccountOptions&) {});
  add("update", "Replace the account's contact addresses", run_update, [](CLI::App* c, AccountOptions& o) {
    c->add_option("--email", o.emails, "Contact e-mail address (repeatable)")->allow_extra_args(false)->required();
  });
  add("rollover", "Replace the account key (RFC 8555 key change)", run_rollover, [](CLI::App* c, AccountOptions& o) {
    c->add_option("--key-type", o.key_type, "New key type: " + key_type_help())->check(CLI::IsMember(key_type_names()));
  });
  add("deactivate", "Deactivate the account for good", run_deactivate, [](CLI::App*, AccountOptions&) {});
}

}  // namespace certroute::cli
