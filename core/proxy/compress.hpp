// Response compression for the compress middleware: gzip (zlib), brotli and
// zstd, streamed, chosen from the request's Accept-Encoding as Traefik does.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/proxy/runtime.hpp"

namespace certroute::proxy {

class Encoder {
 public:
  virtual ~Encoder() = default;
  // Compresses `in`, appending whatever output is ready to `out`.
  virtual bool write(std::string_view in, std::string& out) = 0;
  // Ends the stream, appending the rest to `out`.
  virtual bool finish(std::string& out) = 0;
};

// "gzip", "br" or "zstd"; nullptr for anything else.
std::unique_ptr<Encoder> make_encoder(std::string_view encoding);

// The encoding to use for an Accept-Encoding value: the client's preferred
// (q-values honoured, q=0 refuses) among `supported`; on a tie, the earliest
// in `supported`; "" when none (or when the client sent no Accept-Encoding).
std::string negotiate_encoding(std::string_view accept_encoding, const std::vector<std::string>& supported,
                               std::string_view default_encoding);

// The compress middleware's settings; the server applies them to the response.
struct CompressSettings {
  std::vector<std::string> encodings{"gzip", "br", "zstd"};  // Traefik's default order
  std::string default_encoding;
  std::vector<std::string> excluded_types;
  std::vector<std::string> included_types;
  std::uint64_t min_bytes = 1024;
  // Whether a response with this Content-Type (and, when known, length) is compressed.
  bool wants(std::string_view content_type, bool length_known, std::uint64_t length) const;
};

std::unique_ptr<Middleware> make_compress(const routes::DocNode& node, std::string& error);

}  // namespace certroute::proxy
