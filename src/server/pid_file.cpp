#include "doorman/server/pid_file.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <string>
#include <utility>

#include "doorman/net/fd.hpp"

namespace doorman::server {
namespace {

std::string own_id() {
  return std::to_string(::getpid());
}

// What the file's first line says now; empty when it cannot be read.
std::string read_id(const std::string& path) {
  Fd file(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!file) return {};
  char buffer[32];
  const ssize_t count = ::read(file.get(), buffer, sizeof(buffer));
  if (count <= 0) return {};
  std::string text(buffer, static_cast<size_t>(count));
  text.erase(std::min(text.find('\n'), text.size()));
  while (!text.empty() && (text.back() == '\r' || text.back() == ' '))
    text.pop_back();
  return text;
}

// For a server no longer root, in a directory only root may write: the file it was given at
// the start is written where it is. Not atomic as a rename is; the new line and its newline go
// over the old one before the rest is cut off, so the first line is one whole id or the other.
Result<void> rewrite_in_place(const std::string& path, const std::string& line) {
  Fd file(::open(path.c_str(), O_WRONLY | O_CLOEXEC | O_NOFOLLOW));
  if (!file) return Error("write pid file", path, errno);
  struct stat status {};
  if (::fstat(file.get(), &status) != 0) return Error("stat pid file", path, errno);
  if (!S_ISREG(status.st_mode)) {
    return Error::described("write pid file", path, "not a regular file");
  }
  const ssize_t written = ::pwrite(file.get(), line.data(), line.size(), 0);
  if (written != static_cast<ssize_t>(line.size())) {
    return Error("write pid file", path, written < 0 ? errno : EIO);
  }
  if (::ftruncate(file.get(), static_cast<off_t>(line.size())) != 0 || ::fsync(file.get()) != 0) {
    return Error("write pid file", path, errno);
  }
  return {};
}

// Atomically where the directory allows it: a temporary file beside `path` (given to `owner`),
// fsync, rename over it.
Result<void> write_id(const std::string& path, std::optional<PidFileOwner> owner) {
  const std::string temporary = path + ".tmp." + own_id();
  const std::string line = own_id() + "\n";
  Fd file(::open(temporary.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0644));
  if (!file) {
    const int code = errno;
    if ((code == EACCES || code == EPERM) && rewrite_in_place(path, line)) return {};
    return Error("create pid file", temporary, code);
  }
  if (owner && ::fchown(file.get(), owner->uid, owner->gid) != 0) {
    const int code = errno;
    ::unlink(temporary.c_str());
    return Error("chown pid file", temporary, code);
  }
  const ssize_t written = ::write(file.get(), line.data(), line.size());
  const bool whole = written == static_cast<ssize_t>(line.size());
  if (!whole || ::fsync(file.get()) != 0) {
    const int code = written >= 0 && !whole ? EIO : errno;
    ::unlink(temporary.c_str());
    return Error("write pid file", temporary, code);
  }
  file.reset();
  if (::rename(temporary.c_str(), path.c_str()) != 0) {
    const int code = errno;
    ::unlink(temporary.c_str());
    return Error("rename pid file", path, code);
  }
  return {};
}

}  // namespace

Result<PidFile> PidFile::write(std::string path, std::optional<PidFileOwner> owner) {
  if (auto written = write_id(path, owner); !written) return std::move(written).error();
  return PidFile(std::move(path));
}

Result<void> PidFile::reclaim() const {
  if (path_.empty() || read_id(path_) == own_id()) return {};
  return write_id(path_, std::nullopt);
}

PidFile::PidFile(PidFile&& other) noexcept : path_(std::exchange(other.path_, {})) {}

PidFile& PidFile::operator=(PidFile&& other) noexcept {
  if (this != &other) path_ = std::exchange(other.path_, {});
  return *this;
}

PidFile::~PidFile() {
  // Another process's id (the server this one upgraded to) is that process's to remove.
  if (path_.empty() || read_id(path_) != own_id()) return;
  if (::unlink(path_.c_str()) == 0 || (errno != EACCES && errno != EPERM)) return;
  // A stale id could name an unrelated process once ids wrap; an empty file names none.
  Fd emptied(::open(path_.c_str(), O_WRONLY | O_TRUNC | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK));
}

}  // namespace doorman::server
