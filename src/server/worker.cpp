#include "doorman/server/worker.hpp"

#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstddef>
#include <cstring>

#include "doorman/net/socket_address.hpp"
#include "doorman/proto/proxy_header.hpp"
#include "doorman/server/worker_tag.hpp"

namespace doorman::server {
namespace {

using worker_tag::fd_of;
using worker_tag::Kind;
using worker_tag::tag;

constexpr size_t kScratchFloor = 16 * 1024;

// Room in the scratch buffer for a PROXY header before the request, when there may be one.
size_t proxy_header_room(const Config& config) {
  return config.proxy_protocol ? proto::kMaxProxyHeader : 0;
}

}  // namespace

std::string_view to_string(ConnectionState state) noexcept {
  switch (state) {
    case ConnectionState::closed:
      return "closed";
    case ConnectionState::accepting:
      return "accepting";
    case ConnectionState::reading_proxy_header:
      return "reading the PROXY header";
    case ConnectionState::waiting_request:
      return "waiting for the request";
    case ConnectionState::sending_reply:
      return "sending the reply";
    case ConnectionState::lingering:
      return "lingering";
  }
  return "unknown";
}

Result<std::unique_ptr<Worker>> Worker::create(const Config& config, const Settings& settings,
                                               std::vector<Listeners::Served> listeners,
                                               Admission& admission,
                                               DatagramResponder::Shared* datagrams,
                                               const Log& log) {
  auto loop = loop::EventLoop::create();
  if (!loop) return std::move(loop).error();
  std::unique_ptr<Worker> worker(
      new Worker(config, settings, std::move(loop).value(), admission, datagrams, log));
  const Kind kind =
      config.type == SocketType::stream ? Kind::stream_listener : Kind::datagram_socket;
  const bool ring = kind == Kind::stream_listener && config.engine == Engine::io_uring;
  for (const Listeners::Served& listener : listeners) {
    // Datagram sockets too: the acceptor rests a socket that keeps failing (pause()). A shared
    // socket is watched with EPOLLEXCLUSIVE: it wakes one worker per datagram, not all.
    auto watched = worker->acceptor_.watch(listener.fd, listener.shared, tag(kind, listener.fd),
                                           listener.address, !ring);
    if (!watched) return std::move(watched).error();
    worker->listeners_.push_back(listener.fd);
    if (ring) worker->ring_listeners_.push_back({listener.fd, false});
  }
  return worker;
}

Worker::Worker(const Config& config, const Settings& settings, loop::EventLoop loop,
               Admission& admission, DatagramResponder::Shared* datagrams, const Log& log)
    : config_(config),
      settings_(&settings),
      posted_(&settings),
      loop_(std::move(loop)),
      log_(log),
      acceptor_(loop_, admission, counters_, log),
      // With --proxy-protocol the first read takes the header and the request together.
      scratch_(std::max(settings.read_size + 1 + proxy_header_room(config), kScratchFloor)),
      requests_(connections_, settings.timeout),
      lingering_(connections_, settings.linger_timeout) {
  if (datagrams != nullptr) datagrams_.emplace(*datagrams, settings, counters_, log);
}

void Worker::post(const Settings& settings) noexcept {
  posted_.store(&settings, std::memory_order_release);
  loop_.wake();
}

// Before each batch of new clients, so a client that connects once post() has returned gets the
// new settings, unless a batch already under way takes it (at most 64 accepts or 8 datagram
// batches later). One load per batch; the connections themselves read settings_ alone.
void Worker::pick_up_settings() {
  const Settings* posted = posted_.load(std::memory_order_acquire);
  if (posted != settings_) adopt(*posted);
}

// A reload's settings, between two batches: nothing is being read or judged now, so the
// scratch buffer may grow and the new lengths apply to the next deadlines set.
void Worker::adopt(const Settings& settings) {
  settings_ = &settings;
  requests_.set_timeout(settings.timeout);
  lingering_.set_timeout(settings.linger_timeout);
  const size_t wanted = settings.read_size + 1 + proxy_header_room(config_);
  if (scratch_.size() < wanted) scratch_.resize(wanted);
  if (datagrams_) datagrams_->use(settings);
}

void Worker::stop() noexcept {
  stopping_.store(true, std::memory_order_relaxed);
  loop_.wake();
}

Result<void> Worker::run() {
  if (config_.type == SocketType::stream && config_.engine == Engine::io_uring) return run_ring();
  return run_epoll();
}

Result<void> Worker::run_epoll() {
  std::array<epoll_event, 256> events{};
  while (!stopping_.load(std::memory_order_relaxed)) {
    if (!draining_ && drain_asked_.load(std::memory_order_acquire)) begin_drain();
    if (draining_ && open_ == 0) break;
    now_ = loop::Clock::now();
    const auto ready = loop_.wait(events, next_timeout_ms());
    if (!ready) return ready.error();
    now_ = loop::Clock::now();
    for (const epoll_event& event : *ready) {
      const uint64_t token = event.data.u64;
      if (token == loop::EventLoop::kWakeToken) {
        loop_.clear_wake();
        continue;
      }
      const int fd = fd_of(token);
      switch (worker_tag::what_of<Kind>(token)) {
        case Kind::stream_listener:
          pick_up_settings();
          for (const int connection : acceptor_.accept_batch(fd, now_))
            on_accepted(connection);
          break;
        case Kind::datagram_socket:
          pick_up_settings();
          if (datagrams_->serve(fd) == DatagramResponder::Next::rest) {
            acceptor_.pause(fd, now_, DatagramResponder::kRestAfterFailure);
          }
          break;
        case Kind::connection:
          on_event(fd);
          break;
      }
    }
    expire();
  }
  cut_all();
  return {};
}

Connection& Worker::open_slot(int fd) {
  const auto index = static_cast<size_t>(fd);
  if (index >= connections_.size()) {
    // Descriptors are dense from 0: grow to cover this one, with room for its neighbours.
    const size_t size = std::max(index + 1 + (index + 1) / 2, size_t{64});
    connections_.resize(size);
    if (config_.proxy_protocol) proxied_.resize(size);
  }
  Connection& connection = connections_[index];
  connection = Connection{};
  connection.state = ConnectionState::accepting;
  ++open_;
  return connection;
}

// ---- The state machine: one function per state's work, the transitions written out in each.

void Worker::on_accepted(int fd) {
  if (ring_) return ring_admitted(fd);
  open_slot(fd);
  if (config_.proxy_protocol) return read_proxy_header(fd);
  read_request(fd);
}

void Worker::on_event(int fd) {
  switch (slot(fd).state) {
    case ConnectionState::waiting_request:
      return read_request(fd);
    case ConnectionState::reading_proxy_header:
      return read_proxy_header(fd);
    case ConnectionState::sending_reply:
      return send_reply(fd);
    case ConnectionState::lingering:
      return discard_lingering(fd);
    case ConnectionState::closed:
    case ConnectionState::accepting:
      return;  // nothing registered can be here
  }
}

// Into a state that waits (reading_proxy_header, waiting_request, sending_reply, lingering):
// what epoll watches, the deadline list and the state, written once for every edge. Staying in
// the state changes nothing. If epoll fails the connection is closed, from the state it was in.
void Worker::enter(int fd, ConnectionState next) {
  Connection& connection = slot(fd);
  if (!watch(fd, next == ConnectionState::sending_reply ? Interest::output : Interest::input)) {
    return;
  }
  switch (next) {
    case ConnectionState::reading_proxy_header:
    case ConnectionState::waiting_request:
    case ConnectionState::sending_reply:
      // The request's deadline runs from the accept, whatever the connection waits for next.
      if (connection.state == ConnectionState::accepting) requests_.push_back(fd, now_);
      break;
    case ConnectionState::lingering:
      requests_.remove(fd);
      lingering_.push_back(fd, now_);
      break;
    case ConnectionState::closed:
    case ConnectionState::accepting:
      break;  // open_slot and close_connection
  }
  connection.state = next;
}

bool Worker::watch(int fd, Interest wanted) {
  // io_uring: the operation the new state wants is issued once the event is handled.
  if (ring_) return true;
  Connection& connection = slot(fd);
  if (connection.interest == wanted) return true;
  const uint32_t events = wanted == Interest::output ? EPOLLOUT : EPOLLIN;
  const uint64_t token = tag(Kind::connection, fd);
  auto done = connection.interest == Interest::none ? loop_.add(fd, events, token)
                                                    : loop_.modify(fd, events, token);
  if (done) {
    connection.interest = wanted;
    return true;
  }
  Counters::bump(counters_.errors);
  log_.error("{}", done.error().message());
  close_connection(fd);
  return false;
}

void Worker::close_connection(int fd) noexcept {
  Connection& connection = slot(fd);
  switch (connection.state) {
    case ConnectionState::waiting_request:
    case ConnectionState::reading_proxy_header:
    case ConnectionState::sending_reply:
      requests_.remove(fd);
      break;
    case ConnectionState::lingering:
      lingering_.remove(fd);
      break;
    case ConnectionState::closed:
    case ConnectionState::accepting:
      break;
  }
  // Gives back what an incomplete header held, and forgets the source for the next client.
  if (config_.proxy_protocol) proxied(fd) = Proxied{};
  --open_;
  // io_uring: the slot says what is in flight, to be cancelled before the close; admitted
  // again once the descriptor is closed (release), not before.
  if (ring_) return release(fd);
  connection = Connection{};
  // Closing the descriptor also removes it from epoll: no EPOLL_CTL_DEL.
  ::close(fd);
  acceptor_.closed();
}

}  // namespace doorman::server
