#include "doorman/server/service_notifier.hpp"

#include <stddef.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <cstdlib>
#include <mutex>
#include <string>

#include "doorman/net/fd.hpp"

namespace doorman::server {
namespace {

struct NotifySockets {
  std::string service;    // the service manager's NOTIFY_SOCKET; empty: none
  std::string upgrading;  // the old process's, until it has our READY=1
};

NotifySockets& notify_sockets() {
  static NotifySockets sockets;
  static std::once_flag read;
  std::call_once(read, [] {
    const char* notify = std::getenv("NOTIFY_SOCKET");
    const char* service = std::getenv(kServiceNotifyVariable);
    if (service != nullptr) {
      sockets.service = service;
      sockets.upgrading = notify != nullptr ? notify : "";
    } else {
      sockets.service = notify != nullptr ? notify : "";
    }
  });
  return sockets;
}

// sd_notify's protocol, to a socket named explicitly: a Unix path, or '@' and an abstract
// name. A notification that cannot be sent changes nothing for the clients (the service
// manager times the start out and says so itself), so its result is not checked.
void send_to(const std::string& name, std::string_view message) {
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  if (name.size() < 2 || name.size() >= sizeof(address.sun_path)) return;
  if (name[0] != '/' && name[0] != '@') return;  // vsock: not ours to serve
  ::memcpy(address.sun_path, name.data(), name.size());
  if (name[0] == '@') address.sun_path[0] = '\0';
  const auto length = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + name.size() +
                                             (name[0] == '/' ? 1 : 0));
  const Fd socket(::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0));
  if (!socket) return;
  (void)::sendto(socket.get(), message.data(), message.size(), MSG_NOSIGNAL,
                 reinterpret_cast<const sockaddr*>(&address), length);
}

std::string with_status(std::string_view state, std::string_view status) {
  std::string message(state);
  message += "\nSTATUS=";
  message += status;
  return message;
}

}  // namespace

void notify_ready(std::string_view status) {
  NotifySockets& sockets = notify_sockets();
  const std::string message = with_status("READY=1", status);
  if (!sockets.service.empty()) send_to(sockets.service, message);
  if (!sockets.upgrading.empty()) send_to(sockets.upgrading, message);
  sockets.upgrading.clear();  // gone once it has handed over
}

void notify_stopping(std::string_view status) {
  const NotifySockets& sockets = notify_sockets();
  if (!sockets.service.empty()) send_to(sockets.service, with_status("STOPPING=1", status));
}

void notify_main_pid(pid_t pid) {
  const NotifySockets& sockets = notify_sockets();
  if (!sockets.service.empty()) send_to(sockets.service, "MAINPID=" + std::to_string(pid));
}

const std::string& service_notify_socket() {
  return notify_sockets().service;
}

}  // namespace doorman::server
