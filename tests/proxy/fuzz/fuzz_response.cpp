// libFuzzer target: http1::parse_response. The same checks as fuzz_request
// (views inside the head, limits kept, a prefix's verdict stable when more
// bytes arrive), plus the RFC 9112 6.3 body rules. The first byte picks the
// request method and the limits. Built and run by scripts/fuzz.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string_view>

#include "core/proxy/http1.hpp"
#include "tests/proxy/fuzz/fuzz_common.hpp"

using namespace certroute::proxy::http1;
using namespace certroute::proxy::http1::fuzz;

namespace {

struct Parsed {
  Status status;
  ResponseHead head;
  Error err;
};

Parsed parse(std::string_view buf, const Limits& limits, std::string_view method) {
  Parsed p;
  p.status = parse_response(buf, limits, method, p.head, p.err);
  return p;
}

void check_complete(const Parsed& p, std::string_view buf, const Limits& limits, std::string_view method) {
  const ResponseHead& h = p.head;
  FUZZ_CHECK(h.head_size > 0 && h.head_size <= buf.size() && h.head_size <= limits.max_head);
  FUZZ_CHECK(h.headers.size() <= limits.max_headers);
  const std::string_view head = buf.substr(0, h.head_size);
  FUZZ_CHECK(head.substr(head.size() - 4) == "\r\n\r\n");
  FUZZ_CHECK(head.substr(0, 7) == "HTTP/1.");
  FUZZ_CHECK(inside(h.reason, head));
  FUZZ_CHECK(h.minor == 0 || h.minor == 1);
  FUZZ_CHECK(h.status >= 100 && h.status <= 999);
  for (const Header& f : h.headers) {
    FUZZ_CHECK(!f.name.empty() && inside(f.name, head) && inside(f.value, head));
    for (char c : f.name) FUZZ_CHECK(is_tchar(static_cast<unsigned char>(c)));
    for (char c : f.value) FUZZ_CHECK(c != '\r' && c != '\n' && c != '\0');
  }
  // RFC 9112 6.3.
  if (method == "HEAD" || h.status < 200 || h.status == 204 || h.status == 304) FUZZ_CHECK(h.body == BodyKind::none);
  if (method == "CONNECT" && h.status >= 200 && h.status < 300) FUZZ_CHECK(h.body == BodyKind::none);
  if (h.body == BodyKind::until_close) FUZZ_CHECK(!h.keep_alive);
  if (h.body != BodyKind::length) FUZZ_CHECK(h.content_length == 0);
  FUZZ_CHECK(h.upgrade == (h.status == 101));
  bool te = false, cl = false;
  find_header(h.headers, "transfer-encoding", &te);
  find_header(h.headers, "content-length", &cl);
  FUZZ_CHECK(!(te && cl));
  if (h.body == BodyKind::chunked) FUZZ_CHECK(te && h.minor == 1);
  if (h.body == BodyKind::length) FUZZ_CHECK(cl && !te);
}

void check_equal(const Parsed& a, std::string_view abuf, const Parsed& b, std::string_view bbuf) {
  FUZZ_CHECK(a.status == b.status);
  if (a.status == Status::error) {
    FUZZ_CHECK(a.err.status == b.err.status && std::strcmp(a.err.reason, b.err.reason) == 0);
    return;
  }
  if (a.status != Status::complete) return;
  const ResponseHead& x = a.head;
  const ResponseHead& y = b.head;
  FUZZ_CHECK(x.head_size == y.head_size && x.minor == y.minor && x.status == y.status && x.body == y.body);
  FUZZ_CHECK(x.content_length == y.content_length && x.keep_alive == y.keep_alive && x.upgrade == y.upgrade);
  FUZZ_CHECK(same(x.reason, abuf, y.reason, bbuf));
  FUZZ_CHECK(x.headers.size() == y.headers.size());
  for (std::size_t i = 0; i < x.headers.size(); ++i) {
    FUZZ_CHECK(same(x.headers[i].name, abuf, y.headers[i].name, bbuf));
    FUZZ_CHECK(same(x.headers[i].value, abuf, y.headers[i].value, bbuf));
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const std::uint8_t mode = data[0];
  static constexpr std::string_view methods[] = {"GET", "HEAD", "CONNECT", "POST"};
  const std::string_view method = methods[mode & 3];
  Limits limits;
  if (mode & 4) {
    limits.max_head = 24 + (mode >> 3) * 4;
    limits.max_headers = (mode >> 5) & 7;
  }
  const Copy input(std::string_view(reinterpret_cast<const char*>(data + 1), size - 1));
  const std::string_view buf = input.view();
  const Parsed full = parse(buf, limits, method);

  switch (full.status) {
    case Status::complete:
      check_complete(full, buf, limits, method);
      break;
    case Status::incomplete:
      FUZZ_CHECK(buf.size() <= limits.max_head);
      break;
    case Status::error: {
      const int s = full.err.status;
      FUZZ_CHECK(s == 400 || s == 431 || s == 505);
      FUZZ_CHECK(full.err.reason != nullptr && full.err.reason[0] != '\0');
      break;
    }
  }

  if (!buf.empty()) {
    const Copy shorter(buf.substr(0, buf.size() - 1));
    const Parsed prefix = parse(shorter.view(), limits, method);
    if (prefix.status != Status::incomplete) check_equal(prefix, shorter.view(), full, buf);
  }

  if (full.status == Status::complete) {
    const std::size_t n = full.head.head_size;
    const Copy head(buf.substr(0, n));
    check_equal(parse(head.view(), limits, method), head.view(), full, buf);
    for (std::size_t k : {std::size_t{0}, n / 2, n - 2, n - 1}) {
      if (k >= n) continue;
      const Copy cut(buf.substr(0, k));
      FUZZ_CHECK(parse(cut.view(), limits, method).status == Status::incomplete);
    }
  }
  return 0;
}
