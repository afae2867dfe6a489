#include "doorman/base/duration.hpp"

#include <gtest/gtest.h>

using namespace doorman;
using namespace std::chrono_literals;

TEST(Duration, BareNumberIsSeconds) {
  EXPECT_EQ(*parse_duration("5"), 5s);
}
TEST(Duration, Units) {
  EXPECT_EQ(*parse_duration("2s"), 2s);
  EXPECT_EQ(*parse_duration("500ms"), 500ms);
  EXPECT_EQ(*parse_duration("250us"), 250us);
  EXPECT_EQ(*parse_duration("7ns"), 7ns);
  EXPECT_EQ(*parse_duration("2m"), 120s);
  EXPECT_EQ(*parse_duration("1h"), 3600s);
}
TEST(Duration, Fractions) {
  EXPECT_EQ(*parse_duration("0.5s"), 500ms);
  EXPECT_EQ(*parse_duration("0.5"), 500ms);
  EXPECT_EQ(*parse_duration("1.5ms"), 1500us);
}
TEST(Duration, Zero) {
  EXPECT_EQ(*parse_duration("0"), 0s);
}
TEST(Duration, RejectsGarbage) {
  for (const char* text : {"", "s", "ms", "abc", "5x", "-1", "-1s", "1e3", "5 s", " 5", "nan",
                           "inf", "1..2", "99999999999999h"}) {
    auto parsed = parse_duration(text);
    EXPECT_FALSE(parsed.ok()) << text;
  }
}
TEST(Duration, ErrorSaysWhatIsExpected) {
  auto parsed = parse_duration("soon");
  ASSERT_FALSE(parsed.ok());
  EXPECT_NE(parsed.error().message().find("'soon'"), std::string::npos);
  EXPECT_NE(parsed.error().message().find("500ms"), std::string::npos);
}
TEST(Duration, FormatsShortestExactForm) {
  EXPECT_EQ(format_duration(5s), "5s");
  EXPECT_EQ(format_duration(500ms), "500ms");
  EXPECT_EQ(format_duration(1500ms), "1500ms");
  EXPECT_EQ(format_duration(250us), "250us");
  EXPECT_EQ(format_duration(7ns), "7ns");
  EXPECT_EQ(format_duration(0s), "0s");
}
TEST(Duration, FormatRoundTrips) {
  for (auto d : {1s, 2s, 10s})
    EXPECT_EQ(*parse_duration(format_duration(d)), d);
  EXPECT_EQ(*parse_duration(format_duration(123ms)), 123ms);
}
TEST(Duration, NonFiniteIsNotCalledNegative) {
  for (const char* text : {"nan", "inf", "infs"}) {
    auto parsed = parse_duration(text);
    ASSERT_FALSE(parsed.ok()) << text;
    EXPECT_EQ(parsed.error().reason().find("negative"), std::string::npos) << text;
  }
}
// Found by fuzzing (fuzz/duration.cpp): a whole number of nanoseconds above 2^53 went through a
// double and came back rounded, so format_duration's text did not parse to the same duration.
TEST(Duration, WholeNumbersAreExactUpToTheLongest) {
  EXPECT_EQ(*parse_duration("999999999999999999ns"), Duration(999'999'999'999'999'999));
  EXPECT_EQ(*parse_duration("9007199254740993ns"), Duration(9'007'199'254'740'993));
  EXPECT_EQ(*parse_duration("1000000000s"), Duration(1'000'000'000'000'000'000));
  EXPECT_FALSE(parse_duration("1000000000000000001ns").ok());
  EXPECT_FALSE(parse_duration("99999999999999999999999999ns").ok());
  for (const Duration d : {Duration(834'029'160'418'063'613), Duration(999'999'999'999'999'999),
                           Duration(123'456'789'123'456'789)}) {
    EXPECT_EQ(*parse_duration(format_duration(d)), d) << format_duration(d);
  }
}
