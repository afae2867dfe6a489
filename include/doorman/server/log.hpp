#pragma once
// Log: one line per event on stderr, with time and level. Any thread: a line is one write(2),
// so lines from different workers never interleave.

#include <fmt/format.h>

#include <string_view>

#include "doorman/base/result.hpp"

namespace doorman::server {

enum class LogLevel { debug, info, warning, error };

Result<LogLevel> parse_log_level(std::string_view text);
std::string_view to_string(LogLevel level) noexcept;

class Log {
 public:
  explicit Log(LogLevel level = LogLevel::info, int fd = 2) : level_(level), fd_(fd) {}

  bool enabled(LogLevel level) const noexcept { return level >= level_; }

  template <typename... Args>
  void write(LogLevel level, fmt::format_string<Args...> format, Args&&... args) const {
    if (!enabled(level)) return;
    emit(level, fmt::vformat(format, fmt::make_format_args(args...)));
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

 private:
  void emit(LogLevel level, std::string_view message) const;

  LogLevel level_;
  int fd_;
};

}  // namespace doorman::server
