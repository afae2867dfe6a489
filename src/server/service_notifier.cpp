#include "doorman/server/service_notifier.hpp"

#include <systemd/sd-daemon.h>

#include <string>

namespace doorman::server {
namespace {

// A notification that cannot be sent changes nothing for the clients: the service manager
// times the start out and says so itself, so its result is not checked.
void notify(std::string_view state, std::string_view status) {
  std::string message(state);
  message += "\nSTATUS=";
  message += status;
  (void)::sd_notify(0, message.c_str());
}

}  // namespace

void notify_ready(std::string_view status) {
  notify("READY=1", status);
}

void notify_stopping(std::string_view status) {
  notify("STOPPING=1", status);
}

}  // namespace doorman::server
