// http-01 (RFC 8555 §8.3): a built-in standalone server answering
// /.well-known/acme-challenge/<token>, or files in a webroot.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <map>
#include <mutex>
#include <thread>

#include "core/acme/solver.hpp"
#include "core/util/file.hpp"

namespace certroute::acme {
using util::ErrorKind;
using util::fail;

namespace {

constexpr std::string_view kPrefix = "/.well-known/acme-challenge/";

// Binds a listening TCP socket on all addresses (IPv6 dual-stack, else IPv4).
Result<int> listen_any(int port, const std::string& what) {
  int fd = ::socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0);
  int one = 1, zero = 0;
  if (fd >= 0) {
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof zero);
    sockaddr_in6 a{};
    a.sin6_family = AF_INET6;
    a.sin6_addr = in6addr_any;
    a.sin6_port = htons(static_cast<uint16_t>(port));
    if (::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0 && ::listen(fd, 64) == 0) return fd;
    int err = errno;
    ::close(fd);
    if (err == EADDRINUSE || err == EACCES)
      return fail(util::Error(ErrorKind::bad_input, what + ": cannot listen on port " + std::to_string(port) + ": " +
                                                        std::strerror(err))
                      .with_hint(err == EADDRINUSE ? "another program uses the port: stop it, or use --webroot"
                                                   : "ports below 1024 need root (or CAP_NET_BIND_SERVICE)"));
  }
  fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return fail(ErrorKind::internal, what + ": socket: " + std::strerror(errno));
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_ANY);
  a.sin_port = htons(static_cast<uint16_t>(port));
  if (::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 || ::listen(fd, 64) != 0) {
    int err = errno;
    ::close(fd);
    return fail(util::Error(ErrorKind::bad_input,
                            what + ": cannot listen on port " + std::to_string(port) + ": " + std::strerror(err))
                    .with_hint("another program may use the port: stop it, or use --webroot"));
  }
  return fd;
}

class Http01Standalone final : public Solver {
 public:
  explicit Http01Standalone(int port) : port_(port) {}
  ~Http01Standalone() override { stop(); }

  std::string_view type() const override { return "http-01"; }

  Result<void> start() override {
    auto fd = listen_any(port_, "http-01");
    if (!fd) return fail(std::move(fd.error()));
    listen_fd_ = *fd;
    if (::pipe2(wake_, O_CLOEXEC) != 0) return fail(ErrorKind::internal, "pipe failed");
    thread_ = std::thread([this] { serve(); });
    return {};
  }

  Result<void> present(const Identifier&, const std::string& token, const std::string& key_authorization) override {
    std::lock_guard lock(mu_);
    tokens_[token] = key_authorization;
    return {};
  }

  void cleanup(const Identifier&, const std::string& token, const std::string&) override {
    std::lock_guard lock(mu_);
    tokens_.erase(token);
  }

 private:
  void stop() {
    if (thread_.joinable()) {
      (void)!::write(wake_[1], "x", 1);
      thread_.join();
    }
    for (int* fd : {&listen_fd_, &wake_[0], &wake_[1]})
      if (*fd >= 0) {
        ::close(*fd);
        *fd = -1;
      }
  }

  void serve() {
    for (;;) {
      pollfd fds[2] = {{listen_fd_, POLLIN, 0}, {wake_[0], POLLIN, 0}};
      if (::poll(fds, 2, -1) < 0) {
        if (errno == EINTR) continue;
        return;
      }
      if (fds[1].revents) return;
      int c = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
      if (c < 0) continue;
      handle(c);
      ::close(c);
    }
  }

  void handle(int c) {
    timeval tv{2, 0};
    setsockopt(c, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    setsockopt(c, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    std::string req;
    char buf[2048];
    while (req.find("\r\n\r\n") == std::string::npos && req.size() < 8192) {
      ssize_t n = ::recv(c, buf, sizeof buf, 0);
      if (n <= 0) return;
      req.append(buf, static_cast<size_t>(n));
    }
    // "GET /.well-known/acme-challenge/TOKEN HTTP/1.1"
    std::string body;
    int status = 404;
    auto sp1 = req.find(' ');
    auto sp2 = sp1 == std::string::npos ? sp1 : req.find(' ', sp1 + 1);
    if (sp2 != std::string::npos) {
      std::string method = req.substr(0, sp1);
      std::string target = req.substr(sp1 + 1, sp2 - sp1 - 1);
      if ((method == "GET" || method == "HEAD") && target.starts_with(kPrefix)) {
        std::lock_guard lock(mu_);
        auto it = tokens_.find(target.substr(kPrefix.size()));
        if (it != tokens_.end()) {
          status = 200;
          body = method == "GET" ? it->second : "";
        }
      }
    }
    std::string resp = "HTTP/1.1 " + std::string(status == 200 ? "200 OK" : "404 Not Found") +
                       "\r\nContent-Type: text/plain\r\nContent-Length: " + std::to_string(body.size()) +
                       "\r\nConnection: close\r\n\r\n" + body;
    (void)!::send(c, resp.data(), resp.size(), MSG_NOSIGNAL);
  }

  int port_;
  int listen_fd_ = -1;
  int wake_[2] = {-1, -1};
  std::thread thread_;
  std::mutex mu_;
  std::map<std::string, std::string> tokens_;
};

class Http01Webroot final : public Solver {
 public:
  explicit Http01Webroot(std::string root) : root_(std::move(root)) {}
  std::string_view type() const override { return "http-01"; }

  Result<void> start() override {
    struct stat st {};
    if (::stat(root_.c_str(), &st) != 0 || !S_ISDIR(st.st_mode))
      return fail(ErrorKind::bad_input, "--webroot " + root_ + ": not a directory");
    return {};
  }

  Result<void> present(const Identifier&, const std::string& token, const std::string& key_authorization) override {
    std::filesystem::path dir = std::filesystem::path(root_) / ".well-known" / "acme-challenge";
    std::error_code ec;
    std::filesystem::create_directories(dir, ec);
    if (ec) return fail(ErrorKind::bad_input, "creating " + dir.string() + ": " + ec.message());
    auto w = util::write_file_atomic((dir / token).string(), key_authorization, {.mode = 0644, .overwrite = true});
    if (!w) return fail(std::move(w.error()).context("http-01 webroot"));
    return {};
  }

  void cleanup(const Identifier&, const std::string& token, const std::string&) override {
    std::error_code ec;
    std::filesystem::remove(std::filesystem::path(root_) / ".well-known" / "acme-challenge" / token, ec);
  }

 private:
  std::string root_;
};

}  // namespace

std::unique_ptr<Solver> make_http01_solver(const Http01Options& options) {
  if (!options.webroot.empty()) return std::make_unique<Http01Webroot>(options.webroot);
  return std::make_unique<Http01Standalone>(options.port);
}

}  // namespace certroute::acme
