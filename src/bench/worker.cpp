#include "doorman/bench/worker.hpp"

#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "doorman/bench/source_addresses.hpp"
#include "doorman/net/socket.hpp"

namespace doorman::bench {
namespace {

// Edge-triggered: a readiness is reported once, so every handler reads or writes until EAGAIN,
// and a connection costs one epoll_ctl for its whole life.
constexpr uint32_t kIn = EPOLLIN | EPOLLET;
constexpr uint32_t kInOut = EPOLLIN | EPOLLOUT | EPOLLET;
// Thousands of connects at once overflow the server's accept queue (the tutorial's backlog is 5)
// and come back as SYN retransmissions a second later: open silent ones a batch at a time.
constexpr int kSilentBatch = 64;
constexpr size_t kEvents = 256;
constexpr auto kLate = std::chrono::milliseconds(2);
// After this many refused connects in a row, no connection is started for a pause: a refusing
// target then costs about 3,200 connects a second per thread (a few percent of a core) instead
// of a whole core, and a server that comes back is found again within the pause.
constexpr int kRefusalsBeforePause = 32;
constexpr auto kFailedConnectPause = std::chrono::milliseconds(10);

int wait_ms(Clock::time_point now, Clock::time_point wake) {
  if (wake == Clock::time_point::max()) return -1;
  if (wake <= now) return 0;
  const auto ms = std::chrono::ceil<std::chrono::milliseconds>(wake - now).count();
  return static_cast<int>(std::min<decltype(ms)>(ms, 60'000));
}

}  // namespace

Result<std::unique_ptr<Worker>> Worker::create(const Config& config, SocketAddress target,
                                               Share share) {
  auto loop = loop::EventLoop::create();
  if (!loop) return std::move(loop).error();
  return std::unique_ptr<Worker>(new Worker(config, target, share, std::move(*loop)));
}

Worker::Worker(const Config& config, SocketAddress target, Share share, loop::EventLoop loop)
    : config_(config), target_(target), share_(share), loop_(std::move(loop)), scratch_(65536) {
  if (share_.rate > 0) {
    interval_ = std::chrono::duration_cast<Clock::duration>(
        std::chrono::duration<double>(1.0 / share_.rate));
  }
}

void Worker::run(std::latch& ready) {
  // The silent connections are all open before the clock starts, so the measured phase sees
  // their steady weight on the server and not the burst of opening them.
  while (!stop_.load(std::memory_order_relaxed) && !done(false)) {
    loop_once(Clock::now(), std::nullopt, false);
  }
  ready.arrive_and_wait();
  outcome_.started = next_start_ = Clock::now();
  std::optional<Clock::time_point> end;
  if (config_.duration) end = outcome_.started + *config_.duration;
  for (;;) {
    const auto now = Clock::now();
    if (stop_.load(std::memory_order_relaxed)) {
      outcome_.interrupted = true;
      break;
    }
    if ((end && now >= *end) || done(true)) break;
    loop_once(now, end, true);
  }
  outcome_.ended = Clock::now();
  abandon_all();
}

void Worker::stop() noexcept {
  stop_.store(true, std::memory_order_relaxed);
  loop_.wake();
}

Progress Worker::progress() const noexcept {
  return {ok_.load(std::memory_order_relaxed), errors_.load(std::memory_order_relaxed)};
}

void Worker::loop_once(Clock::time_point now, std::optional<Clock::time_point> end,
                       bool measuring) {
  expire(now);
  if (!retrying_.empty()) retry_connects();
  top_up(now, measuring);
  if (done(measuring)) return;  // all finished without waiting, e.g. every connect refused
  auto wake = std::min({timeouts_.front_deadline(), slow_sends_.front_deadline(),
                        end.value_or(Clock::time_point::max())});
  if (measuring && !stop_.load(std::memory_order_relaxed) && started_ < share_.count &&
      open_count(Role::measured) < share_.concurrency) {
    // Free slots left by top_up: it was paused after refusals, ran out of its turn's budget,
    // or waits for the open loop's schedule.
    wake = std::min(wake, std::max(share_.rate > 0 ? next_start_ : now, resume_at_));
  } else if (!measuring && resume_at_ > now) {
    // Opening the silent ones, paused after refusals or out of descriptors: with nothing else
    // open, no event would ever end the pause.
    wake = std::min(wake, resume_at_);
  }
  int timeout = wait_ms(now, wake);
  if (!retrying_.empty()) timeout = timeout < 0 ? 1 : std::min(timeout, 1);
  epoll_event events[kEvents];
  const auto ready = loop_.wait(events, timeout);
  if (!ready) {
    // epoll itself failing is a bug, not load: stop rather than spin, and say why.
    tally(Role::measured).last_other = ready.error().message();
    stop_.store(true, std::memory_order_relaxed);
    return;
  }
  for (const epoll_event& event : *ready) {
    if (event.data.u64 == loop::EventLoop::kWakeToken) {
      loop_.clear_wake();
    } else {
      on_event(static_cast<int>(event.data.u64), event.events);
    }
  }
}

bool Worker::done(bool measuring) {
  if (!measuring) {
    return open_count(Role::silent) + dropped(Role::silent) >= share_.silent &&
           silent_connecting_ == 0;
  }
  return started_ >= share_.count && open_count(Role::measured) == 0;
}

void Worker::top_up(Clock::time_point now, bool measuring) {
  if (stop_.load(std::memory_order_relaxed) || now < resume_at_) return;
  while (open_count(Role::silent) + dropped(Role::silent) < share_.silent &&
         silent_connecting_ < kSilentBatch) {
    start(Role::silent);
  }
  if (!measuring) return;
  while (open_count(Role::slow) + dropped(Role::slow) < share_.slow)
    start(Role::slow);
  // A connect that fails at once frees its slot at once: the turn's budget keeps this loop
  // from running on past the end of the run or a stop().
  int budget = share_.concurrency;
  while (open_count(Role::measured) < share_.concurrency && started_ < share_.count &&
         budget-- > 0 && now >= resume_at_) {
    if (share_.rate > 0) {
      if (now < next_start_) break;
      // Behind the schedule because every slot was busy: started now, and counted, rather
      // than skipped, so the server's stall shows in the report.
      if (now - next_start_ > kLate) ++outcome_.late_starts;
      next_start_ += interval_;
    }
    ++started_;
    if (config_.type == SocketType::datagram && !idle_datagram_.empty()) {
      const int fd = idle_datagram_.back();
      idle_datagram_.pop_back();
      arm(fd, Role::measured);
      conn(fd).phase = Phase::sending;
      send_message(fd);
    } else {
      start(Role::measured);
    }
  }
}

void Worker::pace_refusals(std::optional<ErrorKind> error, Clock::time_point now) {
  if (error != ErrorKind::connect_refused) {
    refused_in_a_row_ = 0;
  } else if (++refused_in_a_row_ >= kRefusalsBeforePause) {
    refused_in_a_row_ = 0;
    resume_at_ = now + kFailedConnectPause;
  }
}

void Worker::arm(int fd, Role role) {
  Conn& c = conn(fd);
  c.start = Clock::now();
  c.sent = c.matched = 0;
  c.wrong = false;
  c.role = role;
  c.phase = Phase::connecting;
  ++open_count(role);
  if (role == Role::silent) ++silent_connecting_;
  timeouts_.push_back(fd, c.start + config_.timeout);
}

void Worker::start(Role role) {
  auto socket = Socket::create(target_.family(), config_.type, Socket::Blocking::no);
  if (!socket) {
    tally(role).add_error(ErrorKind::other);
    tally(role).last_other = socket.error().message();
    resume_at_ = Clock::now() + kFailedConnectPause;  // out of descriptors: wait for some back
    if (role != Role::measured) ++dropped(role);
    return;
  }
  Fd owned = std::move(*socket).release();
  const int fd = owned.get();
  if (static_cast<size_t>(fd) >= conns_.size()) conns_.resize(static_cast<size_t>(fd) * 2 + 64);
  conn(fd).fd = std::move(owned);
  arm(fd, role);
  if (!config_.sources.empty()) {
    const SocketAddress& source = config_.sources[next_source_];
    next_source_ = (next_source_ + 1) % config_.sources.size();
    if (auto bound = bind_source(fd, source); !bound) {
      fail_errno(fd, "bind", bound.error().code());
      return;
    }
  }
  if (config_.type == SocketType::datagram && target_.is_unix()) {
    if (auto bound = autobind(fd); !bound) {
      fail_errno(fd, "bind", bound.error().code());
      return;
    }
  }
  const int code = ::connect(fd, target_.get(), target_.size()) == 0 ? 0 : errno;
  if (code == EAGAIN && target_.is_unix() && config_.type == SocketType::stream) {
    // A Unix listener's full backlog: unlike TCP there is no SYN to retransmit, so we retry.
    conn(fd).phase = Phase::retrying;
    retrying_.push_back(fd);
  } else if (code != 0 && code != EINPROGRESS) {
    fail_errno(fd, "connect", code);
  } else {
    begin(fd, code == 0);
  }
}

void Worker::begin(int fd, bool established) {
  Conn& c = conn(fd);
  c.phase = established ? Phase::sending : Phase::connecting;
  if (c.role != Role::measured) {
    if (auto added = loop_.add(fd, kInOut, static_cast<uint64_t>(fd)); !added) {
      return fail_errno(fd, "epoll_ctl", added.error().code());
    }
    if (established) connected(fd);
    return;
  }
  // Over loopback the handshake has usually completed inside connect() itself, so the request
  // goes at once and epoll is only asked for the reply.
  send_message(fd);
  if (c.phase == Phase::unused) return;
  // A datagram socket is kept for later requests, one of which may meet a full buffer.
  const bool reply_only = c.phase == Phase::awaiting && config_.type == SocketType::stream;
  if (auto added = loop_.add(fd, reply_only ? kIn : kInOut, static_cast<uint64_t>(fd)); !added) {
    fail_errno(fd, "epoll_ctl", added.error().code());
  }
}

void Worker::connected(int fd) {
  Conn& c = conn(fd);
  timeouts_.remove(fd);
  if (c.role == Role::silent) {
    --silent_connecting_;
    c.phase = Phase::held;
  } else {
    c.phase = Phase::waiting;
    slow_sends_.push_back(fd, Clock::now() + config_.slow_delay);
  }
}

void Worker::send_message(int fd) {
  Conn& c = conn(fd);
  const std::string& message = config_.message;
  const ssize_t sent = ::send(fd, message.data() + c.sent, message.size() - c.sent, MSG_NOSIGNAL);
  if (sent < 0) {
    // Not connected yet, or a full buffer: EPOLLOUT will say when to try again.
    if (errno == EAGAIN || errno == EINTR) return;
    return fail_errno(fd, c.phase == Phase::connecting ? "connect" : "send", errno);
  }
  c.sent += static_cast<uint32_t>(sent);
  c.phase = c.sent == message.size() ? Phase::awaiting : Phase::sending;
}

}  // namespace doorman::bench
