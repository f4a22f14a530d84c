// TLS on a client connection, with OpenSSL on the socket itself.
//
// asio::ssl::stream runs OpenSSL against a pair of memory BIOs and moves the
// records between them and the socket with its own composed operations:
// every SSL call goes through its engine (and ERR_clear_error), the records
// of a response head and body leave in separate writes, and its reads try
// recv(2) before they wait even when the socket was just drained. Here
// OpenSSL works on a small BIO of ours:
//
// - reads: the BIO hands out what the stream received into its buffer;
//   when that is empty, the stream reads the socket as plain reads are read
//   (readiness.hpp: one recv per request, the wait for the next edge without
//   a recv or epoll_ctl first).
// - writes: the BIO collects the records of one write (a response head and
//   body, a handshake flight) and sends them with one send(2) when it is
//   flushed; only what the socket does not take waits for writability.
//
// One reader and one writer may use a stream at the same time (a WebSocket
// tunnel); both run on the connection's worker thread.
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>

#include <asio.hpp>
#include <openssl/ssl.h>

namespace certroute::proxy {

class TlsStream {
 public:
  // A server-side TLS connection on `socket` (which outlives it) from `ctx`.
  TlsStream(asio::ip::tcp::socket& socket, SSL_CTX* ctx);
  ~TlsStream();
  TlsStream(const TlsStream&) = delete;
  TlsStream& operator=(const TlsStream&) = delete;

  SSL* native_handle() const { return ssl_; }

  // The server's side of the handshake; an alert that ends it is sent.
  asio::awaitable<asio::error_code> handshake();

  // Some decrypted bytes (at most n) into p; 0 with ec set at the end of the
  // stream (asio::error::eof, also when the client closed without
  // close_notify) or on an error.
  // `sole_op`: no other operation is pending on the socket (readiness.hpp).
  asio::awaitable<std::size_t> read_some(char* p, std::size_t n, asio::error_code& ec, bool sole_op = true);

  // Encrypts a then b and sends what the socket takes now, without
  // waiting: returns a.size() + b.size(), or 0 (nothing taken) when too
  // much is queued already. What the socket did not take stays queued
  // (unflushed()) for write().
  std::size_t write_now(std::string_view a, std::string_view b = {});
  // Encrypts the buffers, then sends everything queued, waiting for the
  // socket as long as it needs.
  asio::awaitable<asio::error_code> write(const asio::const_buffer* buffers, std::size_t count);
  // Records are queued that the socket has not taken yet.
  bool unflushed() const { return out_.size() > sent_; }

  // For the BIO (tls_stream.cpp).
  int bio_read(char* p, int n);
  int bio_write(const char* p, int n);
  bool flush_now();  // true when nothing is left queued

 private:
  asio::awaitable<asio::error_code> flush();
  // Receives more records into in_ (which OpenSSL has emptied).
  asio::awaitable<asio::error_code> fill(bool sole_op);
  bool encrypt(std::string_view s);
  // After a call on the SSL that failed with `ret`: what to wait for
  // (SSL_ERROR_WANT_READ/WRITE), or the error that ends the stream.
  int failure(int ret, asio::error_code& ec);

  asio::ip::tcp::socket& socket_;
  SSL* ssl_ = nullptr;
  std::unique_ptr<char[]> in_;  // records received: [in_start_, in_end_)
  std::size_t in_start_ = 0, in_end_ = 0;
  std::string out_;  // encrypted records not sent yet: [sent_, size())
  std::size_t sent_ = 0;
  bool eof_ = false;      // the client closed
  int errno_ = 0;         // recv/send failed with it
  asio::error_code broken_;  // a fatal TLS error: every later call fails with it
};

}  // namespace certroute::proxy
