#include "doorman/loop/event_loop.hpp"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <climits>
#include <string>

using doorman::loop::EventLoop;

namespace {

// The descriptor the next open() returns: the lowest free one (the test is single-threaded).
int next_descriptor() {
  const int probe = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  ::close(probe);
  return probe;
}

std::string link_of(int fd) {
  char target[PATH_MAX] = "";
  const std::string path = "/proc/self/fd/" + std::to_string(fd);
  const ssize_t size = ::readlink(path.c_str(), target, sizeof(target) - 1);
  return size > 0 ? std::string(target, static_cast<size_t>(size)) : std::string();
}

}  // namespace

TEST(EventLoop, WaitReportsAWakeUp) {
  auto loop = EventLoop::create();
  ASSERT_TRUE(loop.ok());
  loop->wake();
  std::array<epoll_event, 4> events{};
  const auto ready = loop->wait(events, 1000);
  ASSERT_TRUE(ready.ok());
  ASSERT_EQ(ready->size(), 1U);
  EXPECT_EQ((*ready)[0].data.u64, EventLoop::kWakeToken);
}

// epoll_wait failing for another reason than a signal fails again on every call: taken for "no
// events", it would make the loop spin at full CPU without a word. It must be an error.
TEST(EventLoop, AFailedWaitIsAnErrorNotAnEmptyTurn) {
  const int epoll_fd = next_descriptor();
  auto loop = EventLoop::create();
  ASSERT_TRUE(loop.ok());
  ASSERT_EQ(link_of(epoll_fd), "anon_inode:[eventpoll]");
  // The loop's descriptor becomes something that is no epoll instance: EINVAL from now on.
  const int not_epoll = ::eventfd(0, EFD_CLOEXEC);
  ASSERT_GE(not_epoll, 0);
  ASSERT_EQ(::dup2(not_epoll, epoll_fd), epoll_fd);
  ::close(not_epoll);
  std::array<epoll_event, 4> events{};
  for (int turn = 0; turn < 2; ++turn) {
    const auto ready = loop->wait(events, 0);
    ASSERT_FALSE(ready.ok());
    EXPECT_EQ(ready.error().operation(), "epoll_wait");
    EXPECT_EQ(ready.error().code(), EINVAL);
  }
}
