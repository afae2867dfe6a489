#pragma once
// A Unix socket's path on the file system: PATH.lock, held from the check to the bind and then
// for as long as the server runs, so two servers starting at once on one path cannot both find
// the other's fresh socket "stale"; a stale socket file (its server died) is replaced, a live
// one refused; on exit the file is removed only while it is still the one this server created.
// Main thread.

#include <sys/types.h>

#include <optional>
#include <string>

#include "doorman/base/result.hpp"
#include "doorman/net/address.hpp"
#include "doorman/net/fd.hpp"
#include "doorman/net/socket_address.hpp"

namespace doorman::server {

// PATH.lock, held. Dropped while held, it removes the lock file first: a server waiting for the
// lock then finds the file replaced and opens the new one.
class UnixPathLock {
 public:
  // `label` names the socket's address in the error when another server holds the lock.
  static Result<UnixPathLock> take(const std::string& socket_path, const std::string& label);

  UnixPathLock() = default;  // holds nothing
  UnixPathLock(UnixPathLock&&) noexcept = default;
  UnixPathLock& operator=(UnixPathLock&& other) noexcept;
  ~UnixPathLock() { drop(); }

  explicit operator bool() const noexcept { return fd_.valid(); }
  Result<void> hand_to(uid_t uid, gid_t gid) const;

 private:
  UnixPathLock(std::string lock_path, Fd fd)
      : lock_path_(std::move(lock_path)), fd_(std::move(fd)) {}
  void drop() noexcept;

  std::string lock_path_;
  Fd fd_;
};

// With the path's lock held: makes way for a `type` socket at `path`, which `where` names. A
// stale socket file is removed; a live server's socket, or a file that is no socket, is refused.
Result<void> make_way_for_socket(const std::string& path, const SocketAddress& where,
                                 SocketType type);

// A Unix socket file this server is to remove on exit, with its lock when it holds one.
class UnixSocketFile {
 public:
  // The file the server's bind has just created at `path`; it takes `lock` along. Nothing when
  // no file is found there.
  static std::optional<UnixSocketFile> bound(const std::string& path, UnixPathLock& lock);
  // A handed-over socket's file, created by the server that handed it over; nothing when `path`
  // is no socket.
  static std::optional<UnixSocketFile> adopted(const std::string& path);

  const std::string& path() const noexcept { return path_; }
  // Gives the file and its lock to the user the server becomes, so that it can still remove
  // them on exit, in a sticky directory such as /tmp too.
  Result<void> hand_to(uid_t uid, gid_t gid) const;
  // Removes the file if it is still this one (another server may have replaced it since), then
  // the lock.
  void remove() noexcept;

 private:
  UnixSocketFile(std::string path, dev_t device, ino_t inode)
      : path_(std::move(path)), device_(device), inode_(inode) {}

  std::string path_;
  dev_t device_;
  ino_t inode_;
  UnixPathLock lock_;
};

}  // namespace doorman::server
