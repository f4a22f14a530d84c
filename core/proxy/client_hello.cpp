#include "core/proxy/client_hello.hpp"

#include <cstdint>

namespace certroute::proxy {

namespace {

// A cursor over bytes that fails softly: every read past the end sets `bad`.
struct Reader {
  std::string_view s;
  bool bad = false;
  std::size_t left() const { return s.size(); }
  std::uint32_t num(std::size_t n) {
    if (s.size() < n) {
      bad = true;
      s = {};
      return 0;
    }
    std::uint32_t v = 0;
    for (std::size_t i = 0; i < n; ++i) v = (v << 8) | static_cast<unsigned char>(s[i]);
    s.remove_prefix(n);
    return v;
  }
  std::string_view take(std::size_t n) {
    if (s.size() < n) {
      bad = true;
      s = {};
      return {};
    }
    auto r = s.substr(0, n);
    s.remove_prefix(n);
    return r;
  }
};

}  // namespace

HelloStatus parse_client_hello(std::string_view data, ClientHello& out) {
  // The handshake message may be split over several records: join their payloads.
  std::string hs;
  std::string_view rest = data;
  std::size_t need = 0;  // handshake bytes needed, known after the first 4
  for (;;) {
    if (rest.size() < 5) return rest.empty() && need && hs.size() >= need ? HelloStatus::complete : HelloStatus::incomplete;
    if (static_cast<unsigned char>(rest[0]) != 0x16) return HelloStatus::not_tls;
    if (rest[1] != 0x03) return HelloStatus::not_tls;
    std::size_t len = (static_cast<unsigned char>(rest[3]) << 8) | static_cast<unsigned char>(rest[4]);
    if (len == 0 || len > 16384 + 2048) return HelloStatus::not_tls;
    if (rest.size() < 5 + len) {
      hs.append(rest.substr(5));
    } else {
      hs.append(rest.substr(5, len));
    }
    if (need == 0 && hs.size() >= 4) {
      if (static_cast<unsigned char>(hs[0]) != 1) return HelloStatus::not_tls;  // ClientHello
      need = 4 + ((static_cast<unsigned char>(hs[1]) << 16) | (static_cast<unsigned char>(hs[2]) << 8) |
                  static_cast<unsigned char>(hs[3]));
      if (need > 65536) return HelloStatus::not_tls;
    }
    if (need && hs.size() >= need) break;
    if (rest.size() < 5 + len) return HelloStatus::incomplete;
    rest.remove_prefix(5 + len);
  }
  Reader r{std::string_view(hs).substr(4, need - 4)};
  r.num(2);   // client_version
  r.take(32); // random
  r.take(r.num(1));  // session id
  r.take(r.num(2));  // cipher suites
  r.take(r.num(1));  // compression methods
  if (r.bad) return HelloStatus::not_tls;
  if (r.left() == 0) return HelloStatus::complete;  // no extensions
  Reader ext{r.take(r.num(2))};
  if (r.bad) return HelloStatus::not_tls;
  while (ext.left() > 0) {
    std::uint32_t type = ext.num(2);
    Reader body{ext.take(ext.num(2))};
    if (ext.bad) return HelloStatus::not_tls;
    if (type == 0) {  // server_name
      Reader list{body.take(body.num(2))};
      while (list.left() > 0 && !list.bad) {
        std::uint32_t name_type = list.num(1);
        std::string_view name = list.take(list.num(2));
        if (name_type == 0 && out.sni.empty()) {
          out.sni.assign(name);
          for (auto& c : out.sni) c = static_cast<char>(c >= 'A' && c <= 'Z' ? c + 32 : c);
        }
      }
      if (list.bad) return HelloStatus::not_tls;
    } else if (type == 16) {  // application_layer_protocol_negotiation
      Reader list{body.take(body.num(2))};
      while (list.left() > 0 && !list.bad) {
        std::string_view p = list.take(list.num(1));
        if (!list.bad) out.alpn.emplace_back(p);
      }
      if (list.bad) return HelloStatus::not_tls;
    }
  }
  return HelloStatus::complete;
}

}  // namespace certroute::proxy
