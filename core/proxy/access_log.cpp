#include "core/proxy/access_log.hpp"

#include <cerrno>
#include <cstring>
#include <ctime>
#include <memory>

#include <fcntl.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

namespace certroute::proxy {

namespace {

int open_fd(const std::string& path) {
  if (path == "-") return ::dup(STDOUT_FILENO);
  return ::open(path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
}

std::string quoted(std::string_view s) {
  std::string o = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') o += '\\';
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) {
      o += "\\x";
      static const char* hex = "0123456789abcdef";
      o += hex[(c >> 4) & 15];
      o += hex[c & 15];
      continue;
    }
    o += c;
  }
  return o + "\"";
}

}  // namespace

util::Result<std::unique_ptr<AccessLog>> AccessLog::open(const std::string& path, Format format) {
  int fd = open_fd(path);
  if (fd < 0) return util::fail(util::ErrorKind::bad_input, "access log " + path + ": " + std::strerror(errno));
  return std::unique_ptr<AccessLog>(new AccessLog(path, format, fd));
}

AccessLog::~AccessLog() {
  int fd = fd_.load();
  if (fd >= 0) ::close(fd);
}

util::Result<void> AccessLog::reopen() {
  if (path_ == "-") return {};
  std::lock_guard lock(reopen_mu_);
  int fd = open_fd(path_);
  if (fd < 0) return util::fail(util::ErrorKind::bad_input, "access log " + path_ + ": " + std::strerror(errno));
  // dup2 swaps the file under the same descriptor number, so a write racing
  // with the reopen goes to one file or the other, never to a closed fd.
  int cur = fd_.load();
  ::dup2(fd, cur);
  ::close(fd);
  return {};
}

std::string AccessLog::format(const AccessRecord& r) {
  std::uint64_t n = ++count_;
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(r.duration).count();
  if (format_ == Format::json) {
    auto t = std::chrono::system_clock::to_time_t(r.start);
    std::tm tm{};
    ::gmtime_r(&t, &tm);
    char buf[40];
    std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
    nlohmann::json j = {{"time", buf},
                        {"client", r.client_ip},
                        {"method", r.method},
                        {"host", r.host},
                        {"path", r.path},
                        {"status", r.status},
                        {"bytes", r.bytes},
                        {"duration_ms", static_cast<double>(r.duration.count()) / 1000.0},
                        {"router", r.router},
                        {"upstream", r.upstream}};
    return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
  }
  auto t = std::chrono::system_clock::to_time_t(r.start);
  std::tm tm{};
  ::localtime_r(&t, &tm);
  char ts[64];
  std::strftime(ts, sizeof ts, "%d/%b/%Y:%H:%M:%S %z", &tm);
  std::string line;
  line.reserve(256);
  line += r.client_ip;
  line += " - ";
  line += r.user.empty() ? std::string("-") : std::string(r.user);
  line += " [";
  line += ts;
  line += "] \"";
  line += r.method;
  line += ' ';
  line += r.path;
  line += r.minor == 0 ? " HTTP/1.0\" " : " HTTP/1.1\" ";
  line += std::to_string(r.status);
  line += ' ';
  line += std::to_string(r.bytes);
  line += ' ';
  line += r.referer.empty() ? "\"-\"" : quoted(r.referer);
  line += ' ';
  line += r.user_agent.empty() ? "\"-\"" : quoted(r.user_agent);
  line += ' ';
  line += std::to_string(n);
  line += ' ';
  line += r.router.empty() ? "\"-\"" : quoted(r.router);
  line += ' ';
  line += r.upstream.empty() ? "\"-\"" : quoted(r.upstream);
  line += ' ';
  line += std::to_string(ms);
  line += "ms\n";
  return line;
}

void AccessLog::write(const AccessRecord& r) {
  std::string line = format(r);
  int fd = fd_.load();
  const char* p = line.data();
  std::size_t left = line.size();
  while (left > 0) {
    ssize_t w = ::write(fd, p, left);
    if (w < 0) {
      if (errno == EINTR) continue;
      return;  // a full disk must not stop the proxy
    }
    p += w;
    left -= static_cast<std::size_t>(w);
  }
}

}  // namespace certroute::proxy
