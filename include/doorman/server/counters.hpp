#pragma once
// Counters: what a worker has done. Written by its worker thread only, read by any thread with
// relaxed loads (a snapshot may be a few events behind, never torn).

#include <atomic>
#include <cstdint>

#include "doorman/server/wait_histogram.hpp"

namespace doorman::server {

// Counters read at one moment, to add up and to print.
struct CounterValues {
  uint64_t accepted = 0;
  uint64_t welcomed = 0;
  uint64_t rejected = 0;
  uint64_t empty = 0;  // end of stream before any byte: rejected, but counted apart
  uint64_t timed_out = 0;
  uint64_t refused_over_limit = 0;
  uint64_t refused_no_descriptors = 0;
  uint64_t dropped_unbound_sender = 0;
  uint64_t dropped_loop = 0;       // datagrams from the server's own address, or replies
  uint64_t dropped_over_rate = 0;  // datagrams from a source over --dgram-rate
  uint64_t errors = 0;
  // --proxy-protocol: closed without a reply, the PROXY header missing or malformed (B12).
  uint64_t bad_proxy_header = 0;

  CounterValues& operator+=(const CounterValues& other) noexcept;
};

struct Counters {
  std::atomic<uint64_t> accepted{0};
  std::atomic<uint64_t> welcomed{0};
  std::atomic<uint64_t> rejected{0};
  std::atomic<uint64_t> empty{0};
  std::atomic<uint64_t> timed_out{0};
  std::atomic<uint64_t> refused_over_limit{0};
  std::atomic<uint64_t> refused_no_descriptors{0};
  std::atomic<uint64_t> dropped_unbound_sender{0};
  std::atomic<uint64_t> dropped_loop{0};
  std::atomic<uint64_t> dropped_over_rate{0};
  std::atomic<uint64_t> errors{0};
  std::atomic<uint64_t> bad_proxy_header{0};
  // Stream mode: from the accept to the request (B7, the metrics endpoint).
  WaitHistogram request_wait;

  CounterValues read() const noexcept;

  // Single writer: a relaxed load and store is enough, and cheaper than fetch_add.
  static void bump(std::atomic<uint64_t>& counter) noexcept {
    counter.store(counter.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
  }
};

inline CounterValues& CounterValues::operator+=(const CounterValues& other) noexcept {
  accepted += other.accepted;
  welcomed += other.welcomed;
  rejected += other.rejected;
  empty += other.empty;
  timed_out += other.timed_out;
  refused_over_limit += other.refused_over_limit;
  refused_no_descriptors += other.refused_no_descriptors;
  dropped_unbound_sender += other.dropped_unbound_sender;
  dropped_loop += other.dropped_loop;
  dropped_over_rate += other.dropped_over_rate;
  errors += other.errors;
  bad_proxy_header += other.bad_proxy_header;
  return *this;
}

inline CounterValues Counters::read() const noexcept {
  constexpr auto relaxed = std::memory_order_relaxed;
  return CounterValues{accepted.load(relaxed),
                       welcomed.load(relaxed),
                       rejected.load(relaxed),
                       empty.load(relaxed),
                       timed_out.load(relaxed),
                       refused_over_limit.load(relaxed),
                       refused_no_descriptors.load(relaxed),
                       dropped_unbound_sender.load(relaxed),
                       dropped_loop.load(relaxed),
                       dropped_over_rate.load(relaxed),
                       errors.load(relaxed),
                       bad_proxy_header.load(relaxed)};
}

}  // namespace doorman::server
