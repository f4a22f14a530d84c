#include "core/proxy/server.hpp"

#include <algorithm>
#include <array>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <limits>
#include <list>
#include <mutex>
#include <thread>
#include <unordered_map>
#include <unordered_set>

#include <fcntl.h>
#include <sys/inotify.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include <asio.hpp>
#include <asio/experimental/as_tuple.hpp>

#include "core/proxy/access_log.hpp"
#include "core/proxy/client_hello.hpp"
#include "core/proxy/compress.hpp"
#include "core/proxy/event_loop.hpp"
#include "core/proxy/net.hpp"
#include "core/proxy/readiness.hpp"
#include "core/proxy/tls_stream.hpp"

namespace certroute::proxy {

using asio::awaitable;
using asio::ip::tcp;
namespace {

constexpr auto use_tuple = asio::experimental::as_tuple(asio::use_awaitable);

constexpr std::size_t kBodyBuffer = 32 * 1024;
constexpr std::size_t kHeadBuffer = 4 * 1024;
// Bodies up to this size are copied behind the head and sent as one buffer.
constexpr std::size_t kCoalesce = 4096;
// Bodies from this size on go to plain clients by splice(2), in pipe-sized steps.
constexpr std::uint64_t kSpliceMin = 16 * 1024;
constexpr std::size_t kSpliceChunk = 64 * 1024;

std::int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now().time_since_epoch()).count();
}

// Connection deadlines, in milliseconds of CLOCK_MONOTONIC_COARSE: read
// without the time-stamp counter (a few ns), exact to a few milliseconds,
// which is finer than the sweep that checks them (kSweep).
std::int64_t coarse_ms() {
  timespec ts;
  ::clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
  return static_cast<std::int64_t>(ts.tv_sec) * 1000 + ts.tv_nsec / 1000000;
}
constexpr std::int64_t kNever = std::numeric_limits<std::int64_t>::max();
// How often a worker looks for connections past their deadline.
constexpr auto kSweep = std::chrono::milliseconds(50);
constexpr std::int64_t kProbeIdle = 250;  // ms idle before Session::peer_gone asks

// A growable byte buffer with a read position: bytes [start, end) are unread.
struct Buffer {
  std::unique_ptr<char[]> data;
  std::size_t cap = 0, start = 0, end = 0;

  explicit Buffer(std::size_t c = 0) {
    if (c) reserve(c);
  }
  void reserve(std::size_t c) {
    if (c <= cap) return;
    std::unique_ptr<char[]> d(new char[c]);  // not zeroed: only written bytes are read
    if (end > start) std::memcpy(d.get(), data.get() + start, end - start);
    end -= start;
    start = 0;
    data = std::move(d);
    cap = c;
  }
  std::string_view view() const { return {data.get() + start, end - start}; }
  std::size_t size() const { return end - start; }
  void consume(std::size_t n) {
    start += n;
    if (start >= end) start = end = 0;
  }
  // Moves unread bytes to the front so there is room to read more.
  void compact() {
    if (start == 0) return;
    std::memmove(data.get(), data.get() + start, end - start);
    end -= start;
    start = 0;
  }
  char* space() { return data.get() + end; }
  std::size_t room() const { return cap - end; }
  void clear() { start = end = 0; }
};

bool idempotent(std::string_view m) {
  return m == "GET" || m == "HEAD" || m == "OPTIONS" || m == "TRACE" || m == "PUT" || m == "DELETE";
}

using http1::Field;
using http1::is_forwarded;
using http1::is_hop_by_hop;
bool forwarded_header(const http1::Header& h) { return is_forwarded(http1::field_of(h)); }

// Heads are built with few, exact appends (no strlen, one size check each).
template <std::size_t N>
void put(std::string& s, const char (&lit)[N]) {
  s.append(lit, N - 1);
}
// "name: value\r\n" in one append.
void put_field(std::string& s, std::string_view name, std::string_view value) {
  const std::size_t at = s.size();
  s.resize(at + name.size() + value.size() + 4);
  char* p = s.data() + at;
  std::memcpy(p, name.data(), name.size());
  p += name.size();
  *p++ = ':';
  *p++ = ' ';
  std::memcpy(p, value.data(), value.size());
  p += value.size();
  *p++ = '\r';
  *p = '\n';
}

// Sends what the socket takes now of a then b, with one call that never
// blocks: the bytes sent (0 when the socket buffer is full or on an error,
// which the asynchronous write that follows then reports).
std::size_t send_now(int fd, std::string_view a, std::string_view b) {
  iovec iov[2] = {{const_cast<char*>(a.data()), a.size()}, {const_cast<char*>(b.data()), b.size()}};
  msghdr m{};
  m.msg_iov = iov;
  m.msg_iovlen = b.empty() ? 1 : 2;
  for (;;) {
    ssize_t n = ::sendmsg(fd, &m, MSG_DONTWAIT | MSG_NOSIGNAL);
    if (n >= 0) return static_cast<std::size_t>(n);
    if (errno != EINTR) return 0;
  }
}

// Dotted-quad text of an IPv4 address in network order (inet_ntop goes
// through printf: a thousand instructions per connection).
std::string ipv4_text(std::uint32_t be) {
  const auto* b = reinterpret_cast<const unsigned char*>(&be);
  char buf[16];
  char* p = buf;
  for (int i = 0; i < 4; ++i) {
    if (i) *p++ = '.';
    p = std::to_chars(p, buf + sizeof buf, static_cast<unsigned>(b[i])).ptr;
  }
  return std::string(buf, p);
}

// What is left of a then b after the first n bytes.
std::array<asio::const_buffer, 2> rest_of(std::string_view a, std::string_view b, std::size_t n) {
  if (n >= a.size()) return {asio::const_buffer(), asio::buffer(b.data() + (n - a.size()), b.size() - (n - a.size()))};
  return {asio::buffer(a.data() + n, a.size() - n), asio::buffer(b.data(), b.size())};
}

void append_number(std::string& s, std::uint64_t v) {
  char b[24];
  auto [p, ec] = std::to_chars(b, b + sizeof b, v);
  s.append(b, p);
}

std::string plain_reply(const Reply& r, bool close, int minor) {
  std::string out;
  out.reserve(160 + r.body.size());
  out += minor == 0 ? "HTTP/1.0 " : "HTTP/1.1 ";
  append_number(out, static_cast<std::uint64_t>(r.status));
  out += ' ';
  out += http1::reason_phrase(r.status);
  out += "\r\n";
  bool has_type = false;
  for (const auto& [k, v] : r.headers) {
    if (http1::iequals(k, "content-type")) has_type = true;
    out += k;
    out += ": ";
    out += v;
    out += "\r\n";
  }
  if (!has_type) out += "Content-Type: text/plain; charset=utf-8\r\n";
  out += "Content-Length: ";
  append_number(out, r.body.size());
  out += "\r\n";
  if (close) out += "Connection: close\r\n";
  else if (minor == 0) out += "Connection: keep-alive\r\n";
  out += "\r\n";
  out += r.body;
  return out;
}

Reply error_reply(int status, std::string body) {
  Reply r;
  r.status = status;
  r.body = std::move(body);
  if (!r.body.empty() && r.body.back() != '\n') r.body += '\n';
  return r;
}

std::string host_name() {
  char b[256] = {};
  ::gethostname(b, sizeof b - 1);
  return b;
}

}  // namespace

// ---- shared state ------------------------------------------------------------------

struct Worker;

struct Proxy::Impl {
  ServerOptions options;
  std::mutex mu;  // guards current/tls_current
  std::shared_ptr<Snapshot> current;
  std::shared_ptr<TlsStore> tls_current;
  std::shared_ptr<SSL_CTX> ssl_current;
  std::atomic<std::uint64_t> generation{1};
  std::atomic<std::size_t> connections{0};
  std::vector<std::unique_ptr<Worker>> workers;
  std::string hostname = host_name();
  std::atomic<bool> draining{false};

  void set(std::shared_ptr<Snapshot> s, std::shared_ptr<TlsStore> t) {
    std::shared_ptr<SSL_CTX> ctx;
    if (t && t->initial_context()) {
      SSL_CTX_up_ref(t->initial_context());
      ctx = std::shared_ptr<SSL_CTX>(t->initial_context(), SSL_CTX_free);
    }
    std::lock_guard lock(mu);
    current = std::move(s);
    tls_current = std::move(t);
    ssl_current = std::move(ctx);
    current->generation = generation.fetch_add(1) + 1;
  }
};

// Idle upstream connections of one worker, per server ("host:port": a
// reloaded configuration keeps using them). Looked up with the hash the
// server keeps (Server::key_hash) instead of hashing its key per request.
struct Pool {
  struct Idle {
    tcp::socket socket;
    Clock::time_point since;
  };
  struct KeyRef {
    const std::string& key;
    std::size_t hash;
  };
  struct Hash {
    using is_transparent = void;
    std::size_t operator()(const std::string& k) const { return std::hash<std::string_view>{}(k); }
    std::size_t operator()(const KeyRef& k) const { return k.hash; }
  };
  struct Equal {
    using is_transparent = void;
    bool operator()(const std::string& a, const std::string& b) const { return a == b; }
    bool operator()(const KeyRef& a, const std::string& b) const { return a.key == b; }
    bool operator()(const std::string& a, const KeyRef& b) const { return a == b.key; }
  };
  std::unordered_map<std::string, std::vector<Idle>, Hash, Equal> idle;

  std::optional<tcp::socket> take(const Server& server, std::chrono::milliseconds max_idle) {
    auto it = idle.find(KeyRef{server.key, server.key_hash});
    if (it == idle.end()) return std::nullopt;
    auto& v = it->second;
    auto now = Clock::now();
    while (!v.empty()) {
      Idle i = std::move(v.back());
      v.pop_back();
      if (now - i.since >= max_idle) {
        asio::error_code ec;
        i.socket.close(ec);
        continue;
      }
      // Nothing arrived since the response was read (no readiness edge):
      // the connection is quiet without asking the kernel.
      if (!readiness::maybe_readable(i.socket)) return std::move(i.socket);
      // Bytes on an idle connection are a response nobody asked for (reusing it
      // would hand that to the next client); EOF is a close. Either way: drop it.
      char peek;
      ssize_t got = ::recv(i.socket.native_handle(), &peek, 1, MSG_PEEK | MSG_DONTWAIT);
      const bool quiet = got < 0 && (errno == EAGAIN || errno == EWOULDBLOCK);
      if (quiet) {
        // Empty now: the response read that follows waits for the edge.
        readiness::drained(i.socket, 0, 1);
        return std::move(i.socket);
      }
      asio::error_code ec;
      i.socket.close(ec);
    }
    return std::nullopt;
  }
  void put(const Server& server, tcp::socket s, std::size_t max) {
    auto it = idle.find(KeyRef{server.key, server.key_hash});
    if (it == idle.end()) it = idle.emplace(server.key, std::vector<Idle>()).first;
    auto& v = it->second;
    if (v.size() >= max) {
      asio::error_code ec;
      v.front().socket.close(ec);
      v.erase(v.begin());
    }
    v.push_back({std::move(s), Clock::now()});
  }
  void clear() {
    for (auto& [k, v] : idle)
      for (auto& i : v) {
        asio::error_code ec;
        i.socket.close(ec);
      }
    idle.clear();
  }
};

struct Listener {
  std::string entry_point;
  std::unique_ptr<tcp::acceptor> acceptor;
};

struct Session;

// Memory for the sessions of one worker: a new connection takes the block
// of one that ended. A Session (with its control block) is larger than
// malloc's per-thread cache serves, so each one used to cost a trip
// through the allocator's bins, and its free another.
struct BlockCache {
  std::vector<void*> free;
  std::size_t size = 0;  // the one block size cached (the first asked for)
  BlockCache() { free.reserve(kMaxFree); }
  ~BlockCache() {
    for (void* p : free) ::operator delete(p);
  }
  static constexpr std::size_t kMaxFree = 1024;
};

template <class T>
struct CachedAllocator {
  using value_type = T;
  BlockCache* cache;
  explicit CachedAllocator(BlockCache* c) : cache(c) {}
  template <class U>
  CachedAllocator(const CachedAllocator<U>& o) : cache(o.cache) {}
  T* allocate(std::size_t n) {
    const std::size_t bytes = n * sizeof(T);
    if (cache->size == 0) cache->size = bytes;
    if (bytes == cache->size && !cache->free.empty()) {
      void* p = cache->free.back();
      cache->free.pop_back();
      return static_cast<T*>(p);
    }
    return static_cast<T*>(::operator new(bytes));
  }
  void deallocate(T* p, std::size_t n) {
    if (n * sizeof(T) == cache->size && cache->free.size() < BlockCache::kMaxFree) cache->free.push_back(p);
    else ::operator delete(p);
  }
  template <class U>
  bool operator==(const CachedAllocator<U>& o) const { return cache == o.cache; }
  template <class U>
  bool operator!=(const CachedAllocator<U>& o) const { return cache != o.cache; }
};

struct Worker {
  int index = 0;
  Proxy::Impl* proxy = nullptr;
  // Declared before ctx: sessions still alive when the io_context is
  // destroyed give their blocks back to it.
  BlockCache session_blocks;
  // One thread runs it, and only that thread does I/O on its sockets: the
  // reactor's per-descriptor locking is not needed (posting from the control
  // thread still is, so the scheduler keeps its lock).
  asio::io_context ctx{ASIO_CONCURRENCY_HINT_UNSAFE_IO};
  std::vector<Listener> listeners;
  std::shared_ptr<Snapshot> snap;
  std::shared_ptr<SSL_CTX> ssl;
  std::uint64_t gen = 0;
  Pool pool;
  Session* sessions = nullptr;  // a list through Session::prev_/next_
  // Timeouts: connections keep a deadline; one timer per worker sweeps the
  // list while it is not empty (no timer, cancel or timerfd change per
  // connection or per request). Defined after Session.
  asio::steady_timer sweep_timer{ctx};
  bool sweeping = false;
  void sweep();
  std::vector<std::unique_ptr<Buffer>> free_buffers;
  int mirrors_in_flight = 0;
  // Requests being forwarded upstream: the event loop takes its events in
  // batches when there are many (event_loop.hpp).
  int forwarding = 0;
  std::unordered_map<const void*, std::uint64_t> mirror_counters;
  std::thread thread;

  void refresh() {
    std::uint64_t g = proxy->generation.load(std::memory_order_acquire);
    if (g == gen) return;
    std::lock_guard lock(proxy->mu);
    snap = proxy->current;
    ssl = proxy->ssl_current;
    gen = proxy->generation.load();
  }
  // Request buffers of new connections (4 KiB), kept for the next ones,
  // and the strings heads are written in (with their capacity).
  std::vector<std::unique_ptr<char[]>> free_heads;
  std::vector<std::string> free_outs;
  // Header lists (a session has three), kept with their capacity.
  std::vector<std::vector<http1::Header>> free_header_lists;
  void take(std::vector<http1::Header>& v) {
    if (free_header_lists.empty()) {
      v.reserve(16);  // room for typical heads at once, instead of growing by doubling
      return;
    }
    v = std::move(free_header_lists.back());
    free_header_lists.pop_back();
  }
  void give_back(std::vector<http1::Header>& v) {
    if (v.capacity() > 64 || free_header_lists.size() >= 768) return;
    v.clear();
    free_header_lists.push_back(std::move(v));
  }
  std::unique_ptr<Buffer> buffer() {
    if (!free_buffers.empty()) {
      auto b = std::move(free_buffers.back());
      free_buffers.pop_back();
      b->clear();
      return b;
    }
    return std::make_unique<Buffer>(16 * 1024);
  }
  void give_back(std::unique_ptr<Buffer> b) {
    if (b && free_buffers.size() < 256 && b->cap <= kBodyBuffer) free_buffers.push_back(std::move(b));
  }
};

// ---- one client connection -------------------------------------------------------------

enum class Phase : std::uint8_t { idle, reading, upstream, writing, tunnel, done };

struct Session : std::enable_shared_from_this<Session> {
  Worker& w;
  const ServerOptions& opt;
  tcp::socket socket;  // the client
  std::unique_ptr<TlsStream> ssl;  // on socket, when TLS
  std::string entry_point;
  std::string client_ip;
  std::uint16_t client_port = 0;
  std::uint16_t local_port = 0;
  bool tls = false;
  std::string sni;
  bool trusted = false;  // keep the client's X-Forwarded-* headers

  Buffer in;
  std::string method_, host_, target_, referer_, user_agent_, accept_encoding_;
  std::string_view original_host_;  // the request's host before middlewares (X-Forwarded-Host)
  http1::RequestHead head;
  http1::ResponseHead rhead;
  std::optional<routes::Request> rule_request_;
  http1::ChunkedDecoder request_dec_;   // the request body's, when chunked
  http1::ChunkedDecoder response_dec_;  // the response body's, when chunked
  // The response body's transformations (compress, de-chunking for 1.0).
  std::unique_ptr<Encoder> encoder_;
  std::string encoding_, decoded_, packed_;
  std::string out;  // the head being written (either side)
  // X-Forwarded-Port, -Server and X-Real-Ip of this connection (no allocation).
  char forwarded_tail_[200];
  std::uint8_t forwarded_tail_len_ = 0;
  Exchange ex;

  // Timeouts: the deadline of the current phase, found by Worker::sweep.
  std::int64_t deadline = kNever;
  Phase phase = Phase::idle;
  tcp::socket* upstream = nullptr;  // being waited on
  bool upstream_timed_out = false;
  bool closed = false;

  Session(Worker& worker, tcp::socket s, std::string ep)
      : w(worker), opt(worker.proxy->options), socket(std::move(s)), entry_point(std::move(ep)), in(0) {
    w.take(head.headers);
    w.take(rhead.headers);
    w.take(ex.headers);
  }

  void arm(Phase p, std::chrono::milliseconds d) {
    const std::int64_t now = coarse_ms();
    if (p == Phase::idle) {
      idle_since = now;
      probed = false;
    }
    phase = p;
    deadline = now + d.count();
  }

  // A client that half-closes right after its request (`printf ... | nc -N`)
  // sends its FIN with the request's last bytes: one readiness edge for
  // both, so the read that found the socket drained has no later edge to
  // wait for, and the connection would sit idle until the idle timeout.
  // nginx hears of it from EPOLLRDHUP, which asio does not register. Here
  // the sweep asks once per idle period, after kProbeIdle (an idle client
  // costs one peek; a busy keep-alive one, none).
  std::int64_t idle_since = 0;
  bool probed = false;
  bool peer_gone() {
    probed = true;
    char c;
    ssize_t k = ::recv(socket.native_handle(), &c, 1, MSG_PEEK | MSG_DONTWAIT);
    return k == 0 || (k < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR);
  }

  // Past the deadline (called by the sweep): a server that is too slow is
  // dropped (the request fails with 504), a client that is, is closed.
  void expire() {
    if (closed) return;
    if (phase == Phase::upstream && upstream) {
      upstream_timed_out = true;
      asio::error_code ignored;
      upstream->close(ignored);
      deadline = kNever;
      return;
    }
    close();
  }

  // TCP_NODELAY, set when a second write may follow an unacknowledged first
  // (streamed bodies, interim answers, tunnels, TLS records): a response
  // sent in one write does not need it, and a new connection saves the call.
  bool nodelay_ = false;
  void nodelay() {
    if (nodelay_) return;
    nodelay_ = true;
    asio::error_code ignored;
    socket.set_option(tcp::no_delay(true), ignored);
  }

  // Membership in the worker's list of sessions (for draining).
  Session* prev_ = nullptr;
  Session* next_ = nullptr;

  void close() {
    if (closed) return;
    closed = true;
    asio::error_code ec;
    socket.close(ec);
  }

  // ---- I/O on the client, plain or TLS -----------------------------------------------

  awaitable<std::size_t> read_client(char* p, std::size_t n, asio::error_code& ec, bool sole_op = true) {
    if (ssl) co_return co_await ssl->read_some(p, n, ec, sole_op);
    if (!sole_op) {
      auto [e, k] = co_await socket.async_read_some(asio::buffer(p, n), use_tuple);
      ec = e;
      co_return k;
    }
    co_return co_await readiness::read_plain(socket, p, n, ec);
  }

  // The direct part of a write to the client: what the socket takes at
  // once (usually everything: then no asynchronous write, coroutine frame
  // or reactor trip is needed). Over TLS, the bytes encrypted, whose
  // records the socket may not all have taken yet (client_unflushed()).
  std::size_t client_now(std::string_view a, std::string_view b = {}) {
    if (closed) return 0;
    return ssl ? ssl->write_now(a, b) : send_now(socket.native_handle(), a, b);
  }
  bool client_unflushed() const { return ssl && ssl->unflushed(); }

  template <typename Buffers>
  awaitable<bool> write_client(const Buffers& b) {
    Phase saved = phase;
    auto saved_deadline = deadline;
    arm(Phase::writing, opt.write);
    asio::error_code e;
    if (ssl) {
      std::array<asio::const_buffer, 2> tls_buffers;
      std::size_t count = 0;
      for (auto it = asio::buffer_sequence_begin(b); it != asio::buffer_sequence_end(b) && count < 2; ++it)
        tls_buffers[count++] = asio::const_buffer(*it);
      e = co_await ssl->write(tls_buffers.data(), count);
    } else {
      auto [ec, n] = co_await asio::async_write(socket, b, use_tuple);
      e = ec;
    }
    phase = saved;
    deadline = saved_deadline;
    co_return !e && !closed;
  }

  awaitable<bool> send_reply(const Reply& r, bool close_after, int minor) {
    out = plain_reply(r, close_after, minor);
    if (close_after) linger_ = true;
    co_return co_await write_client(asio::buffer(out));
  }

  // After an answer sent with "Connection: close" while the client may still
  // be sending (a refused body, a bad request), closing at once would reset
  // the connection and the client could lose the answer. So, as nginx's
  // lingering_close: stop sending, read and drop what arrives for a short
  // while (bounded in time and bytes), then close.
  bool linger_ = false;
  awaitable<void> lingering_close() {
    asio::error_code ec;
    socket.shutdown(tcp::socket::shutdown_send, ec);
    if (ec) co_return;
    arm(Phase::reading, std::chrono::milliseconds(2000));
    std::array<char, 4096> sink;
    std::size_t dropped = 0;
    while (!closed && dropped < 1024 * 1024) {
      auto [rec, n] = co_await socket.async_read_some(asio::buffer(sink), use_tuple);
      if (rec || n == 0) break;
      dropped += n;
    }
  }

  // ---- the connection -------------------------------------------------------------------

  awaitable<void> run() {
    auto self = shared_from_this();
    if (!w.free_outs.empty()) {
      out = std::move(w.free_outs.back());
      w.free_outs.pop_back();
    }
    next_ = w.sessions;
    if (next_) next_->prev_ = this;
    w.sessions = this;
    if (!w.sweeping) w.sweep();
    co_await serve_connection();
    if (linger_ && !closed) co_await lingering_close();
    close();
    if (in.cap == kHeadBuffer && w.free_heads.size() < 256) {
      in.clear();
      w.free_heads.push_back(std::move(in.data));
      in.cap = 0;
    }
    if (out.capacity() <= kHeadBuffer && w.free_outs.size() < 256) {
      out.clear();
      w.free_outs.push_back(std::move(out));
    }
    w.give_back(head.headers);
    w.give_back(rhead.headers);
    w.give_back(ex.headers);
    if (prev_) prev_->next_ = next_;
    else w.sessions = next_;
    if (next_) next_->prev_ = prev_;
    w.proxy->connections.fetch_sub(1, std::memory_order_relaxed);
  }

  // Peeks at the first bytes without consuming them: `want` bytes, or a
  // whole TLS ClientHello when `hello` is set. Returns what is there (empty
  // when the client closed or timed out).
  awaitable<std::string> peek(std::size_t want, ClientHello* hello, HelloStatus* hs) {
    std::string buf(hello ? 16384 + 5 : want, '\0');
    arm(Phase::reading, opt.client_read);
    for (;;) {
      ssize_t n = ::recv(socket.native_handle(), buf.data(), buf.size(), MSG_PEEK | MSG_DONTWAIT);
      if (n == 0) co_return std::string();
      if (n > 0) {
        std::string_view got(buf.data(), static_cast<std::size_t>(n));
        if (!hello) co_return std::string(got);
        *hello = ClientHello{};
        *hs = parse_client_hello(got, *hello);
        if (*hs != HelloStatus::incomplete || static_cast<std::size_t>(n) == buf.size()) co_return std::string(got);
      } else if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
        co_return std::string();
      }
      // Nothing (more) yet: the next bytes arrive as a new readiness edge.
      auto [ec] = co_await socket.async_wait(tcp::socket::wait_read, use_tuple);
      if (ec || closed) co_return std::string();
    }
  }

  awaitable<void> serve_connection() {
    w.refresh();
    auto snap = w.snap;
    auto eit = snap->entry_points.find(entry_point);
    if (eit == snap->entry_points.end()) co_return;
    const EntryPointRoutes& eroutes = eit->second;
    // Plain or TLS: by the routers on this entry point, or by the first byte
    // (a TLS handshake starts with 0x16) when it has both, as Traefik does.
    // TCP routers see the ClientHello first (HostSNI, ALPN) and take the
    // connection when one matches.
    bool want_tls = false;
    const bool tcp_tls = std::any_of(eroutes.tcp.begin(), eroutes.tcp.end(), [](const TcpRoute* r) { return r->tls; });
    const bool tcp_plain = std::any_of(eroutes.tcp.begin(), eroutes.tcp.end(), [](const TcpRoute* r) { return !r->tls; });
    const bool maybe_tls = (!eroutes.secure.empty() && w.ssl) || tcp_tls;
    const bool maybe_plain = !eroutes.plain.empty() || tcp_plain;
    if (!eroutes.tcp.empty() || (maybe_tls && maybe_plain)) {
      std::string first = co_await peek(1, nullptr, nullptr);
      if (first.empty() || closed) co_return;
      want_tls = static_cast<unsigned char>(first[0]) == 0x16;
      if (!eroutes.tcp.empty()) {
        routes::Request rr;
        rr.client_ip = client_ip;
        if (want_tls && tcp_tls) {
          ClientHello hello;
          HelloStatus hs = HelloStatus::not_tls;
          std::string bytes = co_await peek(0, &hello, &hs);
          if (bytes.empty() || closed) co_return;
          rr.sni = hello.sni;
          rr.alpn = hello.alpn;
        }
        for (const TcpRoute* r : eroutes.tcp) {
          if (r->tls != want_tls) continue;
          if (!routes::evaluate(r->entry.rule, rr).matched) continue;
          co_await serve_tcp(*r, snap);
          co_return;
        }
      }
    } else {
      want_tls = maybe_tls && !maybe_plain;
    }
    if (want_tls && (eroutes.secure.empty() || !w.ssl)) co_return;  // TLS, but nothing serves it
    if (want_tls) {
      ssl = std::make_unique<TlsStream>(socket, w.ssl.get());
      tls = true;
      arm(Phase::reading, opt.client_read);
      nodelay();  // a handshake and TLS records are several writes
      asio::error_code ec = co_await ssl->handshake();
      if (ec || closed) co_return;
      sni = tls_sni(ssl->native_handle());
    }
    // 4 KiB, from the worker's spares; grows for larger heads (up to the
    // limit) and bodies.
    if (!w.free_heads.empty()) {
      in.data = std::move(w.free_heads.back());
      in.cap = kHeadBuffer;
      w.free_heads.pop_back();
    } else {
      in.reserve(kHeadBuffer);
    }
    co_await serve_requests();
  }

  // A connection a TCP router took: TLS terminated (unless passthrough),
  // then bytes both ways to a server of its service.
  awaitable<void> serve_tcp(const TcpRoute& route, std::shared_ptr<Snapshot> snap) {
    Server* server = route.service->pick(w.index, now_ms());
    if (!server || server->endpoints.empty()) co_return;
    if (route.tls && !route.passthrough) {
      if (!w.ssl) co_return;
      ssl = std::make_unique<TlsStream>(socket, w.ssl.get());
      tls = true;
      arm(Phase::reading, opt.client_read);
      nodelay();  // a handshake and TLS records are several writes
      asio::error_code ec = co_await ssl->handshake();
      if (ec || closed) co_return;
    }
    bool timed_out = false;
    auto up = co_await connect(*server, timed_out);
    if (!up || closed) {
      if (!up) server->failed(now_ms());
      co_return;
    }
    if (opt.access_log) {
      AccessRecord r;
      r.start = std::chrono::system_clock::now();
      r.client_ip = client_ip;
      r.method = "TCP";
      r.host = sni;
      r.path = "-";
      r.router = route.name;
      r.upstream = server->url;
      opt.access_log->write(r);
    }
    in.reserve(16 * 1024);
    Buffer empty(0);
    co_await tunnel(*up, empty);
    (void)snap;
  }

  awaitable<void> serve_requests() {
    for (;;) {
      if (w.proxy->draining.load(std::memory_order_relaxed) && in.size() == 0) co_return;
      // Read a complete head.
      http1::Error perr;
      http1::Status st = in.size() ? http1::parse_request(in.view(), opt.limits, head, perr) : http1::Status::incomplete;
      if (st == http1::Status::incomplete) arm(in.size() ? Phase::reading : Phase::idle, in.size() ? opt.client_read : opt.client_idle);
      while (st == http1::Status::incomplete) {
        if (in.room() < 1024) {
          in.compact();
          if (in.room() < 1024) in.reserve(std::min(in.cap * 2, opt.limits.max_head + 8192));
          if (in.room() == 0) {
            st = http1::Status::error;
            perr = {431, "request head too large"};
            break;
          }
        }
        asio::error_code ec;
        std::size_t n = co_await read_client(in.space(), in.room(), ec);
        if (ec || n == 0 || closed) co_return;
        in.end += n;
        if (phase == Phase::idle) arm(Phase::reading, opt.client_read);
        st = http1::parse_request(in.view(), opt.limits, head, perr);
      }
      if (st == http1::Status::error) {
        co_await send_reply(error_reply(perr.status, std::string(http1::reason_phrase(perr.status))), true, 1);
        log_error(perr.status, perr.reason);
        co_return;
      }
      bool keep = co_await handle_request();
      if (!keep || closed) co_return;
    }
  }

  void log_error(int status, const char* why) {
    if (!opt.access_log) return;
    AccessRecord r;
    r.start = std::chrono::system_clock::now();
    r.client_ip = client_ip;
    r.method = "-";
    r.path = why;
    r.status = status;
    opt.access_log->write(r);
  }

  // One request: route, middlewares, upstream. Returns whether the client
  // connection can carry another request.
  awaitable<bool> handle_request() {
    auto started = Clock::now();
    auto wall = std::chrono::system_clock::now();
    w.refresh();
    std::shared_ptr<Snapshot> snap = w.snap;  // held until the request is done
    ex.reset();
    ex.client_ip = client_ip;
    ex.client_port = client_port;
    ex.local_port = local_port;
    ex.tls = tls;
    ex.entry_point = entry_point;
    ex.sni = sni;
    ex.worker = w.index;
    // Owned copies of what is needed after the body has been streamed
    // through `in` (which overwrites the head).
    method_.assign(head.method);
    host_.assign(head.host);
    target_.assign(head.target);
    if (opt.access_log) {
      referer_.assign(http1::find_header(head.headers, "referer"));
      user_agent_.assign(http1::find_header(head.headers, "user-agent"));
    }
    ex.method = method_;
    ex.minor = head.minor;
    ex.host = host_;
    ex.headers.assign(head.headers.begin(), head.headers.end());
    // An untrusted client's X-Forwarded-* (and X-Real-Ip, Forwarded) go
    // before any middleware reads them (ipStrategy, rateLimit keys), as
    // Traefik's forwarded-headers handling does.
    if (!trusted) std::erase_if(ex.headers, [](const http1::Header& h) { return forwarded_header(h); });
    in.consume(head.head_size);
    std::string_view target = target_;
    const std::string_view original_target = target;
    std::string_view user;
    if (!target.empty() && target.front() != '/') {
      if (target == "*" && ex.method == "OPTIONS") {
        target = "/";
      } else if (target.starts_with("http://") || target.starts_with("https://")) {
        // absolute-form: the URL's authority is the host (RFC 9112 3.2.2)
        auto rest = target.substr(target.find("://") + 3);
        auto slash = rest.find_first_of("/?");
        ex.host = rest.substr(0, slash);
        target = slash == std::string_view::npos ? std::string_view("/") : rest.substr(slash);
        if (target.front() == '?') target = ex.keep("/" + std::string(target));
      } else {
        co_await send_reply(error_reply(400, "Bad Request"), true, head.minor);
        log_error(400, "request target not in origin or absolute form");
        co_return false;
      }
    }
    original_host_ = ex.host;
    auto q = target.find('?');
    ex.path = target.substr(0, q);
    if (q != std::string_view::npos) {
      ex.has_query = true;
      ex.query = target.substr(q + 1);
    }
    if (auto hash = ex.query.find('#'); hash != std::string_view::npos) ex.query = ex.query.substr(0, hash);

    // Routing.
    const EntryPointRoutes& eps = snap->entry_points.at(entry_point);
    const RouteTable& table = tls ? eps.secure : eps.plain;
    // The full request model for the rules is built only when a router's
    // rule needs more than the host (a Session member: it is large, and
    // kept out of this coroutine's frame).
    rule_request_.reset();
    const Route* route = table.find(routes::canonical_host(ex.host), [&]() -> const routes::Request& {
      if (!rule_request_) rule_request_ = to_rule_request(ex);
      return *rule_request_;
    });
    ex.route = route;

    const bool has_body = head.body != http1::BodyKind::none;
    bool client_keep = head.keep_alive && !w.proxy->draining.load(std::memory_order_relaxed);
    int status = 0;
    std::uint64_t sent_bytes = 0;
    std::string_view upstream_url;  // the server's URL (in snap, held until the request is done)

    auto finish_log = [&](int st) {
      ex.finish();
      if (!opt.access_log) return;
      AccessRecord r;
      r.start = wall;
      r.client_ip = client_ip;
      r.user = user;
      r.method = ex.method;
      r.host = ex.host;
      r.path = original_target;
      r.minor = head.minor;
      r.status = st;
      r.bytes = sent_bytes;
      r.referer = referer_;
      r.user_agent = user_agent_;
      r.router = route ? std::string_view(route->name) : std::string_view{};
      r.upstream = upstream_url;
      r.duration = std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - started);
      opt.access_log->write(r);
    };

    // Answers without proxying; a request body not yet read closes the connection.
    auto answer = [&](const Reply& r) -> awaitable<bool> {
      ex.finish();  // release inFlightReq slots before the client can send again
      bool keep = client_keep && !has_body;
      sent_bytes = r.body.size();
      bool ok = co_await send_reply(r, !keep, head.minor);
      finish_log(r.status);
      co_return ok && keep;
    };

    // Answers the proxy gives itself (one place that awaits them: each
    // awaiting place costs room in the coroutine frame).
    if (!route) {
      ex.reply = error_reply(404, "404 page not found");
    } else {
      for (const Middleware* m : route->middlewares) {
        m->handle(ex);
        if (ex.reply) break;
        if (ex.delay.count() > 0) {  // rateLimit: this request's token comes soon
          co_await pause(ex.delay);
          ex.delay = {};
        }
      }
    }
    std::uint64_t max_body = opt.max_body;
    if (ex.max_body && (!max_body || ex.max_body < max_body)) max_body = ex.max_body;
    if (!ex.reply && max_body && head.body == http1::BodyKind::length && head.content_length > max_body)
      ex.reply = error_reply(413, "Request Entity Too Large");
    if (ex.reply) co_return co_await answer(*ex.reply);
    if (ex.compress) accept_encoding_.assign(ex.header("Accept-Encoding"));

    if (const auto* mirrors = route->service->mirrors()) mirror(*route, *mirrors, route->service->mirror_max_body());

    // Upstream: pick, connect, send, receive; retried on connection failures.
    bool response_started = false;
    for (int attempt = 0;; ++attempt) {
      Server* server = route->service->pick(ex, now_ms());
      if (!server) co_return co_await answer(error_reply(503, "no available server"));
      ex.server = server;
      upstream_url = server->url;
      Result r = co_await forward(*route, *server, max_body, response_started, sent_bytes);
      encoder_.reset();  // an idle connection keeps no compressor state
      if (r.kind == Result::intercepted) {
        // An errors middleware wants its page instead of this answer.
        int st = co_await error_page(r.status, response_started, sent_bytes, upstream_url);
        finish_log(st);
        co_return st > 0 && client_keep && !closed && !error_close_;
      }
      if (r.kind == Result::ok) {
        status = r.status;
        finish_log(status);
        co_return r.keep && client_keep && !closed;
      }
      if (r.kind == Result::client_gone) {
        finish_log(r.status ? r.status : 499);
        co_return false;
      }
      if (response_started) {
        finish_log(r.status ? r.status : 502);
        co_return false;
      }
      // Connection failure before anything was sent upstream: mark the
      // server (passive health), maybe retry another.
      if (r.kind == Result::connect_failed) mark_failure(*route->service, *server);
      bool can_retry = attempt + 1 < ex.attempts && r.kind == Result::connect_failed;
      if (can_retry) {
        co_await pause(ex.retry_interval * (1 << std::min(attempt, 6)));
        continue;
      }
      int st = r.kind == Result::timeout ? 504 : 502;
      Reply rep = error_reply(st, st == 504 ? "Gateway Timeout" : "Bad Gateway");
      bool body_left = r.request_body_unsent;
      bool keep = client_keep && !body_left;
      sent_bytes = rep.body.size();
      bool ok = co_await send_reply(rep, !keep, head.minor);
      finish_log(st);
      co_return ok && keep;
    }
  }

  awaitable<void> pause(std::chrono::microseconds d) {
    asio::steady_timer t(w.ctx);
    t.expires_after(d);
    co_await t.async_wait(use_tuple);
  }

  // Mirroring: copies of the request go to the mirror services, fire and
  // forget, on their own connections; their answers are read and dropped.
  // Bounded: at most kMirrorsInFlight per worker, and only requests whose
  // body is already here and within maxBodySize (none for mirrorBody=false).
  static constexpr int kMirrorsInFlight = 64;
  void mirror(const Route& route, const std::vector<Service::Mirror>& mirrors, std::uint64_t max_body) {
    std::string_view body;
    if (head.body == http1::BodyKind::chunked) return;
    if (head.body == http1::BodyKind::length) {
      if (head.content_length > max_body || head.content_length > in.size()) return;
      body = in.view().substr(0, static_cast<std::size_t>(head.content_length));
    }
    for (std::size_t i = 0; i < mirrors.size(); ++i) {
      const auto& m = mirrors[i];
      // Exactly `percent` of every 100 requests, spread evenly.
      std::uint64_t n = w.mirror_counters[&m]++;
      if (m.percent <= 0 || (n * static_cast<std::uint64_t>(m.percent)) / 100 ==
                                ((n + 1) * static_cast<std::uint64_t>(m.percent)) / 100)
        continue;
      if (w.mirrors_in_flight >= kMirrorsInFlight) return;
      Server* server = m.service->pick(ex, now_ms());
      if (!server || server->endpoints.empty()) continue;
      Route copy_route;
      copy_route.service = m.service;
      build_request_head(copy_route, *server);
      std::string bytes = out;
      bytes.insert(bytes.size() - 2, "Connection: close\r\n");
      bytes.append(body);
      ++w.mirrors_in_flight;
      asio::co_spawn(w.ctx, send_mirror(w, server->endpoints.front(), std::move(bytes), opt.upstream_response),
                     asio::detached);
    }
    (void)route;
  }

  static awaitable<void> send_mirror(Worker& w, tcp::endpoint ep, std::string bytes, std::chrono::milliseconds limit) {
    {
      tcp::socket s(w.ctx);
      asio::steady_timer timer(w.ctx);
      timer.expires_after(limit);
      timer.async_wait([&s](asio::error_code ec) {
        if (!ec) {
          asio::error_code ignored;
          s.close(ignored);
        }
      });
      auto [cec] = co_await s.async_connect(ep, use_tuple);
      if (!cec) {
        auto [wec, wn] = co_await asio::async_write(s, asio::buffer(bytes), use_tuple);
        if (!wec) {
          // Read and drop the answer until the server closes or the time is up.
          std::array<char, 4096> sink;
          for (;;) {
            auto [rec, n] = co_await s.async_read_some(asio::buffer(sink), use_tuple);
            if (rec || n == 0) break;
          }
        }
      }
      timer.cancel();
      asio::error_code ignored;
      s.close(ignored);
    }
    --w.mirrors_in_flight;
  }

  // The errors middleware: fetches the page for `status` from its service
  // and sends it with the original (or rewritten) status. Returns the
  // status sent, 0 when the client went away.
  const ErrorPages* error_page_ = nullptr;
  int status_override_ = 0;
  bool error_close_ = false;
  awaitable<int> error_page(int status, bool& response_started, std::uint64_t& sent_bytes,
                            std::string_view& upstream_url) {
    const ErrorPages& e = *error_page_;
    const int send_status = e.rewrite(status);
    std::string page = e.query;
    auto replace_all = [&](std::string_view from, const std::string& to) {
      for (std::size_t p = page.find(from); p != std::string::npos; p = page.find(from, p + to.size()))
        page.replace(p, from.size(), to);
    };
    replace_all("{status}", std::to_string(send_status));
    replace_all("{originalStatus}", std::to_string(status));
    replace_all("{url}", std::string(target_));
    if (page.empty() || page.front() != '/') page.insert(page.begin(), '/');
    // A GET without a body for the page; the client's request body is gone.
    auto q = page.find('?');
    ex.method = "GET";
    ex.path = ex.keep(page.substr(0, q));
    ex.has_query = q != std::string::npos;
    ex.query = ex.has_query ? ex.keep(page.substr(q + 1)) : std::string_view();
    if (head.body != http1::BodyKind::none) {
      // The body went through `in` and overwrote the header bytes: the page
      // request carries the host and the forwarded headers only.
      ex.headers.clear();
      head.headers.clear();
    }
    head.body = http1::BodyKind::none;
    head.expect_continue = false;
    head.upgrade = false;
    ex.compress = nullptr;
    Route page_route;
    page_route.service = e.service;
    Server* server = e.service->pick(ex, now_ms());
    status_override_ = send_status;
    Result r;
    if (server) {
      upstream_url = server->url;
      r = co_await forward(page_route, *server, 0, response_started, sent_bytes);
    } else {
      r.kind = Result::connect_failed;
    }
    status_override_ = 0;
    error_page_ = nullptr;
    if (r.kind == Result::ok) {
      error_close_ = !r.keep;
      co_return send_status;
    }
    if (response_started || r.kind == Result::client_gone) {
      error_close_ = true;
      co_return 0;
    }
    // No page: the status alone, as a small plain-text answer.
    Reply rep = error_reply(send_status, std::string(http1::reason_phrase(send_status)));
    sent_bytes = rep.body.size();
    bool ok = co_await send_reply(rep, !head.keep_alive, head.minor);
    error_close_ = !head.keep_alive;
    co_return ok ? send_status : 0;
  }

  void mark_failure(Service&, Server& server) {
    // Passive detection: a server that refuses connections leaves the
    // rotation for a while (and the active checker, if any, brings it back).
    server.failed(now_ms());
  }

  struct Result {
    enum Kind { ok, connect_failed, upstream_failed, timeout, client_gone, intercepted } kind = ok;
    int status = 0;
    bool keep = false;      // the client connection can go on
    bool reusable = false;  // the upstream connection can go back to the pool
    bool request_body_unsent = false;
  };

  // Builds the head sent upstream.
  void build_request_head(const Route& route, const Server& server) {
    out.clear();
    out.reserve(512 + head.head_size);
    out += ex.method;
    out += ' ';
    if (!server.path.empty()) {
      // With preservePath, Traefik joins the server URL's path and the request path.
      out += server.path;
      if (out.back() == '/' && !ex.path.empty() && ex.path.front() == '/') out.pop_back();
    }
    out += ex.path;
    if (ex.has_query) {
      out += '?';
      out += ex.query;
    }
    put(out, " HTTP/1.1\r\n");
    put_field(out, "Host", route.service->pass_host_header ? ex.host : std::string_view(server.authority));
    const bool check_tokens = head.connection_lists_fields;
    const std::string_view connection_tokens = check_tokens ? http1::find_header(head.headers, "connection") : "";
    // The client's X-Forwarded-* are gone already unless it is trusted (see
    // handle_request); what is left came from it or from a middleware and is
    // kept, X-Forwarded-For gets the client appended, the rest is filled in.
    std::string_view xff_prior;
    bool has_proto = false, has_host = false, has_port = false, has_server = false, has_real_ip = false;
    for (const auto& h : ex.headers) {
      const Field f = http1::field_of(h);
      if (is_hop_by_hop(f) || f == Field::host || f == Field::content_length || f == Field::expect) continue;
      if (check_tokens && http1::has_token(connection_tokens, h.name)) continue;
      switch (f) {
        case Field::x_forwarded_for: xff_prior = h.value; continue;
        case Field::x_forwarded_proto: has_proto = true; break;
        case Field::x_forwarded_host: has_host = true; break;
        case Field::x_forwarded_port: has_port = true; break;
        case Field::x_forwarded_server: has_server = true; break;
        case Field::x_real_ip: has_real_ip = true; break;
        default: break;
      }
      put_field(out, h.name, h.value);
    }
    put(out, "X-Forwarded-For: ");
    if (!xff_prior.empty()) {
      out += xff_prior;
      put(out, ", ");
    }
    out += client_ip;
    put(out, "\r\n");
    if (!has_proto) {
      if (tls) put(out, "X-Forwarded-Proto: https\r\n");
      else put(out, "X-Forwarded-Proto: http\r\n");
    }
    if (!has_host) put_field(out, "X-Forwarded-Host", original_host_);
    // When all three are ours (the usual case), the lines are the same for
    // every request of the connection: kept after the first (if they fit).
    const bool all_ours = !has_port && !has_server && !has_real_ip;
    if (all_ours && forwarded_tail_len_ > 0) {
      out.append(forwarded_tail_, forwarded_tail_len_);
    } else {
      const std::size_t at = out.size();
      if (!has_port) {
        put(out, "X-Forwarded-Port: ");
        append_number(out, local_port);
        put(out, "\r\n");
      }
      if (!has_server) put_field(out, "X-Forwarded-Server", w.proxy->hostname);
      if (!has_real_ip) put_field(out, "X-Real-Ip", client_ip);
      if (all_ours && out.size() - at <= sizeof forwarded_tail_) {
        forwarded_tail_len_ = static_cast<std::uint8_t>(out.size() - at);
        std::memcpy(forwarded_tail_, out.data() + at, forwarded_tail_len_);
      }
    }
    if (opt.via) {
      if (ex.minor == 0) put(out, "Via: 1.0 certroute\r\n");
      else put(out, "Via: 1.1 certroute\r\n");
    }
    if (head.upgrade) {
      put(out, "Connection: Upgrade\r\n");
      put_field(out, "Upgrade", http1::find_header(head.headers, "upgrade"));
    }
    if (head.body == http1::BodyKind::length) {
      put(out, "Content-Length: ");
      append_number(out, head.content_length);
      put(out, "\r\n");
    } else if (head.body == http1::BodyKind::chunked) {
      put(out, "Transfer-Encoding: chunked\r\n");
    }
    put(out, "\r\n");
  }

  awaitable<std::optional<tcp::socket>> connect(const Server& server, bool& timed_out) {
    for (const auto& ep : server.endpoints) {
      tcp::socket s(w.ctx);
      upstream = &s;
      upstream_timed_out = false;
      arm(Phase::upstream, opt.upstream_connect);
      auto [ec] = co_await s.async_connect(ep, use_tuple);
      upstream = nullptr;
      if (upstream_timed_out) timed_out = true;
      if (!ec && !upstream_timed_out) {
        asio::error_code ignored;
        s.set_option(tcp::no_delay(true), ignored);
        co_return std::move(s);
      }
    }
    co_return std::nullopt;
  }

  // Sends the request (head and body) and relays the response. The request
  // head has been consumed from `in`; its body (or its start) follows there.
  awaitable<Result> forward(const Route& route, Server& server, std::uint64_t max_body, bool& response_started,
                            std::uint64_t& sent_bytes) {
    // Counted until the answer is relayed; an upgraded connection's tunnel
    // is not a request waiting for its answer.
    struct Counted {
      int* n;
      explicit Counted(int& c) : n(&c) { ++c; }
      ~Counted() { release(); }
      void release() {
        if (n) --*n;
        n = nullptr;
      }
    } counted(w.forwarding);
    Result res;
    if (server.endpoints.empty()) {
      res.kind = Result::connect_failed;
      co_return res;
    }
    build_request_head(route, server);

    // The part of the request body already read.
    std::uint64_t body_left = head.body == http1::BodyKind::length ? head.content_length : 0;
    const bool chunked = head.body == http1::BodyKind::chunked;
    std::size_t first_body = 0;
    bool body_done = head.body == http1::BodyKind::none;
    http1::ChunkedDecoder& dec = request_dec_;
    dec = http1::ChunkedDecoder(opt.limits);
    if (head.body == http1::BodyKind::length) {
      first_body = static_cast<std::size_t>(std::min<std::uint64_t>(body_left, in.size()));
      body_left -= first_body;
      body_done = body_left == 0;
    } else if (chunked) {
      std::size_t used = 0;
      auto r = dec.feed(in.view(), used, nullptr);
      first_body = used;
      body_done = r == http1::ChunkedDecoder::Result::done;
      int refuse = r == http1::ChunkedDecoder::Result::error ? 400 : (max_body && dec.body_bytes() > max_body) ? 413 : 0;
      if (refuse) {
        co_await send_reply(error_reply(refuse, std::string(http1::reason_phrase(refuse))), true, head.minor);
        res.kind = Result::client_gone;
        res.status = refuse;
        co_return res;
      }
    }
    // A body held entirely in `in` stays there until the answer came, so a
    // request on a pooled connection the server had closed can be resent.
    const bool whole_body_in_buffer = body_done;

    std::optional<tcp::socket> up;
    bool reused = false;
    if (auto pooled = w.pool.take(server, opt.upstream_idle)) {
      up = std::move(pooled);
      reused = true;
    }
    bool continue_sent = false;
    for (int round = 0; round < 2; ++round) {
      if (!up) {
        bool timed_out = false;
        up = co_await connect(server, timed_out);
        if (closed) {
          res.kind = Result::client_gone;
          co_return res;
        }
        if (!up) {
          res.kind = timed_out ? Result::timeout : Result::connect_failed;
          res.request_body_unsent = !body_done || first_body > 0;
          co_return res;
        }
        reused = false;
      }
      if (head.expect_continue && !body_done && !continue_sent) {
        static const char cont[] = "HTTP/1.1 100 Continue\r\n\r\n";
        continue_sent = true;
        nodelay();
        if (!co_await write_client(asio::buffer(cont, sizeof cont - 1))) {
          res.kind = Result::client_gone;
          co_return res;
        }
      }
      // Head and the first body bytes in one write.
      arm(Phase::upstream, opt.write);
      upstream = &*up;
      upstream_timed_out = false;
      // Small bodies are copied behind the head: one contiguous send.
      std::size_t small = first_body <= kCoalesce ? first_body : 0;
      std::string_view rest(in.data.get() + in.start + small, first_body - small);
      if (small) out.append(in.data.get() + in.start, small);
      // Directly when the socket takes it all (the usual case), else the rest asynchronously.
      const std::size_t direct = send_now(up->native_handle(), out, rest);
      asio::error_code wec;
      if (direct < out.size() + rest.size()) {
        auto [ec, wn] = co_await asio::async_write(*up, rest_of(out, rest, direct), use_tuple);
        wec = ec;
      }
      if (small) out.resize(out.size() - small);
      upstream = nullptr;
      if (closed) {
        res.kind = Result::client_gone;
        co_return res;
      }
      const bool can_resend = reused && round == 0 && whole_body_in_buffer && idempotent(ex.method);
      if (wec) {
        if (can_resend) {
          up.reset();
          continue;
        }
        res.kind = upstream_timed_out ? Result::timeout : Result::upstream_failed;
        res.request_body_unsent = !body_done || first_body > 0;  // body bytes left in `in`: never parse them as a request
        co_return res;
      }
      if (!whole_body_in_buffer) in.consume(first_body);

      // The rest of the request body (in its own coroutine: rare, and its
      // state would make this frame too large for asio's frame cache).
      if (!body_done) {
        Result b = co_await send_request_body(*up, chunked, body_left, max_body, response_started, sent_bytes);
        if (b.kind != Result::ok || b.status != 0) co_return b;
      }

      // The response.
      auto rbuf = w.buffer();
      Result r = co_await relay_response(*up, *rbuf, response_started, sent_bytes);
      // A pooled connection the server had closed (nothing came back), or one
      // that held bytes nobody asked for (no valid head came back): once more
      // on a new connection.
      const bool stale = r.status == -1 || (r.kind == Result::upstream_failed && r.status == 502);
      if (stale && can_resend && !response_started) {
        w.give_back(std::move(rbuf));
        up.reset();
        continue;
      }
      if (whole_body_in_buffer) in.consume(first_body);
      if (r.status == -1) r.status = 0;
      if (r.kind == Result::ok && r.status == 101) {
        counted.release();
        co_await tunnel(*up, *rbuf);
        r.keep = false;
      } else if (r.kind == Result::ok && r.reusable) {
        w.pool.put(server, std::move(*up), opt.max_idle_per_server);
      }
      w.give_back(std::move(rbuf));
      co_return r;
    }
    res.kind = Result::upstream_failed;
    co_return res;
  }

  // Streams the request body after its first bytes (sent with the head) to
  // the server. Result ok with status 0: all sent; anything else is the
  // result of the exchange (an early answer from the server included).
  awaitable<Result> send_request_body(tcp::socket& up, bool chunked, std::uint64_t body_left, std::uint64_t max_body,
                                      bool& response_started, std::uint64_t& sent_bytes) {
    Result res;
    http1::ChunkedDecoder& dec = request_dec_;
    bool body_done = false;
    while (!body_done) {
      arm(Phase::reading, opt.client_read);
      if (in.size() == 0) {
        in.clear();
        if (in.cap < kBodyBuffer) in.reserve(kBodyBuffer);
        asio::error_code ec;
        std::size_t n = co_await read_client(in.space(), in.room(), ec);
        if (ec || n == 0 || closed) {
          res.kind = Result::client_gone;
          co_return res;
        }
        in.end += n;
      }
      std::size_t take = 0;
      if (chunked) {
        auto r = dec.feed(in.view(), take, nullptr);
        body_done = r == http1::ChunkedDecoder::Result::done;
        int refuse = r == http1::ChunkedDecoder::Result::error ? 400 : (max_body && dec.body_bytes() > max_body) ? 413 : 0;
        if (refuse) {
          res.kind = Result::client_gone;
          res.status = refuse;
          co_await send_reply(error_reply(refuse, std::string(http1::reason_phrase(refuse))), true, head.minor);
          co_return res;
        }
      } else {
        take = static_cast<std::size_t>(std::min<std::uint64_t>(body_left, in.size()));
        body_left -= take;
        body_done = body_left == 0;
      }
      arm(Phase::upstream, opt.write);
      upstream = &up;
      auto [ec, n] = co_await asio::async_write(up, asio::buffer(in.data.get() + in.start, take), use_tuple);
      upstream = nullptr;
      if (ec || closed) {
        res.kind = closed ? Result::client_gone : upstream_timed_out ? Result::timeout : Result::upstream_failed;
        // The rest of the body is unread: the client connection must close, or
        // its bytes would be parsed as the next request (smuggling).
        res.request_body_unsent = true;
        if (res.kind == Result::upstream_failed) {
          // The server may have answered early (413, 401) and closed: relay that answer.
          auto rbuf = w.buffer();
          Result early = co_await relay_response(up, *rbuf, response_started, sent_bytes);
          w.give_back(std::move(rbuf));
          early.keep = false;
          early.request_body_unsent = true;
          if (early.kind == Result::ok || response_started) co_return early;
        }
        co_return res;
      }
      in.consume(take);
    }
    co_return res;
  }

  // The client's head of the response in rhead (at the start of rb), into
  // `out`; may decide to close the client connection (a 1.0 client and a
  // body of unknown length). Apart from relay_response: its locals would
  // make that coroutine's frame larger than malloc's per-thread cache serves.
  void build_response_head(const Buffer& rb, bool& client_close) {
    const std::unique_ptr<Encoder>& enc = encoder_;
    const std::string& enc_name = encoding_;
    out.clear();
    // The head, and a small body that goes right behind it.
    out.reserve(256 + rhead.head_size + std::min(rb.size() - rhead.head_size, kCoalesce));
    const char* const rb_head = rb.data.get() + rb.start;
    if (!status_override_ && head.minor == 1 && rhead.minor == 1 && !rhead.reason.empty()) {
      // "HTTP/1.1 <status> <reason>" as the server sent it (the reason ends at the line's CR).
      out.append(rb_head, static_cast<std::size_t>(rhead.reason.data() + rhead.reason.size() + 2 - rb_head));
    } else {
      if (head.minor == 0) put(out, "HTTP/1.0 ");
      else put(out, "HTTP/1.1 ");
      if (status_override_) {
        append_number(out, static_cast<std::uint64_t>(status_override_));
        out += ' ';
        out += http1::reason_phrase(status_override_);
      } else {
        append_number(out, static_cast<std::uint64_t>(rhead.status));
        out += ' ';
        out += rhead.reason.empty() ? http1::reason_phrase(rhead.status) : rhead.reason;
      }
      put(out, "\r\n");
    }
    const bool check_tokens = rhead.connection_lists_fields;
    const std::string_view conn_tokens = check_tokens ? http1::find_header(rhead.headers, "connection") : "";
    // The fields that pass go as the server sent their lines: a field's
    // line runs from its name to the next field's name (the last one's, to
    // the empty line), and adjacent lines are copied together.
    const char* const fields_end = rb_head + rhead.head_size - 2;
    const char* run = nullptr;
    const char* run_end = nullptr;
    const std::size_t nfields = rhead.headers.size();
    for (std::size_t i = 0; i < nfields; ++i) {
      const auto& h = rhead.headers[i];
      const Field f = http1::field_of(h);
      bool pass = !is_hop_by_hop(f) && !(check_tokens && http1::has_token(conn_tokens, h.name)) &&
                  !(enc && f == Field::content_length);
      if (pass && !ex.response_set.empty()) {
        for (const auto& [k, v] : ex.response_set)
          if (http1::iequals(k, h.name)) pass = false;
      }
      if (!pass) continue;
      const char* line = h.name.data();
      const char* line_end = i + 1 < nfields ? rhead.headers[i + 1].name.data() : fields_end;
      if (run && run_end == line) {
        run_end = line_end;
        continue;
      }
      if (run) out.append(run, static_cast<std::size_t>(run_end - run));
      run = line;
      run_end = line_end;
    }
    if (run) out.append(run, static_cast<std::size_t>(run_end - run));
    for (const auto& [k, v] : ex.response_set)
      if (!v.empty()) put_field(out, k, v);
    for (const auto& [k, v] : ex.response_add) put_field(out, k, v);
    if (!ex.set_cookie.empty()) {
      std::string_view sc = ex.set_cookie;
      while (!sc.empty()) {
        auto nl = sc.find('\n');
        put_field(out, "Set-Cookie", sc.substr(0, nl));
        if (nl == std::string_view::npos) break;
        sc.remove_prefix(nl + 1);
      }
    }
    if (opt.via) {
      if (rhead.minor == 0) put(out, "Via: 1.0 certroute\r\n");
      else put(out, "Via: 1.1 certroute\r\n");
    }
    if (enc) {
      put_field(out, "Content-Encoding", enc_name);
      put(out, "Vary: Accept-Encoding\r\n");
    }
    const bool chunked = rhead.body == http1::BodyKind::chunked;
    if (rhead.status == 101) {
      out += "Connection: Upgrade\r\nUpgrade: ";
      out += http1::find_header(rhead.headers, "upgrade");
      out += "\r\n";
    } else {
      if (chunked || enc) {
        if (head.minor == 0) client_close = true;  // a 1.0 client cannot read chunked: stream raw and close
        else out += "Transfer-Encoding: chunked\r\n";
      }
      if (client_close) out += "Connection: close\r\n";
      else if (head.minor == 0) out += "Connection: keep-alive\r\n";
    }
    out += "\r\n";
  }

  // Reads the response head (skipping 1xx, relaying them), writes the head to
  // the client and streams the body. status -1: nothing at all was received.
  awaitable<Result> relay_response(tcp::socket& up, Buffer& rb, bool& response_started, std::uint64_t& sent_bytes) {
    Result res;
    http1::Error perr;
    bool got_any = false;
    for (;;) {
      http1::Status st = http1::Status::incomplete;
      arm(Phase::upstream, opt.upstream_response);
      upstream = &up;
      while (true) {
        if (rb.size()) st = http1::parse_response(rb.view(), opt.limits, ex.method, rhead, perr);
        if (st != http1::Status::incomplete) break;
        if (rb.room() < 1024) {
          rb.compact();
          if (rb.room() < 1024) rb.reserve(std::min(rb.cap * 2, opt.limits.max_head + 8192));
          if (rb.room() == 0) {
            st = http1::Status::error;
            break;
          }
        }
        asio::error_code ec;
        std::size_t n = co_await readiness::read_plain(up, rb.space(), rb.room(), ec);
        if (ec || n == 0) {
          upstream = nullptr;
          res.kind = upstream_timed_out ? Result::timeout : closed ? Result::client_gone : Result::upstream_failed;
          res.status = got_any ? 502 : -1;
          if (upstream_timed_out) res.status = 504;
          co_return res;
        }
        got_any = true;
        rb.end += n;
      }
      upstream = nullptr;
      if (st == http1::Status::error) {
        res.kind = Result::upstream_failed;
        res.status = 502;
        co_return res;
      }
      if (rhead.status >= 100 && rhead.status < 200 && rhead.status != 101) {
        // Interim responses go to 1.1 clients as they are; 100 Continue was sent already.
        if (rhead.status != 100 && head.minor == 1) {
          nodelay();
          if (!co_await write_client(asio::buffer(rb.data.get() + rb.start, rhead.head_size))) {
            res.kind = Result::client_gone;
            co_return res;
          }
        }
        rb.consume(rhead.head_size);
        continue;
      }
      break;
    }
    if (error_page_ == nullptr && !ex.errors.empty() && rhead.status >= 200) {
      for (const ErrorPages* e : ex.errors)
        if (e->matches(rhead.status)) {
          error_page_ = e;
          res.kind = Result::intercepted;
          res.status = rhead.status;
          co_return res;  // the answer is dropped, its connection too
        }
    }
    if (rhead.status == 101 && !head.upgrade) {
      res.kind = Result::upstream_failed;
      res.status = 502;
      co_return res;
    }
    // Compression (the compress middleware): only what the client accepts,
    // for responses with a body the server did not encode itself.
    std::unique_ptr<Encoder>& enc = encoder_;
    std::string& enc_name = encoding_;
    enc.reset();
    enc_name.clear();
    if (ex.compress && rhead.status >= 200 && rhead.status != 204 && rhead.status != 206 && rhead.status != 304 &&
        rhead.body != http1::BodyKind::none && ex.method != "HEAD" &&
        http1::find_header(rhead.headers, "content-encoding").empty()) {
      enc_name = negotiate_encoding(accept_encoding_, ex.compress->encodings, ex.compress->default_encoding);
      if (!enc_name.empty() && ex.compress->wants(http1::find_header(rhead.headers, "content-type"),
                                                  rhead.body == http1::BodyKind::length, rhead.content_length))
        enc = make_encoder(enc_name);
    }
    // The client's head.
    const bool until_close = rhead.body == http1::BodyKind::until_close;
    bool client_close = !head.keep_alive || until_close || w.proxy->draining.load(std::memory_order_relaxed) ||
                        (head.body != http1::BodyKind::none && false);
    build_response_head(rb, client_close);
    const bool chunked = rhead.body == http1::BodyKind::chunked;
    rb.consume(rhead.head_size);

    // The first body bytes go with the head.
    std::uint64_t left = rhead.body == http1::BodyKind::length ? rhead.content_length : 0;
    http1::ChunkedDecoder& dec = response_dec_;
    dec = http1::ChunkedDecoder(opt.limits);
    bool done = rhead.body == http1::BodyKind::none || rhead.status == 101;
    std::size_t take = 0;
    std::string& decoded = decoded_;  // chunked to a 1.0 client, or to compress: the decoded bytes
    decoded.clear();
    const bool dechunk = chunked && (head.minor == 0 || enc);
    std::string& packed = packed_;  // compressed output, framed as a chunk for 1.1 clients
    auto compress = [&](std::string_view data, bool last) -> std::string_view {
      std::string z;
      enc->write(data, z);
      if (last) enc->finish(z);
      packed.clear();
      if (head.minor == 0) {
        packed = std::move(z);
        return packed;
      }
      if (!z.empty()) {
        char hex[20];
        auto [p, ec] = std::to_chars(hex, hex + sizeof hex, z.size(), 16);
        packed.append(hex, p);
        packed += "\r\n";
        packed += z;
        packed += "\r\n";
      }
      if (last) packed += "0\r\n\r\n";
      return packed;
    };
    auto account = [&](std::string_view avail) -> bool {
      // Sets take/done for the bytes available; false on a framing error.
      if (done) {
        take = 0;
        return true;
      }
      if (rhead.body == http1::BodyKind::length) {
        take = static_cast<std::size_t>(std::min<std::uint64_t>(left, avail.size()));
        left -= take;
        done = left == 0;
      } else if (chunked) {
        decoded.clear();
        auto r = dec.feed(avail, take, dechunk ? &decoded : nullptr);
        if (r == http1::ChunkedDecoder::Result::error) return false;
        done = r == http1::ChunkedDecoder::Result::done;
      } else {
        take = avail.size();
      }
      return true;
    };
    if (!account(rb.view())) {
      res.kind = Result::upstream_failed;
      res.status = 502;
      co_return res;
    }
    response_started = true;
    {
      std::string_view body = dechunk ? std::string_view(decoded) : rb.view().substr(0, take);
      if (enc) body = compress(body, done);
      if (done) ex.finish();  // the last write: release inFlightReq slots before the client can send again
      sent_bytes += body.size();
      std::string_view after_head = body;
      if (body.size() <= kCoalesce) {
        out.append(body);
        after_head = {};
      }
      bool sent = true;
      const std::size_t n = client_now(out, after_head);
      if (n < out.size() + after_head.size() || client_unflushed())
        sent = co_await write_client(rest_of(out, after_head, n));
      if (!sent) {
        res.kind = Result::client_gone;
        res.status = rhead.status;
        co_return res;
      }
      rb.consume(take);
    }
    if (!done) nodelay();  // the body follows in more writes
    // A large body to a plain client, with nothing to transform: splice(2)
    // moves it server socket -> pipe -> client socket inside the kernel,
    // without copying it through user space twice.
    if (!done && !ssl && !enc && rhead.body == http1::BodyKind::length && rb.size() == 0 && left >= kSpliceMin &&
        ensure_pipe()) {
      Result sr = co_await splice_body(up, left, sent_bytes);
      if (sr.kind != Result::ok) {
        sr.status = rhead.status;
        co_return sr;
      }
      // The server sent the body's length, which is all it sends: taken as
      // drained, as a short read would have shown, so the connection's next
      // use from the pool needs no peek (an edge still marks a close or
      // stray bytes that come later).
      readiness::drained(up, 0, 1);
      done = true;
      ex.finish();
    }
    // A large body streams through a larger buffer: fewer, bigger reads and writes.
    if (!done && (rhead.body != http1::BodyKind::length || left > rb.cap)) rb.reserve(kBodyBuffer);
    while (!done) {
      rb.clear();
      arm(Phase::upstream, opt.upstream_response);
      upstream = &up;
      asio::error_code ec;
      // A body that ends when the server closes: its last bytes and the
      // close may come with one readiness edge, so a short read is not taken
      // to mean the socket is drained (readiness.hpp).
      std::size_t n = until_close ? co_await readiness::read_until_eof(up, rb.space(), rb.room(), ec)
                                  : co_await readiness::read_plain(up, rb.space(), rb.room(), ec);
      upstream = nullptr;
      if (closed) {
        res.kind = Result::client_gone;
        co_return res;
      }
      if (ec || n == 0) {
        if (until_close && !upstream_timed_out) {  // the end of the body
          if (enc) {
            std::string_view tail = compress({}, true);
            sent_bytes += tail.size();
            co_await write_client(asio::buffer(tail.data(), tail.size()));
          }
          break;
        }
        res.kind = upstream_timed_out ? Result::timeout : Result::upstream_failed;
        res.status = rhead.status;
        co_return res;
      }
      rb.end += n;
      if (!account(rb.view())) {
        res.kind = Result::upstream_failed;
        res.status = rhead.status;
        co_return res;
      }
      std::string_view body = dechunk ? std::string_view(decoded) : rb.view().substr(0, take);
      if (enc) body = compress(body, done);
      if (done) ex.finish();  // the last write: release inFlightReq slots before the client can send again
      sent_bytes += body.size();
      const std::size_t direct = client_now(body);
      if ((direct < body.size() || client_unflushed()) &&
          !co_await write_client(asio::buffer(body.data() + direct, body.size() - direct))) {
        res.kind = Result::client_gone;
        res.status = rhead.status;
        co_return res;
      }
      rb.consume(take);
    }
    res.kind = Result::ok;
    res.status = rhead.status;
    res.keep = !client_close && rhead.status != 101;
    res.reusable = rhead.keep_alive && rb.size() == 0 && rhead.status != 101 && !until_close;
    co_return res;
  }

  // The pipe of splice_body, made on first use and kept for the connection.
  int pipe_[2] = {-1, -1};
  bool ensure_pipe() { return pipe_[0] >= 0 || ::pipe2(pipe_, O_NONBLOCK | O_CLOEXEC) == 0; }
  ~Session() {
    if (pipe_[0] >= 0) {
      ::close(pipe_[0]);
      ::close(pipe_[1]);
    }
  }

  // Moves `left` body bytes from the server to the client with splice(2).
  // Both sockets are non-blocking (the client's since accept, the server's
  // since async_connect); a side is waited for only after it said EAGAIN,
  // so no readiness edge is missed.
  awaitable<Result> splice_body(tcp::socket& up, std::uint64_t& left, std::uint64_t& sent_bytes) {
    Result res;
    std::size_t in_pipe = 0;
    while (left > 0 || in_pipe > 0) {
      bool up_blocked = false;
      if (left > 0 && in_pipe < kSpliceChunk) {
        ssize_t n = ::splice(up.native_handle(), nullptr, pipe_[1], nullptr,
                             static_cast<std::size_t>(std::min<std::uint64_t>(left, kSpliceChunk - in_pipe)),
                             SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
        if (n > 0) {
          left -= static_cast<std::uint64_t>(n);
          in_pipe += static_cast<std::size_t>(n);
        } else if (n == 0) {
          res.kind = Result::upstream_failed;  // the server closed inside the body
          co_return res;
        } else if (errno == EAGAIN || errno == EWOULDBLOCK) {
          up_blocked = true;
        } else if (errno != EINTR) {
          res.kind = Result::upstream_failed;
          co_return res;
        }
      }
      if (in_pipe > 0) {
        ssize_t m = ::splice(pipe_[0], nullptr, socket.native_handle(), nullptr, in_pipe,
                             SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
        if (m > 0) {
          in_pipe -= static_cast<std::size_t>(m);
          sent_bytes += static_cast<std::uint64_t>(m);
          continue;
        }
        if (m < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
          arm(Phase::writing, opt.write);
          auto [ec] = co_await socket.async_wait(tcp::socket::wait_write, use_tuple);
          if (ec || closed) {
            res.kind = Result::client_gone;
            co_return res;
          }
          continue;
        }
        if (m < 0 && errno == EINTR) continue;
        res.kind = Result::client_gone;
        co_return res;
      }
      if (up_blocked) {
        arm(Phase::upstream, opt.upstream_response);
        upstream = &up;
        auto [ec] = co_await up.async_wait(tcp::socket::wait_read, use_tuple);
        upstream = nullptr;
        if (closed) {
          res.kind = Result::client_gone;
          co_return res;
        }
        if (ec || upstream_timed_out) {
          res.kind = upstream_timed_out ? Result::timeout : Result::upstream_failed;
          co_return res;
        }
      }
    }
    res.kind = Result::ok;
    co_return res;
  }

  // After 101 Switching Protocols: bytes both ways until either side closes.
  awaitable<void> tunnel(tcp::socket& up, Buffer& rb) {
    nodelay();
    arm(Phase::tunnel, opt.client_idle);  // (wakes the watchdog when earlier)
    // Bytes already buffered on either side go first.
    if (rb.size()) {
      if (!co_await write_client(asio::buffer(rb.data.get() + rb.start, rb.size()))) co_return;
      rb.clear();
    }
    if (in.size()) {
      auto [ec, n] = co_await asio::async_write(up, asio::buffer(in.data.get() + in.start, in.size()), use_tuple);
      if (ec) co_return;
      in.clear();
    }
    auto self = shared_from_this();
    auto up_sock = std::make_shared<tcp::socket>(std::move(up));
    // upstream -> client, in its own coroutine
    asio::co_spawn(
        w.ctx,
        [self, up_sock]() -> awaitable<void> {
          auto buf = std::make_unique<char[]>(16384);
          for (;;) {
            auto [ec, n] = co_await up_sock->async_read_some(asio::buffer(buf.get(), 16384), use_tuple);
            if (ec || n == 0 || self->closed) break;
            self->deadline = coarse_ms() + self->opt.client_idle.count();
            asio::error_code wec;
            if (self->ssl) {
              const asio::const_buffer b(buf.get(), n);
              wec = co_await self->ssl->write(&b, 1);
            } else {
              auto [e2, m] = co_await asio::async_write(self->socket, asio::buffer(buf.get(), n), use_tuple);
              wec = e2;
            }
            if (wec) break;
          }
          self->close();
        },
        asio::detached);
    // client -> upstream
    for (;;) {
      in.clear();
      asio::error_code ec;
      // (a write to the client may be pending meanwhile: the read must not
      // touch the readiness flag, see readiness.hpp)
      std::size_t n = co_await read_client(in.space(), in.room(), ec, false);
      if (ec || n == 0 || closed) break;
      deadline = coarse_ms() + opt.client_idle.count();
      auto [wec, m] = co_await asio::async_write(*up_sock, asio::buffer(in.data.get(), n), use_tuple);
      if (wec) break;
    }
    asio::error_code ignored;
    up_sock->close(ignored);
    in.clear();
  }
};

// ---- workers, listeners, control -----------------------------------------------------

void Worker::sweep() {
  sweeping = sessions != nullptr;
  if (!sweeping) return;  // started again by the next connection
  const std::int64_t now = coarse_ms();
  std::vector<Session*> due;
  for (Session* s = sessions; s; s = s->next_) {
    if (s->deadline <= now) {
      due.push_back(s);
    } else if (s->phase == Phase::idle && !s->probed && now - s->idle_since >= kProbeIdle && !s->closed) {
      if (s->peer_gone()) due.push_back(s);
    }
  }
  for (Session* s : due) s->expire();
  sweep_timer.expires_after(kSweep);
  sweep_timer.async_wait([this](asio::error_code ec) {
    if (ec) {
      sweeping = false;
      return;
    }
    sweep();
  });
}

namespace {

// A new connection on a listener of `w` (readiness::accept_loop).
void on_accepted(Worker& w, const std::string& entry_point, std::uint16_t local_port, int fd,
                 const sockaddr_storage& ss, socklen_t ss_len) {
  tcp::endpoint remote;
  const std::size_t addr_len = std::min<std::size_t>(ss_len, remote.capacity());
  std::memcpy(remote.data(), &ss, addr_len);
  remote.resize(addr_len);
  tcp::socket sock(w.ctx);
  asio::error_code aec;
  sock.assign(ss.ss_family == AF_INET6 ? tcp::v6() : tcp::v4(), fd, aec);
  if (aec) {
    ::close(fd);
    return;
  }
  readiness::adopt_accepted(sock);
  // Bytes that came before the epoll registration still bring an edge
  // (EPOLL_CTL_ADD reports a ready socket): the first read waits for it
  // instead of trying recv(2) on a connection that may have sent nothing.
  readiness::drained(sock, 0, 1);
  auto& opt = w.proxy->options;
  if (w.proxy->connections.fetch_add(1, std::memory_order_relaxed) >= opt.max_connections) {
    w.proxy->connections.fetch_sub(1, std::memory_order_relaxed);
    asio::error_code ignored;
    sock.close(ignored);
    return;
  }
  auto s = std::allocate_shared<Session>(CachedAllocator<Session>(&w.session_blocks), w, std::move(sock), entry_point);
  if (ss.ss_family == AF_INET) {
    s->client_ip = ipv4_text(reinterpret_cast<const sockaddr_in&>(ss).sin_addr.s_addr);
  } else {
    auto addr = remote.address();
    if (addr.is_v6() && addr.to_v6().is_v4_mapped()) addr = asio::ip::make_address_v4(asio::ip::v4_mapped, addr.to_v6());
    s->client_ip = addr.to_string();
  }
  s->client_port = remote.port();
  s->local_port = local_port;
  if (opt.forwarded_insecure) {
    s->trusted = true;
  } else if (!opt.trusted_ips.empty()) {
    auto ip = routes::parse_ip(s->client_ip);
    s->trusted = ip && std::any_of(opt.trusted_ips.begin(), opt.trusted_ips.end(),
                                   [&](const routes::IpNetwork& n) { return n.contains(*ip); });
  }
  asio::co_spawn(w.ctx, s->run(), asio::detached);
}

}  // namespace

Proxy::Proxy(ServerOptions options, std::shared_ptr<Snapshot> initial, std::shared_ptr<TlsStore> tls)
    : impl_(std::make_unique<Impl>()) {
  impl_->options = std::move(options);
  if (impl_->options.workers < 1) impl_->options.workers = 1;
  impl_->set(std::move(initial), std::move(tls));
}

Proxy::~Proxy() = default;

void Proxy::swap(std::shared_ptr<Snapshot> snapshot, std::shared_ptr<TlsStore> tls) {
  impl_->set(std::move(snapshot), std::move(tls));
}

util::Result<std::vector<std::string>> Proxy::listen() {
  auto& o = impl_->options;
  for (int i = 0; i < o.workers; ++i) {
    auto w = std::make_unique<Worker>();
    w->index = i;
    w->proxy = impl_.get();
    impl_->workers.push_back(std::move(w));
  }
  std::vector<std::string> lines;
  for (const auto& ep : o.entry_points) {
    tcp::endpoint bound = ep.address;
    for (auto& w : impl_->workers) {
      auto acc = std::make_unique<tcp::acceptor>(w->ctx);
      asio::error_code ec;
      acc->open(bound.protocol(), ec);
      if (!ec) acc->set_option(tcp::acceptor::reuse_address(true), ec);
      if (!ec) {
        int one = 1;
        if (::setsockopt(acc->native_handle(), SOL_SOCKET, SO_REUSEPORT, &one, sizeof one) != 0)
          ec = asio::error_code(errno, asio::system_category());
      }
      if (!ec && bound.address().is_v6()) acc->set_option(asio::ip::v6_only(false), ec);
      if (!ec) acc->bind(bound, ec);
      if (!ec) acc->listen(asio::socket_base::max_listen_connections, ec);
      if (ec)
        return util::fail(util::ErrorKind::problem,
                          "entry point " + ep.name + ": listening on " + format_endpoint(ep.address) + ": " + ec.message());
      // Port 0: the first worker's port is the one every other worker binds.
      bound = acc->local_endpoint();
      w->listeners.push_back({ep.name, std::move(acc)});
    }
    bool has_tls = false, has_plain = false;
    {
      auto it = impl_->current->entry_points.find(ep.name);
      if (it != impl_->current->entry_points.end()) {
        has_tls = !it->second.secure.empty();
        has_plain = !it->second.plain.empty();
      }
    }
    std::string kind = has_tls && has_plain ? "http+https" : has_tls ? "https" : "http";
    lines.push_back(ep.name + ": listening on " + format_endpoint(bound) + " (" + kind + ")");
  }
  return lines;
}

namespace {

// The active health checker of one server, on the control thread.
awaitable<void> health_loop(asio::io_context& ctx, std::weak_ptr<Snapshot> weak, LoadBalancer* lb, Server* server,
                            std::function<void(const std::string&)> log) {
  const HealthCheck hc = *lb->health;
  for (;;) {
    {
      auto snap = weak.lock();
      if (!snap) co_return;
    }
    bool ok = false;
    if (!server->endpoints.empty()) {
      tcp::socket s(ctx);
      asio::steady_timer timer(ctx);
      timer.expires_after(hc.timeout);
      bool timed_out = false;
      timer.async_wait([&](asio::error_code ec) {
        if (!ec) {
          timed_out = true;
          asio::error_code ignored;
          s.close(ignored);
        }
      });
      tcp::endpoint ep = server->endpoints.front();
      if (hc.port > 0) ep.port(static_cast<unsigned short>(hc.port));
      auto [cec] = co_await s.async_connect(ep, use_tuple);
      if (!cec && !timed_out) {
        std::string host = hc.hostname.empty() ? server->authority : hc.hostname;
        std::string req = hc.method + " " + (server->path.empty() ? "" : server->path) +
                          (hc.path.empty() || hc.path.front() != '/' ? "/" : "") + hc.path +
                          " HTTP/1.1\r\nHost: " + host + "\r\nUser-Agent: certroute-healthcheck\r\n";
        for (const auto& [k, v] : hc.headers) req += k + ": " + v + "\r\n";
        req += "Connection: close\r\n\r\n";
        auto [wec, wn] = co_await asio::async_write(s, asio::buffer(req), use_tuple);
        if (!wec) {
          std::array<char, 1024> buf;
          std::size_t have = 0;
          for (;;) {
            auto [rec, n] = co_await s.async_read_some(asio::buffer(buf.data() + have, buf.size() - have), use_tuple);
            if (rec || n == 0) break;
            have += n;
            std::string_view v(buf.data(), have);
            if (v.find("\r\n") != std::string_view::npos || have == buf.size()) break;
          }
          std::string_view v(buf.data(), have);
          if (v.size() > 12 && v.starts_with("HTTP/1.")) {
            int code = 0;
            std::from_chars(v.data() + 9, v.data() + 12, code);
            ok = hc.status ? code == hc.status : (code >= 200 && code < 400);
          }
        }
      }
      timer.cancel();
      asio::error_code ignored;
      s.close(ignored);
    }
    {
      auto snap = weak.lock();
      if (!snap) co_return;
      bool was = server->healthy.exchange(ok);
      if (was != ok && log)
        log("health: " + lb->name + ": " + server->url + (ok ? " is healthy again" : " is unhealthy, out of rotation"));
    }
    asio::steady_timer t(ctx);
    t.expires_after(ok ? hc.interval : hc.unhealthy_interval);
    co_await t.async_wait(use_tuple);
  }
}

// Whether a read of inotify events touches a watched file: a watched file's
// name, any .yml/.yaml/.toml/.json or subdirectory in a watched directory
// ("" in its names), or a Kubernetes-style "..data" swap.
bool route_files_changed(const char* buf, std::size_t n,
                         const std::unordered_map<int, std::unordered_set<std::string>>& watch_names) {
  for (std::size_t off = 0; off + sizeof(inotify_event) <= n;) {
    inotify_event ev;
    std::memcpy(&ev, buf + off, sizeof ev);
    const char* np = buf + off + sizeof(inotify_event);
    std::string name(np, ev.len ? ::strnlen(np, ev.len) : 0);
    off += sizeof(inotify_event) + ev.len;
    if (ev.mask & IN_Q_OVERFLOW) return true;
    auto it = watch_names.find(ev.wd);
    if (it == watch_names.end()) continue;
    if (it->second.contains(name) || name.starts_with("..")) return true;
    if (!it->second.contains("")) continue;
    auto dot = name.rfind('.');
    std::string_view ext = dot == std::string::npos ? std::string_view() : std::string_view(name).substr(dot);
    if ((ev.mask & IN_ISDIR) || ext == ".yml" || ext == ".yaml" || ext == ".toml" || ext == ".json") return true;
  }
  return false;
}

void start_health_checks(asio::io_context& ctx, const std::shared_ptr<Snapshot>& snap,
                         const std::function<void(const std::string&)>& log) {
  for (LoadBalancer* lb : snap->health_checked())
    for (auto& s : lb->servers)
      asio::co_spawn(ctx, health_loop(ctx, snap, lb, s.get(), log), asio::detached);
}

}  // namespace

void Proxy::run(const ControlOptions& control) {
  Impl& im = *impl_;
  for (auto& w : im.workers) {
    for (auto& l : w->listeners) {
      // The local port is the listener's; the peer comes with accept: no
      // getsockname/getpeername per connection.
      auto on_accept = [wp = w.get(), ep = l.entry_point, port = l.acceptor->local_endpoint().port()](
                           int fd, const sockaddr_storage& ss, socklen_t len) { on_accepted(*wp, ep, port, fd, ss, len); };
      asio::post(w->ctx, [wp = w.get(), acc = l.acceptor.get(), on_accept] { readiness::accept_loop(wp->ctx, *acc, on_accept); });
    }
    w->thread = std::thread([wp = w.get()] {
      auto guard = asio::make_work_guard(wp->ctx);
      (void)guard;
      run_worker_loop(wp->ctx, wp->forwarding);
    });
  }

  asio::io_context control_ctx(1);
  asio::signal_set signals(control_ctx, SIGINT, SIGTERM, SIGHUP);
  signals.add(SIGUSR1);
  {
    std::lock_guard lock(im.mu);
    start_health_checks(control_ctx, im.current, control.log);
  }

  auto do_reload = [&](const char* why) {
    if (!control.reload) return;
    std::string report;
    Loaded loaded = control.reload(report);
    auto snap = loaded.snapshot;
    if (!snap) {
      if (control.log) control.log("reload (" + std::string(why) + "): configuration refused, still serving the previous one");
      if (control.log && !report.empty()) control.log(report);
      return;
    }
    im.set(snap, loaded.tls);
    start_health_checks(control_ctx, snap, control.log);
    if (control.log) control.log("reload (" + std::string(why) + "): configuration applied");
  };

  bool stopping = false;
  std::function<void()> drain_tick;
  std::unique_ptr<asio::steady_timer> drain_poll;
  std::function<void()> wait_signal = [&] {
    signals.async_wait([&](asio::error_code ec, int sig) {
      if (ec) return;
      if (sig == SIGHUP) {
        do_reload("SIGHUP");
      } else if (sig == SIGUSR1) {
        if (im.options.access_log) {
          auto r = im.options.access_log->reopen();
          if (!r && control.log) control.log(r.error().message());
        }
      } else {
        if (stopping) {
          // A second signal: stop now.
          for (auto& w : im.workers) w->ctx.stop();
          control_ctx.stop();
          return;
        }
        stopping = true;
        if (control.log) control.log("shutting down: finishing requests in flight (up to " +
                                     std::to_string(im.options.drain.count()) + " ms)");
        im.draining = true;
        for (auto& w : im.workers) {
          asio::post(w->ctx, [wp = w.get()] {
            for (auto& l : wp->listeners) {
              asio::error_code ignored;
              l.acceptor->close(ignored);
            }
            wp->pool.clear();
            // Idle keep-alive connections close now; busy ones after their request.
            std::vector<Session*> idle;
            for (Session* s = wp->sessions; s; s = s->next_)
              if (s->phase == Phase::idle) idle.push_back(s);
            for (Session* s : idle) s->close();
          });
        }
        auto deadline = std::make_shared<asio::steady_timer>(control_ctx);
        deadline->expires_after(im.options.drain);
        deadline->async_wait([&, deadline](asio::error_code e) {
          if (e) return;
          for (auto& w : im.workers) w->ctx.stop();
        });
        // Poll until every connection has finished.
        // (drain_tick lives in run()'s frame: a function holding itself
        // through a shared_ptr would never be freed.)
        drain_poll = std::make_unique<asio::steady_timer>(control_ctx);
        drain_tick = [&, deadline] {
          if (im.connections.load() == 0) {
            for (auto& w : im.workers) w->ctx.stop();
            deadline->cancel();
            control_ctx.stop();
            return;
          }
          drain_poll->expires_after(std::chrono::milliseconds(20));
          drain_poll->async_wait([&](asio::error_code e) {
            if (!e) drain_tick();
          });
        };
        drain_tick();
        // Stop the control loop too once workers are done (drain timeout).
        auto final_stop = std::make_shared<asio::steady_timer>(control_ctx);
        final_stop->expires_after(im.options.drain + std::chrono::milliseconds(100));
        final_stop->async_wait([&, final_stop](asio::error_code e) {
          if (!e) control_ctx.stop();
        });
      }
      wait_signal();
    });
  };
  wait_signal();

  // Watching the route files: inotify on each file's directory (editors
  // replace files by renaming), debounced.
  std::unique_ptr<asio::posix::stream_descriptor> inotify;
  std::unordered_set<int> watch_ids;
  // Per watch: the file names that matter ("" too: any route file, a watched directory).
  std::unordered_map<int, std::unordered_set<std::string>> watch_names;
  auto debounce = std::make_shared<asio::steady_timer>(control_ctx);
  std::array<char, 8192> ibuf{};
  std::function<void()> read_inotify;
  if (!control.watch.empty() && control.reload) {
    int fd = ::inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
    if (fd >= 0) {
      inotify = std::make_unique<asio::posix::stream_descriptor>(control_ctx, fd);
      std::unordered_map<std::string, std::unordered_set<std::string>> dirs;
      for (const auto& p : control.watch) {
        std::error_code ec;
        std::filesystem::path path(p);
        if (std::filesystem::is_directory(path, ec)) {
          for (auto it = std::filesystem::recursive_directory_iterator(path, ec);
               !ec && it != std::filesystem::recursive_directory_iterator(); it.increment(ec))
            if (it->is_directory(ec)) dirs[it->path().string()].insert("");
          dirs[path.string()].insert("");
        } else {
          auto parent = path.parent_path();
          dirs[parent.empty() ? "." : parent.string()].insert(path.filename().string());
        }
      }
      // No IN_MODIFY: a file is read once its writer closed it, not half-written.
      for (const auto& [d, names] : dirs) {
        int id = ::inotify_add_watch(fd, d.c_str(), IN_CLOSE_WRITE | IN_MOVED_TO | IN_MOVED_FROM | IN_CREATE | IN_DELETE);
        if (id >= 0) watch_ids.insert(id);
        if (id >= 0) watch_names[id].insert(names.begin(), names.end());
      }
      read_inotify = [&] {
        inotify->async_read_some(asio::buffer(ibuf), [&](asio::error_code ec, std::size_t n) {
          if (ec) return;
          // Other files in the directories (a log, editor swap files) are no reason to reload.
          if (!route_files_changed(ibuf.data(), n, watch_names)) return read_inotify();
          debounce->expires_after(std::chrono::milliseconds(150));
          debounce->async_wait([&](asio::error_code e) {
            if (!e && !stopping) do_reload("files changed");
          });
          read_inotify();
        });
      };
      read_inotify();
    }
  }

  if (control.on_ready) control.on_ready();
  control_ctx.run();
  for (auto& w : im.workers) {
    w->ctx.stop();
    if (w->thread.joinable()) w->thread.join();
  }
}

}  // namespace certroute::proxy
