#pragma once
// Acceptor: takes one worker's new connections off its listening sockets, a bounded batch at a
// time, and keeps the loop from spinning when descriptors run out. Worker thread only.

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "doorman/loop/deadline_list.hpp"
#include "doorman/loop/event_loop.hpp"
#include "doorman/net/fd.hpp"
#include "doorman/server/counters.hpp"
#include "doorman/server/log.hpp"

namespace doorman::server {

// Shared by all workers: how many connections are open, against --max-connections (which a
// reload may change: relaxed, since a connection admitted by the old limit is no harm).
// `active` is written twice per connection by every worker, so its cache line moves between
// their cores; `limit`, read once per connection and written only by a reload, has a line of
// its own so that reading it never waits for that move (64: the line of x86-64 and most ARM).
struct Admission {
  alignas(64) std::atomic<size_t> active{0};
  alignas(64) std::atomic<size_t> limit{0};
};

class Acceptor {
 public:
  Acceptor(loop::EventLoop& loop, Admission& admission, Counters& counters, const Log& log);

  // Registers a listening socket, or a datagram socket (only so that pause() can rest it);
  // `shared` ones (Unix, or passed by socket activation) wake one worker per event. Not `polled`:
  // another engine learns of its connections (io_uring's multishot accept), and only calls
  // accept_batch when that fails, to shed or rest as epoll's does.
  Result<void> watch(int listener, bool shared, uint64_t token, std::string address,
                     bool polled = true);

  // Hands every listener registered without polling to the event loop: the worker serves with
  // epoll after all (its io_uring could not be set up).
  Result<void> poll_all();

  // A connection taken off the queue elsewhere: admitted (counted, active until closed()) or
  // refused over --max-connections and closed.
  bool admit(int fd);
  // Whether the listener rests (no descriptors, an accept error) or the worker drains.
  bool paused(int listener) const noexcept;

  // The connections accepted and admitted in this wake-up (non-blocking, close-on-exec); each
  // counts as active until the worker closes it and calls closed().
  std::span<const int> accept_batch(int listener, loop::Clock::time_point now);
  void closed() noexcept;
  // Whether the last accept_batch closed a connection for want of a descriptor.
  bool shed_any() const noexcept { return shed_any_; }
  // How long a listener rests when no descriptor can be had even by freeing the reserve
  // (another thread took the slot), or after an accept error: the queue waits, the loop does
  // not spin. A close resumes it sooner.
  static constexpr loop::Clock::duration kPause = std::chrono::milliseconds(100);
  // Rests the listener (or a datagram socket registered with watch()) until a connection
  // closes or `rest` has passed (see next_resume()).
  void pause(int listener, loop::Clock::time_point now, loop::Clock::duration rest = kPause);

  // Draining: no more readiness for any listener; the connections already queued are still
  // taken, by accept_batch until queue_emptied().
  void stop_watching() noexcept;
  // Whether the last accept_batch ended because the queue was empty (or could not be
  // served any more: an error, no descriptors), not because the batch was full.
  bool queue_emptied() const noexcept { return queue_emptied_; }

  // Listeners paused for lack of descriptors resume at this time (max() when none is paused).
  loop::Clock::time_point next_resume() const noexcept { return next_resume_; }
  void resume_due(loop::Clock::time_point now);

 private:
  enum class Shed { closed_one, queue_empty, cannot };
  Shed shed_without_descriptors(int listener);
  void accept_failed(int listener, int code, loop::Clock::time_point now);
  void resume_all();

  struct Listener {
    int fd;
    uint32_t events;
    uint64_t token;
    std::string address;
    bool paused = false;
    bool polled = true;
  };

  static constexpr size_t kBatch = 64;

  loop::EventLoop& loop_;
  Admission& admission_;
  Counters& counters_;
  const Log& log_;
  std::vector<Listener> listeners_;
  std::array<int, kBatch> accepted_{};
  // Kept open for the moment descriptors run out: see shed_without_descriptors.
  Fd reserve_;
  loop::Clock::time_point next_resume_ = loop::Clock::time_point::max();
  bool queue_emptied_ = false;
  bool shed_any_ = false;
  bool stopped_watching_ = false;
};

}  // namespace doorman::server
