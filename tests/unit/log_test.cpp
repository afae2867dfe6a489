// The log's parts: the queue (LogRing), the rate limiter on its own clock, the line formats and
// JSON escaping, and the log thread against a pipe that is read late or never.

#include <fcntl.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "doorman/server/log.hpp"
#include "doorman/server/log_line.hpp"
#include "doorman/server/log_ring.hpp"
#include "doorman/server/log_writer.hpp"
#include "doorman/server/rate_limiter.hpp"

using namespace doorman::server;
using namespace std::chrono_literals;

namespace {

std::vector<std::string> drain(LogRing& ring) {
  std::vector<std::string> lines;
  for (std::string_view line = ring.front(); !line.empty(); line = ring.front()) {
    lines.emplace_back(line);
    ring.pop();
  }
  return lines;
}

std::vector<std::string> split_lines(const std::string& text) {
  std::vector<std::string> lines;
  size_t start = 0;
  for (size_t end = text.find('\n'); end != std::string::npos; end = text.find('\n', start)) {
    lines.push_back(text.substr(start, end - start));
    start = end + 1;
  }
  return lines;
}

// A pipe whose read end the test drains when it chooses.
struct Pipe {
  Pipe() {
    int fds[2];
    EXPECT_EQ(::pipe2(fds, O_CLOEXEC), 0);
    read_end = fds[0];
    write_end = fds[1];
  }
  ~Pipe() {
    ::close(read_end);
    if (write_end >= 0) ::close(write_end);
  }
  // Everything written so far (the write end must be closed first, or the pipe non-empty).
  std::string read_all() {
    ::fcntl(read_end, F_SETFL, O_NONBLOCK);
    std::string text;
    char buffer[65536];
    for (;;) {
      const ssize_t got = ::read(read_end, buffer, sizeof(buffer));
      if (got <= 0) return text;
      text.append(buffer, static_cast<size_t>(got));
    }
  }
  void fill() {
    ::fcntl(write_end, F_SETFL, O_NONBLOCK);
    const std::string block(4096, 'x');
    while (::write(write_end, block.data(), block.size()) > 0) {
    }
    ::fcntl(write_end, F_SETFL, 0);
  }
  int read_end = -1;
  int write_end = -1;
};

const auto kSomeTime = std::chrono::system_clock::time_point(1714564800123ms);  // 2024-05-01

std::string line_of(LogFormat format, LogLevel level, std::string_view message,
                    size_t room = LogRing::kLineBytes) {
  std::string out(room, '\0');
  out.resize(format_log_line(out, format, kSomeTime, level, message));
  return out;
}

}  // namespace

// --- The queue -------------------------------------------------------------------------------

TEST(LogRing, GivesLinesBackInOrder) {
  LogRing ring(4);
  EXPECT_TRUE(ring.front().empty());
  EXPECT_TRUE(ring.push("one\n"));
  EXPECT_TRUE(ring.push("two\n"));
  EXPECT_EQ(drain(ring), (std::vector<std::string>{"one\n", "two\n"}));
  EXPECT_EQ(ring.dropped(), 0u);
}

TEST(LogRing, WhenFullDropsAndCountsWithoutWaiting) {
  LogRing ring(4);
  for (int i = 0; i < 4; ++i)
    EXPECT_TRUE(ring.push("kept\n"));
  EXPECT_FALSE(ring.push("lost\n"));
  EXPECT_FALSE(ring.push("lost\n"));
  EXPECT_EQ(ring.dropped(), 2u);
  EXPECT_EQ(drain(ring).size(), 4u);
  EXPECT_TRUE(ring.push("room again\n"));  // the slots go round
  EXPECT_EQ(drain(ring), std::vector<std::string>{"room again\n"});
}

TEST(LogRing, CapacityIsAPowerOfTwo) {
  EXPECT_EQ(LogRing(5).capacity(), 8u);
  EXPECT_EQ(LogRing(512).capacity(), 512u);
}

TEST(LogRing, KeepsEachProducersOrderAndCountsEveryLine) {
  constexpr int kProducers = 4;
  constexpr int kLines = 20000;
  LogRing ring(64);
  std::vector<std::string> received;
  std::atomic<int> done{0};
  std::vector<std::thread> producers;
  for (int p = 0; p < kProducers; ++p) {
    producers.emplace_back([&, p] {
      for (int i = 0; i < kLines; ++i)
        ring.push(std::to_string(p) + " " + std::to_string(i) + "\n");
      done.fetch_add(1);
    });
  }
  while (done.load() < kProducers || !ring.front().empty()) {
    const std::string_view line = ring.front();
    if (line.empty()) {
      std::this_thread::yield();
      continue;
    }
    received.emplace_back(line);
    ring.pop();
  }
  for (auto& producer : producers)
    producer.join();

  std::vector<int> last(kProducers, -1);
  for (const std::string& line : received) {
    const int producer = std::stoi(line);
    const int index = std::stoi(line.substr(line.find(' ') + 1));
    EXPECT_GT(index, last[static_cast<size_t>(producer)]) << "out of order: " << line;
    last[static_cast<size_t>(producer)] = index;
  }
  EXPECT_EQ(received.size() + ring.dropped(), size_t{kProducers} * kLines);
}

// --- The rate limiter ------------------------------------------------------------------------

TEST(RateLimiter, WritesOneLineAWindowAndCountsTheRest) {
  RateLimiter limiter(1s);
  const auto start = RateLimiter::Clock::time_point(100s);
  EXPECT_TRUE(limiter.admit(start).write);
  EXPECT_FALSE(limiter.admit(start + 100ms).write);
  EXPECT_FALSE(limiter.admit(start + 999ms).write);
  const auto next = limiter.admit(start + 1s);
  EXPECT_TRUE(next.write);
  EXPECT_EQ(next.held_back, 2u);  // "2 more" before the new line
  EXPECT_EQ(limiter.admit(start + 1500ms).held_back, 0u);
}

TEST(RateLimiter, TellsWhatAStoppedFloodHeldBackOnceTheWindowEnds) {
  RateLimiter limiter(1s);
  const auto start = RateLimiter::Clock::time_point(100s);
  EXPECT_EQ(limiter.take_overdue(start), 0u);
  limiter.admit(start);
  limiter.admit(start + 10ms);
  limiter.admit(start + 20ms);
  EXPECT_EQ(limiter.take_overdue(start + 500ms), 0u);  // the window is still open
  EXPECT_EQ(limiter.take_overdue(start + 1s), 2u);
  EXPECT_EQ(limiter.take_overdue(start + 2s), 0u);  // told once
  const auto next = limiter.admit(start + 3s);
  EXPECT_TRUE(next.write);
  EXPECT_EQ(next.held_back, 0u);
}

TEST(RateLimiter, WritesABurstAWindowThenCounts) {
  RateLimiter limiter(1s, 3);
  const auto start = RateLimiter::Clock::time_point(100s);
  int written = 0;
  for (int i = 0; i < 10; ++i)
    written += limiter.admit(start + std::chrono::milliseconds(i)).write ? 1 : 0;
  EXPECT_EQ(written, 3);
  const auto next = limiter.admit(start + 1s);
  EXPECT_TRUE(next.write);
  EXPECT_EQ(next.held_back, 7u);
}

TEST(RateLimiter, AQuietKindWritesEveryLine) {
  RateLimiter limiter(1s);
  for (int second = 0; second < 5; ++second) {
    const auto decision =
        limiter.admit(RateLimiter::Clock::time_point(std::chrono::seconds(second)));
    EXPECT_TRUE(decision.write);
    EXPECT_EQ(decision.held_back, 0u);
  }
}

// --- Line formats ----------------------------------------------------------------------------

TEST(LogLine, TextIsTimeLevelMessage) {
  EXPECT_EQ(line_of(LogFormat::text, LogLevel::warning, "time out: 127.0.0.1:5 sent nothing"),
            "2024-05-01T12:00:00.123Z warning time out: 127.0.0.1:5 sent nothing\n");
}

TEST(LogLine, JsonIsOneObjectWithTimeLevelAndMsg) {
  EXPECT_EQ(line_of(LogFormat::json, LogLevel::info, "listening on 127.0.0.1:8001"),
            R"({"time":"2024-05-01T12:00:00.123Z","level":"info",)"
            R"("msg":"listening on 127.0.0.1:8001"})"
            "\n");
}

TEST(LogLine, JsonCarriesTheEventAndPeerTextDoesNot) {
  std::string json(1024, '\0');
  json.resize(format_log_line(json, LogFormat::json, kSomeTime, LogLevel::warning,
                              "time out: 127.0.0.1:5 sent nothing", {"time_out", "127.0.0.1:5"}));
  EXPECT_EQ(json, R"({"time":"2024-05-01T12:00:00.123Z","level":"warning","event":"time_out",)"
                  R"("peer":"127.0.0.1:5","msg":"time out: 127.0.0.1:5 sent nothing"})"
                  "\n");
  std::string text(1024, '\0');
  text.resize(format_log_line(text, LogFormat::text, kSomeTime, LogLevel::warning,
                              "time out: 127.0.0.1:5 sent nothing", {"time_out", "127.0.0.1:5"}));
  EXPECT_EQ(text, "2024-05-01T12:00:00.123Z warning time out: 127.0.0.1:5 sent nothing\n");
}

TEST(LogLine, TooLongMessagesAreCutAndMarked) {
  const std::string message(200, 'a');
  const std::string text = line_of(LogFormat::text, LogLevel::info, message, 64);
  EXPECT_EQ(text.size(), 64u);
  EXPECT_TRUE(text.ends_with("aaa...\n")) << text;
  const std::string json = line_of(LogFormat::json, LogLevel::info, message, 100);
  EXPECT_LE(json.size(), 100u);
  EXPECT_TRUE(json.ends_with("aaa...\"}\n")) << json;
}

TEST(LogLine, JsonNeverCutsAnEscapeInTwo) {
  const std::string message(200, '\n');
  const std::string json = line_of(LogFormat::json, LogLevel::info, message, 100);
  EXPECT_TRUE(json.ends_with("\\u000a...\"}\n")) << json;
}

TEST(LogLine, ParsesLevelsAndFormats) {
  EXPECT_EQ(*parse_log_format("text"), LogFormat::text);
  EXPECT_EQ(*parse_log_format("json"), LogFormat::json);
  EXPECT_FALSE(parse_log_format("xml"));
  EXPECT_EQ(*parse_log_level("warn"), LogLevel::warning);
}

TEST(JsonEscaped, QuotesAndBackslashes) {
  EXPECT_EQ(json_escaped(R"(say "hi" \ bye)"), R"(say \"hi\" \\ bye)");
}

TEST(JsonEscaped, ControlBytesAsUnicodeEscapes) {
  EXPECT_EQ(json_escaped(std::string("a\nb\r\t\x1b[0m\x7f", 10)),
            "a\\u000ab\\u000d\\u0009\\u001b[0m\\u007f");
  EXPECT_EQ(json_escaped(std::string("\0", 1)), "\\u0000");
}

TEST(JsonEscaped, KeepsValidUtf8AndReplacesInvalidBytes) {
  EXPECT_EQ(json_escaped("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80"),
            "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80");
  EXPECT_EQ(json_escaped("\xff"), "\\ufffd");
  EXPECT_EQ(json_escaped("\xc3"), "\\ufffd");                        // cut sequence
  EXPECT_EQ(json_escaped("\xc0\xaf"), "\\ufffd\\ufffd");             // overlong
  EXPECT_EQ(json_escaped("\xed\xa0\x80"), "\\ufffd\\ufffd\\ufffd");  // a surrogate
}

// --- The log thread --------------------------------------------------------------------------

TEST(Log, WritesEveryLineInOrderBeforeItIsDestroyed) {
  Pipe pipe;
  {
    Log log(LogLevel::info, LogFormat::text, pipe.write_end);
    for (int i = 0; i < 100; ++i)
      log.info("line {}", i);
    log.debug("not at info");
  }
  const std::vector<std::string> lines = split_lines(pipe.read_all());
  ASSERT_EQ(lines.size(), 100u);
  for (int i = 0; i < 100; ++i) {
    EXPECT_TRUE(lines[static_cast<size_t>(i)].ends_with(" info line " + std::to_string(i)))
        << lines[static_cast<size_t>(i)];
  }
}

TEST(Log, AStalledReaderCostsDroppedLinesNeverAWait) {
  Pipe pipe;
  pipe.fill();  // nobody reads: the pipe is full
  const auto started = std::chrono::steady_clock::now();
  {
    LogWriter::Options options;
    options.capacity = 64;
    options.flush_timeout = 200ms;
    Log log(LogLevel::info, LogFormat::text, pipe.write_end, options);
    const auto logging = std::chrono::steady_clock::now();
    for (int i = 0; i < 1000; ++i)
      log.warning("time out: client {} sent nothing", i);
    EXPECT_LT(std::chrono::steady_clock::now() - logging, 500ms) << "a log call waited";
    // Kept: the 64 queued, and the log thread's batch waiting for the pipe (4 KiB of lines).
    EXPECT_GE(log.dropped(), 1000u - 64u - 4096u / 40u);
  }  // the flush at stop gives up after flush_timeout
  EXPECT_LT(std::chrono::steady_clock::now() - started, 3s);
}

TEST(Log, SaysHowManyLinesWereDroppedOnceTheReaderReads) {
  Pipe pipe;
  pipe.fill();
  LogWriter::Options options;
  options.capacity = 8;
  Log log(LogLevel::info, LogFormat::text, pipe.write_end, options);
  for (int i = 0; i < 50; ++i)
    log.info("line {}", i);
  // Kept: the 8 queued, and what the log thread took into its batch meanwhile.
  const uint64_t dropped = log.dropped();
  EXPECT_GE(dropped, 1u);
  // Reading makes room; within about a second the log thread writes what it kept and says how
  // many it dropped.
  std::string text;
  const auto deadline = std::chrono::steady_clock::now() + 5s;
  while (text.find("log lines dropped") == std::string::npos &&
         std::chrono::steady_clock::now() < deadline) {
    text += pipe.read_all();
    std::this_thread::sleep_for(10ms);
  }
  text.erase(0, text.find_first_not_of('x'));  // the filling
  EXPECT_NE(text.find(fmt::format("warning {} log lines dropped (log reader too slow)\n", dropped)),
            std::string::npos)
      << text;
  size_t written = 0;
  for (const std::string& line : split_lines(text))
    written += line.find(" info line ") != std::string::npos ? 1 : 0;
  EXPECT_EQ(written + dropped, 50u) << text;
}

TEST(Log, RateLimitedWarningsSayHowManyMore) {
  Pipe pipe;
  {
    Log log(LogLevel::info, LogFormat::text, pipe.write_end);
    // The first ten of a second are written, the rest summed up.
    for (int i = 0; i < 25; ++i)
      log.warning_limited(LogKind::time_out, "time out: client {}", i);
    log.warning_limited(LogKind::refused_over_limit, "refused {}", 0);
    log.tell_held_back();
  }
  const std::vector<std::string> lines = split_lines(pipe.read_all());
  ASSERT_EQ(lines.size(), 12u) << pipe.read_all();
  for (size_t i = 0; i < 10; ++i) {
    EXPECT_TRUE(lines[i].ends_with(" warning time out: client " + std::to_string(i))) << lines[i];
  }
  EXPECT_TRUE(lines[10].ends_with(" warning refused 0")) << lines[10];
  EXPECT_TRUE(lines[11].ends_with(" warning 15 more time outs in the last second")) << lines[11];
}
