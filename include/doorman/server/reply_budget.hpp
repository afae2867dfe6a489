#pragma once
// ReplyBudget: how many datagram replies each source address may still get, a token bucket per
// source (kept as GCRA's one timestamp) in a table of fixed capacity that forgets the source
// heard from least recently when full. All memory is taken at construction: nothing is
// allocated per datagram. Thread of the worker that owns it.

#include <array>
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

  // `rate` replies a second to each source, `burst` of them at once; both at least 1.
  ReplyBudget(unsigned rate, unsigned burst, size_t capacity = kDefaultCapacity);

  // Spends one reply of `source`'s at `now`: false when it has none left. A source not in the
  // table starts with a full bucket.
  bool take(const SourceKey& source, loop::Clock::time_point now) noexcept;

  size_t size() const noexcept { return used_; }
  size_t capacity() const noexcept { return entries_.size(); }

 private:
  static constexpr uint32_t kNone = UINT32_MAX;
  struct Entry {
    SourceKey key;
    int64_t ready_at = 0;  // when the bucket is full again, in ns of the clock
    uint32_t next_in_bucket = kNone;
    uint32_t newer = kNone;  // least-recently-used list, newest first
    uint32_t older = kNone;
  };

  size_t bucket_of(const SourceKey& key) const noexcept;
  uint32_t find(const SourceKey& key, size_t bucket) const noexcept;
  uint32_t claim(const SourceKey& key, size_t bucket) noexcept;
  void unlink_from_bucket(uint32_t index) noexcept;
  void unlink_from_age(uint32_t index) noexcept;
  void make_newest(uint32_t index) noexcept;

  int64_t interval_ns_;   // one reply's worth of time
  int64_t tolerance_ns_;  // how far ahead of now ready_at may run: burst - 1 intervals
  uint64_t seed_;         // so that nobody can choose addresses that share a hash chain
  std::vector<Entry> entries_;
  std::vector<uint32_t> buckets_;  // heads of hash chains, a power of two >= 2 x capacity
  uint32_t newest_ = kNone;
  uint32_t oldest_ = kNone;
  size_t used_ = 0;
};

}  // namespace doorman::server
