#include "doorman/server/descriptor_budget.hpp"

#include <sys/resource.h>

#include <cerrno>
#include <string>

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
