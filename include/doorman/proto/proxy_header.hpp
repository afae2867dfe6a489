#pragma once
// The PROXY protocol header (B12) that a load balancer such as HAProxy (`send-proxy`,
// `send-proxy-v2`) puts before the client's bytes: who the client really is. Version 1 is one
// text line, version 2 a binary block; both as HAProxy's proxy-protocol.txt specifies them.
// Pure: bytes in, a header, "need more bytes" or "invalid, because ..." out. Any thread.
//
// Limits, so that a receiver holds a bounded amount: a v1 line is at most 107 bytes with its
// CRLF (the bound in HAProxy's PROXY protocol specification); a v2 header, whose length field
// would allow 16 + 65535 bytes, is accepted up to kMaxProxyHeader bytes: the largest address
// block (Unix, 216 bytes) plus 304 bytes of TLVs, more than a balancer sends in practice.

#include <array>
#include <cstddef>
#include <cstdint>
#include <string_view>

namespace doorman::proto {

inline constexpr size_t kMaxProxyHeaderV1 = 107;
inline constexpr size_t kMaxProxyHeader = 536;

enum class ProxyCommand : uint8_t {
  local,  // v2 LOCAL: the balancer's own connection (a health check); use the real peer
  proxy,  // a relayed connection: the addresses below are the client's
};

enum class ProxyFamily : uint8_t {
  unspecified,  // v1 UNKNOWN, v2 AF_UNSPEC: no address given; use the real peer
  inet,         // TCP4, AF_INET: 4 bytes of address in `address`
  inet6,        // TCP6, AF_INET6: 16 bytes
  unix_path,    // v2 AF_UNIX: `path`
};

struct ProxyEndpoint {
  std::array<uint8_t, 16> address{};  // network order; IPv4 in the first 4 bytes
  uint16_t port = 0;
  std::string_view path;  // AF_UNIX: up to the first NUL; a view into the parsed bytes
};

struct ProxyHeader {
  uint8_t version = 0;  // 1 or 2
  ProxyCommand command = ProxyCommand::proxy;
  ProxyFamily family = ProxyFamily::unspecified;
  ProxyEndpoint source;
  ProxyEndpoint destination;
  size_t length = 0;  // bytes of the header: what follows is the client's own
};

enum class ProxyParseStatus : uint8_t { complete, need_more, invalid };

struct ProxyParse {
  ProxyParseStatus status = ProxyParseStatus::need_more;
  ProxyHeader header;       // when complete
  std::string_view reason;  // when invalid: a constant phrase, such as "wrong signature"
};

// Parses the start of a stream. Reads only within `bytes`. Complete: header.length <= size.
// For a complete header of length L, every prefix shorter than L is need_more, and every
// longer input gives the same header: bytes may arrive in any number of pieces.
ProxyParse parse_proxy_header(std::string_view bytes) noexcept;

}  // namespace doorman::proto
