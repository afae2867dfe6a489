// The io_uring engine's closes (worker_ring.cpp): a close (replied, a deadline, the stop)
// cancels the operation in flight (by its tag) and closes the descriptor with IORING_OP_CLOSE
// once the cancelled one has completed: close() would not cancel it, and the number must not be
// reused while a completion for it may still come.
#include <unistd.h>

#include "doorman/server/worker.hpp"
#include "doorman/server/worker_tag.hpp"

namespace doorman::server {

using worker_tag::Op;
using worker_tag::tag;

// The descriptor of a connection being closed: closed now if nothing is in flight, else what
// its state had in flight (a send in sending_reply, else a receive) cancelled first; its
// completion comes back here with nothing left. The slot is free afterwards but for the count
// of what is still in flight.
//
// The connection leaves the admission count (acceptor_.closed()) when its close is queued: the
// close goes to the kernel ahead of any accept armed after it, so the descriptor is free by
// then. Counted out earlier, at --max-connections near the descriptor limit, accepts met EMFILE
// and shed clients while cancelled connections still held theirs.
void Worker::release(int fd) noexcept {
  Connection& connection = slot(fd);
  const uint8_t in_flight = connection.in_flight;
  io_uring_sqe& sqe = ring_->next();
  if (in_flight == 0) {
    io_uring_prep_close(&sqe, fd);
    io_uring_sqe_set_data64(&sqe, tag(Op::close, fd));
    acceptor_.closed();
  } else {
    const bool sending = connection.state == ConnectionState::sending_reply;
    // By its tag, not by descriptor: the kernel finds a tag in a hash table, while a cancel by
    // descriptor walks every request in flight, which made 10,000 timeouts at once quadratic.
    io_uring_prep_cancel64(&sqe, tag(sending ? Op::send : Op::receive, fd), 0);
    io_uring_sqe_set_data64(&sqe, tag(Op::cancel, fd));
  }
  sqe.flags |= IOSQE_CQE_SKIP_SUCCESS;
  connection = Connection{};
  connection.in_flight = in_flight;
}

// Draining: the multishot accepts are cancelled before the listeners close (the kernel holds
// them open while an accept is in flight); what they took meanwhile still completes.
void Worker::stop_accepting_ring() {
  for (const RingListener& listener : ring_listeners_) {
    if (!listener.armed) continue;
    io_uring_sqe& sqe = ring_->next();
    io_uring_prep_cancel64(&sqe, tag(Op::accept, listener.fd), 0);
    io_uring_sqe_set_data64(&sqe, tag(Op::cancel, listener.fd));
    sqe.flags |= IOSQE_CQE_SKIP_SUCCESS;
  }
  // A failure leaves the accepts in the kernel, holding the listeners open: said, not fatal.
  if (auto submitted = ring_->submit_and_wait(0); !submitted) {
    log_.error("{}", submitted.error().message());
  }
}

// After cut_all: the closes it queued go to the kernel; a descriptor whose operation's
// cancellation has not completed is closed here, and the ring's end cancels the rest.
void Worker::finish_ring() noexcept {
  // Failed, the closes queued are lost and their descriptors stay open until the process
  // ends (the server is stopping): said, not fatal.
  if (auto submitted = ring_->submit(); !submitted) log_.error("{}", submitted.error().message());
  for (size_t fd = 0; fd < connections_.size(); ++fd) {
    Connection& connection = connections_[fd];
    if (connection.state != ConnectionState::closed || connection.in_flight == 0) continue;
    connection.in_flight = 0;
    ::close(static_cast<int>(fd));
    acceptor_.closed();
  }
  ring_.reset();
}

}  // namespace doorman::server
