// The state directory (ARCHITECTURE.md): accounts, certificates with their
// versions and specs, and the lock every writing command holds.
//
//   accounts/<directory-host>/<account-id>/account.json, key.pem
//   certs/<name>/current -> versions/<n>
//   certs/<name>/versions/<n>/cert.pem chain.pem fullchain.pem privkey.pem meta.json
//   certs/<name>/spec.json
//   lock
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "core/util/error.hpp"

namespace certroute::store {

using util::Result;

// /var/lib/certroute as root, else $XDG_STATE_HOME/certroute (~/.local/state/certroute).
std::string default_state_dir();

// Creates the state directory (0700) if missing.
Result<void> ensure_state_dir(const std::string& root);

// An flock(2) on <root>/lock, held until destroyed.
class Lock {
 public:
  // Waits up to timeout_seconds (0 = don't wait); `problem` error when busy.
  static Result<Lock> acquire(const std::string& root, double timeout_seconds);
  Lock(Lock&& o) noexcept : fd_(o.fd_) { o.fd_ = -1; }
  Lock& operator=(Lock&&) = delete;
  ~Lock();

 private:
  explicit Lock(int fd) : fd_(fd) {}
  int fd_ = -1;
};

// ---- accounts ----

struct AccountRecord {
  std::string dir;            // absolute path of accounts/<host>/<id>
  std::string id;
  std::string directory_url;
  std::string account_url;
  std::string status;
  std::vector<std::string> contact;
  std::string key_type;
  std::string created;  // RFC 3339
  nlohmann::json to_json() const;
};

// "acme-v02.api.letsencrypt.org" or "127.0.0.1_14000" for a directory URL.
std::string directory_host(const std::string& directory_url);

Result<std::vector<AccountRecord>> list_accounts(const std::string& root);
Result<std::optional<AccountRecord>> find_account(const std::string& root, const std::string& directory_url);

// Saving an account is two-phase so a registered account never loses its
// key: the key goes to a pending directory first, then the account is
// registered, then the directory is committed under the account's id.
struct PendingAccount {
  std::string dir;  // accounts/<host>/.pending-XXXX
  std::string key_path;
};
Result<PendingAccount> begin_account(const std::string& root, const std::string& directory_url, std::string_view key_pem);
Result<AccountRecord> commit_account(const std::string& root, const PendingAccount& pending, AccountRecord record);
void abandon_account(const PendingAccount& pending);

Result<void> save_account_record(const AccountRecord& record);
// Replaces key.pem atomically, keeping the old one as key.pem.old-<time>.
Result<void> replace_account_key(const AccountRecord& record, std::string_view key_pem);

// ---- certificates ----

// Cert names: [A-Za-z0-9._-], not starting with '.', at most 200 characters.
Result<void> validate_cert_name(const std::string& name);
// The default name for a list of identifiers: the first, "*." -> "_.".
std::string default_cert_name(const std::string& first_identifier);

std::string cert_dir(const std::string& root, const std::string& name);

Result<void> save_spec(const std::string& root, const std::string& name, const nlohmann::json& spec);
Result<nlohmann::json> load_spec(const std::string& root, const std::string& name);

struct VersionFiles {
  std::string cert_pem, chain_pem, fullchain_pem, privkey_pem;
  nlohmann::json meta;
};

// Writes versions/<n+1> completely (temporary directory, every file fsync'd,
// renamed into place) and then switches `current` to it by renaming a new
// symlink over the old one. Returns the new version number.
Result<int> add_version(const std::string& root, const std::string& name, const VersionFiles& files);

// The version `current` points to; nullopt when there is none yet.
Result<std::optional<int>> current_version(const std::string& root, const std::string& name);
std::string version_dir(const std::string& root, const std::string& name, int version);
// Complete versions only (temporary directories a crash left are ignored).
Result<std::vector<int>> list_versions(const std::string& root, const std::string& name);
Result<void> set_current(const std::string& root, const std::string& name, int version);
// Whether a version directory holds every file a complete version has
// (privkey.pem is optional: certificates ordered with the user's CSR).
Result<void> check_version(const std::string& root, const std::string& name, int version);
// Removes temporary directories and files left by an interrupted run.
void clear_leftovers(const std::string& root, const std::string& name);

Result<std::vector<std::string>> list_certificates(const std::string& root);

// Copies the four PEM files to `dir` atomically, keeping an existing file's
// owner, group and mode (new files: 0644, privkey 0600).
Result<void> copy_out(const std::string& version_dir, const std::string& dir);

}  // namespace certroute::store
