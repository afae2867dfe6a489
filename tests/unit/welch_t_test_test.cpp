#include "../ct/welch_t_test.hpp"

#include <gtest/gtest.h>

#include <cmath>

using doorman::ct::WelchTTest;

TEST(WelchTTest, MatchesTheTextbookFormula) {
  // A: 1 2 3 4 (mean 2.5, variance 5/3); B: 2 4 6 8 (mean 5, variance 20/3).
  // t = (2.5 - 5) / sqrt(5/12 + 20/12) = -sqrt(3).
  WelchTTest test;
  for (double value : {1.0, 2.0, 3.0, 4.0})
    test.push(value, 0);
  for (double value : {2.0, 4.0, 6.0, 8.0})
    test.push(value, 1);
  EXPECT_EQ(test.count(0), 4U);
  EXPECT_DOUBLE_EQ(test.mean(1), 5.0);
  EXPECT_NEAR(test.t(), -std::sqrt(3.0), 1e-12);
}

TEST(WelchTTest, TheOrderOfArrivalDoesNotMatter) {
  WelchTTest interleaved;
  for (int i = 0; i < 4; ++i) {
    interleaved.push(i + 1.0, 0);
    interleaved.push(2.0 * (i + 1), 1);
  }
  EXPECT_NEAR(interleaved.t(), -std::sqrt(3.0), 1e-12);
}

TEST(WelchTTest, IsZeroUntilBothClassesHaveASpread) {
  WelchTTest test;
  EXPECT_EQ(test.t(), 0);
  test.push(1, 0);
  test.push(2, 0);
  test.push(5, 1);
  EXPECT_EQ(test.t(), 0);  // one value in class B: no variance yet
  WelchTTest constant;
  for (int i = 0; i < 3; ++i) {
    constant.push(7, 0);
    constant.push(7, 1);
  }
  EXPECT_EQ(constant.t(), 0);
}
