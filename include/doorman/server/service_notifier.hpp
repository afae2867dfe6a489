#pragma once
// Tells a service manager (systemd's Type=notify, through NOTIFY_SOCKET) how the server is
// doing: ready once every socket is served, stopping once a signal came, a short status for
// `systemctl status`, and the new main process after an upgrade. Does nothing without a
// service manager. Main thread.
//
// A process started by an upgrade (SIGUSR2, upgrade.hpp) has two listeners: NOTIFY_SOCKET is
// the old process's, which waits for READY=1 alone, and DOORMAN_SERVICE_NOTIFY_SOCKET the
// service manager's (empty: none), which every message goes to. The variables are read once,
// never changed: the environment is not thread-safe.

#include <sys/types.h>

#include <string>
#include <string_view>

namespace doorman::server {

inline constexpr const char* kServiceNotifyVariable = "DOORMAN_SERVICE_NOTIFY_SOCKET";

// READY=1: to the service manager, and to the process this one upgrades (once).
void notify_ready(std::string_view status);
void notify_stopping(std::string_view status);
// After an upgrade: the new process is the service's main process now (MAINPID=, accepted from
// the main process; the unit's NotifyAccess=all lets the new one's READY=1 in before it).
void notify_main_pid(pid_t pid);
// The service manager's socket, for an upgrade's new process; empty when there is none.
const std::string& service_notify_socket();

}  // namespace doorman::server
