#pragma once
// --pid-file (B12): the server's process id, written by the process that starts (root, before
// --user takes effect, as a service manager expects) once every socket listens, and removed on
// exit while it still names this process. A server that upgraded (SIGUSR2) finds the new one's
// id there and leaves the file to it. Main thread.

#include <sys/types.h>

#include <optional>
#include <string>

#include "doorman/base/result.hpp"

namespace doorman::server {

// Whom the file is given to: the --user the server is about to become.
struct PidFileOwner {
  uid_t uid;
  gid_t gid;
};

class PidFile {
 public:
  // Writes the id atomically: a temporary file beside `path`, fsync, rename over it. A reader
  // sees the old content or the new, never a part. With `owner`, the file is that user's, so
  // that the server can still write it (an upgrade, the id again) and empty it once it is
  // no longer root. Where the directory lets no temporary file be made (a server no longer
  // root, in a root-owned /run), the file it was given is written in place instead.
  static Result<PidFile> write(std::string path, std::optional<PidFileOwner> owner = {});
  // An upgrade that failed after the new process wrote its id: this process's id again.
  Result<void> reclaim() const;

  PidFile() = default;
  PidFile(PidFile&& other) noexcept;
  PidFile& operator=(PidFile&& other) noexcept;
  // Removes the file while it names this process; emptied instead when the directory does not
  // let this process remove it (a server that gave up root, in a root-owned directory), so that
  // no stale id can be taken for a live server's; the next start writes it again.
  ~PidFile();

 private:
  explicit PidFile(std::string path) : path_(std::move(path)) {}
  std::string path_;  // empty: nothing to remove
};

}  // namespace doorman::server
