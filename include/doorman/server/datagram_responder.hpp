#pragma once
// DatagramResponder: the tutorial's rule over datagrams, a batch at a time (recvmmsg, judge,
// sendmmsg). Each datagram is one request; the reply goes back to its sender — unless the
// sender is the server itself or the datagram is itself a reply (no reply loops), or the sender
// has had its share of replies (--dgram-rate). The only state per client is that share, in a
// table of fixed size that all workers share (DatagramResponder::Shared). Thread of the worker
// that owns it.

#include <sys/socket.h>

#include <chrono>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "doorman/loop/deadline_list.hpp"
#include "doorman/net/socket_address.hpp"
#include "doorman/server/config.hpp"
#include "doorman/server/counters.hpp"
#include "doorman/server/datagram_guard.hpp"
#include "doorman/server/log.hpp"
#include "doorman/server/rate_limiter.hpp"
#include "doorman/server/reply_budget.hpp"
#include "doorman/server/settings.hpp"

namespace doorman::server {

class DatagramResponder {
 public:
  // What every worker's responder shares: one reply budget per source address for them all
  // (the kernel spreads one host's datagrams over the workers by source port), and the gates
  // that keep each kind of flood line to one a second between them. Made once, before the
  // workers, for the life of the process (--dgram-rate needs a restart).
  struct Shared {
    explicit Shared(const Config& config);

    std::optional<ReplyBudget> budget;  // none with --dgram-rate 0
    bool budget_for_local_senders;      // --dgram-rate given: loopback and Unix senders too
    RateLimiter over_rate_lines;
    RateLimiter loop_lines;
    RateLimiter receive_failure_lines;
    RateLimiter send_failure_lines;
  };

  // What serve() asks of the worker.
  enum class Next {
    carry_on,
    // The socket failed in a way that waiting for the next event would repeat at once (ENOMEM,
    // ENOBUFS): stop watching it for a moment, or the worker spins.
    rest,
  };

  // How long a socket rests after Next::rest: short, so that few datagrams wait, yet long
  // enough that a socket failing for good costs next to no CPU.
  static constexpr loop::Clock::duration kRestAfterFailure = std::chrono::milliseconds(10);

  DatagramResponder(Shared& shared, const Settings& settings, Counters& counters, const Log& log);

  // A reload's password and read size (B5), for the datagrams read from now on. Between
  // batches only.
  void use(const Settings& settings);

  // Answers what `fd` holds now, a bounded number of batches per call so one busy socket
  // cannot starve the loop's other work.
  Next serve(int fd);
  // Answers what `fd` holds until it is empty (bounded): the last turn of a draining server.
  void serve_until_empty(int fd);

 private:
  static constexpr size_t kBatch = 32;
  // How many datagrams it read: 0 when the socket is empty or failed (then `failed` is set
  // when it is worth a rest).
  size_t serve_batch(int fd, bool& failed);
  // False when the datagram must go unanswered (counted and, at most once a second, logged).
  // `whole` is the datagram, empty when it was cut.
  bool may_answer(const SocketAddress& sender, std::string_view whole, const SocketAddress& local,
                  const std::optional<Destination>& destination, loop::Clock::time_point now);
  // The address `fd` is bound to, asked of the kernel once per socket.
  const SocketAddress& local_address(int fd);
  // Makes the reply leave from the address the request was sent to, so a client that connected
  // its socket accepts it; a group (broadcast, multicast) destination leaves the choice to the
  // kernel.
  void answer_from(const Destination& destination, msghdr& reply, size_t slot);
  // Counted always; logged at most once a second for all workers together, and only then
  // formatted (under overload these are the common case).
  void note_send_failure(const msghdr& reply, int code, loop::Clock::time_point now);
  void note_receive_failure(int fd, int code, loop::Clock::time_point now);

  size_t read_size_;
  size_t slot_size_;  // bytes received per datagram: read_size_, or a whole reply if longer
  std::string password_;
  Shared& shared_;
  Counters& counters_;
  const Log& log_;
  std::vector<char> buffers_;  // kBatch requests of slot_size_ bytes
  std::vector<iovec> request_iov_;
  std::vector<mmsghdr> requests_;
  std::vector<SocketAddress> senders_;
  std::vector<iovec> reply_iov_;
  std::vector<mmsghdr> replies_;
  // Where each request was sent (IP_PKTINFO, asked for on wildcard sockets only), so that each
  // reply leaves from that address.
  std::vector<char> request_control_;
  std::vector<char> reply_control_;
  std::vector<std::pair<int, SocketAddress>> locals_;  // one per socket served
};

}  // namespace doorman::server
