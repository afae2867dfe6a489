#include "doorman/server/server.hpp"

#include "doorman/loop/ring.hpp"

#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <sysexits.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <memory>
#include <optional>
#include <span>
#include <thread>
#include <vector>

#include "doorman/base/printable.hpp"
#include "doorman/server/counter_log.hpp"
#include "doorman/server/datagram_responder.hpp"
#include "doorman/server/descriptor_budget.hpp"
#include "doorman/server/listeners.hpp"
#include "doorman/server/metrics_server.hpp"
#include "doorman/server/pid_file.hpp"
#include "doorman/server/privileges.hpp"
#include "doorman/server/reload.hpp"
#include "doorman/server/service_notifier.hpp"
#include "doorman/server/signal_loop.hpp"
#include "doorman/server/socket_activation.hpp"
#include "doorman/server/upgrade.hpp"
#include "doorman/server/worker.hpp"
#include "doorman/version.hpp"

namespace doorman::server {
namespace {

// The CPUs this process may run on (taskset, cgroups' cpusets), not all the machine has.
unsigned usable_cpus() {
  cpu_set_t allowed;
  CPU_ZERO(&allowed);
  if (::sched_getaffinity(0, sizeof(allowed), &allowed) == 0) {
    return static_cast<unsigned>(std::max(1, CPU_COUNT(&allowed)));
  }
  return std::max(1U, std::thread::hardware_concurrency());
}

// Why the server could not start, as sysexits: no permission, an address that cannot be
// served, or the system failed.
Failure cannot_start(const Error& error) {
  if (error.code() == EACCES || error.code() == EPERM) return {EX_NOPERM, error.message()};
  const std::string& operation = error.operation();
  if (operation == "bind" || operation == "resolve" || operation == "listen") {
    return {EX_UNAVAILABLE, error.message()};
  }
  return system_failure(error);
}

// The --metrics endpoint, bound before anything is served (or the socket an upgrade handed
// over); null when there is none.
Result<std::unique_ptr<MetricsServer>> open_metrics(
    const Config& config, const std::vector<std::unique_ptr<Worker>>& workers,
    const Admission& admission, const Log& log, std::optional<Listeners> handed) {
  if (!config.metrics) {
    if (handed) {
      log.warning("not serving {}, passed as {}: --metrics is not given",
                  handed->bound().front().to_string(), kMetricsName);
    }
    return std::unique_ptr<MetricsServer>();
  }
  MetricsSources sources{config.type, {}, &admission};
  for (const auto& worker : workers)
    sources.workers.push_back(&worker->counters());
  return MetricsServer::open(*config.metrics, config, std::move(sources), log, std::move(handed));
}

}  // namespace

Result<void, Failure> serve(Config config, const Log& log, const Reread& reread,
                            const Relaunch& relaunch) {
  Config running = config;  // as given: reloads compare with this, not with the defaults filled in
  // Sockets a service manager passed are served instead of --listen, with their own type.
  auto passed = adopt_passed_sockets(config, log);
  if (!passed) return std::move(passed).error();
  if (config.listen.empty()) config.listen.push_back(default_listen_address());
  if (config.threads == 0) config.threads = usable_cpus();
  const size_t descriptors = raise_descriptor_limit(config, log);

  // Signals are taken by this thread alone (sigwait below); the workers inherit the mask. A
  // peer that vanishes must never kill the server with SIGPIPE.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGHUP);   // reload (B5)
  sigaddset(&signals, SIGUSR1);  // log the counters so far
  sigaddset(&signals, SIGUSR2);  // upgrade (B12)
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  ::signal(SIGPIPE, SIG_IGN);

  auto listeners = passed->served ? Result<Listeners>(std::move(*passed->served))
                                  : Listeners::open(config, config.threads);
  if (!listeners) return cannot_start(with_descriptor_hint(std::move(listeners).error()));

  // Admitting no more connections than there are descriptors for keeps EMFILE away: a refusal
  // over the limit still has a descriptor to accept with, so the queue drains (the reserve
  // descriptor stays as the fallback for descriptors used outside this count).
  const size_t reserved = descriptors_besides_connections(config, *listeners);
  const size_t affordable = descriptors > reserved + 1 ? descriptors - reserved : 1;
  const size_t asked = config.max_connections;
  config.max_connections = admitted_at_most(config.max_connections, affordable, descriptors, log);
  // Where the limit comes from, for the start-up line; a small one from the descriptor limit
  // is said out loud (prlimit --nofile=64:64 would give 46 connections without a word).
  const bool limited_by_descriptors = asked == 0 || asked > affordable;
  const std::string limit_source = limited_by_descriptors
                                       ? "the descriptor limit " + std::to_string(descriptors)
                                       : std::string("--max-connections");

  if (config.engine == Engine::io_uring && config.type == SocketType::stream) {
    if (auto usable = loop::Ring::probe(); !usable) {
      log.warning("io_uring is not available ({}): serving with epoll", usable.error().message());
      config.engine = Engine::epoll;
    }
  }
  // Datagram sockets are served with epoll whatever --engine says.
  if (config.type == SocketType::datagram) config.engine = Engine::epoll;

  Admission admission;
  admission.limit.store(config.max_connections, std::memory_order_relaxed);
  // One reply budget per source address for every worker (F6); declared before the workers, so
  // destroyed after them.
  std::optional<DatagramResponder::Shared> datagrams;
  if (config.type == SocketType::datagram) datagrams.emplace(config);
  // Every Settings the workers were given, the first from the start and one per reload that
  // changed them; declared before the workers, so destroyed after them.
  std::vector<std::unique_ptr<const Settings>> generations;
  generations.push_back(std::make_unique<const Settings>(settings_of(config)));
  std::vector<std::unique_ptr<Worker>> workers;
  for (unsigned index = 0; index < config.threads; ++index) {
    auto worker = Worker::create(config, *generations.front(), listeners->for_worker(index),
                                 admission, datagrams ? &*datagrams : nullptr, log);
    if (!worker) return cannot_start(with_descriptor_hint(std::move(worker).error()));
    workers.push_back(std::move(worker).value());
  }
  // Declared after the workers, so destroyed (its thread joined) before their counters.
  auto metrics = open_metrics(config, workers, admission, log, std::move(passed->metrics));
  if (!metrics) return cannot_start(with_descriptor_hint(std::move(metrics).error()));
  // Every address bound (the metrics one too) and the password read: root is given up before anyone
  // is served (B10).
  const bool already_the_user = config.run_as && running_as(*config.run_as) && !running_as_root();
  const bool dropping = config.run_as && !already_the_user;
  // Written before the workers run (a failure is still a clean start-up failure), once every
  // socket listens (a client that reads it can connect), and before root is given up: a service
  // manager expects it from the process it started, in a directory only root may write.
  PidFile pid_file;
  if (!config.pid_file.empty()) {
    std::optional<PidFileOwner> owner;
    if (dropping) owner = PidFileOwner{config.run_as->uid, config.run_as->gid};
    auto written = PidFile::write(config.pid_file, owner);
    if (!written) return cannot_start(written.error());
    pid_file = std::move(written).value();
  }
  if (already_the_user) {
    log.info("already running as {}: nothing to drop", quoted(config.run_as->user));
  } else if (dropping) {
    const Identity& user = *config.run_as;
    if (auto handed = listeners->hand_files_to(user.uid, user.gid); !handed) {
      return cannot_start(handed.error());
    }
    if (*metrics) {
      if (auto handed = (*metrics)->hand_files_to(user.uid, user.gid); !handed) {
        return cannot_start(handed.error());
      }
    }
    if (auto dropped = drop_privileges(user); !dropped) return cannot_start(dropped.error());
  }
  // A worker whose loop cannot go on records why and stops the server as a signal would.
  std::vector<std::optional<Error>> failures(workers.size());
  std::atomic<size_t> finished{0};
  std::vector<std::jthread> threads;
  for (size_t index = 0; index < workers.size(); ++index) {
    threads.emplace_back([&worker = workers[index], &failure = failures[index], &finished] {
      if (auto ran = worker->run(); !ran) {
        failure = std::move(ran).error();
        ::kill(::getpid(), SIGTERM);
      }
      finished.fetch_add(1, std::memory_order_release);
    });
  }

  // Logged once the server can serve, so that a start-up failure stays one line.
  for (const std::string& warning : config.warnings)
    log.warning("{}", warning);
  if (limited_by_descriptors && config.max_connections < kFewConnections) {
    log.warning(
        "only {} connections at once: the descriptor limit is {} (raise it: ulimit -n, "
        "LimitNOFILE=, or run as root)",
        config.max_connections, descriptors);
  }
  if (!config.run_as && running_as_root()) {
    log.warning("running as root: use --user to drop privileges");
  }
  if (*metrics) (*metrics)->start();
  for (const std::string& duplicate : listeners->duplicates()) {
    log.warning("{} is given more than once in --listen: served once", duplicate);
  }
  for (const Error& skipped : listeners->skipped()) {
    log.warning("not listening on {}: {}", skipped.address(), skipped.reason());
  }
  log.info(
      "doorman-server {}, pid {}: {} workers, {}, {}, at most {} connections ({}), backlog {}, "
      "timeout {}",
      kVersion, ::getpid(), config.threads, to_string(config.type), to_string(config.engine),
      config.max_connections, limit_source,
      config.type == SocketType::stream ? listen_backlog(config) : 0,
      format_duration(config.timeout));
  for (const SocketAddress& bound : listeners->bound()) {
    const std::string address = bound.to_string();
    log.event(LogLevel::info, {"listening", ""}, "listening on {}", address);
  }
  if (*metrics) log.info("metrics on {}", (*metrics)->bound().to_string());

  // A worker returns this early only when it failed (it has signalled the stop): no READY=1
  // then, which would have an upgrade hand over to a process about to exit.
  if (finished.load(std::memory_order_acquire) == 0) {
    notify_ready("serving " + std::to_string(listeners->bound().size()) + " address(es)");
  }

  SignalLoop signal_loop(
      {signals, workers, *listeners, metrics->get(), admission, finished, running, relaunch,
       pid_file,
       Reloading{reread, running, generations, workers, admission, affordable, descriptors, log},
       log});
  signal_loop.drain(signal_loop.wait_for_stop());
  threads.clear();  // joins
  size_t cut = 0;
  for (const auto& worker : workers)
    cut += worker->cut();
  if (cut > 0) {
    const LogCount cut_count[] = {{"cut", cut}};
    log.event(LogLevel::warning, {"cut", "", cut_count}, "{} connections cut unfinished", cut);
  }

  for (auto& failure : failures) {
    if (failure) return system_failure(*failure);
  }
  const CounterValues total = add_up(workers);
  if (total.dropped_loop + total.dropped_over_rate > 0) {
    log.info(
        "datagrams not answered: {} from the server's own address or carrying a reply, {} "
        "over --dgram-rate",
        total.dropped_loop, total.dropped_over_rate);
  }
  if (total.bad_proxy_header > 0) {
    log.info("connections closed for a missing or malformed PROXY header: {}",
             total.bad_proxy_header);
  }
  log.tell_held_back();  // the "N more" lines before the last one
  const CounterCounts counts = counter_counts(total, 0);
  log.event(LogLevel::info, {"stopped", "", std::span(counts).first(kCounterKeys)}, "stopped: {}",
            tally(total));
  return {};
}

std::string_view to_string(Engine engine) noexcept {
  return engine == Engine::io_uring ? "io_uring" : "epoll";
}

Address default_listen_address() {
  return Address::parse("localhost:8001").value();
}

}  // namespace doorman::server
