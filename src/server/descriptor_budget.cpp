#include "doorman/server/descriptor_budget.hpp"

#include <sys/resource.h>

#include <cerrno>
#include <string>

#include "doorman/net/descriptor_limit.hpp"
#include "doorman/server/metrics_server.hpp"

namespace doorman::server {

// Descriptors a server needs besides its connections: stdio and a margin, the listening
// sockets (a name may resolve to several addresses, each with a socket per worker), and per
// worker its epoll, eventfd, reserve and the one connection it may hold while refusing it.
size_t descriptors_besides_connections(const Config& config, const Listeners& listeners) {
  return 8 + listeners.socket_count() + size_t{config.threads} * 4 +
         (config.metrics ? MetricsServer::kDescriptors : 0);
}

// Running out of descriptors at start-up is a limit the user can change: say which.
Error with_descriptor_hint(Error error) {
  if (error.code() != EMFILE && error.code() != ENFILE) return error;
  rlimit limit{};
  ::getrlimit(RLIMIT_NOFILE, &limit);
  const std::string hint =
      error.code() == EMFILE
          ? "the descriptor limit is " + std::to_string(limit.rlim_cur) +
                " (ulimit -n, LimitNOFILE=): raise it, or use fewer --threads or --listen"
          : "the system's descriptor table is full (fs.file-max)";
  return Error(error.operation(), error.address(), error.code(), hint);
}

namespace {

// The listening sockets --listen will open, counted before they are: a name gets a socket per
// address it resolves to and per worker, a Unix socket one in all. A name that does not
// resolve counts as one address (opening it fails anyway, with the reason).
size_t listening_sockets_wanted(const Config& config) {
  size_t sockets = 0;
  for (const Address& address : config.listen) {
    if (address.is_unix()) {
      ++sockets;
      continue;
    }
    const auto resolved = address.resolve(config.type, Address::Purpose::bind);
    sockets += (resolved ? resolved->size() : 1) * config.threads;
  }
  return sockets;
}

}  // namespace

// The soft limit is often 1024 while the hard limit allows far more: take what we may, and
// when --max-connections asks for more than even that, raise the hard limit too if we may
// (CAP_SYS_RESOURCE, up to fs.nr_open), or say what stops it.
size_t raise_descriptor_limit(const Config& config, const Log& log) {
  // Names are resolved for the count only when it matters: a lookup may be slow.
  const size_t wanted = config.max_connections == 0
                            ? 0
                            : config.max_connections + 64 + listening_sockets_wanted(config) +
                                  size_t{config.threads} * 4 +
                                  (config.metrics ? MetricsServer::kDescriptors : 0);
  const DescriptorLimit raised = doorman::raise_descriptor_limit(wanted);
  if (!raised.short_because.empty()) {
    if (wanted > 0) {
      log.warning("the descriptor limit is {}, short of the {} that --max-connections {} needs: {}",
                  raised.limit, wanted, config.max_connections, raised.short_because);
    } else {
      log.warning("cannot raise the descriptor limit from {}: {}", raised.limit,
                  raised.short_because);
    }
  }
  return raised.limit;
}

size_t admitted_at_most(size_t given, size_t affordable, size_t descriptors, const Log& log) {
  if (given == 0) return affordable;
  if (given > affordable) {
    log.warning("--max-connections {} is more than the descriptor limit {} allows: using {}", given,
                descriptors, affordable);
    return affordable;
  }
  return given;
}

}  // namespace doorman::server
