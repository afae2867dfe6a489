#include "doorman/server/pid_file.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <string>
#include <utility>

#include "doorman/net/fd.hpp"

namespace doorman::server {
namespace {

std::string own_id() {
  return std::to_string(::getpid());
}

// What the file says now; empty when it cannot be read.
std::string read_id(const std::string& path) {
  Fd file(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!file) return {};
  char buffer[32];
  const ssize_t count = ::read(file.get(), buffer, sizeof(buffer));
  if (count <= 0) return {};
  std::string text(buffer, static_cast<size_t>(count));
  while (!text.empty() && (text.back() == '\n' || text.back() == ' '))
    text.pop_back();
  return text;
}

// Atomically: a temporary file beside `path`, fsync, rename over it.
Result<void> write_id(const std::string& path) {
  const std::string temporary = path + ".tmp." + own_id();
  Fd file(::open(temporary.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0644));
  if (!file) return Error("create pid file", temporary, errno);
  const std::string line = own_id() + "\n";
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

Result<PidFile> PidFile::write(std::string path) {
  if (auto written = write_id(path); !written) return std::move(written).error();
  return PidFile(std::move(path));
}

Result<void> PidFile::reclaim() const {
  if (path_.empty() || read_id(path_) == own_id()) return {};
  return write_id(path_);
}

PidFile::PidFile(PidFile&& other) noexcept : path_(std::exchange(other.path_, {})) {}

PidFile& PidFile::operator=(PidFile&& other) noexcept {
  if (this != &other) path_ = std::exchange(other.path_, {});
  return *this;
}

PidFile::~PidFile() {
  // Another process's id (the server this one upgraded to) is that process's to remove.
  if (!path_.empty() && read_id(path_) == own_id()) ::unlink(path_.c_str());
}

}  // namespace doorman::server
