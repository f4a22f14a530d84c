#include "core/routes/ip.hpp"

#include <arpa/inet.h>
#include <charconv>
#include <string>

namespace certroute::routes {

std::optional<IpAddress> parse_ip(std::string_view s) {
  if (s.empty() || s.size() > 64) return std::nullopt;
  std::string z(s);
  IpAddress a;
  unsigned char buf[16];
  if (inet_pton(AF_INET, z.c_str(), buf) == 1) {
    a.v4 = true;
    a.bytes[10] = a.bytes[11] = 0xff;
    for (int i = 0; i < 4; ++i) a.bytes[static_cast<std::size_t>(12 + i)] = buf[i];
    return a;
  }
  if (inet_pton(AF_INET6, z.c_str(), buf) == 1) {
    for (int i = 0; i < 16; ++i) a.bytes[static_cast<std::size_t>(i)] = buf[i];
    return a;
  }
  return std::nullopt;
}

std::optional<IpNetwork> parse_ip_network(std::string_view s) {
  auto slash = s.find('/');
  auto ip = parse_ip(s.substr(0, slash));
  if (!ip) return std::nullopt;
  IpNetwork n;
  n.base = *ip;
  if (slash == std::string_view::npos) {
    n.prefix = 128;
    return n;
  }
  std::string_view p = s.substr(slash + 1);
  int bits = -1;
  auto r = std::from_chars(p.data(), p.data() + p.size(), bits);
  if (p.empty() || r.ec != std::errc() || r.ptr != p.data() + p.size()) return std::nullopt;
  if (p.size() > 1 && p[0] == '0') return std::nullopt;  // Go rejects leading zeros
  int max = ip->v4 ? 32 : 128;
  if (bits < 0 || bits > max) return std::nullopt;
  n.prefix = ip->v4 ? bits + 96 : bits;
  return n;
}

bool IpNetwork::contains(const IpAddress& a) const {
  int bits = prefix;
  for (std::size_t i = 0; i < 16 && bits > 0; ++i, bits -= 8) {
    std::uint8_t mask = bits >= 8 ? 0xff : static_cast<std::uint8_t>(0xff << (8 - bits));
    if ((a.bytes[i] & mask) != (base.bytes[i] & mask)) return false;
  }
  return true;
}

}  // namespace certroute::routes
