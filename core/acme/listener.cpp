#include "core/acme/listener.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace certroute::acme {
using util::ErrorKind;
using util::fail;

namespace {
util::Error port_error(int port, int err, const std::string& what, const std::string& alternative) {
  return util::Error(ErrorKind::bad_input,
                     what + ": cannot listen on port " + std::to_string(port) + ": " + std::strerror(err))
      .with_hint(err == EACCES ? "ports below 1024 need root (or CAP_NET_BIND_SERVICE)"
                               : "another program uses the port: stop it, or " + alternative);
}
}  // namespace

util::Result<int> listen_any(int port, const std::string& what, const std::string& alternative) {
  int one = 1, zero = 0;
  int fd = ::socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0);
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
    if (err == EADDRINUSE || err == EACCES) return fail(port_error(port, err, what, alternative));
  }
  // No IPv6 on this host: IPv4 only.
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
    return fail(port_error(port, err, what, alternative));
  }
  return fd;
}

util::Result<void> AcceptLoop::start(int listen_fd, std::function<void(int)> handle) {
  listen_fd_ = listen_fd;
  handle_ = std::move(handle);
  if (::pipe2(wake_, O_CLOEXEC) != 0) return fail(ErrorKind::internal, std::string("pipe: ") + std::strerror(errno));
  thread_ = std::thread([this] { run(); });
  return {};
}

void AcceptLoop::run() {
  for (;;) {
    pollfd fds[2] = {{listen_fd_, POLLIN, 0}, {wake_[0], POLLIN, 0}};
    if (::poll(fds, 2, -1) < 0) {
      if (errno == EINTR) continue;
      return;
    }
    if (fds[1].revents) return;
    int c = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (c < 0) continue;
    timeval tv{3, 0};
    setsockopt(c, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    setsockopt(c, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    handle_(c);
    ::close(c);
  }
}

void AcceptLoop::stop() {
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

}  // namespace certroute::acme
