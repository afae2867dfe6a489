#pragma once
// MetricsServer: the --metrics endpoint (B7), HTTP/1.1 on a thread of its own with its own
// small event loop. Opened and started on the main thread; its thread only reads the workers'
// counters and the shared active count (relaxed loads), and never touches a worker's loop.
//
//   GET /             the status page (include/doorman/server/status_page.hpp)
//   GET /metrics      the Prometheus text format
//   GET /status.json  what the status page polls
//
// Hardened against the clients it may meet: a request head of at most kMaxRequestHead bytes
// (431), a read timeout (408), at most kMaxScrapes connections at once (beyond: 503), and a
// response followed by `Connection: close` and a short lingering close.

#include <atomic>
#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "doorman/loop/deadline_list.hpp"
#include "doorman/loop/event_loop.hpp"
#include "doorman/net/address.hpp"
#include "doorman/net/fd.hpp"
#include "doorman/server/acceptor.hpp"
#include "doorman/server/config.hpp"
#include "doorman/server/counters.hpp"
#include "doorman/server/listeners.hpp"
#include "doorman/server/log.hpp"
#include "doorman/server/metrics_snapshot.hpp"

namespace doorman::server {

// What the metrics thread reads: owned by serve(), alive as long as the MetricsServer.
struct MetricsSources {
  SocketType type = SocketType::stream;
  std::vector<const Counters*> workers;
  const Admission* admission = nullptr;
};

class MetricsServer {
 public:
  static constexpr size_t kMaxScrapes = 64;
  static constexpr auto kReadTimeout = std::chrono::seconds(5);
  // For the server's descriptor budget: the scrapes, those being refused, its own loop.
  static constexpr size_t kDescriptors = 2 * kMaxScrapes + 4;

  // Binds and listens on `address` (a Unix one as --listen's: mode, stale file, removal), or
  // serves `handed`, the socket an upgrade handed over, when it is bound to that address.
  static Result<std::unique_ptr<MetricsServer>> open(const Address& address, const Config& config,
                                                     MetricsSources sources, const Log& log,
                                                     std::optional<Listeners> handed = {});
  ~MetricsServer();  // stops and joins the thread

  // The address actually bound (port 0 resolved).
  const SocketAddress& bound() const noexcept { return listeners_.bound().front(); }
  // --user: its Unix socket file and PATH.lock go to the user as --listen's do, or the server,
  // no longer root, could not remove them on exit. Before start().
  Result<void> hand_files_to(uid_t uid, gid_t gid) const {
    return listeners_.hand_files_to(uid, gid);
  }
  void start();

  // SIGUSR2 (upgrade.hpp): the listening socket and its Unix file, for the new process.
  std::vector<Listeners::Handed> to_hand_over() const;
  // The new process serves: scrapes already accepted are answered, the next ones are its own
  // (the socket stays open there), and its file is its to remove. Main thread.
  void handed_over();

 private:
  enum class Phase { reading, writing, lingering };
  struct Client {
    Fd fd;
    Phase phase = Phase::reading;
    std::string received;
    std::string response;
    size_t sent = 0;
    loop::Clock::time_point deadline;
    bool counted = false;  // one of the kMaxScrapes, not a refusal
  };

  MetricsServer(Listeners listeners, loop::EventLoop loop, MetricsSources sources, const Log& log);
  static bool is_bound_to(const SocketAddress& bound, const Address& address);
  void run();
  void accept_all();
  void on_client(int fd);
  void read_request(Client& client);
  void respond(Client& client, std::string response);
  void send_response(Client& client);
  void linger(Client& client);
  void expire();
  void close_client(int fd);
  void stop_accepting();
  MetricsSnapshot snapshot() const;
  int next_timeout_ms() const;

  Listeners listeners_;
  int listener_ = -1;  // -1 once handed over
  loop::EventLoop loop_;
  MetricsSources sources_;
  const Log& log_;
  std::unordered_map<int, Client> clients_;
  size_t scrapes_ = 0;  // clients still reading or being answered with a page
  loop::Clock::time_point now_{};
  loop::Clock::time_point accept_resume_ = loop::Clock::time_point::min();
  const loop::Clock::time_point started_ = loop::Clock::now();
  std::atomic<bool> stopping_{false};
  std::atomic<bool> handing_over_{false};
  std::jthread thread_;
};

}  // namespace doorman::server
