#pragma once
// Everything doorman-server is told, with the tutorial's defaults (S11). Any thread, read
// only once the server runs.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "doorman/base/duration.hpp"
#include "doorman/net/address.hpp"
#include "doorman/server/log.hpp"
#include "doorman/server/privileges.hpp"

namespace doorman::server {

inline constexpr unsigned kDefaultDgramRate = 100;

// How a worker issues its stream connections' operations (docs/design.md §2): epoll readiness
// and one system call per step, or io_uring completions, queued and submitted in batches.
// Datagram sockets are served with epoll either way.
enum class Engine : uint8_t { epoll, io_uring };
std::string_view to_string(Engine engine) noexcept;

struct Config {
  std::vector<Address> listen;  // empty means the tutorial's localhost:8001
  SocketType type = SocketType::stream;
  bool type_given = false;  // --type was given: passed sockets (socket activation) must agree
  int backlog = 0;          // 0: the system's maximum, net.core.somaxconn
  Duration timeout = std::chrono::seconds(5);
  size_t read_size = 1024;
  std::string password = "1";  // from --password, --password-file or DOORMAN_PASSWORD (B10)
  unsigned threads = 0;        // 0: one per CPU
  size_t max_connections = 0;  // 0: as many as the descriptor limit allows
  unsigned unix_mode = 0660;
  Duration linger_timeout = std::chrono::seconds(2);
  // How long a stopping server lets the connections in flight finish; 0: --timeout.
  Duration drain_timeout = Duration::zero();
  bool defer_accept = false;
  Engine engine = Engine::epoll;  // io_uring falls back to epoll, with a warning, where unavailable
  // B12: every stream connection starts with a PROXY protocol header (v1 or v2), whose source
  // is the client; one without it is closed unanswered.
  bool proxy_protocol = false;
  // Datagram replies a second to one source address, as many at once (F6: a flood
  // from one source is capped). Unset: kDefaultDgramRate for every source but local ones
  // (loopback, Unix); set: for every source; 0: no cap.
  std::optional<unsigned> dgram_rate;
  LogLevel log_level = LogLevel::info;
  LogFormat log_format = LogFormat::text;
  std::optional<Identity> run_as;  // --user, --group: who the server becomes once bound
  // Warnings about the command line (a password file others may read), logged with the other
  // start-up warnings once the listeners are bound.
  std::vector<std::string> warnings;
  // B7: where to serve /metrics, /status.json and the status page; unset: nowhere.
  std::optional<Address> metrics;
  // B12: where the server writes its process id once it serves; empty: nowhere.
  std::string pid_file;
  // The password DOORMAN_PASSWORD gave at start: a reload keeps it, the variable being gone.
  std::optional<std::string> environment_password;
  // The password in use is that one (no --password or --password-file names another): an
  // upgrade's new process gets the variable only then, or it would have two sources.
  bool password_from_environment = false;
};

Address default_listen_address();

}  // namespace doorman::server
