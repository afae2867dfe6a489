#pragma once
// Worker: one thread's event loop serving the tutorial's protocol on its listeners. Created on
// the main thread; run() on its own thread; stop() from any thread.
//
// One connection, start to end (DESIGN.md §2): accept4, then one recv at once (under load the
// request is already there, and the connection never touches epoll); only on EAGAIN is it
// registered and appended to the request deadline list. The request is read into the worker's
// scratch buffer, so a waiting connection owns no memory beyond its list links. A reply that
// may be followed by unread bytes is protected by a lingering close.

#include <atomic>
#include <cstddef>
#include <memory>
#include <optional>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "doorman/loop/deadline_list.hpp"
#include "doorman/loop/event_loop.hpp"
#include "doorman/proto/judge.hpp"
#include "doorman/server/acceptor.hpp"
#include "doorman/server/config.hpp"
#include "doorman/server/counters.hpp"
#include "doorman/server/datagram_responder.hpp"
#include "doorman/server/listeners.hpp"
#include "doorman/server/log.hpp"

namespace doorman::server {

class Worker {
 public:
  static Result<std::unique_ptr<Worker>> create(const Config& config,
                                                std::vector<Listeners::Served> listeners,
                                                Admission& admission, const Log& log);

  void run();
  void stop() noexcept;  // any thread
  const Counters& counters() const noexcept { return counters_; }

 private:
  Worker(const Config& config, loop::EventLoop loop, Admission& admission, const Log& log);

  // What epoll is watching a connection for, so that a change costs one epoll_ctl and no
  // change costs none.
  enum class Watching { nothing, input, output };

  // A registered connection is ready: what that means depends on where it stands.
  void on_ready(int fd);
  void read_request(int fd, Watching watching);
  void on_writable(int fd);
  // `got` may exceed --read-size by one byte: then more than the request came.
  void respond(int fd, size_t got, Watching watching);
  void send_reply(int fd, proto::Verdict verdict, size_t offset, bool filled, Watching watching);
  void finish(int fd, bool filled, Watching watching);
  void drain_lingering(int fd);
  void expire(loop::Clock::time_point now);
  void close_connection(int fd) noexcept;
  int next_timeout_ms(loop::Clock::time_point now) const noexcept;
  bool watch(int fd, Watching wanted, Watching current);

  const Config& config_;
  loop::EventLoop loop_;
  const Log& log_;
  Counters counters_;
  Acceptor acceptor_;
  std::optional<DatagramResponder> datagrams_;  // datagram mode only
  std::atomic<bool> stopping_{false};

  std::vector<char> scratch_;
  loop::DeadlineList requests_;   // accepted, waiting for the request (--timeout)
  loop::DeadlineList lingering_;  // replied and half-closed, discarding (--linger-timeout)
  // A reply the kernel did not take whole: rare (18 bytes into a fresh send buffer), so a map.
  struct PendingReply {
    proto::Verdict verdict;
    size_t offset;
    bool filled;
  };
  std::unordered_map<int, PendingReply> pending_;
  loop::Clock::time_point now_{};
};

}  // namespace doorman::server
