#include "doorman/base/failure.hpp"

#include <gtest/gtest.h>
#include <sysexits.h>

#include <cerrno>

using namespace doorman;

TEST(UsageFailure, NamesTheOption) {
  const Failure failure = usage_failure({"--timeout", "must be more than 0"});
  EXPECT_EQ(failure.exit_status, EX_USAGE);
  EXPECT_EQ(failure.message, "--timeout: must be more than 0");
}

TEST(UsageFailure, WithoutAnOptionIsTheReasonAlone) {
  const Failure failure = usage_failure({"", "--threads must not exceed --concurrency"});
  EXPECT_EQ(failure.exit_status, EX_USAGE);
  EXPECT_EQ(failure.message, "--threads must not exceed --concurrency");
}

TEST(SystemFailure, IsAnOsErrorWithTheErrorsLine) {
  const Error error("socket", "", EMFILE);
  const Failure failure = system_failure(error);
  EXPECT_EQ(failure.exit_status, EX_OSERR);
  EXPECT_EQ(failure.message, error.message());
}

TEST(ReportFailure, PrintsProgramAndMessageAndGivesTheStatus) {
  testing::internal::CaptureStderr();
  const int status = report_failure("doorman-client", {EX_NOHOST, "cannot resolve x:1: no"});
  EXPECT_EQ(testing::internal::GetCapturedStderr(), "doorman-client: cannot resolve x:1: no\n");
  EXPECT_EQ(status, EX_NOHOST);
}
