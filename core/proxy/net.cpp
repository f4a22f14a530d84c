#include "core/proxy/net.hpp"

#include <charconv>

namespace certroute::proxy {

using util::ErrorKind;
using util::fail;

util::Result<asio::ip::tcp::endpoint> parse_listen_address(std::string_view text) {
  const std::string shown(text);
  std::string_view host, port;
  if (text.starts_with('[')) {
    auto close = text.find(']');
    if (close == std::string_view::npos || close + 1 >= text.size() || text[close + 1] != ':')
      return fail(ErrorKind::bad_input, "address '" + shown + "': expected [IPv6]:PORT");
    host = text.substr(1, close - 1);
    port = text.substr(close + 2);
  } else {
    auto colon = text.rfind(':');
    if (colon == std::string_view::npos)
      return fail(ErrorKind::bad_input, "address '" + shown + "': expected [ADDR]:PORT");
    host = text.substr(0, colon);
    port = text.substr(colon + 1);
    if (host.find(':') != std::string_view::npos)
      return fail(ErrorKind::bad_input, "address '" + shown + "': write an IPv6 address in brackets, [::1]:PORT");
  }
  unsigned p = 0;
  auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), p);
  if (port.empty() || ec != std::errc() || end != port.data() + port.size() || p > 65535)
    return fail(ErrorKind::bad_input, "address '" + shown + "': port must be a number from 0 to 65535");
  asio::ip::address addr;
  if (host.empty()) {
    addr = asio::ip::address_v6::any();
  } else if (host == "localhost") {
    addr = asio::ip::address_v4::loopback();
  } else {
    asio::error_code aec;
    addr = asio::ip::make_address(std::string(host), aec);
    if (aec) return fail(ErrorKind::bad_input, "address '" + shown + "': '" + std::string(host) + "' is not an IP address");
  }
  return asio::ip::tcp::endpoint(addr, static_cast<unsigned short>(p));
}

std::string format_endpoint(const asio::ip::tcp::endpoint& ep) {
  auto a = ep.address();
  if (a.is_v6() && a.to_v6().is_v4_mapped()) a = asio::ip::make_address_v4(asio::ip::v4_mapped, a.to_v6());
  std::string host = a.to_string();
  if (a.is_v6()) host = "[" + host + "]";
  return host + ":" + std::to_string(ep.port());
}

util::Result<std::chrono::milliseconds> parse_duration(std::string_view text) {
  const std::string shown(text);
  auto bad = [&] {
    return fail(ErrorKind::bad_input, "duration '" + shown + "': expected a number with a unit (250ms, 30s, 5m, 1h)");
  };
  if (text.empty()) return bad();
  if (text.starts_with('-')) return fail(ErrorKind::bad_input, "duration '" + shown + "': must not be negative");
  double total_ms = 0;
  std::string_view s = text;
  bool bare = s.find_first_not_of("0123456789") == std::string_view::npos;
  if (bare) {
    std::uint64_t v = 0;
    auto [e, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (ec != std::errc() || v > 100000000) return bad();
    return std::chrono::milliseconds(v * 1000);
  }
  while (!s.empty()) {
    double v = 0;
    auto [e, ec] = std::from_chars(s.data(), s.data() + s.size(), v, std::chars_format::fixed);
    if (ec != std::errc() || e == s.data()) return bad();
    s.remove_prefix(static_cast<std::size_t>(e - s.data()));
    std::size_t n = 0;
    while (n < s.size() && ((s[n] >= 'a' && s[n] <= 'z') || (s[n] >= 'A' && s[n] <= 'Z'))) ++n;
    std::string_view unit = s.substr(0, n);
    s.remove_prefix(n);
    double mult;
    if (unit == "ms") mult = 1;
    else if (unit == "s") mult = 1000;
    else if (unit == "m") mult = 60000;
    else if (unit == "h") mult = 3600000;
    else if (unit == "us" || unit == "µs") mult = 0.001;
    else if (unit == "ns") mult = 0.000001;
    else return bad();
    total_ms += v * mult;
  }
  if (total_ms > 1e11) return bad();
  return std::chrono::milliseconds(static_cast<std::int64_t>(total_ms + 0.5));
}

}  // namespace certroute::proxy
