#pragma once
// serve(): doorman-server from start to exit. Main thread.
//
// Binds every listen address before serving anything, runs one Worker per thread, logs
// `listening on ADDR` for each address actually bound, and returns once SIGINT or SIGTERM has
// stopped the workers (Unix socket files removed).

#include "doorman/base/result.hpp"
#include "doorman/server/config.hpp"
#include "doorman/server/log.hpp"

namespace doorman::server {

Result<void> serve(Config config, const Log& log);

}  // namespace doorman::server
