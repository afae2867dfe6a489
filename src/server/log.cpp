#include "doorman/server/log.hpp"

namespace doorman::server {
namespace {

// What the "N more" line calls a kind, the level it is told at, and its JSON event: the one of
// the kind's own lines, so that a line with "suppressed":N stands for N of them.
struct KindText {
  std::string_view plural;
  LogLevel level;
  std::string_view event;
};

KindText describe(LogKind kind) noexcept {
  switch (kind) {
    case LogKind::time_out:
      return {"time outs", LogLevel::warning, "time_out"};
    case LogKind::refused_over_limit:
      return {"connections refused over --max-connections", LogLevel::warning,
              "refused_over_limit"};
    case LogKind::out_of_descriptors:
      return {"connections closed for lack of file descriptors", LogLevel::warning,
              "out_of_descriptors"};
    case LogKind::accept_failed:
      return {"accept errors", LogLevel::error, "accept_failed"};
    case LogKind::bad_proxy_header:
      return {"connections closed for a bad PROXY header", LogLevel::warning, "bad_proxy_header"};
  }
  return {"lines", LogLevel::warning, ""};
}

}  // namespace

Log::Log(LogLevel level, LogFormat format, int fd, LogWriter::Options options)
    : level_(level),
      format_(format),
      writer_(fd, format, options,
              [this](LogWriter::Clock::time_point now) { tell_held_back(now); }) {}

void Log::emit(LogLevel level, std::string_view message, LogFields fields) const {
  char line[LogRing::kLineBytes];
  const size_t length =
      format_log_line(line, format_, std::chrono::system_clock::now(), level, message, fields);
  writer_.submit(std::string_view(line, length));
}

bool Log::admit(LogKind kind, LogLevel level) const {
  const RateLimiter::Decision decision =
      limiters_[static_cast<size_t>(kind)].admit(RateLimiter::Clock::now());
  if (decision.held_back != 0) tell_more(kind, level, decision.held_back);
  return decision.write;
}

void Log::tell_held_back(RateLimiter::Clock::time_point now) const {
  for (size_t index = 0; index < kLogKinds; ++index) {
    const auto kind = static_cast<LogKind>(index);
    const uint64_t count = limiters_[index].take_overdue(now);
    if (count != 0) tell_more(kind, describe(kind).level, count);
  }
}

void Log::tell_more(LogKind kind, LogLevel level, uint64_t count) const {
  const KindText text = describe(kind);
  const LogCount suppressed[] = {{"suppressed", count}};
  event(level, {text.event, "", suppressed}, "{} more {} in the last second", count, text.plural);
}

}  // namespace doorman::server
