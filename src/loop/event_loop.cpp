#include "doorman/loop/event_loop.hpp"

#include <sys/eventfd.h>
#include <unistd.h>

#include <cerrno>
#include <string>

namespace doorman::loop {

Result<EventLoop> EventLoop::create() {
  Fd epoll(::epoll_create1(EPOLL_CLOEXEC));
  if (!epoll) return Error("epoll_create1", "", errno);
  Fd wake(::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC));
  if (!wake) return Error("eventfd", "", errno);
  EventLoop loop(std::move(epoll), std::move(wake));
  if (auto added = loop.add(loop.wake_.get(), EPOLLIN, kWakeToken); !added) {
    return std::move(added).error();
  }
  return loop;
}

Result<void> EventLoop::add(int fd, uint32_t events, uint64_t token) noexcept {
  return control(EPOLL_CTL_ADD, fd, events, token);
}

Result<void> EventLoop::modify(int fd, uint32_t events, uint64_t token) noexcept {
  return control(EPOLL_CTL_MOD, fd, events, token);
}

Result<void> EventLoop::remove(int fd) noexcept {
  return control(EPOLL_CTL_DEL, fd, 0, 0);
}

Result<void> EventLoop::control(int operation, int fd, uint32_t events, uint64_t token) noexcept {
  epoll_event event{};
  event.events = events;
  event.data.u64 = token;
  if (::epoll_ctl(epoll_.get(), operation, fd, &event) != 0) {
    const char* name = operation == EPOLL_CTL_ADD   ? "epoll_ctl(ADD)"
                       : operation == EPOLL_CTL_MOD ? "epoll_ctl(MOD)"
                                                    : "epoll_ctl(DEL)";
    return Error(name, "fd " + std::to_string(fd), errno);
  }
  return {};
}

Result<std::span<epoll_event>> EventLoop::wait(std::span<epoll_event> events,
                                               int timeout_ms) noexcept {
  const int ready =
      ::epoll_wait(epoll_.get(), events.data(), static_cast<int>(events.size()), timeout_ms);
  if (ready >= 0) return events.first(static_cast<size_t>(ready));
  if (errno == EINTR) return events.first(0);
  return Error("epoll_wait", "", errno);
}

void EventLoop::wake() noexcept {
  const uint64_t one = 1;
  // A full counter (EAGAIN) already means "wake up": nothing is lost.
  [[maybe_unused]] const ssize_t written = ::write(wake_.get(), &one, sizeof(one));
}

void EventLoop::clear_wake() noexcept {
  uint64_t count = 0;
  [[maybe_unused]] const ssize_t got = ::read(wake_.get(), &count, sizeof(count));
}

}  // namespace doorman::loop
