// Reads that do not ask the kernel twice (read_now and read_plain), and an
// accept loop that waits without re-arming the listener (accept_loop): both
// at the end.
//
// asio's epoll reactor reads speculatively: every async_read_some first
// tries recv(2), and only when that says EAGAIN waits for the socket's next
// readiness edge. A proxy's reads mostly come right after the socket was
// drained (the next request after a response, a response right after its
// request), so that first try is an extra system call per read: two per
// proxied request. nginx avoids it by remembering that a short read drained
// the socket and waiting for the next epoll edge (its `ready` flag).
//
// The reactor keeps exactly that flag per descriptor (try_speculative_: set
// when an edge arrives, cleared by the reactor only at EOF), but privately.
// This header reaches it through the one door C++ leaves open to private
// members (names in an explicit instantiation are not access-checked) and
// clears it when a read came back short: the socket was empty then, and any
// byte arriving later brings a new edge that sets it again. The flag is only
// cleared right after the recv(2) that saw the socket empty, with no reactor
// run in between, so no edge can be lost. It is a dependency on asio 1.22's
// epoll reactor (Debian 12); on anything else the functions here do nothing
// and reads are what asio makes them (accept_loop falls back to async_wait).
#pragma once

#include <cerrno>
#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <type_traits>
#include <utility>

#include <sys/socket.h>
#include <unistd.h>

#include <asio.hpp>
#include <asio/experimental/as_tuple.hpp>

namespace certroute::proxy::readiness {

#if ASIO_VERSION >= 102200 && ASIO_VERSION < 102900 && defined(ASIO_HAS_EPOLL) && \
    !defined(ASIO_HAS_IO_URING_AS_DEFAULT) && !defined(ASIO_DISABLE_EPOLL)
#define CERTROUTE_READINESS 1

namespace detail {
using Socket = asio::basic_socket<asio::ip::tcp, asio::any_io_executor>;
using SocketImpl = asio::detail::io_object_impl<asio::detail::reactive_socket_service<asio::ip::tcp>, asio::any_io_executor>;
using Descriptor = std::remove_pointer_t<asio::detail::epoll_reactor::per_descriptor_data>;
static_assert(std::is_same_v<asio::detail::reactor, asio::detail::epoll_reactor>);

template <class Tag, typename Tag::type Member>
struct Expose {
  friend typename Tag::type member(Tag) { return Member; }
};
struct ImplTag {
  using type = SocketImpl Socket::*;
  friend type member(ImplTag);
};
struct SpeculateTag {
  using type = bool (Descriptor::*)[asio::detail::epoll_reactor::max_ops];
  friend type member(SpeculateTag);
};
template struct Expose<ImplTag, &Socket::impl_>;
template struct Expose<SpeculateTag, &Descriptor::try_speculative_>;

using Acceptor = asio::basic_socket_acceptor<asio::ip::tcp, asio::any_io_executor>;
struct AcceptorImplTag {
  using type = SocketImpl Acceptor::*;
  friend type member(AcceptorImplTag);
};
template struct Expose<AcceptorImplTag, &Acceptor::impl_>;

inline bool* read_flag(asio::ip::tcp::socket& s) {
  Socket& base = s;
  Descriptor* d = (base.*member(ImplTag{})).get_implementation().reactor_data_;
  return d ? &(d->*member(SpeculateTag{}))[asio::detail::epoll_reactor::read_op] : nullptr;
}
}  // namespace detail

// The socket may have bytes (or EOF) to read: an edge came since it was
// last seen empty, or it never was. False only after a drained().
inline bool maybe_readable(asio::ip::tcp::socket& s) {
  bool* f = detail::read_flag(s);
  return !f || *f;
}

// Call right after a read on `s` returned `got` < `asked` bytes (or
// EAGAIN: got 0), before anything else runs: the socket is empty, so the
// next async read waits for an edge instead of trying recv(2) first.
inline void drained(asio::ip::tcp::socket& s, std::size_t got, std::size_t asked) {
  if (got >= asked) return;
  if (bool* f = detail::read_flag(s)) *f = false;
}

// Undoes drained(): the next read asks the kernel first.
inline void undrain(asio::ip::tcp::socket& s) {
  if (bool* f = detail::read_flag(s)) *f = true;
}

// A socket made by accept4(SOCK_NONBLOCK) and then assign()ed: tells asio
// it is non-blocking already (asio would otherwise ioctl(FIONBIO) it at the
// first asynchronous operation) and not a dup() of another descriptor (so
// closing it needs no EPOLL_CTL_DEL: the kernel drops a closed descriptor
// from the epoll set by itself). Two system calls fewer per connection.
inline void adopt_accepted(asio::ip::tcp::socket& s) {
  detail::Socket& base = s;
  auto& impl = (base.*member(detail::ImplTag{})).get_implementation();
  impl.state_ = static_cast<asio::detail::socket_ops::state_type>(
      (impl.state_ | asio::detail::socket_ops::non_blocking) & ~asio::detail::socket_ops::possible_dup);
}

#else

inline bool maybe_readable(asio::ip::tcp::socket&) { return true; }
inline void drained(asio::ip::tcp::socket&, std::size_t, std::size_t) {}
inline void undrain(asio::ip::tcp::socket&) {}
inline void adopt_accepted(asio::ip::tcp::socket& s) {
  asio::error_code ignored;
  s.non_blocking(true, ignored);
}

#endif

// The direct part of a read on a plain socket: what recv(2) gives now while
// the socket may hold bytes, or kWait when it is known empty (then
// async_read_some waits for the next edge without trying first).
// EOF: 0 with ec set; an error: -1 with ec set.
constexpr std::ptrdiff_t kWait = -2;
inline std::ptrdiff_t read_now(asio::ip::tcp::socket& s, char* p, std::size_t n, asio::error_code& ec) {
#ifdef CERTROUTE_READINESS
  if (!maybe_readable(s)) return kWait;
  for (;;) {
    ssize_t k = ::recv(s.native_handle(), p, n, MSG_DONTWAIT);
    if (k > 0) {
      drained(s, static_cast<std::size_t>(k), n);
      return k;
    }
    if (k == 0) {
      ec = asio::error::eof;
      return 0;
    }
    if (errno == EINTR) continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK) {
      drained(s, 0, n);
      return kWait;
    }
    ec = asio::error_code(errno, asio::system_category());
    return -1;
  }
#else
  (void)s, (void)p, (void)n, (void)ec;
  return kWait;
#endif
}

// A read on a plain socket (client or server) that asks the kernel once.
// Only while no other operation is pending on the socket: the read must
// complete right after its recv.
inline asio::awaitable<std::size_t> read_plain(asio::ip::tcp::socket& s, char* p, std::size_t n, asio::error_code& ec) {
  std::ptrdiff_t now = read_now(s, p, n, ec);
  if (now != kWait) co_return now > 0 ? static_cast<std::size_t>(now) : 0;
  // Known empty: this waits for the next edge (no recv first), and
  // completes right after the recv that edge brought.
  auto [e, k] = co_await s.async_read_some(asio::buffer(p, n), asio::experimental::as_tuple(asio::use_awaitable));
  ec = e;
  if (!e) drained(s, k, n);
  co_return k;
}

// A read that must see the end of the stream: one that ends a body, for
// instance. A short read does not tell whether the peer's FIN is queued
// behind the bytes it returned, and a FIN that arrived with them brings no
// further edge; so this read asks the kernel first (even after an earlier
// read_plain called the socket drained) and never calls it drained itself.
inline asio::awaitable<std::size_t> read_until_eof(asio::ip::tcp::socket& s, char* p, std::size_t n,
                                                   asio::error_code& ec) {
  undrain(s);
  auto [e, k] = co_await s.async_read_some(asio::buffer(p, n), asio::experimental::as_tuple(asio::use_awaitable));
  ec = e;
  co_return k;
}

// ---- Accepting connections ---------------------------------------------------------
//
// accept_loop(ctx, acceptor, on_accept) calls on_accept(fd, address, length)
// for every connection on a listening socket, until the acceptor is closed.
// The descriptors come from accept4(2), non-blocking and close-on-exec.
//
// Each wakeup accepts until the listen queue is empty (at most kAcceptBatch
// connections; then the sessions just made run first). Waiting for the
// next connection costs no system call: asio's own async_wait re-arms the
// descriptor with EPOLL_CTL_MOD every time, because its waits may not be
// speculative. The accept here is a reactor operation of its own, which may
// be: it is tried at once while the listener may hold connections, and
// queued for the next edge (no epoll_ctl) once accept4 said EAGAIN.
//
// Out of descriptors (EMFILE and the like) it waits 50 ms instead of
// spinning. The connection stays queued in the kernel meanwhile.

using OnAccept = std::function<void(int fd, const sockaddr_storage& address, socklen_t length)>;
constexpr int kAcceptBatch = 64;

namespace detail {
inline bool accept_resource_error(int err) { return err == EMFILE || err == ENFILE || err == ENOBUFS || err == ENOMEM; }

// One accept4(2): the descriptor, or -1 with the error in `err` (EAGAIN:
// the queue is empty). Connections that died in the queue are skipped.
inline int accept_one(int listener, sockaddr_storage& ss, socklen_t& len, int& err) {
  for (;;) {
    len = sizeof ss;
    int fd = ::accept4(listener, reinterpret_cast<sockaddr*>(&ss), &len, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd >= 0) return fd;
    err = errno;
    if (err == EWOULDBLOCK) err = EAGAIN;
    if (err != EINTR && err != ECONNABORTED && err != EPROTO) return -1;
  }
}
}  // namespace detail

#ifdef CERTROUTE_READINESS

namespace detail {
// Lives on the heap while the loop runs; deletes itself when the acceptor
// is closed or the io_context is destroyed with the operation pending.
class AcceptOp : public asio::detail::reactor_op {
 public:
  AcceptOp(asio::io_context& ctx, Acceptor& acc, OnAccept f)
      : reactor_op(asio::error_code(), &AcceptOp::perform, &AcceptOp::complete),
        ctx_(ctx),
        acc_(acc),
        reactor_(asio::use_service<asio::detail::epoll_reactor>(ctx)),
        listener_(acc.native_handle()),
        on_accept_(std::move(f)) {}

  // Queues the operation on the listener. `speculative`: try accept4 at
  // once; otherwise the listener is known empty and the operation waits
  // for its next edge.
  void arm(bool continuation, bool speculative) {
    ec_ = asio::error_code();
    auto& impl = (acc_.*member(AcceptorImplTag{})).get_implementation();
    if (!speculative && impl.reactor_data_)
      (impl.reactor_data_->*member(SpeculateTag{}))[asio::detail::epoll_reactor::read_op] = false;
    reactor_.start_op(asio::detail::epoll_reactor::read_op, listener_, impl.reactor_data_, this, continuation, true);
  }

 private:
  static status perform(reactor_op* base) {
    auto* o = static_cast<AcceptOp*>(base);
    int err = 0;
    o->fd_ = accept_one(o->listener_, o->ss_, o->len_, err);
    if (o->fd_ >= 0) return done;
    if (err == EAGAIN) return not_done;
    o->ec_ = asio::error_code(err, asio::system_category());
    return done;
  }

  static void complete(void* owner, asio::detail::operation* base, const asio::error_code&, std::size_t) {
    auto* o = static_cast<AcceptOp*>(base);
    if (!owner) {  // the io_context is being destroyed
      if (o->fd_ >= 0) ::close(o->fd_);
      delete o;
      return;
    }
    int n = 0;
    for (;;) {
      if (!o->acc_.is_open()) {
        if (o->fd_ >= 0) ::close(o->fd_);
        delete o;
        return;
      }
      if (o->ec_) {
        if (accept_resource_error(o->ec_.value())) return o->back_off();
        delete o;  // the acceptor was closed (or failed for good)
        return;
      }
      if (o->fd_ >= 0) {
        o->on_accept_(std::exchange(o->fd_, -1), o->ss_, o->len_);
        if (++n == kAcceptBatch) return o->arm(true, true);
      }
      if (perform(o) == not_done) return o->arm(true, false);
    }
  }

  void back_off() {
    auto timer = std::make_shared<asio::steady_timer>(ctx_, std::chrono::milliseconds(50));
    timer->async_wait([timer, self = std::unique_ptr<AcceptOp>(this)](const asio::error_code&) mutable {
      self.release()->arm(false, true);
    });
  }

  asio::io_context& ctx_;
  Acceptor& acc_;
  asio::detail::epoll_reactor& reactor_;
  int listener_;
  OnAccept on_accept_;
  int fd_ = -1;
  sockaddr_storage ss_{};
  socklen_t len_ = 0;
};
}  // namespace detail

inline void accept_loop(asio::io_context& ctx, asio::ip::tcp::acceptor& acc, OnAccept on_accept) {
  asio::error_code ignored;
  acc.non_blocking(true, ignored);
  (new detail::AcceptOp(ctx, acc, std::move(on_accept)))->arm(false, true);
}

#else

inline void accept_loop(asio::io_context& ctx, asio::ip::tcp::acceptor& acc, OnAccept on_accept) {
  asio::error_code ignored;
  acc.non_blocking(true, ignored);
  int n = 0;
  for (;;) {
    sockaddr_storage ss{};
    socklen_t len = 0;
    int err = 0;
    int fd = detail::accept_one(acc.native_handle(), ss, len, err);
    if (fd >= 0) {
      on_accept(fd, ss, len);
      if (++n < kAcceptBatch) continue;
      asio::post(ctx, [&ctx, &acc, f = std::move(on_accept)]() mutable { accept_loop(ctx, acc, std::move(f)); });
      return;
    }
    if (!acc.is_open() || (err != EAGAIN && !detail::accept_resource_error(err))) return;
    if (err == EAGAIN) {
      acc.async_wait(asio::socket_base::wait_read, [&ctx, &acc, f = std::move(on_accept)](const asio::error_code& ec) mutable {
        if (!ec) accept_loop(ctx, acc, std::move(f));
      });
    } else {
      auto timer = std::make_shared<asio::steady_timer>(ctx, std::chrono::milliseconds(50));
      timer->async_wait([&ctx, &acc, timer, f = std::move(on_accept)](const asio::error_code&) mutable {
        if (acc.is_open()) accept_loop(ctx, acc, std::move(f));
      });
    }
    return;
  }
}

#endif

}  // namespace certroute::proxy::readiness
