#include "doorman/bench/report.hpp"

#include <gtest/gtest.h>

using doorman::bench::ErrorKind;
using doorman::bench::Report;
using doorman::bench::Tally;
using namespace std::chrono_literals;

namespace {

Report sample() {
  Report report{.target = "127.0.0.1:8001", .type = "stream", .concurrency = 50, .threads = 1};
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

}  // namespace
