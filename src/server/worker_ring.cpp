// The io_uring engine (--engine io_uring): the worker's states, deadline lists and transitions
// (worker.cpp), with each operation queued in the ring and handed to the kernel together with
// the wait for completions, in one io_uring_enter per loop turn.
//
// An open connection has exactly one operation in flight, the one its state waits on:
// waiting_request and reading_proxy_header a receive (from the provided buffers, so a waiting
// connection holds none), lingering a receive into the worker's discard area, sending_reply a
// send. A completion goes to the function the epoll engine gives its system call's result to
// (request_read, proxy_header_read, reply_progress), and keep_going then issues what the state
// it left waits on. Accepts are one multishot accept per listener.
//
// Closes, and the stop's cancels: worker_ring_close.cpp.

#include <poll.h>
#include <sys/socket.h>

#include <algorithm>
#include <atomic>
#include <bit>
#include <cerrno>
#include <cstring>

#include "doorman/proto/proxy_header.hpp"
#include "doorman/server/worker.hpp"
#include "doorman/server/worker_tag.hpp"

namespace doorman::server {
namespace {

using worker_tag::fd_of;
using worker_tag::Op;
using worker_tag::tag;

constexpr unsigned kRingEntries = 1024;
// Receive buffers per worker: one per connection the worker may hold, between these bounds (a
// power of two). Receives wait for data before they pick one (IORING_RECVSEND_POLL_FIRST), so
// only clients whose bytes arrive in the same turn compete for them; more than there are, and
// the rest complete with ENOBUFS and are issued again. The buffers are mapped, and a page costs
// memory once a receive writes to it: with requests of a page or less, at most 1024 pages
// (4 MiB) a worker, however many connections are idle. Lingering discards take none: they
// would write kDiscardSize (four pages) into each buffer in turn where a request writes one
// page, and the memory crept up for as long as floods came (12 MiB a worker in a soak).
constexpr unsigned kFewestRingBuffers = 128;
constexpr unsigned kMostRingBuffers = 1024;
// The largest first read: a PROXY header and a request one byte over the largest --read-size,
// whatever a reload sets. Only the pages a receive writes ever cost memory.
constexpr size_t kLargestReadSize = 65536;
constexpr size_t kRingBufferSize = (proto::kMaxProxyHeader + kLargestReadSize + 1 + 4095) & ~4095UL;
// A lingering connection's discarding reads, into one area of this size per worker that all
// of them share: the kernel may write into it for several at once, and nothing ever reads it.
constexpr unsigned kDiscardSize = 16 * 1024;

// A completion that did nothing and says so (EINTR, EAGAIN): the operation is issued again.
bool interrupted(int result) {
  return result == -EINTR || result == -EAGAIN;
}

unsigned ring_buffers(const Config& config) {
  const size_t per_worker = config.max_connections / std::max(config.threads, 1U);
  return std::bit_ceil(
      static_cast<unsigned>(std::clamp<size_t>(per_worker, kFewestRingBuffers, kMostRingBuffers)));
}

}  // namespace

Result<void> Worker::run_ring() {
  // Made on this thread: the ring takes submissions from the thread that set it up alone.
  auto ring = loop::Ring::create(kRingEntries, ring_buffers(config_), kRingBufferSize);
  if (!ring) return serve_with_epoll(ring.error());
  ring_.emplace(std::move(ring).value());
  ring_discard_.resize(kDiscardSize);
  arm_wake();
  Result<void> outcome;
  while (!stopping_.load(std::memory_order_relaxed)) {
    if (!draining_ && drain_asked_.load(std::memory_order_acquire)) begin_drain();
    if (draining_ && open_ == 0) break;
    arm_listeners();
    now_ = loop::Clock::now();
    auto waited = ring_->submit_and_wait(next_timeout_ms());
    if (!waited) {
      outcome = std::move(waited).error();
      break;
    }
    now_ = loop::Clock::now();
    ring_->completions([this](const io_uring_cqe& cqe) { on_completion(cqe); });
    expire();
  }
  cut_all();
  finish_ring();
  return outcome;
}

// The start-up probe passed, yet this ring cannot be had: the probe ran before --user gave up
// root (kernel.io_uring_disabled=1 lets root alone use io_uring), or with smaller sizes. The
// worker serves with epoll, as the server does when the probe fails, with the same one line.
Result<void> Worker::serve_with_epoll(const Error& error) {
  static std::atomic<bool> said{false};
  if (!said.exchange(true, std::memory_order_relaxed)) {
    log_.warning("io_uring is not available ({}): serving with epoll", error.message());
  }
  ring_listeners_.clear();
  if (auto polled = acceptor_.poll_all(); !polled) return polled;
  return run_epoll();
}

void Worker::arm_wake() {
  io_uring_sqe& sqe = ring_->next();
  io_uring_prep_poll_multishot(&sqe, loop_.wake_descriptor(), POLLIN);
  io_uring_sqe_set_data64(&sqe, tag(Op::wake, 0));
}

// A listener's multishot accept, unless it is in the kernel already, rests, or the worker
// drains.
void Worker::arm_listeners() {
  if (draining_) return;
  for (RingListener& listener : ring_listeners_) {
    if (listener.armed || acceptor_.paused(listener.fd)) continue;
    io_uring_sqe& sqe = ring_->next();
    // Non-blocking as accept_batch's: both engines' sockets alike.
    io_uring_prep_multishot_accept(&sqe, listener.fd, nullptr, nullptr,
                                   SOCK_NONBLOCK | SOCK_CLOEXEC);
    io_uring_sqe_set_data64(&sqe, tag(Op::accept, listener.fd));
    listener.armed = true;
  }
}

void Worker::on_completion(const io_uring_cqe& cqe) {
  const int fd = fd_of(cqe.user_data);
  switch (worker_tag::what_of<Op>(cqe.user_data)) {
    case Op::accept:
      return ring_accepted(fd, cqe);
    case Op::wake:
      loop_.clear_wake();
      if ((cqe.flags & IORING_CQE_F_MORE) == 0) arm_wake();
      return;
    case Op::receive:
      return ring_received(fd, cqe);
    case Op::send:
      return ring_sent(fd, cqe.res);
    case Op::close:  // only failures complete (IOSQE_CQE_SKIP_SUCCESS)
      if (log_.enabled(LogLevel::debug)) {
        log_.debug("close fd {}: {}", fd, describe_errno(-cqe.res));
      }
      return;
    case Op::cancel:  // a failure says the operation had completed: its completion tells
      return;
  }
}

void Worker::ring_accepted(int listener, const io_uring_cqe& cqe) {
  if ((cqe.flags & IORING_CQE_F_MORE) == 0) {
    for (RingListener& one : ring_listeners_) {
      if (one.fd == listener) one.armed = false;
    }
  }
  if (cqe.res >= 0) {
    pick_up_settings();
    if (acceptor_.admit(cqe.res)) ring_admitted(cqe.res);
    return;
  }
  if (cqe.res == -ECANCELED || draining_) return;
  // A failed accept ends the multishot one. The epoll engine's accepts take one batch, shedding
  // a connection when descriptors have run out or resting the listener on another error, and
  // arm_listeners arms it again unless it rests.
  pick_up_settings();
  const auto batch = acceptor_.accept_batch(listener, now_);
  for (const int fd : batch)
    ring_admitted(fd);
  // Out of descriptors, the kernel's accept fails at once whether or not a client waits: armed
  // again on the next turn, it would fail again, and the loop would spin. Unless the batch
  // freed or shed something, the listener rests until a descriptor is freed (closed()) or the
  // pause ends.
  const bool no_descriptors = cqe.res == -EMFILE || cqe.res == -ENFILE;
  if (no_descriptors && batch.empty() && !acceptor_.shed_any()) acceptor_.pause(listener, now_);
}

void Worker::ring_admitted(int fd) {
  open_slot(fd);
  keep_going(fd);
}

void Worker::ring_received(int fd, const io_uring_cqe& cqe) {
  Connection& connection = slot(fd);
  --connection.in_flight;
  if (connection.state == ConnectionState::closed || cqe.res == -ENOBUFS || interrupted(cqe.res)) {
    // Closed: cancelled, or completed before the cancel. Out of buffers: tried again once this
    // turn's completions have given theirs back. Interrupted: tried again, as the epoll engine's
    // reads are, rather than taken for the client's failure (request_read would close).
    ring_->give_back(cqe);
    if (connection.state == ConnectionState::closed) {
      if (connection.in_flight == 0) release(fd);
    } else {
      keep_going(fd);
    }
    return;
  }
  const std::string_view bytes = ring_->received(cqe);
  const ssize_t result = cqe.res < 0 ? cqe.res : static_cast<ssize_t>(bytes.size());
  switch (connection.state) {
    case ConnectionState::waiting_request:
      request_read(fd, result, bytes.data());
      break;
    case ConnectionState::reading_proxy_header: {
      const size_t pending = restore_proxy_header(fd);
      const size_t taken = std::min(bytes.size(), scratch_.size() - pending);
      // An EOF or an error brings no buffer, and memcpy must not be given its null pointer.
      if (taken > 0) std::memcpy(scratch_.data() + pending, bytes.data(), taken);
      proxy_header_read(fd, cqe.res < 0 ? result : static_cast<ssize_t>(taken));
      break;
    }
    case ConnectionState::lingering:
      if (cqe.res <= 0) close_connection(fd);  // EOF or an error: nothing left to protect
      break;
    case ConnectionState::closed:
    case ConnectionState::accepting:
    case ConnectionState::sending_reply:
      break;  // nothing receives in these states
  }
  ring_->give_back(cqe);
  keep_going(fd);
}

void Worker::ring_sent(int fd, int result) {
  Connection& connection = slot(fd);
  --connection.in_flight;
  if (connection.state == ConnectionState::closed) {
    if (connection.in_flight == 0) release(fd);
    return;
  }
  // Interrupted: the same rest sent again, as the epoll engine's send is (reply_progress would
  // take EINTR for the client's failure and close).
  if (!interrupted(result)) reply_progress(fd, result);
  keep_going(fd);
}

// Issues the operation the connection's state waits on, if none is in flight.
void Worker::keep_going(int fd) {
  Connection& connection = slot(fd);
  if (connection.in_flight != 0) return;
  // Under io_uring a connection starts waiting at once: its first receive completes in the
  // same io_uring_enter when the request has come with the handshake.
  const bool just_accepted = connection.state == ConnectionState::accepting;
  if (just_accepted) {
    enter(fd, config_.proxy_protocol ? ConnectionState::reading_proxy_header
                                     : ConnectionState::waiting_request);
  }
  unsigned length = 0;
  switch (connection.state) {
    case ConnectionState::waiting_request:
      // One byte over --read-size, as the epoll engine reads: more decides the lingering close.
      length = static_cast<unsigned>(settings_->read_size + 1);
      break;
    case ConnectionState::reading_proxy_header: {
      const size_t pending = proxied(fd).pending.size();
      length = static_cast<unsigned>(proto::kMaxProxyHeader + settings_->read_size + 1 - pending);
      break;
    }
    case ConnectionState::lingering: {
      io_uring_sqe& sqe = ring_->next();
      io_uring_prep_recv(&sqe, fd, ring_discard_.data(), kDiscardSize, 0);
      sqe.ioprio |= IORING_RECVSEND_POLL_FIRST;
      io_uring_sqe_set_data64(&sqe, tag(Op::receive, fd));
      ++connection.in_flight;
      return;
    }
    case ConnectionState::sending_reply: {
      // From reply_sent: after a short send, the rest. No test reaches that here: the reply
      // (18 bytes at most) is the first thing sent on the socket, and the kernel takes it whole
      // into even the smallest send buffer; the fault shim that cuts the epoll engine's sends
      // short (test_server_injected_faults) interposes libc, which io_uring does not call.
      const std::string_view rest =
          proto::reply_for(connection.verdict).substr(connection.reply_sent);
      io_uring_sqe& sqe = ring_->next();
      io_uring_prep_send(&sqe, fd, rest.data(), rest.size(), MSG_NOSIGNAL);
      io_uring_sqe_set_data64(&sqe, tag(Op::send, fd));
      ++connection.in_flight;
      return;
    }
    case ConnectionState::closed:
    case ConnectionState::accepting:  // left above
      return;
  }
  io_uring_sqe& sqe = ring_->next();
  io_uring_prep_recv(&sqe, fd, nullptr, length, 0);
  // Waits for data before it takes a buffer: a waiting client holds none, and cannot find the
  // buffers gone (ENOBUFS) when nothing has come for it yet. Not the first receive: its
  // request has mostly come with the handshake, and the poll would only delay it.
  if (!just_accepted) sqe.ioprio |= IORING_RECVSEND_POLL_FIRST;
  sqe.flags |= IOSQE_BUFFER_SELECT;
  sqe.buf_group = loop::Ring::kBufferGroup;
  io_uring_sqe_set_data64(&sqe, tag(Op::receive, fd));
  ++connection.in_flight;
}

}  // namespace doorman::server
