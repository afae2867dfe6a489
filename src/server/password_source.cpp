#include "doorman/server/password_source.hpp"

#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <optional>
#include <string>

#include <fmt/format.h>

#include "doorman/base/printable.hpp"
#include "doorman/net/fd.hpp"

extern char** environ;

namespace doorman::server {
namespace {

// A password is at most --read-size bytes (65536): a larger file is not a password file.
constexpr size_t kMostBytes = 1 << 20;

// Someone else who can write the file can choose the password: refused, as ssh refuses such a
// key. Readable by group or others is only warned about: Docker mounts secrets 0444 and
// Kubernetes 0644 by default, in a container nobody else lives in, and refusing those would
// leave --password (readable by every user in `ps`) as the way out, which is worse.
constexpr mode_t kWritableByOthers = S_IWGRP | S_IWOTH;
constexpr mode_t kReadableByOthers = S_IRGRP | S_IROTH;

// For the same reason, as sshd's StrictModes refuses an authorized_keys file another user
// owns: the owner may chmod the file and rewrite it whatever its mode says.
bool trusted_owner(uid_t owner, std::optional<uid_t> run_as) {
  return owner == 0 || owner == ::geteuid() || (run_as && owner == *run_as);
}

}  // namespace

std::optional<std::string> take_password_from_environment() {
  const char* value = std::getenv(kPasswordVariable);
  if (value == nullptr) return std::nullopt;
  std::string password(value);
  // Overwrite every NAME=VALUE entry's value (there may be more than one), then remove them.
  const size_t name_length = ::strlen(kPasswordVariable);
  for (char** entry = environ; *entry != nullptr; ++entry) {
    if (::strncmp(*entry, kPasswordVariable, name_length) == 0 && (*entry)[name_length] == '=') {
      char* bytes = *entry + name_length + 1;
      ::explicit_bzero(bytes, ::strlen(bytes));
    }
  }
  ::unsetenv(kPasswordVariable);
  return password;
}

Result<PasswordFile> read_password_file(const std::string& path, std::optional<uid_t> run_as) {
  const std::string label = quoted(path);
  // Not O_NOFOLLOW: Kubernetes secrets are symbolic links into a ..data directory.
  Fd file(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK));
  if (!file) return Error("open", label, errno);
  struct stat status {};
  if (::fstat(file.get(), &status) != 0) return Error("stat", label, errno);
  // A FIFO or a device could block or never end: only a regular file holds a password.
  if (!S_ISREG(status.st_mode)) return Error::described("read", label, "not a regular file");
  if (!trusted_owner(status.st_uid, run_as)) {
    return Error::described(
        "read", label,
        "owned by uid " + std::to_string(status.st_uid) +
            ", neither root nor the server's user, who could rewrite it and so set the password",
        "chown root " + printable(path) + ", or chown it to the user the server runs as");
  }
  if ((status.st_mode & kWritableByOthers) != 0) {
    return Error::described("read", label, "group or others may write it, and so set the password",
                            "chmod go-w " + printable(path));
  }
  if (status.st_size > static_cast<off_t>(kMostBytes)) {
    return Error::described("read", label, "larger than 1 MiB: not a password file");
  }

  std::string contents(static_cast<size_t>(status.st_size), '\0');
  size_t filled = 0;
  while (filled < contents.size()) {
    const ssize_t got = ::read(file.get(), contents.data() + filled, contents.size() - filled);
    if (got < 0 && errno == EINTR) continue;
    if (got < 0) return Error("read", label, errno);
    if (got == 0) break;
    filled += static_cast<size_t>(got);
  }
  contents.resize(filled);

  PasswordFile read;
  const size_t end = contents.find('\n');
  read.password = contents.substr(0, end);
  if (end != std::string::npos && !read.password.empty() && read.password.back() == '\r') {
    read.password.pop_back();
  }
  ::explicit_bzero(contents.data(), contents.size());
  if ((status.st_mode & kReadableByOthers) != 0) {
    read.warning = "--password-file " + label + " is readable by group or others (mode " +
                   fmt::format("{:04o}", status.st_mode & 0777) + "): chmod go-r " +
                   printable(path);
  }
  return read;
}

}  // namespace doorman::server
