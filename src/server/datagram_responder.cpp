#include "doorman/server/datagram_responder.hpp"

#include <netinet/in.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <optional>
#include <string_view>
#include <utility>

#include "doorman/net/socket.hpp"
#include "doorman/proto/judge.hpp"

namespace doorman::server {
namespace {

// Room for the larger of the two destination records.
constexpr size_t kControlSpace = CMSG_SPACE(sizeof(in6_pktinfo));

// Where the request was sent, when the socket asked (IP_PKTINFO, IPV6_RECVPKTINFO).
std::optional<Destination> destination_of(const msghdr& request) {
  for (const cmsghdr* found = CMSG_FIRSTHDR(&request); found != nullptr;
       found = CMSG_NXTHDR(const_cast<msghdr*>(&request), const_cast<cmsghdr*>(found))) {
    Destination destination;
    if (found->cmsg_level == IPPROTO_IP && found->cmsg_type == IP_PKTINFO) {
      destination.family = AF_INET;
      std::memcpy(&destination.v4, CMSG_DATA(found), sizeof(destination.v4));
      return destination;
    }
    if (found->cmsg_level == IPPROTO_IPV6 && found->cmsg_type == IPV6_PKTINFO) {
      destination.family = AF_INET6;
      std::memcpy(&destination.v6, CMSG_DATA(found), sizeof(destination.v6));
      return destination;
    }
  }
  return std::nullopt;
}

// Room for a whole reply even when the read size is smaller, so that one is recognised.
size_t slot_size_for(size_t read_size) {
  return std::max(read_size, std::max(proto::kWelcome.size(), proto::kGoAway.size()));
}

// Whether a line of this flood-prone kind is to be written now (at most one a second for all
// workers together): then how many events it stands for, this one and those held back since
// the last such line. Asked before anything is formatted.
std::optional<uint64_t> admit_line(RateLimiter& lines, const Log& log, LogLevel level,
                                   loop::Clock::time_point now) {
  if (!log.enabled(level)) return std::nullopt;
  const RateLimiter::Decision decision = lines.admit(now);
  if (!decision.write) return std::nullopt;
  return decision.held_back + 1;
}

}  // namespace

DatagramResponder::Shared::Shared(const Config& config)
    : budget_for_local_senders(config.dgram_rate.has_value()) {
  const unsigned rate = config.dgram_rate.value_or(kDefaultDgramRate);
  if (rate > 0) budget.emplace(rate, rate);
}

DatagramResponder::DatagramResponder(Shared& shared, const Settings& settings, Counters& counters,
                                     const Log& log)
    : read_size_(settings.read_size),
      slot_size_(slot_size_for(read_size_)),
      password_(settings.password),
      shared_(shared),
      counters_(counters),
      log_(log),
      buffers_(kBatch * slot_size_),
      request_iov_(kBatch),
      requests_(kBatch),
      senders_(kBatch),
      reply_iov_(kBatch),
      replies_(kBatch),
      request_control_(kBatch * kControlSpace),
      reply_control_(kBatch * kControlSpace) {}

void DatagramResponder::use(const Settings& settings) {
  password_ = settings.password;
  if (settings.read_size == read_size_) return;
  read_size_ = settings.read_size;
  slot_size_ = slot_size_for(read_size_);
  buffers_.assign(kBatch * slot_size_, '\0');  // each batch points its iovecs anew
}

DatagramResponder::Next DatagramResponder::serve(int fd) {
  constexpr int kBatchesPerWakeUp = 8;
  for (int batch = 0; batch < kBatchesPerWakeUp; ++batch) {
    bool failed = false;
    if (serve_batch(fd, failed) < kBatch) return failed ? Next::rest : Next::carry_on;
  }
  return Next::carry_on;
}

void DatagramResponder::serve_until_empty(int fd) {
  // A receive queue holds a few thousand datagrams at most: this bound is never the limit
  // unless senders keep sending, and then the drain must still end.
  constexpr int kBatchesAtMost = 4096;
  for (int batch = 0; batch < kBatchesAtMost; ++batch) {
    bool failed = false;
    if (serve_batch(fd, failed) < kBatch) return;
  }
}

size_t DatagramResponder::serve_batch(int fd, bool& failed) {
  for (size_t i = 0; i < kBatch; ++i) {
    request_iov_[i] = iovec{buffers_.data() + i * slot_size_, slot_size_};
    requests_[i] = mmsghdr{};
    requests_[i].msg_hdr.msg_iov = &request_iov_[i];
    requests_[i].msg_hdr.msg_iovlen = 1;
    requests_[i].msg_hdr.msg_name = senders_[i].data();
    requests_[i].msg_hdr.msg_namelen = SocketAddress::capacity();
    requests_[i].msg_hdr.msg_control = request_control_.data() + i * kControlSpace;
    requests_[i].msg_hdr.msg_controllen = kControlSpace;
  }
  const int received = ::recvmmsg(fd, requests_.data(), kBatch, MSG_DONTWAIT, nullptr);
  const int code = received < 0 ? errno : 0;
  if (received <= 0) {
    // Empty, or interrupted: the next event says when to look again. Anything else (ENOMEM,
    // ENOBUFS) leaves the datagrams queued and the socket readable, so the next look would come
    // at once and fail the same way.
    if (received < 0 && code != EAGAIN && code != EINTR) {
      note_receive_failure(fd, code, loop::Clock::now());
      failed = true;
    }
    return 0;
  }
  const SocketAddress& local = local_address(fd);
  const loop::Clock::time_point now = loop::Clock::now();

  unsigned replies = 0;
  for (size_t i = 0; i < static_cast<size_t>(received); ++i) {
    msghdr& request = requests_[i].msg_hdr;
    senders_[i].resize(request.msg_namelen);
    // A Unix datagram from an unbound socket has no address to answer to.
    if (request.msg_namelen <= sizeof(sa_family_t)) {
      Counters::bump(counters_.dropped_unbound_sender);
      log_.debug("dropped a datagram from an unbound Unix socket: no address to reply to");
      continue;
    }
    const std::string_view whole(buffers_.data() + i * slot_size_, requests_[i].msg_len);
    // A datagram longer than the buffer was cut by the kernel (MSG_TRUNC).
    const bool cut = (request.msg_flags & MSG_TRUNC) != 0;
    const std::optional<Destination> destination = destination_of(request);
    if (!may_answer(senders_[i], cut ? std::string_view() : whole, local, destination, now)) {
      continue;
    }
    Counters::bump(counters_.accepted);
    // A datagram longer than the read size is not the password.
    const auto verdict =
        cut || whole.size() > read_size_ ? proto::Verdict::go_away : proto::judge(whole, password_);
    Counters::bump(verdict == proto::Verdict::welcome ? counters_.welcomed : counters_.rejected);
    if (log_.enabled(LogLevel::debug)) {
      log_.debug("{} {}", senders_[i].to_string(),
                 verdict == proto::Verdict::welcome ? "welcomed" : "rejected");
    }
    const std::string_view reply = proto::reply_for(verdict);
    reply_iov_[replies] = iovec{const_cast<char*>(reply.data()), reply.size()};
    replies_[replies] = mmsghdr{};
    replies_[replies].msg_hdr.msg_iov = &reply_iov_[replies];
    replies_[replies].msg_hdr.msg_iovlen = 1;
    replies_[replies].msg_hdr.msg_name = senders_[i].data();
    replies_[replies].msg_hdr.msg_namelen = senders_[i].size();
    if (destination) answer_from(*destination, replies_[replies].msg_hdr, replies);
    ++replies;
  }

  unsigned sent = 0;
  while (sent < replies) {
    const int now_sent =
        ::sendmmsg(fd, replies_.data() + sent, replies - sent, MSG_DONTWAIT | MSG_NOSIGNAL);
    const int send_code = now_sent < 0 ? errno : 0;
    if (now_sent > 0) {
      sent += static_cast<unsigned>(now_sent);
      continue;
    }
    if (send_code == EINTR) continue;
    // The sender of replies_[sent] cannot be answered (gone, or its buffer is full): a datagram
    // may be lost, so skip it and answer the others.
    note_send_failure(replies_[sent].msg_hdr, send_code, now);
    ++sent;
  }
  return static_cast<size_t>(received);
}

bool DatagramResponder::may_answer(const SocketAddress& sender, std::string_view whole,
                                   const SocketAddress& local,
                                   const std::optional<Destination>& destination,
                                   loop::Clock::time_point now) {
  const bool reply = is_a_reply(whole);
  if (reply || is_own_address(sender, local, destination)) {
    Counters::bump(counters_.dropped_loop);
    if (const auto line = admit_line(shared_.loop_lines, log_, LogLevel::warning, now)) {
      log_.warning("not answering {}: {} ({} such {} since the last such line)", sender.to_string(),
                   reply ? "its datagram is itself a reply" : "it is the server's own address",
                   *line, *line == 1 ? "datagram" : "datagrams");
    }
    return false;
  }
  if (!shared_.budget || (!shared_.budget_for_local_senders && is_local(sender))) return true;
  if (shared_.budget->take(source_key(sender), now)) return true;
  Counters::bump(counters_.dropped_over_rate);
  // One gate for every worker and every source: the count is all of theirs, the address the
  // one that opened the gate.
  if (const auto line = admit_line(shared_.over_rate_lines, log_, LogLevel::warning, now)) {
    log_.warning("{} {} over --dgram-rate dropped since the last such line, the last to {}", *line,
                 *line == 1 ? "reply" : "replies", sender.to_string());
  }
  return false;
}

const SocketAddress& DatagramResponder::local_address(int fd) {
  for (const auto& [known, address] : locals_) {
    if (known == fd) return address;
  }
  // Should the kernel not say, an empty address: no sender matches it as the server's own.
  auto local = SocketAddress::local_of(fd);
  return locals_.emplace_back(fd, local ? *local : SocketAddress()).second;
}

void DatagramResponder::answer_from(const Destination& destination, msghdr& reply, size_t slot) {
  reply.msg_control = nullptr;
  reply.msg_controllen = 0;
  if (is_group_address(destination)) return;
  const bool v4 = destination.family == AF_INET;
  reply.msg_control = reply_control_.data() + slot * kControlSpace;
  reply.msg_controllen = v4 ? CMSG_SPACE(sizeof(in_pktinfo)) : CMSG_SPACE(sizeof(in6_pktinfo));
  std::memset(reply.msg_control, 0, reply.msg_controllen);
  cmsghdr* source = CMSG_FIRSTHDR(&reply);
  if (v4) {
    // ipi_spec_dst is the local address the kernel chose for this request: the destination for
    // a unicast one, the receiving interface's address for a broadcast — never the broadcast
    // address itself, which cannot be a source (ENETUNREACH / EINVAL).
    in_pktinfo from{};
    from.ipi_spec_dst = destination.v4.ipi_spec_dst;
    source->cmsg_level = IPPROTO_IP;
    source->cmsg_type = IP_PKTINFO;
    source->cmsg_len = CMSG_LEN(sizeof(from));
    std::memcpy(CMSG_DATA(source), &from, sizeof(from));
  } else {
    source->cmsg_level = IPPROTO_IPV6;
    source->cmsg_type = IPV6_PKTINFO;
    source->cmsg_len = CMSG_LEN(sizeof(destination.v6));
    std::memcpy(CMSG_DATA(source), &destination.v6, sizeof(destination.v6));
  }
}

void DatagramResponder::note_send_failure(const msghdr& reply, int code,
                                          loop::Clock::time_point now) {
  Counters::bump(counters_.errors);
  if (const auto line = admit_line(shared_.send_failure_lines, log_, LogLevel::warning, now)) {
    log_.warning(
        "{} {} not sent since the last such line (sendmmsg: {}), the last to {}", *line,
        *line == 1 ? "reply" : "replies", describe_errno(code),
        SocketAddress(static_cast<const sockaddr*>(reply.msg_name), reply.msg_namelen).to_string());
  }
}

void DatagramResponder::note_receive_failure(int fd, int code, loop::Clock::time_point now) {
  Counters::bump(counters_.errors);
  if (const auto line = admit_line(shared_.receive_failure_lines, log_, LogLevel::error, now)) {
    log_.error("recvmmsg on {}: {} ({} {} since the last such line); the socket rests {} ms",
               local_address(fd).to_string(), describe_errno(code), *line,
               *line == 1 ? "failure" : "failures",
               std::chrono::duration_cast<std::chrono::milliseconds>(kRestAfterFailure).count());
  }
}

}  // namespace doorman::server
