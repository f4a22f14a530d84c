// The small TCP listener the built-in challenge servers (http-01,
// tls-alpn-01) share: bind on all addresses, accept on a thread, stop on demand.
#pragma once

#include <functional>
#include <string>
#include <thread>

#include "core/util/error.hpp"

namespace certroute::acme {

// Binds a listening TCP socket on all addresses (IPv6 dual-stack, else IPv4).
// `alternative` goes into the hint when the port is taken ("use --webroot").
util::Result<int> listen_any(int port, const std::string& what, const std::string& alternative);

// Accepts connections on a thread and hands each to `handle` (one at a
// time: validators make a handful of requests). The handler owns nothing:
// the socket is closed after it returns.
class AcceptLoop {
 public:
  AcceptLoop() = default;
  AcceptLoop(const AcceptLoop&) = delete;
  AcceptLoop& operator=(const AcceptLoop&) = delete;
  ~AcceptLoop() { stop(); }

  // Takes ownership of the listening socket.
  util::Result<void> start(int listen_fd, std::function<void(int)> handle);
  void stop();

 private:
  void run();
  int listen_fd_ = -1;
  int wake_[2] = {-1, -1};
  std::function<void(int)> handle_;
  std::thread thread_;
};

}  // namespace certroute::acme
