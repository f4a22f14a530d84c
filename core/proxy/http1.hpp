// The proxy's HTTP/1.1 parser: strict where request smuggling lives, and
// zero-copy (every string_view points into the caller's buffer). Each parse
// function is a pure function over a buffer: it either finds a complete head
// (and says how many bytes it took), asks for more bytes, or rejects the
// message with the status to answer (400, 414, 431, 501, 505) and a reason.
// RFC 9110/9112 are the reference; what they allow but smuggling abuses is
// refused: Content-Length with Transfer-Encoding, duplicate or malformed
// Content-Length, a Transfer-Encoding other than a final "chunked", obs-fold,
// bare CR or LF, invalid bytes in names, whitespace before the colon.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace certroute::proxy::http1 {

struct Limits {
  std::size_t max_head = 32 * 1024;        // request/status line + headers, CRLFs included
  std::size_t max_headers = 100;           // header fields
  std::size_t max_request_line = 8 * 1024; // method SP target SP version
  std::size_t max_chunk_ext = 4 * 1024;    // chunk extensions + trailers of one chunked body
};

// The header fields the proxy treats specially. The parser classifies every
// field it reads once (Header::field); for a field made elsewhere (by a
// middleware) field_of() classifies it on demand.
enum class Field : std::uint8_t {
  unknown = 0,  // not classified yet
  other,
  host,
  content_length,
  expect,
  // hop-by-hop (RFC 9110 7.6.1), plus the ones a proxy sets itself
  connection,
  keep_alive,
  te,
  trailer,
  upgrade,
  proxy_connection,
  transfer_encoding,
  proxy_authorization,
  proxy_authenticate,
  // forwarding information
  x_forwarded_for,
  x_forwarded_proto,
  x_forwarded_host,
  x_forwarded_port,
  x_forwarded_server,
  x_forwarded_prefix,
  x_real_ip,
  forwarded,
};

struct Header {
  std::string_view name;   // as sent (compare case-insensitively)
  std::string_view value;  // leading and trailing SP/HTAB removed
  Field field = Field::unknown;
};

Field classify(std::string_view name);
inline Field field_of(const Header& h) { return h.field != Field::unknown ? h.field : classify(h.name); }
inline bool is_hop_by_hop(Field f) { return f >= Field::connection && f <= Field::proxy_authenticate; }
inline bool is_forwarded(Field f) { return f >= Field::x_forwarded_for; }

enum class Status : std::uint8_t { complete, incomplete, error };

enum class BodyKind : std::uint8_t {
  none,         // no body (no Content-Length/Transfer-Encoding on a request; 1xx/204/304/HEAD responses)
  length,       // Content-Length bytes
  chunked,      // Transfer-Encoding: chunked
  until_close,  // responses only: read until the server closes
};

struct Error {
  int status = 400;        // the status to answer with
  const char* reason = ""; // for logs: "Content-Length with Transfer-Encoding"
};

struct RequestHead {
  std::string_view method;
  std::string_view target;  // request-target as sent ("/a?b", "*", "host:443", "http://h/p")
  int minor = 1;            // HTTP/1.<minor>; only 1.0 and 1.1 are accepted
  std::vector<Header> headers;
  std::size_t head_size = 0;  // bytes up to and including the empty line
  BodyKind body = BodyKind::none;
  std::uint64_t content_length = 0;  // when body == length
  // Derived from the headers:
  std::string_view host;     // the Host header value (empty when absent)
  bool keep_alive = true;    // 1.1 unless "Connection: close"; 1.0 only with "keep-alive"
  bool expect_continue = false;  // "Expect: 100-continue"
  bool upgrade = false;      // "Connection: upgrade" and an Upgrade header
  // Connection names a field beyond close, keep-alive and the hop-by-hop
  // ones (which a proxy drops anyway): each field must be checked against it.
  bool connection_lists_fields = false;
};

struct ResponseHead {
  int minor = 1;
  int status = 0;
  std::string_view reason;
  std::vector<Header> headers;
  std::size_t head_size = 0;
  BodyKind body = BodyKind::none;
  std::uint64_t content_length = 0;
  bool keep_alive = true;
  bool upgrade = false;  // 101 Switching Protocols
  bool connection_lists_fields = false;  // as in RequestHead
};

// Parses a request head at the start of buf. Empty lines before the request
// line (RFC 9112 2.2: at least one CRLF) are skipped and counted in
// head_size. A request without Host on HTTP/1.1 is an error (400); more than
// one Host is an error too. `out` is reused: its vector keeps its capacity.
Status parse_request(std::string_view buf, const Limits& limits, RequestHead& out, Error& err);

// Parses a response head. `request_method` decides the body: HEAD (and 2xx
// to CONNECT) have none; 1xx, 204 and 304 have none either.
Status parse_response(std::string_view buf, const Limits& limits, std::string_view request_method, ResponseHead& out,
                      Error& err);

// An incremental chunked-body decoder. feed() consumes bytes of the body
// (starting right after the head) and reports where the data is; the caller
// can forward the raw bytes as they are (they are validated) or collect the
// decoded data. Trailers are checked and skipped.
class ChunkedDecoder {
 public:
  enum class Result : std::uint8_t { more, done, error };

  explicit ChunkedDecoder(const Limits& limits = {}) : limits_(limits) {}
  void reset() { *this = ChunkedDecoder(limits_); }

  // Consumes a prefix of `in`; sets `consumed` to its length (when done: up
  // to and including the final CRLF, so bytes after it belong to the next
  // message). Appends the decoded data to `data` when it is not null.
  Result feed(std::string_view in, std::size_t& consumed, std::string* data);

  const char* error_reason() const { return reason_; }
  std::uint64_t body_bytes() const { return total_; }  // decoded bytes so far

 private:
  enum class State : std::uint8_t { size, size_ws, ext, size_lf, data, data_cr, data_lf, trailer_start, trailer, trailer_lf, final_lf, done, trailer_value, failed };
  Limits limits_;
  State state_ = State::size;
  std::uint64_t remaining_ = 0;  // data bytes left in the current chunk
  std::uint64_t total_ = 0;
  std::size_t size_digits_ = 0;
  std::size_t ext_bytes_ = 0;
  bool in_quotes_ = false;
  bool escaped_ = false;  // after a backslash in a quoted chunk-ext value
  const char* reason_ = "";
};

// Helpers shared by the proxy and whoami.
bool iequals(std::string_view a, std::string_view b);
// The header's value, or an empty view (and found=false).
std::string_view find_header(const std::vector<Header>& headers, std::string_view name, bool* found = nullptr);
// True for a field name token character (RFC 9110 5.6.2 tchar).
bool is_tchar(unsigned char c);
// "Connection: a, b" contains token (case-insensitively)?
bool has_token(std::string_view list, std::string_view token);
// The reason phrase for a status ("Not Found"), "" for unknown.
std::string_view reason_phrase(int status);

}  // namespace certroute::proxy::http1
