#include "doorman/server/reply_budget.hpp"

#include <netinet/in.h>
#include <sys/un.h>

#include <algorithm>
#include <bit>
#include <cstddef>
#include <cstring>
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
      entries_(std::max<size_t>(capacity, 1)),
      buckets_(std::bit_ceil(2 * entries_.size()), kNone) {}

bool ReplyBudget::take(const SourceKey& source, loop::Clock::time_point now) noexcept {
  const int64_t at =
      std::chrono::duration_cast<std::chrono::nanoseconds>(now.time_since_epoch()).count();
  const size_t bucket = bucket_of(source);
  uint32_t index = find(source, bucket);
  if (index == kNone) {
    index = claim(source, bucket);
    entries_[index].ready_at = at;  // a full bucket
  } else if (index != newest_) {
    unlink_from_age(index);
    make_newest(index);
  }
  Entry& entry = entries_[index];
  const int64_t start = std::max(entry.ready_at, at);
  if (start - at > tolerance_ns_) return false;
  entry.ready_at = start + interval_ns_;
  return true;
}

size_t ReplyBudget::bucket_of(const SourceKey& key) const noexcept {
  uint64_t low = 0;
  uint64_t high = 0;
  std::memcpy(&low, key.bytes.data(), 8);
  std::memcpy(&high, key.bytes.data() + 8, 8);
  return static_cast<size_t>(mix(mix(low ^ seed_) ^ high)) & (buckets_.size() - 1);
}

uint32_t ReplyBudget::find(const SourceKey& key, size_t bucket) const noexcept {
  for (uint32_t index = buckets_[bucket]; index != kNone; index = entries_[index].next_in_bucket) {
    if (entries_[index].key == key) return index;
  }
  return kNone;
}

uint32_t ReplyBudget::claim(const SourceKey& key, size_t bucket) noexcept {
  uint32_t index = 0;
  if (used_ < entries_.size()) {
    index = static_cast<uint32_t>(used_++);
  } else {  // full: the source heard from least recently makes room
    index = oldest_;
    unlink_from_bucket(index);
    unlink_from_age(index);
  }
  Entry& entry = entries_[index];
  entry.key = key;
  entry.next_in_bucket = buckets_[bucket];
  buckets_[bucket] = index;
  make_newest(index);
  return index;
}

void ReplyBudget::unlink_from_bucket(uint32_t index) noexcept {
  uint32_t* link = &buckets_[bucket_of(entries_[index].key)];
  while (*link != index)
    link = &entries_[*link].next_in_bucket;
  *link = entries_[index].next_in_bucket;
}

void ReplyBudget::unlink_from_age(uint32_t index) noexcept {
  Entry& entry = entries_[index];
  (entry.newer == kNone ? newest_ : entries_[entry.newer].older) = entry.older;
  (entry.older == kNone ? oldest_ : entries_[entry.older].newer) = entry.newer;
  entry.newer = entry.older = kNone;
}

void ReplyBudget::make_newest(uint32_t index) noexcept {
  Entry& entry = entries_[index];
  entry.newer = kNone;
  entry.older = newest_;
  if (newest_ != kNone) entries_[newest_].newer = index;
  newest_ = index;
  if (oldest_ == kNone) oldest_ = index;
}

}  // namespace doorman::server
