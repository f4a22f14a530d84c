// The access log: one line per request, Traefik's common log format or JSON,
// to stdout or a file (reopened on SIGUSR1 for log rotation). Each line is
// written with one write(2), so lines from several workers never interleave.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>

#include "core/util/error.hpp"

namespace certroute::proxy {

struct AccessRecord {
  std::chrono::system_clock::time_point start;
  std::string_view client_ip;
  std::string_view user;  // basicAuth user, "" for "-"
  std::string_view method;
  std::string_view host;
  std::string_view path;  // as received, with the query
  int minor = 1;
  int status = 0;
  std::uint64_t bytes = 0;  // response body bytes sent
  std::string_view referer;
  std::string_view user_agent;
  std::string_view router;
  std::string_view upstream;  // server URL
  std::chrono::microseconds duration{0};
};

class AccessLog {
 public:
  enum class Format { common, json };
  // path: "-" for stdout, else a file opened for appending (created 0644).
  static util::Result<std::unique_ptr<AccessLog>> open(const std::string& path, Format format);
  ~AccessLog();

  void write(const AccessRecord& r);
  // Reopens the file (after logrotate moved it). Thread-safe.
  util::Result<void> reopen();
  std::string format(const AccessRecord& r);

 private:
  AccessLog(std::string path, Format format, int fd) : path_(std::move(path)), format_(format), fd_(fd) {}
  std::string path_;
  Format format_;
  std::atomic<int> fd_;
  std::atomic<std::uint64_t> count_{0};
  std::mutex reopen_mu_;
};

}  // namespace certroute::proxy
