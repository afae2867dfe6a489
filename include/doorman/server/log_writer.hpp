#pragma once
// LogWriter: the log thread. Lines submitted from any thread go through a LogRing and are
// written to a descriptor by this thread, which never waits on that descriptor for longer than
// a second at a time, so a reader that stalls costs dropped lines, never a stuck server.
// submit(): any thread, never blocks. stop() and the destructor: the owner's thread.

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <string_view>
#include <thread>

#include "doorman/net/fd.hpp"
#include "doorman/server/log_line.hpp"
#include "doorman/server/log_ring.hpp"

namespace doorman::server {

class LogWriter {
 public:
  using Clock = std::chrono::steady_clock;

  struct Options {
    size_t capacity = 512;  // lines queued at most: 512 KiB of slots
    // At stop, how long the lines still queued may wait for a stalled reader.
    Clock::duration flush_timeout = std::chrono::seconds(1);
  };

  // `every_second` runs on the log thread about once a second, and once with
  // Clock::time_point::max() at stop; it may submit lines.
  LogWriter(int fd, LogFormat format, Options options,
            std::function<void(Clock::time_point)> every_second);
  ~LogWriter();

  LogWriter(const LogWriter&) = delete;
  LogWriter& operator=(const LogWriter&) = delete;

  // A whole line with its newline. Dropped and counted when the queue is full.
  void submit(std::string_view line) noexcept;

  // Writes what is queued (for at most flush_timeout if the reader is stalled, then drops the
  // rest and counts it) and ends the log thread. Lines submitted afterwards are dropped.
  void stop() noexcept;

  // Lines lost so far: queue full, the reader too slow at stop, or the descriptor failing.
  uint64_t dropped() const noexcept {
    return ring_.dropped() + lost_.load(std::memory_order_relaxed);
  }

 private:
  void run();
  void run_until_stopped();
  bool refill();
  void report_dropped(bool last_chance);
  void wait(short events, Clock::time_point until);
  void write_batch();
  void give_up();

  const int fd_;
  const LogFormat format_;
  const Options options_;
  std::function<void(Clock::time_point)> every_second_;
  LogRing ring_;
  Fd wake_;  // eventfd: a line for a sleeping log thread, or stop
  std::atomic<bool> sleeping_{false};
  std::atomic<bool> stopping_{false};
  std::atomic<bool> finished_{false};  // the log thread has ended: nothing drains the ring
  std::atomic<uint64_t> lost_{0};
  // Log thread only.
  std::string batch_;
  size_t batch_written_ = 0;
  uint64_t reported_ = 0;
  Clock::time_point flush_deadline_ = Clock::time_point::max();
  std::thread thread_;
};

}  // namespace doorman::server
