#pragma once
// SIGUSR2 (B12): the server starts its binary again with the same arguments and hands the new
// process its listening sockets as a service manager would (LISTEN_FDS, LISTEN_PID,
// LISTEN_FDNAMES), then waits for the new one's READY=1 on a notification socket of its own
// (NOTIFY_SOCKET) while it keeps serving. Main thread.
//
// A Unix socket file the server created is handed over with its socket: its name in
// LISTEN_FDNAMES is kUnixFileMarker and the path, so the new process removes it on exit. The
// --metrics socket goes too, named kMetricsName (kMetricsFileMarker and the path for a file of
// its own): the new process serves metrics on it instead of binding the address again.

#include <sys/types.h>

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "doorman/base/result.hpp"
#include "doorman/net/fd.hpp"

namespace doorman::server {

inline constexpr std::string_view kUnixFileMarker = "doorman-unix-file=";
inline constexpr std::string_view kUpgradeName = "doorman-upgrade";  // any other socket
inline constexpr std::string_view kMetricsName = "doorman-metrics";
inline constexpr std::string_view kMetricsFileMarker = "doorman-metrics-unix-file=";
// For tests: the program SIGUSR2 starts instead of the server's own binary.
inline constexpr const char* kUpgradeExecVariable = "DOORMAN_UPGRADE_EXEC";

struct Relaunch {
  std::string executable;  // empty: SIGUSR2 cannot upgrade (why says so)
  std::string why;
  std::vector<std::string> argv;
};

// Resolved at start, before anything could replace the binary: argv[0] made absolute (the path
// an upgrade replaces in place), /proc/self/exe when argv[0] was looked up in PATH.
Relaunch relaunch_of(int argc, const char* const* argv);

struct HandedSocket {
  int fd;
  std::string unix_file;  // the file the server created for it; empty for none
  bool metrics = false;   // --metrics' socket, not one to serve the protocol on
};

class Upgrade {
 public:
  static constexpr std::chrono::seconds kReadyWithin{10};

  static Result<Upgrade> start(const Relaunch& relaunch, const std::vector<HandedSocket>& sockets,
                               const std::optional<std::string>& password);
  Upgrade(Upgrade&&) = default;
  Upgrade& operator=(Upgrade&&) = default;
  ~Upgrade() = default;

  enum class State { starting, ready, failed };
  // Never blocks. failed: the new process exited or did not report ready in time (it is then
  // killed and reaped); why() says which.
  State poll();
  const std::string& why() const noexcept { return why_; }
  pid_t pid() const noexcept { return pid_; }

  // Stopping while the new process starts (it may serve connections already): it is told to
  // stop as this one was, then waited for. Never blocks.
  void signal(int number) const noexcept;
  // How it ended once it has exited (and is reaped); nothing while it runs.
  std::optional<std::string> exited();
  // SIGKILL, then reaped: how it ended.
  std::string kill();

 private:
  Upgrade() = default;
  pid_t pid_ = -1;
  Fd notifications_;
  std::chrono::steady_clock::time_point deadline_;
  std::string why_;
};

}  // namespace doorman::server
