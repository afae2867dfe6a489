#include "doorman/net/fd.hpp"

#include <unistd.h>

namespace doorman {

void Fd::reset(int fd) noexcept {
  // close() is not retried on EINTR: on Linux the descriptor is released either way, and a retry
  // could close a descriptor another thread has just been given.
  if (fd_ >= 0) ::close(fd_);
  fd_ = fd;
}

}  // namespace doorman
