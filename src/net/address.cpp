#include "doorman/net/address.hpp"

#include "doorman/base/printable.hpp"

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <sys/un.h>

#include <algorithm>
#include <charconv>
#include <memory>

namespace doorman {
namespace {

constexpr std::string_view kUnixPrefix = "unix:";
// sun_path holds the path and its terminating NUL; an abstract name has a NUL in front instead.
constexpr size_t kMaxUnixName = sizeof(sockaddr_un{}.sun_path) - 1;

Error bad(std::string_view text, std::string reason) {
  return Error::described("parse address", quoted(text), std::move(reason));
}

Result<uint16_t> parse_port(std::string_view whole, std::string_view digits,
                            Address::PortZero port_zero) {
  if (digits.empty()) return bad(whole, "no port after ':' (expected host:port)");
  unsigned value = 0;
  const auto [end, failure] = std::from_chars(digits.data(), digits.data() + digits.size(), value);
  if (failure != std::errc{} || end != digits.data() + digits.size() || value > 65535 ||
      digits.size() > 5) {
    return bad(whole, "port " + quoted(digits) + " is not a number from 0 to 65535");
  }
  if (value == 0 && port_zero == Address::PortZero::forbidden) {
    return bad(whole, "port 0 is only for listening (the kernel picks a port)");
  }
  return static_cast<uint16_t>(value);
}

bool is_host_name_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
         c == '-' || c == '_';
}

std::string gai_reason(int status) {
  switch (status) {
    case EAI_NONAME:
    case EAI_NODATA:
      return "host not found";
    case EAI_AGAIN:
      return "temporary failure in name resolution (EAI_AGAIN)";
    case EAI_SYSTEM:
      return describe_errno(errno);
    default:
      return ::gai_strerror(status);
  }
}

}  // namespace

int to_native(SocketType type) noexcept {
  return type == SocketType::stream ? SOCK_STREAM : SOCK_DGRAM;
}

std::string_view to_string(SocketType type) noexcept {
  return type == SocketType::stream ? "stream" : "dgram";
}

Result<SocketType> parse_socket_type(std::string_view text) {
  if (text == "stream" || text == "tcp") return SocketType::stream;
  if (text == "dgram" || text == "udp") return SocketType::datagram;
  return Error::described("parse type", quoted(text), "expected stream or dgram");
}

Result<Address> Address::parse(std::string_view text, PortZero port_zero) {
  if (text.find('\0') != std::string_view::npos) return bad(text, "contains a NUL byte");
  Address address;

  if (text.starts_with(kUnixPrefix)) {
    std::string_view rest = text.substr(kUnixPrefix.size());
    const bool abstract = rest.starts_with('@');
    if (abstract) rest.remove_prefix(1);
    if (rest.empty()) return bad(text, abstract ? "empty abstract name" : "empty Unix socket path");
    if (rest.size() > kMaxUnixName) {
      return bad(text, "Unix socket name is " + std::to_string(rest.size()) +
                           " bytes, longer than the " + std::to_string(kMaxUnixName) +
                           " that fit in sun_path");
    }
    address.kind_ = abstract ? Kind::unix_abstract : Kind::unix_path;
    address.path_ = std::string(rest);
    return address;
  }

  std::string_view host;
  std::string_view port;
  if (text.starts_with('[')) {
    const size_t close = text.find(']');
    if (close == std::string_view::npos) return bad(text, "'[' without a closing ']'");
    host = text.substr(1, close - 1);
    const std::string_view after = text.substr(close + 1);
    if (!after.starts_with(':')) return bad(text, "expected ':port' after ']'");
    port = after.substr(1);
    if (host.empty()) return bad(text, "empty host between '[' and ']'");
    // The part before any %scope must be an IPv6 literal.
    const std::string literal(host.substr(0, host.find('%')));
    in6_addr scratch{};
    if (::inet_pton(AF_INET6, literal.c_str(), &scratch) != 1) {
      return bad(text, quoted(host) + " is not an IPv6 address");
    }
  } else {
    const size_t colon = text.rfind(':');
    if (colon == std::string_view::npos) return bad(text, "no port (expected host:port)");
    host = text.substr(0, colon);
    port = text.substr(colon + 1);
    if (host.empty()) return bad(text, "empty host (expected host:port, or *:port for all)");
    if (host.find(':') != std::string_view::npos) {
      return bad(text, "an IPv6 address needs brackets, as in [::1]:8001");
    }
    if (host != "*" && !std::all_of(host.begin(), host.end(), is_host_name_char)) {
      return bad(text, quoted(host) + " is not a host name or address");
    }
  }
  auto parsed_port = parse_port(text, port, port_zero);
  if (!parsed_port) return std::move(parsed_port).error();
  address.host_ = std::string(host);
  address.port_ = *parsed_port;
  return address;
}

std::string Address::to_string() const {
  switch (kind_) {
    case Kind::unix_path:
      return std::string(kUnixPrefix) + path_;
    case Kind::unix_abstract:
      return std::string(kUnixPrefix) + "@" + path_;
    case Kind::inet:
      break;
  }
  const bool bracketed = host_.find(':') != std::string::npos;
  return (bracketed ? "[" + host_ + "]" : host_) + ":" + std::to_string(port_);
}

Result<std::vector<SocketAddress>> Address::resolve(SocketType type, Purpose purpose) const {
  if (kind_ == Kind::unix_path) return std::vector{SocketAddress::unix_path(path_)};
  if (kind_ == Kind::unix_abstract) return std::vector{SocketAddress::unix_abstract(path_)};

  if (host_ == "*") {
    sockaddr_in any{};
    any.sin_family = AF_INET;
    any.sin_addr.s_addr = htonl(purpose == Purpose::bind ? INADDR_ANY : INADDR_LOOPBACK);
    any.sin_port = htons(port_);
    return std::vector{SocketAddress(reinterpret_cast<sockaddr*>(&any), sizeof(any))};
  }

  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = to_native(type);
  hints.ai_flags = AI_NUMERICSERV | (purpose == Purpose::bind ? AI_PASSIVE : 0);
  addrinfo* found = nullptr;
  const int status = ::getaddrinfo(host_.c_str(), std::to_string(port_).c_str(), &hints, &found);
  if (status != 0) {
    return Error::described(
        "resolve", to_string(), gai_reason(status),
        status == EAI_NONAME ? "check the host name, or use an IP address" : "");
  }
  const std::unique_ptr<addrinfo, decltype(&::freeaddrinfo)> owner(found, ::freeaddrinfo);
  std::vector<SocketAddress> addresses;
  for (const addrinfo* entry = found; entry != nullptr; entry = entry->ai_next) {
    SocketAddress address(entry->ai_addr, entry->ai_addrlen);
    if (std::find(addresses.begin(), addresses.end(), address) == addresses.end()) {
      addresses.push_back(address);
    }
  }
  if (addresses.empty()) return Error::described("resolve", to_string(), "no address found");
  return addresses;
}

}  // namespace doorman
