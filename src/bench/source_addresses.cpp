#include "doorman/bench/source_addresses.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <string>

namespace doorman::bench {
namespace {

// A source may take this share of the ports: the rest is slack for ports the kernel finds in
// use or in TIME_WAIT.
constexpr size_t kPortsPercent = 75;
constexpr size_t kDefaultPorts = 60999 - 32768 + 1;

Result<SocketAddress> parse_source(std::string_view text) {
  const std::string name(text);
  sockaddr_in in{};
  if (::inet_pton(AF_INET, name.c_str(), &in.sin_addr) == 1) {
    in.sin_family = AF_INET;
    return SocketAddress(reinterpret_cast<const sockaddr*>(&in), sizeof(in));
  }
  sockaddr_in6 in6{};
  std::string bare = name;
  if (bare.size() > 2 && bare.front() == '[' && bare.back() == ']') {
    bare = bare.substr(1, bare.size() - 2);
  }
  if (::inet_pton(AF_INET6, bare.c_str(), &in6.sin6_addr) == 1) {
    in6.sin6_family = AF_INET6;
    return SocketAddress(reinterpret_cast<const sockaddr*>(&in6), sizeof(in6));
  }
  return Error::described("parse source address", name,
                          "not an IPv4 or IPv6 address, such as 127.0.0.2 or ::1");
}

}  // namespace

Result<std::vector<SocketAddress>> parse_sources(std::string_view text) {
  const std::string all(text);
  std::vector<SocketAddress> sources;
  for (;;) {
    const size_t comma = text.find(',');
    auto source = parse_source(text.substr(0, comma));
    if (!source) return std::move(source).error();
    sources.push_back(*source);
    if (comma == std::string_view::npos) break;
    text.remove_prefix(comma + 1);
  }
  for (const SocketAddress& source : sources) {
    if (source.family() != sources.front().family()) {
      return Error::described("parse source addresses", all, "mixes IPv4 and IPv6 addresses");
    }
  }
  return sources;
}

size_t ephemeral_port_count() {
  std::FILE* file = std::fopen("/proc/sys/net/ipv4/ip_local_port_range", "re");
  if (file == nullptr) return kDefaultPorts;
  unsigned low = 0, high = 0;
  const bool read = std::fscanf(file, "%u %u", &low, &high) == 2 && high >= low;
  std::fclose(file);
  return read ? size_t{high} - low + 1 : kDefaultPorts;
}

std::vector<SocketAddress> spread_sources(const SocketAddress& target, size_t connections,
                                          size_t ports) {
  if (target.family() != AF_INET) return {};
  const auto* in = reinterpret_cast<const sockaddr_in*>(target.get());
  if ((ntohl(in->sin_addr.s_addr) >> 24) != 127) return {};
  const size_t per_source = std::max<size_t>(1, ports * kPortsPercent / 100);
  if (connections <= per_source) return {};
  // 127.0.0.2 up to 127.255.255.254: every one of them is this machine's loopback.
  const size_t count = std::min<size_t>((connections + per_source - 1) / per_source, 0xfffffd);
  std::vector<SocketAddress> sources;
  for (size_t i = 0; i < count; ++i) {
    sockaddr_in source{};
    source.sin_family = AF_INET;
    source.sin_addr.s_addr = htonl(static_cast<uint32_t>((127U << 24) + 2 + i));
    sources.emplace_back(reinterpret_cast<const sockaddr*>(&source), sizeof(source));
  }
  return sources;
}

Result<void> bind_source(int fd, const SocketAddress& source) {
  const int on = 1;
  if (::setsockopt(fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &on, sizeof(on)) != 0) {
    return Error("setsockopt IP_BIND_ADDRESS_NO_PORT", source.to_string(), errno);
  }
  if (::bind(fd, source.get(), source.size()) != 0) {
    return Error("bind", source.to_string(), errno);
  }
  return {};
}

}  // namespace doorman::bench
