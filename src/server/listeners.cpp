#include "doorman/server/listeners.hpp"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>

#include "doorman/net/socket.hpp"

namespace doorman::server {
namespace {

Result<void> set_option(Socket& socket, const SocketAddress& address, int level, int name,
                        int value, const char* what) {
  if (auto set = socket.set_option(level, name, value); !set) {
    return Error(std::string("setsockopt ") + what, address.to_string(), set.error().code());
  }
  return {};
}

// Is a live server behind this Unix socket file? A stale one (its server died) refuses.
Result<bool> unix_socket_is_live(const SocketAddress& address, SocketType type) {
  auto probe = Socket::create(AF_UNIX, type);
  if (!probe) return std::move(probe).error();
  auto connected = probe->connect(address, std::chrono::seconds(1));
  if (connected) return true;
  const int code = connected.error().code();
  if (code == ECONNREFUSED) return false;
  return Error("probe", address.to_string(), code);
}

Result<void> listen_if_stream(Socket& socket, const Config& config) {
  if (config.type != SocketType::stream) return {};
  return socket.listen(config.backlog);
}

// SO_REUSEPORT lets any process of the same user bind a port that is already served, and the
// two would silently split the clients. A bind without it says whether the port is taken; the
// probe keeps SO_REUSEADDR for TCP, as the listeners do, so TIME_WAIT does not count.
Result<void> port_is_free(const Config& config, const SocketAddress& address) {
  auto probe = Socket::create(address.family(), config.type, Socket::Blocking::no);
  if (!probe) return std::move(probe).error();
  if (config.type == SocketType::stream) {
    if (auto set = set_option(*probe, address, SOL_SOCKET, SO_REUSEADDR, 1, "SO_REUSEADDR"); !set) {
      return set;
    }
  }
  if (address.family() == AF_INET6) {
    if (auto set = set_option(*probe, address, IPPROTO_IPV6, IPV6_V6ONLY, 1, "IPV6_V6ONLY"); !set) {
      return set;
    }
  }
  return probe->bind(address);
}

}  // namespace

Result<Listeners> Listeners::open(const Config& config, unsigned workers) {
  Listeners listeners;
  for (const Address& address : config.listen) {
    if (address.is_unix()) {
      if (auto opened = listeners.open_unix(config, address, workers); !opened) {
        return std::move(opened).error();
      }
      continue;
    }
    auto resolved = address.resolve(config.type, Address::Purpose::bind);
    if (!resolved) return std::move(resolved).error();
    for (const SocketAddress& one : *resolved) {
      if (auto opened = listeners.open_inet(config, one, workers); !opened) {
        return std::move(opened).error();
      }
    }
  }
  return listeners;
}

Result<void> Listeners::open_inet(const Config& config, const SocketAddress& address,
                                  unsigned workers) {
  SocketAddress where = address;
  if (where.port() != 0) {
    if (auto free = port_is_free(config, where); !free) return free;
  }
  for (unsigned worker = 0; worker < workers; ++worker) {
    auto created = Socket::create(where.family(), config.type, Socket::Blocking::no);
    if (!created) return std::move(created).error();
    Socket& socket = *created;
    // SO_REUSEADDR: a restart binds at once over the last run's TIME_WAIT connections.
    if (config.type == SocketType::stream) {
      if (auto set = set_option(socket, where, SOL_SOCKET, SO_REUSEADDR, 1, "SO_REUSEADDR"); !set) {
        return set;
      }
    }
    if (auto set = set_option(socket, where, SOL_SOCKET, SO_REUSEPORT, 1, "SO_REUSEPORT"); !set) {
      return set;
    }
    // [::] means IPv6 only, as in nginx: *:port serves IPv4, and both can be listened on.
    if (where.family() == AF_INET6) {
      if (auto set = set_option(socket, where, IPPROTO_IPV6, IPV6_V6ONLY, 1, "IPV6_V6ONLY"); !set) {
        return set;
      }
    }
    if (config.type == SocketType::stream && config.defer_accept) {
      const auto seconds = std::chrono::ceil<std::chrono::seconds>(config.timeout).count();
      if (auto set = set_option(socket, where, IPPROTO_TCP, TCP_DEFER_ACCEPT,
                                static_cast<int>(seconds), "TCP_DEFER_ACCEPT");
          !set) {
        return set;
      }
    }
    if (auto bound = socket.bind(where); !bound) return bound;
    if (auto listening = listen_if_stream(socket, config); !listening) return listening;
    if (worker == 0) {
      // Port 0: the kernel chose a port for the first socket; the others share it.
      auto local = socket.local_address();
      if (!local) return std::move(local).error();
      where.set_port(local->port());
      bound_.push_back(*local);
    }
    sockets_.push_back(Owned{std::move(socket).release(), worker, false});
  }
  return {};
}

Result<void> Listeners::open_unix(const Config& config, const Address& address, unsigned workers) {
  (void)workers;  // one socket, shared
  const SocketAddress where = address.resolve(config.type, Address::Purpose::bind).value().front();
  const std::string label = where.to_string();
  const bool has_file = address.kind() == Address::Kind::unix_path;

  struct stat existing {};
  if (has_file && ::lstat(address.path().c_str(), &existing) == 0) {
    if (!S_ISSOCK(existing.st_mode)) {
      return Error::described("bind", label, "the path exists and is not a socket",
                              "remove it or choose another path");
    }
    auto live = unix_socket_is_live(where, config.type);
    if (!live) return std::move(live).error();
    if (*live) {
      return Error("bind", label, EADDRINUSE, "a running server answers on that socket");
    }
    // A stale socket file, left by a server that died: ours to replace.
    if (::unlink(address.path().c_str()) != 0 && errno != ENOENT) {
      return Error("remove stale socket", label, errno);
    }
  }

  auto created = Socket::create(AF_UNIX, config.type, Socket::Blocking::no);
  if (!created) return std::move(created).error();
  Socket& socket = *created;
  // bind() creates the file with 0777 less the umask: setting the umask to the complement of
  // the mode creates it with exactly that mode, never wider, with no chmod window. The server
  // is still single-threaded here, so the process-wide umask is safe to touch.
  const mode_t previous = ::umask(static_cast<mode_t>(~config.unix_mode & 0777));
  auto bound = socket.bind(where);
  ::umask(previous);
  if (!bound) return bound;

  if (has_file) {
    struct stat created_file {};
    if (::lstat(address.path().c_str(), &created_file) == 0) {
      files_.push_back(OwnedFile{address.path(), created_file.st_dev, created_file.st_ino});
    }
  }
  if (auto listening = listen_if_stream(socket, config); !listening) return listening;
  bound_.push_back(where);
  sockets_.push_back(Owned{std::move(socket).release(), 0, true});
  return {};
}

Listeners::~Listeners() {
  for (const OwnedFile& file : files_) {
    // Only if it is still ours: another server may have replaced it since.
    struct stat now {};
    if (::lstat(file.path.c_str(), &now) == 0 && now.st_dev == file.device &&
        now.st_ino == file.inode) {
      ::unlink(file.path.c_str());
    }
  }
}

std::vector<Listeners::Served> Listeners::for_worker(unsigned index) const {
  std::vector<Served> served;
  for (const Owned& owned : sockets_) {
    if (owned.shared || owned.worker == index)
      served.push_back(Served{owned.fd.get(), owned.shared});
  }
  return served;
}

}  // namespace doorman::server
