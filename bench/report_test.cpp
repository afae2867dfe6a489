#include "doorman/bench/report.hpp"

#include <gtest/gtest.h>

#include <csignal>

#include "doorman/bench/verdict.hpp"

using doorman::bench::ErrorKind;
using doorman::bench::Report;
using doorman::bench::Tally;
using doorman::bench::Verdict;
using namespace std::chrono_literals;

namespace {

Report sample() {
  Report report{.target = "127.0.0.1:8001",
                .type = "stream",
                .concurrency = 50,
                .threads = 1,
                .expect = "welcome to server!"};
  report.elapsed = 2s;
  report.measured.ok = 200;
  for (int i = 1; i <= 200; ++i)
    report.measured.latency.record(std::chrono::microseconds(i));
  return report;
}

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

TEST(Report, ConnectionsPerSecondCountsTheOkOnes) {
  Report report = sample();
  report.measured.add_error(ErrorKind::timeout);
  EXPECT_DOUBLE_EQ(report.connections_per_second(), 100.0);
}

TEST(Report, UnreachableOnlyWhenEveryConnectWasRefused) {
  Report report;
  EXPECT_FALSE(unreachable(report));  // nothing happened at all: not a refusal
  report.measured.add_error(ErrorKind::connect_refused);
  EXPECT_TRUE(unreachable(report));
  report.measured.add_error(ErrorKind::connect_timeout);
  EXPECT_FALSE(unreachable(report));
  Report some_ok = sample();
  some_ok.measured.add_error(ErrorKind::connect_refused);
  EXPECT_FALSE(unreachable(some_ok));
}

TEST(Report, TallyMergeAddsEveryCount) {
  Tally a, b;
  a.ok = 2;
  a.add_error(ErrorKind::reset);
  b.ok = 3;
  b.add_error(ErrorKind::reset);
  b.add_error(ErrorKind::other);
  b.last_other = "connect 127.0.0.1:1: cannot assign requested address (EADDRNOTAVAIL)";
  b.latency.record(1ms);
  a.merge(b);
  EXPECT_EQ(a.ok, 5u);
  EXPECT_EQ(a.errors[static_cast<size_t>(ErrorKind::reset)], 2u);
  EXPECT_EQ(a.error_count(), 3u);
  EXPECT_EQ(a.last_other, b.last_other);
  EXPECT_EQ(a.latency.count(), 1u);
}

TEST(Report, TextNamesCountsRateAndPercentiles) {
  const std::string text = format_text(sample());
  EXPECT_TRUE(contains(text, "200 ok, 0 errors in 2.000s: 100 per second")) << text;
  EXPECT_TRUE(contains(text, "p50 100us")) << text;
  EXPECT_TRUE(contains(text, "p99.9 ")) << text;
  EXPECT_TRUE(contains(text, "max 200us")) << text;
  EXPECT_TRUE(contains(text, "errors       none")) << text;
}

TEST(Report, TextListsOnlyTheErrorsThatHappened) {
  Report report = sample();
  report.measured.add_error(ErrorKind::connect_refused);
  report.measured.add_error(ErrorKind::wrong_reply);
  report.measured.add_error(ErrorKind::wrong_reply);
  const std::string text = format_text(report);
  EXPECT_TRUE(contains(text, "connect refused 1, wrong reply 2")) << text;
  EXPECT_FALSE(contains(text, "timeout")) << text;
}

TEST(Report, JsonHasEveryFieldAndEveryErrorKind) {
  Report report = sample();
  report.measured.add_error(ErrorKind::closed_without_reply);
  const std::string json = format_json(report);
  EXPECT_EQ(json.front(), '{');
  EXPECT_EQ(json.back(), '}');
  for (const char* part :
       {"\"ok\":200", "\"errors\":1", "\"connections_per_second\":100.0", "\"rate\":null",
        "\"connect_refused\":0", "\"connect_timeout\":0", "\"reset\":0",
        "\"closed_without_reply\":1", "\"wrong_reply\":0", "\"timeout\":0", "\"other\":0",
        "\"p50\":100.", "\"p99.9\":", "\"max\":200.0", "\"interrupted\":false"}) {
    EXPECT_TRUE(contains(json, part)) << part << " not in " << json;
  }
}

TEST(Report, JsonEscapesStrings) {
  Report report = sample();
  report.measured.last_other = "a \"quoted\"\\ line\n";
  const std::string json = format_json(report);
  EXPECT_TRUE(contains(json, R"("a \"quoted\"\\ line\u000a")")) << json;
}

TEST(Report, TextShowsTheFirstWrongReplyEscaped) {
  Report report = sample();
  report.measured.add_error(ErrorKind::wrong_reply);
  report.measured.first_wrong_reply = "go\n\x1b[2J";
  const std::string text = format_text(report);
  EXPECT_TRUE(contains(text, R"(first wrong  'go\x0a\x1b[2J' (expected 'welcome to server!'))"))
      << text;
  EXPECT_TRUE(contains(format_json(report), R"("first_wrong_reply":"go\\x0a\\x1b[2J")"))
      << format_json(report);
}

TEST(Report, TotalErrorsCountsEveryClass) {
  Report report = sample();
  report.measured.add_error(ErrorKind::reset);
  report.silent_held.add_error(ErrorKind::wrong_reply);
  report.slow_clients.add_error(ErrorKind::timeout);
  EXPECT_EQ(total_errors(report), 3u);
}

TEST(Verdict, SignalThenUnreachableThenMaxErrors) {
  Report report = sample();
  EXPECT_EQ(judge(report, std::nullopt).status, 0);
  report.measured.add_error(ErrorKind::reset);
  report.measured.add_error(ErrorKind::reset);
  EXPECT_EQ(judge(report, std::nullopt).status, 0);
  EXPECT_EQ(judge(report, 2).status, 0);
  const Verdict over = judge(report, 1);
  EXPECT_EQ(over.status, doorman::bench::kExitTooManyErrors);
  EXPECT_EQ(over.message, "2 errors, more than --max-errors 1");
  report.stop_signal = SIGTERM;
  EXPECT_EQ(judge(report, 1).status, 143);

  Report refused;
  refused.measured.add_error(ErrorKind::connect_refused);
  EXPECT_EQ(judge(refused, 0).status, 69);
  refused.stop_signal = SIGINT;
  const Verdict interrupted = judge(refused, 0);
  EXPECT_EQ(interrupted.status, 130);
  EXPECT_TRUE(contains(interrupted.message, "SIGINT")) << interrupted.message;
}

}  // namespace
