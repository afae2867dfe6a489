#include "doorman/server/worker.hpp"

#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>

#include "doorman/base/duration.hpp"
#include "doorman/net/socket_address.hpp"

namespace doorman::server {
namespace {

// A registration's token: what the descriptor is, and the descriptor.
enum class Kind : uint32_t { stream_listener = 1, datagram_socket = 2, connection = 3 };

constexpr uint64_t token(Kind kind, int fd) {
  return (uint64_t{static_cast<uint32_t>(kind)} << 32) | static_cast<uint32_t>(fd);
}
constexpr Kind kind_of(uint64_t token) {
  return static_cast<Kind>(token >> 32);
}
constexpr int fd_of(uint64_t token) {
  return static_cast<int>(token & 0xffffffffU);
}

// At most this many discarding reads per wake-up for a lingering connection.
constexpr int kDrainReadsPerWakeUp = 16;
constexpr size_t kScratchFloor = 16 * 1024;

std::string peer_of(int fd) {
  SocketAddress peer;
  socklen_t size = SocketAddress::capacity();
  if (::getpeername(fd, peer.data(), &size) != 0) return "(peer gone)";
  peer.resize(size);
  return peer.to_string();
}

}  // namespace

Result<std::unique_ptr<Worker>> Worker::create(const Config& config,
                                               std::vector<Listeners::Served> listeners,
                                               Admission& admission, const Log& log) {
  auto loop = loop::EventLoop::create();
  if (!loop) return std::move(loop).error();
  std::unique_ptr<Worker> worker(new Worker(config, std::move(loop).value(), admission, log));
  const Kind kind =
      config.type == SocketType::stream ? Kind::stream_listener : Kind::datagram_socket;
  for (const Listeners::Served& listener : listeners) {
    const uint64_t tag = token(kind, listener.fd);
    auto watched =
        kind == Kind::stream_listener
            ? worker->acceptor_.watch(listener.fd, listener.shared, tag, listener.address)
            // EPOLLEXCLUSIVE: a shared socket wakes one worker per datagram, not all.
            : worker->loop_.add(listener.fd, EPOLLIN | (listener.shared ? EPOLLEXCLUSIVE : 0U),
                                tag);
    if (!watched) return std::move(watched).error();
  }
  return worker;
}

Worker::Worker(const Config& config, loop::EventLoop loop, Admission& admission, const Log& log)
    : config_(config),
      loop_(std::move(loop)),
      log_(log),
      acceptor_(loop_, admission, counters_, log),
      scratch_(std::max(config.read_size + 1, kScratchFloor)) {
  if (config.type == SocketType::datagram) {
    datagrams_.emplace(config, counters_, log);
  }
}

void Worker::stop() noexcept {
  stopping_.store(true, std::memory_order_relaxed);
  loop_.wake();
}

void Worker::run() {
  std::array<epoll_event, 256> events{};
  while (!stopping_.load(std::memory_order_relaxed)) {
    now_ = loop::Clock::now();
    const auto ready = loop_.wait(events, next_timeout_ms(now_));
    now_ = loop::Clock::now();
    for (const epoll_event& event : ready) {
      const uint64_t tag = event.data.u64;
      if (tag == loop::EventLoop::kWakeToken) {
        loop_.clear_wake();
        continue;
      }
      const int fd = fd_of(tag);
      switch (kind_of(tag)) {
        case Kind::stream_listener:
          for (const int connection : acceptor_.accept_batch(fd, now_)) {
            read_request(connection, Watching::nothing);
          }
          break;
        case Kind::datagram_socket:
          datagrams_->serve(fd);
          break;
        case Kind::connection:
          on_ready(fd);
          break;
      }
    }
    expire(now_);
  }
  // Stopping: what is still open is closed (the drain of in-flight requests comes with B5).
  while (!requests_.empty())
    close_connection(requests_.front());
  while (!lingering_.empty())
    close_connection(lingering_.front());
}

int Worker::next_timeout_ms(loop::Clock::time_point now) const noexcept {
  const auto next =
      std::min({requests_.front_deadline(), lingering_.front_deadline(), acceptor_.next_resume()});
  if (next == loop::Clock::time_point::max()) return -1;
  if (next <= now) return 0;
  // Rounded up: waking a little late is fine, waking early would spin until the deadline.
  const auto ms = std::chrono::ceil<std::chrono::milliseconds>(next - now).count();
  return static_cast<int>(std::min<decltype(ms)>(ms, 1 << 30));
}

void Worker::on_ready(int fd) {
  if (lingering_.contains(fd)) return drain_lingering(fd);
  if (!pending_.empty() && pending_.contains(fd)) return on_writable(fd);
  read_request(fd, Watching::input);
}

void Worker::read_request(int fd, Watching watching) {
  // One byte more than the request: whether the client sent more than --read-size decides the
  // lingering close below, at no extra system call.
  const ssize_t got = ::recv(fd, scratch_.data(), config_.read_size + 1, 0);
  if (got >= 0) {
    requests_.remove(fd);
    // End of stream before any byte is an empty request, as the tutorial's recv() returning ''
    // is: not the password, so "please go out!" (a half-closed client still reads it).
    return respond(fd, static_cast<size_t>(got), watching);
  }
  const int code = errno;
  if (code == EAGAIN || code == EWOULDBLOCK || code == EINTR) {
    if (watching != Watching::nothing) return;  // a spurious wake-up: keep waiting
    if (!watch(fd, Watching::input, Watching::nothing)) return;
    requests_.push_back(fd, now_ + config_.timeout);
    return;
  }
  // A reset before the request: the client's doing, not a server error.
  if (log_.enabled(LogLevel::debug)) {
    log_.debug("{} left without a request: {}", peer_of(fd), describe_errno(code));
  }
  close_connection(fd);
}

void Worker::respond(int fd, size_t got, Watching watching) {
  const size_t request_size = std::min(got, config_.read_size);
  const auto verdict =
      proto::judge(std::string_view(scratch_.data(), request_size), config_.password);
  Counters::bump(verdict == proto::Verdict::welcome ? counters_.welcomed : counters_.rejected);
  if (log_.enabled(LogLevel::debug)) {
    log_.debug("{} {}", peer_of(fd), verdict == proto::Verdict::welcome ? "welcomed" : "rejected");
  }
  // More than the request came: the tutorial's truncation case, whose rest must not turn the
  // close into a reset.
  send_reply(fd, verdict, 0, got > config_.read_size, watching);
}

void Worker::send_reply(int fd, proto::Verdict verdict, size_t offset, bool filled,
                        Watching watching) {
  const std::string_view reply = proto::reply_for(verdict).substr(offset);
  const ssize_t sent = ::send(fd, reply.data(), reply.size(), MSG_NOSIGNAL);
  if (sent == static_cast<ssize_t>(reply.size())) return finish(fd, filled, watching);
  if (sent >= 0 || errno == EAGAIN || errno == EWOULDBLOCK) {
    // The kernel took part of it: finish when the socket is writable, within the timeout.
    const size_t done = offset + static_cast<size_t>(std::max<ssize_t>(sent, 0));
    pending_[fd] = PendingReply{verdict, done, filled};
    if (!watch(fd, Watching::output, watching)) return;
    requests_.remove(fd);
    requests_.push_back(fd, now_ + config_.timeout);
    return;
  }
  // The client reset or vanished before its reply: its doing, not a server error.
  const int code = errno;
  if (log_.enabled(LogLevel::debug)) {
    log_.debug("send to {}: {}", peer_of(fd), describe_errno(code));
  }
  close_connection(fd);
}

void Worker::on_writable(int fd) {
  const auto found = pending_.find(fd);
  if (found == pending_.end()) return close_connection(fd);
  const PendingReply pending = found->second;
  pending_.erase(found);
  requests_.remove(fd);
  send_reply(fd, pending.verdict, pending.offset, pending.filled, Watching::output);
}

void Worker::finish(int fd, bool filled, Watching watching) {
  if (!filled) return close_connection(fd);  // all the client sent was read: a clean FIN
  // Lingering close: a close() with unread bytes would send a reset, and a reset can destroy
  // the reply before the client reads it. Half-close, discard what comes, close on EOF or at
  // the linger deadline (nginx's lingering_close).
  ::shutdown(fd, SHUT_WR);
  if (!watch(fd, Watching::input, watching)) return;
  lingering_.push_back(fd, now_ + config_.linger_timeout);
}

void Worker::drain_lingering(int fd) {
  for (int i = 0; i < kDrainReadsPerWakeUp; ++i) {
    const ssize_t got = ::recv(fd, scratch_.data(), scratch_.size(), 0);
    if (got > 0) continue;
    if (got < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) return;
    return close_connection(fd);  // EOF or an error: nothing left to protect
  }
}

void Worker::expire(loop::Clock::time_point now) {
  acceptor_.resume_due(now);
  while (!requests_.empty() && requests_.front_deadline() <= now) {
    const int fd = requests_.front();
    if (pending_.contains(fd)) {
      Counters::bump(counters_.errors);
      log_.warning("{} did not take its reply within {}", peer_of(fd),
                   format_duration(config_.timeout));
    } else {
      Counters::bump(counters_.timed_out);
      log_.warning("time out: {} sent nothing within {}", peer_of(fd),
                   format_duration(config_.timeout));
    }
    close_connection(fd);
  }
  while (!lingering_.empty() && lingering_.front_deadline() <= now) {
    close_connection(lingering_.front());
  }
}

bool Worker::watch(int fd, Watching wanted, Watching current) {
  if (wanted == current) return true;
  const uint32_t events = wanted == Watching::output ? EPOLLOUT : EPOLLIN;
  auto done = current == Watching::nothing ? loop_.add(fd, events, token(Kind::connection, fd))
                                           : loop_.modify(fd, events, token(Kind::connection, fd));
  if (done) return true;
  Counters::bump(counters_.errors);
  log_.error("{}", done.error().message());
  close_connection(fd);
  return false;
}

void Worker::close_connection(int fd) noexcept {
  requests_.remove(fd);
  lingering_.remove(fd);
  if (!pending_.empty()) pending_.erase(fd);
  // Closing the descriptor also removes it from epoll: no EPOLL_CTL_DEL.
  ::close(fd);
  acceptor_.closed();
}

}  // namespace doorman::server
