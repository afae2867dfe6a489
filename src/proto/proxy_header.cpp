#include "doorman/proto/proxy_header.hpp"

#include <arpa/inet.h>
#include <sys/socket.h>

#include <algorithm>
#include <cstring>

namespace doorman::proto {
namespace {

constexpr std::string_view kV1Prefix = "PROXY ";
constexpr std::string_view kV2Signature("\r\n\r\n\0\r\nQUIT\n", 12);
constexpr size_t kV2FixedPart = 16;
constexpr size_t kUnixPathBytes = 108;

ProxyParse invalid(std::string_view reason) noexcept {
  ProxyParse parse;
  parse.status = ProxyParseStatus::invalid;
  parse.reason = reason;
  return parse;
}

ProxyParse complete(const ProxyHeader& header) noexcept {
  ProxyParse parse;
  parse.status = ProxyParseStatus::complete;
  parse.header = header;
  return parse;
}

// Whether what has come so far could still be `expected`: the first bytes agree.
bool starts_like(std::string_view bytes, std::string_view expected) noexcept {
  const size_t compared = std::min(bytes.size(), expected.size());
  return bytes.substr(0, compared) == expected.substr(0, compared);
}

// Decimal 0-65535, no sign and no leading zero ("0" itself is fine).
bool parse_port(std::string_view text, uint16_t& port) noexcept {
  if (text.empty() || text.size() > 5 || (text.size() > 1 && text[0] == '0')) return false;
  uint32_t value = 0;
  for (const char c : text) {
    if (c < '0' || c > '9') return false;
    value = value * 10 + static_cast<uint32_t>(c - '0');
  }
  if (value > 65535) return false;
  port = static_cast<uint16_t>(value);
  return true;
}

// inet_pton's strict forms: dotted quad without leading zeros, or an IPv6 text address.
bool parse_address(std::string_view text, int family, std::array<uint8_t, 16>& address) noexcept {
  char terminated[48];
  if (text.empty() || text.size() >= sizeof(terminated)) return false;
  std::memcpy(terminated, text.data(), text.size());
  terminated[text.size()] = '\0';
  return ::inet_pton(family, terminated, address.data()) == 1;
}

ProxyParse parse_v1(std::string_view bytes) noexcept {
  const size_t crlf = bytes.substr(0, kMaxProxyHeaderV1).find("\r\n");
  if (crlf == std::string_view::npos) {
    if (bytes.size() >= kMaxProxyHeaderV1) return invalid("v1 line longer than 107 bytes");
    return ProxyParse{};
  }
  ProxyHeader header;
  header.version = 1;
  header.length = crlf + 2;
  const std::string_view line = bytes.substr(kV1Prefix.size(), crlf - kV1Prefix.size());
  // HAProxy's PROXY protocol specification: whatever follows UNKNOWN up to the CRLF is ignored.
  if (line == "UNKNOWN" || line.starts_with("UNKNOWN ")) return complete(header);
  // Otherwise exactly five fields, each after exactly one space.
  std::array<std::string_view, 5> fields;
  size_t count = 0;
  for (std::string_view rest = line;;) {
    const size_t space = rest.find(' ');
    const std::string_view field = rest.substr(0, space);
    if (field.empty()) return invalid("v1 fields not separated by single spaces");
    if (count == fields.size()) return invalid("v1 line has more than 5 fields");
    fields[count++] = field;
    if (space == std::string_view::npos) break;
    rest = rest.substr(space + 1);
  }
  const auto [protocol, source, destination, source_port, destination_port] = fields;
  int family = 0;
  if (protocol == "TCP4") {
    family = AF_INET;
    header.family = ProxyFamily::inet;
  } else if (protocol == "TCP6") {
    family = AF_INET6;
    header.family = ProxyFamily::inet6;
  } else {
    return invalid("v1 protocol not TCP4, TCP6 or UNKNOWN");
  }
  if (count < fields.size()) return invalid("v1 line has fewer than 5 fields");
  if (!parse_address(source, family, header.source.address) ||
      !parse_address(destination, family, header.destination.address)) {
    return invalid("v1 address malformed or not of the protocol's family");
  }
  if (!parse_port(source_port, header.source.port) ||
      !parse_port(destination_port, header.destination.port)) {
    return invalid("v1 port not a decimal number from 0 to 65535");
  }
  return complete(header);
}

uint16_t big_endian_16(std::string_view bytes, size_t at) noexcept {
  return static_cast<uint16_t>((static_cast<uint8_t>(bytes[at]) << 8) |
                               static_cast<uint8_t>(bytes[at + 1]));
}

// A Unix address: 108 bytes, the path ending at its first NUL.
bool parse_unix_path(std::string_view block, std::string_view& path) noexcept {
  const size_t end = block.find('\0');
  if (end == std::string_view::npos) return false;
  path = block.substr(0, end);
  return true;
}

ProxyParse parse_v2(std::string_view bytes) noexcept {
  // Each fixed byte is judged as soon as it is there, so garbage is refused without waiting.
  if (bytes.size() > 12) {
    const auto version_command = static_cast<uint8_t>(bytes[12]);
    if (version_command >> 4 != 2) return invalid("v2 version not 2");
    if ((version_command & 0x0f) > 1) return invalid("v2 command not LOCAL or PROXY");
  }
  if (bytes.size() > 13) {
    const auto family_transport = static_cast<uint8_t>(bytes[13]);
    if (family_transport >> 4 > 3) return invalid("v2 address family unknown");
    if ((family_transport & 0x0f) > 2) return invalid("v2 transport unknown");
  }
  if (bytes.size() < kV2FixedPart) return ProxyParse{};
  const size_t length = kV2FixedPart + big_endian_16(bytes, 14);
  if (length > kMaxProxyHeader) return invalid("v2 header longer than 536 bytes");
  if (bytes.size() < length) return ProxyParse{};

  ProxyHeader header;
  header.version = 2;
  header.length = length;
  if ((static_cast<uint8_t>(bytes[12]) & 0x0f) == 0) {
    // LOCAL: the balancer speaking for itself; the block is skipped whatever it holds.
    header.command = ProxyCommand::local;
    return complete(header);
  }
  const std::string_view block = bytes.substr(kV2FixedPart, length - kV2FixedPart);
  size_t addresses = 0;
  switch (static_cast<uint8_t>(bytes[13]) >> 4) {
    case 0:
      break;
    case 1:
      header.family = ProxyFamily::inet;
      addresses = 12;
      if (block.size() < addresses) break;
      std::memcpy(header.source.address.data(), block.data(), 4);
      std::memcpy(header.destination.address.data(), block.data() + 4, 4);
      header.source.port = big_endian_16(block, 8);
      header.destination.port = big_endian_16(block, 10);
      break;
    case 2:
      header.family = ProxyFamily::inet6;
      addresses = 36;
      if (block.size() < addresses) break;
      std::memcpy(header.source.address.data(), block.data(), 16);
      std::memcpy(header.destination.address.data(), block.data() + 16, 16);
      header.source.port = big_endian_16(block, 32);
      header.destination.port = big_endian_16(block, 34);
      break;
    default:
      header.family = ProxyFamily::unix_path;
      addresses = 2 * kUnixPathBytes;
      if (block.size() < addresses) break;
      if (!parse_unix_path(block.substr(0, kUnixPathBytes), header.source.path) ||
          !parse_unix_path(block.substr(kUnixPathBytes, kUnixPathBytes), header.destination.path)) {
        return invalid("v2 Unix address without a terminating NUL");
      }
      break;
  }
  if (block.size() < addresses) return invalid("v2 address block shorter than its family needs");
  // TLVs (type, 16-bit length, value) fill the rest; none is needed, each must fit.
  size_t at = addresses;
  while (at < block.size()) {
    if (block.size() - at < 3) return invalid("v2 TLV cut short");
    at += 3 + big_endian_16(block, at + 1);
    if (at > block.size()) return invalid("v2 TLV longer than the header");
  }
  return complete(header);
}

}  // namespace

ProxyParse parse_proxy_header(std::string_view bytes) noexcept {
  if (bytes.empty()) return ProxyParse{};
  if (starts_like(bytes, kV1Prefix)) {
    return bytes.size() < kV1Prefix.size() ? ProxyParse{} : parse_v1(bytes);
  }
  if (starts_like(bytes, kV2Signature)) {
    return bytes.size() < kV2Signature.size() ? ProxyParse{} : parse_v2(bytes);
  }
  return invalid("no PROXY protocol signature");
}

}  // namespace doorman::proto
