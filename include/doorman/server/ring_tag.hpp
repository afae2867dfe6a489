#pragma once
// What an io_uring operation of the worker carries as its user data: the operation and the
// descriptor it is for, so that a completion finds its connection and a cancel finds the
// operation by its tag (worker_ring.cpp, worker_ring_close.cpp). Thread of the worker.

#include <cstdint>

namespace doorman::server::ring_tag {

enum class Op : uint32_t { accept = 1, wake, receive, send, close, cancel };

constexpr uint64_t tag(Op op, int fd) {
  return (uint64_t{static_cast<uint32_t>(op)} << 32) | static_cast<uint32_t>(fd);
}
constexpr Op op_of(uint64_t tag) {
  return static_cast<Op>(tag >> 32);
}
constexpr int fd_of(uint64_t tag) {
  return static_cast<int>(tag & 0xffffffffU);
}

}  // namespace doorman::server::ring_tag
