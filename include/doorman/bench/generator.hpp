#pragma once
// The load generator (B8): configuration and the whole run. run() is called from one
// thread; it starts --threads workers, each with its own event loop, and merges their results.

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "doorman/base/duration.hpp"
#include "doorman/base/failure.hpp"
#include "doorman/base/result.hpp"
#include "doorman/bench/report.hpp"
#include "doorman/net/address.hpp"
#include "doorman/net/socket_address.hpp"

namespace doorman::bench {

inline constexpr uint64_t kDefaultCount = 10'000;
// --rate's range, per second: below it the interval between starts would not fit a clock
// duration; above it no thread could keep the schedule.
inline constexpr double kMinRate = 0.001;
inline constexpr double kMaxRate = 10'000'000;

struct Config {
  Address target;             // default_target() unless named with --connect
  bool target_named = false;  // only a named target may resolve to a non-loopback address
  SocketType type = SocketType::stream;
  int concurrency = 50;                // connections in flight at most
  double rate = 0;                     // connections started per second (open loop); 0: closed loop
  std::optional<uint64_t> count{};     // with no duration either: kDefaultCount
  std::optional<Duration> duration{};  // the run stops at the first of count and duration
  std::string message = "1";
  std::string expect = "welcome to server!";
  int silent = 0;  // extra connections held open that never send
  int slow = 0;    // extra clients that send only after slow_delay
  // Just under the server's default 5 s timeout: the slowest client it still welcomes.
  Duration slow_delay = std::chrono::milliseconds(4500);
  Duration timeout = std::chrono::seconds(10);  // per connection, from the connect
  int threads = 1;
  // --source: each connection bound to the next of these (port 0) before its connect. Empty:
  // the kernel's choice, or 127.0.0.2, 127.0.0.3, ... when one address has too few ports (P7).
  std::vector<SocketAddress> sources{};
  bool progress = false;
  std::optional<uint64_t> max_errors{};  // more errors than this fail the run (exit 1)
};

// localhost:8001, the tutorial's server.
Address default_target();

// Empty when `rate` is in --rate's range, else why it is not: one line.
std::string check_rate(double rate);

// The rules between options that no single option can check.
Result<void> validate(const Config& config);

// Blocks SIGINT and SIGTERM for its duration: the first one ends the run early, and what was
// measured so far is still reported, with the signal in Report::stop_signal. Fails with EX_USAGE
// (options that do not go together), EX_UNAVAILABLE (the target) or EX_OSERR (the system).
Result<Report, Failure> run(const Config& config);

}  // namespace doorman::bench
