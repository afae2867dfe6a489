#pragma once
// serve(): doorman-server from start to exit. Main thread.
//
// Binds every listen address before serving anything, runs one Worker per thread, logs
// `listening on ADDR` for each address actually bound, and returns once SIGINT or SIGTERM has
// stopped the workers (Unix socket files removed). SIGHUP reads the configuration again through
// `reread` and applies what needs no rebinding (reload.hpp); SIGUSR1 logs the counters so far. A
// start-up that fails is EX_NOPERM (no permission, such as a port below 1024), EX_UNAVAILABLE (an
// address that cannot be resolved, bound or listened on) or EX_OSERR (any other system error).

#include <functional>

#include "doorman/base/failure.hpp"
#include "doorman/base/result.hpp"
#include "doorman/server/config.hpp"
#include "doorman/server/log.hpp"
#include "doorman/server/reload.hpp"
#include "doorman/server/upgrade.hpp"

namespace doorman::server {

// `relaunch`: what SIGUSR2 starts (upgrade.hpp); by default, SIGUSR2 cannot upgrade.
Result<void, Failure> serve(Config config, const Log& log, const Reread& reread,
                            const Relaunch& relaunch = {});

}  // namespace doorman::server
