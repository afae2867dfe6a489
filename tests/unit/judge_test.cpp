#include "doorman/proto/judge.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

using namespace doorman::proto;

TEST(Judge, ThePasswordIsWelcomed) {
  EXPECT_EQ(judge("1", "1"), Verdict::welcome);
}
TEST(Judge, AnythingElseIsSentAway) {
  for (const std::string& request :
       std::vector<std::string>{"2", "11", "1\n", " 1", "", "welcome", std::string(1024, '1')}) {
    EXPECT_EQ(judge(request, "1"), Verdict::go_away) << request;
  }
}
TEST(Judge, ByteForByteIncludingNul) {
  const std::string password("a\0b", 3);
  EXPECT_EQ(judge(std::string("a\0b", 3), password), Verdict::welcome);
  EXPECT_EQ(judge(std::string("a\0c", 3), password), Verdict::go_away);
  EXPECT_EQ(judge("a", password), Verdict::go_away);
}
TEST(Judge, RepliesAreTheTutorialsExactBytes) {
  EXPECT_EQ(reply_for(Verdict::welcome), "welcome to server!");
  EXPECT_EQ(reply_for(Verdict::go_away), "please go out!");
}
TEST(ConstantTimeEqual, Basics) {
  EXPECT_TRUE(constant_time_equal("", ""));
  EXPECT_TRUE(constant_time_equal("secret", "secret"));
  EXPECT_FALSE(constant_time_equal("secret", "secreT"));
  EXPECT_FALSE(constant_time_equal("secret", "secret!"));
  EXPECT_FALSE(constant_time_equal("secre", "secret"));
  EXPECT_FALSE(constant_time_equal("", "secret"));
  EXPECT_FALSE(constant_time_equal("x", ""));
}
TEST(ConstantTimeEqual, APrefixOfThePasswordRepeatedIsNotEqual) {
  // The password is indexed modulo its length: a request that repeats it must still differ.
  EXPECT_FALSE(constant_time_equal("abab", "ab"));
  EXPECT_FALSE(constant_time_equal("ab", "abab"));
}
