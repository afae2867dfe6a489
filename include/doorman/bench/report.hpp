#pragma once
// What a run measured, and its two printed forms: a short table for people, one JSON object for
// machines. Any thread; a Tally is filled by one generator thread and merged afterwards.

#include <array>
#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

#include "doorman/bench/histogram.hpp"

namespace doorman::bench {

// How a connection that did not end with the expected reply failed.
enum class ErrorKind : uint8_t {
  connect_refused,       // ECONNREFUSED, or no Unix socket file at that path
  connect_timeout,       // the deadline passed before the connection was established
  reset,                 // ECONNRESET or EPIPE once established
  closed_without_reply,  // EOF before any byte of a reply
  wrong_reply,           // bytes that are not the expected reply
  timeout,               // the deadline passed while waiting for the reply or the close
  other,                 // anything else (EMFILE, EADDRNOTAVAIL...): see Tally::last_other
};
inline constexpr size_t kErrorKinds = 7;

// "connect refused" for people; "connect_refused" is the JSON key.
std::string_view describe(ErrorKind kind) noexcept;
std::string_view json_key(ErrorKind kind) noexcept;

// The outcomes of one class of connections (measured, silent or slow).
struct Tally {
  uint64_t ok = 0;
  std::array<uint64_t, kErrorKinds> errors{};
  Histogram latency;       // ok connections only: a 10 s timeout is not a latency
  std::string last_other;  // the last ErrorKind::other, as one line
  // The bytes of the first wrong reply, raw and at most kShownReply of them: a count alone does
  // not say what the server answered instead.
  std::string first_wrong_reply;
  static constexpr size_t kShownReply = 200;

  void add_error(ErrorKind kind) noexcept { ++errors[static_cast<size_t>(kind)]; }
  uint64_t error_count() const noexcept;
  uint64_t finished() const noexcept { return ok + error_count(); }
  void merge(const Tally& other);
};

struct Report {
  // What was asked, echoed so a saved JSON result says how it was produced.
  std::string target;
  std::string type;
  int concurrency = 0;
  double rate = 0;  // 0: closed loop
  int threads = 0;
  int silent = 0;
  int slow = 0;
  std::string expect;  // the reply that counts as success, shown beside a wrong one

  std::chrono::nanoseconds elapsed{};  // measured phase: after the silent ones were opened
  Tally measured{};
  uint64_t unfinished = 0;   // in flight when the duration ended or the run was interrupted
  uint64_t late_starts = 0;  // open loop: starts more than 2 ms behind the schedule
  bool interrupted = false;
  int stop_signal = 0;  // SIGINT or SIGTERM when one ended the run
  Tally silent_held{};  // ok: closed by the server; latency: how long it was held
  Tally slow_clients{};

  double connections_per_second() const noexcept;
};

// True when nothing got through and every failure was a refused connect: the target is not
// there at all (exit 69), rather than a run with errors (exit 0).
bool unreachable(const Report& report) noexcept;

// Every error of the run: the measured connections', the silent ones' and the slow clients'.
uint64_t total_errors(const Report& report) noexcept;

std::string format_text(const Report& report);
// One line, no trailing newline. Latencies in microseconds, with decimals.
std::string format_json(const Report& report);

}  // namespace doorman::bench
