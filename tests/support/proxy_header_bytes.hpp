#pragma once
// PROXY protocol v2 headers built byte by byte, as a balancer sends them (B12): for the parser's
// unit tests (tests/unit/proxy_header_test.cpp) and its micro-benchmark
// (bench/micro/proxy_header_bench.cpp). Header-only, with nothing of doorman's own, so that both
// can include it whatever they link.

#include <arpa/inet.h>
#include <sys/socket.h>

#include <cstdint>
#include <stdexcept>
#include <string>

namespace doorman::testing {

inline const std::string kProxyV2Signature("\r\n\r\n\0\r\nQUIT\n", 12);

inline std::string big_endian(uint16_t value) {
  return {static_cast<char>(value >> 8), static_cast<char>(value & 0xff)};
}

// A v2 header: signature, version and command, family and transport, length, then `block`.
inline std::string proxy_v2(uint8_t version_command, uint8_t family_transport,
                            const std::string& block) {
  return kProxyV2Signature + static_cast<char>(version_command) +
         static_cast<char>(family_transport) + big_endian(static_cast<uint16_t>(block.size())) +
         block;
}

// An address's bytes in network order, from its text: 4 for IPv4, 16 for IPv6.
inline std::string address_bytes(const char* text) {
  unsigned char bytes[16];
  if (::inet_pton(AF_INET, text, bytes) == 1) return {reinterpret_cast<char*>(bytes), 4};
  if (::inet_pton(AF_INET6, text, bytes) == 1) return {reinterpret_cast<char*>(bytes), 16};
  throw std::invalid_argument(std::string("not an IP address: ") + text);
}

// The address block of a v2 header for TCP over IPv4 (family 0x11) or IPv6 (0x21): both
// addresses, then both ports.
inline std::string inet_block(const char* source, uint16_t source_port, const char* destination,
                              uint16_t destination_port) {
  return address_bytes(source) + address_bytes(destination) + big_endian(source_port) +
         big_endian(destination_port);
}

}  // namespace doorman::testing
