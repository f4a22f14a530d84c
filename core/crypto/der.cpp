#include "core/crypto/der.hpp"

#include <charconv>
#include <vector>

namespace certroute::crypto::der {

std::string tlv(uint8_t tag, std::string_view content) {
  std::string out(1, static_cast<char>(tag));
  size_t n = content.size();
  if (n < 0x80) {
    out += static_cast<char>(n);
  } else {
    std::string len;
    while (n) {
      len.insert(len.begin(), static_cast<char>(n & 0xff));
      n >>= 8;
    }
    out += static_cast<char>(0x80 | len.size());
    out += len;
  }
  out.append(content);
  return out;
}

std::string sequence(std::initializer_list<std::string_view> parts) {
  std::string content;
  for (auto p : parts) content.append(p);
  return tlv(0x30, content);
}

std::string integer(std::string_view be) {
  size_t i = 0;
  while (i + 1 < be.size() && be[i] == 0) ++i;
  std::string content(be.substr(i));
  if (content.empty()) content = std::string(1, '\0');
  if (static_cast<uint8_t>(content[0]) & 0x80) content.insert(content.begin(), '\0');
  return tlv(0x02, content);
}

std::string small_integer(unsigned value) {
  std::string be;
  do {
    be.insert(be.begin(), static_cast<char>(value & 0xff));
    value >>= 8;
  } while (value);
  return integer(be);
}

std::string octet_string(std::string_view bytes) { return tlv(0x04, bytes); }

std::string bit_string(std::string_view bytes) {
  std::string content(1, '\0');
  content.append(bytes);
  return tlv(0x03, content);
}

std::string null() { return std::string("\x05\x00", 2); }

std::string oid(std::string_view dotted) {
  std::vector<unsigned long> arcs;
  size_t start = 0;
  while (start <= dotted.size()) {
    size_t dot = dotted.find('.', start);
    std::string_view part = dotted.substr(start, dot == std::string_view::npos ? std::string_view::npos : dot - start);
    unsigned long v = 0;
    std::from_chars(part.data(), part.data() + part.size(), v);
    arcs.push_back(v);
    if (dot == std::string_view::npos) break;
    start = dot + 1;
  }
  std::string content;
  auto base128 = [&content](unsigned long v) {
    std::string s(1, static_cast<char>(v & 0x7f));
    while (v >>= 7) s.insert(s.begin(), static_cast<char>(0x80 | (v & 0x7f)));
    content += s;
  };
  if (arcs.size() >= 2) base128(arcs[0] * 40 + arcs[1]);
  for (size_t i = 2; i < arcs.size(); ++i) base128(arcs[i]);
  return tlv(0x06, content);
}

std::string explicit_tag(unsigned n, std::string_view encoded) {
  return tlv(static_cast<uint8_t>(0xa0 | n), encoded);
}

}  // namespace certroute::crypto::der
