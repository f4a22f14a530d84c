// libFuzzer target for the TLS ClientHello reader the TCP routers use:
// never reads past the input, and a complete hello stays complete (with the
// same SNI) when more bytes follow it.
#include <cstdint>
#include <string>

#include "core/proxy/client_hello.hpp"
#include "tests/proxy/fuzz/fuzz_common.hpp"

using certroute::proxy::ClientHello;
using certroute::proxy::HelloStatus;
using certroute::proxy::parse_client_hello;
using certroute::proxy::http1::fuzz::Copy;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  Copy exact(input);
  ClientHello hello;
  HelloStatus st = parse_client_hello(exact.view(), hello);
  if (st == HelloStatus::complete) {
    std::string more(input);
    more += "trailing bytes";
    ClientHello again;
    FUZZ_CHECK(parse_client_hello(more, again) == HelloStatus::complete);
    FUZZ_CHECK(again.sni == hello.sni && again.alpn == hello.alpn);
  }
  // Every prefix of a complete hello is incomplete or (never) not_tls.
  if (st == HelloStatus::complete && size > 0) {
    Copy prefix(input.substr(0, size - 1));
    ClientHello p;
    FUZZ_CHECK(parse_client_hello(prefix.view(), p) != HelloStatus::not_tls || size <= 5);
  }
  return 0;
}
