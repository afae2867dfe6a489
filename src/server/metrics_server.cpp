#include "doorman/server/metrics_server.hpp"

#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>

#include "doorman/server/http_request.hpp"
#include "doorman/server/metrics_text.hpp"
#include "doorman/server/status_page.hpp"

namespace doorman::server {
namespace {

constexpr uint64_t kListenerToken = ~uint64_t{0} - 1;
// After the response: how long the client may take to close its side before we do.
constexpr auto kLinger = std::chrono::seconds(1);
// accept() failing for lack of descriptors: rest instead of spinning.
constexpr auto kAcceptPause = std::chrono::milliseconds(200);
constexpr size_t kAcceptsPerWakeUp = 64;

double unix_seconds_now() {
  const auto since_epoch = std::chrono::system_clock::now().time_since_epoch();
  return std::chrono::duration<double>(since_epoch).count();
}

}  // namespace

Result<std::unique_ptr<MetricsServer>> MetricsServer::open(const Address& address,
                                                           const Config& config,
                                                           MetricsSources sources, const Log& log,
                                                           std::optional<Listeners> handed) {
  if (handed && !is_bound_to(handed->bound().front(), address)) {
    log.warning("metrics: not serving the socket handed over on {}: --metrics is {} now",
                handed->bound().front().to_string(), address.to_string());
    handed.reset();
  }
  // The listeners' way of binding, for one stream socket: port claims, Unix files and modes.
  Config endpoint;
  endpoint.listen = {address};
  endpoint.type = SocketType::stream;
  endpoint.backlog = 128;
  endpoint.unix_mode = config.unix_mode;
  auto listeners = handed ? Result<Listeners>(std::move(*handed)) : Listeners::open(endpoint, 1);
  if (!listeners) return std::move(listeners).error();
  auto loop = loop::EventLoop::create();
  if (!loop) return std::move(loop).error();
  std::unique_ptr<MetricsServer> server(new MetricsServer(
      std::move(listeners).value(), std::move(loop).value(), std::move(sources), log));
  if (auto added = server->loop_.add(server->listener_, EPOLLIN, kListenerToken); !added) {
    return std::move(added).error();
  }
  return server;
}

MetricsServer::MetricsServer(Listeners listeners, loop::EventLoop loop, MetricsSources sources,
                             const Log& log)
    : listeners_(std::move(listeners)),
      listener_(listeners_.for_worker(0).front().fd),
      loop_(std::move(loop)),
      sources_(std::move(sources)),
      log_(log) {}

MetricsServer::~MetricsServer() {
  stopping_.store(true, std::memory_order_relaxed);
  loop_.wake();
  if (thread_.joinable()) thread_.join();
}

void MetricsServer::start() {
  thread_ = std::jthread([this] { run(); });
}

void MetricsServer::run() {
  std::array<epoll_event, 64> events{};
  while (!stopping_.load(std::memory_order_relaxed)) {
    now_ = loop::Clock::now();
    const auto ready = loop_.wait(events, next_timeout_ms());
    if (!ready) {
      log_.error("metrics: {}", ready.error().message());
      return;
    }
    now_ = loop::Clock::now();
    for (const epoll_event& event : *ready) {
      if (event.data.u64 == loop::EventLoop::kWakeToken) {
        loop_.clear_wake();
        if (handing_over_.load(std::memory_order_acquire)) stop_accepting();
      } else if (event.data.u64 == kListenerToken) {
        accept_all();
      } else {
        on_client(static_cast<int>(event.data.u64));
      }
    }
    expire();
  }
}

int MetricsServer::next_timeout_ms() const {
  auto next = accept_resume_ > now_ ? accept_resume_ : loop::Clock::time_point::max();
  for (const auto& [fd, client] : clients_)
    next = std::min(next, client.deadline);
  if (next == loop::Clock::time_point::max()) return -1;
  if (next <= now_) return 0;
  return static_cast<int>(std::chrono::ceil<std::chrono::milliseconds>(next - now_).count());
}

void MetricsServer::accept_all() {
  if (accept_resume_ > now_ || listener_ < 0) return;
  for (size_t attempt = 0; attempt < kAcceptsPerWakeUp; ++attempt) {
    const int fd = ::accept4(listener_, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) {
      const int code = errno;
      if (would_block(code)) return;
      if (code == EINTR || code == ECONNABORTED || code == EPROTO) continue;
      // Out of descriptors, or worse: the scrapes wait in the queue, the loop does not spin.
      log_.warning("metrics: accept on {}: {}", bound().to_string(), describe_errno(code));
      accept_resume_ = now_ + kAcceptPause;
      (void)loop_.modify(listener_, 0, kListenerToken);
      return;
    }
    // Refusals linger too, so that their 503 is not lost to a reset; beyond twice the cap a
    // connection is closed at once.
    if (clients_.size() >= kDescriptors - 4) {
      ::close(fd);
      continue;
    }
    if (auto added = loop_.add(fd, EPOLLIN, static_cast<uint64_t>(fd)); !added) {
      ::close(fd);
      continue;
    }
    Client& client = clients_[fd];
    client.fd = Fd(fd);
    client.deadline = now_ + kReadTimeout;
    if (scrapes_ >= kMaxScrapes) {
      respond(client, http_error_response(503));
      continue;
    }
    client.counted = true;
    ++scrapes_;
  }
}

void MetricsServer::on_client(int fd) {
  const auto found = clients_.find(fd);
  if (found == clients_.end()) return;
  Client& client = found->second;
  switch (client.phase) {
    case Phase::reading:
      return read_request(client);
    case Phase::writing:
      return send_response(client);
    case Phase::lingering: {
      std::array<char, 4096> discard{};
      for (int read = 0; read < 16; ++read) {
        const ssize_t got = ::recv(fd, discard.data(), discard.size(), 0);
        if (got > 0 || (got < 0 && errno == EINTR)) continue;
        if (got < 0 && would_block(errno)) return;
        return close_client(fd);
      }
      return;
    }
  }
}

void MetricsServer::read_request(Client& client) {
  const int fd = client.fd.get();
  std::array<char, 4096> buffer{};
  while (client.received.size() <= kMaxRequestHead) {
    const ssize_t got = ::recv(fd, buffer.data(), buffer.size(), 0);
    if (got < 0 && errno == EINTR) continue;
    if (got < 0 && would_block(errno)) break;
    if (got <= 0) return close_client(fd);  // gone before its request: nothing to answer
    client.received.append(buffer.data(), static_cast<size_t>(got));
  }
  const RequestHead head = parse_request_head(client.received);
  switch (head.status) {
    case RequestHead::Status::incomplete:
      return;
    case RequestHead::Status::too_large:
      return respond(client, http_error_response(431));
    case RequestHead::Status::malformed:
      return respond(client, http_error_response(400));
    case RequestHead::Status::complete:
      break;
  }
  const Route routed = route(head.method, head.path);
  if (routed.status != 200) return respond(client, http_error_response(routed.status));
  const bool head_only = head.method == "HEAD";
  switch (routed.page) {
    case Page::metrics:
      return respond(client, http_response(200, kPrometheusContentType, prometheus_text(snapshot()),
                                           head_only));
    case Page::status_json:
      return respond(client,
                     http_response(200, "application/json", status_json(snapshot()), head_only));
    case Page::status_page:
      return respond(client,
                     http_response(200, "text/html; charset=utf-8", kStatusPage, head_only));
    case Page::none:
      return respond(client, http_error_response(404));
  }
}

void MetricsServer::respond(Client& client, std::string response) {
  client.phase = Phase::writing;
  client.response = std::move(response);
  client.sent = 0;
  client.received.clear();
  client.received.shrink_to_fit();
  send_response(client);
}

void MetricsServer::send_response(Client& client) {
  const int fd = client.fd.get();
  while (client.sent < client.response.size()) {
    const ssize_t sent = ::send(fd, client.response.data() + client.sent,
                                client.response.size() - client.sent, MSG_NOSIGNAL);
    if (sent < 0 && errno == EINTR) continue;
    if (sent < 0 && would_block(errno)) {
      if (!loop_.modify(fd, EPOLLOUT, static_cast<uint64_t>(fd))) close_client(fd);
      return;
    }
    if (sent < 0) return close_client(fd);
    client.sent += static_cast<size_t>(sent);
  }
  linger(client);
}

// A close with unread bytes (a request larger than its head, a pipelined one) sends a reset
// that can destroy the response: half-close, discard until the client's EOF, then close.
void MetricsServer::linger(Client& client) {
  const int fd = client.fd.get();
  client.phase = Phase::lingering;
  client.response.clear();
  client.response.shrink_to_fit();
  client.deadline = now_ + kLinger;
  if (client.counted) {
    client.counted = false;
    --scrapes_;
  }
  ::shutdown(fd, SHUT_WR);
  if (!loop_.modify(fd, EPOLLIN, static_cast<uint64_t>(fd))) close_client(fd);
}

void MetricsServer::expire() {
  if (accept_resume_ != loop::Clock::time_point::min() && accept_resume_ <= now_) {
    accept_resume_ = loop::Clock::time_point::min();
    if (listener_ >= 0) (void)loop_.modify(listener_, EPOLLIN, kListenerToken);
  }
  std::vector<int> due;
  for (const auto& [fd, client] : clients_) {
    if (client.deadline <= now_) due.push_back(fd);
  }
  for (const int fd : due) {
    Client& client = clients_.at(fd);
    if (client.phase == Phase::reading) {
      // Best effort: a client too slow to send its head is told so, then closed.
      client.deadline = now_ + kLinger;
      respond(client, http_error_response(408));
      continue;  // lingering or still writing, within kLinger; or closed already
    }
    close_client(fd);
  }
}

void MetricsServer::close_client(int fd) {
  const auto found = clients_.find(fd);
  if (found == clients_.end()) return;
  if (found->second.counted) --scrapes_;
  clients_.erase(found);  // the Fd closes, which also takes it out of epoll
}

MetricsSnapshot MetricsServer::snapshot() const {
  MetricsSnapshot snapshot;
  snapshot.type = sources_.type;
  for (const Counters* counters : sources_.workers) {
    const CounterValues values = counters->read();
    snapshot.total += values;
    snapshot.accepted_per_worker.push_back(values.accepted);
    snapshot.request_wait += counters->request_wait.read();
  }
  snapshot.active = sources_.admission->active.load(std::memory_order_relaxed);
  snapshot.limit = sources_.admission->limit.load(std::memory_order_relaxed);
  snapshot.uptime_seconds = std::chrono::duration<double>(loop::Clock::now() - started_).count();
  snapshot.timestamp_seconds = unix_seconds_now();
  snapshot.process = read_process_stats();
  return snapshot;
}

}  // namespace doorman::server
