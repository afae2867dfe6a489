#include "doorman/server/datagram_responder.hpp"

#include <netinet/in.h>

#include <cerrno>
#include <cstring>
#include <string_view>

#include "doorman/net/socket.hpp"
#include "doorman/proto/judge.hpp"

namespace doorman::server {
namespace {

// Room for the larger of the two destination records.
constexpr size_t kControlSpace = CMSG_SPACE(sizeof(in6_pktinfo));

}  // namespace

DatagramResponder::DatagramResponder(size_t read_size, std::string password, Counters& counters,
                                     const Log& log)
    : read_size_(read_size),
      password_(std::move(password)),
      counters_(counters),
      log_(log),
      buffers_(kBatch * read_size),
      request_iov_(kBatch),
      requests_(kBatch),
      senders_(kBatch),
      reply_iov_(kBatch),
      replies_(kBatch),
      request_control_(kBatch * kControlSpace),
      reply_control_(kBatch * kControlSpace) {}

void DatagramResponder::serve(int fd) {
  constexpr int kBatchesPerWakeUp = 8;
  for (int batch = 0; batch < kBatchesPerWakeUp; ++batch) {
    if (serve_batch(fd) < kBatch) return;
  }
}

size_t DatagramResponder::serve_batch(int fd) {
  for (size_t i = 0; i < kBatch; ++i) {
    request_iov_[i] = iovec{buffers_.data() + i * read_size_, read_size_};
    requests_[i] = mmsghdr{};
    requests_[i].msg_hdr.msg_iov = &request_iov_[i];
    requests_[i].msg_hdr.msg_iovlen = 1;
    requests_[i].msg_hdr.msg_name = senders_[i].data();
    requests_[i].msg_hdr.msg_namelen = SocketAddress::capacity();
    requests_[i].msg_hdr.msg_control = request_control_.data() + i * kControlSpace;
    requests_[i].msg_hdr.msg_controllen = kControlSpace;
  }
  const int received = ::recvmmsg(fd, requests_.data(), kBatch, MSG_DONTWAIT, nullptr);
  if (received <= 0) {
    if (received < 0 && errno != EAGAIN && errno != EINTR) log_error("recvmmsg", fd, errno);
    return 0;
  }

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
    Counters::bump(counters_.accepted);
    const std::string_view body(buffers_.data() + i * read_size_, requests_[i].msg_len);
    // A datagram longer than the read size was cut by the kernel (MSG_TRUNC): not the password.
    const auto verdict = (request.msg_flags & MSG_TRUNC) != 0 ? proto::Verdict::go_away
                                                              : proto::judge(body, password_);
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
    answer_from_destination(request, replies_[replies].msg_hdr, replies);
    ++replies;
  }

  unsigned sent = 0;
  while (sent < replies) {
    const int now =
        ::sendmmsg(fd, replies_.data() + sent, replies - sent, MSG_DONTWAIT | MSG_NOSIGNAL);
    if (now > 0) {
      sent += static_cast<unsigned>(now);
      continue;
    }
    if (now < 0 && errno == EINTR) continue;
    // The sender of replies_[sent] cannot be answered (gone, or its buffer is full): a datagram
    // may be lost, so skip it and answer the others.
    Counters::bump(counters_.errors);
    log_.debug("sendmmsg to {}: {}",
               SocketAddress(static_cast<const sockaddr*>(replies_[sent].msg_hdr.msg_name),
                             replies_[sent].msg_hdr.msg_namelen)
                   .to_string(),
               describe_errno(errno));
    ++sent;
  }
  return static_cast<size_t>(received);
}

bool DatagramResponder::answer_from_destination(const msghdr& request, msghdr& reply, size_t slot) {
  reply.msg_control = nullptr;
  reply.msg_controllen = 0;
  for (const cmsghdr* found = CMSG_FIRSTHDR(&request); found != nullptr;
       found = CMSG_NXTHDR(const_cast<msghdr*>(&request), const_cast<cmsghdr*>(found))) {
    const bool v4 = found->cmsg_level == IPPROTO_IP && found->cmsg_type == IP_PKTINFO;
    const bool v6 = found->cmsg_level == IPPROTO_IPV6 && found->cmsg_type == IPV6_PKTINFO;
    if (!v4 && !v6) continue;
    reply.msg_control = reply_control_.data() + slot * kControlSpace;
    reply.msg_controllen = v4 ? CMSG_SPACE(sizeof(in_pktinfo)) : CMSG_SPACE(sizeof(in6_pktinfo));
    std::memset(reply.msg_control, 0, reply.msg_controllen);
    cmsghdr* source = CMSG_FIRSTHDR(&reply);
    source->cmsg_level = found->cmsg_level;
    source->cmsg_type = found->cmsg_type;
    if (v4) {
      in_pktinfo received{};
      std::memcpy(&received, CMSG_DATA(found), sizeof(received));
      in_pktinfo from{};
      from.ipi_spec_dst = received.ipi_addr;  // the request's destination is our source
      source->cmsg_len = CMSG_LEN(sizeof(from));
      std::memcpy(CMSG_DATA(source), &from, sizeof(from));
    } else {
      in6_pktinfo from{};
      std::memcpy(&from, CMSG_DATA(found), sizeof(from));
      source->cmsg_len = CMSG_LEN(sizeof(from));
      std::memcpy(CMSG_DATA(source), &from, sizeof(from));
    }
    return true;
  }
  return false;
}

void DatagramResponder::log_error(const char* operation, int fd, int code) const {
  Counters::bump(counters_.errors);
  const auto local = SocketAddress::local_of(fd);
  log_.error("{} {}: {}", operation, local ? local->to_string() : SocketAddress().to_string(),
             describe_errno(code));
}

}  // namespace doorman::server
