// libFuzzer target: http1::ChunkedDecoder. Feeds the input whole, byte by
// byte, and in pieces of pseudo-random sizes, and checks that all three give
// the same result, consumed count, data and error; that consumed <= size;
// that the decoded bytes match body_bytes(); and that a finished body ends in
// CRLF and decodes the same on its own. The first byte picks the limits and
// the cuts. Built and run by scripts/fuzz.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

#include "core/proxy/http1.hpp"
#include "tests/proxy/fuzz/fuzz_common.hpp"

using namespace certroute::proxy::http1;
using namespace certroute::proxy::http1::fuzz;

namespace {

struct Decoded {
  ChunkedDecoder::Result result = ChunkedDecoder::Result::more;
  std::size_t consumed = 0;
  std::string data;
  std::uint64_t body_bytes = 0;
  const char* reason = "";
};

// Feeds `in` in pieces: `step(i)` gives the size of piece i (at least 1).
template <class Step>
Decoded decode(std::string_view in, const Limits& limits, Step step, bool collect = true) {
  ChunkedDecoder dec(limits);
  Decoded d;
  std::size_t pos = 0;
  for (std::size_t i = 0;; ++i) {
    std::size_t n = step(i);
    if (n > in.size() - pos) n = in.size() - pos;
    // An exact-size copy of each piece, so a read past it is caught.
    const Copy piece(in.substr(pos, n));
    std::size_t used = 0;
    d.result = dec.feed(piece.view(), used, collect ? &d.data : nullptr);
    FUZZ_CHECK(used <= n);
    if (d.result == ChunkedDecoder::Result::more) FUZZ_CHECK(used == n);
    d.consumed += used;
    pos += n;
    if (d.result != ChunkedDecoder::Result::more || pos == in.size()) break;
  }
  d.body_bytes = dec.body_bytes();
  d.reason = dec.error_reason();
  if (collect) FUZZ_CHECK(d.data.size() == d.body_bytes);
  return d;
}

void check_same(const Decoded& a, const Decoded& b, bool data = true) {
  FUZZ_CHECK(a.result == b.result);
  FUZZ_CHECK(a.consumed == b.consumed);
  FUZZ_CHECK(a.body_bytes == b.body_bytes);
  FUZZ_CHECK(std::strcmp(a.reason, b.reason) == 0);
  if (data) FUZZ_CHECK(a.data == b.data);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const std::uint8_t mode = data[0];
  Limits limits;
  if (mode & 1) limits.max_chunk_ext = (mode >> 1) & 63;
  const std::string_view in(reinterpret_cast<const char*>(data + 1), size - 1);

  const Decoded whole = decode(in, limits, [&](std::size_t) { return in.size() + 1; });
  FUZZ_CHECK(whole.consumed <= in.size());
  switch (whole.result) {
    case ChunkedDecoder::Result::more:
      FUZZ_CHECK(whole.consumed == in.size());
      break;
    case ChunkedDecoder::Result::done:
      FUZZ_CHECK(whole.consumed >= 5 && in.substr(whole.consumed - 2, 2) == "\r\n");
      break;
    case ChunkedDecoder::Result::error:
      FUZZ_CHECK(whole.consumed < in.size() && whole.reason[0] != '\0');
      break;
  }

  check_same(decode(in, limits, [](std::size_t) { return std::size_t{1}; }), whole);
  std::uint32_t seed = mode * 2654435761u + 1;
  auto random_step = [&](std::size_t) {
    seed = seed * 1103515245u + 12345u;
    return std::size_t{1} + (seed >> 16) % 17;
  };
  check_same(decode(in, limits, random_step), whole);
  check_same(decode(in, limits, [&](std::size_t) { return in.size() + 1; }, false), whole, false);

  if (whole.result == ChunkedDecoder::Result::done) {
    // The body alone decodes the same; one byte less is not done yet.
    const std::string_view body = in.substr(0, whole.consumed);
    check_same(decode(body, limits, [&](std::size_t) { return body.size() + 1; }), whole);
    const Decoded cut = decode(body.substr(0, body.size() - 1), limits, [&](std::size_t) { return body.size(); });
    FUZZ_CHECK(cut.result == ChunkedDecoder::Result::more);
  }
  return 0;
}
