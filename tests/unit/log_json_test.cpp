// JSON log lines for machines: counts as numbers of their own, lines cut short that still parse
// and keep their msg, the rate limiter's "N more" line as the kind's event with "suppressed",
// and the counters named as /status.json names them.

#include <fcntl.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <chrono>
#include <string>

#include "doorman/server/counter_log.hpp"
#include "doorman/server/log.hpp"
#include "doorman/server/log_line.hpp"

using namespace doorman::server;
using namespace std::chrono_literals;

namespace {

const auto kSomeTime = std::chrono::system_clock::time_point(1714564800123ms);  // 2024-05-01
constexpr std::string_view kHead = R"({"time":"2024-05-01T12:00:00.123Z","level":"info")";

std::string json_line(std::string_view message, LogFields fields, size_t room = 1024) {
  std::string out(room, '\0');
  out.resize(format_log_line(out, LogFormat::json, kSomeTime, LogLevel::info, message, fields));
  return out;
}

std::string text_line(std::string_view message, LogFields fields) {
  std::string out(1024, '\0');
  out.resize(format_log_line(out, LogFormat::text, kSomeTime, LogLevel::info, message, fields));
  return out;
}

}  // namespace

TEST(LogJson, CountsAreNumbersOfTheirOwnAndTextLinesDoNotChange) {
  const LogCount counts[] = {{"draining", 3}, {"cut", 18446744073709551615u}};
  EXPECT_EQ(json_line("draining 3 connections", {"draining", "", counts}),
            std::string(kHead) + R"(,"event":"draining","draining":3,"cut":18446744073709551615,)"
                                 R"("msg":"draining 3 connections"})"
                                 "\n");
  EXPECT_EQ(text_line("draining 3 connections", {"draining", "", counts}),
            "2024-05-01T12:00:00.123Z info draining 3 connections\n");
}

TEST(LogJson, ALineCutInsideAFieldStillClosesAndHasItsMsg) {
  const std::string peer(200, 'p');
  const std::string line = json_line("time out", {"", peer}, 100);
  EXPECT_LE(line.size(), 100u);
  EXPECT_TRUE(line.starts_with(std::string(kHead) + R"(,"peer":"ppp)")) << line;
  EXPECT_TRUE(line.ends_with("ppp...\",\"msg\":\"...\"}\n")) << line;
}

TEST(LogJson, ACountThatDoesNotFitIsLeftOutWhole) {
  const LogCount counts[] = {{"accepted", 2}, {"welcomed", 1}, {"rejected", 1}};
  // 100 bytes keep 18 for the longest close: "accepted" fits exactly, "welcomed" does not.
  EXPECT_EQ(json_line("counters: ...", {"counters", "", counts}, 100),
            std::string(kHead) + R"(,"event":"counters","accepted":2,"msg":"..."})" + "\n");
}

TEST(LogJson, ALongMessageAfterTheCountsIsCutAsBefore) {
  const LogCount counts[] = {{"open", 1}};
  const std::string line = json_line(std::string(200, 'a'), {"counters", "", counts}, 100);
  EXPECT_EQ(line.size(), 100u);
  EXPECT_TRUE(line.starts_with(std::string(kHead) + R"(,"event":"counters","open":1,"msg":"aaa)"))
      << line;
  EXPECT_TRUE(line.ends_with("aaa...\"}\n")) << line;
}

TEST(LogJson, CountersAreNamedAsInStatusJsonWithOpenLast) {
  CounterValues total;
  total.accepted = 9;
  total.welcomed = 4;
  total.rejected = 2;
  total.empty = 1;
  total.timed_out = 1;
  total.refused_over_limit = 2;
  total.refused_no_descriptors = 3;
  total.errors = 1;
  total.bad_proxy_header = 7;
  const CounterCounts counts = counter_counts(total, 6);
  std::string keys;
  for (const LogCount& count : counts)
    keys += std::string(count.key) + "=" + std::to_string(count.value) + " ";
  EXPECT_EQ(keys,
            "accepted=9 welcomed=4 rejected=2 empty=1 timed_out=1 refused=5 errors=1 "
            "dropped_loop=0 dropped_over_rate=0 dropped_unbound_sender=0 bad_proxy_header=7 "
            "open=6 ");
  // The text keeps its old sums: rejected counts the empty requests too.
  EXPECT_EQ(tally(total), "9 accepted, 4 welcomed, 3 rejected, 1 timed out, 5 refused, 1 errors");
}

TEST(LogJson, TheHeldBackLineHasTheKindsEventAndHowManyItStandsFor) {
  int fds[2];
  ASSERT_EQ(::pipe2(fds, O_CLOEXEC), 0);
  {
    Log log(LogLevel::info, LogFormat::json, fds[1]);
    for (int i = 0; i < 13; ++i)
      log.warning_limited(LogKind::time_out, {"time_out", "127.0.0.1:5"}, "time out: {}", i);
    log.tell_held_back();
  }
  ::close(fds[1]);
  std::string text;
  char buffer[65536];
  for (ssize_t got; (got = ::read(fds[0], buffer, sizeof(buffer))) > 0;)
    text.append(buffer, static_cast<size_t>(got));
  ::close(fds[0]);
  const std::string last = text.substr(text.rfind('\n', text.size() - 2) + 1);
  EXPECT_EQ(last.substr(last.find(R"("level")")),  // the time varies
            R"("level":"warning","event":"time_out","suppressed":3,)"
            R"("msg":"3 more time outs in the last second"})"
            "\n")
      << text;
}
