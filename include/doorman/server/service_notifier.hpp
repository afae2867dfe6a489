#pragma once
// Tells a service manager (systemd's Type=notify, through NOTIFY_SOCKET) how the server is
// doing: ready once every socket is served, stopping once a signal came, and a short status for
// `systemctl status`. Does nothing when NOTIFY_SOCKET is unset. Main thread.

#include <string_view>

namespace doorman::server {

void notify_ready(std::string_view status);
void notify_stopping(std::string_view status);

}  // namespace doorman::server
