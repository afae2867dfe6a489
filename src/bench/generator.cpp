#include "doorman/bench/generator.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/resource.h>
#include <sysexits.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <optional>
#include <thread>

#include <fmt/format.h>

#include "doorman/bench/source_addresses.hpp"
#include "doorman/bench/stop_signals.hpp"
#include "doorman/bench/worker.hpp"
#include "doorman/net/descriptor_limit.hpp"
#include "doorman/net/socket.hpp"

namespace doorman::bench {
namespace {

Failure unreachable(std::string message) {
  return {EX_UNAVAILABLE, std::move(message)};
}

bool is_loopback(const SocketAddress& address) {
  if (address.is_unix()) return true;
  if (address.family() == AF_INET) {
    const auto* in = reinterpret_cast<const sockaddr_in*>(address.get());
    return (ntohl(in->sin_addr.s_addr) >> 24) == 127;
  }
  const auto* in6 = reinterpret_cast<const sockaddr_in6*>(address.get());
  if (IN6_IS_ADDR_LOOPBACK(&in6->sin6_addr)) return true;
  return IN6_IS_ADDR_V4MAPPED(&in6->sin6_addr) && in6->sin6_addr.s6_addr[12] == 127;
}

// "localhost" gives ::1 and 127.0.0.1, and a server may listen on only one of them: take the
// first that accepts a connection, as a client trying each in turn would.
Result<SocketAddress, Failure> choose_target(const Config& config) {
  auto resolved = config.target.resolve(config.type, Address::Purpose::connect);
  if (!resolved) return unreachable(resolved.error().message());
  std::vector<SocketAddress> addresses = std::move(resolved).value();
  if (!config.target_named) {
    // Load is only ever sent off this machine to an address the user typed.
    std::erase_if(addresses, [](const SocketAddress& a) { return !is_loopback(a); });
    if (addresses.empty()) {
      return unreachable(config.target.to_string() +
                         " is not a loopback address here: name the target with --connect");
    }
  }
  if (addresses.size() == 1 || config.type == SocketType::datagram) return addresses.front();
  for (const SocketAddress& address : addresses) {
    auto probe = Socket::create(address.family(), config.type);
    if (probe &&
        probe->connect(address, std::min<Duration>(config.timeout, std::chrono::seconds(1)))) {
      return address;
    }
  }
  return addresses.front();  // every one refused: the run reports it
}

size_t connections_held(const Config& config) {
  return static_cast<size_t>(config.concurrency) + static_cast<size_t>(config.silent) +
         static_cast<size_t>(config.slow);
}

// Silent connections are many descriptors: take the whole hard limit, and more when allowed
// (root may raise it up to fs.nr_open), and say which limit stops it if even that is not
// enough, rather than fail later with EMFILE in the middle of the run.
void raise_descriptor_limit(const Config& config) {
  const size_t needed = connections_held(config) + 64;
  const DescriptorLimit raised = doorman::raise_descriptor_limit(needed);
  if (raised.limit < needed) {
    std::fprintf(stderr, "doorman-bench: warning: %zu descriptors needed, the limit is %zu (%s)\n",
                 needed, raised.limit, raised.short_because.c_str());
  }
}

// --source as given, checked against the target; else the spread that loopback needs for more
// connections than one address has ports.
Result<std::vector<SocketAddress>, Failure> choose_sources(const Config& config,
                                                           const SocketAddress& target) {
  if (config.sources.empty()) {
    if (config.type != SocketType::stream) return config.sources;
    return spread_sources(target, connections_held(config), ephemeral_port_count());
  }
  const SocketAddress& source = config.sources.front();
  if (target.is_unix() || source.family() != target.family()) {
    return Failure{EX_USAGE, fmt::format("--source: {} cannot reach the target {}: another family",
                                         source.to_string(), target.to_string())};
  }
  // An address that is not this machine's fails every bind: say so once, before the run.
  for (const SocketAddress& each : config.sources) {
    auto probe = Socket::create(each.family(), config.type);
    if (!probe) return system_failure(probe.error());
    if (auto bound = bind_source(probe->fd(), each); !bound) {
      return Failure{EX_USAGE, "--source: " + bound.error().message()};
    }
  }
  return config.sources;
}

// The i-th of n near-equal parts of total.
template <typename T>
T part(T total, int n, int i) {
  const auto count = static_cast<T>(n);
  return total / count + (static_cast<T>(i) < total % count ? 1 : 0);
}

std::vector<Share> divide(const Config& config) {
  const uint64_t count =
      config.count ? *config.count : (config.duration ? UINT64_MAX : kDefaultCount);
  std::vector<Share> shares;
  for (int i = 0; i < config.threads; ++i) {
    shares.push_back(Share{
        .concurrency = part(config.concurrency, config.threads, i),
        .count = count == UINT64_MAX ? count : part<uint64_t>(count, config.threads, i),
        .rate = config.rate / config.threads,
        .silent = part(config.silent, config.threads, i),
        .slow = part(config.slow, config.threads, i),
    });
  }
  return shares;
}

void print_progress(const std::vector<std::unique_ptr<Worker>>& workers, Duration since_start,
                    uint64_t& last_ok) {
  Progress total;
  for (const auto& worker : workers) {
    const Progress one = worker->progress();
    total.ok += one.ok;
    total.errors += one.errors;
  }
  std::fprintf(stderr, "doorman-bench: %4.0fs  %10llu ok  %8llu errors  %8llu/s\n",
               std::chrono::duration<double>(since_start).count(),
               static_cast<unsigned long long>(total.ok),
               static_cast<unsigned long long>(total.errors),
               static_cast<unsigned long long>(total.ok - last_ok));
  last_ok = total.ok;
}

Report merge(const Config& config, const SocketAddress& target,
             const std::vector<std::unique_ptr<Worker>>& workers) {
  Report report{.target = target.to_string(),
                .type = std::string(to_string(config.type)),
                .concurrency = config.concurrency,
                .rate = config.rate,
                .threads = config.threads,
                .silent = config.silent,
                .slow = config.slow,
                .expect = config.expect};
  auto started = Clock::time_point::max();
  auto ended = Clock::time_point::min();
  for (const auto& worker : workers) {
    const Outcome& outcome = worker->outcome();
    report.measured.merge(outcome.measured);
    report.silent_held.merge(outcome.silent);
    report.slow_clients.merge(outcome.slow);
    report.unfinished += outcome.unfinished;
    report.late_starts += outcome.late_starts;
    report.interrupted = report.interrupted || outcome.interrupted;
    started = std::min(started, outcome.started);
    ended = std::max(ended, outcome.ended);
  }
  report.elapsed = ended - started;
  return report;
}

}  // namespace

std::string check_rate(double rate) {
  // Written so that NaN fails too.
  if (rate >= kMinRate && rate <= kMaxRate) return {};
  return fmt::format("rate must be a number of connections per second from {:g} to {:.0f}",
                     kMinRate, kMaxRate);
}

Address default_target() {
  return Address::parse("localhost:8001").value();
}

Result<void> validate(const Config& config) {
  const auto usage = [](std::string reason) {
    return Error::described("check options", "", std::move(reason));
  };
  if (config.type == SocketType::datagram && (config.silent > 0 || config.slow > 0)) {
    return usage("--silent and --slow need --type stream: a datagram has no connection to hold");
  }
  if (config.threads > config.concurrency) {
    return usage("--threads must not exceed --concurrency: each thread needs a connection");
  }
  if (config.rate != 0) {
    if (std::string reason = check_rate(config.rate); !reason.empty()) return usage(reason);
  }
  if (config.timeout <= Duration::zero()) return usage("--timeout must be more than 0");
  if (config.duration && *config.duration <= Duration::zero()) {
    return usage("--duration must be more than 0");
  }
  return {};
}

Result<Report, Failure> run(const Config& config) {
  if (auto valid = validate(config); !valid) return Failure{EX_USAGE, valid.error().reason()};
  // From the start: a signal during the target's probe is kept for the loop below, not fatal.
  const StopSignals stop_signals;
  Fd done_fd(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
  if (!stop_signals.opened() || !done_fd) {
    return system_failure(Error("signalfd/eventfd", "", errno));
  }
  auto target = choose_target(config);
  if (!target) return std::move(target).error();
  raise_descriptor_limit(config);
  auto sources = choose_sources(config, *target);
  if (!sources) return std::move(sources).error();
  Config bound = config;  // what the workers see: outlives them, as they keep a reference
  bound.sources = std::move(sources).value();

  std::vector<std::unique_ptr<Worker>> workers;
  for (const Share& share : divide(config)) {
    auto worker = Worker::create(bound, *target, share);
    if (!worker) return system_failure(worker.error());
    workers.push_back(std::move(worker).value());
  }

  std::latch ready(config.threads);
  std::vector<std::jthread> threads;
  for (auto& worker : workers) {
    threads.emplace_back([&ready, &done_fd, &worker] {
      worker->run(ready);
      const uint64_t one = 1;
      [[maybe_unused]] const ssize_t written = ::write(done_fd.get(), &one, sizeof(one));
    });
  }

  const auto began = Clock::now();
  auto next_progress = began + std::chrono::seconds(1);
  uint64_t finished = 0, last_ok = 0;
  int stop_signal = 0;
  while (finished < static_cast<uint64_t>(config.threads)) {
    pollfd waiting[2] = {{stop_signals.fd(), POLLIN, 0}, {done_fd.get(), POLLIN, 0}};
    const auto left = std::chrono::ceil<std::chrono::milliseconds>(next_progress - Clock::now());
    ::poll(waiting, 2, config.progress ? static_cast<int>(std::max<int64_t>(left.count(), 0)) : -1);
    if (const int arrived = stop_signals.take(); arrived != 0 && stop_signal == 0) {
      stop_signal = arrived;
      for (auto& worker : workers)
        worker->stop();
    }
    uint64_t count = 0;
    if (::read(done_fd.get(), &count, sizeof(count)) == sizeof(count)) finished += count;
    if (config.progress && Clock::now() >= next_progress && finished < workers.size()) {
      print_progress(workers, Clock::now() - began, last_ok);
      next_progress += std::chrono::seconds(1);
    }
  }
  threads.clear();  // joins
  Report report = merge(config, *target, workers);
  if (stop_signal != 0) {
    report.interrupted = true;
    report.stop_signal = stop_signal;
  }
  return report;
}

}  // namespace doorman::bench
