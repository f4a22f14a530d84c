#include "core/store/state_dir.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <random>
#include <thread>

#include "core/crypto/ossl.hpp"
#include "core/util/file.hpp"

namespace certroute::store {
using util::Error;
using util::ErrorKind;
using util::fail;
namespace fs = std::filesystem;

namespace {

std::string random_suffix() {
  static std::mt19937_64 rng{std::random_device{}()};
  static const char a[] = "abcdefghijklmnopqrstuvwxyz0123456789";
  std::string s(8, 'x');
  for (auto& c : s) c = a[rng() % (sizeof a - 1)];
  return s;
}

Result<void> mkdirs(const std::string& path, mode_t mode) {
  std::error_code ec;
  fs::create_directories(path, ec);
  if (ec) return fail(ErrorKind::bad_input, "creating " + path + ": " + ec.message());
  ::chmod(path.c_str(), mode);
  return {};
}

void fsync_dir(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd >= 0) {
    ::fsync(fd);
    ::close(fd);
  }
}

Result<nlohmann::json> read_json(const std::string& path) {
  auto data = util::read_file(path);
  if (!data) return fail(std::move(data.error()));
  auto j = nlohmann::json::parse(*data, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return fail(ErrorKind::bad_input, path + ": not a JSON object (damaged?)");
  return j;
}

std::string now_rfc3339() {
  std::time_t t = std::time(nullptr);
  struct tm tm {};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

AccountRecord record_from_json(const nlohmann::json& j, const std::string& dir, const std::string& id) {
  AccountRecord r;
  r.dir = dir;
  r.id = id;
  r.directory_url = j.value("directory", "");
  r.account_url = j.value("url", "");
  r.status = j.value("status", "");
  r.key_type = j.value("key_type", "");
  r.created = j.value("created", "");
  if (j.contains("contact") && j["contact"].is_array())
    for (const auto& c : j["contact"])
      if (c.is_string()) r.contact.push_back(c.get<std::string>());
  return r;
}

bool is_number(const std::string& s) {
  return !s.empty() && s.size() < 9 && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

// Writes one file inside a directory being assembled (no rename dance
// needed: the whole directory is renamed into place afterwards).
Result<void> write_new_file(const std::string& path, std::string_view data, mode_t mode) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
  if (fd < 0) return fail(ErrorKind::bad_input, "writing " + path + ": " + std::strerror(errno));
  ::fchmod(fd, mode);
  size_t off = 0;
  while (off < data.size()) {
    ssize_t n = ::write(fd, data.data() + off, data.size() - off);
    if (n < 0) {
      if (errno == EINTR) continue;
      int err = errno;
      ::close(fd);
      return fail(ErrorKind::bad_input, "writing " + path + ": " + std::strerror(err));
    }
    off += static_cast<size_t>(n);
  }
  if (::fsync(fd) != 0 || ::close(fd) != 0)
    return fail(ErrorKind::bad_input, "writing " + path + ": " + std::strerror(errno));
  return {};
}

}  // namespace

std::string default_state_dir() {
  if (::geteuid() == 0) return "/var/lib/certroute";
  if (const char* x = std::getenv("XDG_STATE_HOME"); x && *x) return std::string(x) + "/certroute";
  if (const char* h = std::getenv("HOME"); h && *h) return std::string(h) + "/.local/state/certroute";
  return "/var/lib/certroute";
}

Result<void> ensure_state_dir(const std::string& root) {
  struct stat st {};
  if (::stat(root.c_str(), &st) == 0) {
    if (!S_ISDIR(st.st_mode)) return fail(ErrorKind::bad_input, "state directory " + root + ": not a directory");
    return {};
  }
  return mkdirs(root, 0700);
}

Lock::~Lock() {
  if (fd_ >= 0) ::close(fd_);
}

Result<Lock> Lock::acquire(const std::string& root, double timeout_seconds) {
  if (auto r = ensure_state_dir(root); !r) return fail(std::move(r.error()));
  std::string path = root + "/lock";
  int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) return fail(ErrorKind::bad_input, "opening " + path + ": " + std::strerror(errno));
  auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(timeout_seconds);
  for (;;) {
    if (::flock(fd, LOCK_EX | LOCK_NB) == 0) return Lock(fd);
    if (errno != EWOULDBLOCK && errno != EINTR) {
      int err = errno;
      ::close(fd);
      return fail(ErrorKind::bad_input, "locking " + path + ": " + std::strerror(err));
    }
    if (std::chrono::steady_clock::now() >= deadline) {
      ::close(fd);
      return fail(Error(ErrorKind::problem, "state directory " + root + " is busy: another certroute holds " + path)
                      .with_hint("wait for it to finish, or use --lock-timeout SECONDS"));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
}

nlohmann::json AccountRecord::to_json() const {
  return {{"directory", directory_url}, {"url", account_url}, {"status", status},
          {"contact", contact},         {"key_type", key_type}, {"created", created}};
}

std::string directory_host(const std::string& url) {
  std::string s = url;
  if (auto p = s.find("://"); p != std::string::npos) s = s.substr(p + 3);
  s = s.substr(0, s.find('/'));
  for (auto& c : s)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '-')) c = '_';
  return s.empty() ? "unknown" : s;
}

Result<std::vector<AccountRecord>> list_accounts(const std::string& root) {
  std::vector<AccountRecord> out;
  std::error_code ec;
  fs::path base = fs::path(root) / "accounts";
  if (!fs::exists(base, ec)) return out;
  for (const auto& host : fs::directory_iterator(base, ec)) {
    if (!host.is_directory()) continue;
    for (const auto& acc : fs::directory_iterator(host.path(), ec)) {
      std::string id = acc.path().filename().string();
      if (!acc.is_directory() || id.starts_with(".")) continue;
      auto j = read_json((acc.path() / "account.json").string());
      if (!j) return fail(std::move(j.error()));
      out.push_back(record_from_json(*j, acc.path().string(), id));
    }
  }
  std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.dir < b.dir; });
  return out;
}

Result<std::optional<AccountRecord>> find_account(const std::string& root, const std::string& directory_url) {
  auto all = list_accounts(root);
  if (!all) return fail(std::move(all.error()));
  std::optional<AccountRecord> found;
  for (auto& a : *all) {
    if (a.directory_url != directory_url) continue;
    if (a.status == "deactivated" || a.status == "revoked") {
      if (!found) found = a;
      continue;
    }
    return std::optional<AccountRecord>(a);
  }
  return found;
}

Result<PendingAccount> begin_account(const std::string& root, const std::string& directory_url, std::string_view key_pem) {
  std::string host_dir = root + "/accounts/" + directory_host(directory_url);
  if (auto r = mkdirs(host_dir, 0700); !r) return fail(std::move(r.error()));
  PendingAccount p;
  p.dir = host_dir + "/.pending-" + random_suffix();
  if (::mkdir(p.dir.c_str(), 0700) != 0)
    return fail(ErrorKind::bad_input, "creating " + p.dir + ": " + std::strerror(errno));
  p.key_path = p.dir + "/key.pem";
  if (auto r = write_new_file(p.key_path, key_pem, 0600); !r) {
    abandon_account(p);
    return fail(std::move(r.error()));
  }
  fsync_dir(p.dir);
  return p;
}

Result<AccountRecord> commit_account(const std::string& root, const PendingAccount& pending, AccountRecord record) {
  (void)root;
  // The id: the last path segment of the account URL when it is tame.
  std::string url = record.account_url;
  std::string id = url.substr(url.rfind('/') + 1);
  bool tame = !id.empty() && id.size() <= 64 &&
              std::all_of(id.begin(), id.end(), [](char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_'; });
  if (!tame) {
    std::string h = crypto::sha256(url);
    id = crypto::hex(reinterpret_cast<const unsigned char*>(h.data()), 8);
  }
  if (record.created.empty()) record.created = now_rfc3339();
  std::string account_json = record.to_json().dump(2) + "\n";
  if (auto r = write_new_file(pending.dir + "/account.json", account_json, 0600); !r) return fail(std::move(r.error()));
  fs::path final_dir = fs::path(pending.dir).parent_path() / id;
  if (::rename(pending.dir.c_str(), final_dir.c_str()) != 0) {
    return fail(ErrorKind::bad_input, "saving the account to " + final_dir.string() + ": " + std::strerror(errno) +
                                          " (the key is kept in " + pending.dir + ")");
  }
  fsync_dir(final_dir.parent_path().string());
  record.dir = final_dir.string();
  record.id = id;
  return record;
}

void abandon_account(const PendingAccount& pending) {
  std::error_code ec;
  fs::remove_all(pending.dir, ec);
  // Leave no empty accounts/<host>/ behind either.
  fs::path host = fs::path(pending.dir).parent_path();
  if (fs::is_empty(host, ec)) fs::remove(host, ec);
}

Result<void> save_account_record(const AccountRecord& record) {
  return util::write_file_atomic(record.dir + "/account.json", record.to_json().dump(2) + "\n",
                                 {.mode = 0600, .overwrite = true});
}

Result<void> replace_account_key(const AccountRecord& record, std::string_view key_pem) {
  std::string key = record.dir + "/key.pem";
  std::string old = key + ".old-" + std::to_string(std::time(nullptr));
  if (::link(key.c_str(), old.c_str()) != 0 && errno != EEXIST)
    return fail(ErrorKind::bad_input, "keeping the old account key as " + old + ": " + std::strerror(errno));
  return util::write_file_atomic(key, key_pem, {.mode = 0600, .overwrite = true});
}

Result<void> validate_cert_name(const std::string& name) {
  bool ok = !name.empty() && name.size() <= 200 && name[0] != '.' &&
            std::all_of(name.begin(), name.end(), [](char c) {
              return std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '-' || c == '_';
            });
  if (!ok) return fail(ErrorKind::usage, "invalid certificate name '" + name + "': use letters, digits, '.', '-' and '_'");
  return {};
}

std::string default_cert_name(const std::string& first) {
  if (first.starts_with("*.")) return "_." + first.substr(2);
  std::string n = first;
  for (auto& c : n)
    if (c == ':') c = '_';  // IPv6
  return n;
}

std::string cert_dir(const std::string& root, const std::string& name) { return root + "/certs/" + name; }

Result<void> save_spec(const std::string& root, const std::string& name, const nlohmann::json& spec) {
  std::string dir = cert_dir(root, name);
  if (auto r = mkdirs(dir + "/versions", 0700); !r) return fail(std::move(r.error()));
  return util::write_file_atomic(dir + "/spec.json", spec.dump(2) + "\n", {.mode = 0600, .overwrite = true});
}

Result<nlohmann::json> load_spec(const std::string& root, const std::string& name) {
  return read_json(cert_dir(root, name) + "/spec.json");
}

std::string version_dir(const std::string& root, const std::string& name, int version) {
  return cert_dir(root, name) + "/versions/" + std::to_string(version);
}

Result<std::vector<int>> list_versions(const std::string& root, const std::string& name) {
  std::vector<int> out;
  std::error_code ec;
  fs::path dir = fs::path(cert_dir(root, name)) / "versions";
  if (!fs::exists(dir, ec)) return out;
  for (const auto& e : fs::directory_iterator(dir, ec)) {
    std::string n = e.path().filename().string();
    if (e.is_directory() && is_number(n)) out.push_back(std::stoi(n));
  }
  std::sort(out.begin(), out.end());
  return out;
}

Result<std::optional<int>> current_version(const std::string& root, const std::string& name) {
  std::string link = cert_dir(root, name) + "/current";
  char buf[512];
  ssize_t n = ::readlink(link.c_str(), buf, sizeof buf - 1);
  if (n < 0) {
    if (errno == ENOENT) return std::optional<int>{};
    return fail(ErrorKind::bad_input, link + ": " + std::strerror(errno));
  }
  std::string target(buf, static_cast<size_t>(n));
  std::string num = target.substr(target.rfind('/') + 1);
  if (!target.starts_with("versions/") || !is_number(num))
    return fail(ErrorKind::bad_input, link + ": points to '" + target + "', not to a version");
  struct stat st {};
  if (::stat(version_dir(root, name, std::stoi(num)).c_str(), &st) != 0)
    return fail(ErrorKind::bad_input, link + ": points to version " + num + ", which does not exist");
  return std::optional<int>(std::stoi(num));
}

Result<void> set_current(const std::string& root, const std::string& name, int version) {
  std::string dir = cert_dir(root, name);
  std::string tmp = dir + "/.current.tmp-" + random_suffix();
  std::string target = "versions/" + std::to_string(version);
  if (::symlink(target.c_str(), tmp.c_str()) != 0)
    return fail(ErrorKind::bad_input, "creating " + tmp + ": " + std::strerror(errno));
  if (::rename(tmp.c_str(), (dir + "/current").c_str()) != 0) {
    int err = errno;
    ::unlink(tmp.c_str());
    return fail(ErrorKind::bad_input, "switching " + dir + "/current: " + std::strerror(err));
  }
  fsync_dir(dir);
  return {};
}

Result<void> check_version(const std::string& root, const std::string& name, int version) {
  std::string dir = version_dir(root, name, version);
  for (const char* f : {"cert.pem", "chain.pem", "fullchain.pem", "meta.json"}) {
    struct stat st {};
    if (::stat((dir + "/" + f).c_str(), &st) != 0)
      return fail(ErrorKind::bad_input, dir + ": " + f + " is missing");
  }
  // A cheap check that cert.pem still holds a certificate (not parsing it:
  // see runner.cpp for why).
  auto pem = util::read_file(dir + "/cert.pem");
  if (!pem) return fail(std::move(pem.error()));
  if (!pem->starts_with("-----BEGIN CERTIFICATE-----") || pem->find("-----END CERTIFICATE-----") == std::string::npos)
    return fail(ErrorKind::bad_input, dir + "/cert.pem: not a PEM certificate (damaged?)");
  return {};
}

void clear_leftovers(const std::string& root, const std::string& name) {
  std::error_code ec;
  for (const fs::path& d : {fs::path(cert_dir(root, name)), fs::path(cert_dir(root, name)) / "versions"}) {
    if (!fs::exists(d, ec)) continue;
    for (const auto& e : fs::directory_iterator(d, ec)) {
      std::string n = e.path().filename().string();
      if (n.starts_with(".tmp-") || n.starts_with(".current.tmp-") || n.find(".tmp-") != std::string::npos)
        fs::remove_all(e.path(), ec);
    }
  }
}

Result<int> add_version(const std::string& root, const std::string& name, const VersionFiles& files) {
  std::string versions = cert_dir(root, name) + "/versions";
  if (auto r = mkdirs(versions, 0700); !r) return fail(std::move(r.error()));
  auto existing = list_versions(root, name);
  if (!existing) return fail(std::move(existing.error()));
  int n = existing->empty() ? 1 : existing->back() + 1;

  std::string tmp = versions + "/.tmp-" + std::to_string(n) + "-" + random_suffix();
  if (::mkdir(tmp.c_str(), 0700) != 0) return fail(ErrorKind::bad_input, "creating " + tmp + ": " + std::strerror(errno));
  auto abandon = [&](Error e) {
    std::error_code ec;
    fs::remove_all(tmp, ec);
    return fail(std::move(e));
  };
  // The key first, created 0600 with O_EXCL: it never exists with wider permissions.
  if (!files.privkey_pem.empty())
    if (auto r = write_new_file(tmp + "/privkey.pem", files.privkey_pem, 0600); !r) return abandon(r.error());
  if (auto r = write_new_file(tmp + "/cert.pem", files.cert_pem, 0644); !r) return abandon(r.error());
  if (auto r = write_new_file(tmp + "/chain.pem", files.chain_pem, 0644); !r) return abandon(r.error());
  if (auto r = write_new_file(tmp + "/fullchain.pem", files.fullchain_pem, 0644); !r) return abandon(r.error());
  if (auto r = write_new_file(tmp + "/meta.json", files.meta.dump(2) + "\n", 0644); !r) return abandon(r.error());
  fsync_dir(tmp);
  std::string final_dir = versions + "/" + std::to_string(n);
  if (::rename(tmp.c_str(), final_dir.c_str()) != 0)
    return abandon(Error(ErrorKind::bad_input, "renaming " + tmp + " to " + final_dir + ": " + std::strerror(errno)));
  fsync_dir(versions);
  if (auto r = set_current(root, name, n); !r) return fail(std::move(r.error()));
  return n;
}

Result<std::vector<std::string>> list_certificates(const std::string& root) {
  std::vector<std::string> out;
  std::error_code ec;
  fs::path base = fs::path(root) / "certs";
  if (!fs::exists(base, ec)) return out;
  for (const auto& e : fs::directory_iterator(base, ec)) {
    std::string n = e.path().filename().string();
    if (e.is_directory() && !n.starts_with(".")) out.push_back(n);
  }
  std::sort(out.begin(), out.end());
  return out;
}

Result<void> copy_out(const std::string& vdir, const std::string& dir) {
  if (auto r = mkdirs(dir, 0755); !r) return fail(std::move(r.error()));
  for (const char* f : {"cert.pem", "chain.pem", "fullchain.pem", "privkey.pem"}) {
    // A certificate ordered with the user's own CSR has no key here.
    if (std::string(f) == "privkey.pem" && !util::file_exists(vdir + "/" + f)) continue;
    auto data = util::read_file(vdir + "/" + f);
    if (!data) return fail(std::move(data.error()));
    std::string dest = dir + "/" + f;
    struct stat st {};
    bool exists = ::stat(dest.c_str(), &st) == 0;
    mode_t mode = exists ? (st.st_mode & 07777) : (std::string(f) == "privkey.pem" ? 0600 : 0644);
    // Keep a private key private even if the old file was wider.
    if (std::string(f) == "privkey.pem") mode &= 0770;
    auto w = util::write_file_atomic(dest, *data, {.mode = mode, .overwrite = true});
    if (!w) return fail(std::move(w.error()));
    if (exists && (::chown(dest.c_str(), st.st_uid, st.st_gid) == 0)) ::chmod(dest.c_str(), mode);
  }
  return {};
}

}  // namespace certroute::store
