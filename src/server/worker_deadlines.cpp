// The worker's deadlines: how long the loop may wait, and what has expired once it wakes.
#include <algorithm>
#include <chrono>
#include <string>

#include "doorman/base/duration.hpp"
#include "doorman/server/worker.hpp"

namespace doorman::server {

int Worker::next_timeout_ms() const noexcept {
  const auto next =
      std::min({requests_.front_deadline(), lingering_.front_deadline(), acceptor_.next_resume(),
                draining_ ? drain_deadline_ : loop::Clock::time_point::max()});
  if (next == loop::Clock::time_point::max()) return -1;
  if (next <= now_) return 0;
  // Rounded up: waking a little late is fine, waking early would spin until the deadline.
  const auto ms = std::chrono::ceil<std::chrono::milliseconds>(next - now_).count();
  return static_cast<int>(std::min<decltype(ms)>(ms, 1 << 30));
}

// Deadlines: waiting_request and sending_reply at --timeout, lingering at --linger-timeout.
void Worker::expire() {
  if (draining_ && now_ >= drain_deadline_) cut_all();
  acceptor_.resume_due(now_);
  while (!requests_.empty() && requests_.front_deadline() <= now_) {
    const int fd = requests_.front();
    const ConnectionState state = slot(fd).state;
    if (state == ConnectionState::reading_proxy_header) {
      refuse_proxy_header(fd, fmt::format("no complete header within {}",
                                          format_duration(requests_.timeout_of(fd))));
      continue;
    }
    if (state == ConnectionState::sending_reply) {
      Counters::bump(counters_.errors);
      const std::string peer = peer_name(fd);
      log_.event(LogLevel::warning, {"reply_not_taken", peer},
                 "{} did not take its reply within {}", peer,
                 format_duration(requests_.timeout_of(fd)));
    } else {
      Counters::bump(counters_.timed_out);
      // Admitted first: a flood of time outs must not cost a getpeername each.
      if (log_.admits_limited(LogKind::time_out, LogLevel::warning)) {
        const std::string peer = peer_name(fd);
        log_.event(LogLevel::warning, {"time_out", peer}, "time out: {} sent nothing within {}",
                   peer, format_duration(requests_.timeout_of(fd)));
      }
    }
    close_connection(fd);
  }
  while (!lingering_.empty() && lingering_.front_deadline() <= now_) {
    close_connection(lingering_.front());
  }
}

}  // namespace doorman::server
