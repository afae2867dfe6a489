#pragma once
// Worker: one thread's event loop serving the tutorial's protocol on its listeners. Created on
// the main thread; run() on its own thread; stop() from any thread.
//
// Each connection is a slot in a table indexed by descriptor, and the worker is the state
// machine over it that include/doorman/server/connection.hpp draws: accept4, then one recv at
// once (under load the request is already there, and the connection never touches epoll); only
// on EAGAIN is it registered and appended to the request deadline list. A reply that may be
// followed by unread bytes is protected by a lingering close.
//
// --engine io_uring runs the same states and lists with the operations issued through a Ring
// (worker_ring.cpp): the completions go to the functions the epoll engine gives its system
// calls' results to.

#include <sys/types.h>

#include <atomic>
#include <cstddef>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "doorman/loop/deadline_list.hpp"
#include "doorman/loop/event_loop.hpp"
#include "doorman/loop/ring.hpp"
#include "doorman/loop/timeout_lists.hpp"
#include "doorman/net/socket_address.hpp"
#include "doorman/proto/judge.hpp"
#include "doorman/server/acceptor.hpp"
#include "doorman/server/config.hpp"
#include "doorman/server/connection.hpp"
#include "doorman/server/counters.hpp"
#include "doorman/server/datagram_responder.hpp"
#include "doorman/server/listeners.hpp"
#include "doorman/server/log.hpp"
#include "doorman/server/settings.hpp"

namespace doorman::server {

class Worker {
 public:
  // `settings` must outlive the worker, as every Settings posted later must; so must
  // `datagrams`, what all workers share in datagram mode (nullptr in stream mode).
  static Result<std::unique_ptr<Worker>> create(const Config& config, const Settings& settings,
                                                std::vector<Listeners::Served> listeners,
                                                Admission& admission,
                                                DatagramResponder::Shared* datagrams,
                                                const Log& log);

  // Serves until stop(), or until a drain has finished; an error is one the loop cannot go on
  // from (epoll itself failing).
  Result<void> run();
  // Any thread. drain(): accept what the listeners hold queued, call `queues_drained` (on the
  // worker's thread), take nothing new, and end once the connections in flight are done or at
  // `deadline`. stop(): close everything and end now.
  void drain(loop::Clock::time_point deadline, std::function<void()> queues_drained);
  void stop() noexcept;
  // Any thread (the main one, on a reload): the clients accepted (or datagrams read) from the
  // worker's next batch on get `settings`; the connections already open keep what they had.
  // `settings` must outlive the worker.
  void post(const Settings& settings) noexcept;
  // Connections closed unfinished by stop() or the drain deadline. After run() returns.
  size_t cut() const noexcept { return cut_; }
  const Counters& counters() const noexcept { return counters_; }

 private:
  // --proxy-protocol only, apart from the slot so that it stays small for every connection:
  // what one connection has received of an incomplete PROXY header (less than kMaxProxyHeader
  // bytes), and the source the header named, for log lines. Cleared at the close.
  struct Proxied {
    std::string pending;
    std::optional<SocketAddress> source;
  };

  Worker(const Config& config, const Settings& settings, loop::EventLoop loop, Admission& admission,
         DatagramResponder::Shared* datagrams, const Log& log);
  void pick_up_settings();
  void adopt(const Settings& settings);

  // The state machine: each of these is what one state does with the event it takes.
  // The epoll engine issues each operation itself (read_request, send_reply...) and hands its
  // result on; the io_uring engine hands on its completions. `result`: bytes, or -errno.
  void on_accepted(int fd);
  void on_event(int fd);
  void read_request(int fd);
  void request_read(int fd, ssize_t result, const char* data);
  void read_proxy_header(int fd);
  size_t restore_proxy_header(int fd);
  void proxy_header_read(int fd, ssize_t result);
  void judge_request(int fd, std::string_view received, size_t got);
  void refuse_proxy_header(int fd, std::string_view reason);
  void send_reply(int fd);
  void reply_progress(int fd, ssize_t result);
  void discard_lingering(int fd);
  void expire();
  void close_connection(int fd) noexcept;
  void begin_drain();
  void cut_all() noexcept;

  // Transitions' side effects.
  void reply(int fd, proto::Verdict verdict, bool overflowed);
  void replied(int fd);
  void enter(int fd, ConnectionState next);
  bool watch(int fd, Interest wanted);

  // The io_uring engine (worker_ring.cpp): the same states, lists and transitions, with one
  // operation in flight per open connection, as its state says.
  Result<void> run_epoll();
  Result<void> run_ring();
  Result<void> serve_with_epoll(const Error& error);
  void arm_listeners();
  void arm_wake();
  void on_completion(const io_uring_cqe& cqe);
  void ring_accepted(int listener, const io_uring_cqe& cqe);
  void ring_admitted(int fd);
  void ring_received(int fd, const io_uring_cqe& cqe);
  void ring_sent(int fd, int result);
  void keep_going(int fd);
  void release(int fd) noexcept;
  void stop_accepting_ring();
  void finish_ring() noexcept;

  // Only for log lines: the client, as the PROXY header named it, else the socket's peer.
  std::string peer_name(int fd) const;

  Connection& slot(int fd) noexcept { return connections_[static_cast<size_t>(fd)]; }
  Connection& open_slot(int fd);
  Proxied& proxied(int fd) noexcept { return proxied_[static_cast<size_t>(fd)]; }
  const Proxied& proxied(int fd) const noexcept { return proxied_[static_cast<size_t>(fd)]; }
  int next_timeout_ms() const noexcept;

  const Config& config_;
  const Settings* settings_;  // what new connections get; read on this thread only
  // The next settings, posted by the main thread (release) and picked up before each batch of
  // accepts or datagrams (acquire): the connections read settings_ alone.
  std::atomic<const Settings*> posted_;
  loop::EventLoop loop_;
  const Log& log_;
  Counters counters_;
  Acceptor acceptor_;
  std::optional<DatagramResponder> datagrams_;  // datagram mode only
  std::atomic<bool> stopping_{false};
  std::atomic<bool> drain_asked_{false};
  // Written by drain() before drain_asked_ is set (release), read after it is seen (acquire).
  loop::Clock::time_point drain_deadline_ = loop::Clock::time_point::max();
  std::function<void()> queues_drained_;
  bool draining_ = false;
  std::vector<int> listeners_;  // stream listeners or datagram sockets, for the drain
  size_t open_ = 0;             // connections in the table that are not closed
  size_t cut_ = 0;

  // The request is read into this one buffer, so a waiting connection owns nothing but its slot.
  std::vector<char> scratch_;
  std::vector<Connection> connections_;  // indexed by descriptor
  // --proxy-protocol only, indexed by descriptor as the slots are and grown with them
  // (open_slot), so that no connection allocates an entry; empty without the option.
  std::vector<Proxied> proxied_;
  // Waiting for the request, or for the client to take its reply (--timeout from the accept).
  // One list per length, since a reload may change it while connections wait.
  using DeadlineLists =
      loop::TimeoutLists<Connection, &Connection::link, &Connection::deadline_list>;
  DeadlineLists requests_;
  // Replied and half-closed, discarding what still comes (--linger-timeout).
  DeadlineLists lingering_;
  loop::Clock::time_point now_{};

  // --engine io_uring (stream only), made by run() on the worker's own thread.
  std::optional<loop::Ring> ring_;
  std::vector<char> ring_discard_;  // what lingering connections' receives throw away
  struct RingListener {
    int fd;
    bool armed;  // its multishot accept is in the kernel
  };
  std::vector<RingListener> ring_listeners_;
};

}  // namespace doorman::server
