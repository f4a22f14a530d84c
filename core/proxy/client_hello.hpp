// Reads the server name (SNI) and ALPN protocols from a TLS ClientHello
// without consuming it, for routing TCP connections by HostSNI before any
// TLS is terminated (or when it is passed through untouched).
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace certroute::proxy {

struct ClientHello {
  std::string sni;  // lower-case; empty when the client sent none
  std::vector<std::string> alpn;
};

enum class HelloStatus { complete, incomplete, not_tls };

// Parses the first TLS record(s) of a connection. `incomplete` asks for more
// bytes (the ClientHello may span records); `not_tls` when the bytes are not
// a TLS handshake or the hello is malformed.
HelloStatus parse_client_hello(std::string_view data, ClientHello& out);

}  // namespace certroute::proxy
