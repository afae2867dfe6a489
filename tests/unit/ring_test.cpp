// Ring: receives draw provided buffers that are given back and reused, a receive in flight is
// cancelled by its tag, and completions come back in one submit-and-wait.

#include "doorman/loop/ring.hpp"

#include <gtest/gtest.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <string>
#include <vector>

namespace doorman::loop {
namespace {

constexpr uint64_t kTag = 42;

class RingTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (auto usable = Ring::probe(); !usable) {
      GTEST_SKIP() << "io_uring is not available here: " << usable.error().message();
    }
    ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, ends_), 0);
  }
  void TearDown() override {
    for (const int end : ends_) {
      if (end >= 0) ::close(end);
    }
  }

  static void queue_receive(Ring& ring, int fd) {
    io_uring_sqe& sqe = ring.next();
    io_uring_prep_recv(&sqe, fd, nullptr, 0, 0);
    sqe.flags |= IOSQE_BUFFER_SELECT;
    sqe.buf_group = Ring::kBufferGroup;
    io_uring_sqe_set_data64(&sqe, kTag);
  }

  // The completions of one submit-and-wait (at most 1 s).
  static std::vector<io_uring_cqe> turn(Ring& ring) {
    EXPECT_TRUE(ring.submit_and_wait(1000));
    std::vector<io_uring_cqe> seen;
    ring.completions([&](const io_uring_cqe& cqe) { seen.push_back(cqe); });
    return seen;
  }

  int ends_[2] = {-1, -1};
};

TEST_F(RingTest, ReceivesIntoBuffersThatAreGivenBackAndReused) {
  auto ring = Ring::create(8, 2, 64);
  ASSERT_TRUE(ring) << ring.error().message();
  // Five receives through two buffers: each is given back before the next.
  for (int round = 0; round < 5; ++round) {
    const std::string message = "request " + std::to_string(round);
    ASSERT_EQ(::write(ends_[1], message.data(), message.size()),
              static_cast<ssize_t>(message.size()));
    queue_receive(*ring, ends_[0]);
    const auto seen = turn(*ring);
    ASSERT_EQ(seen.size(), 1U);
    EXPECT_EQ(seen[0].user_data, kTag);
    EXPECT_EQ(ring->received(seen[0]), message);
    ring->give_back(seen[0]);
  }
}

TEST_F(RingTest, AReceiveLongerThanTheBufferIsCutAtItsSize) {
  auto ring = Ring::create(8, 2, 4);
  ASSERT_TRUE(ring) << ring.error().message();
  ASSERT_EQ(::write(ends_[1], "abcdef", 6), 6);
  queue_receive(*ring, ends_[0]);
  const auto seen = turn(*ring);
  ASSERT_EQ(seen.size(), 1U);
  EXPECT_EQ(ring->received(seen[0]), "abcd");
  ring->give_back(seen[0]);
}

TEST_F(RingTest, AReceiveInFlightIsCancelledByItsTag) {
  auto ring = Ring::create(8, 2, 64);
  ASSERT_TRUE(ring) << ring.error().message();
  queue_receive(*ring, ends_[0]);  // nothing was written: it waits
  EXPECT_TRUE(ring->submit_and_wait(0));
  io_uring_sqe& cancel = ring->next();
  io_uring_prep_cancel64(&cancel, kTag, 0);
  io_uring_sqe_set_data64(&cancel, kTag + 1);
  std::vector<io_uring_cqe> seen;
  for (int attempt = 0; attempt < 3 && seen.size() < 2; ++attempt) {
    for (const io_uring_cqe& cqe : turn(*ring))
      seen.push_back(cqe);
  }
  ASSERT_EQ(seen.size(), 2U);
  for (const io_uring_cqe& cqe : seen) {
    if (cqe.user_data == kTag) {
      EXPECT_EQ(cqe.res, -ECANCELED);
      EXPECT_EQ(ring->received(cqe), "");
    } else {
      EXPECT_EQ(cqe.user_data, kTag + 1);
      EXPECT_EQ(cqe.res, 0);  // found and cancelled
    }
  }
}

TEST_F(RingTest, AWaitWithNothingToCompleteEndsAtItsTimeout) {
  auto ring = Ring::create(8, 2, 64);
  ASSERT_TRUE(ring) << ring.error().message();
  // Returns (a timed-out wait is no error) with nothing completed.
  EXPECT_TRUE(ring->submit_and_wait(10));
  size_t completed = 0;
  ring->completions([&](const io_uring_cqe&) { ++completed; });
  EXPECT_EQ(completed, 0U);
}

}  // namespace
}  // namespace doorman::loop
