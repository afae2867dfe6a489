// The worker's graceful stop (drain) and its hard one (cut_all).
#include <utility>

#include "doorman/server/worker.hpp"

namespace doorman::server {

void Worker::drain(loop::Clock::time_point deadline, std::function<void()> queues_drained) {
  drain_deadline_ = deadline;
  queues_drained_ = std::move(queues_drained);
  drain_asked_.store(true, std::memory_order_release);
  loop_.wake();
}

// Graceful stop, first half: what the kernel has queued for us is ours to serve, so it is
// taken before the listeners close (a listener closed with connections queued resets them).
void Worker::begin_drain() {
  draining_ = true;
  now_ = loop::Clock::now();
  if (datagrams_) {
    for (const int fd : listeners_)
      datagrams_->serve_until_empty(fd);
  } else {
    acceptor_.stop_watching();
    if (ring_) stop_accepting_ring();
    for (const int fd : listeners_) {
      do {
        for (const int connection : acceptor_.accept_batch(fd, now_))
          on_accepted(connection);
      } while (!acceptor_.queue_emptied());
    }
  }
  if (queues_drained_) queues_drained_();
}

void Worker::cut_all() noexcept {
  for (size_t fd = 0; fd < connections_.size(); ++fd) {
    if (connections_[fd].state == ConnectionState::closed) continue;
    ++cut_;
    close_connection(static_cast<int>(fd));
  }
}

}  // namespace doorman::server
