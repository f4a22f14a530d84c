// Addresses and durations as the proxy's flags and files write them.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

#include <asio/ip/tcp.hpp>

#include "core/util/error.hpp"

namespace certroute::proxy {

// "127.0.0.1:8080", "[::1]:8080", ":8080" (every address), "localhost:8080".
// Port 0 asks the kernel for one. Host names other than "localhost" are
// refused: a listener binds an address. bad_input on anything else.
util::Result<asio::ip::tcp::endpoint> parse_listen_address(std::string_view text);

// "127.0.0.1:8080" or "[::1]:8080" for an endpoint.
std::string format_endpoint(const asio::ip::tcp::endpoint& ep);

// Go-style durations as Traefik writes them: "30s", "1m30s", "250ms", "2h";
// a bare integer is seconds. bad_input on anything else or a negative value.
util::Result<std::chrono::milliseconds> parse_duration(std::string_view text);

}  // namespace certroute::proxy
