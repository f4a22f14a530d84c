// IP addresses and CIDR ranges as Traefik's ClientIP matcher and
// ipAllowList take them (Go's net.ParseIP / net.ParseCIDR).
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string_view>

namespace certroute::routes {

struct IpAddress {
  std::array<std::uint8_t, 16> bytes{};  // IPv4 as IPv4-mapped IPv6
  bool v4 = false;
};

struct IpNetwork {
  IpAddress base;
  int prefix = 128;  // in IPv6 terms (an IPv4 /24 is 120)
  bool contains(const IpAddress& a) const;
};

std::optional<IpAddress> parse_ip(std::string_view s);
// "10.0.0.0/8", "2001:db8::/32", or a single address (a /32 or /128).
std::optional<IpNetwork> parse_ip_network(std::string_view s);

}  // namespace certroute::routes
