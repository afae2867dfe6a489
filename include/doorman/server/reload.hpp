#pragma once
// What a reload (SIGHUP, B5) puts in force, given the configuration read again. Main thread.
//
// The options that need no rebinding apply to new connections: password, timeout, read-size,
// linger-timeout, drain-timeout, max-connections, log-level; each change is one info line
// ("reload: timeout 5s -> 2s"; a password change never shows the password). Any other option
// that differs is logged as needing a restart and stays as it was.

#include <functional>
#include <memory>
#include <vector>

#include "doorman/base/failure.hpp"
#include "doorman/base/result.hpp"
#include "doorman/server/config.hpp"
#include "doorman/server/log.hpp"

namespace doorman::server {

struct Admission;
struct Settings;
class Worker;

// The configuration as the command line and --config's file now give it, or why not.
using Reread = std::function<Result<Config, UsageError>(const Config& running)>;

// `next`'s live options over `running`'s others, each difference logged.
Config apply_reload(const Config& running, const Config& next, const Log& log);

// SIGHUP (B5): everything is read first, and only a configuration read in full is applied, so a
// reload that fails changes nothing. Workers get a new immutable Settings each; every one built
// stays alive until serve() returns, so no worker can read a freed one.
struct Reloading {
  const Reread& reread;
  Config& running;  // as given, with the reloads applied: what the next reload compares with
  std::vector<std::unique_ptr<const Settings>>& generations;
  const std::vector<std::unique_ptr<Worker>>& workers;
  Admission& admission;
  size_t affordable;
  size_t descriptors;
  const Log& log;

  void operator()() const;
};

}  // namespace doorman::server
