// The child's report of a failure before its exec (child_failure.hpp).
#include "doorman/server/child_failure.hpp"

#include <unistd.h>

#include <cerrno>

namespace doorman::server {

const char* step_name(ChildStep step) noexcept {
  switch (step) {
    case ChildStep::dup:
      return "fcntl F_DUPFD_CLOEXEC";
    case ChildStep::dup2:
      return "dup2";
    case ChildStep::execve:
      break;
  }
  return "execve";
}

// Async-signal-safe: tells the parent why, then exits as a shell would.
[[noreturn]] void fail_in_child(int report, ChildStep step, int code) noexcept {
  const ChildFailure failure{step, code};
  (void)!::write(report, &failure, sizeof(failure));
  ::_exit(step == ChildStep::execve ? 127 : 126);
}

bool read_child_failure(int report, ChildFailure& failure) noexcept {
  ssize_t count = 0;
  do {
    count = ::read(report, &failure, sizeof(failure));
  } while (count < 0 && errno == EINTR);
  return count == static_cast<ssize_t>(sizeof(failure));
}

}  // namespace doorman::server
