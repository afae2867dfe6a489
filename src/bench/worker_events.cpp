// Worker, continued: what happens to a connection after it was started — readiness, replies,
// deadlines and the end of each connection.

#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "doorman/bench/worker.hpp"

namespace doorman::bench {
namespace {

ErrorKind classify(int code, bool connecting) {
  switch (code) {
    case ECONNREFUSED:
    case ENOENT:  // a Unix socket path with no file: nothing listens there
      return ErrorKind::connect_refused;
    case ECONNRESET:
    case EPIPE:
      return ErrorKind::reset;
    case ETIMEDOUT:
      return connecting ? ErrorKind::connect_timeout : ErrorKind::timeout;
    default:
      return ErrorKind::other;
  }
}

}  // namespace

void Worker::on_event(int fd, uint32_t events) {
  if (static_cast<size_t>(fd) >= conns_.size()) return;
  Conn& c = conn(fd);
  const bool input = (events & (EPOLLIN | EPOLLHUP | EPOLLERR)) != 0;
  const bool output = (events & (EPOLLOUT | EPOLLHUP | EPOLLERR)) != 0;
  if (output && (c.phase == Phase::connecting || c.phase == Phase::sending)) {
    if (c.role == Role::measured || c.phase == Phase::sending) {
      send_message(fd);  // a refused connect shows up here as the send's error
    } else {
      int code = 0;
      socklen_t size = sizeof(code);
      if (::getsockopt(fd, SOL_SOCKET, SO_ERROR, &code, &size) != 0) code = errno;
      if (code != 0) return fail_errno(fd, "connect", code);
      connected(fd);
    }
  }
  // Edge-triggered: input in this same event is not reported again, so it is read now, in
  // whatever phase the handling above left the connection.
  if (!input) return;
  switch (c.phase) {
    case Phase::awaiting:
      return read_reply(fd);
    case Phase::held:
    case Phase::waiting:
      return read_unprompted(fd);
    default:
      return;
  }
}

void Worker::read_reply(int fd) {
  Conn& c = conn(fd);
  const std::string& expect = config_.expect;
  for (;;) {
    const ssize_t got = ::recv(fd, scratch_.data(), scratch_.size(), 0);
    if (got < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN) return;
      return fail_errno(fd, "recv", errno);
    }
    const auto size = static_cast<size_t>(got);
    const std::string_view chunk(scratch_.data(), size);
    if (config_.type == SocketType::datagram) {  // one datagram is the whole reply
      if (chunk == expect) return finish(fd, std::nullopt);
      capture_wrong(fd, chunk);
      return finish(fd, ErrorKind::wrong_reply);
    }
    if (size == 0) {
      if (!c.wrong && c.matched == expect.size()) return finish(fd, std::nullopt);
      if (!c.wrong && c.matched == 0) return finish(fd, ErrorKind::closed_without_reply);
      // Cut short: what came is a prefix of the expected reply.
      if (!c.wrong) capture_wrong(fd, std::string_view(expect).substr(0, c.matched));
      return finish(fd, ErrorKind::wrong_reply);
    }
    // The reply may come in pieces; it is compared as it arrives, and only the first wrong one
    // is kept, for the report.
    if (!c.wrong && (c.matched + size > expect.size() ||
                     std::memcmp(scratch_.data(), expect.data() + c.matched, size) != 0)) {
      c.wrong = true;
      capture_wrong(fd, std::string_view(expect).substr(0, c.matched));
    }
    if (!c.wrong) {
      c.matched += static_cast<uint32_t>(size);
    } else if (fd == capturing_fd_) {
      capture_wrong(fd, chunk);
    }
  }
}

// A silent client is told nothing and then closed (the tutorial's `time out`); a slow one has
// not sent yet, so a close now means the server gave up on it.
void Worker::read_unprompted(int fd) {
  for (;;) {
    const ssize_t got = ::recv(fd, scratch_.data(), scratch_.size(), 0);
    if (got > 0) {
      capture_wrong(fd, std::string_view(scratch_.data(), static_cast<size_t>(got)));
      return finish(fd, ErrorKind::wrong_reply);
    }
    if (got == 0) {
      if (conn(fd).role == Role::silent) return finish(fd, std::nullopt);
      return finish(fd, ErrorKind::closed_without_reply);
    }
    if (errno == EINTR) continue;
    if (errno != EAGAIN) fail_errno(fd, "recv", errno);
    return;
  }
}

// Keeps the first wrong reply of a class of connections: the one whose bytes are being taken
// goes on until it ends, the others are only counted.
void Worker::capture_wrong(int fd, std::string_view bytes) {
  if (capturing_fd_ != fd) {
    if (capturing_fd_ >= 0 || !tally(conn(fd).role).first_wrong_reply.empty()) return;
    capturing_fd_ = fd;
    capture_.clear();
  }
  capture_.append(bytes.substr(0, Tally::kShownReply - capture_.size()));
}

void Worker::retry_connects() {
  std::vector<int> pending;
  pending.swap(retrying_);
  for (const int fd : pending) {
    if (::connect(fd, target_.get(), target_.size()) == 0) {
      begin(fd, true);
    } else if (errno == EAGAIN) {
      retrying_.push_back(fd);
    } else {
      fail_errno(fd, "connect", errno);
    }
  }
}

void Worker::expire(Clock::time_point now) {
  while (!timeouts_.empty() && timeouts_.front_deadline() <= now) {
    const int fd = timeouts_.front();
    const Phase phase = conn(fd).phase;
    finish(fd, phase == Phase::connecting || phase == Phase::retrying ? ErrorKind::connect_timeout
                                                                      : ErrorKind::timeout);
  }
  while (!slow_sends_.empty() && slow_sends_.front_deadline() <= now) {
    const int fd = slow_sends_.front();
    slow_sends_.remove(fd);
    conn(fd).phase = Phase::sending;
    timeouts_.push_back(fd, Clock::now() + config_.timeout);
    send_message(fd);
  }
}

void Worker::fail_errno(int fd, const char* operation, int code) {
  Conn& c = conn(fd);
  const ErrorKind kind = classify(code, c.phase == Phase::connecting || c.phase == Phase::retrying);
  if (kind == ErrorKind::other) {
    tally(c.role).last_other = Error(operation, target_.to_string(), code).message();
  }
  finish(fd, kind);
}

void Worker::finish(int fd, std::optional<ErrorKind> error) {
  Conn& c = conn(fd);
  const auto now = Clock::now();
  timeouts_.remove(fd);
  slow_sends_.remove(fd);
  const bool reached = c.phase != Phase::connecting && c.phase != Phase::retrying;
  if (c.phase == Phase::retrying) std::erase(retrying_, fd);
  if (c.role == Role::silent && !reached) --silent_connecting_;
  Tally& counts = tally(c.role);
  if (fd == capturing_fd_) {
    if (error == ErrorKind::wrong_reply) counts.first_wrong_reply = std::move(capture_);
    capture_.clear();
    capturing_fd_ = -1;
  }
  pace_refusals(error, now);
  if (error) {
    counts.add_error(*error);
  } else {
    ++counts.ok;
    counts.latency.record(now - c.start);
  }
  if (c.role == Role::measured) {
    ok_.store(counts.ok, std::memory_order_relaxed);
    errors_.store(counts.error_count(), std::memory_order_relaxed);
  } else if (!reached) {
    // A silent or slow slot whose connect failed is given up, not retried in a tight loop.
    ++dropped(c.role);
  }
  --open_count(c.role);
  if (config_.type == SocketType::datagram && !error) {
    // The socket is kept for the next request; after an error it is closed instead, so a late
    // reply to the failed one cannot be taken for the next one's.
    c.phase = Phase::idle;
    idle_datagram_.push_back(fd);
  } else {
    c.fd.reset();
    c.phase = Phase::unused;
  }
}

void Worker::abandon_all() {
  for (Conn& c : conns_) {
    if (c.phase == Phase::unused) continue;
    if (c.role == Role::measured && c.phase != Phase::idle) ++outcome_.unfinished;
    c.fd.reset();
    c.phase = Phase::unused;
  }
  capturing_fd_ = -1;
  timeouts_.clear();
  slow_sends_.clear();
  retrying_.clear();
  idle_datagram_.clear();
}

Tally& Worker::tally(Role role) {
  switch (role) {
    case Role::silent:
      return outcome_.silent;
    case Role::slow:
      return outcome_.slow;
    case Role::measured:
      break;
  }
  return outcome_.measured;
}

}  // namespace doorman::bench
