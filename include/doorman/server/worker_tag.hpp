#pragma once
// What the worker's epoll registrations and io_uring operations carry as their 64-bit user
// data: what the descriptor is (epoll) or which operation it is for (io_uring), and the
// descriptor, so that an event or a completion finds its connection and a cancel finds an
// operation by its tag (worker.cpp, worker_ring.cpp, worker_ring_close.cpp). Thread of the
// worker. The two never meet: a worker waits on one engine at a time.

#include <concepts>
#include <cstdint>
#include <type_traits>

namespace doorman::server::worker_tag {

// An epoll registration's (the epoll engine, and the datagram sockets under either).
enum class Kind : uint32_t { stream_listener = 1, datagram_socket, connection };
// An io_uring operation's.
enum class Op : uint32_t { accept = 1, wake, receive, send, close, cancel };

template <typename What>
concept Tagged = std::is_enum_v<What> && std::same_as<std::underlying_type_t<What>, uint32_t>;

template <Tagged What>
constexpr uint64_t tag(What what, int fd) {
  return (uint64_t{static_cast<uint32_t>(what)} << 32) | static_cast<uint32_t>(fd);
}
template <Tagged What>
constexpr What what_of(uint64_t tag) {
  return static_cast<What>(tag >> 32);
}
constexpr int fd_of(uint64_t tag) {
  return static_cast<int>(tag & 0xffffffffU);
}

}  // namespace doorman::server::worker_tag
