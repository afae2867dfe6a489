#pragma once
// One log line as it is written: a level, a format (text or JSON), and the code that turns a
// message into a line that fits a fixed-size slot of the log queue. Pure functions, any thread.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "doorman/base/result.hpp"

namespace doorman::server {

enum class LogLevel { debug, info, warning, error };
enum class LogFormat { text, json };

Result<LogLevel> parse_log_level(std::string_view text);
std::string_view to_string(LogLevel level) noexcept;
Result<LogFormat> parse_log_format(std::string_view text);

// A count a JSON line carries as a number of its own ("accepted":2): the counters of a summary.
struct LogCount {
  std::string_view key;
  uint64_t value = 0;
};

// What a line is about, for machines: JSON lines carry the event and peer as string keys (when
// not empty) and each count as a number key; text lines say it all in the message already. The
// counts are the caller's (an array on its stack): nothing is copied or allocated.
struct LogFields {
  std::string_view event;
  std::string_view peer;
  std::span<const LogCount> counts = {};
};

// text: `2024-05-01T12:00:00.123Z warning time out: ...` (the format since the first release);
// json: `{"time":"2024-05-01T12:00:00.123Z","level":"warning","event":"time_out",...,"msg":"..."}`.
// Writes the line with its newline into `out` and returns its length. A message too long for
// `out` is cut at a character boundary and ends with "..." (the JSON stays valid, with its msg).
size_t format_log_line(std::span<char> out, LogFormat format,
                       std::chrono::system_clock::time_point time, LogLevel level,
                       std::string_view message, LogFields fields = {}) noexcept;

// A JSON string's contents: quote and backslash escaped, control bytes as \u00XX, valid UTF-8
// kept, each byte of invalid UTF-8 as U+FFFD (a log line must parse whatever it quotes).
std::string json_escaped(std::string_view text);

}  // namespace doorman::server
