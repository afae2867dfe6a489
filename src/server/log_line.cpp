#include "doorman/server/log_line.hpp"

#include <algorithm>
#include <charconv>
#include <cstring>
#include <ctime>
#include <initializer_list>
#include <iterator>

#include "doorman/base/printable.hpp"

namespace doorman::server {
namespace {

// Appends to a fixed buffer, never past a reserved tail; stops at the first piece that does not
// fit, so a piece (an escape, a UTF-8 sequence) is never cut in two.
class BoundedAppender {
 public:
  BoundedAppender(std::span<char> out, size_t reserved) noexcept
      : out_(out), limit_(out.size() > reserved ? out.size() - reserved : 0) {}

  bool append(std::string_view piece) noexcept {
    if (full_ || piece.size() > limit_ - length_) {
      full_ = true;
      return false;
    }
    std::memcpy(out_.data() + length_, piece.data(), piece.size());
    length_ += piece.size();
    return true;
  }
  // Every piece, or none of them (a piece of JSON syntax cut in two would not parse).
  bool append_all(std::initializer_list<std::string_view> pieces) noexcept {
    size_t total = 0;
    for (std::string_view piece : pieces)
      total += piece.size();
    if (full_ || total > limit_ - length_) {
      full_ = true;
      return false;
    }
    for (std::string_view piece : pieces)
      append(piece);
    return true;
  }
  // Less room kept for the tail from now on (never more than the buffer).
  void reserve(size_t reserved) noexcept {
    limit_ = out_.size() > reserved ? out_.size() - reserved : 0;
    limit_ = std::max(limit_, length_);
  }
  // As much of `text` as fits, cut at any byte.
  void append_cut(std::string_view text) noexcept {
    if (!full_ && text.size() > limit_ - length_) {
      append(text.substr(0, limit_ - length_));
      full_ = true;
      return;
    }
    append(text);
  }
  // The tail, written into the reserved room.
  void finish(std::string_view tail) noexcept {
    const size_t room = out_.size() - length_;
    const size_t count = std::min(room, tail.size());
    std::memcpy(out_.data() + length_, tail.data(), count);
    length_ += count;
  }
  bool full() const noexcept { return full_; }
  size_t length() const noexcept { return length_; }

 private:
  std::span<char> out_;
  size_t limit_;
  size_t length_ = 0;
  bool full_ = false;
};

// The length of the valid UTF-8 sequence at the start of `text`, 0 if it is not one.
size_t utf8_sequence_length(std::string_view text) noexcept {
  const auto byte = [&](size_t i) { return static_cast<unsigned char>(text[i]); };
  const unsigned char first = byte(0);
  size_t length = 0;
  unsigned char low = 0x80, high = 0xbf;  // bounds of the second byte (RFC 3629's table)
  if (first >= 0xc2 && first <= 0xdf) {
    length = 2;
  } else if (first >= 0xe0 && first <= 0xef) {
    length = 3;
    if (first == 0xe0) low = 0xa0;
    if (first == 0xed) high = 0x9f;  // no UTF-16 surrogates
  } else if (first >= 0xf0 && first <= 0xf4) {
    length = 4;
    if (first == 0xf0) low = 0x90;
    if (first == 0xf4) high = 0x8f;
  } else {
    return 0;
  }
  if (text.size() < length || byte(1) < low || byte(1) > high) return 0;
  for (size_t i = 2; i < length; ++i) {
    if (byte(i) < 0x80 || byte(i) > 0xbf) return 0;
  }
  return length;
}

// Calls `piece` with each escaped piece of `text` in order, until it returns false.
template <typename Piece>
void for_each_json_piece(std::string_view text, Piece&& piece) {
  constexpr char kHex[] = "0123456789abcdef";
  size_t i = 0;
  while (i < text.size()) {
    const auto byte = static_cast<unsigned char>(text[i]);
    bool more = true;
    if (byte == '"') {
      more = piece("\\\"");
      ++i;
    } else if (byte == '\\') {
      more = piece("\\\\");
      ++i;
    } else if (byte < 0x20 || byte == 0x7f) {
      const char escape[] = {'\\', 'u', '0', '0', kHex[byte >> 4], kHex[byte & 0xf]};
      more = piece(std::string_view(escape, sizeof(escape)));
      ++i;
    } else if (byte < 0x80) {
      more = piece(text.substr(i, 1));
      ++i;
    } else if (const size_t length = utf8_sequence_length(text.substr(i)); length != 0) {
      more = piece(text.substr(i, length));
      i += length;
    } else {
      more = piece("\\ufffd");
      ++i;
    }
    if (!more) return;
  }
}

// `2024-05-01T12:00:00.123Z` (RFC 3339, UTC, milliseconds).
std::string_view format_time(std::chrono::system_clock::time_point time, char (&out)[32]) {
  const auto since_epoch =
      std::chrono::duration_cast<std::chrono::milliseconds>(time.time_since_epoch()).count();
  const std::time_t seconds = static_cast<std::time_t>(since_epoch / 1000);
  const auto millis = static_cast<unsigned>(since_epoch % 1000);
  std::tm utc{};
  ::gmtime_r(&seconds, &utc);
  size_t length = std::strftime(out, sizeof(out), "%Y-%m-%dT%H:%M:%S", &utc);
  out[length++] = '.';
  out[length++] = static_cast<char>('0' + millis / 100);
  out[length++] = static_cast<char>('0' + millis / 10 % 10);
  out[length++] = static_cast<char>('0' + millis % 10);
  out[length++] = 'Z';
  return {out, length};
}

// The JSON line: time, level, the fields, then msg. Each piece of syntax is written whole or not
// at all, and where the first piece that did not fit left the line decides how it is closed, so
// that a line cut short still parses and still has its msg.
size_t format_json_line(std::span<char> out, std::string_view when, LogLevel level,
                        std::string_view message, const LogFields& fields) noexcept {
  // The longest close: cut inside a field's value, the msg not begun.
  constexpr std::string_view kCutInValue = "...\",\"msg\":\"...\"}\n";
  constexpr std::string_view kCutBetweenFields = ",\"msg\":\"...\"}\n";
  constexpr std::string_view kCutInMessage = "...\"}\n";
  BoundedAppender line(out, kCutInValue.size());
  line.append_all({R"({"time":")", when, R"(","level":")", to_string(level), "\""});
  bool in_value = false;  // the line so far ends inside a field's string value
  const auto text_field = [&](std::string_view key, std::string_view value) {
    if (value.empty() || !line.append_all({",\"", key, "\":\""})) return;
    in_value = true;
    for_each_json_piece(value, [&](std::string_view piece) { return line.append(piece); });
    if (line.append("\"")) in_value = false;
  };
  text_field("event", fields.event);
  text_field("peer", fields.peer);
  for (const LogCount& count : fields.counts) {
    char digits[24];
    const auto written = std::to_chars(std::begin(digits), std::end(digits), count.value);
    line.append_all({",\"", count.key, "\":", std::string_view(digits, written.ptr)});
  }
  if (line.full()) {
    line.finish(in_value ? kCutInValue : kCutBetweenFields);
    return line.length();
  }
  // The fields are in: only the message can be cut now, and the room kept for the longest
  // close (at least 18 bytes) is more than `,"msg":"` needs.
  line.reserve(kCutInMessage.size());
  line.append(R"(,"msg":")");
  for_each_json_piece(message, [&](std::string_view piece) { return line.append(piece); });
  line.finish(line.full() ? kCutInMessage : "\"}\n");
  return line.length();
}

}  // namespace

Result<LogLevel> parse_log_level(std::string_view text) {
  if (text == "debug") return LogLevel::debug;
  if (text == "info") return LogLevel::info;
  if (text == "warning" || text == "warn") return LogLevel::warning;
  if (text == "error") return LogLevel::error;
  return Error::described("parse log level", quoted(text),
                          "expected debug, info, warning or error");
}

std::string_view to_string(LogLevel level) noexcept {
  switch (level) {
    case LogLevel::debug:
      return "debug";
    case LogLevel::info:
      return "info";
    case LogLevel::warning:
      return "warning";
    case LogLevel::error:
      return "error";
  }
  return "?";
}

Result<LogFormat> parse_log_format(std::string_view text) {
  if (text == "text") return LogFormat::text;
  if (text == "json") return LogFormat::json;
  return Error::described("parse log format", quoted(text), "expected text or json");
}

size_t format_log_line(std::span<char> out, LogFormat format,
                       std::chrono::system_clock::time_point time, LogLevel level,
                       std::string_view message, LogFields fields) noexcept {
  char stamp[32];
  const std::string_view when = format_time(time, stamp);
  if (format == LogFormat::text) {
    // Room kept for "...\n"; the message is cut at a byte, as text lines always were written.
    BoundedAppender line(out, 4);
    line.append(when);
    line.append(" ");
    line.append(to_string(level));
    line.append(" ");
    line.append_cut(message);
    line.finish(line.full() ? "...\n" : "\n");
    return line.length();
  }
  return format_json_line(out, when, level, message, fields);
}

std::string json_escaped(std::string_view text) {
  std::string escaped;
  escaped.reserve(text.size());
  for_each_json_piece(text, [&](std::string_view piece) {
    escaped += piece;
    return true;
  });
  return escaped;
}

}  // namespace doorman::server
