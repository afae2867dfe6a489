#include "doorman/server/log_writer.hpp"

#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <fmt/format.h>
#include <algorithm>
#include <cerrno>

namespace doorman::server {
namespace {

// Why poll() and writes of at most PIPE_BUF rather than O_NONBLOCK: the descriptor is usually
// stderr, whose open file description is shared with the shell or the service manager that
// started us; setting O_NONBLOCK on it would change their terminal too. A pipe reports POLLOUT
// when one of its buffers is free, and a write of at most PIPE_BUF bytes fits in one, so after
// POLLOUT such a write does not block. Lines are at most LogRing::kLineBytes, so a batch of
// whole lines up to PIPE_BUF is written in one write(2).
constexpr size_t kBatchBytes = PIPE_BUF;
static_assert(LogRing::kLineBytes <= kBatchBytes);

constexpr auto kTick = std::chrono::seconds(1);

int poll_timeout_ms(LogWriter::Clock::time_point until) {
  const auto now = LogWriter::Clock::now();
  if (until <= now) return 0;
  const auto left = std::chrono::ceil<std::chrono::milliseconds>(until - now).count();
  return static_cast<int>(std::min<decltype(left)>(left, 1000));
}

uint64_t lines_in(std::string_view text) {
  return static_cast<uint64_t>(std::count(text.begin(), text.end(), '\n'));
}

}  // namespace

LogWriter::LogWriter(int fd, LogFormat format, Options options,
                     std::function<void(Clock::time_point)> every_second)
    : fd_(fd),
      format_(format),
      options_(options),
      every_second_(std::move(every_second)),
      ring_(options.capacity),
      wake_(::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) {
  batch_.reserve(kBatchBytes);
  // The log thread takes no signal: SIGTERM and SIGINT are for the thread that sigwaits, and a
  // reader that closes the pipe is an EPIPE here, never a SIGPIPE.
  sigset_t all, previous;
  sigfillset(&all);
  pthread_sigmask(SIG_BLOCK, &all, &previous);
  thread_ = std::thread([this] { run(); });
  pthread_sigmask(SIG_SETMASK, &previous, nullptr);
}

LogWriter::~LogWriter() {
  stop();
}

void LogWriter::submit(std::string_view line) noexcept {
  if (finished_.load(std::memory_order_acquire)) {
    lost_.fetch_add(1, std::memory_order_relaxed);
    return;
  }
  if (!ring_.push(line)) return;
  // Pairs with the exchange in run_until_stopped(): both are read-modify-writes of one
  // variable, so one comes first. If the log thread's came first, this one reads `true` and
  // wakes it; if this one came first, the log thread's reads it and so sees the line pushed
  // before. (Fences would do the same, but ThreadSanitizer does not understand them.) The
  // write to an eventfd never blocks.
  if (sleeping_.exchange(false, std::memory_order_acq_rel) && wake_) {
    const uint64_t one = 1;
    [[maybe_unused]] const ssize_t written = ::write(wake_.get(), &one, sizeof(one));
  }
}

void LogWriter::stop() noexcept {
  if (!thread_.joinable()) return;
  stopping_.store(true);
  if (wake_) {
    const uint64_t one = 1;
    [[maybe_unused]] const ssize_t written = ::write(wake_.get(), &one, sizeof(one));
  }
  thread_.join();
}

void LogWriter::run() {
  run_until_stopped();
  finished_.store(true, std::memory_order_release);
}

void LogWriter::run_until_stopped() {
  auto next_tick = Clock::now() + kTick;
  for (;;) {
    const auto now = Clock::now();
    if (flush_deadline_ == Clock::time_point::max() && stopping_.load()) {
      flush_deadline_ = now + options_.flush_timeout;
      every_second_(Clock::time_point::max());  // what the rate limiters still hold back
    }
    if (now >= next_tick) {
      every_second_(now);
      report_dropped(false);
      next_tick = now + kTick;
    }
    if (refill()) {
      if (now >= flush_deadline_) return give_up();
      wait(POLLOUT, std::min(next_tick, flush_deadline_));
      continue;
    }
    if (flush_deadline_ != Clock::time_point::max()) {
      report_dropped(true);
      return;
    }
    // See submit(): a line pushed before a producer's exchange is seen here.
    sleeping_.exchange(true, std::memory_order_acq_rel);
    if (!ring_.front().empty() || stopping_.load()) {
      sleeping_.store(false, std::memory_order_relaxed);
      continue;
    }
    // Without an eventfd (none could be had), look at the queue often instead.
    wait(0, wake_ ? next_tick : std::min(next_tick, Clock::now() + std::chrono::milliseconds(20)));
    sleeping_.store(false, std::memory_order_relaxed);
  }
}

// Fills the batch with whole lines from the ring; true when there is something to write.
bool LogWriter::refill() {
  if (batch_written_ == batch_.size()) {
    batch_.clear();
    batch_written_ = 0;
  }
  for (;;) {
    const std::string_view line = ring_.front();
    if (line.empty() || batch_.size() + line.size() > kBatchBytes) break;
    batch_ += line;
    ring_.pop();
  }
  return batch_written_ < batch_.size();
}

// Waits until the descriptor takes `events` (then writes), a wake-up, or `until`.
void LogWriter::wait(short events, Clock::time_point until) {
  pollfd fds[2] = {{wake_.get(), POLLIN, 0}, {fd_, events, 0}};
  const nfds_t count = events != 0 ? 2 : 1;
  const int ready = ::poll(fds, count, poll_timeout_ms(until));
  if (ready <= 0) return;
  if (fds[0].revents & POLLIN) {
    uint64_t value = 0;
    [[maybe_unused]] const ssize_t got = ::read(wake_.get(), &value, sizeof(value));
  }
  if (events != 0 && fds[1].revents != 0) write_batch();
}

void LogWriter::write_batch() {
  const std::string_view pending = std::string_view(batch_).substr(batch_written_);
  const ssize_t written = ::write(fd_, pending.data(), pending.size());
  if (written >= 0) {
    batch_written_ += static_cast<size_t>(written);
  } else if (errno != EAGAIN && errno != EINTR) {
    // EPIPE (the reader is gone), EBADF, EIO...: those lines cannot be written anywhere.
    lost_.fetch_add(lines_in(pending), std::memory_order_relaxed);
    batch_written_ = batch_.size();
  }
}

// Says how many lines were dropped since it last said so, at most once a second.
void LogWriter::report_dropped(bool last_chance) {
  const uint64_t dropped_now = dropped();
  if (dropped_now == reported_) return;
  char line[LogRing::kLineBytes];
  const std::string message =
      fmt::format("{} log lines dropped (log reader too slow)", dropped_now - reported_);
  const LogCount dropped_count[] = {{"dropped", dropped_now - reported_}};
  const size_t length =
      format_log_line(line, format_, std::chrono::system_clock::now(), LogLevel::warning, message,
                      {"log_dropped", "", dropped_count});
  if (last_chance) {
    // The reader may still be stalled: one attempt, no wait.
    pollfd writable = {fd_, POLLOUT, 0};
    if (::poll(&writable, 1, 0) == 1 && (writable.revents & POLLOUT)) {
      [[maybe_unused]] const ssize_t written = ::write(fd_, line, length);
    }
  } else if (batch_.size() + length <= kBatchBytes) {
    batch_.append(line, length);
  } else {
    return;  // the next second
  }
  reported_ = dropped_now;
}

// The flush at stop ran out of time: count what is left as dropped and say so if possible.
void LogWriter::give_up() {
  uint64_t left = lines_in(std::string_view(batch_).substr(batch_written_));
  batch_.clear();
  batch_written_ = 0;
  for (std::string_view line = ring_.front(); !line.empty(); line = ring_.front()) {
    ring_.pop();
    ++left;
  }
  lost_.fetch_add(left, std::memory_order_relaxed);
  report_dropped(true);
}

}  // namespace doorman::server
