#pragma once
// What a reload (SIGHUP, B5) puts in force, given the configuration read again. Main thread.
//
// The options that need no rebinding apply to new connections: password, timeout, read-size,
// linger-timeout, drain-timeout, max-connections, log-level; each change is one info line
// ("reload: timeout 5s -> 2s"; a password change never shows the password). Any other option
// that differs is logged as needing a restart and stays as it was.

#include "doorman/server/config.hpp"
#include "doorman/server/log.hpp"

namespace doorman::server {

// `next`'s live options over `running`'s others, each difference logged.
Config apply_reload(const Config& running, const Config& next, const Log& log);

}  // namespace doorman::server
