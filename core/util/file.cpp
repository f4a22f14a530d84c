#include "core/util/file.hpp"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fcntl.h>
#include <random>
#include <sys/stat.h>
#include <unistd.h>

namespace certroute::util {
namespace {

std::string errno_text(int err) {
  switch (err) {
    case ENOENT: return "no such file or directory";
    case EACCES: return "permission denied";
    case EROFS: return "read-only file system";
    case EISDIR: return "is a directory";
    case ENOSPC: return "no space left on device";
    default: return std::strerror(err);
  }
}

ErrorKind kind_for_write_errno(int) { return ErrorKind::bad_input; }

Result<std::string> read_fd(int fd, const std::string& name) {
  std::string out;
  char buf[65536];
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0) {
      if (errno == EINTR) continue;
      return fail(ErrorKind::bad_input, "reading " + name + ": " + errno_text(errno));
    }
    if (n == 0) break;
    out.append(buf, static_cast<size_t>(n));
  }
  return out;
}

std::string dir_of(const std::string& path) {
  auto slash = path.rfind('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

std::string random_suffix() {
  static std::mt19937_64 rng{std::random_device{}()};
  static const char alphabet[] = "abcdefghijklmnopqrstuvwxyz0123456789";
  std::string s(8, 'x');
  for (auto& c : s) c = alphabet[rng() % (sizeof alphabet - 1)];
  return s;
}

}  // namespace

Result<std::string> read_file(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return fail(ErrorKind::bad_input, "reading " + path + ": " + errno_text(errno));
  struct stat st {};
  if (::fstat(fd, &st) == 0 && S_ISDIR(st.st_mode)) {
    ::close(fd);
    return fail(ErrorKind::bad_input, "reading " + path + ": is a directory");
  }
  auto r = read_fd(fd, path);
  ::close(fd);
  return r;
}

Result<std::string> read_stdin() { return read_fd(STDIN_FILENO, "standard input"); }

Result<std::string> read_input(const std::string& path) {
  return path == "-" ? read_stdin() : read_file(path);
}

Result<std::string> read_passphrase_file(const std::string& path) {
  auto data = read_input(path);
  if (!data) return fail(std::move(data.error()));
  std::string& s = *data;
  auto eol = s.find_first_of("\r\n");
  if (eol != std::string::npos) s.resize(eol);
  if (s.empty()) return fail(ErrorKind::bad_input, "reading passphrase from " + path + ": the first line is empty");
  return s;
}

bool file_exists(const std::string& path) {
  struct stat st {};
  return ::lstat(path.c_str(), &st) == 0;
}

Result<void> write_file_atomic(const std::string& path, std::string_view data,
                               const WriteOptions& options) {
  const std::string what = "writing " + path;
  struct stat st {};
  if (::stat(path.c_str(), &st) == 0) {
    if (S_ISDIR(st.st_mode)) return fail(ErrorKind::bad_input, what + ": is a directory");
    if (!options.overwrite)
      return fail(Error(ErrorKind::problem, what + ": file already exists")
                      .with_hint("use --force to overwrite it"));
  }

  const std::string dir = dir_of(path);
  std::string tmp;
  int fd = -1;
  for (int attempt = 0; attempt < 16 && fd < 0; ++attempt) {
    auto slash = path.rfind('/');
    std::string base = slash == std::string::npos ? path : path.substr(slash + 1);
    tmp = (dir == "." && slash == std::string::npos ? "" : dir + (dir == "/" ? "" : "/")) + "." +
          base + ".tmp-" + random_suffix();
    fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, options.mode);
    if (fd < 0 && errno != EEXIST) return fail(kind_for_write_errno(errno), what + ": " + errno_text(errno));
  }
  if (fd < 0) return fail(ErrorKind::internal, what + ": could not create a temporary file");

  auto cleanup_fail = [&](const std::string& why) {
    if (fd >= 0) ::close(fd);
    ::unlink(tmp.c_str());
    return fail(ErrorKind::bad_input, what + ": " + why);
  };
  // The umask may have narrowed the mode; it must never widen it, and a
  // requested 0600 must hold even under an odd umask, so set it explicitly.
  if (::fchmod(fd, options.mode) != 0) return cleanup_fail(errno_text(errno));

  size_t off = 0;
  while (off < data.size()) {
    ssize_t n = ::write(fd, data.data() + off, data.size() - off);
    if (n < 0) {
      if (errno == EINTR) continue;
      return cleanup_fail(errno_text(errno));
    }
    off += static_cast<size_t>(n);
  }
  if (::fsync(fd) != 0) return cleanup_fail(errno_text(errno));
  if (::close(fd) != 0) {
    fd = -1;
    return cleanup_fail(errno_text(errno));
  }
  fd = -1;

  if (options.overwrite) {
    if (::rename(tmp.c_str(), path.c_str()) != 0) return cleanup_fail(errno_text(errno));
  } else {
    // link() fails if the target appeared meanwhile: never clobber a file we
    // were told not to overwrite, even in a race.
    if (::link(tmp.c_str(), path.c_str()) != 0) {
      int err = errno;
      if (err == EEXIST) {
        ::unlink(tmp.c_str());
        return fail(Error(ErrorKind::problem, what + ": file already exists")
                        .with_hint("use --force to overwrite it"));
      }
      return cleanup_fail(errno_text(err));
    }
    ::unlink(tmp.c_str());
  }

  int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0) {
    ::fsync(dfd);
    ::close(dfd);
  }
  return {};
}

Result<void> write_stdout(std::string_view data) {
  size_t off = 0;
  while (off < data.size()) {
    ssize_t n = ::write(STDOUT_FILENO, data.data() + off, data.size() - off);
    if (n < 0) {
      if (errno == EINTR) continue;
      return fail(ErrorKind::bad_input, "writing standard output: " + errno_text(errno));
    }
    off += static_cast<size_t>(n);
  }
  return {};
}

}  // namespace certroute::util
