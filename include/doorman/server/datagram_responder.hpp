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
};

}  // namespace doorman::server
