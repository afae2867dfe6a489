#pragma once
// Worker: one thread's share of the load, driven by its own epoll loop. Created and read by the
// generator's thread; run() on the worker's own thread; stop() and progress() from any thread.

#include <atomic>
#include <chrono>
#include <cstdint>
#include <latch>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "doorman/bench/generator.hpp"
#include "doorman/bench/report.hpp"
#include "doorman/loop/deadline_list.hpp"
#include "doorman/loop/event_loop.hpp"
#include "doorman/net/fd.hpp"
#include "doorman/net/socket_address.hpp"

namespace doorman::bench {

using Clock = std::chrono::steady_clock;

// This worker's part of the run: the totals divided between the threads.
struct Share {
  int concurrency = 0;
  uint64_t count = 0;  // measured connections to start; UINT64_MAX: until the duration ends
  double rate = 0;
  int silent = 0;
  int slow = 0;
};

struct Outcome {
  Tally measured, silent, slow;
  uint64_t unfinished = 0;
  uint64_t late_starts = 0;
  bool interrupted = false;
  Clock::time_point started{}, ended{};
};

struct Progress {
  uint64_t ok = 0;
  uint64_t errors = 0;
};

class Worker {
 public:
  static Result<std::unique_ptr<Worker>> create(const Config& config, SocketAddress target,
                                                Share share);

  // Opens the silent connections, waits at `ready` for the other workers, then runs its share.
  void run(std::latch& ready);
  void stop() noexcept;
  Progress progress() const noexcept;
  const Outcome& outcome() const noexcept { return outcome_; }

 private:
  enum class Role : uint8_t { measured, silent, slow };
  // A connection's life: connecting (or retrying, a Unix backlog was full), then sending, then
  // awaiting the reply and the close. Silent ones stay held once connected; slow ones are
  // waiting until their moment to send. A datagram socket is idle between requests.
  enum class Phase : uint8_t {
    unused,
    retrying,
    connecting,
    sending,
    waiting,
    awaiting,
    held,
    idle
  };
  struct Conn {
    Fd fd;
    Clock::time_point start{};
    uint32_t sent = 0;     // bytes of the message sent so far
    uint32_t matched = 0;  // bytes of the reply that matched the expected one so far
    Role role = Role::measured;
    Phase phase = Phase::unused;
    bool wrong = false;
    loop::DeadlineLink timeout_link;    // in timeouts_
    loop::DeadlineLink slow_send_link;  // in slow_sends_
  };

  Worker(const Config& config, SocketAddress target, Share share, loop::EventLoop loop);

  void loop_once(Clock::time_point now, std::optional<Clock::time_point> end, bool measuring);
  // The phase's work is over: the silent connections are open, or the count is reached.
  bool done(bool measuring);
  void top_up(Clock::time_point now, bool measuring);
  void arm(int fd, Role role);
  void start(Role role);
  void begin(int fd, bool established);
  void connected(int fd);
  void send_message(int fd);
  void on_event(int fd, uint32_t events);
  void read_reply(int fd);
  void read_unprompted(int fd);
  void capture_wrong(int fd, std::string_view bytes);
  void retry_connects();
  void expire(Clock::time_point now);
  void fail_errno(int fd, const char* operation, int code);
  void finish(int fd, std::optional<ErrorKind> error);
  void pace_refusals(std::optional<ErrorKind> error, Clock::time_point now);
  void abandon_all();
  Conn& conn(int fd) { return conns_[static_cast<size_t>(fd)]; }
  int& open_count(Role role) { return open_[static_cast<size_t>(role)]; }
  int& dropped(Role role) { return dropped_[static_cast<size_t>(role)]; }
  Tally& tally(Role role);

  const Config& config_;
  const SocketAddress target_;
  const Share share_;
  loop::EventLoop loop_;
  std::vector<Conn> conns_;  // indexed by descriptor
  // Every connection's --timeout, from its connect.
  loop::DeadlineList<Conn, &Conn::timeout_link> timeouts_{conns_};
  // Slow clients' moment to send.
  loop::DeadlineList<Conn, &Conn::slow_send_link> slow_sends_{conns_};
  std::vector<int> retrying_;       // Unix connects refused for a full backlog: try again
  std::vector<int> idle_datagram_;  // datagram sockets kept for the next request
  std::vector<char> scratch_;
  int open_[3] = {0, 0, 0};     // by Role
  int dropped_[3] = {0, 0, 0};  // silent and slow slots given up after a failed connect
  int silent_connecting_ = 0;
  // A target that refuses answers a connect in microseconds: without a pause now and then the
  // closed loop would be a busy loop of socket, connect, close.
  int refused_in_a_row_ = 0;
  Clock::time_point resume_at_{};  // no connection is started before it
  int capturing_fd_ = -1;          // the connection whose wrong reply capture_ holds
  std::string capture_;
  uint64_t started_ = 0;
  size_t next_source_ = 0;  // the config's source address for the next connection
  Clock::time_point next_start_{};
  Clock::duration interval_{};
  Outcome outcome_;
  std::atomic<bool> stop_{false};
  std::atomic<uint64_t> ok_{0}, errors_{0};
};

}  // namespace doorman::bench
