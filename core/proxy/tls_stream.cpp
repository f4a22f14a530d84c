#include "core/proxy/tls_stream.hpp"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <system_error>

#include <sys/socket.h>

#include <asio/experimental/as_tuple.hpp>
#include <openssl/bio.h>
#include <openssl/err.h>

#include "core/proxy/readiness.hpp"

namespace certroute::proxy {

namespace {

using asio::ip::tcp;
constexpr auto use_tuple = asio::experimental::as_tuple(asio::use_awaitable);

// What the BIO callbacks return when the socket has nothing to give or no
// room: OpenSSL then says SSL_ERROR_WANT_READ/WRITE.
constexpr int kWouldBlock = -2;
// The most encrypted bytes queued before writing waits for the socket (a
// client that does not read holds at most this much).
constexpr std::size_t kMaxQueued = 256 * 1024;
// Room left for record headers and tags when write_now checks that a write
// fits the queue (about 22 bytes per 16 KiB record).
constexpr std::size_t kRecordSlack = 1024;
// The receive buffer: a whole record of the largest size and its header.
constexpr std::size_t kInBuffer = 16384 + 256 + 5;
// A queue grown larger than this by a big write is given back once empty.
constexpr std::size_t kKeepQueue = 32 * 1024;

TlsStream* stream_of(BIO* b) { return static_cast<TlsStream*>(BIO_get_data(b)); }

int on_read(BIO* b, char* p, int n) {
  BIO_clear_retry_flags(b);
  int r = stream_of(b)->bio_read(p, n);
  if (r != kWouldBlock) return r;
  BIO_set_retry_read(b);
  return -1;
}

int on_write(BIO* b, const char* p, int n) {
  BIO_clear_retry_flags(b);
  int r = stream_of(b)->bio_write(p, n);
  if (r != kWouldBlock) return r;
  BIO_set_retry_write(b);
  return -1;
}

long on_ctrl(BIO* b, int cmd, long, void*) {
  switch (cmd) {
    case BIO_CTRL_FLUSH:
      // OpenSSL flushes after each handshake flight: it goes out in one send.
      BIO_clear_retry_flags(b);
      if (stream_of(b)->flush_now()) return 1;
      if (stream_of(b)->unflushed()) BIO_set_retry_write(b);
      return -1;
    case BIO_CTRL_WPENDING:
      return stream_of(b)->unflushed() ? 1 : 0;
    case BIO_CTRL_GET_CLOSE:
    case BIO_CTRL_SET_CLOSE:
      return 1;
    default:
      return 0;
  }
}

int on_create(BIO* b) {
  BIO_set_init(b, 1);
  return 1;
}

int on_destroy(BIO*) { return 1; }

BIO_METHOD* socket_method() {
  static BIO_METHOD* const m = [] {
    BIO_METHOD* method = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK, "certroute socket");
    if (!method) return method;
    BIO_meth_set_read(method, on_read);
    BIO_meth_set_write(method, on_write);
    BIO_meth_set_ctrl(method, on_ctrl);
    BIO_meth_set_create(method, on_create);
    BIO_meth_set_destroy(method, on_destroy);
    return method;
  }();
  return m;
}

}  // namespace

TlsStream::TlsStream(tcp::socket& socket, SSL_CTX* ctx) : socket_(socket), in_(new char[kInBuffer]) {
  ssl_ = SSL_new(ctx);
  BIO* bio = ssl_ && socket_method() ? BIO_new(socket_method()) : nullptr;
  if (!bio) {
    ERR_clear_error();
    broken_ = std::make_error_code(std::errc::not_enough_memory);
    return;
  }
  BIO_set_data(bio, this);
  SSL_set_bio(ssl_, bio, bio);  // one reference, for both directions
  SSL_set_accept_state(ssl_);
  // What is received goes to OpenSSL in one BIO read, not a header and then its record.
  SSL_set_read_ahead(ssl_, 1);
  SSL_set_mode(ssl_, SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
}

TlsStream::~TlsStream() {
  if (ssl_) SSL_free(ssl_);  // (and the BIO)
}

int TlsStream::bio_read(char* p, int n) {
  const std::size_t have = in_end_ - in_start_;
  if (have == 0) return eof_ ? 0 : kWouldBlock;
  const std::size_t k = std::min(have, static_cast<std::size_t>(n));
  std::memcpy(p, in_.get() + in_start_, k);
  in_start_ += k;
  if (in_start_ == in_end_) in_start_ = in_end_ = 0;
  return static_cast<int>(k);
}

asio::awaitable<asio::error_code> TlsStream::fill(bool sole_op) {
  asio::error_code ec;
  std::size_t k = 0;
  if (sole_op) {
    k = co_await readiness::read_plain(socket_, in_.get(), kInBuffer, ec);
  } else {
    auto [e, got] = co_await socket_.async_read_some(asio::buffer(in_.get(), kInBuffer), use_tuple);
    ec = e;
    k = got;
  }
  if (ec == asio::error::eof || (!ec && k == 0)) {
    eof_ = true;  // OpenSSL sees it as the end of its input
    co_return asio::error_code();
  }
  if (ec) {
    errno_ = ec.value() ? ec.value() : EIO;
    co_return ec;
  }
  in_start_ = 0;
  in_end_ = k;
  co_return asio::error_code();
}

int TlsStream::bio_write(const char* p, int n) {
  if (errno_) return -1;
  if (out_.size() - sent_ >= kMaxQueued && !flush_now()) return errno_ ? -1 : kWouldBlock;
  out_.append(p, static_cast<std::size_t>(n));
  return n;
}

bool TlsStream::flush_now() {
  while (sent_ < out_.size()) {
    if (errno_) return false;
    const std::size_t left = out_.size() - sent_;
    ssize_t k = ::send(socket_.native_handle(), out_.data() + sent_, left, MSG_DONTWAIT | MSG_NOSIGNAL);
    if (k < 0) {
      if (errno == EINTR) continue;
      if (errno != EAGAIN && errno != EWOULDBLOCK) errno_ = errno;
      return false;
    }
    sent_ += static_cast<std::size_t>(k);
    // A short send filled the socket buffer: the rest waits for writability.
    if (static_cast<std::size_t>(k) < left) return false;
  }
  if (out_.capacity() > kKeepQueue) {
    std::string().swap(out_);
  } else {
    out_.clear();
  }
  sent_ = 0;
  return true;
}

int TlsStream::failure(int ret, asio::error_code& ec) {
  const int e = SSL_get_error(ssl_, ret);
  if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) return e;
  if (e == SSL_ERROR_ZERO_RETURN || eof_) {
    ec = asio::error::eof;  // close_notify, or the client just closed
  } else if (errno_) {
    ec = asio::error_code(errno_, asio::system_category());
  } else {
    ec = std::make_error_code(std::errc::protocol_error);
  }
  ERR_clear_error();  // the queue must be empty before the next SSL call on this thread
  broken_ = ec;
  return 0;
}

bool TlsStream::encrypt(std::string_view s) {
  while (!s.empty()) {
    std::size_t w = 0;
    if (SSL_write_ex(ssl_, s.data(), s.size(), &w) != 1) {
      asio::error_code ec;
      failure(0, ec);
      if (!ec) broken_ = std::make_error_code(std::errc::protocol_error);
      return false;
    }
    s.remove_prefix(w);
  }
  return true;
}

std::size_t TlsStream::write_now(std::string_view a, std::string_view b) {
  if (broken_ || out_.size() - sent_ + a.size() + b.size() + kRecordSlack > kMaxQueued) return 0;
  // The queue has room for every record: SSL_write cannot ask to wait.
  if (encrypt(a) && encrypt(b)) flush_now();
  return a.size() + b.size();
}

asio::awaitable<asio::error_code> TlsStream::flush() {
  while (!flush_now()) {
    if (errno_) co_return asio::error_code(errno_, asio::system_category());
    auto [ec] = co_await socket_.async_wait(tcp::socket::wait_write, use_tuple);
    if (ec) co_return ec;
  }
  co_return asio::error_code();
}

asio::awaitable<asio::error_code> TlsStream::write(const asio::const_buffer* buffers, std::size_t count) {
  for (std::size_t i = 0; i < count; ++i) {
    const char* p = static_cast<const char*>(buffers[i].data());
    std::size_t left = buffers[i].size();
    while (left > 0) {
      if (broken_) co_return broken_;
      std::size_t w = 0;
      const int r = SSL_write_ex(ssl_, p, left, &w);
      if (r == 1) {
        p += w;
        left -= w;
        continue;
      }
      asio::error_code ec;
      const int want = failure(r, ec);
      if (want == SSL_ERROR_WANT_READ) {  // (renegotiation is off: never)
        broken_ = ec = std::make_error_code(std::errc::protocol_error);
        ERR_clear_error();
      }
      if (want != SSL_ERROR_WANT_WRITE) co_return ec;
      // The queue is full: the same call again once the socket took some.
      if (auto fe = co_await flush()) co_return fe;
    }
  }
  if (broken_) co_return broken_;
  co_return co_await flush();
}

asio::awaitable<std::size_t> TlsStream::read_some(char* p, std::size_t n, asio::error_code& ec, bool sole_op) {
  for (;;) {
    if (broken_) {
      ec = broken_;
      co_return 0;
    }
    std::size_t got = 0;
    const int r = SSL_read_ex(ssl_, p, n, &got);
    if (r == 1) {
      if (unflushed()) flush_now();  // what reading made OpenSSL say (a key update)
      co_return got;
    }
    const int want = failure(r, ec);
    if (want == SSL_ERROR_WANT_WRITE) {
      if ((ec = co_await flush())) co_return 0;
      continue;
    }
    if (want != SSL_ERROR_WANT_READ) co_return 0;
    if (unflushed()) flush_now();
    if ((ec = co_await fill(sole_op))) co_return 0;
  }
}

asio::awaitable<asio::error_code> TlsStream::handshake() {
  for (;;) {
    if (broken_) co_return broken_;
    const int r = SSL_do_handshake(ssl_);
    if (r == 1) co_return unflushed() ? co_await flush() : asio::error_code();
    asio::error_code ec;
    const int want = failure(r, ec);
    if (want == SSL_ERROR_WANT_WRITE) {
      if ((ec = co_await flush())) co_return ec;
      continue;
    }
    if (want != SSL_ERROR_WANT_READ) {
      flush_now();  // the alert that ends it, if the socket takes it
      co_return ec;
    }
    if (unflushed() && (ec = co_await flush())) co_return ec;
    if ((ec = co_await fill(true))) co_return ec;
  }
}

}  // namespace certroute::proxy
