#include "doorman/server/server.hpp"

#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <string.h>
#include <sys/resource.h>

#include <memory>
#include <thread>
#include <vector>

#include "doorman/server/listeners.hpp"
#include "doorman/server/worker.hpp"

namespace doorman::server {
namespace {

// Descriptors a server needs besides its connections: stdio and a margin, and per worker its
// epoll, eventfd, reserve, listeners and the one connection it may hold while refusing it.
size_t descriptors_besides_connections(const Config& config) {
  return 8 + size_t{config.threads} * (4 + config.listen.size());
}

// The soft limit is often 1024 while the hard limit allows far more: take what we may.
size_t raise_descriptor_limit(const Log& log) {
  rlimit limit{};
  if (::getrlimit(RLIMIT_NOFILE, &limit) != 0) return 1024;
  if (limit.rlim_cur < limit.rlim_max) {
    rlimit raised = limit;
    raised.rlim_cur = limit.rlim_max;
    if (::setrlimit(RLIMIT_NOFILE, &raised) == 0) {
      limit = raised;
    } else {
      log.warning("cannot raise the descriptor limit from {}: {}", limit.rlim_cur,
                  describe_errno(errno));
    }
  }
  return limit.rlim_cur == RLIM_INFINITY ? size_t{1} << 20 : static_cast<size_t>(limit.rlim_cur);
}

CounterValues add_up(const std::vector<std::unique_ptr<Worker>>& workers) {
  CounterValues total;
  for (const auto& worker : workers)
    total += worker->counters().read();
  return total;
}

// The CPUs this process may run on (taskset, cgroups' cpusets), not all the machine has.
unsigned usable_cpus() {
  cpu_set_t allowed;
  CPU_ZERO(&allowed);
  if (::sched_getaffinity(0, sizeof(allowed), &allowed) == 0) {
    return static_cast<unsigned>(std::max(1, CPU_COUNT(&allowed)));
  }
  return std::max(1U, std::thread::hardware_concurrency());
}

}  // namespace

Result<void> serve(Config config, const Log& log) {
  if (config.listen.empty()) config.listen.push_back(default_listen_address());
  if (config.threads == 0) config.threads = usable_cpus();
  const size_t descriptors = raise_descriptor_limit(log);
  // Admitting no more connections than there are descriptors for keeps EMFILE away: a refusal
  // over the limit still has a descriptor to accept with, so the queue drains (the reserve
  // descriptor stays as the fallback for descriptors used outside this count).
  const size_t reserved = descriptors_besides_connections(config);
  const size_t affordable = descriptors > reserved + 1 ? descriptors - reserved : 1;
  if (config.max_connections == 0) {
    config.max_connections = affordable;
  } else if (config.max_connections > affordable) {
    log.warning("--max-connections {} is more than the descriptor limit {} allows: using {}",
                config.max_connections, descriptors, affordable);
    config.max_connections = affordable;
  }

  // Signals are taken by this thread alone (sigwait below); the workers inherit the mask. A
  // peer that vanishes must never kill the server with SIGPIPE.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  sigaddset(&stop_signals, SIGHUP);  // a closed terminal: stop cleanly, Unix files removed
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
  ::signal(SIGPIPE, SIG_IGN);

  auto listeners = Listeners::open(config, config.threads);
  if (!listeners) return std::move(listeners).error();

  Admission admission;
  admission.limit = config.max_connections;
  std::vector<std::unique_ptr<Worker>> workers;
  for (unsigned index = 0; index < config.threads; ++index) {
    auto worker = Worker::create(config, listeners->for_worker(index), admission, log);
    if (!worker) return std::move(worker).error();
    workers.push_back(std::move(worker).value());
  }
  std::vector<std::jthread> threads;
  for (auto& worker : workers)
    threads.emplace_back([&worker] { worker->run(); });

  for (const Error& skipped : listeners->skipped()) {
    log.warning("not listening on {}: {}", skipped.address(), skipped.reason());
  }
  for (const SocketAddress& bound : listeners->bound()) {
    log.info("listening on {}", bound.to_string());
  }
  log.debug("{} worker threads, {} sockets, at most {} connections", config.threads,
            to_string(config.type), config.max_connections);

  int signal = 0;
  sigwait(&stop_signals, &signal);
  log.info("stopping on {}", ::sigabbrev_np(signal) ? ::sigabbrev_np(signal) : "a signal");
  for (auto& worker : workers)
    worker->stop();
  threads.clear();  // joins

  const CounterValues total = add_up(workers);
  log.tell_held_back();  // the "N more" lines before the last one
  log.info("stopped: {} accepted, {} welcomed, {} rejected, {} timed out, {} refused, {} errors",
           total.accepted, total.welcomed, total.rejected, total.timed_out,
           total.refused_over_limit + total.refused_no_descriptors, total.errors);
  return {};
}

Address default_listen_address() {
  return Address::parse("localhost:8001").value();
}

}  // namespace doorman::server
