// The PROXY header's state (--proxy-protocol, B12): reading_proxy_header and what a header
// names, for the worker's log lines.
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <cerrno>
#include <cstddef>
#include <cstring>

#include "doorman/net/socket_address.hpp"
#include "doorman/proto/proxy_header.hpp"
#include "doorman/server/worker.hpp"

namespace doorman::server {
namespace {

// Only for log lines: the address is asked for when a line is written, never on the fast path.
std::string socket_peer_name(int fd) {
  auto peer = SocketAddress::peer_of(fd);
  return peer ? peer->to_string() : "(peer gone)";
}

// The client a PROXY header names; none for LOCAL (the balancer's own check) or an unspecified
// family, whose peer is the socket's.
std::optional<SocketAddress> source_of(const proto::ProxyHeader& header) {
  if (header.command == proto::ProxyCommand::local) return std::nullopt;
  switch (header.family) {
    case proto::ProxyFamily::unspecified:
      return std::nullopt;
    case proto::ProxyFamily::inet: {
      sockaddr_in in{};
      in.sin_family = AF_INET;
      std::memcpy(&in.sin_addr, header.source.address.data(), sizeof(in.sin_addr));
      in.sin_port = htons(header.source.port);
      return SocketAddress(reinterpret_cast<const sockaddr*>(&in), sizeof(in));
    }
    case proto::ProxyFamily::inet6: {
      sockaddr_in6 in6{};
      in6.sin6_family = AF_INET6;
      std::memcpy(&in6.sin6_addr, header.source.address.data(), sizeof(in6.sin6_addr));
      in6.sin6_port = htons(header.source.port);
      return SocketAddress(reinterpret_cast<const sockaddr*>(&in6), sizeof(in6));
    }
    case proto::ProxyFamily::unix_path:
      // The parser found a NUL within sun_path's 108 bytes, so the path fits.
      if (!header.source.path.empty()) return SocketAddress::unix_path(header.source.path);
      sockaddr_un un{};
      un.sun_family = AF_UNIX;
      return SocketAddress(reinterpret_cast<const sockaddr*>(&un), offsetof(sockaddr_un, sun_path));
  }
  return std::nullopt;
}

}  // namespace

// accepting, reading_proxy_header (--proxy-protocol): the PROXY header, and the request if it
// came in the same read. The header's bytes so far are kept apart (Proxied), so that it may
// arrive in any number of pieces, all within the request's deadline from the accept.
void Worker::read_proxy_header(int fd) {
  const size_t pending = restore_proxy_header(fd);
  // Enough for the largest header and a request one byte over --read-size.
  const size_t wanted = proto::kMaxProxyHeader + settings_->read_size + 1 - pending;
  ssize_t got = 0;
  do {
    got = ::recv(fd, scratch_.data() + pending, wanted, 0);
  } while (got < 0 && errno == EINTR);
  proxy_header_read(fd, got >= 0 ? got : -errno);
}

// The header's bytes so far, back at the start of the scratch buffer: how many.
size_t Worker::restore_proxy_header(int fd) {
  const std::string& pending = proxied(fd).pending;  // less than kMaxProxyHeader: parsed so
  std::memcpy(scratch_.data(), pending.data(), pending.size());
  return pending.size();
}

// What a read after the header's bytes kept so far (restored at the start of the scratch
// buffer) brought: `result` more bytes in the scratch buffer after them, or -errno.
void Worker::proxy_header_read(int fd, ssize_t result) {
  Proxied& kept = proxied(fd);
  const size_t pending = kept.pending.size();
  const ssize_t got = result;
  if (got == 0) {
    return refuse_proxy_header(
        fd, pending == 0 ? "closed before sending one" : "closed in the middle of it");
  }
  if (got < 0) {
    const int code = static_cast<int>(-got);
    if (!would_block(code)) {
      if (log_.enabled(LogLevel::debug)) {
        log_.debug("{} left before its PROXY header: {}", peer_name(fd), describe_errno(code));
      }
      return close_connection(fd);
    }
    return enter(fd, ConnectionState::reading_proxy_header);  // or a spurious wake-up
  }
  const std::string_view received(scratch_.data(), pending + static_cast<size_t>(got));
  const proto::ProxyParse parse = proto::parse_proxy_header(received);
  if (parse.status == proto::ProxyParseStatus::invalid)
    return refuse_proxy_header(fd, parse.reason);
  if (parse.status == proto::ProxyParseStatus::need_more) {
    kept.pending.assign(received);
    return enter(fd, ConnectionState::reading_proxy_header);
  }
  kept.pending = std::string();  // gives the memory back now, not at the close
  kept.source = source_of(parse.header);
  // The request is what follows the header: judged now if any came with it, else awaited
  // within the same deadline.
  const std::string_view request = received.substr(parse.header.length);
  if (!request.empty()) return judge_request(fd, request, request.size());
  enter(fd, ConnectionState::waiting_request);
}

// Never judged, never answered: what came is not a request from a balancer we can trust.
void Worker::refuse_proxy_header(int fd, std::string_view reason) {
  Counters::bump(counters_.bad_proxy_header);
  if (log_.admits_limited(LogKind::bad_proxy_header, LogLevel::warning)) {
    const std::string peer = peer_name(fd);
    log_.event(LogLevel::warning, {"bad_proxy_header", peer}, "bad PROXY header from {}: {}", peer,
               reason);
  }
  close_connection(fd);
}

std::string Worker::peer_name(int fd) const {
  if (config_.proxy_protocol && proxied(fd).source) return proxied(fd).source->to_string();
  return socket_peer_name(fd);
}

}  // namespace doorman::server
