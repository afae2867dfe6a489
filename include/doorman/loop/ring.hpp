#pragma once
// Ring: one io_uring instance and the provided buffers its receives draw from. The thread that
// created it calls everything (it is set up for a single issuer).
//
// The io_uring engine (--engine io_uring) queues its operations here during a loop turn and
// hands them to the kernel together with the wait for completions, in one io_uring_enter: the
// kernel does the batching that the epoll engine pays one system call per step for.
//
// Receives pick their buffer from a provided-buffer ring when data arrives, so a connection
// waiting for its request holds no buffer: the user memory per idle connection stays its slot.

#include <liburing.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string_view>
#include <vector>

#include "doorman/base/result.hpp"

namespace doorman::loop {

class Ring {
 public:
  // The buffer group every receive selects from.
  static constexpr uint16_t kBufferGroup = 0;

  // Whether this process may use io_uring with every operation the engine issues (multishot
  // accept, recv with provided buffers, send, close, cancel by descriptor, multishot poll): the
  // reason if not (ENOSYS under seccomp, EPERM with kernel.io_uring_disabled, an old kernel).
  static Result<void> probe();

  // `buffers` receive buffers of `buffer_size` bytes each (a power of two count).
  static Result<Ring> create(unsigned entries, unsigned buffers, size_t buffer_size);

  Ring(Ring&& other) noexcept;
  Ring& operator=(Ring&&) = delete;
  ~Ring();

  // A submission entry to fill; when the queue is full, what is in it goes to the kernel first.
  // If the kernel takes none (an error, or a full queue kSubmitAttempts times), an entry that
  // is never submitted, and the next submit_and_wait or submit returns the reason.
  io_uring_sqe& next();
  // Submits what was queued and waits for one completion at most `timeout_ms` (below zero: for
  // ever; zero: not at all, as when completions are set aside). Interrupted or timed out is not
  // an error.
  Result<void> submit_and_wait(int timeout_ms);
  Result<void> submit();

  // Calls `take(cqe)` for every completion set aside, then every one in the completion queue
  // until it is empty: those that what `take` submits (next() may submit) posts at once are
  // taken too, those the kernel posts later wait for the next call. Each is marked seen before
  // it is taken, so that the completion queue has room for what `take` submits.
  template <typename Take>
  void completions(Take&& take) {
    for (size_t index = 0; index < set_aside_.size(); ++index)
      take(io_uring_cqe(set_aside_[index]));
    set_aside_.clear();
    io_uring_cqe* cqe = nullptr;
    while (io_uring_peek_cqe(ring_.get(), &cqe) == 0 && cqe != nullptr) {
      const io_uring_cqe copy = *cqe;
      io_uring_cqe_seen(ring_.get(), cqe);
      take(copy);
    }
  }

  // The bytes a receive's completion put into its provided buffer (IORING_CQE_F_BUFFER).
  std::string_view received(const io_uring_cqe& cqe) const noexcept;
  // Gives the completion's buffer back to the kernel, if it took one.
  void give_back(const io_uring_cqe& cqe) noexcept;
  size_t buffer_size() const noexcept { return buffer_size_; }

 private:
  Ring(std::unique_ptr<io_uring> ring, size_t buffer_size) noexcept;

  std::unique_ptr<io_uring> ring_;
  io_uring_buf_ring* buffer_ring_ = nullptr;  // mapped: buffer_ring_bytes_
  size_t buffer_ring_bytes_ = 0;
  char* buffers_ = nullptr;  // mapped: buffers_bytes_, touched only where the kernel writes
  size_t buffers_bytes_ = 0;
  size_t buffer_size_ = 0;
  unsigned buffer_count_ = 0;
  // Completions taken off a full queue so that a submission could go on (next()); completions()
  // hands them out first.
  std::vector<io_uring_cqe> set_aside_;
  // next(): why the kernel took no submission, and the entry handed out instead.
  static constexpr int kSubmitAttempts = 16;
  std::optional<Error> failure_;
  std::unique_ptr<io_uring_sqe> discarded_;  // (a flexible array member: not a member itself)
};

}  // namespace doorman::loop
