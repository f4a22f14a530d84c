// `certroute whoami`: one io_context, one coroutine per connection. Each
// connection reads a request head with the proxy's parser, reads the body
// (counting it, or keeping it for /echo-body), answers, and loops for the
// next request (keep-alive and pipelining: bytes past one request stay in the
// buffer for the next).
#include "core/proxy/whoami.hpp"

#include <unistd.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <chrono>
#include <csignal>
#include <cstdint>
#include <optional>
#include <string_view>
#include <utility>
#include <vector>

#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/experimental/as_tuple.hpp>
#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/ip/v6_only.hpp>
#include <asio/signal_set.hpp>
#include <asio/steady_timer.hpp>
#include <asio/this_coro.hpp>
#include <asio/use_awaitable.hpp>
#include <asio/write.hpp>
#include <nlohmann/json.hpp>
#include <openssl/evp.h>

#include "core/proxy/http1.hpp"
#include "core/proxy/net.hpp"
#include "core/util/base64.hpp"

namespace certroute::proxy {

using util::ErrorKind;
using util::fail;
using asio::ip::tcp;

namespace {

constexpr auto use_tuple = asio::experimental::as_tuple(asio::use_awaitable);
constexpr std::uint64_t kMaxData = 100ull * 1024 * 1024;  // /data?size= and /echo-body
constexpr std::size_t kReadSize = 16 * 1024;
constexpr std::size_t kDataChunk = 64 * 1024;
constexpr std::string_view kTextPlain = "text/plain; charset=utf-8";
// RFC 6455 1.3; its example: key "dGhlIHNhbXBsZSBub25jZQ==" -> "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=".
constexpr std::string_view kWebSocketGuid = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

// What every connection shares (one thread: no locking).
struct State {
  std::string name;
  std::string hostname;
  int health = 200;
};

// The request, copied out of the read buffer (which the body reads reuse).
struct Request {
  std::string method;
  std::string target;
  int minor = 1;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string host;
  bool keep_alive = true;
  bool expect_continue = false;
  bool upgrade = false;
  http1::BodyKind body_kind = http1::BodyKind::none;
  std::uint64_t content_length = 0;
  // After the body is read:
  std::uint64_t body_bytes = 0;
  std::string body;  // only for /echo-body and POST /health

  std::string_view header(std::string_view name) const {
    for (const auto& [n, v] : headers)
      if (http1::iequals(n, name)) return v;
    return {};
  }
  bool has_body() const { return body_kind != http1::BodyKind::none; }
};

// The answer, before it is written.
struct Reply {
  int status = 200;
  std::string content_type = std::string(kTextPlain);
  std::string body;
  std::uint64_t data_size = 0;  // /data: that many 'x' instead of body
  bool data = false;
  bool chunked = false;
  std::vector<std::pair<std::string, std::string>> extra_headers;
};

Reply text_reply(int status, std::string body) {
  Reply r;
  r.status = status;
  r.body = std::move(body);
  return r;
}

std::string format_address(asio::ip::address a) {
  if (a.is_v6() && a.to_v6().is_v4_mapped()) a = asio::ip::make_address_v4(asio::ip::v4_mapped, a.to_v6());
  return a.to_string();
}

std::string local_hostname() {
  std::array<char, 256> buf{};
  if (::gethostname(buf.data(), buf.size() - 1) != 0) return "unknown";
  return buf.data();
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::string percent_decode(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '+') {
      out += ' ';
    } else if (s[i] == '%' && i + 2 < s.size() && hex_value(s[i + 1]) >= 0 && hex_value(s[i + 2]) >= 0) {
      out += static_cast<char>(hex_value(s[i + 1]) * 16 + hex_value(s[i + 2]));
      i += 2;
    } else {
      out += s[i];
    }
  }
  return out;
}

// The path and the query string of a request-target ("/a?b", "http://h/a?b", "*").
std::pair<std::string_view, std::string_view> split_target(std::string_view target) {
  if (auto scheme = target.find("://"); scheme != std::string_view::npos && !target.starts_with('/')) {
    auto slash = target.find_first_of("/?", scheme + 3);
    target = slash == std::string_view::npos ? std::string_view("/") : target.substr(slash);
  }
  auto q = target.find('?');
  if (q == std::string_view::npos) return {target, {}};
  return {target.substr(0, q), target.substr(q + 1)};
}

// The decoded value of the first `key` in a query string.
std::optional<std::string> query_param(std::string_view query, std::string_view key) {
  while (!query.empty()) {
    auto amp = query.find('&');
    std::string_view pair = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view{} : query.substr(amp + 1);
    auto eq = pair.find('=');
    if (percent_decode(pair.substr(0, eq)) == key)
      return eq == std::string_view::npos ? std::string{} : percent_decode(pair.substr(eq + 1));
  }
  return std::nullopt;
}

std::optional<std::uint64_t> parse_uint(std::string_view s) {
  std::uint64_t v = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (s.empty() || ec != std::errc() || end != s.data() + s.size()) return std::nullopt;
  return v;
}

// A final status a test may ask for (1xx would confuse the client).
std::optional<int> parse_status(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t' || s.front() == '\r' || s.front() == '\n')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r' || s.back() == '\n')) s.remove_suffix(1);
  auto v = parse_uint(s);
  if (!v || *v < 200 || *v > 599) return std::nullopt;
  return static_cast<int>(*v);
}

bool no_body_status(int status) { return status < 200 || status == 204 || status == 304; }

// RFC 6455 4.2.2: base64(SHA-1(key + GUID)).
std::string websocket_accept(std::string_view key) {
  std::string input(key);
  input += kWebSocketGuid;
  std::array<unsigned char, EVP_MAX_MD_SIZE> md{};
  unsigned len = 0;
  if (EVP_Digest(input.data(), input.size(), md.data(), &len, EVP_sha1(), nullptr) != 1) return {};
  return util::base64_encode(std::string_view(reinterpret_cast<const char*>(md.data()), len));
}

// ---- the answers ----------------------------------------------------------

struct ConnInfo {
  std::string local_ip;
  std::string remote;  // ip:port
};

std::string describe_text(const Request& req, const ConnInfo& conn, const State& st) {
  std::string s;
  if (!st.name.empty()) s += "Name: " + st.name + "\n";
  s += "Hostname: " + st.hostname + "\n";
  s += "IP: " + conn.local_ip + "\n";
  s += "RemoteAddr: " + conn.remote + "\n";
  s += req.method + " " + req.target + " HTTP/1." + std::to_string(req.minor) + "\n";
  // Host first, like Go's Request.Write (traefik/whoami), then the others as received.
  if (!req.host.empty()) s += "Host: " + req.host + "\n";
  for (const auto& [n, v] : req.headers)
    if (!http1::iequals(n, "Host")) s += n + ": " + v + "\n";
  if (req.has_body()) s += "\nBody-Length: " + std::to_string(req.body_bytes) + "\n";
  return s;
}

std::string describe_json(const Request& req, const ConnInfo& conn, const State& st) {
  nlohmann::json headers = nlohmann::json::object();
  for (const auto& [n, v] : req.headers)
    if (!http1::iequals(n, "Host")) headers[n].push_back(v);
  nlohmann::json doc = {
      {"hostname", st.hostname},
      {"ip", nlohmann::json::array({conn.local_ip})},
      {"remoteAddr", conn.remote},
      {"method", req.method},
      {"url", req.target},
      {"proto", "HTTP/1." + std::to_string(req.minor)},
      {"host", req.host},
      {"headers", headers},
  };
  if (!st.name.empty()) doc["name"] = st.name;
  if (req.has_body()) doc["bodyLength"] = req.body_bytes;
  return doc.dump(2) + "\n";
}

// The answer to a complete request (body read). Sets `wait` when the answer
// is to be delayed.
Reply answer(Request& req, const ConnInfo& conn, State& st, std::chrono::milliseconds& wait) {
  auto [path, query] = split_target(req.target);
  std::optional<int> status_override;
  if (auto s = query_param(query, "status")) {
    status_override = parse_status(*s);
    if (!status_override) return text_reply(400, "whoami: status '" + *s + "': expected a number from 200 to 599\n");
  }
  if (auto w = query_param(query, "wait")) {
    auto d = parse_duration(*w);
    if (!d) return text_reply(400, "whoami: " + d.error().message() + "\n");
    wait = *d;
  }

  Reply r;
  if (path == "/health") {
    if (req.method == "GET" || req.method == "HEAD") {
      r.status = st.health;
    } else if (req.method == "POST" || req.method == "PUT") {
      auto code = parse_status(req.body);
      if (!code) return text_reply(400, "whoami: health status '" + req.body + "': expected a number from 200 to 599\n");
      st.health = *code;
    } else {
      r = text_reply(405, "whoami: /health takes GET or POST\n");
      r.extra_headers.emplace_back("Allow", "GET, HEAD, POST");
      return r;
    }
  } else if (path == "/data") {
    auto size_text = query_param(query, "size");
    auto size = size_text ? parse_uint(*size_text) : std::nullopt;
    if (!size || *size > kMaxData)
      return text_reply(400, "whoami: /data needs size=N with N from 0 to " + std::to_string(kMaxData) + "\n");
    r.data = true;
    r.data_size = *size;
    auto chunked = query_param(query, "chunked");
    r.chunked = chunked && (*chunked == "1" || *chunked == "true");
  } else if (path == "/echo-body") {
    r.body = std::move(req.body);
  } else if (path == "/api") {
    r.content_type = "application/json";
    r.body = describe_json(req, conn, st);
  } else {
    r.body = describe_text(req, conn, st);
  }
  if (status_override) r.status = *status_override;
  return r;
}

// ---- the connection ---------------------------------------------------------

class Connection {
 public:
  Connection(tcp::socket socket, State& st) : socket_(std::move(socket)), st_(st) {}

  asio::awaitable<void> run();

 private:
  asio::awaitable<bool> read_more();
  asio::awaitable<bool> write(std::string_view a, std::string_view b = {});
  asio::awaitable<bool> read_body(Request& req, bool keep);
  asio::awaitable<bool> send(const Request& req, const Reply& r, bool close);
  asio::awaitable<void> send_error(int status, std::string_view reason);
  asio::awaitable<void> echo_after_upgrade(const Request& req);
  asio::awaitable<void> close_gracefully();
  std::string head_lines(int status) const;

  tcp::socket socket_;
  State& st_;
  std::string buf_;
  std::array<char, kReadSize> chunk_{};
  ConnInfo info_;
};

asio::awaitable<bool> Connection::read_more() {
  auto [ec, n] = co_await socket_.async_read_some(asio::buffer(chunk_), use_tuple);
  if (ec) co_return false;
  buf_.append(chunk_.data(), n);
  co_return true;
}

asio::awaitable<bool> Connection::write(std::string_view a, std::string_view b) {
  std::array<asio::const_buffer, 2> bufs{asio::buffer(a.data(), a.size()), asio::buffer(b.data(), b.size())};
  auto [ec, n] = co_await asio::async_write(socket_, bufs, use_tuple);
  co_return !ec;
}

// Reads the body the head announced; keeps it in req.body when `keep`.
// False when the connection is lost or the body is malformed (answered).
asio::awaitable<bool> Connection::read_body(Request& req, bool keep) {
  if (req.body_kind == http1::BodyKind::length) {
    if (keep && req.content_length > kMaxData) {
      co_await send_error(413, "body too large to echo");
      co_return false;
    }
    std::uint64_t remaining = req.content_length;
    while (remaining > 0) {
      if (buf_.empty() && !co_await read_more()) co_return false;
      auto take = static_cast<std::size_t>(std::min<std::uint64_t>(remaining, buf_.size()));
      if (keep) req.body.append(buf_, 0, take);
      buf_.erase(0, take);
      remaining -= take;
    }
    req.body_bytes = req.content_length;
  } else if (req.body_kind == http1::BodyKind::chunked) {
    http1::ChunkedDecoder decoder;
    for (;;) {
      std::size_t consumed = 0;
      auto r = decoder.feed(buf_, consumed, keep ? &req.body : nullptr);
      buf_.erase(0, consumed);
      if (r == http1::ChunkedDecoder::Result::done) break;
      if (r == http1::ChunkedDecoder::Result::error) {
        co_await send_error(400, decoder.error_reason());
        co_return false;
      }
      if (keep && req.body.size() > kMaxData) {
        co_await send_error(413, "body too large to echo");
        co_return false;
      }
      if (!co_await read_more()) co_return false;
    }
    req.body_bytes = decoder.body_bytes();
  }
  co_return true;
}

std::string Connection::head_lines(int status) const {
  std::string h = "HTTP/1.1 " + std::to_string(status) + " " + std::string(http1::reason_phrase(status)) + "\r\n";
  if (!st_.name.empty()) h += "X-Whoami-Name: " + st_.name + "\r\n";
  return h;
}

asio::awaitable<bool> Connection::send(const Request& req, const Reply& r, bool close) {
  std::string h = head_lines(r.status);
  const bool bodyless = no_body_status(r.status);
  if (!bodyless) {
    h += "Content-Type: " + r.content_type + "\r\n";
    if (r.data && r.chunked) h += "Transfer-Encoding: chunked\r\n";
    else h += "Content-Length: " + std::to_string(r.data ? r.data_size : r.body.size()) + "\r\n";
  }
  for (const auto& [n, v] : r.extra_headers) h += n + ": " + v + "\r\n";
  if (close) h += "Connection: close\r\n";
  else if (req.minor == 0) h += "Connection: keep-alive\r\n";
  h += "\r\n";

  if (bodyless || req.method == "HEAD") co_return co_await write(h);
  if (!r.data) co_return co_await write(h, r.body);

  static const std::string xs(kDataChunk, 'x');
  if (!co_await write(h)) co_return false;
  for (std::uint64_t left = r.data_size; left > 0;) {
    auto n = static_cast<std::size_t>(std::min<std::uint64_t>(left, kDataChunk));
    left -= n;
    if (r.chunked) {
      std::array<char, 16> size{};
      auto end = std::to_chars(size.data(), size.data() + size.size(), n, 16).ptr;
      std::string line(size.data(), end);
      line += "\r\n";
      std::array<asio::const_buffer, 3> bufs{asio::buffer(line), asio::buffer(xs.data(), n), asio::buffer("\r\n", 2)};
      auto [ec, w] = co_await asio::async_write(socket_, bufs, use_tuple);
      if (ec) co_return false;
    } else if (!co_await write(std::string_view(xs.data(), n))) {
      co_return false;
    }
  }
  if (r.chunked) co_return co_await write("0\r\n\r\n");
  co_return true;
}

// An answer that ends the connection (malformed request).
asio::awaitable<void> Connection::send_error(int status, std::string_view reason) {
  std::string body = "whoami: " + std::string(reason) + "\n";
  std::string h = head_lines(status);
  h += "Content-Type: " + std::string(kTextPlain) + "\r\nContent-Length: " + std::to_string(body.size()) +
       "\r\nConnection: close\r\n\r\n";
  if (co_await write(h, body)) co_await close_gracefully();
}

// Half-closes, then drains what the client still sends for a moment, so
// unread bytes do not turn the close into a reset that loses the answer.
asio::awaitable<void> Connection::close_gracefully() {
  asio::error_code ec;
  socket_.shutdown(tcp::socket::shutdown_send, ec);
  if (ec) co_return;
  asio::steady_timer timer(co_await asio::this_coro::executor, std::chrono::seconds(2));
  timer.async_wait([&s = socket_](const asio::error_code& e) {
    if (!e) s.cancel();
  });
  for (std::size_t drained = 0; drained < 1024 * 1024;) {
    auto [rec, n] = co_await socket_.async_read_some(asio::buffer(chunk_), use_tuple);
    if (rec) break;
    drained += n;
  }
  timer.cancel();
  socket_.close(ec);
}

asio::awaitable<void> Connection::echo_after_upgrade(const Request& req) {
  std::string h = head_lines(101);
  h += "Connection: Upgrade\r\nUpgrade: " + std::string(req.header("Upgrade")) + "\r\n";
  if (auto key = req.header("Sec-WebSocket-Key"); !key.empty()) h += "Sec-WebSocket-Accept: " + websocket_accept(key) + "\r\n";
  h += "\r\n";
  if (!co_await write(h)) co_return;
  // Bytes that came with the request belong to the new protocol.
  if (!buf_.empty() && !co_await write(buf_)) co_return;
  buf_.clear();
  for (;;) {
    auto [ec, n] = co_await socket_.async_read_some(asio::buffer(chunk_), use_tuple);
    if (ec) break;
    if (!co_await write(std::string_view(chunk_.data(), n))) co_return;
  }
  asio::error_code ignored;
  socket_.shutdown(tcp::socket::shutdown_send, ignored);
  socket_.close(ignored);
}

asio::awaitable<void> Connection::run() {
  asio::error_code ec;
  socket_.set_option(tcp::no_delay(true), ec);
  auto local = socket_.local_endpoint(ec);
  if (!ec) info_.local_ip = format_address(local.address());
  auto remote = socket_.remote_endpoint(ec);
  if (!ec) info_.remote = format_endpoint(remote);

  const http1::Limits limits;
  http1::RequestHead head;
  http1::Error perr;
  for (;;) {
    auto status = http1::parse_request(buf_, limits, head, perr);
    if (status == http1::Status::error) {
      co_await send_error(perr.status, perr.reason);
      co_return;
    }
    if (status == http1::Status::incomplete) {
      if (buf_.size() > limits.max_head) {
        co_await send_error(431, "request head too large");
        co_return;
      }
      if (!co_await read_more()) co_return;  // closed (between requests: normal)
      continue;
    }

    Request req;
    req.method = head.method;
    req.target = head.target;
    req.minor = head.minor;
    req.headers.reserve(head.headers.size());
    for (const auto& h : head.headers) req.headers.emplace_back(h.name, h.value);
    req.host = head.host;
    req.keep_alive = head.keep_alive;
    req.expect_continue = head.expect_continue;
    req.upgrade = head.upgrade;
    req.body_kind = head.body;
    req.content_length = head.content_length;
    buf_.erase(0, head.head_size);

    auto path = split_target(req.target).first;
    const bool keep_body = path == "/echo-body" || path == "/health";
    if (req.has_body() && req.expect_continue && req.minor == 1 && !co_await write("HTTP/1.1 100 Continue\r\n\r\n"))
      co_return;
    if (!co_await read_body(req, keep_body)) co_return;

    if (req.upgrade) {
      co_await echo_after_upgrade(req);
      co_return;
    }

    std::chrono::milliseconds wait{0};
    Reply reply = answer(req, info_, st_, wait);
    if (wait.count() > 0) {
      asio::steady_timer timer(co_await asio::this_coro::executor, wait);
      co_await timer.async_wait(use_tuple);
    }
    const bool close = !req.keep_alive;
    if (!co_await send(req, reply, close)) co_return;
    if (close) {
      co_await close_gracefully();
      co_return;
    }
  }
}

asio::awaitable<void> accept_loop(tcp::acceptor acceptor, State& st) {
  const auto executor = co_await asio::this_coro::executor;
  for (;;) {
    auto [ec, socket] = co_await acceptor.async_accept(use_tuple);
    if (ec == asio::error::operation_aborted || !acceptor.is_open()) co_return;
    if (ec) {
      // Out of descriptors or similar: back off instead of spinning.
      asio::steady_timer timer(executor, std::chrono::milliseconds(50));
      co_await timer.async_wait(use_tuple);
      continue;
    }
    auto conn = std::make_shared<Connection>(std::move(socket), st);
    asio::co_spawn(executor, [conn]() { return conn->run(); }, asio::detached);
  }
}

}  // namespace

util::Result<void> run_whoami(const WhoamiOptions& options) {
  auto ep = parse_listen_address(options.listen);
  if (!ep) return fail_with(std::move(ep), "whoami");

  State st;  // outlives the io_context and the coroutines that use it
  st.name = options.name;
  st.hostname = local_hostname();

  asio::io_context io(1);
  tcp::acceptor acceptor(io);
  asio::error_code ec;
  acceptor.open(ep->protocol(), ec);
  if (ec == asio::error::address_family_not_supported && *ep == tcp::endpoint(asio::ip::address_v6::any(), ep->port())) {
    // ":PORT" on a machine without IPv6: every IPv4 address instead.
    ep = tcp::endpoint(asio::ip::address_v4::any(), ep->port());
    ec.clear();
    acceptor.open(ep->protocol(), ec);
  }
  if (!ec) acceptor.set_option(tcp::acceptor::reuse_address(true), ec);
  if (!ec && ep->address().is_v6()) {
    asio::error_code ignored;  // dual-stack when the system allows it
    acceptor.set_option(asio::ip::v6_only(false), ignored);
  }
  if (!ec) acceptor.bind(*ep, ec);
  if (!ec) acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) {
    std::string hint;
    if (ec == asio::error::address_in_use) hint = "another process listens there; pick another port, or port 0 for a free one";
    return fail(util::Error(ErrorKind::problem, "whoami: listening on " + format_endpoint(*ep) + ": " + ec.message())
                    .with_hint(std::move(hint)));
  }
  auto bound = acceptor.local_endpoint(ec);
  if (ec) return fail(ErrorKind::internal, "whoami: reading the bound address: " + ec.message());

  asio::signal_set signals(io, SIGINT, SIGTERM);
  signals.async_wait([&io](const asio::error_code&, int) { io.stop(); });
  asio::co_spawn(io, accept_loop(std::move(acceptor), st), asio::detached);

  if (options.on_listening) options.on_listening(format_endpoint(bound));
  io.run();
  return {};
}

}  // namespace certroute::proxy
