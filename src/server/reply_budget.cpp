#include "doorman/server/reply_budget.hpp"

#include <netinet/in.h>
#include <sys/un.h>

#include <algorithm>
#include <atomic>
#include <bit>
#include <chrono>
#include <cstddef>
#include <cstring>
#include <limits>
#include <random>

namespace doorman::server {
namespace {

uint64_t fnv1a(const char* data, size_t size, uint64_t hash) noexcept {
  for (size_t i = 0; i < size; ++i) {
    hash = (hash ^ static_cast<unsigned char>(data[i])) * 0x100000001b3ULL;
  }
  return hash;
}

uint64_t mix(uint64_t value) noexcept {  // splitmix64's finaliser
  value = (value ^ (value >> 30)) * 0xbf58476d1ce4e5b9ULL;
  value = (value ^ (value >> 27)) * 0x94d049bb133111ebULL;
  return value ^ (value >> 31);
}

}  // namespace

SourceKey source_key(const SocketAddress& source) noexcept {
  SourceKey key;
  if (source.family() == AF_INET) {
    const auto& in = reinterpret_cast<const sockaddr_in&>(*source.get());
    key.bytes[10] = 0xff;
    key.bytes[11] = 0xff;
    std::memcpy(key.bytes.data() + 12, &in.sin_addr, 4);
  } else if (source.family() == AF_INET6) {
    const auto& in6 = reinterpret_cast<const sockaddr_in6&>(*source.get());
    std::memcpy(key.bytes.data(), &in6.sin6_addr, 16);
  } else if (source.family() == AF_UNIX && source.size() > offsetof(sockaddr_un, sun_path)) {
    // A name of up to 108 bytes in 16: hashed twice, 128 bits, so that two local senders
    // sharing a key is not a practical worry.
    const char* name = reinterpret_cast<const sockaddr_un&>(*source.get()).sun_path;
    const size_t size = source.size() - offsetof(sockaddr_un, sun_path);
    const uint64_t low = fnv1a(name, size, 0xcbf29ce484222325ULL);
    const uint64_t high = fnv1a(name, size, 0x84222325cbf29ce4ULL);
    std::memcpy(key.bytes.data(), &low, 8);
    std::memcpy(key.bytes.data() + 8, &high, 8);
  }
  return key;
}

ReplyBudget::ReplyBudget(unsigned rate, unsigned burst, size_t capacity)
    : interval_ns_(1'000'000'000LL / std::max(rate, 1U)),
      tolerance_ns_(interval_ns_ * (static_cast<int64_t>(std::max(burst, 1U)) - 1)),
      seed_((static_cast<uint64_t>(std::random_device{}()) << 32) | std::random_device{}()),
      sets_(std::bit_ceil((std::max<size_t>(capacity, 1) + kWays - 1) / kWays)) {}

bool ReplyBudget::take(const SourceKey& source, loop::Clock::time_point now) noexcept {
  const int64_t at =
      std::chrono::duration_cast<std::chrono::nanoseconds>(now.time_since_epoch()).count();
  const uint64_t hash = hash_of(source);
  Set& set = sets_[hash & (sets_.size() - 1)];
  // Each lost race means another thread's change went through, so this ends quickly; a thread
  // that loses them all anyway answers nothing rather than wait.
  constexpr int kAttempts = 64;
  for (int attempt = 0; attempt < kAttempts; ++attempt) {
    const size_t way = find_or_claim(set, hash);
    if (way == kWays) continue;
    switch (spend(set, way, at)) {
      case Spent::granted:
        return true;
      case Spent::refused:
        return false;
      case Spent::lost_race:
        break;
    }
  }
  return false;
}

size_t ReplyBudget::size() const noexcept {
  size_t used = 0;
  for (const Set& set : sets_) {
    for (const auto& source : set.sources)
      used += source.load(std::memory_order_relaxed) != 0 ? 1 : 0;
  }
  return used;
}

uint64_t ReplyBudget::hash_of(const SourceKey& key) const noexcept {
  uint64_t low = 0;
  uint64_t high = 0;
  std::memcpy(&low, key.bytes.data(), 8);
  std::memcpy(&high, key.bytes.data() + 8, 8);
  const uint64_t hash = mix(mix(low ^ seed_) ^ high);
  return hash != 0 ? hash : 1;  // 0 marks a free entry
}

size_t ReplyBudget::find_or_claim(Set& set, uint64_t hash) const noexcept {
  size_t fullest = 0;
  int64_t fullest_at = std::numeric_limits<int64_t>::max();
  uint64_t fullest_source = 0;
  for (size_t way = 0; way < kWays; ++way) {
    const uint64_t source = set.sources[way].load(std::memory_order_relaxed);
    if (source == hash) return way;
    // A free entry's bucket reads 0: full, as long ago as can be.
    const int64_t full_at = set.full_at[way].load(std::memory_order_relaxed);
    if (full_at < fullest_at) {
      fullest = way;
      fullest_at = full_at;
      fullest_source = source;
    }
  }
  // The bucket is not reset: the newcomer takes it over as it is (see the header).
  if (set.sources[fullest].compare_exchange_strong(fullest_source, hash,
                                                   std::memory_order_relaxed)) {
    return fullest;
  }
  return kWays;
}

ReplyBudget::Spent ReplyBudget::spend(Set& set, size_t way, int64_t now) const noexcept {
  std::atomic<int64_t>& full_at = set.full_at[way];
  int64_t seen = full_at.load(std::memory_order_relaxed);
  const int64_t start = std::max(seen, now);
  if (start - now > tolerance_ns_) return Spent::refused;
  if (full_at.compare_exchange_strong(seen, start + interval_ns_, std::memory_order_relaxed)) {
    return Spent::granted;
  }
  // Another reply was charged first: to this source, or the entry changed hands. Look again.
  return Spent::lost_race;
}

}  // namespace doorman::server
