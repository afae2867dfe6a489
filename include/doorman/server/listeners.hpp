#pragma once
// Listeners: every listening socket the server serves, bound before anything is served. Built
// and destroyed by the main thread; workers only use the descriptors.
//
// TCP and UDP get one socket per worker, bound to the same address with SO_REUSEPORT, so the
// kernel spreads the clients and the workers share no lock. Unix sockets cannot be spread that
// way: there is one socket, which every worker registers with EPOLLEXCLUSIVE.

#include <sys/types.h>

#include <string>
#include <vector>

#include "doorman/base/result.hpp"
#include "doorman/net/fd.hpp"
#include "doorman/net/socket_address.hpp"
#include "doorman/server/config.hpp"
#include "doorman/server/unix_path.hpp"

namespace doorman::server {

// --backlog, or the system's maximum when it is not given.
int listen_backlog(const Config& config);

class Listeners {
 public:
  static Result<Listeners> open(const Config& config, unsigned workers);
  // Sockets bound by someone else (socket activation, src/server/socket_activation.cpp), of
  // `type`: each shared by every worker, made non-blocking; no file of theirs is ever removed.
  static Result<Listeners> adopt(std::vector<Fd> sockets, SocketType type);

  Listeners(Listeners&&) = default;
  Listeners& operator=(Listeners&&) = default;
  // Removes the Unix socket files this server created, if they are still the ones it created.
  ~Listeners();

  struct Served {
    int fd;
    bool shared;          // register with EPOLLEXCLUSIVE
    std::string address;  // for the log
  };
  // Gives the Unix socket files and their PATH.lock to the user the server becomes (--user),
  // so that it can still remove them on exit, in a sticky directory such as /tmp too.
  Result<void> hand_files_to(uid_t uid, gid_t gid) const;
  // The sockets worker `index` serves.
  std::vector<Served> for_worker(unsigned index) const;
  // Draining: closes the sockets of worker `index` alone (its thread may call it, each worker
  // for its own), then the shared ones (once every worker has stopped accepting).
  void close_own(unsigned index) noexcept;
  void close_shared() noexcept;
  // SIGUSR2 (B12): every socket, with the Unix socket file this server created for it.
  struct Handed {
    int fd;
    std::string unix_file;
  };
  std::vector<Handed> to_hand_over() const;
  // The sockets now belong to another process too, and their files to it alone: none is
  // removed on exit.
  void handed_over() noexcept;
  // An adopted socket's file, created by the server that handed it over: removed on exit if it
  // is still the same file.
  void take_file(const std::string& path);
  // The address each listener actually bound (port 0 resolved), one per address served.
  const std::vector<SocketAddress>& bound() const noexcept { return bound_; }
  // Addresses of a name that this host cannot bind, skipped because another one is served.
  const std::vector<Error>& skipped() const noexcept { return skipped_; }
  // Addresses given more than once (or names that resolve to one already served): served once.
  const std::vector<std::string>& duplicates() const noexcept { return duplicates_; }
  // Listening sockets open, for the descriptor budget: a name may resolve to several
  // addresses, each with a socket per worker.
  size_t socket_count() const noexcept { return sockets_.size(); }

 private:
  Listeners() = default;
  // Returns the port bound (the kernel's choice for port 0).
  Result<uint16_t> open_inet(const Config& config, const SocketAddress& address, unsigned workers);
  Result<void> open_unix(const Config& config, const Address& address, unsigned workers);
  bool serves(const SocketAddress& address) const noexcept;

  struct Owned {
    Fd fd;
    unsigned worker;  // meaningless when shared
    bool shared;
    SocketAddress address;
  };
  std::vector<Owned> sockets_;
  std::vector<SocketAddress> bound_;
  std::vector<Error> skipped_;
  std::vector<std::string> duplicates_;
  std::vector<UnixSocketFile> files_;
};

}  // namespace doorman::server
