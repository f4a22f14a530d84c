// libFuzzer target: http1::parse_request. Checks that a complete head lies
// inside the input with every view pointing into it and the limits kept,
// that the verdict on a prefix (complete, or an error and its status) stays
// the same once more bytes arrive, and that shorter prefixes of a complete
// head are incomplete. The first byte picks the limits. Built and run by
// scripts/fuzz.
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
  RequestHead head;
  Error err;
};

Parsed parse(std::string_view buf, const Limits& limits) {
  Parsed p;
  p.status = parse_request(buf, limits, p.head, p.err);
  return p;
}

void check_complete(const Parsed& p, std::string_view buf, const Limits& limits) {
  const RequestHead& h = p.head;
  FUZZ_CHECK(h.head_size > 0 && h.head_size <= buf.size() && h.head_size <= limits.max_head);
  FUZZ_CHECK(h.headers.size() <= limits.max_headers);
  const std::string_view head = buf.substr(0, h.head_size);
  FUZZ_CHECK(head.size() >= 4 && head.substr(head.size() - 4) == "\r\n\r\n");
  FUZZ_CHECK(!h.method.empty() && inside(h.method, head));
  FUZZ_CHECK(!h.target.empty() && inside(h.target, head));
  FUZZ_CHECK(h.target.size() + h.method.size() + 10 <= limits.max_request_line);
  FUZZ_CHECK(inside(h.host, head));
  FUZZ_CHECK(h.minor == 0 || h.minor == 1);
  for (const Header& f : h.headers) {
    FUZZ_CHECK(!f.name.empty() && inside(f.name, head) && inside(f.value, head));
    for (char c : f.name) FUZZ_CHECK(is_tchar(static_cast<unsigned char>(c)));
    if (!f.value.empty()) {
      FUZZ_CHECK(f.value.front() != ' ' && f.value.front() != '\t');
      FUZZ_CHECK(f.value.back() != ' ' && f.value.back() != '\t');
    }
    for (char c : f.value) FUZZ_CHECK(c != '\r' && c != '\n' && c != '\0');
  }
  if (h.body != BodyKind::length) FUZZ_CHECK(h.content_length == 0);
  FUZZ_CHECK(h.body != BodyKind::until_close);
  if (h.minor == 1) FUZZ_CHECK(find_header(h.headers, "host").data() == h.host.data());
  if (h.body == BodyKind::chunked) FUZZ_CHECK(h.minor == 1);
}

void check_equal(const Parsed& a, std::string_view abuf, const Parsed& b, std::string_view bbuf) {
  FUZZ_CHECK(a.status == b.status);
  if (a.status == Status::error) {
    FUZZ_CHECK(a.err.status == b.err.status && std::strcmp(a.err.reason, b.err.reason) == 0);
    return;
  }
  if (a.status != Status::complete) return;
  const RequestHead& x = a.head;
  const RequestHead& y = b.head;
  FUZZ_CHECK(x.head_size == y.head_size && x.minor == y.minor && x.body == y.body);
  FUZZ_CHECK(x.content_length == y.content_length && x.keep_alive == y.keep_alive);
  FUZZ_CHECK(x.expect_continue == y.expect_continue && x.upgrade == y.upgrade);
  FUZZ_CHECK(same(x.method, abuf, y.method, bbuf) && same(x.target, abuf, y.target, bbuf));
  FUZZ_CHECK(same(x.host, abuf, y.host, bbuf));
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
  Limits limits;
  if (mode & 1) {  // small limits, so they are hit often
    limits.max_head = 16 + (mode >> 1) * 2;
    limits.max_headers = (mode >> 4) & 7;
    limits.max_request_line = 8 + ((mode >> 2) & 31) * 2;
  }
  const Copy input(std::string_view(reinterpret_cast<const char*>(data + 1), size - 1));
  const std::string_view buf = input.view();
  const Parsed full = parse(buf, limits);

  switch (full.status) {
    case Status::complete:
      check_complete(full, buf, limits);
      break;
    case Status::incomplete:
      FUZZ_CHECK(buf.size() <= limits.max_head);
      break;
    case Status::error: {
      const int s = full.err.status;
      FUZZ_CHECK(s == 400 || s == 414 || s == 431 || s == 501 || s == 505);
      FUZZ_CHECK(full.err.reason != nullptr && full.err.reason[0] != '\0');
      break;
    }
  }

  // What a prefix decided, the whole input decides the same way.
  if (!buf.empty()) {
    const Copy shorter(buf.substr(0, buf.size() - 1));
    const Parsed prefix = parse(shorter.view(), limits);
    if (prefix.status != Status::incomplete) check_equal(prefix, shorter.view(), full, buf);
  }

  if (full.status == Status::complete) {
    const std::size_t n = full.head.head_size;
    // The head alone parses the same.
    const Copy head(buf.substr(0, n));
    check_equal(parse(head.view(), limits), head.view(), full, buf);
    // Shorter prefixes are incomplete.
    for (std::size_t k : {std::size_t{0}, std::size_t{1}, n / 3, n / 2, n - 2, n - 1}) {
      if (k >= n) continue;
      const Copy cut(buf.substr(0, k));
      FUZZ_CHECK(parse(cut.view(), limits).status == Status::incomplete);
    }
  }
  return 0;
}
