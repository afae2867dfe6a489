#include "doorman/server/upgrade.hpp"

#include <fcntl.h>
#include <signal.h>
#include <stddef.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstdlib>
#include <string_view>

#include "doorman/net/socket.hpp"
#include "doorman/server/child_failure.hpp"
#include "doorman/server/password_source.hpp"
#include "doorman/server/service_notifier.hpp"

extern char** environ;

namespace doorman::server {
namespace {

constexpr size_t kMostSockets = 1024;

bool is_replaced_variable(std::string_view entry) {
  for (std::string_view name :
       {"LISTEN_FDS=", "LISTEN_PID=", "LISTEN_FDNAMES=", "NOTIFY_SOCKET="}) {
    if (entry.starts_with(name)) return true;
  }
  return entry.starts_with(std::string(kPasswordVariable) + "=") ||
         entry.starts_with(std::string(kServiceNotifyVariable) + "=");
}

// An abstract Unix datagram socket the kernel names (autobind: no name to guess ahead and bind
// first, no file to clean up). Abstract sockets have no permissions: anyone may send to it, so
// it passes the senders' credentials and poll() believes the new process alone.
Result<Fd> open_notification_socket(std::string& name) {
  Fd socket(::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
  if (!socket) return Error("socket", "unix:@", errno);
  const int on = 1;
  if (::setsockopt(socket.get(), SOL_SOCKET, SO_PASSCRED, &on, sizeof(on)) != 0) {
    return Error("setsockopt SO_PASSCRED", "unix:@", errno);
  }
  if (auto bound = autobind(socket.get()); !bound) {
    return Error("bind", "unix:@", bound.error().code());
  }
  sockaddr_un address{};
  socklen_t length = sizeof(address);
  if (::getsockname(socket.get(), reinterpret_cast<sockaddr*>(&address), &length) != 0) {
    return Error("getsockname", "unix:@", errno);
  }
  const size_t size = length - offsetof(sockaddr_un, sun_path);
  if (size < 2 || address.sun_path[0] != '\0') {
    return Error::described("bind", "unix:@", "the kernel gave no abstract name");
  }
  name = "@" + std::string(address.sun_path + 1, size - 1);
  return socket;
}

// The pid of the process that sent a datagram, from SCM_CREDENTIALS; -1 when it has none.
pid_t sender_of(msghdr& header) {
  for (cmsghdr* control = CMSG_FIRSTHDR(&header); control != nullptr;
       control = CMSG_NXTHDR(&header, control)) {
    if (control->cmsg_level == SOL_SOCKET && control->cmsg_type == SCM_CREDENTIALS &&
        control->cmsg_len >= CMSG_LEN(sizeof(ucred))) {
      ucred credentials{};
      ::memcpy(&credentials, CMSG_DATA(control), sizeof(credentials));
      return credentials.pid;
    }
  }
  return -1;
}

// Async-signal-safe: the digits of `value` into `out`, which has room for them.
void write_number(char* out, long value) {
  char digits[24];
  int count = 0;
  do {
    digits[count++] = static_cast<char>('0' + value % 10);
    value /= 10;
  } while (value > 0);
  while (count > 0)
    *out++ = digits[--count];
  *out = '\0';
}

std::string exit_reason(int status) {
  if (WIFEXITED(status)) return "it exited with status " + std::to_string(WEXITSTATUS(status));
  if (WIFSIGNALED(status)) {
    const char* name = ::sigabbrev_np(WTERMSIG(status));
    return std::string("it was killed by SIG") + (name != nullptr ? name : "?");
  }
  return "it stopped";
}

}  // namespace

Relaunch relaunch_of(int argc, const char* const* argv) {
  Relaunch relaunch;
  for (int index = 0; index < argc; ++index)
    relaunch.argv.emplace_back(argv[index]);
  if (const char* chosen = std::getenv(kUpgradeExecVariable); chosen != nullptr && *chosen != 0) {
    relaunch.executable = chosen;
    return relaunch;
  }
  char resolved[PATH_MAX];
  if (argc > 0 && std::string_view(argv[0]).find('/') != std::string_view::npos) {
    if (::realpath(argv[0], resolved) != nullptr) {
      relaunch.executable = resolved;
      return relaunch;
    }
  }
  const ssize_t length = ::readlink("/proc/self/exe", resolved, sizeof(resolved) - 1);
  if (length <= 0) {
    relaunch.why = std::string("cannot read /proc/self/exe: ") + ::strerror(errno);
    return relaunch;
  }
  relaunch.executable.assign(resolved, static_cast<size_t>(length));
  return relaunch;
}

Result<Upgrade> Upgrade::start(const Relaunch& relaunch, const std::vector<HandedSocket>& sockets,
                               const std::optional<std::string>& password) {
  if (relaunch.executable.empty()) return Error::described("upgrade", "", relaunch.why);
  std::string notify_name;
  auto notifications = open_notification_socket(notify_name);
  if (!notifications) return std::move(notifications).error();

  // Everything the child needs is built here: between fork and exec only async-signal-safe
  // calls are allowed, the other threads' locks being frozen in the copy.
  std::vector<std::string> environment;
  for (char** entry = environ; *entry != nullptr; ++entry) {
    if (!is_replaced_variable(*entry)) environment.emplace_back(*entry);
  }
  std::string names;
  for (const HandedSocket& socket : sockets) {
    if (!names.empty()) names += ':';
    // A path with a ':' cannot be a name: that file stays where it is when the new one exits.
    const bool nameable =
        !socket.unix_file.empty() && socket.unix_file.find(':') == std::string::npos;
    if (socket.metrics) {
      names +=
          nameable ? std::string(kMetricsFileMarker) + socket.unix_file : std::string(kMetricsName);
    } else {
      names +=
          nameable ? std::string(kUnixFileMarker) + socket.unix_file : std::string(kUpgradeName);
    }
  }
  environment.push_back("LISTEN_FDS=" + std::to_string(sockets.size()));
  environment.push_back("LISTEN_FDNAMES=" + names);
  environment.push_back("NOTIFY_SOCKET=" + notify_name);
  // Under systemd the new process goes on telling it how it does (service_notifier.hpp).
  environment.push_back(std::string(kServiceNotifyVariable) + "=" + service_notify_socket());
  // DOORMAN_PASSWORD was scrubbed at start: the new process gets it as the old one did.
  if (password) environment.push_back(std::string(kPasswordVariable) + "=" + *password);
  environment.push_back("LISTEN_PID=" + std::string(24, '0'));
  char* listen_pid = environment.back().data() + std::string_view("LISTEN_PID=").size();

  std::vector<char*> envp;
  for (std::string& entry : environment)
    envp.push_back(entry.data());
  envp.push_back(nullptr);
  std::vector<std::string> arguments = relaunch.argv;
  std::vector<char*> argv;
  for (std::string& argument : arguments)
    argv.push_back(argument.data());
  argv.push_back(nullptr);
  if (sockets.size() > kMostSockets) {
    return Error::described("upgrade", relaunch.executable,
                            "too many listening sockets to hand over");
  }
  const int first = 3;  // SD_LISTEN_FDS_START
  const int above = first + static_cast<int>(sockets.size());

  // The child tells through this pipe which step failed and why; a successful exec closes it
  // (O_CLOEXEC), so the parent reads nothing.
  int failure_pipe[2];
  if (::pipe2(failure_pipe, O_CLOEXEC) != 0) return Error("pipe", relaunch.executable, errno);
  const Fd failure_read(failure_pipe[0]);
  Fd failure_write(failure_pipe[1]);

  const pid_t pid = ::fork();
  if (pid < 0) return Error("fork", relaunch.executable, errno);
  if (pid == 0) {
    // Above the target range, or a dup2 would overwrite it.
    int report = ::fcntl(failure_write.get(), F_DUPFD_CLOEXEC, above);
    if (report < 0) fail_in_child(failure_write.get(), ChildStep::dup, errno);
    // Copies above the target range first, so that no dup2 overwrites a socket still to be
    // moved; dup2 clears FD_CLOEXEC on the target, the copies keep it and vanish at exec.
    size_t index = 0;
    int copies[kMostSockets];
    for (const HandedSocket& socket : sockets) {
      copies[index] = ::fcntl(socket.fd, F_DUPFD_CLOEXEC, above);
      if (copies[index] < 0) fail_in_child(report, ChildStep::dup, errno);
      ++index;
    }
    for (size_t at = 0; at < index; ++at) {
      if (::dup2(copies[at], first + static_cast<int>(at)) < 0) {
        fail_in_child(report, ChildStep::dup2, errno);
      }
    }
    write_number(listen_pid, ::getpid());
    // A new program starts with the signals as a shell gives them: none blocked (this thread
    // blocks the ones it waits for), SIGPIPE not ignored; or it could not be stopped.
    sigset_t none;
    ::sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    struct sigaction default_action {};
    default_action.sa_handler = SIG_DFL;
    ::sigaction(SIGPIPE, &default_action, nullptr);
    ::execve(relaunch.executable.c_str(), argv.data(), envp.data());
    fail_in_child(report, ChildStep::execve, errno);
  }
  failure_write.reset();
  ChildFailure failure{};
  if (read_child_failure(failure_read.get(), failure)) {
    int status = 0;
    ::waitpid(pid, &status, 0);
    return Error(step_name(failure.step), relaunch.executable, failure.code);
  }
  Upgrade upgrade;
  upgrade.pid_ = pid;
  upgrade.notifications_ = std::move(notifications).value();
  upgrade.deadline_ = std::chrono::steady_clock::now() + kReadyWithin;
  return upgrade;
}

Upgrade::State Upgrade::poll() {
  char message[4096];
  for (;;) {
    iovec data{message, sizeof(message)};
    alignas(cmsghdr) char control[CMSG_SPACE(sizeof(ucred))];
    msghdr header{};
    header.msg_iov = &data;
    header.msg_iovlen = 1;
    header.msg_control = control;
    header.msg_controllen = sizeof(control);
    const ssize_t count = ::recvmsg(notifications_.get(), &header, MSG_CMSG_CLOEXEC);
    if (count < 0) break;
    if (sender_of(header) != pid_) continue;  // anyone else on the host could fake READY=1
    const std::string_view text(message, static_cast<size_t>(count));
    if (text.starts_with("READY=1") || text.find("\nREADY=1") != std::string_view::npos) {
      return State::ready;
    }
  }
  int status = 0;
  if (::waitpid(pid_, &status, WNOHANG) == pid_) {
    why_ = "the new process " + std::to_string(pid_) + " did not start: " + exit_reason(status);
    return State::failed;
  }
  if (std::chrono::steady_clock::now() >= deadline_) {
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, &status, 0);
    why_ = "the new process " + std::to_string(pid_) + " did not report ready within " +
           std::to_string(kReadyWithin.count()) + " s: killed";
    return State::failed;
  }
  return State::starting;
}

void Upgrade::signal(int number) const noexcept {
  ::kill(pid_, number);
}

std::optional<std::string> Upgrade::exited() {
  int status = 0;
  if (::waitpid(pid_, &status, WNOHANG) != pid_) return std::nullopt;
  return exit_reason(status);
}

std::string Upgrade::kill() {
  ::kill(pid_, SIGKILL);
  int status = 0;
  ::waitpid(pid_, &status, 0);
  return exit_reason(status);
}

}  // namespace doorman::server
