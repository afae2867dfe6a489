#pragma once
// Where the password comes from besides --password, which every user can read in `ps` (B10):
// a file, or the DOORMAN_PASSWORD environment variable, scrubbed from the process once read.
// Main thread, before any other thread starts (it edits the environment).

#include <sys/types.h>

#include <optional>
#include <string>

#include "doorman/base/result.hpp"

namespace doorman::server {

inline constexpr const char* kPasswordVariable = "DOORMAN_PASSWORD";

// The value of DOORMAN_PASSWORD, if it is set (even empty), removed from the environment and
// its bytes overwritten in place: /proc/PID/environ shows the environment block the process
// started with, which unsetenv() alone leaves as it was.
std::optional<std::string> take_password_from_environment();

struct PasswordFile {
  std::string password;  // the first line, without its "\n" or "\r\n"
  // Set when group or others may read or write the file: worth a warning, not a refusal.
  std::optional<std::string> warning;
};

// The password in `path`. Errors name the path and the reason, never the file's contents. The
// file must be owned by root, by the user this process runs as, or by `run_as` (--user, the user
// it is about to become): any other owner could rewrite it.
Result<PasswordFile> read_password_file(const std::string& path, std::optional<uid_t> run_as);

}  // namespace doorman::server
