// The reply's side of the state machine: sending it (sending_reply when the kernel takes part),
// then the close, or the lingering close that keeps unread bytes from resetting it.
#include <sys/socket.h>

#include <algorithm>
#include <cerrno>

#include "doorman/server/worker.hpp"

namespace doorman::server {
namespace {

// At most this many discarding reads per wake-up for a lingering connection, so that a client
// that floods cannot keep the loop to itself.
constexpr int kDiscardReadsPerWakeUp = 16;

}  // namespace

void Worker::reply(int fd, proto::Verdict verdict, bool overflowed) {
  Connection& connection = slot(fd);
  connection.verdict = verdict;
  connection.reply_sent = 0;
  connection.overflowed = overflowed;
  send_reply(fd);
}

// accepting, waiting_request, sending_reply: the reply, or what the kernel did not take of it.
void Worker::send_reply(int fd) {
  Connection& connection = slot(fd);
  // io_uring: the send goes with the turn's batch (keep_going); the request's deadline stands.
  if (ring_) return enter(fd, ConnectionState::sending_reply);
  const std::string_view rest = proto::reply_for(connection.verdict).substr(connection.reply_sent);
  ssize_t sent = 0;
  do {
    sent = ::send(fd, rest.data(), rest.size(), MSG_NOSIGNAL);
  } while (sent < 0 && errno == EINTR);
  reply_progress(fd, sent >= 0 ? sent : -errno);
}

// What a send of the reply's rest did (`result` bytes, or -errno).
void Worker::reply_progress(int fd, ssize_t result) {
  Connection& connection = slot(fd);
  const std::string_view rest = proto::reply_for(connection.verdict).substr(connection.reply_sent);
  const ssize_t sent = result;
  if (sent == static_cast<ssize_t>(rest.size())) return replied(fd);
  if (sent < 0 && !would_block(static_cast<int>(-sent))) {
    // The client reset or vanished before its reply: its doing, not a server error.
    const int code = static_cast<int>(-sent);
    if (log_.enabled(LogLevel::debug)) {
      log_.debug("send to {}: {}", peer_name(fd), describe_errno(code));
    }
    return close_connection(fd);
  }
  // The kernel took part of it: the rest when the socket is writable, within the request's
  // deadline as it stands (a client that reads a byte at a time gets no more time for it).
  // Accepted in this turn, it gets the deadline it would have had waiting.
  connection.reply_sent = static_cast<uint8_t>(connection.reply_sent + std::max<ssize_t>(sent, 0));
  enter(fd, ConnectionState::sending_reply);
}

// The whole reply is out: close, or linger when unread bytes would turn the close into a reset.
void Worker::replied(int fd) {
  if (!slot(fd).overflowed) return close_connection(fd);  // all was read: a clean FIN
  // A close() with unread bytes sends a reset, and a reset can destroy the reply before the
  // client reads it. Half-close, discard what comes, close on EOF or at the linger deadline
  // (nginx's lingering_close).
  ::shutdown(fd, SHUT_WR);
  enter(fd, ConnectionState::lingering);
}

// lingering: discard, until the client's EOF.
void Worker::discard_lingering(int fd) {
  for (int read = 0; read < kDiscardReadsPerWakeUp; ++read) {
    const ssize_t got = ::recv(fd, scratch_.data(), scratch_.size(), 0);
    if (got > 0 || (got < 0 && errno == EINTR)) continue;
    if (got < 0 && would_block(errno)) return;
    return close_connection(fd);  // EOF or an error: nothing left to protect
  }
}

}  // namespace doorman::server
