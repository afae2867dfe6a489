#include "doorman/server/reload.hpp"

#include <string>
#include <vector>

#include "doorman/base/duration.hpp"
#include "doorman/server/acceptor.hpp"
#include "doorman/server/descriptor_budget.hpp"
#include "doorman/server/settings.hpp"
#include "doorman/server/worker.hpp"

namespace doorman::server {
namespace {

std::string text(Duration duration) {
  return format_duration(duration);
}
std::string text(size_t number) {
  return std::to_string(number);
}
std::string text(LogLevel level) {
  return std::string(to_string(level));
}
std::string text(const std::vector<Address>& addresses) {
  if (addresses.empty()) return default_listen_address().to_string();
  std::string joined;
  for (const Address& address : addresses)
    joined += (joined.empty() ? "" : ", ") + address.to_string();
  return joined;
}

// "0" is how the options say "the default"; the lines say which default.
std::string or_default(size_t number, const char* otherwise) {
  return number == 0 ? otherwise : std::to_string(number);
}
std::string or_default(Duration duration, const char* otherwise) {
  return duration == Duration::zero() ? otherwise : format_duration(duration);
}

template <typename T>
void change(const char* option, T& running, const T& next, const Log& log) {
  if (running == next) return;
  log.info("reload: {} {} -> {}", option, text(running), text(next));
  running = next;
}

void needs_restart(const char* option, bool differs, const Log& log) {
  if (differs) log.warning("reload: {} changed: it needs a restart, kept as it was", option);
}

bool same_identity(const std::optional<Identity>& a, const std::optional<Identity>& b) {
  if (a.has_value() != b.has_value()) return false;
  return !a || (a->uid == b->uid && a->gid == b->gid && a->group_given == b->group_given);
}

}  // namespace

Config apply_reload(const Config& running, const Config& next, const Log& log) {
  Config applied = running;
  if (applied.password != next.password) {
    log.info("reload: password changed");
    applied.password = next.password;
  }
  applied.environment_password = next.environment_password;
  applied.password_from_environment = next.password_from_environment;
  change("timeout", applied.timeout, next.timeout, log);
  change("read-size", applied.read_size, next.read_size, log);
  change("linger-timeout", applied.linger_timeout, next.linger_timeout, log);
  if (applied.drain_timeout != next.drain_timeout) {
    log.info("reload: drain-timeout {} -> {}", or_default(applied.drain_timeout, "--timeout"),
             or_default(next.drain_timeout, "--timeout"));
    applied.drain_timeout = next.drain_timeout;
  }
  if (applied.max_connections != next.max_connections) {
    log.info("reload: max-connections {} -> {}",
             or_default(applied.max_connections, "the descriptor limit"),
             or_default(next.max_connections, "the descriptor limit"));
    applied.max_connections = next.max_connections;
  }
  change("log-level", applied.log_level, next.log_level, log);

  if (running.listen != next.listen) {
    log.warning("reload: listen changed ({} -> {}): it needs a restart, kept as it was",
                text(running.listen), text(next.listen));
  }
  needs_restart("type", running.type != next.type, log);
  needs_restart("backlog", running.backlog != next.backlog, log);
  needs_restart("threads", running.threads != next.threads, log);
  needs_restart("unix-mode", running.unix_mode != next.unix_mode, log);
  needs_restart("engine", running.engine != next.engine, log);
  needs_restart("defer-accept", running.defer_accept != next.defer_accept, log);
  needs_restart("dgram-rate", running.dgram_rate != next.dgram_rate, log);
  needs_restart("log-format", running.log_format != next.log_format, log);
  needs_restart("user or group", !same_identity(running.run_as, next.run_as), log);
  needs_restart("metrics", running.metrics != next.metrics, log);
  needs_restart("proxy-protocol", running.proxy_protocol != next.proxy_protocol, log);
  return applied;
}

void Reloading::operator()() const {
  if (!reread) return log.warning("reload: nothing to read again");
  auto next = reread(running);
  if (!next) {
    log.error("reload failed, nothing changed: {}", usage_failure(next.error()).message);
    return;
  }
  for (const std::string& warning : next->warnings)
    log.warning("{}", warning);
  const Config applied = apply_reload(running, *next, log);
  const Settings settings = settings_of(applied);
  const Settings& current = *generations.back();
  if (settings.password != current.password || settings.timeout != current.timeout ||
      settings.read_size != current.read_size ||
      settings.linger_timeout != current.linger_timeout) {
    generations.push_back(std::make_unique<const Settings>(settings));
    for (const auto& worker : workers)
      worker->post(*generations.back());
  }
  admission.limit.store(admitted_at_most(applied.max_connections, affordable, descriptors, log),
                        std::memory_order_relaxed);
  log.set_level(applied.log_level);
  running = applied;
  log.info("reloaded");
}

}  // namespace doorman::server
