#include "doorman/server/socket_activation.hpp"

#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sysexits.h>
#include <systemd/sd-daemon.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <string>
#include <utility>
#include <vector>

#include "doorman/net/socket_address.hpp"
#include "doorman/server/upgrade.hpp"

namespace doorman::server {
namespace {

struct Passed {
  Fd fd;
  std::string name;  // FileDescriptorName=, or the socket unit's name
};

// The descriptors and their names; LISTEN_* unset and FD_CLOEXEC set on each.
Result<std::vector<Passed>, Failure> take_passed() {
  char** names = nullptr;
  const int count = ::sd_listen_fds_with_names(1, &names);
  if (count < 0) {
    return system_failure(Error("take passed sockets", "LISTEN_FDS", -count));
  }
  std::vector<Passed> passed;
  for (int index = 0; index < count; ++index) {
    passed.push_back(Passed{Fd(SD_LISTEN_FDS_START + index),
                            names != nullptr && names[index] != nullptr ? names[index] : ""});
  }
  if (names != nullptr) {
    for (int index = 0; index < count; ++index)
      std::free(names[index]);
    std::free(names);
  }
  return passed;
}

Result<int> socket_option(int fd, int name, const char* what) {
  int value = 0;
  socklen_t size = sizeof(value);
  if (::getsockopt(fd, SOL_SOCKET, name, &value, &size) != 0) {
    return Error(std::string("getsockopt ") + what, "passed descriptor " + std::to_string(fd),
                 errno);
  }
  return value;
}

std::string label(int fd) {
  auto local = SocketAddress::local_of(fd);
  return local ? local->to_string() : "passed descriptor " + std::to_string(fd);
}

// What a passed descriptor is, as far as serving it goes; an error for one we cannot serve.
Result<SocketType, Failure> servable_type(int fd) {
  auto domain = socket_option(fd, SO_DOMAIN, "SO_DOMAIN");
  if (!domain) {
    if (domain.error().code() == ENOTSOCK) {
      return Failure{EX_UNAVAILABLE, "serve passed descriptor " + std::to_string(fd) +
                                         ": not a socket (only ListenStream= and "
                                         "ListenDatagram= sockets can be served)"};
    }
    return system_failure(domain.error());
  }
  if (*domain != AF_INET && *domain != AF_INET6 && *domain != AF_UNIX) {
    return Failure{EX_UNAVAILABLE, "serve " + label(fd) + ": a socket of family " +
                                       std::to_string(*domain) + ", not IPv4, IPv6 or Unix"};
  }
  auto type = socket_option(fd, SO_TYPE, "SO_TYPE");
  if (!type) return system_failure(type.error());
  if (*type == SOCK_DGRAM) return SocketType::datagram;
  if (*type != SOCK_STREAM) {
    return Failure{EX_UNAVAILABLE,
                   "serve " + label(fd) + ": neither a stream nor a datagram socket"};
  }
  auto listening = socket_option(fd, SO_ACCEPTCONN, "SO_ACCEPTCONN");
  if (!listening) return system_failure(listening.error());
  if (*listening == 0) {
    return Failure{EX_UNAVAILABLE, "serve " + label(fd) +
                                       ": a stream socket that does not listen (the socket "
                                       "unit needs Accept=no)"};
  }
  return SocketType::stream;
}

// --metrics' socket, handed over by the server this one upgrades or named so by a socket unit:
// taken out of `passed`.
Result<std::optional<Listeners>, Failure> take_metrics(std::vector<Passed>& passed) {
  for (auto one = passed.begin(); one != passed.end(); ++one) {
    const bool with_file = one->name.starts_with(kMetricsFileMarker);
    if (!with_file && one->name != kMetricsName) continue;
    auto type = servable_type(one->fd.get());
    if (!type) return std::move(type).error();
    if (*type != SocketType::stream) {
      return Failure{EX_UNAVAILABLE, "serve " + label(one->fd.get()) + " as " +
                                         std::string(kMetricsName) +
                                         ": a datagram socket, not a listening stream one"};
    }
    std::vector<Fd> socket;
    socket.push_back(std::move(one->fd));
    const std::string path = with_file ? one->name.substr(kMetricsFileMarker.size()) : "";
    passed.erase(one);
    auto metrics = Listeners::adopt(std::move(socket), SocketType::stream);
    if (!metrics) return system_failure(metrics.error());
    if (with_file && metrics->bound().front().to_string() == "unix:" + path) {
      metrics->take_file(path);
    }
    return std::optional<Listeners>(std::move(metrics).value());
  }
  return std::optional<Listeners>{};
}

}  // namespace

Result<Listeners> Listeners::adopt(std::vector<Fd> sockets, SocketType type) {
  Listeners listeners;
  for (Fd& fd : sockets) {
    auto local = SocketAddress::local_of(fd.get());
    if (!local) return std::move(local).error();
    const int flags = ::fcntl(fd.get(), F_GETFL);
    if (flags < 0 || ::fcntl(fd.get(), F_SETFL, flags | O_NONBLOCK) != 0) {
      return Error("make non-blocking", local->to_string(), errno);
    }
    // As for the sockets we bind: a UDP socket on all interfaces must learn where each request
    // was sent, to answer from that address.
    if (type == SocketType::datagram && !local->is_unix() && local->is_any()) {
      const bool v4 = local->family() == AF_INET;
      const int enable = 1;
      if (::setsockopt(fd.get(), v4 ? IPPROTO_IP : IPPROTO_IPV6, v4 ? IP_PKTINFO : IPV6_RECVPKTINFO,
                       &enable, sizeof(enable)) != 0) {
        return Error(v4 ? "setsockopt IP_PKTINFO" : "setsockopt IPV6_RECVPKTINFO",
                     local->to_string(), errno);
      }
    }
    // A server that upgraded hands over a socket per worker for each address: one line each.
    if (!listeners.serves(*local)) listeners.bound_.push_back(*local);
    listeners.sockets_.push_back(Owned{std::move(fd), 0, true, *local});
  }
  return listeners;
}

Result<PassedSockets, Failure> adopt_passed_sockets(Config& config, const Log& log) {
  auto passed = take_passed();
  if (!passed) return std::move(passed).error();
  PassedSockets adopted;
  auto metrics = take_metrics(*passed);
  if (!metrics) return std::move(metrics).error();
  adopted.metrics = std::move(metrics).value();
  if (passed->empty()) return adopted;

  std::optional<SocketType> type;
  int first = -1;
  std::string names;
  std::vector<Fd> sockets;
  std::vector<std::string> files;  // handed over by the server this one upgrades (upgrade.hpp)
  bool upgrading = true;
  for (Passed& one : *passed) {
    if (one.name.starts_with(kUnixFileMarker)) {
      auto local = SocketAddress::local_of(one.fd.get());
      std::string path = one.name.substr(kUnixFileMarker.size());
      if (local && local->to_string() == "unix:" + path) files.push_back(std::move(path));
      one.name = kUpgradeName;
    }
    upgrading = upgrading && one.name == kUpgradeName;
    auto this_type = servable_type(one.fd.get());
    if (!this_type) return std::move(this_type).error();
    if (type && *type != *this_type) {
      return Failure{EX_UNAVAILABLE, "serve passed sockets: " + label(first) + " is a " +
                                         std::string(to_string(*type)) + " socket and " +
                                         label(one.fd.get()) + " a " +
                                         std::string(to_string(*this_type)) +
                                         " one; doorman-server serves one type at a time"};
    }
    if (!type) {
      type = *this_type;
      first = one.fd.get();
    }
    if (!one.name.empty()) names += (names.empty() ? "" : ", ") + one.name;
    sockets.push_back(std::move(one.fd));
  }
  if (config.type_given && config.type != *type) {
    return usage_failure(UsageError{"--type", std::string(to_string(config.type)) +
                                                  ", but the sockets passed are " +
                                                  std::string(to_string(*type)) + " sockets"});
  }
  config.type = *type;
  if (!config.listen.empty() && !upgrading) {
    log.warning("--listen ignored: serving the sockets the service manager passed");
  }
  const size_t count = sockets.size();
  auto listeners = Listeners::adopt(std::move(sockets), *type);
  if (!listeners) return system_failure(listeners.error());
  for (const std::string& file : files)
    listeners->take_file(file);
  if (upgrading) {
    log.info("serving {} {} socket(s) handed over by process {}", count, to_string(*type),
             ::getppid());
  } else {
    log.info("serving {} {} socket(s) passed by the service manager ({})", count, to_string(*type),
             names.empty() ? "unnamed" : names);
  }
  adopted.served = std::move(listeners).value();
  return adopted;
}

}  // namespace doorman::server
