// The strict, zero-copy HTTP/1.1 parser (see http1.hpp).
//
// A head is parsed in one forward pass over at most Limits::max_head bytes:
// the request (or status) line, then one header line after another, each
// byte checked against a table (eight bytes at a time for values and
// request-targets). A violation is reported where it is found, so garbage (a
// TLS ClientHello on the plain port) fails at once instead of waiting for a
// CRLF. Running out of bytes is "incomplete", unless the buffer already holds
// more than max_head bytes (431) or the request line already runs past
// max_request_line (414). Because the pass is sequential, what a prefix
// yields (a complete head or an error) stays the same when more bytes arrive;
// the fuzz targets check that.
//
// The headers are then interpreted: framing (Content-Length,
// Transfer-Encoding), Host, Connection, Expect, Upgrade.
//
// Choices where the RFCs leave room, all on the strict side:
// - Content-Length is 1*DIGIT up to 2^63-1; a list ("5, 5") or a second
//   Content-Length field is refused even when the values are equal.
// - Transfer-Encoding is read as one list across all its fields; an empty
//   element ("chunked,") or a coding with parameters is malformed (400).
// - The request-target accepts VCHAR and obs-text (raw UTF-8, as nginx does),
//   never SP, controls or DEL. Its form is left to the caller.
// - Host may be empty (RFC 9112 3.2) but must be made of URI host/port
//   characters (no "/", "@", "?", "#", "\", whitespace).
// - A response's Transfer-Encoding follows RFC 9112 6.3 (chunked last:
//   chunked; otherwise read until close), except that a "chunked" anywhere
//   but last, or twice, is refused: no honest server sends that.
// - Chunk sizes have at most 16 hex digits (leading zeros included); SP/HTAB
//   may precede a ";" (chunk-ext BWS) but not the CRLF.

#include "core/proxy/http1.hpp"

#include <array>
#include <cstring>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif
#include <limits>

namespace certroute::proxy::http1 {
namespace {

using uchar = unsigned char;

enum : std::uint8_t {
  c_tchar = 1,   // RFC 9110 5.6.2 token character
  c_value = 2,   // field-value byte: HTAB, SP, VCHAR, obs-text
  c_target = 4,  // request-target byte: VCHAR, obs-text
  c_host = 8,    // URI host/port byte (reg-name, IP literal, ":port")
};

constexpr std::array<std::uint8_t, 256> make_classes() {
  std::array<std::uint8_t, 256> t{};
  for (int c = 0; c < 256; ++c) {
    const bool alnum = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
    std::uint8_t k = 0;
    if (alnum) k |= c_tchar | c_host;
    if (c == '\t' || (c >= 0x20 && c != 0x7f)) k |= c_value;
    if (c > 0x20 && c != 0x7f) k |= c_target;
    t[static_cast<std::size_t>(c)] = k;
  }
  for (char c : std::string_view("!#$%&'*+-.^_`|~")) t[static_cast<uchar>(c)] |= c_tchar;
  for (char c : std::string_view("-._~!$&'()*+,;=%:[]")) t[static_cast<uchar>(c)] |= c_host;
  return t;
}
constexpr std::array<std::uint8_t, 256> classes = make_classes();

inline bool is(uchar c, std::uint8_t cls) { return (classes[c] & cls) != 0; }
inline bool is_ows(uchar c) { return c == ' ' || c == '\t'; }
inline uchar lower(uchar c) { return (c >= 'A' && c <= 'Z') ? static_cast<uchar>(c | 0x20) : c; }

// Eight bytes at a time: does the word hold a byte below n (n <= 128), or
// the byte b? Exact for "any", which is all the scanners ask.
constexpr std::uint64_t ones = 0x0101010101010101ULL;
constexpr std::uint64_t highs = 0x8080808080808080ULL;
inline std::uint64_t load8(const uchar* p) {
  std::uint64_t x;
  std::memcpy(&x, p, 8);
  return x;
}
inline std::uint64_t has_less(std::uint64_t x, std::uint64_t n) { return (x - ones * n) & ~x & highs; }
inline std::uint64_t has_byte(std::uint64_t x, std::uint64_t b) { return has_less(x ^ (ones * b), 1); }

// Skips field-value bytes (Target=false) or request-target bytes
// (Target=true) from p, stopping at the first other byte or at end.
#if defined(__SSE2__)
// Sixteen bytes at a time: the stop bytes are those below 0x20 (0x21 in a
// target) and DEL; a value's HTAB is let through one at a time.
template <bool Target>
const uchar* scan(const uchar* p, const uchar* end) {
  const __m128i bias = _mm_set1_epi8(static_cast<char>(0x80));
  const __m128i below = _mm_set1_epi8(static_cast<char>((Target ? 0x21 : 0x20) ^ 0x80));
  const __m128i del = _mm_set1_epi8(0x7f);
  while (end - p >= 16) {
    const __m128i x = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
    // unsigned x < below, as a signed comparison of both shifted by 0x80
    const __m128i stop = _mm_or_si128(_mm_cmplt_epi8(_mm_xor_si128(x, bias), below), _mm_cmpeq_epi8(x, del));
    const int mask = _mm_movemask_epi8(stop);
    if (mask == 0) {
      p += 16;
      continue;
    }
    p += __builtin_ctz(static_cast<unsigned>(mask));
    if (Target || *p != '\t') return p;
    ++p;
  }
  constexpr std::uint8_t cls = Target ? c_target : c_value;
  while (p < end && is(*p, cls)) ++p;
  return p;
}
#else
template <bool Target>
const uchar* scan(const uchar* p, const uchar* end) {
  constexpr std::uint8_t cls = Target ? c_target : c_value;
  constexpr std::uint64_t below = Target ? 0x21 : 0x20;
  for (;;) {
    while (end - p >= 8) {
      const std::uint64_t x = load8(p);
      if (has_less(x, below) | has_byte(x, 0x7f)) break;
      p += 8;
    }
    // A word with a stop byte (or an HTAB in a value): go one by one through it.
    const uchar* stop = (end - p > 8) ? p + 8 : end;
    while (p < stop && is(*p, cls)) ++p;
    if (p < stop || p == end) return p;
  }
}
#endif

// Skips header-name bytes (tchar) from p, stopping at the first other byte
// or at end. Names are letters, digits and '-' nearly always: sixteen such
// bytes at a time, then one by one through the rest of the tchars.
inline const uchar* scan_name(const uchar* p, const uchar* end) {
#if defined(__SSE2__)
  const __m128i case_bit = _mm_set1_epi8(0x20);
  const __m128i a = _mm_set1_epi8('a'), z_span = _mm_set1_epi8('z' - 'a');
  const __m128i zero = _mm_set1_epi8('0'), nine_span = _mm_set1_epi8(9);
  const __m128i dash = _mm_set1_epi8('-');
  while (end - p >= 16) {
    const __m128i x = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
    // (unsigned) x - lo <= span, as min(x - lo, span) == x - lo
    const __m128i l = _mm_sub_epi8(_mm_or_si128(x, case_bit), a);
    const __m128i d = _mm_sub_epi8(x, zero);
    const __m128i ok = _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(_mm_min_epu8(l, z_span), l),
                                                 _mm_cmpeq_epi8(_mm_min_epu8(d, nine_span), d)),
                                    _mm_cmpeq_epi8(x, dash));
    const unsigned stop = ~static_cast<unsigned>(_mm_movemask_epi8(ok)) & 0xffffu;
    if (stop == 0) {
      p += 16;
      continue;
    }
    p += __builtin_ctz(stop);
    break;
  }
#endif
  while (p < end && is(*p, c_tchar)) ++p;
  return p;
}

// Compares with a lowercase literal.
inline bool iequals_lower(std::string_view a, std::string_view lit) {
  if (a.size() != lit.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (lower(static_cast<uchar>(a[i])) != static_cast<uchar>(lit[i])) return false;
  }
  return true;
}

std::string_view view(const uchar* b, const uchar* e) {
  return {reinterpret_cast<const char*>(b), static_cast<std::size_t>(e - b)};
}

// One pass of a head: where it stops and why.
struct Scan {
  const uchar* end;  // end of the bytes looked at: min(size, max_head)
  bool truncated;    // the buffer holds more than max_head bytes
  Error& err;

  Status fail(int status, const char* reason) {
    err = Error{status, reason};
    return Status::error;
  }
  // Out of bytes: wait for more, unless the head already passed max_head.
  Status more() { return truncated ? fail(431, "head too large") : Status::incomplete; }
};

// Parses "HTTP/1.x" at p (before `bound`); sets minor. Returns complete,
// or the status of scan.more()/at_bound when p reaches bound first.
template <class AtBound>
Status parse_version(Scan& s, const uchar*& p, const uchar* bound, AtBound at_bound, int& minor) {
  static constexpr char pattern[] = "HTTP/1.1";
  for (int i = 0; i < 8; ++i, ++p) {
    if (p == bound) return at_bound();
    const uchar c = *p;
    if (i == 5 || i == 7) {
      if (c < '0' || c > '9') return s.fail(400, "invalid HTTP version");
      if (i == 5 && c != '1') return s.fail(505, "HTTP version not supported");
      if (i == 7 && c > '1') return s.fail(505, "HTTP version not supported");
      if (i == 7) minor = c - '0';
    } else if (c != static_cast<uchar>(pattern[i])) {
      return s.fail(400, "invalid HTTP version");
    }
  }
  return Status::complete;
}

// Parses header lines from p (the start of a line) through the empty line;
// on complete, p is just past it.
Status parse_fields(Scan& s, const uchar*& p, const Limits& limits, std::vector<Header>& headers) {
  const uchar* const end = s.end;
  for (;;) {
    if (p == end) return s.more();
    const uchar first = *p;
    if (first == '\r') {
      if (p + 1 == end) return s.more();
      if (p[1] != '\n') return s.fail(400, "bare CR in head");
      p += 2;
      return Status::complete;
    }
    if (first == '\n') return s.fail(400, "bare LF in head");
    if (is_ows(first)) return s.fail(400, "obs-fold (header line starts with whitespace)");
    if (headers.size() >= limits.max_headers) return s.fail(431, "too many header fields");

    const uchar* name = p;
    p = scan_name(p, end);
    if (p == end) return s.more();
    if (*p != ':') {
      if (*p == '\r' || *p == '\n') return s.fail(400, "header line without colon");
      if (is_ows(*p)) return s.fail(400, "whitespace between header name and colon");
      return s.fail(400, "invalid character in header name");
    }
    if (p == name) return s.fail(400, "empty header name");
    const uchar* name_end = p++;

    while (p < end && is_ows(*p)) ++p;
    const uchar* value = p;
    p = scan<false>(p, end);
    if (p == end) return s.more();
    if (*p != '\r') {
      if (*p == '\n') return s.fail(400, "bare LF in head");
      return s.fail(400, "control character in header value");
    }
    if (p + 1 == end) return s.more();
    if (p[1] != '\n') return s.fail(400, "bare CR in head");
    const uchar* value_end = p;
    while (value_end > value && is_ows(value_end[-1])) --value_end;
    headers.push_back(Header{view(name, name_end), view(value, value_end)});
    p += 2;
  }
}

// Content-Length = 1*DIGIT, at most 2^63-1.
bool parse_content_length(std::string_view v, std::uint64_t& out) {
  if (v.empty()) return false;
  constexpr std::uint64_t max = static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max());
  std::uint64_t n = 0;
  for (char ch : v) {
    const unsigned d = static_cast<unsigned>(static_cast<uchar>(ch)) - '0';
    if (d > 9) return false;
    if (n > (max - d) / 10) return false;
    n = n * 10 + d;
  }
  out = n;
  return true;
}

// Everything the framing, connection and host rules need from the fields.
struct Fields {
  int content_lengths = 0;
  std::string_view content_length;
  int transfer_encodings = 0;
  bool te_malformed = false;      // empty element or not a bare token
  bool te_chunked = false;        // "chunked" seen
  bool te_chunked_last = false;   // the final coding is chunked
  bool te_chunked_twice = false;
  bool te_after_chunked = false;  // a coding after chunked
  bool te_other = false;          // a coding other than chunked
  int hosts = 0;
  std::string_view host;
  bool conn_close = false, conn_keep_alive = false, conn_upgrade = false;
  bool conn_other = false;  // a token naming a field that is not hop-by-hop anyway
  bool upgrade_header = false;
  bool expect_continue = false;
};

template <class F>
void for_each_element(std::string_view list, F f) {
  std::size_t i = 0;
  const std::size_t n = list.size();
  for (;;) {
    std::size_t comma = list.find(',', i);
    if (comma == std::string_view::npos) comma = n;
    std::size_t b = i, e = comma;
    while (b < e && is_ows(static_cast<uchar>(list[b]))) ++b;
    while (e > b && is_ows(static_cast<uchar>(list[e - 1]))) --e;
    f(list.substr(b, e - b));
    if (comma == n) return;
    i = comma + 1;
  }
}

void add_transfer_encoding(std::string_view v, Fields& f) {
  for_each_element(v, [&](std::string_view coding) {
    if (coding.empty()) {
      f.te_malformed = true;
      return;
    }
    for (char c : coding) {
      if (!is(static_cast<uchar>(c), c_tchar)) {
        f.te_malformed = true;
        return;
      }
    }
    if (iequals_lower(coding, "chunked")) {
      if (f.te_chunked) f.te_chunked_twice = true;
      f.te_chunked = true;
      f.te_chunked_last = true;
    } else {
      if (f.te_chunked) f.te_after_chunked = true;
      f.te_other = true;
      f.te_chunked_last = false;
    }
  });
}

Fields read_fields(std::vector<Header>& headers) {
  Fields f;
  for (Header& h : headers) {
    h.field = classify(h.name);
    switch (h.field) {
      case Field::host:
        ++f.hosts;
        f.host = h.value;
        break;
      case Field::expect:
        if (iequals_lower(h.value, "100-continue")) f.expect_continue = true;
        break;
      case Field::upgrade:
        f.upgrade_header = true;
        break;
      case Field::connection:
        for_each_element(h.value, [&](std::string_view t) {
          if (iequals_lower(t, "close")) f.conn_close = true;
          else if (iequals_lower(t, "keep-alive")) f.conn_keep_alive = true;
          else if (iequals_lower(t, "upgrade")) f.conn_upgrade = true;
          else if (!t.empty() && !is_hop_by_hop(classify(t))) f.conn_other = true;
        });
        break;
      case Field::content_length:
        ++f.content_lengths;
        f.content_length = h.value;
        break;
      case Field::transfer_encoding:
        ++f.transfer_encodings;
        add_transfer_encoding(h.value, f);
        break;
      default:
        break;
    }
  }
  return f;
}

bool keep_alive(const Fields& f, int minor) {
  if (f.conn_close) return false;
  return minor == 1 || f.conn_keep_alive;
}

// The framing checks common to requests and responses, before their own rules.
Status check_framing(Scan& s, const Fields& f, int minor, bool request) {
  if (f.content_lengths > 0 && f.transfer_encodings > 0) return s.fail(400, "Content-Length with Transfer-Encoding");
  if (f.content_lengths > 1) return s.fail(400, "duplicate Content-Length");
  if (f.transfer_encodings > 0) {
    if (minor == 0) {
      return s.fail(400, request ? "Transfer-Encoding on an HTTP/1.0 request" : "Transfer-Encoding on an HTTP/1.0 response");
    }
    if (f.te_malformed) return s.fail(400, "malformed Transfer-Encoding");
    if (f.te_chunked_twice) return s.fail(400, "chunked applied more than once");
    if (f.te_after_chunked) return s.fail(400, "chunked is not the final transfer coding");
  }
  return Status::complete;
}

}  // namespace

Status parse_request(std::string_view buf, const Limits& limits, RequestHead& out, Error& err) {
  out.method = {};
  out.target = {};
  out.minor = 1;
  out.headers.clear();
  out.head_size = 0;
  out.body = BodyKind::none;
  out.content_length = 0;
  out.host = {};
  out.keep_alive = true;
  out.expect_continue = false;
  out.upgrade = false;
  out.connection_lists_fields = false;

  const uchar* const begin = reinterpret_cast<const uchar*>(buf.data());
  const bool truncated = buf.size() > limits.max_head;
  Scan s{begin + (truncated ? limits.max_head : buf.size()), truncated, err};
  const uchar* const end = s.end;
  const uchar* p = begin;

  // RFC 9112 2.2: empty lines before the request line are ignored.
  for (;;) {
    if (p == end) return s.more();
    if (*p == '\n') return s.fail(400, "bare LF in head");
    if (*p != '\r') break;
    if (p + 1 == end) return s.more();
    if (p[1] != '\n') return s.fail(400, "bare CR in head");
    p += 2;
  }

  // The request line: bytes at or past `bound` are over max_request_line
  // (when capped) or not received yet.
  const uchar* const line = p;
  const bool capped = limits.max_request_line < static_cast<std::size_t>(end - line);
  const uchar* const bound = capped ? line + limits.max_request_line : end;
  auto at_bound = [&] { return capped ? s.fail(414, "request line too long") : s.more(); };

  while (p < bound && is(*p, c_tchar)) ++p;
  if (p == bound) return at_bound();
  if (*p != ' ' || p == line) return s.fail(400, "invalid method");
  out.method = view(line, p);
  const uchar* const target = ++p;
  p = scan<true>(p, bound);
  if (p == bound) return at_bound();
  if (*p != ' ') {
    if (p == target) return s.fail(400, "empty request-target");
    if (*p == '\r' || *p == '\n') return s.fail(400, "missing HTTP version");
    return s.fail(400, "invalid character in request-target");
  }
  if (p == target) return s.fail(400, "empty request-target");
  out.target = view(target, p);
  ++p;
  if (Status st = parse_version(s, p, bound, at_bound, out.minor); st != Status::complete) return st;
  // The CR may sit right at the bound: the line is then exactly max_request_line long.
  if (p == end) return s.more();
  if (*p != '\r') return (capped && p == bound) ? at_bound() : s.fail(400, "invalid HTTP version");
  if (p + 1 == end) return s.more();
  if (p[1] != '\n') return s.fail(400, "bare CR in head");
  p += 2;

  if (Status st = parse_fields(s, p, limits, out.headers); st != Status::complete) return st;
  out.head_size = static_cast<std::size_t>(p - begin);

  const Fields f = read_fields(out.headers);
  if (Status st = check_framing(s, f, out.minor, true); st != Status::complete) return st;
  if (f.transfer_encodings > 0) {
    if (!f.te_chunked_last || f.te_other) return s.fail(501, "unsupported transfer coding");
    out.body = BodyKind::chunked;
  } else if (f.content_lengths == 1) {
    if (!parse_content_length(f.content_length, out.content_length)) return s.fail(400, "malformed Content-Length");
    out.body = BodyKind::length;
  }

  if (f.hosts > 1) return s.fail(400, "multiple Host headers");
  if (f.hosts == 0 && out.minor == 1) return s.fail(400, "missing Host header");
  for (char c : f.host) {
    if (!is(static_cast<uchar>(c), c_host)) return s.fail(400, "invalid Host header");
  }
  out.host = f.host;
  out.keep_alive = keep_alive(f, out.minor);
  // RFC 9110 10.1.1 and 7.8: Expect and Upgrade are ignored on HTTP/1.0.
  out.expect_continue = out.minor == 1 && f.expect_continue;
  out.upgrade = out.minor == 1 && f.conn_upgrade && f.upgrade_header;
  out.connection_lists_fields = f.conn_other;
  return Status::complete;
}

Status parse_response(std::string_view buf, const Limits& limits, std::string_view request_method, ResponseHead& out,
                      Error& err) {
  out.minor = 1;
  out.status = 0;
  out.reason = {};
  out.headers.clear();
  out.head_size = 0;
  out.body = BodyKind::none;
  out.content_length = 0;
  out.keep_alive = true;
  out.upgrade = false;
  out.connection_lists_fields = false;

  const uchar* const begin = reinterpret_cast<const uchar*>(buf.data());
  const bool truncated = buf.size() > limits.max_head;
  Scan s{begin + (truncated ? limits.max_head : buf.size()), truncated, err};
  const uchar* const end = s.end;
  const uchar* p = begin;
  auto more = [&] { return s.more(); };

  // status-line = HTTP-version SP 3DIGIT SP [ reason-phrase ] CRLF; the
  // second SP may be missing ("HTTP/1.1 200").
  if (Status st = parse_version(s, p, end, more, out.minor); st != Status::complete) return st;
  if (p == end) return s.more();
  if (*p != ' ') return s.fail(400, "invalid status line");
  ++p;
  int status = 0;
  for (int i = 0; i < 3; ++i, ++p) {
    if (p == end) return s.more();
    if (*p < '0' || *p > '9') return s.fail(400, "invalid status code");
    status = status * 10 + (*p - '0');
  }
  if (status < 100) return s.fail(400, "invalid status code");
  out.status = status;
  if (p == end) return s.more();
  const uchar* reason = p;
  if (*p == ' ') {
    reason = ++p;
    p = scan<false>(p, end);
    if (p == end) return s.more();
  }
  if (*p != '\r') {
    if (*p == '\n') return s.fail(400, "bare LF in head");
    return s.fail(400, p == reason ? "invalid status code" : "control character in reason phrase");
  }
  out.reason = view(reason, p);
  if (p + 1 == end) return s.more();
  if (p[1] != '\n') return s.fail(400, "bare CR in head");
  p += 2;

  if (Status st = parse_fields(s, p, limits, out.headers); st != Status::complete) return st;
  out.head_size = static_cast<std::size_t>(p - begin);

  const Fields f = read_fields(out.headers);
  if (Status st = check_framing(s, f, out.minor, false); st != Status::complete) return st;
  std::uint64_t length = 0;
  if (f.content_lengths == 1 && !parse_content_length(f.content_length, length)) {
    return s.fail(400, "malformed Content-Length");
  }
  out.keep_alive = keep_alive(f, out.minor);
  out.upgrade = status == 101;
  out.connection_lists_fields = f.conn_other;

  // RFC 9112 6.3, in its order.
  if (request_method == "HEAD" || status < 200 || status == 204 || status == 304) {
    out.body = BodyKind::none;
  } else if (request_method == "CONNECT" && status < 300) {
    out.body = BodyKind::none;
  } else if (f.transfer_encodings > 0) {
    out.body = f.te_chunked_last ? BodyKind::chunked : BodyKind::until_close;
  } else if (f.content_lengths == 1) {
    out.body = BodyKind::length;
    out.content_length = length;
  } else {
    out.body = BodyKind::until_close;
  }
  if (out.body == BodyKind::until_close) out.keep_alive = false;
  return Status::complete;
}

// ---- chunked ----------------------------------------------------------------

ChunkedDecoder::Result ChunkedDecoder::feed(std::string_view in, std::size_t& consumed, std::string* data) {
  consumed = 0;
  if (state_ == State::done) return Result::done;
  if (state_ == State::failed) return Result::error;
  const uchar* const begin = reinterpret_cast<const uchar*>(in.data());
  const uchar* const end = begin + in.size();
  const uchar* p = begin;
  auto fail = [&](const char* reason) {
    consumed = static_cast<std::size_t>(p - begin);
    reason_ = reason;
    state_ = State::failed;
    return Result::error;
  };
  // Counts one byte of chunk extensions or trailers against the limit.
  auto count_ext = [&] { return ++ext_bytes_ <= limits_.max_chunk_ext; };

  while (p < end) {
    if (state_ == State::data) {
      const std::size_t avail = static_cast<std::size_t>(end - p);
      const std::size_t n = remaining_ < avail ? static_cast<std::size_t>(remaining_) : avail;
      if (data != nullptr) data->append(reinterpret_cast<const char*>(p), n);
      p += n;
      remaining_ -= n;
      total_ += n;
      if (remaining_ == 0) state_ = State::data_cr;
      continue;
    }
    const uchar c = *p;
    switch (state_) {
      case State::size: {
        int digit = -1;
        if (c >= '0' && c <= '9') digit = c - '0';
        else if (c >= 'a' && c <= 'f') digit = c - 'a' + 10;
        else if (c >= 'A' && c <= 'F') digit = c - 'A' + 10;
        if (digit >= 0) {
          if (++size_digits_ > 16) return fail("chunk size too large");
          remaining_ = (remaining_ << 4) | static_cast<std::uint64_t>(digit);
          break;
        }
        if (size_digits_ == 0) return fail("invalid chunk size");
        if (remaining_ > std::numeric_limits<std::uint64_t>::max() - total_) return fail("chunk size too large");
        if (c == '\r') {
          state_ = State::size_lf;
        } else if (c == ';' || is_ows(c)) {
          if (!count_ext()) return fail("oversized chunk extension");
          state_ = c == ';' ? State::ext : State::size_ws;
        } else {
          return fail("invalid chunk size");
        }
        break;
      }
      case State::size_ws:  // BWS: only before a ";"
        if (!count_ext()) return fail("oversized chunk extension");
        if (c == ';') state_ = State::ext;
        else if (!is_ows(c)) return fail("whitespace after chunk size");
        break;
      case State::ext:
        if (c == '\r' && !in_quotes_) {
          state_ = State::size_lf;
          break;
        }
        if (!count_ext()) return fail("oversized chunk extension");
        if (in_quotes_) {
          if (escaped_) {
            if (!is(c, c_value)) return fail("invalid character in chunk extension");
            escaped_ = false;
          } else if (c == '"') {
            in_quotes_ = false;
          } else if (c == '\\') {
            escaped_ = true;
          } else if (!is(c, c_value)) {
            return fail(c == '\r' || c == '\n' ? "unterminated quoted string in chunk extension"
                                               : "invalid character in chunk extension");
          }
        } else if (c == '"') {
          in_quotes_ = true;
        } else if (c == '\n') {
          return fail("bare LF in chunk extension");
        } else if (!is(c, c_tchar) && c != ';' && c != '=' && !is_ows(c)) {
          return fail("invalid character in chunk extension");
        }
        break;
      case State::size_lf:
        if (c != '\n') return fail("bare CR in chunk size line");
        size_digits_ = 0;
        state_ = remaining_ == 0 ? State::trailer_start : State::data;
        break;
      case State::data_cr:
        if (c != '\r') return fail("missing CRLF after chunk data");
        state_ = State::data_lf;
        break;
      case State::data_lf:
        if (c != '\n') return fail("missing CRLF after chunk data");
        state_ = State::size;
        break;
      case State::trailer_start:
        if (c == '\r') {
          state_ = State::final_lf;
          break;
        }
        if (!count_ext()) return fail("oversized chunk extension");
        if (is(c, c_tchar)) state_ = State::trailer;
        else if (c == '\n') return fail("bare LF in trailers");
        else if (is_ows(c)) return fail("obs-fold in trailers");
        else if (c == ':') return fail("empty trailer name");
        else return fail("invalid character in trailer name");
        break;
      case State::trailer:
        if (!count_ext()) return fail("oversized chunk extension");
        if (c == ':') state_ = State::trailer_value;
        else if (is_ows(c)) return fail("whitespace between trailer name and colon");
        else if (c == '\r' || c == '\n') return fail("trailer line without colon");
        else if (!is(c, c_tchar)) return fail("invalid character in trailer name");
        break;
      case State::trailer_value:
        if (!count_ext()) return fail("oversized chunk extension");
        if (c == '\r') state_ = State::trailer_lf;
        else if (c == '\n') return fail("bare LF in trailers");
        else if (!is(c, c_value)) return fail("control character in trailer value");
        break;
      case State::trailer_lf:
        if (!count_ext()) return fail("oversized chunk extension");
        if (c != '\n') return fail("bare CR in trailers");
        state_ = State::trailer_start;
        break;
      case State::final_lf:
        if (c != '\n') return fail("bare CR after trailers");
        state_ = State::done;
        consumed = static_cast<std::size_t>(p + 1 - begin);
        return Result::done;
      case State::data:
      case State::done:
      case State::failed:
        break;  // handled above the switch
    }
    ++p;
  }
  consumed = in.size();
  return Result::more;
}

// ---- helpers ------------------------------------------------------------------

Field classify(std::string_view n) {
  auto is = [&](std::string_view lit) { return iequals_lower(n, lit); };
  switch (n.size()) {
    case 2: return is("te") ? Field::te : Field::other;
    case 4: return is("host") ? Field::host : Field::other;
    case 6: return is("expect") ? Field::expect : Field::other;
    case 7: return is("trailer") ? Field::trailer : is("upgrade") ? Field::upgrade : Field::other;
    case 9: return is("x-real-ip") ? Field::x_real_ip : is("forwarded") ? Field::forwarded : Field::other;
    case 10: return is("connection") ? Field::connection : is("keep-alive") ? Field::keep_alive : Field::other;
    case 14: return is("content-length") ? Field::content_length : Field::other;
    case 15: return is("x-forwarded-for") ? Field::x_forwarded_for : Field::other;
    case 16:
      return is("x-forwarded-host")   ? Field::x_forwarded_host
             : is("x-forwarded-port") ? Field::x_forwarded_port
             : is("proxy-connection") ? Field::proxy_connection
                                      : Field::other;
    case 17:
      return is("x-forwarded-proto")   ? Field::x_forwarded_proto
             : is("transfer-encoding") ? Field::transfer_encoding
                                       : Field::other;
    case 18:
      return is("x-forwarded-server")   ? Field::x_forwarded_server
             : is("x-forwarded-prefix") ? Field::x_forwarded_prefix
                                        : Field::other;
    case 19:
      return is("proxy-authorization")  ? Field::proxy_authorization
             : is("proxy-authenticate") ? Field::proxy_authenticate
                                        : Field::other;
    default: return Field::other;
  }
}

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (lower(static_cast<uchar>(a[i])) != lower(static_cast<uchar>(b[i]))) return false;
  }
  return true;
}

std::string_view find_header(const std::vector<Header>& headers, std::string_view name, bool* found) {
  for (const Header& h : headers) {
    if (iequals(h.name, name)) {
      if (found != nullptr) *found = true;
      return h.value;
    }
  }
  if (found != nullptr) *found = false;
  return {};
}

bool is_tchar(unsigned char c) { return is(c, c_tchar); }

bool has_token(std::string_view list, std::string_view token) {
  bool hit = false;
  for_each_element(list, [&](std::string_view t) { hit = hit || iequals(t, token); });
  return hit;
}

std::string_view reason_phrase(int status) {
  switch (status) {
    case 100: return "Continue";
    case 101: return "Switching Protocols";
    case 102: return "Processing";
    case 103: return "Early Hints";
    case 200: return "OK";
    case 201: return "Created";
    case 202: return "Accepted";
    case 203: return "Non-Authoritative Information";
    case 204: return "No Content";
    case 205: return "Reset Content";
    case 206: return "Partial Content";
    case 207: return "Multi-Status";
    case 208: return "Already Reported";
    case 226: return "IM Used";
    case 300: return "Multiple Choices";
    case 301: return "Moved Permanently";
    case 302: return "Found";
    case 303: return "See Other";
    case 304: return "Not Modified";
    case 305: return "Use Proxy";
    case 307: return "Temporary Redirect";
    case 308: return "Permanent Redirect";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 402: return "Payment Required";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 406: return "Not Acceptable";
    case 407: return "Proxy Authentication Required";
    case 408: return "Request Timeout";
    case 409: return "Conflict";
    case 410: return "Gone";
    case 411: return "Length Required";
    case 412: return "Precondition Failed";
    case 413: return "Content Too Large";
    case 414: return "URI Too Long";
    case 415: return "Unsupported Media Type";
    case 416: return "Range Not Satisfiable";
    case 417: return "Expectation Failed";
    case 418: return "I'm a teapot";
    case 421: return "Misdirected Request";
    case 422: return "Unprocessable Content";
    case 423: return "Locked";
    case 424: return "Failed Dependency";
    case 425: return "Too Early";
    case 426: return "Upgrade Required";
    case 428: return "Precondition Required";
    case 429: return "Too Many Requests";
    case 431: return "Request Header Fields Too Large";
    case 451: return "Unavailable For Legal Reasons";
    case 500: return "Internal Server Error";
    case 501: return "Not Implemented";
    case 502: return "Bad Gateway";
    case 503: return "Service Unavailable";
    case 504: return "Gateway Timeout";
    case 505: return "HTTP Version Not Supported";
    case 506: return "Variant Also Negotiates";
    case 507: return "Insufficient Storage";
    case 508: return "Loop Detected";
    case 510: return "Not Extended";
    case 511: return "Network Authentication Required";
    default: return "";
  }
}

}  // namespace certroute::proxy::http1
