#include "doorman/server/unix_path.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>

#include "doorman/net/socket.hpp"

namespace doorman::server {

namespace {

// Is a live server behind this Unix socket file? A stale one (its server died) refuses. A
// live one may still not answer the probe: it serves the other socket type (EPROTOTYPE), or its
// queue is full (the probe times out); both mean the address is in use.
Result<void> refuse_if_live(const SocketAddress& address, SocketType type) {
  const std::string label = address.to_string();
  auto probe = Socket::create(AF_UNIX, type);
  if (!probe) return std::move(probe).error();
  auto connected = probe->connect(address, std::chrono::seconds(1));
  if (connected) return Error("bind", label, EADDRINUSE, "a running server answers on that socket");
  switch (const int code = connected.error().code()) {
    case ECONNREFUSED:
      return {};
    case EPROTOTYPE:
      return Error("bind", label, EADDRINUSE,
                   "a running server of the other socket type (stream or dgram) owns it");
    case ETIMEDOUT:
    case EAGAIN:
      return Error("bind", label, EADDRINUSE,
                   "a running server owns it and does not accept (its queue is full)");
    default:
      return Error("connect (to look for a running server)", label, code);
  }
}

}  // namespace

// A lock file replaced while we waited for it (its holder removed it on exit) is not ours: open
// the new one.
Result<UnixPathLock> UnixPathLock::take(const std::string& socket_path, const std::string& label) {
  std::string lock_path = socket_path + ".lock";
  for (int attempt = 0; attempt < 8; ++attempt) {
    Fd lock(::open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600));
    if (!lock) return Error("open lock file", lock_path, errno);
    if (::flock(lock.get(), LOCK_EX | LOCK_NB) != 0) {
      if (errno == EWOULDBLOCK) {
        return Error("bind", label, EADDRINUSE,
                     "another doorman-server holds " + lock_path + " for that path");
      }
      return Error("lock", lock_path, errno);
    }
    struct stat held {};
    struct stat named {};
    if (::fstat(lock.get(), &held) == 0 && ::stat(lock_path.c_str(), &named) == 0 &&
        held.st_dev == named.st_dev && held.st_ino == named.st_ino) {
      return UnixPathLock(std::move(lock_path), std::move(lock));
    }
  }
  return Error::described("lock", lock_path, "the lock file keeps being replaced");
}

UnixPathLock& UnixPathLock::operator=(UnixPathLock&& other) noexcept {
  if (this != &other) {
    drop();
    lock_path_ = std::move(other.lock_path_);
    fd_ = std::move(other.fd_);
  }
  return *this;
}

void UnixPathLock::drop() noexcept {
  if (fd_) ::unlink(lock_path_.c_str());
  fd_.reset();
}

Result<void> UnixPathLock::hand_to(uid_t uid, gid_t gid) const {
  if (fd_ && ::fchown(fd_.get(), uid, gid) != 0) return Error("chown", lock_path_, errno);
  return {};
}

Result<void> make_way_for_socket(const std::string& path, const SocketAddress& where,
                                 SocketType type) {
  struct stat existing {};
  if (::lstat(path.c_str(), &existing) != 0) return {};
  const std::string label = where.to_string();
  if (!S_ISSOCK(existing.st_mode)) {
    return Error::described("bind", label, "the path exists and is not a socket",
                            "remove it or choose another path");
  }
  if (auto live = refuse_if_live(where, type); !live) return live;
  // A stale socket file, left by a server that died: ours to replace.
  if (::unlink(path.c_str()) != 0 && errno != ENOENT) {
    return Error("remove stale socket", label, errno);
  }
  return {};
}

std::optional<UnixSocketFile> UnixSocketFile::bound(const std::string& path, UnixPathLock& lock) {
  struct stat created {};
  if (::lstat(path.c_str(), &created) != 0) return std::nullopt;
  UnixSocketFile file(path, created.st_dev, created.st_ino);
  file.lock_ = std::move(lock);
  return file;
}

std::optional<UnixSocketFile> UnixSocketFile::adopted(const std::string& path) {
  struct stat now {};
  if (::lstat(path.c_str(), &now) != 0 || !S_ISSOCK(now.st_mode)) return std::nullopt;
  return UnixSocketFile(path, now.st_dev, now.st_ino);
}

Result<void> UnixSocketFile::hand_to(uid_t uid, gid_t gid) const {
  if (::lchown(path_.c_str(), uid, gid) != 0) return Error("chown", path_, errno);
  return lock_.hand_to(uid, gid);
}

void UnixSocketFile::remove() noexcept {
  struct stat now {};
  if (::lstat(path_.c_str(), &now) == 0 && now.st_dev == device_ && now.st_ino == inode_) {
    ::unlink(path_.c_str());
  }
  lock_ = UnixPathLock();
}

}  // namespace doorman::server
