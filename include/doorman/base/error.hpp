#pragma once
// Error: a failed operation as one actionable line. Any thread.

#include <cerrno>
#include <string>

namespace doorman {

class Error {
 public:
  // A system call failed: `code` is its errno.
  Error(std::string operation, std::string address, int code, std::string hint = {});

  // Something other than a system call failed (a parse, a resolver, a protocol rule).
  static Error described(std::string operation, std::string address, std::string reason,
                         std::string hint = {});

  const std::string& operation() const noexcept { return operation_; }
  const std::string& address() const noexcept { return address_; }
  int code() const noexcept { return code_; }
  const std::string& hint() const noexcept { return hint_; }

  // "connection refused (ECONNREFUSED)", or the described reason.
  std::string reason() const;
  // "connect 127.0.0.1:8001: connection refused (ECONNREFUSED) — hint".
  std::string message() const;

 private:
  Error() = default;
  std::string operation_;
  std::string address_;
  int code_ = 0;
  std::string described_;
  std::string hint_;
};

// "connection refused (ECONNREFUSED)" for an errno: lower-case, as a sentence fragment.
std::string describe_errno(int code);
// "ECONNREFUSED" for an errno, or "errno N" where the name is unknown.
std::string errno_name(int code);

// A non-blocking call that would have had to wait: not a failure, try again when ready.
inline bool would_block(int code) noexcept {
  return code == EAGAIN || code == EWOULDBLOCK;
}

}  // namespace doorman
