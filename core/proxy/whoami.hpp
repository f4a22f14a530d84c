// `certroute whoami`: a tiny HTTP/1.1 backend that answers with the request
// it received, like traefik/whoami. Used by the proxy tests and handy for
// users trying a route file.
#pragma once

#include <functional>
#include <string>

#include "core/util/error.hpp"

namespace certroute::proxy {

struct WhoamiOptions {
  std::string listen = "127.0.0.1:8000";  // ADDR:PORT, "[v6]:PORT", ":PORT" (all addresses); port 0 picks one
  std::string name;                        // printed as "Name: NAME" in every answer
  // Called once listening, with the address actually bound ("127.0.0.1:43121").
  std::function<void(const std::string&)> on_listening;
};

// Serves until SIGINT/SIGTERM; returns an error when the address cannot be
// bound (bad_input for a malformed address, problem when in use).
util::Result<void> run_whoami(const WhoamiOptions& options);

}  // namespace certroute::proxy
