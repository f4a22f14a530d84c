#include <catch2/catch.hpp>

#include <string>
#include <string_view>
#include <vector>

#include "core/proxy/http1.hpp"

using namespace certroute::proxy::http1;
using namespace std::string_literals;

namespace {

struct ParsedRequest {
  Status status;
  RequestHead head;
  Error err;
};

ParsedRequest request(std::string_view buf, const Limits& limits = {}) {
  ParsedRequest r;
  r.status = parse_request(buf, limits, r.head, r.err);
  return r;
}

// The status a request is rejected with; 0 when it parses, -1 when incomplete.
int request_error(std::string_view buf, const Limits& limits = {}) {
  ParsedRequest r = request(buf, limits);
  if (r.status == Status::complete) return 0;
  if (r.status == Status::incomplete) return -1;
  INFO("reason: " << r.err.reason);
  CHECK(std::string_view(r.err.reason) != "");
  return r.err.status;
}

struct ParsedResponse {
  Status status;
  ResponseHead head;
  Error err;
};

ParsedResponse response(std::string_view buf, std::string_view method = "GET", const Limits& limits = {}) {
  ParsedResponse r;
  r.status = parse_response(buf, limits, method, r.head, r.err);
  return r;
}

int response_error(std::string_view buf, std::string_view method = "GET") {
  ParsedResponse r = response(buf, method);
  if (r.status == Status::complete) return 0;
  if (r.status == Status::incomplete) return -1;
  INFO("reason: " << r.err.reason);
  return r.err.status;
}

bool inside(std::string_view part, std::string_view whole) {
  return part.data() >= whole.data() && part.data() + part.size() <= whole.data() + whole.size();
}

}  // namespace

// ---- requests: what is accepted ------------------------------------------------

TEST_CASE("parse_request reads a simple GET", "[http1]") {
  const std::string buf =
      "GET /a/b?c=d HTTP/1.1\r\n"
      "Host: example.com:8443\r\n"
      "User-Agent:  curl/8.0 \t\r\n"
      "X-Empty:\r\n"
      "X-Tab:\tv\ta\tl\r\n"
      "X-Obs: caf\xc3\xa9\r\n"
      "\r\n"
      "BODY";
  ParsedRequest r = request(buf);
  REQUIRE(r.status == Status::complete);
  const RequestHead& h = r.head;
  CHECK(h.method == "GET");
  CHECK(h.target == "/a/b?c=d");
  CHECK(h.minor == 1);
  CHECK(h.head_size == buf.size() - 4);
  CHECK(h.body == BodyKind::none);
  CHECK(h.host == "example.com:8443");
  CHECK(h.keep_alive);
  CHECK_FALSE(h.expect_continue);
  CHECK_FALSE(h.upgrade);
  REQUIRE(h.headers.size() == 5);
  CHECK(h.headers[0].name == "Host");
  CHECK(h.headers[1].name == "User-Agent");
  CHECK(h.headers[1].value == "curl/8.0");
  CHECK(h.headers[2].name == "X-Empty");
  CHECK(h.headers[2].value == "");
  CHECK(h.headers[3].value == "v\ta\tl");
  CHECK(h.headers[4].value == "caf\xc3\xa9");
  // Zero-copy: every view points into the buffer.
  for (const Header& hd : h.headers) {
    CHECK(inside(hd.name, buf));
    CHECK(inside(hd.value, buf));
  }
  CHECK(inside(h.method, buf));
  CHECK(inside(h.target, buf));
  CHECK(inside(h.host, buf));
}

TEST_CASE("parse_request accepts every request-target form", "[http1]") {
  for (const char* target : {"/", "*", "example.com:443", "http://example.com/p?q", "/caf\xc3\xa9", "/a%20b?x=\"y\""}) {
    const std::string buf = "OPTIONS "s + target + " HTTP/1.1\r\nHost: example.com\r\n\r\n";
    ParsedRequest r = request(buf);
    INFO(target);
    REQUIRE(r.status == Status::complete);
    CHECK(r.head.target == target);
  }
  // Methods are tokens, case-sensitive, kept as sent.
  ParsedRequest r = request("M-SEARCH * HTTP/1.1\r\nHost: h\r\n\r\n");
  REQUIRE(r.status == Status::complete);
  CHECK(r.head.method == "M-SEARCH");
}

TEST_CASE("parse_request reads the body framing", "[http1]") {
  SECTION("Content-Length") {
    ParsedRequest r = request("POST /p HTTP/1.1\r\nHost: h\r\nContent-Length: 42\r\n\r\n");
    REQUIRE(r.status == Status::complete);
    CHECK(r.head.body == BodyKind::length);
    CHECK(r.head.content_length == 42);
  }
  SECTION("Content-Length: 0 and leading zeros") {
    ParsedRequest r = request("POST /p HTTP/1.1\r\nHost: h\r\ncontent-length: 0\r\n\r\n");
    REQUIRE(r.status == Status::complete);
    CHECK(r.head.body == BodyKind::length);
    CHECK(r.head.content_length == 0);
    r = request("POST /p HTTP/1.1\r\nHost: h\r\nContent-Length: 007\r\n\r\n");
    REQUIRE(r.status == Status::complete);
    CHECK(r.head.content_length == 7);
  }
  SECTION("the largest Content-Length, 2^63-1") {
    ParsedRequest r = request("POST /p HTTP/1.1\r\nHost: h\r\nContent-Length: 9223372036854775807\r\n\r\n");
    REQUIRE(r.status == Status::complete);
    CHECK(r.head.content_length == 9223372036854775807ULL);
  }
  SECTION("chunked, in any case") {
    for (const char* te : {"chunked", "Chunked", "CHUNKED", " chunked "}) {
      ParsedRequest r = request("POST /p HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: "s + te + "\r\n\r\n");
      INFO(te);
      REQUIRE(r.status == Status::complete);
      CHECK(r.head.body == BodyKind::chunked);
    }
  }
  SECTION("no framing header: no body") {
    ParsedRequest r = request("POST /p HTTP/1.1\r\nHost: h\r\n\r\n");
    REQUIRE(r.status == Status::complete);
    CHECK(r.head.body == BodyKind::none);
  }
}

TEST_CASE("parse_request derives keep-alive, upgrade and expect", "[http1]") {
  auto parse = [](const std::string& version, const std::string& fields) {
    ParsedRequest r = request("GET / " + version + "\r\nHost: h\r\n" + fields + "\r\n");
    REQUIRE(r.status == Status::complete);
    return r.head;
  };
  CHECK(parse("HTTP/1.1", "").keep_alive);
  CHECK_FALSE(parse("HTTP/1.1", "Connection: close\r\n").keep_alive);
  CHECK_FALSE(parse("HTTP/1.1", "Connection: keep-alive, Close\r\n").keep_alive);
  CHECK_FALSE(parse("HTTP/1.1", "Connection: keep-alive\r\nConnection: close\r\n").keep_alive);
  CHECK(parse("HTTP/1.1", "Connection: closed\r\n").keep_alive);
  CHECK_FALSE(parse("HTTP/1.0", "").keep_alive);
  CHECK(parse("HTTP/1.0", "Connection: Keep-Alive\r\n").keep_alive);
  CHECK(parse("HTTP/1.0", "").minor == 0);

  CHECK(parse("HTTP/1.1", "Connection: Upgrade\r\nUpgrade: websocket\r\n").upgrade);
  CHECK(parse("HTTP/1.1", "Connection: keep-alive, upgrade\r\nupgrade: h2c\r\n").upgrade);
  CHECK_FALSE(parse("HTTP/1.1", "Connection: upgrade\r\n").upgrade);
  CHECK_FALSE(parse("HTTP/1.1", "Upgrade: websocket\r\n").upgrade);
  CHECK_FALSE(parse("HTTP/1.0", "Connection: upgrade\r\nUpgrade: websocket\r\n").upgrade);

  CHECK(parse("HTTP/1.1", "Expect: 100-continue\r\n").expect_continue);
  CHECK(parse("HTTP/1.1", "expect:  100-Continue \r\n").expect_continue);
  CHECK_FALSE(parse("HTTP/1.1", "Expect: 200-ok\r\n").expect_continue);
  CHECK_FALSE(parse("HTTP/1.1", "").expect_continue);
  CHECK_FALSE(parse("HTTP/1.0", "Expect: 100-continue\r\n").expect_continue);
}

TEST_CASE("parse_request: Host rules", "[http1]") {
  CHECK(request_error("GET / HTTP/1.1\r\nhost: [::1]:8080\r\n\r\n") == 0);
  CHECK(request_error("GET / HTTP/1.1\r\nHost: xn--caf-dma.example_1.com\r\n\r\n") == 0);
  CHECK(request_error("GET / HTTP/1.1\r\nHost:\r\n\r\n") == 0);  // empty Host is allowed (RFC 9112 3.2)
  CHECK(request_error("GET / HTTP/1.0\r\n\r\n") == 0);           // HTTP/1.0 needs none
  CHECK(request("GET / HTTP/1.0\r\n\r\n").head.host == "");
  CHECK(request_error("GET / HTTP/1.1\r\n\r\n") == 400);
  CHECK(request_error("GET / HTTP/1.1\r\nX-Host: a\r\n\r\n") == 400);
  CHECK(request_error("GET / HTTP/1.1\r\nHost: a\r\nHost: a\r\n\r\n") == 400);
  CHECK(request_error("GET / HTTP/1.1\r\nHost: a\r\nhost: b\r\n\r\n") == 400);
  CHECK(request_error("GET / HTTP/1.0\r\nHost: a\r\nHost: b\r\n\r\n") == 400);
  for (const char* bad : {"a/b", "a@b", "a b", "a?b", "a#b", "a\\b", "a\"b"}) {
    INFO(bad);
    CHECK(request_error("GET / HTTP/1.1\r\nHost: "s + bad + "\r\n\r\n") == 400);
  }
}

TEST_CASE("parse_request skips empty lines before the request line", "[http1]") {
  const std::string buf = "\r\n\r\nGET / HTTP/1.1\r\nHost: h\r\n\r\n";
  ParsedRequest r = request(buf);
  REQUIRE(r.status == Status::complete);
  CHECK(r.head.head_size == buf.size());
  CHECK(r.head.method == "GET");
  CHECK(request_error("\r\n") == -1);
  CHECK(request_error("\r") == -1);
  CHECK(request_error("\n") == 400);
  CHECK(request_error("\r\n\nGET / HTTP/1.1\r\nHost: h\r\n\r\n") == 400);
  CHECK(request_error("\r\r\nGET / HTTP/1.1\r\nHost: h\r\n\r\n") == 400);
}

TEST_CASE("parse_request parses pipelined requests one after the other", "[http1]") {
  const std::string first = "POST /one HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n\r\n";
  const std::string second = "GET /two HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n";
  const std::string third = "GET /three HTTP/1.1\r\nHost: h\r\n";  // still arriving
  const std::string buf = first + "hello" + second + third;
  RequestHead head;
  Error err;
  std::string_view rest = buf;
  REQUIRE(parse_request(rest, {}, head, err) == Status::complete);
  CHECK(head.target == "/one");
  CHECK(head.head_size == first.size());
  REQUIRE(head.body == BodyKind::length);
  rest.remove_prefix(head.head_size + head.content_length);
  REQUIRE(parse_request(rest, {}, head, err) == Status::complete);
  CHECK(head.target == "/two");
  CHECK_FALSE(head.keep_alive);
  CHECK(head.head_size == second.size());
  rest.remove_prefix(head.head_size);
  CHECK(parse_request(rest, {}, head, err) == Status::incomplete);
}

TEST_CASE("parse_request: every prefix of a valid request is incomplete", "[http1]") {
  const std::vector<std::string> requests = {
      "GET / HTTP/1.1\r\nHost: h\r\n\r\n",
      "\r\n\r\nPOST http://h/p?q HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\nX:  a \t\r\nY:\r\n\r\n",
      "PUT /a HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\nConnection: keep-alive\r\n\r\n",
      "GET /0123456789abcdef0123456789abcdef HTTP/1.1\r\nHost: example.com\r\nAccept: */*\r\n\r\n",
  };
  for (const std::string& full : requests) {
    REQUIRE(request_error(full) == 0);
    for (std::size_t n = 0; n < full.size(); ++n) {
      INFO("prefix of " << n << " bytes of: " << full);
      CHECK(request_error(std::string_view(full).substr(0, n)) == -1);
    }
  }
}

TEST_CASE("parse_request reuses the headers vector", "[http1]") {
  RequestHead head;
  Error err;
  const std::string many = "GET / HTTP/1.1\r\nHost: h\r\nA: 1\r\nB: 2\r\nC: 3\r\nD: 4\r\nE: 5\r\nF: 6\r\n\r\n";
  REQUIRE(parse_request(many, {}, head, err) == Status::complete);
  const std::size_t capacity = head.headers.capacity();
  const Header* storage = head.headers.data();
  REQUIRE(parse_request("GET / HTTP/1.1\r\nHost: h\r\n\r\n", {}, head, err) == Status::complete);
  CHECK(head.headers.size() == 1);
  CHECK(head.headers.capacity() == capacity);
  CHECK(head.headers.data() == storage);
}

// ---- requests: what is refused ------------------------------------------------

TEST_CASE("parse_request refuses smuggling-prone framing", "[http1]") {
  struct Case {
    const char* what;
    std::string fields;
    int status;
  };
  const std::vector<Case> cases = {
      {"CL with TE", "Content-Length: 5\r\nTransfer-Encoding: chunked\r\n", 400},
      {"TE with CL", "Transfer-Encoding: chunked\r\nContent-Length: 5\r\n", 400},
      {"TE with CL 0", "Transfer-Encoding: chunked\r\nContent-Length: 0\r\n", 400},
      {"duplicate CL, equal", "Content-Length: 5\r\nContent-Length: 5\r\n", 400},
      {"duplicate CL, different", "Content-Length: 5\r\ncontent-length: 6\r\n", 400},
      {"CL list", "Content-Length: 5, 5\r\n", 400},
      {"CL plus", "Content-Length: +5\r\n", 400},
      {"CL minus", "Content-Length: -5\r\n", 400},
      {"CL empty", "Content-Length:\r\n", 400},
      {"CL blank", "Content-Length:   \r\n", 400},
      {"CL junk after", "Content-Length: 5a\r\n", 400},
      {"CL junk before", "Content-Length: a5\r\n", 400},
      {"CL inner space", "Content-Length: 5 5\r\n", 400},
      {"CL hex", "Content-Length: 0x5\r\n", 400},
      {"CL decimal", "Content-Length: 5.0\r\n", 400},
      {"CL 2^63", "Content-Length: 9223372036854775808\r\n", 400},
      {"CL 2^64", "Content-Length: 18446744073709551616\r\n", 400},
      {"CL huge", "Content-Length: 99999999999999999999999999\r\n", 400},
      {"TE gzip, chunked", "Transfer-Encoding: gzip, chunked\r\n", 501},
      {"TE gzip then chunked fields", "Transfer-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n", 501},
      {"TE gzip", "Transfer-Encoding: gzip\r\n", 501},
      {"TE identity", "Transfer-Encoding: identity\r\n", 501},
      {"TE unknown", "Transfer-Encoding: xchunked\r\n", 501},
      {"TE chunked, gzip", "Transfer-Encoding: chunked, gzip\r\n", 400},
      {"TE chunked, chunked", "Transfer-Encoding: chunked, chunked\r\n", 400},
      {"TE chunked twice as fields", "Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n", 400},
      {"TE chunked then gzip fields", "Transfer-Encoding: chunked\r\nTransfer-Encoding: gzip\r\n", 400},
      {"TE empty", "Transfer-Encoding:\r\n", 400},
      {"TE empty element", "Transfer-Encoding: chunked,\r\n", 400},
      {"TE leading empty element", "Transfer-Encoding: , chunked\r\n", 400},
      {"TE with parameters", "Transfer-Encoding: chunked;q=1\r\n", 400},
      {"TE vertical tab", "Transfer-Encoding: \x0b" "chunked\r\n", 400},
  };
  for (const Case& c : cases) {
    INFO(c.what);
    CHECK(request_error("POST / HTTP/1.1\r\nHost: h\r\n" + c.fields + "\r\n") == c.status);
  }
  // Transfer-Encoding is refused on HTTP/1.0, even "chunked".
  CHECK(request_error("POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n") == 400);
}

TEST_CASE("parse_request reads names made of any token characters", "[http1]") {
  const std::string names[] = {
      "X-Rather-Long-Header-Name-Of-Letters-And-Digits-0123456789",
      "x_underscore.dot!bang#hash$dollar%percent&amp'quote*star+plus^hat`tick|pipe~tilde",
      "Sixteen-Chars-Ab",  // exactly sixteen, then the colon
      "A",
  };
  for (const std::string& name : names) {
    INFO(name);
    const std::string raw = "GET / HTTP/1.1\r\nHost: h\r\n" + name + ": v\r\n\r\n";  // the views point into it
    ParsedRequest r = request(raw);
    REQUIRE(r.status == Status::complete);
    REQUIRE(r.head.headers.size() == 2);
    CHECK(r.head.headers[1].name == name);
    CHECK(r.head.headers[1].value == "v");
  }
}

TEST_CASE("parse_request refuses malformed header lines", "[http1]") {
  struct Case {
    const char* what;
    std::string fields;
  };
  const std::vector<Case> cases = {
      {"obs-fold", "X: a\r\n b\r\n"},
      {"obs-fold with tab", "X: a\r\n\tb\r\n"},
      {"whitespace before the first field", " X: a\r\n"},
      {"bare LF ends a field", "X: a\n"},
      {"bare LF ends the head", "X: a\r\n\n"},
      {"bare LF alone", "\n"},
      {"bare CR in a value", "X: a\rb\r\n"},
      {"bare CR ends a field", "X: a\rY: b\r\n"},
      {"CR CR LF", "X: a\r\r\n"},
      {"bare CR ends the head", "\rX"},
      {"space before colon", "Content-Length : 5\r\n"},
      {"tab before colon", "Host\t: h\r\n"},
      {"space in name", "X Y: a\r\n"},
      {"empty name", ": a\r\n"},
      {"no colon", "just text\r\n"},
      {"no colon, one token", "Token\r\n"},
      {"separator in name", "X(: a\r\n"},
      {"slash in name", "X/Y: a\r\n"},
      {"non-ASCII in name", "Caf\xc3\xa9: a\r\n"},
      {"NUL in name", "X\0Y: a\r\n"s},
      {"NUL in value", "X: a\0b\r\n"s},
      {"control in value", "X: a\x01z\r\n"},
      {"escape in value", "X: \x1b[31m\r\n"},
      {"DEL in value", "X: a\x7f\r\n"},
      {"vertical tab in value", "X: a\x0bz\r\n"},
      {"form feed in value", "X: \x0c\r\n"},
      // Long names: the name scanner takes sixteen bytes at a time.
      {"space in a long name", "X-A-Rather-Long-Header Name: a\r\n"},
      {"separator late in a long name", "X-A-Rather-Long-Header(Name: a\r\n"},
      {"non-ASCII late in a long name", "X-A-Rather-Long-Header-Caf\xc3\xa9: a\r\n"},
      {"NUL late in a long name", "X-A-Rather-Long-Header\0Name: a\r\n"s},
      {"space before colon after a long name", "X-A-Rather-Long-Header-Name : a\r\n"},
  };
  for (const Case& c : cases) {
    INFO(c.what);
    CHECK(request_error("GET / HTTP/1.1\r\nHost: h\r\n" + c.fields + "\r\n") == 400);
  }
}

TEST_CASE("parse_request: the error reason names the problem", "[http1]") {
  auto reason = [](const std::string& fields) {
    ParsedRequest r = request("POST / HTTP/1.1\r\nHost: h\r\n" + fields + "\r\n");
    REQUIRE(r.status == Status::error);
    return std::string(r.err.reason);
  };
  CHECK(reason("Content-Length: 1\r\nTransfer-Encoding: chunked\r\n") == "Content-Length with Transfer-Encoding");
  CHECK(reason("Content-Length: 1\r\nContent-Length: 1\r\n") == "duplicate Content-Length");
  CHECK(reason("Content-Length: 1x\r\n") == "malformed Content-Length");
  CHECK(reason("Transfer-Encoding: gzip, chunked\r\n") == "unsupported transfer coding");
  CHECK(reason("Transfer-Encoding: chunked, gzip\r\n") == "chunked is not the final transfer coding");
  CHECK(reason("Transfer-Encoding: chunked, chunked\r\n") == "chunked applied more than once");
  CHECK(reason("X: a\r\n b\r\n") == "obs-fold (header line starts with whitespace)");
  CHECK(reason("X : a\r\n") == "whitespace between header name and colon");
  CHECK(reason(": a\r\n") == "empty header name");
  CHECK(reason("X: a\n") == "bare LF in head");
  CHECK(reason("X: a\rb\r\n") == "bare CR in head");
  CHECK(reason("X: \x01\r\n") == "control character in header value");
  CHECK(reason("Host: h\r\n") == "multiple Host headers");
  CHECK(std::string(request("POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n").err.reason) ==
        "Transfer-Encoding on an HTTP/1.0 request");
}

TEST_CASE("parse_request refuses malformed request lines", "[http1]") {
  struct Case {
    std::string line;
    int status;
  };
  const std::vector<Case> cases = {
      {"G(T / HTTP/1.1", 400},
      {"GET\t/ HTTP/1.1", 400},
      {" GET / HTTP/1.1", 400},
      {"/ HTTP/1.1", 400},
      {"G\xc3\x89T / HTTP/1.1", 400},
      {"GET  / HTTP/1.1", 400},
      {"GET /a b HTTP/1.1", 400},
      {"GET /a\tb HTTP/1.1", 400},
      {"GET /a\x01 HTTP/1.1", 400},
      {"GET /a\x7f HTTP/1.1", 400},
      {"GET /a\0 HTTP/1.1"s, 400},
      {"GET /", 400},
      {"GET / ", 400},
      {"GET / HTTP/1.1 ", 400},
      {"GET / http/1.1", 400},
      {"GET / HTTP/1.10", 400},
      {"GET / HTTP/1", 400},
      {"GET / HTTP/1.x", 400},
      {"GET / HTTP/11", 400},
      {"GET / HTTPS/1.1", 400},
      {"GET / HTTP/2.0", 505},
      {"GET / HTTP/1.2", 505},
      {"GET / HTTP/0.9", 505},
      {"GET / HTTP/3.0", 505},
      {"GET / HTTP/1.9", 505},
  };
  for (const Case& c : cases) {
    INFO(c.line);
    CHECK(request_error(c.line + "\r\nHost: h\r\n\r\n") == c.status);
  }
  // Bare CR/LF in the request line.
  CHECK(request_error("GET / HTTP/1.1\nHost: h\r\n\r\n") == 400);
  CHECK(request_error("GET / HTTP/1.1\rHost: h\r\n\r\n") == 400);
  CHECK(request_error("GET /\r\nHost: h\r\n\r\n") == 400);  // HTTP/0.9
}

TEST_CASE("parse_request rejects garbage at once, without waiting for a line end", "[http1]") {
  // A TLS ClientHello sent to the plain-text port.
  CHECK(request_error("\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03"s) == 400);
  CHECK(request_error("GET /\x01") == 400);
  CHECK(request_error("GET / HTTP/2") == 505);
  CHECK(request_error("GET / HTTP/1.1\r\nHost: h\r\nX:\x01") == 400);
  CHECK(request_error("GET / HTTP/1.1\r\nHost: h\r\n X") == 400);
}

// ---- limits -------------------------------------------------------------------

TEST_CASE("parse_request enforces max_head", "[http1]") {
  const std::string head = "GET / HTTP/1.1\r\nHost: h\r\nX: aaaaaaaaaa\r\n\r\n";
  Limits limits;
  limits.max_head = head.size();
  CHECK(request_error(head, limits) == 0);
  CHECK(request_error(head + "next request bytes", limits) == 0);
  limits.max_head = head.size() - 1;
  CHECK(request_error(head, limits) == 431);

  // An unfinished head is cut off as soon as the buffer passes the limit.
  limits.max_head = 64;
  std::string flood = "GET / HTTP/1.1\r\nHost: h\r\n";
  while (flood.size() < 64) flood += "X: y\r\n";
  flood.resize(64);
  CHECK(request_error(flood, limits) == -1);
  flood += "X";
  CHECK(request_error(flood, limits) == 431);

  // Empty lines before the request line count.
  std::string leading;
  while (leading.size() < 60) leading += "\r\n";
  CHECK(request_error(leading, limits) == -1);
  CHECK(request_error(leading + "GET / HTTP/1.1\r\nHost: h\r\n\r\n", limits) == 431);
  CHECK(request_error(leading + leading, limits) == 431);
}

TEST_CASE("parse_request enforces max_headers", "[http1]") {
  Limits limits;
  limits.max_headers = 3;
  CHECK(request_error("GET / HTTP/1.1\r\nHost: h\r\nA: 1\r\nB: 2\r\n\r\n", limits) == 0);
  CHECK(request_error("GET / HTTP/1.1\r\nHost: h\r\nA: 1\r\nB: 2\r\nC: 3\r\n\r\n", limits) == 431);
  // Known as soon as the fourth field starts.
  CHECK(request_error("GET / HTTP/1.1\r\nHost: h\r\nA: 1\r\nB: 2\r\nC", limits) == 431);
  CHECK(request_error("GET / HTTP/1.1\r\nHost: h\r\nA: 1\r\nB: 2\r\n", limits) == -1);
}

TEST_CASE("parse_request enforces max_request_line", "[http1]") {
  Limits limits;
  const std::string line = "GET /" + std::string(100, 'a') + " HTTP/1.1";
  limits.max_request_line = line.size();
  CHECK(request_error(line + "\r\nHost: h\r\n\r\n", limits) == 0);
  limits.max_request_line = line.size() - 1;
  CHECK(request_error(line + "\r\nHost: h\r\n\r\n", limits) == 414);
  // Unfinished lines: an error as soon as the line passes the limit.
  limits.max_request_line = 50;
  const std::string long_target = "GET /" + std::string(200, 'a');
  CHECK(request_error(long_target.substr(0, 50), limits) == -1);
  CHECK(request_error(long_target.substr(0, 51), limits) == 414);
  CHECK(request_error(std::string(51, 'G'), limits) == 414);
  CHECK(request_error("GET /" + std::string(36, 'a') + " HTTP/1.", limits) == -1);
  CHECK(request_error("GET /" + std::string(36, 'a') + " HTTP/1.1", limits) == -1);  // exactly 50
  CHECK(request_error("GET /" + std::string(36, 'a') + " HTTP/1.1\r", limits) == -1);
  CHECK(request_error("GET /" + std::string(37, 'a') + " HTTP/1.1", limits) == 414);
  // Leading empty lines are not part of the request line.
  CHECK(request_error("\r\n\r\nGET /" + std::string(36, 'a') + " HTTP/1.1\r\nHost: h\r\n\r\n", limits) == 0);
  // The limit covers the request line only, not the fields.
  CHECK(request_error("GET / HTTP/1.1\r\nHost: h\r\nX: " + std::string(200, 'x') + "\r\n\r\n", limits) == 0);
}

// ---- responses ----------------------------------------------------------------

TEST_CASE("parse_response reads the status line", "[http1]") {
  const std::string buf = "HTTP/1.1 404 Not Found\r\nContent-Length: 3\r\nServer:  x \r\n\r\nabc";
  ParsedResponse r = response(buf);
  REQUIRE(r.status == Status::complete);
  CHECK(r.head.minor == 1);
  CHECK(r.head.status == 404);
  CHECK(r.head.reason == "Not Found");
  CHECK(r.head.head_size == buf.size() - 3);
  CHECK(r.head.body == BodyKind::length);
  CHECK(r.head.content_length == 3);
  CHECK(r.head.keep_alive);
  REQUIRE(r.head.headers.size() == 2);
  CHECK(r.head.headers[1].value == "x");

  r = response("HTTP/1.1 200 \r\nContent-Length: 0\r\n\r\n");
  REQUIRE(r.status == Status::complete);
  CHECK(r.head.status == 200);
  CHECK(r.head.reason == "");
  r = response("HTTP/1.1 200\r\nContent-Length: 0\r\n\r\n");
  REQUIRE(r.status == Status::complete);
  CHECK(r.head.status == 200);
  CHECK(r.head.reason == "");
  r = response("HTTP/1.0 500 Oops \xc3\xa9\t!\r\n\r\n");
  REQUIRE(r.status == Status::complete);
  CHECK(r.head.minor == 0);
  CHECK(r.head.reason == "Oops \xc3\xa9\t!");

  CHECK(response_error("HTTP/1.1 20 OK\r\n\r\n") == 400);
  CHECK(response_error("HTTP/1.1 2000 OK\r\n\r\n") == 400);
  CHECK(response_error("HTTP/1.1 2x0 OK\r\n\r\n") == 400);
  CHECK(response_error("HTTP/1.1  200 OK\r\n\r\n") == 400);
  CHECK(response_error("HTTP/1.1 099 OK\r\n\r\n") == 400);
  CHECK(response_error("HTTP/1.1\r\n\r\n") == 400);
  CHECK(response_error("HTTP/1.1 200 O\x01K\r\n\r\n") == 400);
  CHECK(response_error("HTTP/1.1 200 OK\n\r\n") == 400);
  CHECK(response_error("HTTP/1.1 200 OK\rX\r\n") == 400);
  CHECK(response_error("HTTP/2.0 200 OK\r\n\r\n") == 505);
  CHECK(response_error("HTTP/1.2 200 OK\r\n\r\n") == 505);
  CHECK(response_error("ICY 200 OK\r\n\r\n") == 400);
  CHECK(response_error("\r\nHTTP/1.1 200 OK\r\n\r\n") == 400);  // no leading empty lines on responses
}

TEST_CASE("parse_response applies RFC 9112 6.3 body rules", "[http1]") {
  auto body = [](const std::string& head, std::string_view method = "GET") {
    ParsedResponse r = response(head + "\r\n", method);
    INFO(head << " to " << method << ": " << r.err.reason);
    REQUIRE(r.status == Status::complete);
    return r.head;
  };
  const std::string cl = "Content-Length: 10\r\n";
  const std::string te = "Transfer-Encoding: chunked\r\n";
  CHECK(body("HTTP/1.1 200 OK\r\n" + cl, "HEAD").body == BodyKind::none);
  CHECK(body("HTTP/1.1 200 OK\r\n" + te, "HEAD").body == BodyKind::none);
  CHECK(body("HTTP/1.1 100 Continue\r\n").body == BodyKind::none);
  CHECK(body("HTTP/1.1 103 Early Hints\r\nLink: </a>\r\n").body == BodyKind::none);
  CHECK(body("HTTP/1.1 204 No Content\r\n" + cl).body == BodyKind::none);
  CHECK(body("HTTP/1.1 304 Not Modified\r\n" + cl).body == BodyKind::none);
  CHECK(body("HTTP/1.1 200 Connection Established\r\n", "CONNECT").body == BodyKind::none);
  CHECK(body("HTTP/1.1 200 OK\r\n" + cl, "CONNECT").body == BodyKind::none);
  CHECK(body("HTTP/1.1 407 Proxy Authentication Required\r\n" + cl, "CONNECT").body == BodyKind::length);
  CHECK(body("HTTP/1.1 200 OK\r\n" + te).body == BodyKind::chunked);
  CHECK(body("HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n").body == BodyKind::chunked);
  ResponseHead h = body("HTTP/1.1 200 OK\r\n" + cl);
  CHECK(h.body == BodyKind::length);
  CHECK(h.content_length == 10);
  CHECK(h.keep_alive);

  h = body("HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n");
  CHECK(h.body == BodyKind::until_close);
  CHECK_FALSE(h.keep_alive);
  h = body("HTTP/1.1 200 OK\r\n");
  CHECK(h.body == BodyKind::until_close);
  CHECK_FALSE(h.keep_alive);
  h = body("HTTP/1.1 204 No Content\r\n");
  CHECK(h.body == BodyKind::none);
  CHECK(h.keep_alive);

  h = body("HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n");
  CHECK(h.upgrade);
  CHECK(h.body == BodyKind::none);
  CHECK_FALSE(body("HTTP/1.1 200 OK\r\nConnection: upgrade\r\nUpgrade: h2c\r\n" + cl).upgrade);
}

TEST_CASE("parse_response derives keep-alive", "[http1]") {
  auto alive = [](const std::string& head) {
    ParsedResponse r = response(head + "Content-Length: 0\r\n\r\n");
    REQUIRE(r.status == Status::complete);
    return r.head.keep_alive;
  };
  CHECK(alive("HTTP/1.1 200 OK\r\n"));
  CHECK_FALSE(alive("HTTP/1.1 200 OK\r\nConnection: close\r\n"));
  CHECK_FALSE(alive("HTTP/1.0 200 OK\r\n"));
  CHECK(alive("HTTP/1.0 200 OK\r\nConnection: keep-alive\r\n"));
}

TEST_CASE("parse_response refuses smuggling-prone framing", "[http1]") {
  CHECK(response_error("HTTP/1.1 200 OK\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n") == 400);
  CHECK(response_error("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n") == 400);
  CHECK(response_error("HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 5\r\n\r\n") == 400);
  CHECK(response_error("HTTP/1.1 200 OK\r\nContent-Length: 5x\r\n\r\n") == 400);
  CHECK(response_error("HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n") == 400);
  CHECK(response_error("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked, gzip\r\n\r\n") == 400);
  CHECK(response_error("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked, chunked\r\n\r\n") == 400);
  CHECK(response_error("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked,\r\n\r\n") == 400);
  CHECK(response_error("HTTP/1.0 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n") == 400);
  // Also where the framing does not decide the body.
  CHECK(response_error("HTTP/1.1 304 Not Modified\r\nContent-Length: 5\r\nContent-Length: 5\r\n\r\n") == 400);
  CHECK(response_error("HTTP/1.1 200 OK\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n", "HEAD") == 400);
  // Header lines follow the request rules.
  CHECK(response_error("HTTP/1.1 200 OK\r\nX: a\r\n b\r\nContent-Length: 0\r\n\r\n") == 400);
  CHECK(response_error("HTTP/1.1 200 OK\r\nContent-Length : 0\r\n\r\n") == 400);
  CHECK(response_error("HTTP/1.1 200 OK\r\nContent-Length: 0\n\r\n") == 400);
}

TEST_CASE("parse_response: limits and prefixes", "[http1]") {
  const std::string full = "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 2\r\n\r\n";
  REQUIRE(response_error(full) == 0);
  for (std::size_t n = 0; n < full.size(); ++n) {
    INFO(n);
    CHECK(response_error(std::string_view(full).substr(0, n)) == -1);
  }
  const std::string bare = "HTTP/1.1 200\r\n\r\n";
  for (std::size_t n = 0; n < bare.size(); ++n) CHECK(response_error(std::string_view(bare).substr(0, n)) == -1);

  Limits limits;
  limits.max_head = full.size() - 1;
  CHECK(response(full, "GET", limits).err.status == 431);
  CHECK(response(full, "GET", limits).status == Status::error);
  limits.max_head = full.size();
  CHECK(response(full, "GET", limits).status == Status::complete);
  limits.max_headers = 1;
  CHECK(response(full, "GET", limits).err.status == 431);
}

// ---- chunked ------------------------------------------------------------------

namespace {

struct Decoded {
  ChunkedDecoder::Result result;
  std::size_t consumed;  // total over the calls
  std::string data;
  std::uint64_t body_bytes;
  std::string reason;
  bool operator==(const Decoded& o) const {
    return result == o.result && consumed == o.consumed && data == o.data && body_bytes == o.body_bytes &&
           reason == o.reason;
  }
};

std::ostream& operator<<(std::ostream& os, const Decoded& d) {
  return os << "{result " << int(d.result) << ", consumed " << d.consumed << ", data '" << d.data << "', bytes "
            << d.body_bytes << ", reason '" << d.reason << "'}";
}

// Feeds `in` cut at the given offsets (ascending).
Decoded decode(std::string_view in, const std::vector<std::size_t>& cuts, const Limits& limits = {}) {
  ChunkedDecoder dec(limits);
  Decoded d{ChunkedDecoder::Result::more, 0, {}, 0, {}};
  std::size_t pos = 0;
  std::vector<std::size_t> ends = cuts;
  ends.push_back(in.size());
  for (std::size_t end : ends) {
    std::size_t used = 0;
    d.result = dec.feed(in.substr(pos, end - pos), used, &d.data);
    d.consumed += used;
    if (d.result != ChunkedDecoder::Result::more) break;
    pos = end;
  }
  d.body_bytes = dec.body_bytes();
  d.reason = dec.error_reason();
  return d;
}

Decoded decode_whole(std::string_view in, const Limits& limits = {}) { return decode(in, {}, limits); }

Decoded decode_bytewise(std::string_view in, const Limits& limits = {}) {
  std::vector<std::size_t> cuts;
  for (std::size_t i = 1; i < in.size(); ++i) cuts.push_back(i);
  return decode(in, cuts, limits);
}

// Whole, byte by byte, and every cut into two and three pieces agree.
Decoded decode_all_ways(std::string_view in, const Limits& limits = {}) {
  const Decoded whole = decode_whole(in, limits);
  INFO("input: " << in);
  CHECK(decode_bytewise(in, limits) == whole);
  for (std::size_t i = 0; i <= in.size(); ++i) {
    CHECK(decode(in, {i}, limits) == whole);
    if (in.size() <= 64) {
      for (std::size_t j = i; j <= in.size(); ++j) CHECK(decode(in, {i, j}, limits) == whole);
    }
  }
  return whole;
}

}  // namespace

TEST_CASE("ChunkedDecoder decodes a body and stops after the final CRLF", "[http1][chunked]") {
  const std::string body = "5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n";
  const Decoded d = decode_all_ways(body + "GET / HTTP/1.1\r\n");
  CHECK(d.result == ChunkedDecoder::Result::done);
  CHECK(d.consumed == body.size());
  CHECK(d.data == "hello world");
  CHECK(d.body_bytes == 11);

  const Decoded hex = decode_all_ways("A\r\n0123456789\r\na\r\nabcdefghij\r\n000\r\n\r\n");
  CHECK(hex.result == ChunkedDecoder::Result::done);
  CHECK(hex.data == "0123456789abcdefghij");
  CHECK(decode_all_ways("0000000000000001\r\nx\r\n0\r\n\r\n").data == "x");  // 16 digits
  CHECK(decode_all_ways("0\r\n\r\n").result == ChunkedDecoder::Result::done);
}

TEST_CASE("ChunkedDecoder reports more until the body is complete", "[http1][chunked]") {
  const std::string body = "5;a=b\r\nhello\r\n0\r\nX: y\r\n\r\n";
  for (std::size_t n = 0; n < body.size(); ++n) {
    const Decoded d = decode_whole(std::string_view(body).substr(0, n));
    INFO(n);
    CHECK(d.result == ChunkedDecoder::Result::more);
    CHECK(d.consumed == n);
  }
  // Data is passed on as it arrives.
  CHECK(decode_whole("5\r\nhel").data == "hel");
  CHECK(decode_whole("5\r\nhel").body_bytes == 3);
}

TEST_CASE("ChunkedDecoder accepts chunk extensions and trailers", "[http1][chunked]") {
  const std::string body =
      "5;name=value;flag;q=\"a;b\\\"c\\\\\"\r\nhello\r\n"
      "3 ;x\r\nabc\r\n"
      "2\t; y = \"z \t\"\r\nde\r\n"
      "0;last\r\n"
      "X-Checksum: abc123\r\n"
      "Empty:\r\n"
      "X-Obs: caf\xc3\xa9\r\n"
      "\r\n";
  const Decoded d = decode_all_ways(body);
  CHECK(d.result == ChunkedDecoder::Result::done);
  CHECK(d.reason == "");
  CHECK(d.consumed == body.size());
  CHECK(d.data == "helloabcde");
}

TEST_CASE("ChunkedDecoder refuses bad chunk sizes", "[http1][chunked]") {
  for (const char* bad : {"\r\n", "g\r\n", "-1\r\n", "+1\r\n", "0x5\r\n", " 5\r\n", "5 \r\n", "5\t\r\n", "5\n",
                          "5\rx", "5\r\r\n", "5x\r\n", "00000000000000001\r\nx\r\n0\r\n\r\n",
                          "FFFFFFFFFFFFFFFFF\r\n", ";a\r\n"}) {
    const Decoded d = decode_all_ways(bad);
    INFO(bad);
    CHECK(d.result == ChunkedDecoder::Result::error);
    CHECK(d.reason != "");
  }
  // The consumed count says where the offending byte is.
  CHECK(decode_whole("12\r\n0123456789abcdef01\r\nzz").consumed == 24);
}

TEST_CASE("ChunkedDecoder refuses a chunk without its CRLF", "[http1][chunked]") {
  for (const char* bad : {"5\r\nhelloX\r\n0\r\n\r\n", "5\r\nhello\n0\r\n\r\n", "5\r\nhello\r0\r\n\r\n",
                          "5\r\nhello world\r\n0\r\n\r\n", "5\r\nhell\r\n0\r\n\r\n", "5\r\nhello\r\n\r\n0\r\n\r\n"}) {
    const Decoded d = decode_all_ways(bad);
    INFO(bad);
    CHECK(d.result == ChunkedDecoder::Result::error);
    CHECK(d.reason != "");
  }
  CHECK(decode_whole("5\r\nhelloX").reason == "missing CRLF after chunk data");
  CHECK(decode_whole("5\r\nhelloX").consumed == 8);
}

TEST_CASE("ChunkedDecoder refuses bad extensions and trailers", "[http1][chunked]") {
  for (const char* bad : {
           "5;a=\"b\r\nhello\r\n0\r\n\r\n",  // unterminated quoted string
           "5;a\nhello\r\n0\r\n\r\n",        // bare LF
           "5;a\x01\r\nhello\r\n0\r\n\r\n",  // control byte
           "5;a=(b)\r\nhello\r\n0\r\n\r\n",  // not a token
           "0\r\nX: a\r\n b\r\n\r\n",         // obs-fold
           "0\r\n X: a\r\n\r\n",              // whitespace at line start
           "0\r\nX : a\r\n\r\n",              // whitespace before colon
           "0\r\n: a\r\n\r\n",                // empty name
           "0\r\nX(: a\r\n\r\n",              // bad name
           "0\r\nnocolon\r\n\r\n",            // no colon
           "0\r\nX: a\n\r\n",                 // bare LF
           "0\r\nX: a\rb\r\n\r\n",            // bare CR
           "0\r\nX: a\x7f\r\n\r\n",           // DEL
           "0\r\n\n",                         // final bare LF
           "0\r\n\rX",                        // final bare CR
       }) {
    const Decoded d = decode_all_ways(bad);
    INFO(bad);
    CHECK(d.result == ChunkedDecoder::Result::error);
    CHECK(d.reason != "");
  }
}

TEST_CASE("ChunkedDecoder bounds extension and trailer bytes", "[http1][chunked]") {
  Limits limits;
  limits.max_chunk_ext = 8;
  CHECK(decode_all_ways("1;abcdefg\r\nx\r\n0\r\n\r\n", limits).result == ChunkedDecoder::Result::done);  // 8 bytes
  Decoded d = decode_all_ways("1;abcdefgh\r\nx\r\n0\r\n\r\n", limits);
  CHECK(d.result == ChunkedDecoder::Result::error);
  CHECK(d.reason == "oversized chunk extension");
  // The bound is for the whole body, summed over the chunks and the trailers.
  d = decode_all_ways("1;abcd\r\nx\r\n1;abcd\r\ny\r\n0\r\n\r\n", limits);
  CHECK(d.reason == "oversized chunk extension");
  d = decode_all_ways("1;ab\r\nx\r\n0\r\nX: y\r\n\r\n", limits);
  CHECK(d.reason == "oversized chunk extension");
  CHECK(decode_all_ways("0\r\nX: y\r\n\r\n", limits).result == ChunkedDecoder::Result::done);  // 6 bytes
  // A never-ending extension is cut off at the limit.
  d = decode_whole("1;" + std::string(1000, 'a'), limits);
  CHECK(d.result == ChunkedDecoder::Result::error);
  CHECK(d.consumed == 9);
}

TEST_CASE("ChunkedDecoder stays done or failed, and reset starts over", "[http1][chunked]") {
  ChunkedDecoder dec;
  std::size_t used = 0;
  REQUIRE(dec.feed("0\r\n\r\nrest", used, nullptr) == ChunkedDecoder::Result::done);
  CHECK(used == 5);
  CHECK(dec.feed("1\r\nx\r\n", used, nullptr) == ChunkedDecoder::Result::done);
  CHECK(used == 0);
  dec.reset();
  std::string data;
  REQUIRE(dec.feed("3\r\nabc\r\n", used, &data) == ChunkedDecoder::Result::more);
  CHECK(dec.body_bytes() == 3);
  CHECK(data == "abc");
  REQUIRE(dec.feed("x", used, &data) == ChunkedDecoder::Result::error);
  CHECK(used == 0);
  CHECK(dec.feed("0\r\n\r\n", used, &data) == ChunkedDecoder::Result::error);
  dec.reset();
  CHECK(dec.body_bytes() == 0);
  CHECK(std::string_view(dec.error_reason()) == "");
  CHECK(dec.feed("0\r\n\r\n", used, nullptr) == ChunkedDecoder::Result::done);
}

// ---- helpers ------------------------------------------------------------------

TEST_CASE("http1 helpers", "[http1]") {
  CHECK(iequals("Content-Length", "content-LENGTH"));
  CHECK_FALSE(iequals("Content-Length", "Content-Lengt"));
  CHECK_FALSE(iequals("a", "b"));
  CHECK(iequals("", ""));
  CHECK_FALSE(iequals("\xc3", "\xe3"));  // only ASCII letters fold

  const std::vector<Header> headers = {{"Host", "a"}, {"X-Empty", ""}, {"host", "b"}};
  bool found = false;
  CHECK(find_header(headers, "HOST", &found) == "a");
  CHECK(found);
  CHECK(find_header(headers, "x-empty", &found) == "");
  CHECK(found);
  CHECK(find_header(headers, "Accept", &found) == "");
  CHECK_FALSE(found);
  CHECK(find_header(headers, "Accept") == "");

  for (unsigned char c : std::string_view("!#$%&'*+-.^_`|~09azAZ")) CHECK(is_tchar(c));
  for (unsigned char c : std::string_view(" \t\"(),/:;<=>?@[\\]{}\x7f\x80\xff")) CHECK_FALSE(is_tchar(c));
  CHECK_FALSE(is_tchar(0));

  CHECK(has_token("keep-alive, Upgrade", "upgrade"));
  CHECK(has_token(" close ", "close"));
  CHECK(has_token(",close,", "close"));
  CHECK(has_token("a,\tclose\t,b", "close"));
  CHECK_FALSE(has_token("closed", "close"));
  CHECK_FALSE(has_token("", "close"));
  CHECK_FALSE(has_token("keep-alive", "close"));

  CHECK(reason_phrase(100) == "Continue");
  CHECK(reason_phrase(200) == "OK");
  CHECK(reason_phrase(404) == "Not Found");
  CHECK(reason_phrase(414) == "URI Too Long");
  CHECK(reason_phrase(431) == "Request Header Fields Too Large");
  CHECK(reason_phrase(502) == "Bad Gateway");
  CHECK(reason_phrase(505) == "HTTP Version Not Supported");
  CHECK(reason_phrase(511) == "Network Authentication Required");
  CHECK(reason_phrase(299) == "");
  CHECK(reason_phrase(0) == "");
}
