// The request's side of the state machine: the one bounded read (accepting, waiting_request),
// then the verdict, which hands the connection to the reply (worker_reply.cpp).
#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <string>

#include "doorman/server/worker.hpp"

namespace doorman::server {

// accepting, waiting_request: the request, else wait for it.
void Worker::read_request(int fd) {
  // One byte more than the request: whether the client sent more than --read-size decides the
  // lingering close, at no extra system call.
  ssize_t got = 0;
  do {
    got = ::recv(fd, scratch_.data(), settings_->read_size + 1, 0);
  } while (got < 0 && errno == EINTR);
  request_read(fd, got >= 0 ? got : -errno, scratch_.data());
}

// What the request's read brought (`result` bytes at `data`, or -errno).
void Worker::request_read(int fd, ssize_t result, const char* data) {
  if (result >= 0) {
    return judge_request(fd, std::string_view(data, static_cast<size_t>(result)),
                         static_cast<size_t>(result));
  }
  const int code = static_cast<int>(-result);
  // Not there yet (or a spurious wake-up, which changes nothing).
  if (would_block(code)) return enter(fd, ConnectionState::waiting_request);
  // A reset before the request: the client's doing, not a server error.
  if (log_.enabled(LogLevel::debug)) {
    log_.debug("{} left without a request: {}", peer_name(fd), describe_errno(code));
  }
  close_connection(fd);
}

// `received`: what the request's read brought, `got` of it (0: end of stream). At most
// --read-size bytes are the request; more means the close must linger.
void Worker::judge_request(int fd, std::string_view received, size_t got) {
  // End of stream before any byte is an empty request, as the tutorial's recv() returning ''
  // is: not the password, so "please go out!" (a half-closed client still reads it).
  const size_t size = std::min(got, settings_->read_size);
  const auto verdict = proto::judge(received.substr(0, size), settings_->password);
  const bool welcome = verdict == proto::Verdict::welcome;
  Counters::bump(got == 0 ? counters_.empty : welcome ? counters_.welcomed : counters_.rejected);
  // The wait from the accept: none for a request read in the accept's own turn (no clock
  // read); else the deadline, set at the accept, less --timeout. now_ is the loop's own.
  const Connection& connection = slot(fd);
  if (connection.state == ConnectionState::accepting) {
    counters_.request_wait.record_none();
  } else {
    counters_.request_wait.record(now_ - (connection.link.deadline - requests_.timeout_of(fd)));
  }
  if (log_.enabled(LogLevel::debug)) {
    const std::string peer = peer_name(fd);
    const std::string_view outcome = welcome ? "welcomed" : "rejected";
    log_.event(LogLevel::debug, {outcome, peer}, "{} {}", peer, outcome);
  }
  reply(fd, verdict, got > settings_->read_size);
}

}  // namespace doorman::server
