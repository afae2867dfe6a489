#pragma once
// SignalLoop: the main thread while the workers serve (design §4). It waits for the signals that
// serve() blocked: SIGHUP reloads, SIGUSR1 logs the counters so far, SIGUSR2 upgrades
// (upgrade.hpp), until SIGINT or SIGTERM, or an upgrade's new process serving, stops the server;
// then it drains the workers and waits for them, a second signal stopping them at once. Main
// thread.
//
// A stop while an upgrade's new process is starting (it may serve connections already) stops
// that process too, with the same signal, and waits for it: no process is left behind. It has
// the drain's time and kUpgradeStopGrace more, then it is killed.

#include <signal.h>

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "doorman/server/acceptor.hpp"
#include "doorman/server/config.hpp"
#include "doorman/server/counters.hpp"
#include "doorman/server/listeners.hpp"
#include "doorman/server/log.hpp"
#include "doorman/server/metrics_server.hpp"
#include "doorman/server/pid_file.hpp"
#include "doorman/server/upgrade.hpp"
#include "doorman/server/worker.hpp"

namespace doorman::server {

// The counters of every worker added up (counter_log.hpp tells them).
CounterValues add_up(const std::vector<std::unique_ptr<Worker>>& workers);

class SignalLoop {
 public:
  static constexpr std::chrono::seconds kUpgradeStopGrace{2};

  // What the loop works on, owned by serve() and alive as long as the loop.
  struct Serving {
    const sigset_t& signals;  // blocked in every thread, taken here alone
    const std::vector<std::unique_ptr<Worker>>& workers;
    Listeners& listeners;
    MetricsServer* metrics;  // null without --metrics
    const Admission& admission;
    const std::atomic<size_t>& finished;  // workers whose run() has returned
    const Config& running;                // as given, with the reloads applied
    const Relaunch& relaunch;             // what SIGUSR2 starts
    const PidFile& pid_file;              // an upgrade that fails writes it again
    std::function<void()> reload;         // SIGHUP
    const Log& log;
  };

  explicit SignalLoop(Serving serving) : serving_(std::move(serving)) {}

  // Serves the signals until one stops the server; returns it (SIGUSR2 for an upgrade that
  // serves now).
  int wait_for_stop();
  // Graceful: the queues taken and the listeners closed, then the connections in flight have
  // --drain-timeout (or --timeout) to finish. Returns once every worker's run() has returned
  // or, after a second signal, once every worker was told to stop at once.
  void drain(int signal);

 private:
  void log_counters() const;
  void start_upgrade();
  void reap_upgrade(loop::Clock::time_point deadline);
  void watch_handed_to();
  void reclaim_pid_file() const;

  Serving serving_;
  std::optional<Upgrade> upgrade_;    // SIGUSR2's new process, until it serves or fails
  std::optional<Upgrade> handed_to_;  // the new process once it serves, until it stops
};

}  // namespace doorman::server
