#pragma once
// Socket activation (B11, B12): the listening sockets a service manager passed (systemd's
// LISTEN_FDS, or systemd-socket-activate), served instead of --listen. Main thread, at start.
//
// A passed socket is one socket whatever its family: every worker registers it with
// EPOLLEXCLUSIVE, as a Unix listener. The server's socket type is the sockets' own; its Unix
// socket files belong to the service manager and are never removed.

#include <optional>

#include "doorman/base/failure.hpp"
#include "doorman/base/result.hpp"
#include "doorman/server/config.hpp"
#include "doorman/server/listeners.hpp"
#include "doorman/server/log.hpp"

namespace doorman::server {

struct PassedSockets {
  std::optional<Listeners> served;   // nothing when none were passed
  std::optional<Listeners> metrics;  // --metrics' socket, handed over by an upgrade (upgrade.hpp)
};

// The passed sockets as Listeners, `config.type` set to their type. A mix of stream and
// datagram sockets, a stream socket that does not listen (Accept=yes) and --type disagreeing
// with the sockets are failures. The environment variables are consumed, so no child process
// takes the sockets for its own.
Result<PassedSockets, Failure> adopt_passed_sockets(Config& config, const Log& log);

}  // namespace doorman::server
