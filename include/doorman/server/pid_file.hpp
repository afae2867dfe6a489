#pragma once
// --pid-file (B12): the server's process id, written once it serves and removed on exit while it
// still names this process. A server that upgraded (SIGUSR2) finds the new one's id there and
// leaves the file to it. Main thread.

#include <string>

#include "doorman/base/result.hpp"

namespace doorman::server {

class PidFile {
 public:
  // Writes the id atomically: a temporary file beside `path`, fsync, rename over it. A reader
  // sees the old content or the new, never a part.
  static Result<PidFile> write(std::string path);
  // An upgrade that failed after the new process wrote its id: this process's id again.
  Result<void> reclaim() const;

  PidFile() = default;
  PidFile(PidFile&& other) noexcept;
  PidFile& operator=(PidFile&& other) noexcept;
  ~PidFile();

 private:
  explicit PidFile(std::string path) : path_(std::move(path)) {}
  std::string path_;  // empty: nothing to remove
};

}  // namespace doorman::server
