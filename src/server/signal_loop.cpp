#include "doorman/server/signal_loop.hpp"

#include <string.h>

#include <chrono>
#include <thread>

#include "doorman/server/counter_log.hpp"
#include "doorman/server/service_notifier.hpp"

namespace doorman::server {
namespace {

const char* signal_name(int signal) {
  const char* name = ::sigabbrev_np(signal);
  return name != nullptr ? name : "a signal";
}

// A terminal's Ctrl-C goes to its whole process group, an upgrade's new process in
// it: sent again, it would be that one's second signal and cut its connections.
bool from_the_terminal(const siginfo_t& info) {
  return info.si_code == SI_KERNEL;
}

}  // namespace

CounterValues add_up(const std::vector<std::unique_ptr<Worker>>& workers) {
  CounterValues total;
  for (const auto& worker : workers)
    total += worker->counters().read();
  return total;
}

// The counters: line (SIGUSR1), also while draining.
void SignalLoop::log_counters() const {
  const CounterValues total = add_up(serving_.workers);
  const size_t open = serving_.admission.active.load(std::memory_order_relaxed);
  const CounterCounts counts = counter_counts(total, open);
  serving_.log.event(LogLevel::info, {"counters", "", counts}, "counters: {}, {} open",
                     tally(total), open);
}

int SignalLoop::wait_for_stop() {
  const Log& log = serving_.log;
  int signal = 0;
  for (;;) {
    siginfo_t info{};
    if (!upgrade_) {
      signal = sigwaitinfo(&serving_.signals, &info);
      if (signal < 0) continue;  // EINTR
    } else {
      // The workers serve meanwhile; this thread looks for the new process's READY=1.
      const timespec tick{0, 20'000'000};
      signal = sigtimedwait(&serving_.signals, &info, &tick);
      if (signal < 0) {
        const Upgrade::State state = upgrade_->poll();
        if (state == Upgrade::State::failed) {
          log.error("upgrade failed, still serving: {}", upgrade_->why());
          upgrade_.reset();
          reclaim_pid_file();
        }
        if (state != Upgrade::State::ready) continue;
        const pid_t serving = upgrade_->pid();
        log.info("upgraded: process {} serves the sockets now", serving);
        serving_.listeners.handed_over();
        if (serving_.metrics != nullptr) serving_.metrics->handed_over();
        notify_main_pid(serving);
        // Its own process now, left to run when this one exits; watched while this one drains.
        handed_to_ = std::move(upgrade_);
        upgrade_.reset();
        return SIGUSR2;
      }
    }
    if (signal == SIGUSR2) {
      start_upgrade();
    } else if (signal == SIGHUP) {
      log.info("reloading on HUP");
      serving_.reload();
    } else if (signal == SIGUSR1) {
      log_counters();
    } else {
      if (upgrade_) {
        if (!from_the_terminal(info)) upgrade_->signal(signal);
        log.warning("stopping on {} while upgrading: process {} is stopped too",
                    signal_name(signal), upgrade_->pid());
      }
      return signal;
    }
  }
}

void SignalLoop::start_upgrade() {
  const Log& log = serving_.log;
  if (upgrade_) {
    log.warning("not upgrading on USR2: process {} is still starting", upgrade_->pid());
    return;
  }
  std::vector<HandedSocket> sockets;
  for (const auto& handed : serving_.listeners.to_hand_over())
    sockets.push_back(HandedSocket{handed.fd, handed.unix_file});
  if (serving_.metrics != nullptr) {
    for (const auto& handed : serving_.metrics->to_hand_over())
      sockets.push_back(HandedSocket{handed.fd, handed.unix_file, true});
  }
  const Config& running = serving_.running;
  auto started = Upgrade::start(
      serving_.relaunch, sockets,
      running.password_from_environment ? running.environment_password : std::nullopt);
  if (!started) {
    log.error("upgrade failed, still serving: {}", started.error().message());
    return;
  }
  log.info("upgrading on USR2: started {} as process {}", serving_.relaunch.executable,
           started->pid());
  upgrade_ = std::move(started).value();
}

void SignalLoop::drain(int signal) {
  const Log& log = serving_.log;
  const auto& workers = serving_.workers;
  Listeners& listeners = serving_.listeners;
  const Duration drain_timeout = serving_.running.drain_timeout > Duration::zero()
                                     ? serving_.running.drain_timeout
                                     : serving_.running.timeout;
  log.event(LogLevel::info, {"stopping", ""},
            "stopping on {}: the connections in flight have {} to finish; {} stops at once",
            signal_name(signal), format_duration(drain_timeout),
            signal == SIGUSR2 ? "a second INT or TERM" : "a second signal");
  // After an upgrade the service goes on, in the new process.
  if (signal != SIGUSR2) notify_stopping("draining");

  // Graceful: each worker takes what its listeners hold queued, then its own listeners close
  // (a new client is refused, never reset); the shared ones close once every worker is done.
  const auto deadline = loop::Clock::now() + drain_timeout;
  std::atomic<size_t> queues_drained{0};
  for (unsigned index = 0; index < workers.size(); ++index) {
    workers[index]->drain(deadline, [&listeners, &queues_drained, index] {
      listeners.close_own(index);
      queues_drained.fetch_add(1, std::memory_order_release);
    });
  }
  while (queues_drained.load(std::memory_order_acquire) < workers.size() &&
         serving_.finished.load(std::memory_order_acquire) < workers.size() &&
         loop::Clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  listeners.close_shared();
  const size_t draining = serving_.admission.active.load(std::memory_order_relaxed);
  const LogCount draining_count[] = {{"draining", draining}};
  log.event(LogLevel::info, {"draining", "", draining_count}, "draining {} connections", draining);

  // After an upgrade a service manager's stop (systemd's default KillMode= signals every process
  // of the unit) or a Ctrl-C reaches this process too: it was not asked to stop at once, it is
  // stopping already, so the first such signal lets the drain go on.
  bool stop_taken = signal != SIGUSR2;
  const timespec poll{0, 20'000'000};
  while (serving_.finished.load(std::memory_order_acquire) < workers.size()) {
    watch_handed_to();
    siginfo_t second{};
    if (sigtimedwait(&serving_.signals, &second, &poll) < 0) continue;  // EAGAIN: not yet
    if (second.si_signo == SIGUSR1) {
      log_counters();
      continue;
    }
    if (second.si_signo == SIGHUP) {
      log.warning("not reloading on HUP: the server is stopping");
      continue;
    }
    if (second.si_signo == SIGUSR2) {
      log.warning("not upgrading on USR2: the server is stopping");
      continue;
    }
    if (!stop_taken) {
      stop_taken = true;
      log.info("draining on after {}: the new process serves; another signal stops at once",
               signal_name(second.si_signo));
      continue;
    }
    log.event(LogLevel::warning, {"stopping_at_once", ""},
              "stopping at once on a second signal ({})", signal_name(second.si_signo));
    for (auto& worker : workers)
      worker->stop();
    if (upgrade_ && !from_the_terminal(second)) upgrade_->signal(second.si_signo);
    break;
  }
  if (upgrade_) reap_upgrade(deadline + kUpgradeStopGrace);
}

// The process that serves the sockets now, should it stop while this one drains: nobody else
// would tell (its parent reaps it, and the service manager may not watch it yet).
void SignalLoop::watch_handed_to() {
  if (!handed_to_) return;
  if (const auto ended = handed_to_->exited()) {
    serving_.log.warning("process {}, which serves the sockets now, stopped: {}", handed_to_->pid(),
                         *ended);
    handed_to_.reset();
  }
}

void SignalLoop::reap_upgrade(loop::Clock::time_point deadline) {
  const timespec poll{0, 20'000'000};
  std::optional<std::string> ended;
  while (!(ended = upgrade_->exited())) {
    if (loop::Clock::now() >= deadline) {
      ended = upgrade_->kill() + ", as it had not stopped in time";
      break;
    }
    siginfo_t more{};
    if (sigtimedwait(&serving_.signals, &more, &poll) < 0) continue;
    if (more.si_signo == SIGINT || more.si_signo == SIGTERM) upgrade_->signal(more.si_signo);
  }
  serving_.log.info("process {}, started to upgrade, stopped: {}", upgrade_->pid(), *ended);
  upgrade_.reset();
  reclaim_pid_file();
}

// The new process may have written its id before it failed; this one serves (or drains) still.
void SignalLoop::reclaim_pid_file() const {
  if (auto reclaimed = serving_.pid_file.reclaim(); !reclaimed) {
    serving_.log.error("{}", reclaimed.error().message());
  }
}

}  // namespace doorman::server
