#pragma once
// EventLoop: one epoll instance and its wake-up eventfd. The loop's thread calls everything but
// wake(), which any thread may call.
//
// Registrations carry a 64-bit token chosen by the caller (the worker packs a kind and a
// descriptor into it), so dispatch needs no allocation and no lookup. Closing a descriptor
// removes it from epoll (we never dup them): remove() is only for one that stays open.

#include <sys/epoll.h>

#include <cstdint>
#include <span>

#include "doorman/base/result.hpp"
#include "doorman/net/fd.hpp"

namespace doorman::loop {

class EventLoop {
 public:
  // The token that wait() reports when another thread called wake().
  static constexpr uint64_t kWakeToken = ~uint64_t{0};

  static Result<EventLoop> create();

  Result<void> add(int fd, uint32_t events, uint64_t token) noexcept;
  Result<void> modify(int fd, uint32_t events, uint64_t token) noexcept;
  Result<void> remove(int fd) noexcept;

  // Ready events into `events`; a timeout below zero waits for ever. An interrupted wait
  // reports no events; any other failure (EBADF, EINVAL, EFAULT: a bug, not bad luck) is an
  // error, so that a loop cannot spin on it unseen.
  Result<std::span<epoll_event>> wait(std::span<epoll_event> events, int timeout_ms) noexcept;

  void wake() noexcept;
  // Resets the wake-up after kWakeToken was reported.
  void clear_wake() noexcept;
  // For a loop that waits elsewhere (the io_uring engine): readable after wake().
  int wake_descriptor() const noexcept { return wake_.get(); }

 private:
  EventLoop(Fd epoll, Fd wake) : epoll_(std::move(epoll)), wake_(std::move(wake)) {}
  Result<void> control(int operation, int fd, uint32_t events, uint64_t token) noexcept;
  Fd epoll_;
  Fd wake_;
};

}  // namespace doorman::loop
