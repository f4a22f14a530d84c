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

#include "core/acme/listener.hpp"
#include "core/acme/solver.hpp"
#include "core/util/file.hpp"

namespace certroute::acme {
using util::ErrorKind;
using util::fail;

namespace {

constexpr std::string_view kPrefix = "/.well-known/acme-challenge/";

class Http01Standalone final : public Solver {
 public:
  explicit Http01Standalone(int port) : port_(port) {}

  std::string_view type() const override { return "http-01"; }

  Result<void> start() override {
    auto fd = listen_any(port_, "http-01", "use --webroot");
    if (!fd) return fail(std::move(fd.error()));
    return loop_.start(*fd, [this](int c) { handle(c); });
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
  void handle(int c) {
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
  std::mutex mu_;
  std::map<std::string, std::string> tokens_;
  AcceptLoop loop_;  // last: stopped first, while the tokens still exist
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
