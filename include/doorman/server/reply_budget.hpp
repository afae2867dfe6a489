#pragma once
// ReplyBudget: how many datagram replies each source address may still get, one budget per
// address for the whole server — every worker charges the same one, since the kernel spreads one
// host's datagrams over the workers' sockets by source port. A token bucket per source, kept as
// GCRA's one timestamp (when the bucket is full again), so that a whole bucket is one 64-bit
// word changed by one compare-exchange. Any thread, lock-free: no thread ever waits for another,
// and nothing is allocated after construction.
//
// The table is set-associative: a keyed hash of the address picks a set of kWays entries (a
// cache line of hashes); a source not in its set takes the entry whose bucket is the fullest,
// the one heard from least lately for its rate, and takes over that bucket as it stands. So
// every reply is charged to one entry's bucket, and no entry ever gives more than the rate: a
// flood from more addresses than the table holds gets at most capacity x rate replies a second
// in all, never a fresh bucket per address. Where the table is not exact, it errs on the side of
// the cap: two addresses with the same 64-bit hash (unforeseeable: the key is random per
// process) share one bucket; a newcomer may inherit a throttled source's bucket, and wait one
// interval for its first reply; a source charged at the instant its entry changes hands pays
// into the newcomer's bucket. The one exception: two workers meeting a new source at the same
// instant may each claim an entry for it, one reply more.

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <vector>

#include "doorman/loop/deadline_list.hpp"
#include "doorman/net/socket_address.hpp"

namespace doorman::server {

// A source address without its port: a flood from many ports of one host is one source.
struct SourceKey {
  std::array<uint8_t, 16> bytes{};  // the IPv6 address, an IPv4 one mapped, a Unix name hashed

  friend bool operator==(const SourceKey&, const SourceKey&) = default;
};

SourceKey source_key(const SocketAddress& source) noexcept;

class ReplyBudget {
 public:
  static constexpr size_t kDefaultCapacity = 4096;
  static constexpr size_t kWays = 8;  // entries a source may take: one cache line of hashes

  // `rate` replies a second to each source, `burst` of them at once; both at least 1.
  // `capacity` is rounded up to a power of two sets of kWays.
  ReplyBudget(unsigned rate, unsigned burst, size_t capacity = kDefaultCapacity);

  // Spends one reply of `source`'s at `now`: false when it has none left. A source not in the
  // table takes an entry, with the bucket that entry had (full when it was free or idle).
  bool take(const SourceKey& source, loop::Clock::time_point now) noexcept;

  // Entries that hold a source. Exact when no thread is taking.
  size_t size() const noexcept;
  size_t capacity() const noexcept { return sets_.size() * kWays; }

 private:
  struct alignas(64) Set {
    std::array<std::atomic<uint64_t>, kWays> sources{};  // a source's hash; 0: free
    std::array<std::atomic<int64_t>, kWays> full_at{};   // the bucket's GCRA time, ns
  };
  enum class Spent { granted, refused, lost_race };

  uint64_t hash_of(const SourceKey& key) const noexcept;
  // The way of `set` that holds `hash`, claiming one when none does; kWays when another
  // thread changed the set under this one (look again).
  size_t find_or_claim(Set& set, uint64_t hash) const noexcept;
  Spent spend(Set& set, size_t way, int64_t now) const noexcept;

  int64_t interval_ns_;   // one reply's worth of time
  int64_t tolerance_ns_;  // how far ahead of now full_at may run: burst - 1 intervals
  uint64_t seed_;         // so that nobody can choose addresses that share a set or a hash
  std::vector<Set> sets_;
};

}  // namespace doorman::server
