#pragma once
// DatagramResponder: the tutorial's rule over datagrams, a batch at a time (recvmmsg, judge,
// sendmmsg). Each datagram is one request; the reply goes back to its sender. No state per
// client. Thread of the worker that owns it.

#include <sys/socket.h>

#include <string>
#include <vector>

#include "doorman/net/socket_address.hpp"
#include "doorman/server/counters.hpp"
#include "doorman/server/log.hpp"

namespace doorman::server {

class DatagramResponder {
 public:
  DatagramResponder(size_t read_size, std::string password, Counters& counters, const Log& log);

  // Answers what `fd` holds now, a bounded number of batches per call so one busy socket
  // cannot starve the loop's other work.
  void serve(int fd);

 private:
  static constexpr size_t kBatch = 32;
  // Returns how many datagrams it read (0 when the socket is empty).
  size_t serve_batch(int fd);
  // Copies the request's destination into the reply's source; false when there is none.
  bool answer_from_destination(const msghdr& request, msghdr& reply, size_t slot);
  void log_error(const char* operation, int fd, int code) const;

  size_t read_size_;
  std::string password_;
  Counters& counters_;
  const Log& log_;
  std::vector<char> buffers_;  // kBatch requests of read_size_ bytes
  std::vector<iovec> request_iov_;
  std::vector<mmsghdr> requests_;
  std::vector<SocketAddress> senders_;
  std::vector<iovec> reply_iov_;
  std::vector<mmsghdr> replies_;
  // Where each request was sent (IP_PKTINFO, asked for on wildcard sockets only), so that each
  // reply leaves from that address.
  std::vector<char> request_control_;
  std::vector<char> reply_control_;
};

}  // namespace doorman::server
