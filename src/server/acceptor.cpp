#include "doorman/server/acceptor.hpp"

#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>

namespace doorman::server {
namespace {

int open_reserve() noexcept {
  return ::open("/dev/null", O_RDONLY | O_CLOEXEC);
}

// An accept4 that finds the queue empty is dear: the kernel makes the new socket and its file
// before it looks, then throws them away (3.4 us here, against 0.19 us for a poll of the
// listener: docs/performance.md, "Cost per connection"). At low concurrency nearly every
// wake-up brings one connection, so a batch asks poll whether another is queued before each of
// its first few accepts; a longer batch goes on to EAGAIN, which it shares out.
constexpr size_t kPolledAccepts = 8;

// A poll error counts as an empty queue: the listener is level-triggered, so epoll reports a
// connection left queued on the next turn.
bool connection_queued(int listener) noexcept {
  pollfd ready{listener, POLLIN, 0};
  return ::poll(&ready, 1, 0) > 0;
}

}  // namespace

Acceptor::Acceptor(loop::EventLoop& loop, Admission& admission, Counters& counters, const Log& log)
    : loop_(loop),
      admission_(admission),
      counters_(counters),
      log_(log),
      reserve_(open_reserve()) {}

Result<void> Acceptor::watch(int listener, bool shared, uint64_t token, std::string address,
                             bool polled) {
  const uint32_t events = EPOLLIN | (shared ? EPOLLEXCLUSIVE : 0U);
  if (polled) {
    if (auto added = loop_.add(listener, events, token); !added) return added;
  }
  listeners_.push_back(Listener{listener, events, token, std::move(address), false, polled});
  return {};
}

Result<void> Acceptor::poll_all() {
  for (Listener& one : listeners_) {
    if (one.polled) continue;
    one.polled = true;
    if (one.paused) continue;  // resume_all adds it
    if (auto added = loop_.add(one.fd, one.events, one.token); !added) return added;
  }
  return {};
}

bool Acceptor::admit(int fd) {
  const size_t limit = admission_.limit.load(std::memory_order_relaxed);
  if (admission_.active.fetch_add(1, std::memory_order_relaxed) >= limit) {
    admission_.active.fetch_sub(1, std::memory_order_relaxed);
    Counters::bump(counters_.refused_over_limit);
    log_.warning_limited(LogKind::refused_over_limit, {"refused_over_limit", ""},
                         "connection refused: over --max-connections {}", limit);
    ::close(fd);
    return false;
  }
  Counters::bump(counters_.accepted);  // admitted ones only: refusals have their counters
  return true;
}

bool Acceptor::paused(int listener) const noexcept {
  for (const Listener& one : listeners_) {
    if (one.fd == listener) return one.paused;
  }
  return true;
}

std::span<const int> Acceptor::accept_batch(int listener, loop::Clock::time_point now) {
  size_t admitted = 0;
  queue_emptied_ = true;  // until the batch ends full
  shed_any_ = false;
  for (size_t attempt = 0; attempt < kBatch; ++attempt) {
    const int fd = ::accept4(listener, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) {
      switch (errno) {
        case EAGAIN:
          return {accepted_.data(), admitted};
        case EINTR:
        case ECONNABORTED:
        case EPROTO:
          continue;  // that client is gone; the next may be there
        case EMFILE:
        case ENFILE:
          // accept4 takes a descriptor before it looks at the queue: EMFILE does not say that
          // a connection is waiting. Shedding finds out.
          switch (shed_without_descriptors(listener)) {
            case Shed::closed_one:
              shed_any_ = true;
              continue;
            case Shed::queue_empty:
              return {accepted_.data(), admitted};
            case Shed::cannot:
              pause(listener, now);
              return {accepted_.data(), admitted};
          }
          continue;
        default:
          accept_failed(listener, errno, now);
          return {accepted_.data(), admitted};
      }
    }
    if (admit(fd)) accepted_[admitted++] = fd;
    if (attempt < kPolledAccepts && !connection_queued(listener)) {
      return {accepted_.data(), admitted};
    }
  }
  queue_emptied_ = false;
  return {accepted_.data(), admitted};
}

Acceptor::Shed Acceptor::shed_without_descriptors(int listener) {
  // Out of descriptors, a waiting connection stays queued and the listener stays readable: a
  // plain loop would spin at full CPU. Free the reserve, take the connection off the queue and
  // close it at once, then take the reserve back (muduo's idle descriptor).
  if (!reserve_) reserve_.reset(open_reserve());
  if (!reserve_) return Shed::cannot;
  reserve_.reset();
  const int fd = ::accept4(listener, nullptr, nullptr, SOCK_CLOEXEC);
  const int code = errno;
  if (fd >= 0) ::close(fd);
  reserve_.reset(open_reserve());
  if (fd < 0) return code == EAGAIN ? Shed::queue_empty : Shed::cannot;

  Counters::bump(counters_.refused_no_descriptors);
  log_.warning_limited(LogKind::out_of_descriptors, {"out_of_descriptors", ""},
                       "out of file descriptors: closing new connections at once ({} so far)",
                       counters_.refused_no_descriptors.load(std::memory_order_relaxed));
  return Shed::closed_one;
}

void Acceptor::accept_failed(int listener, int code, loop::Clock::time_point now) {
  // ENOBUFS, ENOMEM, EPERM (a firewall or security module)...: the listener stays readable, so
  // retrying at once would spin. Rest it, and say so (at most once a second).
  Counters::bump(counters_.errors);
  for (const Listener& one : listeners_) {
    if (one.fd == listener) {
      log_.error_limited(LogKind::accept_failed, {"accept_failed", ""}, "accept {}: {}",
                         one.address, describe_errno(code));
    }
  }
  pause(listener, now);
}

void Acceptor::pause(int listener, loop::Clock::time_point now, loop::Clock::duration rest) {
  for (Listener& one : listeners_) {
    if (one.fd != listener || one.paused) continue;
    // Removed, not modified: EPOLLEXCLUSIVE registrations cannot be modified.
    if (!one.polled || loop_.remove(listener)) one.paused = true;
  }
  next_resume_ = std::min(next_resume_, now + rest);
}

void Acceptor::resume_due(loop::Clock::time_point now) {
  if (now >= next_resume_) resume_all();
}

void Acceptor::closed() noexcept {
  admission_.active.fetch_sub(1, std::memory_order_relaxed);
  // A descriptor was just freed: a paused listener may have its turn now.
  if (next_resume_ != loop::Clock::time_point::max()) resume_all();
}

void Acceptor::stop_watching() noexcept {
  stopped_watching_ = true;
  next_resume_ = loop::Clock::time_point::max();
  for (Listener& one : listeners_) {
    if (!one.paused && one.polled) (void)loop_.remove(one.fd);
    one.paused = true;
  }
}

void Acceptor::resume_all() {
  next_resume_ = loop::Clock::time_point::max();
  if (stopped_watching_) return;
  for (Listener& one : listeners_) {
    if (!one.paused) continue;
    if (!one.polled) {
      one.paused = false;  // its engine arms it again
      continue;
    }
    if (auto added = loop_.add(one.fd, one.events, one.token); !added) {
      log_.error("{}", added.error().message());
      continue;
    }
    one.paused = false;
  }
}

}  // namespace doorman::server
