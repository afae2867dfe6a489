#pragma once
// Log: one line per event, with time and level, as text or JSON, on stderr. Any thread, and no
// thread ever waits for the reader: lines go through a bounded queue to a log thread
// (LogWriter); when the reader is too slow they are dropped and counted. Repeated warnings of
// one kind are rate-limited: one line a second, then "N more ...". Constructed and destroyed
// by the main thread; destruction writes what is still queued (at most a second of waiting).

#include <fmt/format.h>

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <iterator>
#include <string_view>

#include "doorman/base/result.hpp"
#include "doorman/server/log_line.hpp"
#include "doorman/server/log_writer.hpp"
#include "doorman/server/rate_limiter.hpp"

namespace doorman::server {

// The warnings that come in floods, each rate-limited on its own.
enum class LogKind {
  time_out,
  refused_over_limit,
  out_of_descriptors,
  accept_failed,
  bad_proxy_header,
};
inline constexpr size_t kLogKinds = 5;

class Log {
 public:
  explicit Log(LogLevel level = LogLevel::info, LogFormat format = LogFormat::text, int fd = 2,
               LogWriter::Options options = {});
  ~Log() = default;  // the writer flushes and stops first: it is the last member

  Log(const Log&) = delete;
  Log& operator=(const Log&) = delete;

  bool enabled(LogLevel level) const noexcept {
    return level >= level_.load(std::memory_order_relaxed);
  }
  // A reload's --log-level (B5): lines from any thread follow it from their next check.
  void set_level(LogLevel level) const noexcept { level_.store(level, std::memory_order_relaxed); }

  template <typename... Args>
  void write(LogLevel level, fmt::format_string<Args...> format, Args&&... args) const {
    if (!enabled(level)) return;
    // Formatted on the stack (fmt's inline buffer): no allocation for an ordinary line.
    fmt::memory_buffer message;
    fmt::vformat_to(std::back_inserter(message), format, fmt::make_format_args(args...));
    emit(level, std::string_view(message.data(), message.size()));
  }
  // A line about one event (and peer): JSON lines carry them as keys of their own.
  template <typename... Args>
  void event(LogLevel level, LogFields fields, fmt::format_string<Args...> format,
             Args&&... args) const {
    if (!enabled(level)) return;
    fmt::memory_buffer message;
    fmt::vformat_to(std::back_inserter(message), format, fmt::make_format_args(args...));
    emit(level, std::string_view(message.data(), message.size()), fields);
  }
  template <typename... Args>
  void debug(fmt::format_string<Args...> format, Args&&... args) const {
    write(LogLevel::debug, format, std::forward<Args>(args)...);
  }
  template <typename... Args>
  void info(fmt::format_string<Args...> format, Args&&... args) const {
    write(LogLevel::info, format, std::forward<Args>(args)...);
  }
  template <typename... Args>
  void warning(fmt::format_string<Args...> format, Args&&... args) const {
    write(LogLevel::warning, format, std::forward<Args>(args)...);
  }
  template <typename... Args>
  void error(fmt::format_string<Args...> format, Args&&... args) const {
    write(LogLevel::error, format, std::forward<Args>(args)...);
  }

  // At most kBurst lines of `kind` a second; the ones held back are told as one line, "N more
  // time outs in the last second", before the next one or at the latest a second later. In JSON
  // that line has the kind's event and "suppressed":N.
  template <typename... Args>
  void warning_limited(LogKind kind, fmt::format_string<Args...> format, Args&&... args) const {
    if (enabled(LogLevel::warning) && admit(kind, LogLevel::warning)) {
      write(LogLevel::warning, format, std::forward<Args>(args)...);
    }
  }
  template <typename... Args>
  void warning_limited(LogKind kind, LogFields fields, fmt::format_string<Args...> format,
                       Args&&... args) const {
    if (enabled(LogLevel::warning) && admit(kind, LogLevel::warning)) {
      event(LogLevel::warning, fields, format, std::forward<Args>(args)...);
    }
  }
  template <typename... Args>
  void error_limited(LogKind kind, LogFields fields, fmt::format_string<Args...> format,
                     Args&&... args) const {
    if (enabled(LogLevel::error) && admit(kind, LogLevel::error)) {
      event(LogLevel::error, fields, format, std::forward<Args>(args)...);
    }
  }

  // The rate limit of warning_limited asked on its own, for a line whose arguments cost
  // something to build (a peer's name): true when a line of `kind` may be written now, and then
  // it counts as written. Write it with event().
  bool admits_limited(LogKind kind, LogLevel level) const {
    return enabled(level) && admit(kind, level);
  }

  // Tells now what the rate limiters hold back (before a last line, say).
  void tell_held_back() const { tell_held_back(RateLimiter::Clock::time_point::max()); }

  // Lines lost so far because the reader was too slow (or the descriptor failed).
  uint64_t dropped() const noexcept { return writer_.dropped(); }

 private:
  void emit(LogLevel level, std::string_view message, LogFields fields = {}) const;
  bool admit(LogKind kind, LogLevel level) const;
  void tell_held_back(RateLimiter::Clock::time_point now) const;
  void tell_more(LogKind kind, LogLevel level, uint64_t count) const;

  // Mutable: the level is a setting a reload changes, not part of what the log is.
  mutable std::atomic<LogLevel> level_;
  const LogFormat format_;
  // Up to ten lines of a kind a second are all written, so a few silent clients each get their
  // own `time out` line; a flood is summed up in one "N more" line.
  static constexpr uint64_t kBurst = 10;
  static_assert(kLogKinds == 5);
  mutable std::array<RateLimiter, kLogKinds> limiters_{
      RateLimiter(std::chrono::seconds(1), kBurst), RateLimiter(std::chrono::seconds(1), kBurst),
      RateLimiter(std::chrono::seconds(1), kBurst), RateLimiter(std::chrono::seconds(1), kBurst),
      RateLimiter(std::chrono::seconds(1), kBurst)};
  mutable LogWriter writer_;  // last: its thread uses the members above until it stops
};

}  // namespace doorman::server
