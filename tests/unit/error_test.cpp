#include "doorman/base/error.hpp"

#include <gtest/gtest.h>

#include <cerrno>

using namespace doorman;

TEST(Error, SystemErrorNamesOperationAddressReasonAndErrno) {
  Error error("connect", "127.0.0.1:8001", ECONNREFUSED);
  EXPECT_EQ(error.message(), "connect 127.0.0.1:8001: connection refused (ECONNREFUSED)");
  EXPECT_EQ(error.code(), ECONNREFUSED);
}
TEST(Error, HintFollowsTheReason) {
  Error error("bind", "127.0.0.1:80", EACCES, "ports below 1024 need root or CAP_NET_BIND_SERVICE");
  EXPECT_EQ(error.message(),
            "bind 127.0.0.1:80: permission denied (EACCES) \xE2\x80\x94 ports below 1024 need root "
            "or CAP_NET_BIND_SERVICE");
}
TEST(Error, DescribedErrorHasNoErrno) {
  auto error = Error::described("resolve", "nosuch.invalid:8001", "host not found");
  EXPECT_EQ(error.code(), 0);
  EXPECT_EQ(error.message(), "resolve nosuch.invalid:8001: host not found");
}
TEST(Error, DescribedErrorTakesAHintToo) {
  auto error = Error::described("parse", "'x'", "not an address", "try host:port");
  EXPECT_EQ(error.hint(), "try host:port");
  EXPECT_EQ(error.message(), "parse 'x': not an address \xE2\x80\x94 try host:port");
}
TEST(Error, WithoutAddress) {
  EXPECT_EQ(Error("epoll_create1", "", EMFILE).message(),
            "epoll_create1: too many open files (EMFILE)");
}
TEST(Error, ErrnoNames) {
  EXPECT_EQ(errno_name(EADDRINUSE), "EADDRINUSE");
  EXPECT_EQ(errno_name(ETIMEDOUT), "ETIMEDOUT");
  EXPECT_EQ(describe_errno(EADDRINUSE), "address already in use (EADDRINUSE)");
}
TEST(Error, UnknownErrnoStillPrints) {
  EXPECT_FALSE(describe_errno(4000).empty());
  EXPECT_FALSE(errno_name(4000).empty());
}
