#include "doorman/server/listeners.hpp"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <optional>

#include "doorman/net/socket.hpp"
#include "doorman/server/unix_path.hpp"

namespace doorman::server {

// The kernel caps a larger backlog at net.core.somaxconn without a word, so the system's
// maximum is what that file says (Go and Asio do the same); SOMAXCONN where it cannot be read.
int listen_backlog(const Config& config) {
  if (config.backlog > 0) return config.backlog;
  std::FILE* file = std::fopen("/proc/sys/net/core/somaxconn", "re");
  int maximum = 0;
  if (file != nullptr) {
    if (std::fscanf(file, "%d", &maximum) != 1) maximum = 0;
    std::fclose(file);
  }
  return maximum > 0 ? maximum : SOMAXCONN;
}

namespace {

Result<void> set_option(Socket& socket, const SocketAddress& address, int level, int name,
                        int value, const char* what) {
  if (auto set = socket.set_option(level, name, value); !set) {
    return Error(std::string("setsockopt ") + what, address.to_string(), set.error().code());
  }
  return {};
}

Result<void> listen_if_stream(Socket& socket, const Config& config) {
  if (config.type != SocketType::stream) return {};
  return socket.listen(listen_backlog(config));
}

// SO_REUSEPORT lets any process of the same user bind a port that is already served, and the
// two would silently split the clients; for UDP the kernel's choice of a port 0 may even be
// one such port. So a socket without it claims the port first: its bind says whether the port
// is free and, for port 0, which one the kernel picks; closed at once, it leaves the port to
// the listeners. It keeps SO_REUSEADDR for TCP, as the listeners do, so TIME_WAIT does not count.
Result<uint16_t> claim_port(const Config& config, const SocketAddress& address) {
  auto probe = Socket::create(address.family(), config.type, Socket::Blocking::no);
  if (!probe) return std::move(probe).error();
  if (config.type == SocketType::stream) {
    if (auto set = set_option(*probe, address, SOL_SOCKET, SO_REUSEADDR, 1, "SO_REUSEADDR"); !set) {
      return std::move(set).error();
    }
  }
  if (address.family() == AF_INET6) {
    if (auto set = set_option(*probe, address, IPPROTO_IPV6, IPV6_V6ONLY, 1, "IPV6_V6ONLY"); !set) {
      return std::move(set).error();
    }
  }
  if (auto bound = probe->bind(address); !bound) return std::move(bound).error();
  auto local = probe->local_address();
  if (!local) return std::move(local).error();
  return local->port();
}

// A UDP socket bound to all interfaces must answer from the address the request was sent to,
// or a connected client drops the reply: ask the kernel to say which (IP_PKTINFO).
Result<void> ask_for_destination(Socket& socket, const SocketAddress& address) {
  if (address.family() == AF_INET) {
    return set_option(socket, address, IPPROTO_IP, IP_PKTINFO, 1, "IP_PKTINFO");
  }
  return set_option(socket, address, IPPROTO_IPV6, IPV6_RECVPKTINFO, 1, "IPV6_RECVPKTINFO");
}

// A name may resolve to an address this host cannot bind (::1 where IPv6 is off): that one is
// skipped when another address of the name is served.
bool unassignable(const Error& error) {
  return error.code() == EADDRNOTAVAIL || error.code() == EAFNOSUPPORT;
}

// A port taken on all addresses and on one of them, in one family, is taken twice: when one of
// the two is this server's own, the port is not "in use by another process", and the hint says
// which --listen it collides with.
Error with_overlap_hint(Error error, const SocketAddress& address,
                        const std::vector<SocketAddress>& bound) {
  if (error.code() != EADDRINUSE) return error;
  for (const SocketAddress& served : bound) {
    if (served.family() == address.family() && served.port() == address.port() &&
        (served.is_any() || address.is_any())) {
      return Error(error.operation(), error.address(), error.code(),
                   "it overlaps this server's own --listen " + served.to_string() +
                       " (a wildcard address covers every address of its family): keep one of "
                       "the two");
    }
  }
  return error;
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
    uint16_t port = address.port();  // port 0: every address of the name gets the same one
    std::optional<Error> failed;
    bool served = false;
    for (SocketAddress one : *resolved) {
      one.set_port(port);
      if (port != 0 && listeners.serves(one)) {
        listeners.duplicates_.push_back(one.to_string());
        served = true;
        continue;
      }
      auto opened = listeners.open_inet(config, one, workers);
      if (opened) {
        port = *opened;
        served = true;
      } else if (resolved->size() > 1 && unassignable(opened.error())) {
        listeners.skipped_.push_back(opened.error());
        if (!failed) failed = opened.error();
      } else {
        return with_overlap_hint(std::move(opened).error(), one, listeners.bound_);
      }
    }
    if (!served) return *failed;
  }
  return listeners;
}

Result<uint16_t> Listeners::open_inet(const Config& config, const SocketAddress& address,
                                      unsigned workers) {
  auto port = claim_port(config, address);
  if (!port) return std::move(port).error();
  SocketAddress where = address;
  where.set_port(*port);
  for (unsigned worker = 0; worker < workers; ++worker) {
    auto created = Socket::create(where.family(), config.type, Socket::Blocking::no);
    if (!created) return std::move(created).error();
    Socket& socket = *created;
    // SO_REUSEADDR: a restart binds at once over the last run's TIME_WAIT connections.
    if (config.type == SocketType::stream) {
      if (auto set = set_option(socket, where, SOL_SOCKET, SO_REUSEADDR, 1, "SO_REUSEADDR"); !set) {
        return std::move(set).error();
      }
    }
    if (auto set = set_option(socket, where, SOL_SOCKET, SO_REUSEPORT, 1, "SO_REUSEPORT"); !set) {
      return std::move(set).error();
    }
    // [::] means IPv6 only, as in nginx: *:port serves IPv4, and both can be listened on.
    if (where.family() == AF_INET6) {
      if (auto set = set_option(socket, where, IPPROTO_IPV6, IPV6_V6ONLY, 1, "IPV6_V6ONLY"); !set) {
        return std::move(set).error();
      }
    }
    if (config.type == SocketType::datagram && where.is_any()) {
      if (auto asked = ask_for_destination(socket, where); !asked) return std::move(asked).error();
    }
    if (config.type == SocketType::stream && config.defer_accept) {
      const auto seconds = std::chrono::ceil<std::chrono::seconds>(config.timeout).count();
      if (auto set = set_option(socket, where, IPPROTO_TCP, TCP_DEFER_ACCEPT,
                                static_cast<int>(seconds), "TCP_DEFER_ACCEPT");
          !set) {
        return std::move(set).error();
      }
    }
    if (auto bound = socket.bind(where); !bound) return std::move(bound).error();
    if (auto listening = listen_if_stream(socket, config); !listening) {
      return std::move(listening).error();
    }
    if (worker == 0) bound_.push_back(where);
    sockets_.push_back(Owned{std::move(socket).release(), worker, false, where});
  }
  return *port;
}

Result<void> Listeners::open_unix(const Config& config, const Address& address, unsigned workers) {
  (void)workers;  // one socket, shared
  const SocketAddress where = address.resolve(config.type, Address::Purpose::bind).value().front();
  const std::string label = where.to_string();
  const bool has_file = address.kind() == Address::Kind::unix_path;

  for (const SocketAddress& served : bound_) {
    if (served == where) {
      duplicates_.push_back(label);
      return {};
    }
  }
  // Held from the check to the bind, then for as long as the server runs; a lock file left
  // behind by a failed start is removed while still held.
  UnixPathLock lock;
  if (has_file) {
    auto locked = UnixPathLock::take(address.path(), label);
    if (!locked) return std::move(locked).error();
    lock = std::move(locked).value();
    if (auto made_way = make_way_for_socket(address.path(), where, config.type); !made_way) {
      return made_way;
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
    if (auto file = UnixSocketFile::bound(address.path(), lock)) files_.push_back(std::move(*file));
  }
  if (auto listening = listen_if_stream(socket, config); !listening) return listening;
  bound_.push_back(where);
  sockets_.push_back(Owned{std::move(socket).release(), 0, true, where});
  return {};
}

Listeners::~Listeners() {
  for (UnixSocketFile& file : files_)
    file.remove();
}

std::vector<Listeners::Handed> Listeners::to_hand_over() const {
  std::vector<Handed> handed;
  for (const Owned& owned : sockets_) {
    if (!owned.fd) continue;
    std::string file;
    for (const UnixSocketFile& owned_file : files_) {
      if (owned.address.is_unix() && owned.address.to_string() == "unix:" + owned_file.path()) {
        file = owned_file.path();
      }
    }
    handed.push_back(Handed{owned.fd.get(), file});
  }
  return handed;
}

void Listeners::handed_over() noexcept {
  // The lock file goes with the lock: the socket stays live, so a third server is still refused.
  files_.clear();
}

void Listeners::take_file(const std::string& path) {
  if (auto file = UnixSocketFile::adopted(path)) files_.push_back(std::move(*file));
}

void Listeners::close_own(unsigned index) noexcept {
  for (Owned& owned : sockets_) {
    if (!owned.shared && owned.worker == index) owned.fd.reset();
  }
}

void Listeners::close_shared() noexcept {
  for (Owned& owned : sockets_) {
    if (owned.shared) owned.fd.reset();
  }
}

Result<void> Listeners::hand_files_to(uid_t uid, gid_t gid) const {
  for (const UnixSocketFile& file : files_) {
    if (auto handed = file.hand_to(uid, gid); !handed) return handed;
  }
  return {};
}

bool Listeners::serves(const SocketAddress& address) const noexcept {
  return std::find(bound_.begin(), bound_.end(), address) != bound_.end();
}

std::vector<Listeners::Served> Listeners::for_worker(unsigned index) const {
  std::vector<Served> served;
  for (const Owned& owned : sockets_) {
    if (owned.shared || owned.worker == index)
      served.push_back(Served{owned.fd.get(), owned.shared, owned.address.to_string()});
  }
  return served;
}

}  // namespace doorman::server
